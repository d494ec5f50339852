/*
 * bm25.c — the inverted index of bm25.h. A term dictionary (open
 * addressing over the term bytes) gives each term a posting list of
 * (doc, tf); each document remembers its terms and where it stands in
 * each list, so a removal takes each of its postings out in constant time
 * (the list's last posting moves into the hole), however common the term. A search adds each posting's BM25 share into a score per
 * document and keeps the best `limit` in a min-heap.
 */
#include "actors/vector/bm25.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define LH_BM25_K1 1.2
#define LH_BM25_B 0.75

typedef struct lh_posting {
    uint32_t doc, tf;
    uint32_t slot; /* which of its document's terms this is */
} lh_posting;

typedef struct lh_term {
    char *s;
    size_t len;
    lh_posting *post;
    size_t n, cap;
} lh_term;

typedef struct lh_doc {
    uint32_t *terms; /* term numbers; NULL when the doc is not indexed */
    uint32_t *at;    /* where it stands in each term's posting list */
    uint32_t n_terms, length;
} lh_doc;

struct lh_bm25 {
    lh_term *terms;
    size_t n_terms, terms_cap;
    uint32_t *slots; /* term number + 1; 0 is empty */
    size_t mask;
    lh_doc *docs;
    size_t docs_cap;
    size_t live;
    uint64_t total_length;
};

static void *lh_bm25_grow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap : 8;
    while (n < need)
        n *= 2;
    void *q = realloc(p, n * size);
    if (!q)
        abort(); /* out of memory: as lh_buf does, we do not limp on */
    memset((char *)q + *cap * size, 0, (n - *cap) * size);
    *cap = n;
    return q;
}

static uint64_t lh_bm25_hash(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return h;
}

lh_bm25 *lh_bm25_create(void)
{
    lh_bm25 *b = calloc(1, sizeof *b);
    if (!b)
        abort();
    b->mask = 1023;
    b->slots = calloc(b->mask + 1, sizeof *b->slots);
    if (!b->slots)
        abort();
    return b;
}

void lh_bm25_destroy(lh_bm25 *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_terms; i++) {
        free(b->terms[i].s);
        free(b->terms[i].post);
    }
    for (size_t i = 0; i < b->docs_cap; i++) {
        free(b->docs[i].terms);
        free(b->docs[i].at);
    }
    free(b->terms);
    free(b->slots);
    free(b->docs);
    free(b);
}

/* The slot holding the term, or the empty slot where it would go. */
static uint32_t *lh_bm25_slot(const lh_bm25 *b, const char *s, size_t len)
{
    for (size_t i = (size_t)lh_bm25_hash(s, len) & b->mask;; i = (i + 1) & b->mask) {
        uint32_t *slot = &b->slots[i];
        if (!*slot)
            return slot;
        const lh_term *t = &b->terms[*slot - 1];
        if (t->len == len && !memcmp(t->s, s, len))
            return slot;
    }
}

static void lh_bm25_rehash(lh_bm25 *b)
{
    free(b->slots);
    b->mask = b->mask * 2 + 1;
    b->slots = calloc(b->mask + 1, sizeof *b->slots);
    if (!b->slots)
        abort();
    for (size_t i = 0; i < b->n_terms; i++)
        *lh_bm25_slot(b, b->terms[i].s, b->terms[i].len) = (uint32_t)i + 1;
}

static uint32_t lh_bm25_intern(lh_bm25 *b, const char *s, size_t len)
{
    uint32_t *slot = lh_bm25_slot(b, s, len);
    if (*slot)
        return *slot - 1;
    if (2 * (b->n_terms + 1) > b->mask + 1) { /* keep the table at most half full */
        lh_bm25_rehash(b);
        slot = lh_bm25_slot(b, s, len);
    }
    b->terms = lh_bm25_grow(b->terms, &b->terms_cap, b->n_terms + 1, sizeof *b->terms);
    lh_term *t = &b->terms[b->n_terms];
    t->s = malloc(len ? len : 1);
    if (!t->s)
        abort();
    memcpy(t->s, s, len);
    t->len = len;
    *slot = (uint32_t)++b->n_terms;
    return (uint32_t)b->n_terms - 1;
}

void lh_bm25_add(lh_bm25 *b, uint32_t doc, const lh_bm25_term *terms, size_t n, uint32_t length)
{
    b->docs = lh_bm25_grow(b->docs, &b->docs_cap, (size_t)doc + 1, sizeof *b->docs);
    lh_doc *d = &b->docs[doc];
    assert(!d->terms);
    d->terms = malloc((n ? n : 1) * sizeof *d->terms);
    d->at = malloc((n ? n : 1) * sizeof *d->at);
    if (!d->terms || !d->at)
        abort();
    for (size_t i = 0; i < n; i++) {
        uint32_t id = lh_bm25_intern(b, terms[i].s, terms[i].len);
        lh_term *t = &b->terms[id];
        t->post = lh_bm25_grow(t->post, &t->cap, t->n + 1, sizeof *t->post);
        d->at[i] = (uint32_t)t->n;
        t->post[t->n++] = (lh_posting){doc, terms[i].tf, (uint32_t)i};
        d->terms[i] = id;
    }
    d->n_terms = (uint32_t)n;
    d->length = length;
    b->live++;
    b->total_length += length;
}

void lh_bm25_remove(lh_bm25 *b, uint32_t doc)
{
    if (doc >= b->docs_cap || !b->docs[doc].terms)
        return;
    lh_doc *d = &b->docs[doc];
    for (uint32_t i = 0; i < d->n_terms; i++) {
        lh_term *t = &b->terms[d->terms[i]];
        uint32_t j = d->at[i];
        assert(j < t->n && t->post[j].doc == doc);
        lh_posting moved = t->post[--t->n]; /* order is not needed: scores are summed */
        t->post[j] = moved;
        b->docs[moved.doc].at[moved.slot] = j;
    }
    free(d->terms);
    free(d->at);
    b->live--;
    b->total_length -= d->length;
    *d = (lh_doc){0};
}

/* ---- search ---- */

static bool lh_bm25_worse(const lh_bm25_hit *a, const lh_bm25_hit *b)
{
    return a->score < b->score || (a->score == b->score && a->doc > b->doc);
}

/* The heap keeps the best `limit` seen so far with the worst on top. */
static void lh_bm25_sift_down(lh_bm25_hit *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && lh_bm25_worse(&h[l], &h[m]))
            m = l;
        if (r < n && lh_bm25_worse(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        lh_bm25_hit tmp = h[i];
        h[i] = h[m];
        h[m] = tmp;
        i = m;
    }
}

static void lh_bm25_offer(lh_bm25_hit *h, size_t *n, size_t limit, lh_bm25_hit hit)
{
    if (*n < limit) {
        size_t i = (*n)++;
        h[i] = hit;
        while (i && lh_bm25_worse(&h[i], &h[(i - 1) / 2])) {
            lh_bm25_hit tmp = h[i];
            h[i] = h[(i - 1) / 2];
            h[(i - 1) / 2] = tmp;
            i = (i - 1) / 2;
        }
    } else if (lh_bm25_worse(&h[0], &hit)) {
        h[0] = hit;
        lh_bm25_sift_down(h, *n, 0);
    }
}

static int lh_bm25_best_first(const void *pa, const void *pb)
{
    const lh_bm25_hit *a = pa, *b = pb;
    return lh_bm25_worse(b, a) ? -1 : lh_bm25_worse(a, b) ? 1 : 0;
}

/* Adds one term's share to every document holding it. */
static void lh_bm25_accumulate(const lh_bm25 *b, const lh_term *t, double *score,
                               uint32_t *touched, size_t *n_touched)
{
    double n = (double)b->live, df = (double)t->n;
    double idf = log((n - df + 0.5) / (df + 0.5));
    if (idf <= 0)
        idf = 1e-6; /* as FTS5: a term in most documents still counts a little */
    double avgdl = (double)b->total_length / n;
    for (size_t i = 0; i < t->n; i++) {
        const lh_posting *p = &t->post[i];
        double tf = (double)p->tf, dl = (double)b->docs[p->doc].length;
        double share = idf * tf * (LH_BM25_K1 + 1) /
                       (tf + LH_BM25_K1 * (1 - LH_BM25_B + LH_BM25_B * dl / avgdl));
        if (score[p->doc] == 0)
            touched[(*n_touched)++] = p->doc;
        score[p->doc] += share;
    }
}

size_t lh_bm25_search(const lh_bm25 *b, const lh_bm25_term *terms, size_t n, size_t limit,
                      lh_bm25_hit *out)
{
    const lh_term *found[64];
    size_t n_found = 0, postings = 0;
    for (size_t i = 0; i < n && n_found < sizeof found / sizeof found[0]; i++) {
        uint32_t slot = *lh_bm25_slot(b, terms[i].s, terms[i].len);
        if (slot && b->terms[slot - 1].n) {
            found[n_found++] = &b->terms[slot - 1];
            postings += b->terms[slot - 1].n;
        }
    }
    if (!n_found || !limit || !b->live)
        return 0;
    double *score = calloc(b->docs_cap, sizeof *score);
    uint32_t *touched = malloc(postings * sizeof *touched);
    if (!score || !touched)
        abort();
    size_t n_touched = 0, n_out = 0;
    for (size_t i = 0; i < n_found; i++)
        lh_bm25_accumulate(b, found[i], score, touched, &n_touched);
    for (size_t i = 0; i < n_touched; i++)
        lh_bm25_offer(out, &n_out, limit, (lh_bm25_hit){touched[i], score[touched[i]]});
    qsort(out, n_out, sizeof *out, lh_bm25_best_first);
    free(score);
    free(touched);
    return n_out;
}
