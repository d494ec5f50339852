/*
 * actor.c — the request path every endpoint shares.
 *
 * For each message: take or make the request id, convert JSON to msgpack
 * when the body is JSON, decode through the endpoint's request schema,
 * call the handler, encode its reply (or its error, with the ADR-32
 * headers) in the request's encoding, publish it, and account for it in
 * the endpoint's stats. Handlers see only decoded structs and never touch
 * the wire.
 */
#include "bus/actor_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "bus/clock.h"
#include "bus/error_body.h"
#include "bus/event_log.h"
#include "bus/json.h"
#include "bus/log.h"
#include "bus/request.h"
#include "bus/stream.h"

struct lh_ctx {
    lh_actor *actor;
    lh_arena *arena;
    const char *request_id;
    natsMsg *msg;
    lh_endpoint_rt *ep;
    bool as_json;
    bool deferred; /* lh_ctx_defer took the reply over */
    lh_stream *stream; /* lh_ctx_stream_begin opened one: the reply ends it */
    uint64_t t0;       /* when the request came (lh_clock_ns) */
};

/* A reply taken over by lh_ctx_defer: what sending it later needs. */
struct lh_deferred {
    lh_actor *actor;
    lh_endpoint_rt *ep;
    char *reply; /* the reply subject; NULL when the request wants no answer */
    char *rid;
    bool as_json;
    bool stream_wanted; /* the request carried Lh-Stream */
    lh_stream *stream;  /* lh_deferred_stream_begin opened one */
    uint64_t t0;        /* when the request came: its time is counted at the answer */
};

/* Whether a request asks for a streamed reply that can be given. */
static bool lh_stream_wanted(lh_actor *a, natsMsg *msg)
{
    const char *want = NULL, *reply = natsMsg_GetReply(msg);
    return a->hub && reply && *reply &&
           natsMsgHeader_Get(msg, LH_HDR_STREAM, &want) == NATS_OK && want;
}

/* One chunk, a struct of `schema`, in the request's encoding. */
static lh_err *lh_stream_send_struct(lh_stream *s, bool as_json, const lh_schema *schema,
                                     const void *chunk)
{
    lh_buf out, json;
    lh_buf_init(&out);
    lh_buf_init(&json);
    lh_message_encode(schema, chunk, &out);
    lh_err *err = as_json ? lh_msgpack_to_json(out.data, out.len, &json) : NULL;
    assert(!err); /* we encoded it ourselves */
    const lh_buf *body = as_json ? &json : &out;
    err = lh_stream_send(s, body->data, body->len);
    lh_buf_free(&out);
    lh_buf_free(&json);
    return err;
}

void lh_new_id(char out[23])
{
    static const char alphabet[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    unsigned char rnd[22];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        /* getrandom on Linux >= 3.17 does not fail for 22 bytes; keep going anyway */
        for (size_t i = 0; i < sizeof rnd; i++)
            rnd[i] = (unsigned char)rand();
    }
    for (int i = 0; i < 22; i++)
        out[i] = alphabet[rnd[i] % 62];
    out[22] = '\0';
}

/* ---- accessors ---- */

const lh_actor_def *lh_actor_def_of(const lh_actor *a) { return a->def; }
const char *lh_actor_id(const lh_actor *a) { return a->id; }
const lh_config *lh_actor_config(const lh_actor *a) { return &a->config; }
lh_conn *lh_actor_conn(const lh_actor *a) { return a->conn; }
void *lh_actor_state(const lh_actor *a) { return a->state; }
void *lh_ctx_state(lh_ctx *ctx) { return ctx->actor->state; }
lh_actor *lh_ctx_actor(lh_ctx *ctx) { return ctx->actor; }
const char *lh_ctx_request_id(lh_ctx *ctx) { return ctx->request_id; }
void *lh_ctx_alloc(lh_ctx *ctx, size_t n) { return lh_arena_alloc(ctx->arena, n); }
lh_arena *lh_ctx_arena(lh_ctx *ctx) { return ctx->arena; }

/* ---- replies ---- */

/* Publishes the msgpack reply in `out` on `reply` in the request's
 * encoding (`json` is scratch space for the JSON form). `subject` names
 * the endpoint in the log. */
static void lh_publish_reply(lh_conn *conn, const char *reply, const char *subject,
                             const char *rid, const lh_err *err, lh_buf *out, lh_buf *json,
                             bool as_json, lh_stream *stream)
{
    if (!reply || !*reply)
        return; /* a publish without a reply subject wants no answer */
    const lh_buf *body = out;
    if (as_json) {
        lh_buf_reset(json);
        lh_err *jerr = lh_msgpack_to_json(out->data, out->len, json);
        assert(!jerr); /* we encoded it ourselves */
        lh_err_free(jerr);
        body = json;
    }
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, reply, NULL, body->data, (int)body->len);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, LH_HDR_REQUEST_ID, rid);
    if (s == NATS_OK && err) {
        char code[16];
        snprintf(code, sizeof code, "%d", lh_err_code(err));
        s = natsMsgHeader_Set(m, LH_HDR_ERROR_CODE, code);
        if (s == NATS_OK)
            s = natsMsgHeader_Set(m, LH_HDR_ERROR, lh_err_message(err));
    }
    if (stream) { /* the stream's last message; closed whatever happens */
        natsStatus es = lh_stream_end(stream, m);
        s = s == NATS_OK ? es : s;
    }
    if (s == NATS_OK)
        s = natsConnection_PublishMsg(lh_conn_nats(conn), m);
    natsMsg_Destroy(m);
    if (s == NATS_MAX_PAYLOAD && !err) {
        /* Tell the caller now rather than let it wait for its deadline. */
        lh_err *big = lh_err_new(LH_ETOOLARGE, NULL,
                                 "the reply (%zu bytes) exceeds the bus's message limit; ask "
                                 "for less (fewer items, smaller k)", body->len);
        lh_buf_reset(out);
        lh_error_body_encode(big, out);
        /* the stream is closed: this comes whole, which ends it as well */
        lh_publish_reply(conn, reply, subject, rid, big, out, json, as_json, NULL);
        lh_err_free(big);
        return;
    }
    if (s != NATS_OK)
        lh_warn("reply to %s not sent: %s", subject, natsStatus_GetText(s));
}

static void lh_send_reply(lh_worker *w, lh_ctx *ctx, const lh_err *err)
{
    lh_publish_reply(w->actor->conn, natsMsg_GetReply(ctx->msg), natsMsg_GetSubject(ctx->msg),
                     ctx->request_id, err, &w->out, &w->json, ctx->as_json, ctx->stream);
    ctx->stream = NULL;
}

static void lh_record_error(lh_endpoint_rt *ep, const lh_err *err)
{
    atomic_fetch_add(&ep->num_errors, 1);
    pthread_mutex_lock(&ep->mu);
    snprintf(ep->last_error, sizeof ep->last_error, "%d: %s", lh_err_code(err),
             lh_err_message(err));
    pthread_mutex_unlock(&ep->mu);
}

/* Decodes, handles and encodes; the reply (or error body) ends in w->out. */
static lh_err *lh_serve(lh_worker *w, natsMsg *msg, lh_ctx *ctx, bool as_json)
{
    const lh_endpoint_def *def = w->ep->def;
    const char *data = natsMsg_GetData(msg);
    size_t len = (size_t)natsMsg_GetDataLength(msg);
    if (as_json) {
        lh_buf_reset(&w->body);
        lh_err *err = lh_json_to_msgpack(data, len, &w->body);
        if (err)
            return err;
        data = w->body.data;
        len = w->body.len;
    }
    void *req = NULL;
    lh_err *err = lh_schema_decode(def->contract->request, data, len, w->arena, &req);
    if (err)
        return err;
    const lh_schema *reply_schema = def->contract->reply;
    void *reply = lh_arena_alloc(w->arena, reply_schema->size);
    err = def->handler(ctx, req, reply);
    assert(!(err && ctx->deferred)); /* a deferred reply is answered through its handle */
    if (err || ctx->deferred)
        return err;
    lh_buf_reset(&w->out);
    lh_message_encode(reply_schema, reply, &w->out);
    return NULL;
}

static void lh_on_request(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    lh_worker *w = closure;
    uint64_t t0 = lh_clock_ns();
    const char *rid = NULL;
    char fresh[23];
    if (natsMsgHeader_Get(msg, LH_HDR_REQUEST_ID, &rid) != NATS_OK || !rid || !*rid) {
        lh_new_id(fresh);
        rid = fresh;
    }
    lh_log_set_actor(w->actor->def->name);
    lh_log_set_request_id(rid);
    bool as_json = lh_is_json(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg));
    lh_ctx ctx = {w->actor, w->arena, rid, msg, w->ep, as_json, false, NULL, t0};
    lh_err *err = lh_serve(w, msg, &ctx, as_json);
    const char *subject = w->ep->def->contract->subject;
    if (err) {
        lh_buf_reset(&w->out);
        lh_error_body_encode(err, &w->out);
        if (lh_err_code(err) >= 500)
            lh_warn("%s failed: %d %s", subject, lh_err_code(err), lh_err_message(err));
        else
            lh_debug("%s refused: %d %s", subject, lh_err_code(err),
                     lh_err_message(err));
    }
    /* Counted before the reply leaves, so a caller that has its reply
     * always finds it in $SRV.STATS. */
    atomic_fetch_add(&w->ep->num_requests, 1);
    if (err)
        lh_record_error(w->ep, err);
    if (!ctx.deferred) /* a deferred one is counted when it is answered */
        atomic_fetch_add(&w->ep->processing_ns, lh_clock_ns() - t0);
    assert(!(ctx.deferred && ctx.stream));
    if (!ctx.deferred)
        lh_send_reply(w, &ctx, err);
    lh_err_free(err);
    lh_arena_reset(w->arena);
    lh_log_set_request_id(NULL);
    natsMsg_Destroy(msg);
}

/* ---- deferred replies ---- */

lh_deferred *lh_ctx_defer(lh_ctx *ctx)
{
    assert(!ctx->deferred);
    lh_deferred *d = calloc(1, sizeof *d);
    const char *reply = natsMsg_GetReply(ctx->msg);
    if (d) {
        d->rid = strdup(ctx->request_id);
        d->reply = reply && *reply ? strdup(reply) : NULL;
    }
    if (!d || !d->rid || (reply && *reply && !d->reply))
        abort(); /* out of memory: as lh_buf does, we do not limp on */
    d->actor = ctx->actor;
    d->ep = ctx->ep;
    d->as_json = ctx->as_json;
    d->stream_wanted = lh_stream_wanted(ctx->actor, ctx->msg);
    d->t0 = ctx->t0;
    ctx->deferred = true;
    return d;
}

bool lh_deferred_stream_begin(lh_deferred *d)
{
    if (!d->stream && d->stream_wanted)
        d->stream = lh_stream_open(d->actor->hub, d->reply, d->rid);
    return d->stream != NULL;
}

lh_err *lh_deferred_stream_send(lh_deferred *d, const lh_schema *schema, const void *chunk)
{
    assert(d->stream);
    return lh_stream_send_struct(d->stream, d->as_json, schema, chunk);
}

lh_err *lh_deferred_stream_keepalive(lh_deferred *d)
{
    assert(d->stream);
    return lh_stream_keepalive(d->stream);
}

bool lh_deferred_stream_cancelled(const lh_deferred *d)
{
    return d->stream && lh_stream_cancelled(d->stream);
}

static void lh_deferred_send(lh_deferred *d, const lh_err *err, lh_buf *out)
{
    lh_buf json;
    lh_buf_init(&json);
    atomic_fetch_add(&d->ep->processing_ns, lh_clock_ns() - d->t0);
    lh_publish_reply(d->actor->conn, d->reply, d->ep->def->contract->subject, d->rid, err, out,
                     &json, d->as_json, d->stream);
    lh_buf_free(&json);
    free(d->reply);
    free(d->rid);
    free(d);
}

void lh_deferred_reply(lh_deferred *d, const void *reply)
{
    lh_buf out;
    lh_buf_init(&out);
    lh_message_encode(d->ep->def->contract->reply, reply, &out);
    lh_deferred_send(d, NULL, &out);
    lh_buf_free(&out);
}

void lh_deferred_fail(lh_deferred *d, const lh_err *err)
{
    assert(err);
    lh_buf out;
    lh_buf_init(&out);
    lh_error_body_encode(err, &out);
    if (lh_err_code(err) != LH_ECANCELED) /* a requester that left is not a failure */
        lh_record_error(d->ep, err);
    lh_deferred_send(d, err, &out);
    lh_buf_free(&out);
}

/* ---- streamed replies (bus/stream.h) ---- */

bool lh_ctx_stream_begin(lh_ctx *ctx)
{
    assert(!ctx->deferred);
    if (!ctx->stream && lh_stream_wanted(ctx->actor, ctx->msg))
        ctx->stream = lh_stream_open(ctx->actor->hub, natsMsg_GetReply(ctx->msg),
                                     ctx->request_id);
    return ctx->stream != NULL;
}

lh_err *lh_ctx_stream_send(lh_ctx *ctx, const lh_schema *schema, const void *chunk)
{
    assert(ctx->stream);
    return lh_stream_send_struct(ctx->stream, ctx->as_json, schema, chunk);
}

bool lh_ctx_stream_cancelled(lh_ctx *ctx) { return ctx->stream && lh_stream_cancelled(ctx->stream); }

lh_err *lh_ctx_stream_keepalive(lh_ctx *ctx)
{
    assert(ctx->stream);
    return lh_stream_keepalive(ctx->stream);
}

/* ---- lifecycle ---- */

static lh_err *lh_subscribe_endpoints(lh_actor *a)
{
    natsConnection *nc = lh_conn_nats(a->conn);
    size_t n = a->def->n_endpoints;
    for (size_t e = 0; e < n; e++) {
        for (int k = 0; k < a->workers; k++) {
            lh_worker *w = &a->wk[e * (size_t)a->workers + (size_t)k];
            w->actor = a;
            w->ep = &a->eps[e];
            w->arena = lh_arena_create();
            const char *subject = a->eps[e].def->contract->subject;
            natsStatus s =
                natsConnection_QueueSubscribe(&w->sub, nc, subject, "q", lh_on_request, w);
            if (s == NATS_OK)
                s = natsSubscription_SetPendingLimits(w->sub, 65536, 256 * 1024 * 1024);
            if (s != NATS_OK)
                return lh_err_from_nats(s, subject);
        }
    }
    return NULL;
}

static lh_actor *lh_actor_alloc(const lh_actor_def *def, const lh_actor_opts *opts)
{
    lh_actor *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->def = def;
    a->config = *opts->config;
    a->workers = opts->workers > 0 ? opts->workers : 1;
    lh_new_id(a->id);
    lh_clock_rfc3339(a->started, sizeof a->started, 9);
    size_t n = def->n_endpoints;
    a->eps = calloc(n ? n : 1, sizeof *a->eps);
    a->wk = calloc(n ? n * (size_t)a->workers : 1, sizeof *a->wk);
    for (size_t e = 0; a->eps && e < n; e++) {
        assert(def->endpoints[e].contract && def->endpoints[e].handler);
        assert(!strcmp(def->endpoints[e].contract->service, def->name));
        a->eps[e].def = &def->endpoints[e];
        pthread_mutex_init(&a->eps[e].mu, NULL);
    }
    if (!a->eps || !a->wk) {
        free(a->eps);
        free(a->wk);
        free(a);
        return NULL;
    }
    return a;
}

lh_err *lh_actor_create(const lh_actor_def *def, const lh_actor_opts *opts, lh_actor **out)
{
    lh_actor *a = lh_actor_alloc(def, opts);
    if (!a)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    lh_log_set_actor(def->name); /* start-up lines name the actor */
    lh_conn_opts co = {.url = a->config.nats_url, .name = def->name, .wait_for_server = true};
    lh_err *err = lh_conn_create(&co, &a->conn);
    /* before init: an actor may tell the log as it starts; with LH_EVENTS=off
     * there is no log, and every event is nothing (lh_event_emit) */
    if (!err && def->n_endpoints && a->config.events)
        err = lh_event_log_create(a->conn, &a->events);
    if (!err && def->init) {
        err = def->init(a, &a->state);
        a->initialised = !err;
    }
    if (!err && def->n_endpoints) /* before any request can look for it */
        err = lh_stream_hub_create(lh_conn_nats(a->conn), a->id, &a->hub);
    if (!err)
        err = lh_subscribe_endpoints(a);
    if (!err)
        err = lh_discovery_subscribe(a);
    if (!err && def->start)
        err = def->start(a, a->state);
    /* Make sure the server has our subscriptions before we say we are up,
     * so a request sent right after start finds us. Not yet connected
     * (the bus is down) is fine: they are sent on connect. */
    if (!err)
        natsConnection_Flush(lh_conn_nats(a->conn));
    if (err) {
        lh_actor_destroy(a);
        return lh_err_wrap(err, "start %s", def->name);
    }
    lh_info("%s %s started (id %s, %zu endpoint%s x %d worker%s)", def->name, def->version, a->id,
            def->n_endpoints, def->n_endpoints == 1 ? "" : "s", a->workers,
            a->workers == 1 ? "" : "s");
    *out = a;
    return NULL;
}

/* Lets every worker finish what it already received, taking nothing new. */
static void lh_drain_endpoints(lh_actor *a)
{
    size_t n = a->def->n_endpoints * (size_t)a->workers;
    for (size_t i = 0; i < n; i++)
        if (a->wk[i].sub)
            natsSubscription_Drain(a->wk[i].sub);
    for (size_t i = 0; i < n; i++)
        if (a->wk[i].sub)
            natsSubscription_WaitForDrainCompletion(a->wk[i].sub, 30000);
}

void lh_actor_destroy(lh_actor *a)
{
    if (!a)
        return;
    if (a->initialised && a->def->stop)
        a->def->stop(a, a->state);
    if (a->conn) {
        lh_drain_endpoints(a);
        lh_stream_hub_destroy(a->hub); /* no handler runs, so no stream is open */
        a->hub = NULL;
        lh_event_log_stop(a->events, LH_EVENT_LOG_FLUSH_MS); /* what is queued, out */
        lh_conn_drain(a->conn, 30000);
    }
    lh_stream_hub_destroy(a->hub);
    lh_event_log_stop(a->events, 0); /* not connected: nothing can go out */
    lh_discovery_unsubscribe(a);
    size_t n = a->def->n_endpoints * (size_t)a->workers;
    for (size_t i = 0; i < n; i++) {
        natsSubscription_Destroy(a->wk[i].sub);
        lh_arena_destroy(a->wk[i].arena);
        lh_buf_free(&a->wk[i].body);
        lh_buf_free(&a->wk[i].out);
        lh_buf_free(&a->wk[i].json);
    }
    if (a->initialised && a->def->fini)
        a->def->fini(a->state);
    lh_conn_destroy(a->conn);
    /* Only now: until the connection is gone, $SRV.STATS may read its counts. */
    lh_event_log_destroy(a->events);
    for (size_t e = 0; e < a->def->n_endpoints; e++)
        pthread_mutex_destroy(&a->eps[e].mu);
    lh_info("%s stopped", a->def->name);
    free(a->eps);
    free(a->wk);
    free(a);
}
