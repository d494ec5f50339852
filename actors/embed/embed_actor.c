/*
 * embed_actor.c — embedd: its endpoint table and the embed.request
 * handler. Settings: LH_EMBED_PROVIDER (default `hash`; the only one built
 * so far), LH_EMBED_MODEL (the default model, e.g. `hash-384` for the
 * first scheme; default hash2-<LH_EMBED_DIM>) and LH_EMBED_DIM (default
 * 384; the dimension of a model named without one).
 */
#include "actors/embed/embed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "actors/embed/provider.h"
#include "bus/log.h"
#include "schemas/embed.h"

#define LH_EMBED_DEFAULT_DIM 384

typedef struct lh_embed_state {
    lh_embed_provider *provider;
} lh_embed_state;

static void lh_normalize_rows(float *v, size_t rows, size_t cols)
{
    for (size_t r = 0; r < rows; r++) {
        float *row = v + r * cols;
        double ss = 0;
        for (size_t c = 0; c < cols; c++)
            ss += (double)row[c] * row[c];
        if (ss <= 0)
            continue;
        float inv = (float)(1.0 / sqrt(ss));
        for (size_t c = 0; c < cols; c++)
            row[c] *= inv;
    }
}

static lh_err *lh_embed_request_handler(lh_ctx *ctx, const void *request, void *response)
{
    const lh_embed_request *req = request;
    lh_embed_reply *rep = response;
    lh_embed_state *st = lh_ctx_state(ctx);
    lh_embed_provider *p = st->provider;
    char model[128];
    int dim = 0;
    lh_err *err = p->resolve(p, req->model.s, model, sizeof model, &dim);
    if (err)
        return err;
    size_t n = req->texts.n;
    rep->vectors.rows = n;
    rep->vectors.cols = (size_t)dim;
    rep->vectors.v = lh_ctx_alloc(ctx, n * (size_t)dim * sizeof(float));
    err = p->embed(p, model, dim, &req->texts, rep->vectors.v);
    if (err)
        return err;
    if (req->normalize)
        lh_normalize_rows(rep->vectors.v, n, (size_t)dim);
    rep->dimension = dim;
    size_t mlen = strlen(model);
    rep->model = (lh_str){lh_arena_strndup(lh_ctx_arena(ctx), model, mlen), mlen};
    rep->provider = (lh_str){p->name, strlen(p->name)};
    return NULL;
}

static void lh_embed_fini(void *state);

/* A model named with its dimension and an LH_EMBED_DIM that says another
 * would leave one of the two settings silently ignored. */
static lh_err *lh_check_default(lh_embed_provider *p, const char *dim_s, int dim, char *model,
                                size_t cap)
{
    int model_dim = 0;
    lh_err *err = p->resolve(p, NULL, model, cap, &model_dim);
    if (!err && dim_s && *dim_s && model_dim != dim)
        err = lh_err_new(LH_EBADREQ, NULL,
                         "LH_EMBED_MODEL=%s has dimension %d but LH_EMBED_DIM=%s; set one",
                         getenv("LH_EMBED_MODEL"), model_dim, dim_s);
    return err;
}

static lh_err *lh_embed_init(lh_actor *actor, void **state)
{
    (void)actor;
    const char *name = getenv("LH_EMBED_PROVIDER");
    const char *dim_s = getenv("LH_EMBED_DIM");
    int dim = dim_s && *dim_s ? atoi(dim_s) : LH_EMBED_DEFAULT_DIM;
    if (name && *name && strcmp(name, "hash") != 0)
        return lh_err_new(LH_EBADREQ, NULL,
                          "LH_EMBED_PROVIDER=%s is not available in this build (available: hash)",
                          name);
    lh_embed_state *st = calloc(1, sizeof *st);
    if (!st)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    char model[128];
    lh_err *err = lh_embed_hash_provider_create(getenv("LH_EMBED_MODEL"), dim, &st->provider);
    if (err) {
        free(st);
        const char *field = lh_err_field(err);
        bool model = field && !strcmp(field, "model");
        return lh_err_wrap(err, model ? "LH_EMBED_MODEL" : "LH_EMBED_DIM");
    }
    err = lh_check_default(st->provider, dim_s, dim, model, sizeof model);
    if (err) {
        lh_embed_fini(st);
        return err;
    }
    lh_info("embedding with provider %s, default model %s", st->provider->name, model);
    *state = st;
    return NULL;
}

static void lh_embed_fini(void *state)
{
    lh_embed_state *st = state;
    if (!st)
        return;
    st->provider->destroy(st->provider);
    free(st);
}

static const lh_endpoint_def lh_embed_endpoints[] = {
    {&lh_ep_embed_request, lh_embed_request_handler},
};

const lh_actor_def lh_embed_actor = {
    .name = "embedd",
    .version = "0.1.0",
    .description = "Turns texts into vectors (built-in hash provider; ollama and openai later).",
    .endpoints = lh_embed_endpoints,
    .n_endpoints = sizeof lh_embed_endpoints / sizeof lh_embed_endpoints[0],
    .init = lh_embed_init,
    .fini = lh_embed_fini,
};
