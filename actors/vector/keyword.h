/*
 * keyword.h — an index's keyword (BM25) side: its items' text, tokenized
 * by SQLite FTS5's porter tokenizer (porter stemming over unicode61
 * tokens: lower case, diacritics removed), in an inverted index ranked by
 * BM25 (bm25.h), beside the faiss index.
 *
 * Like the faiss index it lives in memory and is derived: LevelDB holds
 * the items, a restart rebuilds both sides from it (restore.c revives
 * every item through the collection, which puts its text here), and every
 * write changes both sides in the same step under the collection's write
 * lock. Items are keyed by id, so a rebuild that renumbers faiss labels
 * leaves this side as it is.
 *
 * A query is data, never syntax: it is cut into words by the same
 * tokenizer as the texts, so quotes, `*`, NEAR, AND, `-`, parentheses and
 * column filters in a user's text are the words they contain, or nothing.
 * A few very common English words ("the", "of", ...) are left out unless
 * the query has nothing else. Any word matches (OR); BM25 ranks items
 * holding more, and rarer, of them first.
 */
#ifndef LH_VECTOR_KEYWORD_H
#define LH_VECTOR_KEYWORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/buf.h"
#include "bus/err.h"

typedef struct lh_vec_keyword lh_vec_keyword;
typedef struct lh_vec_kw_query lh_vec_kw_query;

lh_err *lh_vec_keyword_create(lh_vec_keyword **out);
void lh_vec_keyword_destroy(lh_vec_keyword *k);

/* Sets the text of item `id` (replacing what it had). */
lh_err *lh_vec_keyword_put(lh_vec_keyword *k, const char *id, size_t id_len, const char *text,
                           size_t text_len);
/* Forgets item `id` (nothing when it has no text here). */
void lh_vec_keyword_remove(lh_vec_keyword *k, const char *id, size_t id_len);

/* One match: its id and BM25 score (higher is better). Pointers are valid
 * during the call only; lh_vec_keyword_snippet makes its snippet. */
typedef struct lh_vec_keyword_match {
    const char *id;
    size_t id_len;
    double score;
    uint32_t doc;
    const lh_vec_kw_query *query;
} lh_vec_keyword_match;

/* Calls fn for the best matches of `query`, best first, up to `limit`,
 * until fn returns false. A query without words matches nothing. Safe
 * from several threads at once, but not beside a write: the collection's
 * lock orders them. */
typedef bool (*lh_vec_keyword_fn)(void *user, const lh_vec_keyword_match *m);
lh_err *lh_vec_keyword_search(lh_vec_keyword *k, const char *query, size_t len, size_t limit,
                              lh_vec_keyword_fn fn, void *user);

/* Appends the match's snippet to `out`: about 16 words of its text around
 * the query's words, which stand between [ and ] ("..." where text was
 * cut). Call it from the search's fn. */
void lh_vec_keyword_snippet(lh_vec_keyword *k, const lh_vec_keyword_match *m, lh_buf *out);

/* The terms a user's text searches for, space-separated, as the index
 * sees them (stemmed; stopwords left out unless nothing else is left).
 * Exposed for the tests. */
lh_err *lh_vec_keyword_terms(lh_vec_keyword *k, const char *text, size_t len, lh_buf *out);

#endif
