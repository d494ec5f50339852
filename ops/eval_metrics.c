/*
 * eval_metrics.c — recall@k, MRR@10 and nDCG@10 of one ranking against a
 * set of relevant ids, and their means. nDCG uses gain 1 for a relevant
 * hit and the ideal ranking of min(|relevant|, 10) relevant hits.
 */
#include "ops/eval_metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool lh_eval_is_relevant(lh_str id, const lh_strs *relevant)
{
    for (size_t i = 0; i < relevant->n; i++)
        if (relevant->v[i].len == id.len && !memcmp(relevant->v[i].s, id.s, id.len))
            return true;
    return false;
}

static void lh_eval_keep_ms(lh_eval_sums *s, double ms)
{
    if (s->queries == s->ms_cap) {
        s->ms_cap = s->ms_cap ? 2 * s->ms_cap : 256;
        s->ms = realloc(s->ms, s->ms_cap * sizeof *s->ms);
        if (!s->ms)
            abort(); /* out of memory: as lh_buf does, we do not limp on */
    }
    s->ms[s->queries] = ms;
}

void lh_eval_add(lh_eval_sums *s, const lh_str *got, size_t n_got, const lh_strs *relevant,
                 double ms)
{
    size_t found_1 = 0, found_10 = 0;
    double rr = 0, dcg = 0, ideal = 0;
    for (size_t i = 0; i < n_got && i < LH_EVAL_DEPTH; i++) {
        if (!lh_eval_is_relevant(got[i], relevant))
            continue;
        found_1 += i == 0;
        found_10++;
        if (rr == 0)
            rr = 1.0 / (double)(i + 1);
        dcg += 1.0 / log2((double)i + 2);
    }
    for (size_t i = 0; i < relevant->n && i < LH_EVAL_DEPTH; i++)
        ideal += 1.0 / log2((double)i + 2);
    double n_rel = relevant->n ? (double)relevant->n : 1;
    lh_eval_keep_ms(s, ms);
    s->queries++;
    s->recall_1 += (double)found_1 / n_rel;
    s->recall_10 += (double)found_10 / n_rel;
    s->mrr_10 += rr;
    s->ndcg_10 += ideal > 0 ? dcg / ideal : 0;
}

static int lh_eval_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of the sorted times. */
static double lh_eval_percentile(const double *sorted, size_t n, double p)
{
    size_t rank = (size_t)ceil(p * (double)n);
    return sorted[rank ? rank - 1 : 0];
}

lh_eval_means lh_eval_means_of(lh_eval_sums *s)
{
    lh_eval_means m = {0};
    if (!s->queries)
        return m;
    double n = (double)s->queries, total = 0;
    for (size_t i = 0; i < s->queries; i++)
        total += s->ms[i];
    qsort(s->ms, s->queries, sizeof *s->ms, lh_eval_cmp_double);
    m = (lh_eval_means){
        .recall_1 = s->recall_1 / n,
        .recall_10 = s->recall_10 / n,
        .mrr_10 = s->mrr_10 / n,
        .ndcg_10 = s->ndcg_10 / n,
        .ms_mean = total / n,
        .ms_p50 = lh_eval_percentile(s->ms, s->queries, 0.50),
        .ms_p95 = lh_eval_percentile(s->ms, s->queries, 0.95),
    };
    return m;
}

void lh_eval_sums_free(lh_eval_sums *s)
{
    free(s->ms);
    *s = (lh_eval_sums){0};
}
