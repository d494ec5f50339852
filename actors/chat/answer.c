/*
 * answer.c — one chat request answered: the passages it is grounded in
 * (matrixd, fetched once, when the first model that uses them comes up),
 * each model of its plan in turn until one answers (a 5xx tries the next;
 * once a streamed piece is out, no other model may take over), the
 * providers' health, and the sink that turns streamed pieces into chat
 * chunks on the bus.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/chat/chatd.h"
#include "bus/clock.h"
#include "bus/log.h"
#include "bus/request.h"
#include "schemas/chat.h"
#include "schemas/matrix.h"
#include "schemas/vector.h"

/* ---- health ---- */

lh_chat_health *lh_chat_health_of(lh_chat_state *st, const lh_chat_provider *p)
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
static lh_err *lh_chat_all_corpora(lh_chat_run *run, int64_t deadline, lh_strs *out)
{
    lh_vector_list_request req = {0};
    lh_vector_list_reply *rep = NULL;
    lh_err *err = lh_call(lh_actor_conn(run->actor), &lh_ep_vector_list, &req, run->arena,
                          (void **)&rep, lh_chat_left(deadline));
    if (err)
        return lh_err_wrap(err, "list the indexes to retrieve from");
    size_t n = rep->indexes.n < LH_MATRIX_MAX_CORPORA ? rep->indexes.n : LH_MATRIX_MAX_CORPORA;
    const lh_vector_index_info *info = rep->indexes.v;
    out->v = lh_arena_alloc(run->arena, (n + 1) * sizeof *out->v);
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

static lh_err *lh_chat_ground(lh_chat_run *run, const lh_chat_complete_request *req,
                              int64_t deadline, lh_chat_prompt *p)
{
    const lh_chat_retrieve *r = req->retrieve;
    lh_matrix_retrieve_request mr;
    lh_schema_init(&lh_matrix_retrieve_request_schema, &mr); /* lh_call sends every default */
    mr.query = lh_chat_query_of(p->question);
    if (!mr.query.s) /* nothing to search for: nothing to ground in */
        return NULL;
    LH_SET(&mr, k, r ? r->k : 5);
    mr.mode = r ? r->mode : (lh_str){0};
    lh_err *err = r && r->corpora.v ? NULL : lh_chat_all_corpora(run, deadline, &mr.corpora);
    if (!err && r && r->corpora.v)
        mr.corpora = r->corpora;
    if (err || !mr.corpora.n) /* nothing indexed: nothing to ground in */
        return err;
    lh_matrix_retrieve_reply *rep = NULL;
    err = lh_call(lh_actor_conn(run->actor), &lh_ep_matrix_retrieve, &mr, run->arena,
                  (void **)&rep, lh_chat_left(deadline));
    if (err)
        return lh_err_wrap(err, "retrieve passages");
    const lh_matrix_hit *hits = rep->hits.v;
    lh_chat_passage *ps = lh_arena_alloc(run->arena, (rep->hits.n + 1) * sizeof *ps);
    for (size_t i = 0; i < rep->hits.n; i++)
        ps[i] = (lh_chat_passage){hits[i].corpus, hits[i].id, hits[i].text};
    p->passages = ps;
    p->n_passages = rep->hits.n;
    return NULL;
}

/* "openai/gpt-4o-mini" as it was asked for; "extractive" alone. */
static lh_str lh_chat_full_name(lh_chat_run *run, const lh_chat_provider *p, lh_str model)
{
    if (!p->takes_model)
        return (lh_str){p->name, strlen(p->name)};
    size_t n = strlen(p->name) + 1 + model.len;
    char *full = lh_arena_alloc(run->arena, n + 1);
    snprintf(full, n + 1, "%s/%.*s", p->name, (int)model.len, model.s);
    return (lh_str){full, n};
}

/* ---- streaming ---- */

/* Whether the request should stop now: its requester has gone, or chatd
 * is stopping. */
static lh_err *lh_chat_stream_check_run(void *user)
{
    lh_chat_streamer *st = user;
    if (lh_deferred_stream_cancelled(st->run->reply))
        return lh_err_new(LH_ECANCELED, NULL, "the requester cancelled the stream");
    if (atomic_load(&st->run->st->stopping))
        return lh_err_new(LH_EUNAVAILABLE, NULL, "chatd is stopping");
    return NULL;
}

static lh_err *lh_chat_stream_delta(void *user, const char *text, size_t len)
{
    lh_chat_streamer *st = user;
    lh_err *stop = lh_chat_stream_check_run(st);
    if (stop)
        return stop;
    lh_chat_chunk chunk = {.delta = {text, len}};
    if (!st->sink.sent)
        chunk.model = st->model;
    lh_err *err = lh_deferred_stream_send(st->run->reply, &lh_chat_chunk_schema, &chunk);
    if (!err)
        st->sink.sent++;
    return err;
}

void lh_chat_streamer_init(lh_chat_streamer *s, lh_chat_run *run)
{
    *s = (lh_chat_streamer){.sink = {.delta = lh_chat_stream_delta,
                                     .check = lh_chat_stream_check_run},
                            .run = run};
    s->sink.user = s;
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
lh_err *lh_chat_answer(lh_chat_run *run, const lh_chat_plan *plan, lh_chat_prompt *prompt,
                       lh_chat_complete_reply *rep)
{
    lh_chat_state *st = run->st;
    lh_chat_streamer *streamer = (lh_chat_streamer *)prompt->sink; /* its first member */
    lh_chat_attempt *failed = lh_arena_alloc(run->arena, plan->n * sizeof *failed);
    size_t n_failed = 0;
    bool grounded = false;
    lh_err *err = NULL;
    for (size_t i = 0; i < plan->n; i++) {
        lh_chat_provider *p = plan->provider[i];
        /* Passages are fetched once, when the first provider that uses them
         * comes up: a network model asked without `retrieve` gets none. */
        if (!grounded && (prompt->req->retrieve || p == st->extractive)) {
            lh_err_free(err);
            if ((err = lh_chat_ground(run, prompt->req, plan->deadline, prompt)))
                return err;
            grounded = true;
        }
        if (plan->deadline - lh_clock_ms() < LH_CHAT_MIN_ATTEMPT_MS)
            break; /* no time for another: the last failure stands */
        lh_err_free(err);
        prompt->model = plan->model[i];
        prompt->time_left_ms = lh_chat_left(plan->deadline);
        *rep = (lh_chat_complete_reply){0};
        lh_str full = lh_chat_full_name(run, p, plan->model[i]);
        if (streamer)
            streamer->model = full;
        uint64_t t0 = lh_clock_ns();
        err = p->complete(p, prompt, run->arena, rep);
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
            .error = {lh_arena_strndup(run->arena, why, strlen(why)), strlen(why)}};
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

