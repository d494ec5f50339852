/*
 * embed_actor.c — embedd: its endpoint table and the embed.request
 * handler. The built-in `hash` provider serves `hash2-<dim>` and
 * `hash-<dim>`; remote providers, configured by their URL or key
 * (LH_OPENAI_BASE_URL / LH_OPENAI_API_KEY, LH_OLLAMA_URL), serve
 * `<provider>/<model>` through a cache. The default model: LH_EMBED_MODEL
 * (with LH_EMBED_PROVIDER when it names a remote one), else
 * hash2-<LH_EMBED_DIM> (default 384).
 */
#include "actors/embed/embed.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/embed/cache.h"
#include "actors/embed/provider.h"
#include "actors/embed/remote_cached.h"
#include "bus/log.h"
#include "schemas/embed.h"

#define LH_EMBED_DEFAULT_DIM 384

typedef struct lh_embed_state {
    lh_embed_provider *provider; /* the built-in one */
    lh_embed_remote *remote[LH_PROVIDERS_MAX]; /* the configured ones */
    size_t n_remote;
    lh_embed_cache *cache;       /* when any remote one is configured */
    char remote_default[256];    /* LH_EMBED_MODEL when it names a remote model, else "" */
    char configured[LH_PROVIDERS_MAX * (LH_PROVIDER_NAME_MAX + 2) + 8]; /* for errors */
    atomic_uint_fast64_t cache_hits, cache_misses; /* texts, in $SRV.STATS data */
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

/* `provider/model` for a remote provider: its vectors, cached. */
static lh_err *lh_embed_remote_request(lh_ctx *ctx, lh_embed_state *st, lh_str model,
                                       const lh_embed_request *req, lh_embed_reply *rep)
{
    const char *slash = memchr(model.s, '/', model.len);
    size_t plen = (size_t)(slash - model.s);
    lh_embed_remote *r = NULL;
    for (size_t i = 0; i < st->n_remote; i++)
        if (strlen(st->remote[i]->name) == plen && !memcmp(st->remote[i]->name, model.s, plen))
            r = st->remote[i];
    if (!r || slash + 1 == model.s + model.len)
        return lh_err_new(LH_ENOTFOUND, "model",
                          "unknown model '%.*s': no provider '%.*s' is configured (configured: "
                          "%s)",
                          (int)model.len, model.s, (int)plen, model.s, st->configured);
    char *own = lh_arena_strndup(lh_ctx_arena(ctx), slash + 1, model.len - plen - 1);
    size_t cached = 0;
    lh_err *err = lh_embed_remote_cached(r, st->cache, own, &req->texts, lh_ctx_arena(ctx),
                                         &rep->vectors, &cached);
    if (err)
        return err;
    atomic_fetch_add(&st->cache_hits, cached);
    atomic_fetch_add(&st->cache_misses, req->texts.n - cached);
    if (req->normalize) /* whatever the provider returns: unit length, as every index wants */
        lh_normalize_rows(rep->vectors.v, rep->vectors.rows, rep->vectors.cols);
    LH_SET(rep, dimension, (int64_t)rep->vectors.cols);
    LH_SET(rep, cached, (int64_t)cached);
    rep->model = (lh_str){lh_arena_strndup(lh_ctx_arena(ctx), model.s, model.len), model.len};
    rep->provider = (lh_str){r->name, strlen(r->name)};
    return NULL;
}

static lh_err *lh_embed_request_handler(lh_ctx *ctx, const void *request, void *response)
{
    const lh_embed_request *req = request;
    lh_embed_reply *rep = response;
    lh_embed_state *st = lh_ctx_state(ctx);
    lh_str want = req->model.s ? req->model
                               : (lh_str){st->remote_default, strlen(st->remote_default)};
    if (want.len && memchr(want.s, '/', want.len))
        return lh_embed_remote_request(ctx, st, want, req, rep);
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

/* The remote providers whose URL or key is set, and their cache. */
static lh_err *lh_embed_remotes(lh_actor *actor, lh_embed_state *st)
{
    const lh_config *cfg = lh_actor_config(actor);
    int ms = cfg->request_timeout_ms * 3 / 4; /* an answer before the caller's deadline */
    lh_provider_confs confs;
    lh_err *err = lh_providers_load(cfg->data_dir, &confs);
    if (err)
        return err;
    snprintf(st->configured, sizeof st->configured, "hash");
    for (size_t i = 0; i < confs.n; i++) {
        lh_embed_remote *r = lh_embed_remote_create(&confs.v[i], ms);
        if (!r)
            continue; /* a provider without embeddings (anthropic) */
        st->remote[st->n_remote++] = r;
        size_t used = strlen(st->configured);
        snprintf(st->configured + used, sizeof st->configured - used, ", %s", r->name);
    }
    lh_providers_free(&confs);
    if (!st->n_remote)
        return NULL;
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/embedd/cache", cfg->data_dir);
    return lh_embed_cache_open(dir, &st->cache);
}

/* LH_EMBED_PROVIDER names where the default model is served: `hash` (the
 * default), or a remote provider whose model LH_EMBED_MODEL names (as
 * `model` or `provider/model`). */
static lh_err *lh_embed_default(lh_embed_state *st, const char **hash_model)
{
    const char *name = getenv("LH_EMBED_PROVIDER"), *model = getenv("LH_EMBED_MODEL");
    bool remote_model = model && strchr(model, '/');
    *hash_model = remote_model ? NULL : model;
    if ((!name || !*name || !strcmp(name, "hash")) && !remote_model)
        return NULL;
    if (!model || !*model)
        return lh_err_new(LH_EBADREQ, NULL, "LH_EMBED_PROVIDER=%s needs LH_EMBED_MODEL", name);
    if (name && *name && strcmp(name, "hash") && !remote_model)
        snprintf(st->remote_default, sizeof st->remote_default, "%s/%s", name, model);
    else
        snprintf(st->remote_default, sizeof st->remote_default, "%s", model);
    *hash_model = NULL;
    for (size_t i = 0; i < st->n_remote; i++)
        if (!strncmp(st->remote_default, st->remote[i]->name, strlen(st->remote[i]->name)) &&
            st->remote_default[strlen(st->remote[i]->name)] == '/')
            return NULL;
    return lh_err_new(LH_EBADREQ, NULL,
                      "the default model %s has no configured provider (configured: %s)",
                      st->remote_default, st->configured);
}

static lh_err *lh_embed_init(lh_actor *actor, void **state)
{
    const char *dim_s = getenv("LH_EMBED_DIM");
    int dim = dim_s && *dim_s ? atoi(dim_s) : LH_EMBED_DEFAULT_DIM;
    lh_embed_state *st = calloc(1, sizeof *st);
    if (!st)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    char model[128];
    const char *hash_model = NULL;
    lh_err *err = lh_embed_remotes(actor, st);
    if (!err)
        err = lh_embed_default(st, &hash_model);
    if (err) {
        lh_embed_fini(st);
        return err;
    }
    err = lh_embed_hash_provider_create(hash_model, dim, &st->provider);
    if (err) {
        lh_embed_fini(st);
        const char *field = lh_err_field(err);
        bool model = field && !strcmp(field, "model");
        return lh_err_wrap(err, model ? "LH_EMBED_MODEL" : "LH_EMBED_DIM");
    }
    err = hash_model || !st->remote_default[0]
              ? lh_check_default(st->provider, dim_s, dim, model, sizeof model)
              : NULL;
    if (err) {
        lh_embed_fini(st);
        return err;
    }
    lh_info("embedding providers: %s; default model %s", st->configured,
            st->remote_default[0] ? st->remote_default : model);
    *state = st;
    return NULL;
}

static void lh_embed_fini(void *state)
{
    lh_embed_state *st = state;
    if (!st)
        return;
    if (st->provider)
        st->provider->destroy(st->provider);
    for (size_t i = 0; i < st->n_remote; i++)
        st->remote[i]->destroy(st->remote[i]);
    lh_embed_cache_close(st->cache);
    free(st);
}

static const lh_endpoint_def lh_embed_endpoints[] = {
    {&lh_ep_embed_request, lh_embed_request_handler},
};

static void lh_embed_stats_data(lh_actor *actor, void *state, const lh_contract *k, lh_buf *out)
{
    (void)actor;
    lh_embed_state *st = state;
    if (k != &lh_ep_embed_request || !st)
        return;
    lh_buf_appendf(out, "\"cache_hits\":%llu,\"cache_misses\":%llu",
                   (unsigned long long)atomic_load(&st->cache_hits),
                   (unsigned long long)atomic_load(&st->cache_misses));
}

const lh_actor_def lh_embed_actor = {
    .name = "embedd",
    .version = "0.1.0",
    .description = "Turns texts into vectors: the built-in hash embedders, and Ollama and "
                   "OpenAI-compatible providers through a cache.",
    .endpoints = lh_embed_endpoints,
    .n_endpoints = sizeof lh_embed_endpoints / sizeof lh_embed_endpoints[0],
    .init = lh_embed_init,
    .fini = lh_embed_fini,
    .stats_data = lh_embed_stats_data,
};
