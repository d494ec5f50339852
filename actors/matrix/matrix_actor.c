/*
 * matrix_actor.c — matrixd: the endpoint table, the checks a retrieval
 * needs before anything is sent (what vectord cannot judge alone: corpora
 * named twice, k beyond the candidates, nothing left to fuse), and the
 * mux the searches travel on. matrixd keeps no state between requests, so
 * it scales as any queue-group pool does.
 */
#include "actors/matrix/matrix.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "actors/matrix/retrieve.h"
#include "bus/mux.h"
#include "bus/rwlock.h"
#include "schemas/matrix.h"

typedef struct lh_mx_state {
    lh_mux *mux;
    /* Handlers send under the read side; stop takes the write side to
     * refuse new work before the mux (and every pending search) goes. */
    pthread_rwlock_t gate;
    bool stopping;
} lh_mx_state;

static lh_err *lh_mx_check_corpora(const lh_strs *corpora)
{
    for (size_t i = 1; i < corpora->n; i++)
        for (size_t j = 0; j < i; j++)
            if (corpora->v[i].len == corpora->v[j].len &&
                !memcmp(corpora->v[i].s, corpora->v[j].s, corpora->v[i].len))
                return lh_err_new(LH_EBADREQ, "corpora", "corpus '%.*s' is named twice",
                                  (int)corpora->v[i].len, corpora->v[i].s);
    return NULL;
}

static lh_err *lh_mx_candidates(const lh_matrix_retrieve_request *req, int64_t *out)
{
    if (!req->has_candidates) {
        *out = req->k > LH_MATRIX_DEFAULT_CANDIDATES ? req->k : LH_MATRIX_DEFAULT_CANDIDATES;
        return NULL;
    }
    if (req->candidates < req->k)
        return lh_err_new(LH_EBADREQ, "candidates",
                          "field 'candidates' (%lld) is less than k (%lld): fusion could not "
                          "fill k hits",
                          (long long)req->candidates, (long long)req->k);
    *out = req->candidates;
    return NULL;
}

/* Which rankings the mode asks for, and with what weight. */
static lh_err *lh_mx_weights(const lh_matrix_retrieve_request *req, lh_mx_plan *plan)
{
    const char *mode = req->mode.s ? req->mode.s : "hybrid";
    plan->mode = !strcmp(mode, "vector") ? "vector" : !strcmp(mode, "keyword") ? "keyword"
                                                                                 : "hybrid";
    const lh_matrix_weights *w = req->weights;
    double wv = w ? w->vector : LH_MATRIX_DEFAULT_VECTOR_WEIGHT;
    double wk = w ? w->keyword : LH_MATRIX_DEFAULT_KEYWORD_WEIGHT;
    plan->ask[LH_MX_VECTOR] = strcmp(plan->mode, "keyword") != 0 && wv > 0;
    plan->ask[LH_MX_KEYWORD] = strcmp(plan->mode, "vector") != 0 && wk > 0;
    plan->fusion.weight[LH_MX_VECTOR] = plan->ask[LH_MX_VECTOR] ? wv : 0;
    plan->fusion.weight[LH_MX_KEYWORD] = plan->ask[LH_MX_KEYWORD] ? wk : 0;
    if (!plan->ask[LH_MX_VECTOR] && !plan->ask[LH_MX_KEYWORD])
        return lh_err_new(LH_EBADREQ, "weights",
                          "mode '%s' with these weights leaves no ranking to fuse", plan->mode);
    return NULL;
}

static lh_err *lh_mx_plan_of(lh_ctx *ctx, const lh_matrix_retrieve_request *req, lh_mx_plan *plan)
{
    lh_err *err = lh_mx_check_corpora(&req->corpora);
    if (!err)
        err = lh_mx_candidates(req, &plan->candidates);
    if (!err)
        err = lh_mx_weights(req, plan);
    if (err)
        return err;
    int request_ms = lh_actor_config(lh_ctx_actor(ctx))->request_timeout_ms;
    plan->timeout_ms = req->has_timeout_ms ? (int)req->timeout_ms : request_ms * 3 / 4;
    if (plan->timeout_ms < 1)
        plan->timeout_ms = 1;
    plan->fusion.corpora = req->corpora.v;
    plan->fusion.n_corpora = req->corpora.n;
    plan->fusion.rrf_k = (double)req->rrf_k;
    plan->fusion.k = (size_t)req->k;
    plan->fusion.include_text = req->include_text;
    plan->shown = (int64_t)lh_mx_depth(&plan->fusion, (size_t)plan->candidates);
    return NULL;
}

static lh_err *lh_mx_retrieve_handler(lh_ctx *ctx, const void *request, void *reply)
{
    (void)reply; /* answered later, by lh_mx_retrieve_start's last search */
    const lh_matrix_retrieve_request *req = request;
    lh_mx_state *st = lh_ctx_state(ctx);
    lh_mx_plan plan = {0};
    lh_err *err = lh_mx_plan_of(ctx, req, &plan);
    if (err)
        return err;
    pthread_rwlock_rdlock(&st->gate);
    if (st->stopping)
        err = lh_err_new(LH_EUNAVAILABLE, NULL, "matrixd is stopping");
    else
        lh_mx_retrieve_start(ctx, st->mux, req, &plan);
    pthread_rwlock_unlock(&st->gate);
    return err;
}

static lh_err *lh_mx_init(lh_actor *actor, void **state)
{
    lh_mx_state *st = calloc(1, sizeof *st);
    if (!st)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    lh_err *err = lh_mux_create(lh_actor_conn(actor), &st->mux);
    if (err) {
        free(st);
        return lh_err_wrap(err, "matrixd's mux");
    }
    lh_rwlock_init(&st->gate); /* a stop must get in under load */
    *state = st;
    return NULL;
}

static void lh_mx_stop(lh_actor *actor, void *state)
{
    (void)actor;
    lh_mx_state *st = state;
    pthread_rwlock_wrlock(&st->gate);
    st->stopping = true;
    lh_mux_destroy(st->mux); /* answers every retrieval still waiting */
    st->mux = NULL;
    pthread_rwlock_unlock(&st->gate);
}

static void lh_mx_fini(void *state)
{
    lh_mx_state *st = state;
    if (!st)
        return;
    if (st->mux)
        lh_mux_destroy(st->mux);
    pthread_rwlock_destroy(&st->gate);
    free(st);
}

static const lh_endpoint_def lh_matrix_endpoints[] = {
    {&lh_ep_matrix_retrieve, lh_mx_retrieve_handler},
};

const lh_actor_def lh_matrix_actor = {
    .name = "matrixd",
    .version = "0.1.0",
    .description = "Hybrid retrieval: vector and keyword searches over several indexes, fused "
                   "by reciprocal rank.",
    .endpoints = lh_matrix_endpoints,
    .n_endpoints = sizeof lh_matrix_endpoints / sizeof lh_matrix_endpoints[0],
    .init = lh_mx_init,
    .stop = lh_mx_stop,
    .fini = lh_mx_fini,
};
