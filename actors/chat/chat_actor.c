/*
 * chat_actor.c — chatd: its endpoint table, the checks a conversation
 * needs before any provider is asked (the last word is the user's, the
 * prompt fits, the model is known), grounding in passages from matrixd,
 * and the provider list. Settings: LH_CHAT_MODEL (default `extractive`);
 * LH_OPENAI_BASE_URL / LH_OPENAI_API_KEY (any OpenAI-compatible server),
 * LH_OLLAMA_URL, LH_ANTHROPIC_BASE_URL / LH_ANTHROPIC_API_KEY, each
 * configuring a provider whose models are named `<provider>/<model>`.
 */
#include "actors/chat/chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/chat/provider.h"
#include "bus/log.h"
#include "bus/request.h"
#include "schemas/chat.h"
#include "schemas/matrix.h"
#include "schemas/vector.h"

#define LH_CHAT_MAX_PROVIDERS 4

typedef struct lh_chat_state {
    lh_chat_provider *extractive;
    lh_chat_provider *network[LH_CHAT_MAX_PROVIDERS]; /* the configured ones */
    size_t n_network;
    char configured[128]; /* "extractive, openai, ...", for errors */
    char default_model[LH_CHAT_MAX_MODEL_BYTES + 1];
} lh_chat_state;

static bool lh_str_is(const lh_str *s, const char *c)
{
    return s->s && s->len == strlen(c) && !memcmp(s->s, c, s->len);
}

/* ---- checks ---- */

static lh_err *lh_chat_check(const lh_chat_complete_request *req, lh_str *question)
{
    if (req->stream)
        return lh_err_new(LH_EBADREQ, "stream",
                          "streaming is not built yet: ask without 'stream' (or false)");
    const lh_chat_message *m = req->messages.v;
    size_t n = req->messages.n, bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += m[i].content.len;
    if (bytes > LH_CHAT_MAX_PROMPT_BYTES)
        return lh_err_new(LH_ETOOLARGE, "messages",
                          "the messages hold %zu bytes; the limit is %d", bytes,
                          LH_CHAT_MAX_PROMPT_BYTES);
    if (!lh_str_is(&m[n - 1].role, "user"))
        return lh_err_new(LH_EBADREQ, "messages",
                          "the last message must be the user's (it is '%.*s')",
                          (int)m[n - 1].role.len, m[n - 1].role.s);
    *question = m[n - 1].content;
    return NULL;
}

/* The provider serving `model` (the default when absent) and the
 * provider's own name for the model; 404 naming the model or its provider
 * otherwise. */
static lh_err *lh_chat_provider_for(const lh_chat_state *st, lh_str m, lh_chat_provider **out,
                                    lh_str *model)
{
    if (!m.s)
        m = (lh_str){st->default_model, strlen(st->default_model)};
    *model = m;
    if (lh_str_is(&m, "extractive")) {
        *out = st->extractive;
        return NULL;
    }
    const char *slash = memchr(m.s, '/', m.len);
    size_t plen = slash ? (size_t)(slash - m.s) : 0;
    for (size_t i = 0; slash && slash + 1 < m.s + m.len && i < st->n_network; i++) {
        const char *name = st->network[i]->name;
        if (strlen(name) == plen && !memcmp(m.s, name, plen)) {
            *out = st->network[i];
            *model = (lh_str){slash + 1, m.len - plen - 1};
            return NULL;
        }
    }
    if (slash)
        return lh_err_new(LH_ENOTFOUND, "model",
                          "unknown model '%.*s': no provider '%.*s' is configured "
                          "(configured: %s)",
                          (int)m.len, m.s, (int)plen, m.s, st->configured);
    return lh_err_new(LH_ENOTFOUND, "model",
                      "unknown model '%.*s': name it 'provider/model' (configured: %s)",
                      (int)m.len, m.s, st->configured);
}

/* ---- grounding ---- */

static int lh_chat_timeout(lh_ctx *ctx)
{
    return lh_actor_config(lh_ctx_actor(ctx))->request_timeout_ms;
}

/* Every vector index, up to matrixd's limit: the extractive model's
 * default corpora. */
static lh_err *lh_chat_all_corpora(lh_ctx *ctx, lh_strs *out)
{
    lh_vector_list_request req = {0};
    lh_vector_list_reply *rep = NULL;
    lh_err *err = lh_call(lh_actor_conn(lh_ctx_actor(ctx)), &lh_ep_vector_list, &req,
                          lh_ctx_arena(ctx), (void **)&rep, lh_chat_timeout(ctx));
    if (err)
        return lh_err_wrap(err, "list the indexes to retrieve from");
    size_t n = rep->indexes.n < LH_MATRIX_MAX_CORPORA ? rep->indexes.n : LH_MATRIX_MAX_CORPORA;
    const lh_vector_index_info *info = rep->indexes.v;
    out->v = lh_ctx_alloc(ctx, (n + 1) * sizeof *out->v);
    out->n = n;
    for (size_t i = 0; i < n; i++)
        out->v[i] = info[i].index;
    return NULL;
}

static lh_err *lh_chat_ground(lh_ctx *ctx, const lh_chat_complete_request *req,
                                lh_chat_prompt *p)
{
    const lh_chat_retrieve *r = req->retrieve;
    lh_matrix_retrieve_request mr;
    lh_schema_init(&lh_matrix_retrieve_request_schema, &mr); /* lh_call sends every default */
    mr.query = p->question;
    LH_SET(&mr, k, r ? r->k : 5);
    mr.mode = r ? r->mode : (lh_str){0};
    lh_err *err = r && r->corpora.v ? NULL : lh_chat_all_corpora(ctx, &mr.corpora);
    if (!err && r && r->corpora.v)
        mr.corpora = r->corpora;
    if (err || !mr.corpora.n) /* nothing indexed: nothing to ground in */
        return err;
    lh_matrix_retrieve_reply *rep = NULL;
    err = lh_call(lh_actor_conn(lh_ctx_actor(ctx)), &lh_ep_matrix_retrieve, &mr,
                  lh_ctx_arena(ctx), (void **)&rep, lh_chat_timeout(ctx));
    if (err)
        return lh_err_wrap(err, "retrieve passages");
    const lh_matrix_hit *hits = rep->hits.v;
    lh_chat_passage *ps = lh_ctx_alloc(ctx, (rep->hits.n + 1) * sizeof *ps);
    for (size_t i = 0; i < rep->hits.n; i++)
        ps[i] = (lh_chat_passage){hits[i].corpus, hits[i].id, hits[i].text};
    p->passages = ps;
    p->n_passages = rep->hits.n;
    return NULL;
}

/* ---- endpoints ---- */

static lh_err *lh_chat_complete_handler(lh_ctx *ctx, const void *request, void *reply)
{
    const lh_chat_complete_request *req = request;
    lh_chat_complete_reply *rep = reply;
    lh_chat_state *st = lh_ctx_state(ctx);
    lh_chat_prompt prompt = {.req = req};
    lh_chat_provider *provider = NULL;
    lh_err *err = lh_chat_check(req, &prompt.question);
    if (!err)
        err = lh_chat_provider_for(st, req->model, &provider, &prompt.model);
    if (!err && (req->retrieve || provider == st->extractive))
        err = lh_chat_ground(ctx, req, &prompt);
    if (!err)
        err = provider->complete(provider, &prompt, lh_ctx_arena(ctx), rep);
    if (err)
        return err;
    if (provider->takes_model) { /* reported as it was asked for: "openai/gpt-4o-mini" */
        size_t n = strlen(provider->name) + 1 + prompt.model.len;
        char *full = lh_ctx_alloc(ctx, n + 1);
        snprintf(full, n + 1, "%s/%.*s", provider->name, (int)prompt.model.len, prompt.model.s);
        rep->model = (lh_str){full, n};
    } else {
        rep->model = (lh_str){provider->name, strlen(provider->name)};
    }
    rep->provider = (lh_str){provider->name, strlen(provider->name)};
    return NULL;
}

static lh_err *lh_chat_providers_handler(lh_ctx *ctx, const void *request, void *reply)
{
    (void)request;
    lh_chat_state *st = lh_ctx_state(ctx);
    lh_chat_providers_reply *rep = reply;
    size_t n = st->n_network + 1;
    lh_chat_provider_info *info = lh_ctx_alloc(ctx, n * sizeof *info);
    lh_str *models = lh_ctx_alloc(ctx, n * sizeof *models);
    for (size_t i = 0; i < n; i++) {
        const lh_chat_provider *p = i ? st->network[i - 1] : st->extractive;
        size_t len = strlen(p->name);
        char *model = lh_ctx_alloc(ctx, len + 3);
        /* a network provider serves whatever its server serves */
        snprintf(model, len + 3, p->takes_model ? "%s/*" : "%s", p->name);
        models[i] = (lh_str){model, strlen(model)};
        info[i] = (lh_chat_provider_info){.name = {p->name, len}, .type = {p->type,
                                                                         strlen(p->type)},
                                          .models = {&models[i], 1}};
        bool is_default = p->takes_model ? !strncmp(st->default_model, model, len + 1)
                                         : !strcmp(st->default_model, p->name);
        LH_SET(&info[i], is_default, is_default);
    }
    rep->providers = (lh_objs){info, n};
    rep->default_model = (lh_str){st->default_model, strlen(st->default_model)};
    return NULL;
}

static void lh_chat_fini(void *state);

static lh_err *lh_chat_init(lh_actor *actor, void **state)
{
    lh_chat_state *st = calloc(1, sizeof *st);
    if (!st)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    st->extractive = lh_chat_extractive_create();
    /* A provider has three quarters of a request's time, so its failure is
     * reported before the caller's own deadline. */
    int ms = lh_actor_config(actor)->request_timeout_ms * 3 / 4;
    lh_chat_provider *found[] = {lh_chat_openai_create(ms), lh_chat_ollama_create(ms),
                                 lh_chat_anthropic_create(ms)};
    snprintf(st->configured, sizeof st->configured, "extractive");
    for (size_t i = 0; i < sizeof found / sizeof found[0]; i++) {
        if (!found[i])
            continue;
        st->network[st->n_network++] = found[i];
        size_t used = strlen(st->configured);
        snprintf(st->configured + used, sizeof st->configured - used, ", %s", found[i]->name);
    }
    const char *model = getenv("LH_CHAT_MODEL");
    snprintf(st->default_model, sizeof st->default_model, "%s",
             model && *model ? model : "extractive");
    lh_chat_provider *p = NULL;
    lh_str name = {0};
    lh_err *err = lh_chat_provider_for(st, (lh_str){st->default_model, strlen(st->default_model)},
                                       &p, &name);
    if (err) {
        lh_chat_fini(st);
        return lh_err_wrap(err, "LH_CHAT_MODEL");
    }
    lh_info("chat model %s (extractive: quotes retrieved passages, generates nothing)",
            st->default_model);
    *state = st;
    return NULL;
}

static void lh_chat_fini(void *state)
{
    lh_chat_state *st = state;
    if (!st)
        return;
    st->extractive->destroy(st->extractive);
    for (size_t i = 0; i < st->n_network; i++)
        st->network[i]->destroy(st->network[i]);
    free(st);
}

static const lh_endpoint_def lh_chat_endpoints[] = {
    {&lh_ep_chat_complete, lh_chat_complete_handler},
    {&lh_ep_chat_providers, lh_chat_providers_handler},
};

const lh_actor_def lh_chat_actor = {
    .name = "chatd",
    .version = "0.1.0",
    .description = "Answers conversations, grounded in retrieved passages (built-in extractive "
                   "provider; network providers later).",
    .endpoints = lh_chat_endpoints,
    .n_endpoints = sizeof lh_chat_endpoints / sizeof lh_chat_endpoints[0],
    .init = lh_chat_init,
    .fini = lh_chat_fini,
};
