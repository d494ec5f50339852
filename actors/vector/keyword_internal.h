/*
 * keyword_internal.h — what keyword.c and keyword_text.c share: the
 * keyword side's state and the FTS5 tokenizer both cut text with.
 */
#ifndef LH_VECTOR_KEYWORD_INTERNAL_H
#define LH_VECTOR_KEYWORD_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "actors/vector/bm25.h"
#include "actors/vector/keyword.h"

/* Query words past this many are ignored: a query is a question, not a
 * document. */
#define LH_KW_MAX_TERMS 64

typedef struct lh_kw_doc {
    char *id;   /* NULL: the number is free */
    size_t id_len;
    char *text;
    size_t text_len;
} lh_kw_doc;

struct lh_vec_keyword {
    sqlite3 *db; /* only to reach FTS5's tokenizers */
    fts5_tokenizer tokenizer;
    void *tokenizer_ctx;
    lh_bm25 *index;
    lh_kw_doc *docs; /* by document number */
    size_t n_docs, docs_cap;
    uint32_t *free_docs;
    size_t n_free, free_cap;
    uint32_t *slots; /* id -> document number + 1; 0 is empty */
    size_t mask, n_ids;
};

/* A query's terms (stemmed, distinct), in the order they came. */
struct lh_vec_kw_query {
    lh_buf bytes;
    lh_bm25_term terms[LH_KW_MAX_TERMS];
    size_t n;
};

/* Calls fn for each token of text (FTS5's xToken): flags, its stemmed
 * form and where its word lies in text. `query` cuts as for a query
 * (FTS5_TOKENIZE_QUERY). */
typedef int (*lh_kw_token_fn)(void *user, int flags, const char *token, int len, int start,
                              int end);
lh_err *lh_kw_tokenize(lh_vec_keyword *k, bool query, const char *text, size_t len,
                       lh_kw_token_fn fn, void *user);

/* The terms of a user's text (q->bytes initialised by the caller). */
lh_err *lh_kw_query_parse(lh_vec_keyword *k, const char *text, size_t len, lh_vec_kw_query *q);

#endif
