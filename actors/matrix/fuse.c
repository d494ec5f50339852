/*
 * fuse.c — reciprocal rank fusion of the rankings matrixd gathered: one
 * pass adds every ranked hit to a candidate keyed by (corpus, id) in an
 * open-addressing table, one sort orders the candidates.
 */
#include "actors/matrix/fuse.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Everything known about one (corpus, id) so far. */
typedef struct lh_mx_cand {
    size_t corpus;
    lh_str id;
    double score;
    int64_t rank[LH_MX_KINDS];     /* 0: not in that ranking */
    double raw[LH_MX_KINDS];
    const lh_vector_hit *src;      /* for text and metadata */
    lh_str snippet;
} lh_mx_cand;

typedef struct lh_mx_table {
    lh_mx_cand *cands;
    size_t n;
    size_t *slots; /* index + 1 into cands; 0 is empty */
    size_t mask;
} lh_mx_table;

static uint64_t lh_mx_hash(size_t corpus, lh_str id)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)corpus;
    for (size_t i = 0; i < id.len; i++)
        h = (h ^ (unsigned char)id.s[i]) * 0x100000001b3ULL;
    return h;
}

static lh_mx_cand *lh_mx_find_or_add(lh_mx_table *t, size_t corpus, lh_str id)
{
    size_t i = (size_t)lh_mx_hash(corpus, id) & t->mask;
    for (;; i = (i + 1) & t->mask) {
        size_t s = t->slots[i];
        if (!s)
            break;
        lh_mx_cand *c = &t->cands[s - 1];
        if (c->corpus == corpus && c->id.len == id.len && !memcmp(c->id.s, id.s, id.len))
            return c;
    }
    lh_mx_cand *c = &t->cands[t->n++];
    *c = (lh_mx_cand){.corpus = corpus, .id = id};
    t->slots[i] = t->n;
    return c;
}

static int64_t lh_mx_best_rank(const lh_mx_cand *c)
{
    int64_t best = INT64_MAX;
    for (int k = 0; k < LH_MX_KINDS; k++)
        if (c->rank[k] && c->rank[k] < best)
            best = c->rank[k];
    return best;
}

static int lh_mx_cand_order(const void *pa, const void *pb)
{
    const lh_mx_cand *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    int64_t ra = lh_mx_best_rank(a), rb = lh_mx_best_rank(b);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    if (a->corpus != b->corpus)
        return a->corpus < b->corpus ? -1 : 1;
    size_t n = a->id.len < b->id.len ? a->id.len : b->id.len;
    int c = memcmp(a->id.s, b->id.s, n);
    return c ? c : (a->id.len > b->id.len) - (a->id.len < b->id.len);
}

static void lh_mx_add_ranking(lh_mx_table *t, const lh_mx_ranking *r, const lh_mx_fusion *f)
{
    double w = f->weight[r->kind];
    for (size_t i = 0; i < r->n; i++) {
        const lh_vector_hit *h = &r->hits[i];
        lh_mx_cand *c = lh_mx_find_or_add(t, r->corpus, h->id);
        if (c->rank[r->kind]) /* a ranking names an id once; keep its best rank if not */
            continue;
        int64_t rank = (int64_t)i + 1;
        c->rank[r->kind] = rank;
        c->raw[r->kind] = h->score;
        c->score += w / (f->rrf_k + (double)rank);
        if (!c->src || (!c->src->text.s && h->text.s))
            c->src = h;
        if (h->snippet.s)
            c->snippet = h->snippet;
    }
}

static void lh_mx_emit(const lh_mx_cand *c, const lh_mx_fusion *f, lh_arena *arena,
                       lh_matrix_hit *out)
{
    lh_matrix_ranks *ranks = lh_arena_alloc(arena, sizeof *ranks);
    lh_matrix_scores *scores = lh_arena_alloc(arena, sizeof *scores);
    if (c->rank[LH_MX_VECTOR]) {
        LH_SET(ranks, vector, c->rank[LH_MX_VECTOR]);
        LH_SET(scores, vector, c->raw[LH_MX_VECTOR]);
    }
    if (c->rank[LH_MX_KEYWORD]) {
        LH_SET(ranks, keyword, c->rank[LH_MX_KEYWORD]);
        LH_SET(scores, keyword, c->raw[LH_MX_KEYWORD]);
    }
    *out = (lh_matrix_hit){
        .corpus = f->corpora[c->corpus],
        .id = c->id,
        .text = f->include_text ? c->src->text : (lh_str){0},
        .snippet = c->snippet,
        .metadata = c->src->metadata,
        .ranks = ranks,
        .scores = scores,
    };
    LH_SET(out, score, c->score);
}

/* A hit ranked below T in every ranking that holds it scores at most
 * W_h / (rrf_k + T + 1), W_h the sum of the weights of those rankings.
 * The heaviest of them, of weight w_h, holds it below T, so it has at
 * least k hits above it, each scoring at least w_h / (rrf_k + k). As
 * W_h / w_h <= (wv + wk) / max(wv, wk), a T with
 * rrf_k + T + 1 > (wv + wk) / max(wv, wk) * (rrf_k + k) puts k hits above
 * every such hit. */
size_t lh_mx_depth(const lh_mx_fusion *f, size_t candidates)
{
    double wv = f->weight[LH_MX_VECTOR], wk = f->weight[LH_MX_KEYWORD];
    double heaviest = wv > wk ? wv : wk;
    if (heaviest <= 0)
        return 0;
    double t = ceil((wv + wk) / heaviest * (f->rrf_k + (double)f->k) - f->rrf_k);
    return t < (double)candidates ? (size_t)t : candidates;
}

void lh_mx_fuse(const lh_mx_ranking *rankings, size_t n, const lh_mx_fusion *f, lh_arena *arena,
                lh_matrix_hit **out, size_t *n_out)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        if (f->weight[rankings[i].kind] > 0)
            total += rankings[i].n;
    size_t cap = 16;
    while (cap < 2 * total)
        cap *= 2;
    lh_mx_table t = {
        .cands = lh_arena_alloc(arena, (total ? total : 1) * sizeof(lh_mx_cand)),
        .slots = lh_arena_alloc(arena, cap * sizeof(size_t)),
        .mask = cap - 1,
    };
    for (size_t i = 0; i < n; i++) {
        assert(rankings[i].corpus < f->n_corpora);
        if (f->weight[rankings[i].kind] > 0)
            lh_mx_add_ranking(&t, &rankings[i], f);
    }
    qsort(t.cands, t.n, sizeof *t.cands, lh_mx_cand_order);
    size_t keep = t.n < f->k ? t.n : f->k;
    lh_matrix_hit *hits = lh_arena_alloc(arena, (keep ? keep : 1) * sizeof *hits);
    for (size_t i = 0; i < keep; i++)
        lh_mx_emit(&t.cands[i], f, arena, &hits[i]);
    *out = hits;
    *n_out = keep;
}
