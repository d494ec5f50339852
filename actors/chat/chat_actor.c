/*
 * chat_actor.c — chatd: its endpoint table, the checks a conversation
 * needs before any provider is asked (the last word is the user's, the
 * prompt fits, the model is known), the jobs that answer (answer.c), and
 * the provider list.
 *
 * A checked request is answered on a thread of its own, its reply
 * deferred: a model may talk for a minute, streaming or not, and the
 * endpoint's bus thread must be free for the next question meanwhile.
 * At most LH_CHAT_MAX_ACTIVE at once (more is 429); stop waits for them. Settings: LH_CHAT_MODEL (default `extractive`);
 * LH_OPENAI_BASE_URL / LH_OPENAI_API_KEY (any OpenAI-compatible server),
 * LH_OLLAMA_URL, LH_ANTHROPIC_BASE_URL / LH_ANTHROPIC_API_KEY, each
 * configuring a provider whose models are named `<provider>/<model>`.
 */
#include "actors/chat/chat.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/chat/chatd.h"
#include "bus/clock.h"
#include "bus/events.h"
#include "bus/log.h"
#include "bus/request.h"
#include "schemas/chat.h"
#include "schemas/matrix.h"
#include "schemas/vector.h"
#include "lib/providers/providers.h"

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

/* ---- jobs: one thread per request being answered ---- */

#define LH_CHAT_MAX_ACTIVE 256

typedef struct lh_chat_job {
    lh_chat_state *st;
    lh_actor *actor;
    lh_deferred *reply;
    lh_buf request; /* msgpack: the handler's arena is gone when the job runs */
    int64_t deadline; /* lh_clock_ms: from when the request came */
    bool streamed;
    char rid[LH_CHAT_MAX_MODEL_BYTES];
} lh_chat_job;

static lh_err *lh_chat_job_answer(lh_chat_job *job, lh_arena *arena,
                                  lh_chat_complete_reply **rep)
{
    lh_chat_run run = {.st = job->st, .actor = job->actor, .arena = arena, .reply = job->reply};
    lh_chat_complete_request *req = NULL;
    lh_err *err = lh_schema_decode(&lh_chat_complete_request_schema, job->request.data,
                                   job->request.len, arena, (void **)&req);
    if (err) /* it passed the checks once: it must again */
        return lh_err_wrap_as(err, LH_EINTERNAL, "the request, copied for its job");
    lh_chat_prompt prompt = {.req = req};
    lh_chat_plan plan = {.deadline = job->deadline};
    err = lh_chat_check(req, &prompt.question);
    if (!err)
        err = lh_chat_plan_of(job->st, req, &plan);
    if (err)
        return err;
    /* Streamed only once the request is known good: a refusal comes whole. */
    lh_chat_streamer streamer;
    lh_chat_streamer_init(&streamer, &run);
    if (req->stream && lh_deferred_stream_begin(job->reply)) {
        prompt.sink = &streamer.sink;
        job->streamed = true;
    }
    *rep = lh_arena_alloc(arena, sizeof **rep);
    return lh_chat_answer(&run, &plan, &prompt, *rep);
}

/* The indexes rep's citations come from, each once (lineage's sources). */
static size_t lh_chat_corpora(const lh_chat_complete_reply *rep, lh_str *out, size_t cap)
{
    const lh_chat_citation *c = rep->citations.v;
    size_t n = 0;
    for (size_t i = 0; i < rep->citations.n; i++) {
        size_t k = 0;
        while (k < n && !lh_str_equal(out[k], c[i].corpus))
            k++;
        if (k == n && n < cap && c[i].corpus.s)
            out[n++] = c[i].corpus;
    }
    return n;
}

/* The log hears of every answer: model and usage, never the text. */
static void lh_chat_completed(lh_chat_job *job, const lh_chat_complete_reply *rep)
{
    lh_str corpora[LH_MATRIX_MAX_CORPORA];
    lh_chat_completed_event ev = {.model = rep->model, .provider = rep->provider,
                                  .streamed = job->streamed,
                                  .finish_reason = rep->finish_reason, .usage = rep->usage,
                                  .citations = (int64_t)rep->citations.n,
                                  .corpora = {corpora, lh_chat_corpora(rep, corpora,
                                                                       LH_MATRIX_MAX_CORPORA)},
                                  .failed_attempts = (int64_t)rep->failed_attempts.n};
    lh_event_emit(job->actor, &lh_ev_chat_completed, &ev);
}

static void *lh_chat_job_main(void *arg)
{
    lh_chat_job *job = arg;
    lh_log_set_actor(lh_actor_def_of(job->actor)->name);
    lh_log_set_request_id(job->rid);
    lh_arena *arena = lh_arena_create();
    lh_chat_complete_reply *rep = NULL;
    lh_err *err = lh_chat_job_answer(job, arena, &rep);
    if (err && lh_err_code(err) >= 500)
        lh_warn("chat.complete failed: %d %s", lh_err_code(err), lh_err_message(err));
    if (err)
        lh_deferred_fail(job->reply, err);
    else
        lh_deferred_reply(job->reply, rep);
    if (!err)
        lh_chat_completed(job, rep);
    lh_err_free(err);
    lh_arena_destroy(arena);
    lh_buf_free(&job->request);
    lh_chat_state *st = job->st;
    free(job);
    pthread_mutex_lock(&st->lock);
    if (--st->active == 0)
        pthread_cond_broadcast(&st->idle);
    pthread_mutex_unlock(&st->lock);
    return NULL;
}

/* Takes a slot, or says why there is none. */
static lh_err *lh_chat_job_slot(lh_chat_state *st)
{
    pthread_mutex_lock(&st->lock);
    lh_err *err = atomic_load(&st->stopping)
                      ? lh_err_new(LH_EUNAVAILABLE, NULL, "chatd is stopping")
                  : st->active >= LH_CHAT_MAX_ACTIVE
                      ? lh_err_new(LH_EBUSY, NULL,
                                   "chatd is answering %d requests already; try again shortly",
                                   LH_CHAT_MAX_ACTIVE)
                      : NULL;
    if (!err)
        st->active++;
    pthread_mutex_unlock(&st->lock);
    return err;
}

static lh_err *lh_chat_job_start(lh_ctx *ctx, lh_chat_state *st,
                                 const lh_chat_complete_request *req)
{
    lh_err *err = lh_chat_job_slot(st);
    if (err)
        return err;
    lh_chat_job *job = calloc(1, sizeof *job);
    if (!job)
        abort(); /* out of memory: as lh_buf does, we do not limp on */
    int ms = lh_actor_config(lh_ctx_actor(ctx))->request_timeout_ms;
    *job = (lh_chat_job){.st = st, .actor = lh_ctx_actor(ctx),
                         .deadline = lh_clock_ms() + ms * 3 / 4};
    snprintf(job->rid, sizeof job->rid, "%s", lh_ctx_request_id(ctx));
    lh_buf_init(&job->request);
    /* what was given, so the job's decoder fills the same defaults */
    lh_message_encode_given(&lh_chat_complete_request_schema, req, &job->request);
    job->reply = lh_ctx_defer(ctx);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    if (pthread_create(&t, &attr, lh_chat_job_main, job) != 0) {
        lh_err *no = lh_err_new(LH_EUNAVAILABLE, NULL, "cannot start a thread to answer");
        lh_deferred_fail(job->reply, no);
        lh_err_free(no);
        lh_buf_free(&job->request);
        free(job);
        pthread_mutex_lock(&st->lock);
        if (--st->active == 0)
            pthread_cond_broadcast(&st->idle);
        pthread_mutex_unlock(&st->lock);
    }
    pthread_attr_destroy(&attr);
    return NULL;
}

static lh_err *lh_chat_complete_handler(lh_ctx *ctx, const void *request, void *reply)
{
    (void)reply; /* deferred: the job answers */
    const lh_chat_complete_request *req = request;
    lh_chat_state *st = lh_ctx_state(ctx);
    lh_str question;
    lh_chat_plan plan = {0};
    /* Checked here, so a refusal is immediate and nothing starts. */
    lh_err *err = lh_chat_check(req, &question);
    if (!err)
        err = lh_chat_plan_of(st, req, &plan);
    return err ? err : lh_chat_job_start(ctx, st, req);
}

/* Stops taking requests, tells those being answered to stop (a stream
 * stops at its next piece or check, within about a second; a whole answer
 * within its own deadline) and waits for every one: a job must not
 * outlive the actor it answers for. */
static void lh_chat_stop(lh_actor *actor, void *state)
{
    (void)actor;
    lh_chat_state *st = state;
    pthread_mutex_lock(&st->lock);
    atomic_store(&st->stopping, true);
    for (int waited = 0; st->active > 0; waited++) {
        struct timespec tick;
        clock_gettime(CLOCK_REALTIME, &tick);
        tick.tv_sec += 1;
        pthread_cond_timedwait(&st->idle, &st->lock, &tick);
        if (st->active > 0 && waited % 5 == 4)
            lh_warn("waiting for %d chat request%s to finish", st->active,
                    st->active == 1 ? "" : "s");
    }
    pthread_mutex_unlock(&st->lock);
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
    pthread_cond_init(&st->idle, NULL);
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
    pthread_cond_destroy(&st->idle);
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
    .stop = lh_chat_stop,
    .fini = lh_chat_fini,
};
