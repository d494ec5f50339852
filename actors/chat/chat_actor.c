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

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/chat/provider.h"
#include "bus/clock.h"
#include "bus/log.h"
#include "bus/request.h"
#include "schemas/chat.h"
#include "schemas/matrix.h"
#include "schemas/vector.h"
#include "lib/providers/providers.h"

#define LH_CHAT_MAX_PROVIDERS LH_PROVIDERS_MAX

/* How a provider has been doing, for chat.providers. */
typedef struct lh_chat_health {
    int64_t requests, errors;
    double last_ms; /* < 0: none yet */
    char last_error[256];
} lh_chat_health;

typedef struct lh_chat_state {
    lh_chat_provider *extractive;
    lh_chat_provider *network[LH_CHAT_MAX_PROVIDERS]; /* the configured ones */
    size_t n_network;
    pthread_mutex_t lock; /* health */
    lh_chat_health health[LH_CHAT_MAX_PROVIDERS + 1]; /* [0] extractive, then network */
    char configured[LH_PROVIDERS_MAX * (LH_PROVIDER_NAME_MAX + 2) + 16]; /* for errors */
    char default_model[LH_CHAT_MAX_MODEL_BYTES + 1];
} lh_chat_state;

static bool lh_str_is(const lh_str *s, const char *c)
{
    return s->s && s->len == strlen(c) && !memcmp(s->s, c, s->len);
}

/* ---- checks ---- */

static lh_err *lh_chat_check(const lh_chat_complete_request *req, lh_str *question)
{
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

/* ---- health ---- */

static lh_chat_health *lh_chat_health_of(lh_chat_state *st, const lh_chat_provider *p)
{
    for (size_t i = 0; i < st->n_network; i++)
        if (st->network[i] == p)
            return &st->health[i + 1];
    return &st->health[0];
}

static void lh_chat_record(lh_chat_state *st, const lh_chat_provider *p, const lh_err *err,
                           uint64_t t0)
{
    pthread_mutex_lock(&st->lock);
    lh_chat_health *h = lh_chat_health_of(st, p);
    h->requests++;
    h->last_ms = (double)(lh_clock_ns() - t0) / 1e6;
    if (err) {
        h->errors++;
        snprintf(h->last_error, sizeof h->last_error, "%d %s", lh_err_code(err),
                 lh_err_message(err));
    }
    pthread_mutex_unlock(&st->lock);
}

/* ---- grounding ---- */

/* Less than this left and no provider is asked: it could not answer in time. */
#define LH_CHAT_MIN_ATTEMPT_MS 50

/* What remains until `deadline` (lh_clock_ms), at least 1 ms. */
static int lh_chat_left(int64_t deadline)
{
    int64_t left = deadline - lh_clock_ms();
    return left > 1 ? (int)left : 1;
}

/* Every vector index, up to matrixd's limit: the extractive model's
 * default corpora. */
static lh_err *lh_chat_all_corpora(lh_ctx *ctx, int64_t deadline, lh_strs *out)
{
    lh_vector_list_request req = {0};
    lh_vector_list_reply *rep = NULL;
    lh_err *err = lh_call(lh_actor_conn(lh_ctx_actor(ctx)), &lh_ep_vector_list, &req,
                          lh_ctx_arena(ctx), (void **)&rep, lh_chat_left(deadline));
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

/* The question as a retrieval query: at most matrixd's bound, cut between
 * characters; empty when it holds nothing but spaces. */
static lh_str lh_chat_query_of(lh_str q)
{
    size_t len = q.len < LH_MATRIX_MAX_QUERY_BYTES ? q.len : LH_MATRIX_MAX_QUERY_BYTES;
    while (len < q.len && len && ((unsigned char)q.s[len] & 0xC0) == 0x80)
        len--;
    size_t i = 0;
    while (i < len && (q.s[i] == ' ' || q.s[i] == '\t' || q.s[i] == '\n' || q.s[i] == '\r'))
        i++;
    return i == len ? (lh_str){0} : (lh_str){q.s, len};
}

static lh_err *lh_chat_ground(lh_ctx *ctx, const lh_chat_complete_request *req, int64_t deadline,
                              lh_chat_prompt *p)
{
    const lh_chat_retrieve *r = req->retrieve;
    lh_matrix_retrieve_request mr;
    lh_schema_init(&lh_matrix_retrieve_request_schema, &mr); /* lh_call sends every default */
    mr.query = lh_chat_query_of(p->question);
    if (!mr.query.s) /* nothing to search for: nothing to ground in */
        return NULL;
    LH_SET(&mr, k, r ? r->k : 5);
    mr.mode = r ? r->mode : (lh_str){0};
    lh_err *err = r && r->corpora.v ? NULL : lh_chat_all_corpora(ctx, deadline, &mr.corpora);
    if (!err && r && r->corpora.v)
        mr.corpora = r->corpora;
    if (err || !mr.corpora.n) /* nothing indexed: nothing to ground in */
        return err;
    lh_matrix_retrieve_reply *rep = NULL;
    err = lh_call(lh_actor_conn(lh_ctx_actor(ctx)), &lh_ep_matrix_retrieve, &mr,
                  lh_ctx_arena(ctx), (void **)&rep, lh_chat_left(deadline));
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

/* The model and its fallbacks, each resolved before anything starts, so
 * an unknown one is a 404 with nothing asked upstream. */
typedef struct lh_chat_plan {
    lh_chat_provider *provider[1 + LH_CHAT_MAX_FALLBACKS];
    lh_str model[1 + LH_CHAT_MAX_FALLBACKS]; /* the provider's own names */
    size_t n;
    int64_t deadline; /* lh_clock_ms: an answer before the caller's own deadline */
} lh_chat_plan;

static lh_err *lh_chat_plan_of(lh_chat_state *st, const lh_chat_complete_request *req,
                               lh_chat_plan *plan)
{
    plan->n = 1 + req->fallbacks.n;
    for (size_t i = 0; i < plan->n; i++) {
        lh_str want = i ? req->fallbacks.v[i - 1] : req->model;
        lh_err *err = lh_chat_provider_for(st, want, &plan->provider[i], &plan->model[i]);
        if (err && i) { /* named by the field that holds it */
            char field[32];
            snprintf(field, sizeof field, "fallbacks[%zu]", i - 1);
            lh_err *named = lh_err_new(lh_err_code(err), field, "%s: %s", field,
                                       lh_err_message(err));
            lh_err_free(err);
            return named;
        }
        if (err)
            return err;
    }
    return NULL;
}

/* "openai/gpt-4o-mini" as it was asked for; "extractive" alone. */
static lh_str lh_chat_full_name(lh_ctx *ctx, const lh_chat_provider *p, lh_str model)
{
    if (!p->takes_model)
        return (lh_str){p->name, strlen(p->name)};
    size_t n = strlen(p->name) + 1 + model.len;
    char *full = lh_ctx_alloc(ctx, n + 1);
    snprintf(full, n + 1, "%s/%.*s", p->name, (int)model.len, model.s);
    return (lh_str){full, n};
}

/* ---- streaming ---- */

/* The sink a provider streams into: each piece becomes a chat chunk on
 * the bus, the first naming the model that answers. */
typedef struct lh_chat_streamer {
    lh_chat_sink sink;
    lh_ctx *ctx;
    lh_str model; /* the attempt's full name */
} lh_chat_streamer;

static lh_err *lh_chat_stream_delta(void *user, const char *text, size_t len)
{
    lh_chat_streamer *st = user;
    lh_chat_chunk chunk = {.delta = {text, len}};
    if (!st->sink.sent)
        chunk.model = st->model;
    lh_err *err = lh_ctx_stream_send(st->ctx, &lh_chat_chunk_schema, &chunk);
    if (!err)
        st->sink.sent++;
    return err;
}

/* A provider that answered without streaming anything (it cannot, or it
 * had nothing to say but said it whole) still streams its answer. */
static lh_err *lh_chat_stream_rest(lh_chat_streamer *st, const lh_chat_complete_reply *rep)
{
    const lh_chat_message *m = rep->message;
    if (st->sink.sent || !m || !m->content.len)
        return NULL;
    return lh_chat_stream_delta(st, m->content.s, m->content.len);
}

/* Asks each model in turn until one answers; a failure of the request
 * itself (4xx) ends it, a failure of the provider (5xx) tries the next. */
static lh_err *lh_chat_answer(lh_ctx *ctx, lh_chat_state *st, const lh_chat_plan *plan,
                              lh_chat_prompt *prompt, lh_chat_complete_reply *rep)
{
    lh_chat_streamer *streamer = (lh_chat_streamer *)prompt->sink; /* its first member */
    lh_chat_attempt *failed = lh_ctx_alloc(ctx, plan->n * sizeof *failed);
    size_t n_failed = 0;
    bool grounded = false;
    lh_err *err = NULL;
    for (size_t i = 0; i < plan->n; i++) {
        lh_chat_provider *p = plan->provider[i];
        /* Passages are fetched once, when the first provider that uses them
         * comes up: a network model asked without `retrieve` gets none. */
        if (!grounded && (prompt->req->retrieve || p == st->extractive)) {
            lh_err_free(err);
            if ((err = lh_chat_ground(ctx, prompt->req, plan->deadline, prompt)))
                return err;
            grounded = true;
        }
        if (plan->deadline - lh_clock_ms() < LH_CHAT_MIN_ATTEMPT_MS)
            break; /* no time for another: the last failure stands */
        lh_err_free(err);
        prompt->model = plan->model[i];
        prompt->time_left_ms = lh_chat_left(plan->deadline);
        *rep = (lh_chat_complete_reply){0};
        lh_str full = lh_chat_full_name(ctx, p, plan->model[i]);
        if (streamer)
            streamer->model = full;
        uint64_t t0 = lh_clock_ns();
        err = p->complete(p, prompt, lh_ctx_arena(ctx), rep);
        if (!err && streamer)
            err = lh_chat_stream_rest(streamer, rep);
        if (!err || lh_err_code(err) != LH_ECANCELED) /* a requester gone says nothing of it */
            lh_chat_record(st, p, err, t0);
        if (!err) {
            rep->model = full;
            rep->provider = (lh_str){p->name, strlen(p->name)};
            if (n_failed)
                rep->failed_attempts = (lh_objs){failed, n_failed};
            return NULL;
        }
        if (streamer && streamer->sink.sent) /* too late for another model: the stream ends */
            return lh_err_wrap(err, "the answer broke off after %zu piece%s", streamer->sink.sent,
                               streamer->sink.sent == 1 ? "" : "s");
        if (lh_err_code(err) < 500)
            return err;
        const char *why = lh_err_message(err);
        failed[n_failed] = (lh_chat_attempt){
            .model = full,
            .error = {lh_arena_strndup(lh_ctx_arena(ctx), why, strlen(why)), strlen(why)}};
        LH_SET(&failed[n_failed], status, lh_err_code(err));
        n_failed++;
        lh_warn("chat: %.*s failed (%d %s)%s", (int)failed[n_failed - 1].model.len,
                failed[n_failed - 1].model.s, lh_err_code(err), why,
                i + 1 < plan->n ? "; trying the next fallback" : "");
    }
    if (!err)
        return lh_err_new(LH_ETIMEOUT, NULL, "no time left to ask a model");
    return plan->n > 1 ? lh_err_wrap(err, "every model failed; the last") : err;
}

static lh_err *lh_chat_complete_handler(lh_ctx *ctx, const void *request, void *reply)
{
    const lh_chat_complete_request *req = request;
    lh_chat_state *st = lh_ctx_state(ctx);
    lh_chat_prompt prompt = {.req = req};
    int ms = lh_actor_config(lh_ctx_actor(ctx))->request_timeout_ms;
    lh_chat_plan plan = {.deadline = lh_clock_ms() + ms * 3 / 4};
    lh_err *err = lh_chat_check(req, &prompt.question);
    if (!err)
        err = lh_chat_plan_of(st, req, &plan);
    if (err)
        return err;
    /* Streamed only once the request is known good: a refusal comes whole. */
    lh_chat_streamer streamer = {.sink = {.delta = lh_chat_stream_delta}, .ctx = ctx};
    streamer.sink.user = &streamer;
    if (req->stream && lh_ctx_stream_begin(ctx))
        prompt.sink = &streamer.sink;
    return lh_chat_answer(ctx, st, &plan, &prompt, reply);
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
        pthread_mutex_lock(&st->lock);
        lh_chat_health h = *lh_chat_health_of(st, p);
        pthread_mutex_unlock(&st->lock);
        LH_SET(&info[i], requests, h.requests);
        LH_SET(&info[i], errors, h.errors);
        if (h.requests)
            LH_SET(&info[i], last_ms, h.last_ms);
        size_t elen = strlen(h.last_error);
        if (elen)
            info[i].last_error = (lh_str){lh_arena_strndup(lh_ctx_arena(ctx), h.last_error, elen),
                                          elen};
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
    pthread_mutex_init(&st->lock, NULL);
    st->extractive = lh_chat_extractive_create();
    /* A provider has three quarters of a request's time, so its failure is
     * reported before the caller's own deadline. */
    int ms = lh_actor_config(actor)->request_timeout_ms * 3 / 4;
    lh_provider_confs confs;
    lh_err *err = lh_providers_load(lh_actor_config(actor)->data_dir, &confs);
    if (err) {
        lh_chat_fini(st);
        return err;
    }
    snprintf(st->configured, sizeof st->configured, "extractive");
    for (size_t i = 0; i < confs.n; i++) {
        const lh_provider_conf *c = &confs.v[i];
        lh_chat_provider *p = !strcmp(c->type, "openai")   ? lh_chat_openai_create(c, ms)
                              : !strcmp(c->type, "ollama") ? lh_chat_ollama_create(c, ms)
                                                           : lh_chat_anthropic_create(c, ms);
        if (!p)
            continue;
        st->network[st->n_network++] = p;
        size_t used = strlen(st->configured);
        snprintf(st->configured + used, sizeof st->configured - used, ", %s", p->name);
    }
    lh_providers_free(&confs);
    const char *model = getenv("LH_CHAT_MODEL");
    snprintf(st->default_model, sizeof st->default_model, "%s",
             model && *model ? model : "extractive");
    lh_chat_provider *p = NULL;
    lh_str name = {0};
    err = lh_chat_provider_for(st, (lh_str){st->default_model, strlen(st->default_model)},
                                       &p, &name);
    if (err) {
        lh_chat_fini(st);
        return lh_err_wrap(err, "LH_CHAT_MODEL");
    }
    lh_info("chat providers: %s; default model %s", st->configured, st->default_model);
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
    pthread_mutex_destroy(&st->lock);
    free(st);
}

static const lh_endpoint_def lh_chat_endpoints[] = {
    {&lh_ep_chat_complete, lh_chat_complete_handler},
    {&lh_ep_chat_providers, lh_chat_providers_handler},
};

const lh_actor_def lh_chat_actor = {
    .name = "chatd",
    .version = "0.1.0",
    .description = "Answers conversations, whole or streamed, grounded in retrieved passages: "
                   "the built-in extractive provider, Ollama, OpenAI-compatible servers and "
                   "Anthropic.",
    .endpoints = lh_chat_endpoints,
    .n_endpoints = sizeof lh_chat_endpoints / sizeof lh_chat_endpoints[0],
    .init = lh_chat_init,
    .fini = lh_chat_fini,
};
