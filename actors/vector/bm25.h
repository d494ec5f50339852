/*
 * bm25.h — an in-memory inverted index ranked by Okapi BM25, the ranking
 * of FTS5's bm25() (k1 1.2, b 0.75, idf floored at 1e-6) computed the way
 * search engines do it: one pass over the posting lists of the query's
 * terms into a score per document, then the best few. FTS5 ranks the same
 * way but looks up each matching row's size with an SQL statement, which
 * made a query over a few thousand matches cost milliseconds; this costs
 * tens of microseconds. Terms are byte strings (tokenizing is the caller's);
 * documents are small integers the caller assigns and reuses.
 *
 * Not thread-safe for writes; searches only read, so several may run at
 * once between writes (the collection's lock orders them).
 */
#ifndef LH_VECTOR_BM25_H
#define LH_VECTOR_BM25_H

#include <stddef.h>
#include <stdint.h>

typedef struct lh_bm25 lh_bm25;

typedef struct lh_bm25_term {
    const char *s;
    size_t len;
    uint32_t tf; /* occurrences in the document (ignored in a query) */
} lh_bm25_term;

typedef struct lh_bm25_hit {
    uint32_t doc;
    double score;
} lh_bm25_hit;

lh_bm25 *lh_bm25_create(void);
void lh_bm25_destroy(lh_bm25 *b);

/* Indexes document `doc`, not indexed now, with its distinct terms and its
 * length in tokens. */
void lh_bm25_add(lh_bm25 *b, uint32_t doc, const lh_bm25_term *terms, size_t n, uint32_t length);
/* Forgets document `doc` (nothing when it is not indexed). */
void lh_bm25_remove(lh_bm25 *b, uint32_t doc);

/* The best `limit` documents holding any of the distinct query terms, best
 * first (equal scores: the smaller doc first), into out[0..limit). Returns
 * how many. */
size_t lh_bm25_search(const lh_bm25 *b, const lh_bm25_term *terms, size_t n, size_t limit,
                      lh_bm25_hit *out);

#endif
