/*
 * keyword.h — an index's keyword (BM25) side: its items' text in SQLite
 * FTS5 (porter stemming over unicode61 tokens), beside the faiss index.
 *
 * Like the faiss index it lives in memory and is derived: LevelDB holds
 * the items, a restart rebuilds both sides from it (restore.c revives
 * every item through the collection, which puts its text here), and every
 * write changes both sides in the same step under the collection's write
 * lock. Items are keyed by id, so a rebuild that renumbers faiss labels
 * leaves this side as it is.
 *
 * A query is data, never FTS5 syntax: its words (runs of letters and
 * digits, any script) are each quoted and joined with OR, so quotes, `*`,
 * NEAR, AND, `-`, parentheses and column filters in a user's text match as
 * the words they contain, or not at all. A few very common English words
 * ("the", "of", ...) are left out unless the query has nothing else.
 */
#ifndef LH_VECTOR_KEYWORD_H
#define LH_VECTOR_KEYWORD_H

#include <stdbool.h>
#include <stddef.h>

#include "bus/buf.h"
#include "bus/err.h"

typedef struct lh_vec_keyword lh_vec_keyword;

lh_err *lh_vec_keyword_create(lh_vec_keyword **out);
void lh_vec_keyword_destroy(lh_vec_keyword *k);

/* Sets the text of item `id` (replacing what it had). */
lh_err *lh_vec_keyword_put(lh_vec_keyword *k, const char *id, size_t id_len, const char *text,
                           size_t text_len);
/* Forgets item `id` (nothing when it has no text here). */
lh_err *lh_vec_keyword_remove(lh_vec_keyword *k, const char *id, size_t id_len);

/* One match: its id, BM25 score (higher is better) and a snippet with the
 * matched words between [ and ]. Pointers are valid during the call only. */
typedef struct lh_vec_keyword_match {
    const char *id;
    size_t id_len;
    double score;
    const char *snippet;
    size_t snippet_len;
} lh_vec_keyword_match;

/* Calls fn for the best matches of `query`, best first, up to `limit`,
 * until fn returns false. A query without words matches nothing. Safe
 * from several threads at once (SQLite serializes them) but not beside a
 * write: the collection's lock orders them. */
typedef bool (*lh_vec_keyword_fn)(void *user, const lh_vec_keyword_match *m);
lh_err *lh_vec_keyword_search(lh_vec_keyword *k, const char *query, size_t len, size_t limit,
                              lh_vec_keyword_fn fn, void *user);

/* The FTS5 query for a user's text: each word but stopwords quoted, joined
 * with OR (empty when it has no words). Exposed for the tests. */
void lh_vec_keyword_query(const char *text, size_t len, lh_buf *out);

#endif
