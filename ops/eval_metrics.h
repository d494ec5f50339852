/*
 * eval_metrics.h — the standard known-item and ad-hoc retrieval measures,
 * summed over queries: recall@1, recall@10, MRR@10 and nDCG@10 (binary
 * relevance, as TREC's trec_eval computes them), and the time per query.
 * Pure arithmetic, so `lakehouse eval retrieval` and its test share it.
 */
#ifndef LH_OPS_EVAL_METRICS_H
#define LH_OPS_EVAL_METRICS_H

#include <stddef.h>

#include "bus/schema.h"

#define LH_EVAL_DEPTH 10 /* the cut-off of every @10 measure */

typedef struct lh_eval_sums {
    size_t queries;
    double recall_1, recall_10, mrr_10, ndcg_10;
    double *ms;  /* one per query, for percentiles; grown as needed */
    size_t ms_cap;
} lh_eval_sums;

/* Adds one query: the ids it returned (best first) against the ids that
 * are relevant (none of them repeated), and how long it took. */
void lh_eval_add(lh_eval_sums *s, const lh_str *got, size_t n_got, const lh_strs *relevant,
                 double ms);

/* The means over the queries added (0 when none). */
typedef struct lh_eval_means {
    double recall_1, recall_10, mrr_10, ndcg_10, ms_mean, ms_p50, ms_p95;
} lh_eval_means;
lh_eval_means lh_eval_means_of(lh_eval_sums *s);

void lh_eval_sums_free(lh_eval_sums *s);

#endif
