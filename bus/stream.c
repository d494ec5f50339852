/*
 * stream.c — the streaming protocol of stream.h: reading its headers, the
 * responder's streams and their cancellation, and the synchronous
 * requester.
 *
 * Cancellation comes back on a subject the responder names, not on one
 * the requester makes up, so a responder only ever subscribes under its
 * own instance id: one wildcard subscription per actor, `_LH_STREAM.<id>.*`,
 * whose last token is the stream's number in the hub's list.
 */
#include "bus/stream.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/log.h"
#include "bus/request.h"

/* ---- reading ---- */

lh_stream_kind lh_stream_kind_of(natsMsg *msg, uint64_t *seq)
{
    const char *v = NULL;
    if (natsMsgHeader_Get(msg, LH_HDR_STREAM_KEEPALIVE, &v) == NATS_OK && v)
        return LH_STREAM_KEEPALIVE;
    if (natsMsgHeader_Get(msg, LH_HDR_STREAM_SEQ, &v) != NATS_OK || !v)
        return LH_STREAM_WHOLE;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (end == v || *end || errno)
        return LH_STREAM_BAD;
    *seq = n;
    const char *last = NULL;
    if (natsMsgHeader_Get(msg, LH_HDR_STREAM_END, &last) == NATS_OK && last)
        return LH_STREAM_END;
    return n == 0 ? LH_STREAM_OPEN : LH_STREAM_CHUNK;
}

void lh_stream_control_of(natsMsg *msg, char out[LH_STREAM_SUBJECT_MAX])
{
    const char *v = NULL;
    out[0] = '\0';
    if (natsMsgHeader_Get(msg, LH_HDR_STREAM_CONTROL, &v) == NATS_OK && v &&
        strlen(v) < LH_STREAM_SUBJECT_MAX)
        snprintf(out, LH_STREAM_SUBJECT_MAX, "%s", v);
}

void lh_stream_cancel_publish(natsConnection *nc, const char *control)
{
    if (control && *control)
        natsConnection_Publish(nc, control, "", 0); /* best effort: the deadline bounds the rest */
}

/* ---- the responder ---- */

struct lh_stream {
    lh_stream_hub *hub;
    uint64_t number;  /* the last token of its control subject */
    uint64_t seq;     /* of the next message */
    atomic_bool cancelled;
    char *reply;
    char *rid;
    lh_stream *next;  /* the hub's list of open streams */
};

struct lh_stream_hub {
    natsConnection *nc;
    natsSubscription *sub;
    char prefix[64]; /* "_LH_STREAM.<id>." */
    pthread_mutex_t mu;
    pthread_cond_t done_cv;
    bool sub_done; /* the subscription delivers no more */
    uint64_t next_number;
    lh_stream *open;
};

static void lh_stream_on_control(natsConnection *nc, natsSubscription *sub, natsMsg *msg,
                                 void *closure)
{
    (void)nc;
    (void)sub;
    lh_stream_hub *h = closure;
    const char *subject = natsMsg_GetSubject(msg);
    size_t plen = strlen(h->prefix);
    char *end = NULL;
    uint64_t number = 0;
    if (subject && !strncmp(subject, h->prefix, plen))
        number = strtoull(subject + plen, &end, 10);
    pthread_mutex_lock(&h->mu);
    for (lh_stream *s = h->open; end && !*end && s; s = s->next)
        if (s->number == number)
            atomic_store(&s->cancelled, true);
    pthread_mutex_unlock(&h->mu);
    natsMsg_Destroy(msg);
}

static void lh_stream_on_sub_done(void *closure)
{
    lh_stream_hub *h = closure;
    pthread_mutex_lock(&h->mu);
    h->sub_done = true;
    pthread_cond_broadcast(&h->done_cv);
    pthread_mutex_unlock(&h->mu);
}

lh_err *lh_stream_hub_create(natsConnection *nc, const char *instance_id, lh_stream_hub **out)
{
    lh_stream_hub *h = calloc(1, sizeof *h);
    if (!h)
        abort(); /* out of memory: as lh_buf does, we do not limp on */
    h->nc = nc;
    h->next_number = 1;
    snprintf(h->prefix, sizeof h->prefix, "%s.%s.", LH_STREAM_CONTROL_PREFIX, instance_id);
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->done_cv, NULL);
    char wildcard[80];
    snprintf(wildcard, sizeof wildcard, "%s*", h->prefix);
    natsStatus s = natsConnection_Subscribe(&h->sub, nc, wildcard, lh_stream_on_control, h);
    if (s == NATS_OK)
        s = natsSubscription_SetOnCompleteCB(h->sub, lh_stream_on_sub_done, h);
    if (s != NATS_OK) {
        natsSubscription_Destroy(h->sub);
        pthread_cond_destroy(&h->done_cv);
        pthread_mutex_destroy(&h->mu);
        free(h);
        return lh_err_from_nats(s, "subscribe to the stream control subject");
    }
    *out = h;
    return NULL;
}

void lh_stream_hub_destroy(lh_stream_hub *h)
{
    if (!h)
        return;
    assert(!h->open);
    /* No control callback may run once the hub is freed: wait until the
     * subscription says it delivers no more (as the mux's inbox does). */
    natsSubscription_Unsubscribe(h->sub); /* fails harmlessly on a closed connection */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&h->mu);
    while (!h->sub_done && pthread_cond_timedwait(&h->done_cv, &h->mu, &until) == 0) {
    }
    bool done = h->sub_done;
    pthread_mutex_unlock(&h->mu);
    if (!done) { /* a callback is stuck: leaking beats freeing under it */
        lh_warn("the stream control subscription %s* did not finish", h->prefix);
        return;
    }
    natsSubscription_Destroy(h->sub);
    pthread_cond_destroy(&h->done_cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

static natsStatus lh_stream_seq_header(natsMsg *m, uint64_t seq)
{
    char v[24];
    snprintf(v, sizeof v, "%" PRIu64, seq);
    return natsMsgHeader_Set(m, LH_HDR_STREAM_SEQ, v);
}

/* A message of the stream with its request id and sequence number. */
static natsStatus lh_stream_message(lh_stream *s, const char *data, size_t len, natsMsg **out)
{
    natsStatus st = natsMsg_Create(out, s->reply, NULL, data, (int)len);
    if (st == NATS_OK)
        st = natsMsgHeader_Set(*out, LH_HDR_REQUEST_ID, s->rid);
    if (st == NATS_OK)
        st = lh_stream_seq_header(*out, s->seq);
    return st;
}

static void lh_stream_close(lh_stream *s)
{
    lh_stream_hub *h = s->hub;
    pthread_mutex_lock(&h->mu);
    lh_stream **link = &h->open;
    while (*link != s)
        link = &(*link)->next;
    *link = s->next;
    pthread_mutex_unlock(&h->mu);
    free(s->reply);
    free(s->rid);
    free(s);
}

lh_stream *lh_stream_open(lh_stream_hub *h, const char *reply, const char *rid)
{
    assert(h && reply && *reply);
    lh_stream *s = calloc(1, sizeof *s);
    if (!s || !(s->reply = strdup(reply)) || !(s->rid = strdup(rid ? rid : "")))
        abort();
    s->hub = h;
    pthread_mutex_lock(&h->mu);
    s->number = h->next_number++;
    s->next = h->open;
    h->open = s;
    pthread_mutex_unlock(&h->mu);
    char control[LH_STREAM_SUBJECT_MAX];
    snprintf(control, sizeof control, "%s%" PRIu64, h->prefix, s->number);
    natsMsg *m = NULL;
    natsStatus st = lh_stream_message(s, NULL, 0, &m);
    if (st == NATS_OK)
        st = natsMsgHeader_Set(m, LH_HDR_STREAM_CONTROL, control);
    if (st == NATS_OK)
        st = natsConnection_PublishMsg(h->nc, m);
    natsMsg_Destroy(m);
    if (st != NATS_OK) {
        lh_warn("cannot open a stream to %s: %s", reply, natsStatus_GetText(st));
        lh_stream_close(s);
        return NULL;
    }
    s->seq = 1;
    return s;
}

bool lh_stream_cancelled(const lh_stream *s) { return atomic_load(&s->cancelled); }

lh_err *lh_stream_send(lh_stream *s, const char *data, size_t len)
{
    if (lh_stream_cancelled(s))
        return lh_err_new(LH_ECANCELED, NULL, "the requester cancelled the stream");
    natsMsg *m = NULL;
    natsStatus st = lh_stream_message(s, data, len, &m);
    if (st == NATS_OK)
        st = natsConnection_PublishMsg(s->hub->nc, m);
    natsMsg_Destroy(m);
    if (st != NATS_OK)
        return lh_err_from_nats(st, "send a chunk of the stream");
    s->seq++;
    return NULL;
}

lh_err *lh_stream_keepalive(lh_stream *s)
{
    if (lh_stream_cancelled(s))
        return lh_err_new(LH_ECANCELED, NULL, "the requester cancelled the stream");
    natsMsg *m = NULL;
    natsStatus st = natsMsg_Create(&m, s->reply, NULL, NULL, 0);
    if (st == NATS_OK)
        st = natsMsgHeader_Set(m, LH_HDR_STREAM_KEEPALIVE, "1");
    if (st == NATS_OK)
        st = natsConnection_PublishMsg(s->hub->nc, m);
    natsMsg_Destroy(m);
    return st == NATS_OK ? NULL : lh_err_from_nats(st, "keep the stream alive");
}

natsStatus lh_stream_end(lh_stream *s, natsMsg *msg)
{
    natsStatus st = lh_stream_seq_header(msg, s->seq);
    if (st == NATS_OK)
        st = natsMsgHeader_Set(msg, LH_HDR_STREAM_END, "1");
    lh_stream_close(s);
    return st;
}

/* ---- the synchronous requester ---- */

typedef struct lh_stream_call {
    const lh_contract *k;
    const lh_schema *chunk_schema;
    lh_stream_chunk_fn on_chunk;
    void *user;
    uint64_t expect; /* the next sequence number */
    char control[LH_STREAM_SUBJECT_MAX];
    lh_arena *scratch; /* one chunk at a time */
} lh_stream_call;

static lh_err *lh_stream_publish(lh_conn *c, const lh_contract *k, const void *req,
                                 const char *inbox)
{
    lh_buf body;
    lh_buf_init(&body);
    lh_message_encode_given(k->request, req, &body);
    natsMsg *m = NULL;
    const char *rid = lh_log_request_id();
    natsStatus s = natsMsg_Create(&m, k->subject, inbox, body.data, (int)body.len);
    if (s == NATS_OK && rid && *rid)
        s = natsMsgHeader_Set(m, LH_HDR_REQUEST_ID, rid);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, LH_HDR_STREAM, "1");
    if (s == NATS_OK)
        s = natsConnection_PublishMsg(lh_conn_nats(c), m);
    natsMsg_Destroy(m);
    lh_buf_free(&body);
    return s == NATS_OK ? NULL : lh_err_from_nats(s, k->subject);
}

/* One message of the reply: NULL to go on; *done when it was the outcome. */
static lh_err *lh_stream_take(lh_stream_call *sc, natsMsg *msg, lh_arena *arena, void **reply,
                              bool *done)
{
    const char *subject = sc->k->subject;
    if (natsMsg_IsNoResponders(msg))
        return lh_err_new(LH_EUNAVAILABLE, NULL, "no actor is serving %s", subject);
    uint64_t seq = 0;
    lh_stream_kind kind = lh_stream_kind_of(msg, &seq);
    if (kind == LH_STREAM_KEEPALIVE)
        return NULL; /* its arrival renewed the wait: nothing else to do */
    if (kind == LH_STREAM_BAD || (kind != LH_STREAM_WHOLE && seq != sc->expect))
        return lh_err_new(LH_EINTERNAL, NULL, "the stream from %s lost message %" PRIu64,
                          subject, sc->expect);
    sc->expect++;
    const char *data = natsMsg_GetData(msg);
    size_t len = (size_t)natsMsg_GetDataLength(msg);
    if (kind == LH_STREAM_WHOLE || kind == LH_STREAM_END) {
        *done = true;
        lh_err *err = lh_reply_error(msg, subject);
        return err ? lh_err_wrap(err, "%s", subject) : lh_reply_decode(sc->k, data, len, arena, reply);
    }
    if (kind == LH_STREAM_OPEN) {
        lh_stream_control_of(msg, sc->control);
        return NULL;
    }
    void *chunk = NULL;
    lh_arena_reset(sc->scratch);
    lh_err *err = lh_schema_decode_reply(sc->chunk_schema, data, len, sc->scratch, &chunk);
    if (err)
        return lh_err_wrap_as(err, LH_EINTERNAL, "%s sent an unreadable chunk", subject);
    if (!sc->on_chunk(sc->user, chunk))
        return lh_err_new(LH_ECANCELED, NULL, "the stream from %s was cancelled", subject);
    return NULL;
}

lh_err *lh_call_stream(lh_conn *c, const lh_contract *k, const void *req,
                       const lh_schema *chunk_schema, lh_stream_chunk_fn on_chunk, void *user,
                       lh_arena *arena, void **reply, int idle_ms)
{
    natsConnection *nc = lh_conn_nats(c);
    natsInbox *inbox = NULL;
    natsSubscription *sub = NULL;
    natsStatus s = natsInbox_Create(&inbox);
    if (s == NATS_OK)
        s = natsConnection_SubscribeSync(&sub, nc, inbox);
    if (s != NATS_OK) {
        natsInbox_Destroy(inbox);
        return lh_err_from_nats(s, "subscribe to a reply inbox");
    }
    natsSubscription_SetPendingLimits(sub, -1, -1); /* a fast stream must not be cut */
    lh_stream_call sc = {.k = k, .chunk_schema = chunk_schema, .on_chunk = on_chunk,
                         .user = user, .scratch = lh_arena_create()};
    lh_err *err = lh_stream_publish(c, k, req, inbox);
    for (bool done = false; !err && !done;) {
        natsMsg *msg = NULL;
        s = natsSubscription_NextMsg(&msg, sub, idle_ms);
        if (s == NATS_TIMEOUT)
            err = lh_err_new(LH_ETIMEOUT, NULL, "no word from %s within %d ms", k->subject,
                             idle_ms);
        else if (s != NATS_OK)
            err = lh_err_from_nats(s, k->subject);
        else
            err = lh_stream_take(&sc, msg, arena, reply, &done);
        natsMsg_Destroy(msg);
        if (err && !done) /* we stop listening: the responder should stop too */
            lh_stream_cancel_publish(nc, sc.control);
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    natsInbox_Destroy(inbox);
    lh_arena_destroy(sc.scratch);
    return err;
}
