/*
 * chat_actor.c — chatd: its endpoint table, the checks a conversation
 * needs before any provider is asked (the last word is the user's, the
 * prompt fits, the model is known), grounding in passages from matrixd,
 * and the provider list. Settings: LH_CHAT_MODEL (default `extractive`,
 * the only provider built so far).
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

typedef struct lh_chat_state {
    lh_chat_provider *extractive;
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

/* The provider serving `model` (the default when absent); 404 naming the
 * model or its provider otherwise. */
static lh_err *lh_chat_provider_for(lh_chat_state *st, const lh_str *model,
                                    lh_chat_provider **out)
{
    lh_str m = model->s ? *model : (lh_str){st->default_model, strlen(st->default_model)};
    if (lh_str_is(&m, "extractive")) {
        *out = st->extractive;
        return NULL;
    }
    const char *slash = memchr(m.s, '/', m.len);
    if (slash)
        return lh_err_new(LH_ENOTFOUND, "model",
                          "unknown model '%.*s': no provider '%.*s' is configured "
                          "(configured: extractive)",
                          (int)m.len, m.s, (int)(slash - m.s), m.s);
    return lh_err_new(LH_ENOTFOUND, "model",
                      "unknown model '%.*s': name it 'provider/model' (configured: "
                      "extractive)",
                      (int)m.len, m.s);
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
        err = lh_chat_provider_for(st, &req->model, &provider);
    if (!err && (req->retrieve || provider == st->extractive))
        err = lh_chat_ground(ctx, req, &prompt);
    if (!err)
        err = provider->complete(provider, &prompt, lh_ctx_arena(ctx), rep);
    if (err)
        return err;
    rep->model = (lh_str){provider->name, strlen(provider->name)};
    rep->provider = (lh_str){provider->name, strlen(provider->name)};
    return NULL;
}

static lh_err *lh_chat_providers_handler(lh_ctx *ctx, const void *request, void *reply)
{
    (void)request;
    lh_chat_state *st = lh_ctx_state(ctx);
    lh_chat_providers_reply *rep = reply;
    lh_chat_provider_info *info = lh_ctx_alloc(ctx, sizeof *info);
    lh_str *models = lh_ctx_alloc(ctx, sizeof *models);
    *models = (lh_str){"extractive", 10};
    *info = (lh_chat_provider_info){.name = {"extractive", 10}, .type = {"extractive", 10},
                                    .models = {models, 1}};
    LH_SET(info, is_default, !strcmp(st->default_model, "extractive"));
    rep->providers = (lh_objs){info, 1};
    rep->default_model = (lh_str){st->default_model, strlen(st->default_model)};
    return NULL;
}

static lh_err *lh_chat_init(lh_actor *actor, void **state)
{
    (void)actor;
    const char *model = getenv("LH_CHAT_MODEL");
    if (model && *model && strcmp(model, "extractive") != 0)
        return lh_err_new(LH_EBADREQ, NULL,
                          "LH_CHAT_MODEL=%s is not available in this build (available: "
                          "extractive)",
                          model);
    lh_chat_state *st = calloc(1, sizeof *st);
    if (!st)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    st->extractive = lh_chat_extractive_create();
    snprintf(st->default_model, sizeof st->default_model, "extractive");
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
