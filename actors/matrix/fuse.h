/*
 * fuse.h — weighted reciprocal rank fusion (Cormack, Clarke and Büttcher,
 * SIGIR 2009): each ranking that holds an item adds weight / (rrf_k + r)
 * for its rank r (from 1). Scores of different rankings (cosine, BM25, of
 * different indexes) are never compared, only ranks, so corpora and modes
 * mix without calibration. Pure: no bus, no clock, so it is tested alone.
 */
#ifndef LH_MATRIX_FUSE_H
#define LH_MATRIX_FUSE_H

#include <stdbool.h>
#include <stddef.h>

#include "bus/buf.h"
#include "schemas/matrix.h"
#include "schemas/vector.h"

typedef enum { LH_MX_VECTOR = 0, LH_MX_KEYWORD = 1, LH_MX_KINDS = 2 } lh_mx_kind;

/* One ranking: a corpus searched one way, best first. */
typedef struct lh_mx_ranking {
    size_t corpus; /* index into lh_mx_fusion.corpora */
    lh_mx_kind kind;
    const lh_vector_hit *hits;
    size_t n;
} lh_mx_ranking;

typedef struct lh_mx_fusion {
    const lh_str *corpora;
    size_t n_corpora;
    double rrf_k;
    double weight[LH_MX_KINDS]; /* a ranking of weight 0 is left out */
    size_t k;
    bool include_text;
} lh_mx_fusion;

/* How deep in each ranking a hit can still be among the k fused best
 * (at most `candidates`): a hit ranked below that in every ranking that
 * holds it never is, so its text and snippet need not be asked for. */
size_t lh_mx_depth(const lh_mx_fusion *f, size_t candidates);

/* Fuses the rankings into at most f->k hits, best first, deduplicated by
 * (corpus, id); ties go to the better single rank, then the earlier
 * corpus, then the smaller id, so the order is reproducible. Hits point
 * into the rankings' strings; their arrays are allocated in `arena`. */
void lh_mx_fuse(const lh_mx_ranking *rankings, size_t n, const lh_mx_fusion *f, lh_arena *arena,
                lh_matrix_hit **out, size_t *n_out);

#endif
