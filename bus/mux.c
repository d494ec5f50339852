/*
 * mux.c — many requests in flight on one wildcard reply inbox.
 *
 * One subscription `_LH_INBOX.<id>.*` receives every reply; the last token
 * of the reply subject is the request's sequence number, the key of a
 * chained hash table of pending requests. The same pending records are
 * also kept on a list in deadline order, watched by one timer thread that
 * sleeps on a condition variable until the earliest deadline. A request is
 * completed by whoever unlinks it under the mutex — the reply, the timer or
 * lh_mux_destroy — so it is completed exactly once; callbacks always run
 * outside the mutex. Records are recycled through a free list, so the
 * steady state allocates nothing here (nats.c still allocates its message).
 */
#include "bus/mux.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/actor.h"
#include "bus/clock.h"
#include "bus/log.h"
#include "bus/request.h"
#include "bus/stream.h"

#define LH_MUX_PREFIX "_LH_INBOX"
/* Subjects are kept for error messages only; longer ones are truncated. */
#define LH_MUX_SUBJECT_MAX 256
#define LH_MUX_MIN_BUCKETS 256
/* With nothing pending the timer still wakes this often, so that it is
 * already armed when the next request comes and need not be signalled. */
#define LH_MUX_IDLE_WAKE_NS ((int64_t)1000000000)
/* How long destroy waits for the inbox's delivery thread to finish. */
#define LH_MUX_SUB_DONE_WAIT_MS 5000

typedef struct lh_mux_req {
    uint64_t seq;
    int64_t deadline_ns;
    int timeout_ms;
    lh_mux_cb cb;
    void *user;
    /* Streamed requests (lh_mux_stream) only. */
    lh_mux_chunk_cb on_chunk;             /* NULL: one reply ends the request */
    uint64_t stream_next;                 /* the sequence number expected next */
    bool delivering;                      /* on_chunk runs: nobody else may complete it */
    bool cancel_after;                    /* cancelled while delivering: complete after */
    bool cancelled;                       /* completed, kept only to learn its control subject */
    char control[LH_STREAM_SUBJECT_MAX];
    struct lh_mux_req *hnext;             /* hash chain, or free list */
    struct lh_mux_req *dprev, *dnext;     /* deadline order */
    char subject[LH_MUX_SUBJECT_MAX];
} lh_mux_req;

struct lh_mux {
    natsConnection *nc;
    natsSubscription *sub;
    char inbox[64]; /* "_LH_INBOX.<id>." */
    size_t inbox_len;

    pthread_mutex_t mu;
    pthread_cond_t timer_cv; /* CLOCK_MONOTONIC: the earliest deadline moved or stop */
    pthread_cond_t sub_cv;   /* the inbox subscription finished delivering */
    pthread_t timer;
    bool stopping;
    bool sub_done;
    /* When the timer will wake next (0 until it first runs, when it looks
     * at the list anyway). A request due later needs no signal: with one
     * timeout for all, requests never wake the timer thread. */
    int64_t armed_ns;

    uint64_t next_seq;
    lh_mux_req **buckets;
    size_t n_buckets; /* a power of two */
    size_t n_pending;
    lh_mux_req *dhead, *dtail;
    lh_mux_req *free_list;
};

static void *lh_mux_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) {
        fprintf(stderr, "lakehouse: out of memory (%zu bytes)\n", n * size);
        abort();
    }
    return p;
}

/* ---- pending table (caller holds mu) ---- */

/* Sequence numbers are consecutive, so the low bits spread them evenly. */
static size_t lh_mux_bucket(const lh_mux *m, uint64_t seq) { return seq & (m->n_buckets - 1); }

static void lh_mux_grow(lh_mux *m)
{
    size_t n = m->n_buckets * 2;
    lh_mux_req **buckets = lh_mux_xcalloc(n, sizeof *buckets);
    for (size_t i = 0; i < m->n_buckets; i++) {
        for (lh_mux_req *r = m->buckets[i], *next; r; r = next) {
            next = r->hnext;
            r->hnext = buckets[r->seq & (n - 1)];
            buckets[r->seq & (n - 1)] = r;
        }
    }
    free(m->buckets);
    m->buckets = buckets;
    m->n_buckets = n;
}

/* Inserts in deadline order. Requests with one timeout arrive in deadline
 * order already, so the scan from the tail stops at once. */
static void lh_mux_deadline_insert(lh_mux *m, lh_mux_req *r)
{
    lh_mux_req *after = m->dtail;
    while (after && after->deadline_ns > r->deadline_ns)
        after = after->dprev;
    r->dprev = after;
    r->dnext = after ? after->dnext : m->dhead;
    if (r->dnext)
        r->dnext->dprev = r;
    else
        m->dtail = r;
    if (after)
        after->dnext = r;
    else
        m->dhead = r;
}

static void lh_mux_deadline_unlink(lh_mux *m, lh_mux_req *r)
{
    if (r->dprev)
        r->dprev->dnext = r->dnext;
    else
        m->dhead = r->dnext;
    if (r->dnext)
        r->dnext->dprev = r->dprev;
    else
        m->dtail = r->dprev;
    r->dprev = r->dnext = NULL;
}

static void lh_mux_insert(lh_mux *m, lh_mux_req *r)
{
    if (m->n_pending >= m->n_buckets)
        lh_mux_grow(m);
    size_t b = lh_mux_bucket(m, r->seq);
    r->hnext = m->buckets[b];
    m->buckets[b] = r;
    m->n_pending++;
    lh_mux_deadline_insert(m, r);
}

/* Unlinks the pending request `seq`; NULL when it was already completed. */
static lh_mux_req *lh_mux_take(lh_mux *m, uint64_t seq)
{
    lh_mux_req **link = &m->buckets[lh_mux_bucket(m, seq)];
    while (*link && (*link)->seq != seq)
        link = &(*link)->hnext;
    lh_mux_req *r = *link;
    if (!r)
        return NULL;
    *link = r->hnext;
    r->hnext = NULL;
    lh_mux_deadline_unlink(m, r);
    assert(m->n_pending > 0);
    m->n_pending--;
    return r;
}

/* The pending request `seq`, left in place; NULL when there is none. */
static lh_mux_req *lh_mux_find(lh_mux *m, uint64_t seq)
{
    lh_mux_req *r = m->buckets[lh_mux_bucket(m, seq)];
    while (r && r->seq != seq)
        r = r->hnext;
    return r;
}

/* A streamed request heard from: its deadline starts again. */
static void lh_mux_renew(lh_mux *m, lh_mux_req *r)
{
    lh_mux_deadline_unlink(m, r);
    r->deadline_ns = lh_clock_ns() + (int64_t)(r->timeout_ms > 0 ? r->timeout_ms : 1) * 1000000;
    lh_mux_deadline_insert(m, r);
}

static lh_mux_req *lh_mux_alloc_req(lh_mux *m)
{
    lh_mux_req *r = m->free_list;
    if (r) {
        m->free_list = r->hnext;
        memset(r, 0, sizeof *r);
        return r;
    }
    return lh_mux_xcalloc(1, sizeof *r);
}

static void lh_mux_free_req(lh_mux *m, lh_mux_req *r)
{
    r->hnext = m->free_list;
    m->free_list = r;
}

/* ---- completion ---- */

static void lh_mux_fail(lh_mux_req *r, lh_err *err)
{
    r->cb(r->user, err, NULL);
    lh_err_free(err);
}

/* The error a reply stands for: no responders (503), an ADR-32 error reply
 * (the callee's code), or NULL for success. */
static lh_err *lh_mux_reply_error(natsMsg *msg, const char *subject)
{
    if (natsMsg_IsNoResponders(msg))
        return lh_err_new(LH_EUNAVAILABLE, NULL, "no actor is serving %s", subject);
    return lh_reply_error(msg, subject);
}

static bool lh_mux_parse_seq(const lh_mux *m, const char *subject, uint64_t *seq)
{
    if (!subject || strncmp(subject, m->inbox, m->inbox_len))
        return false;
    const char *digits = subject + m->inbox_len;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(digits, &end, 10);
    if (end == digits || *end || errno)
        return false;
    *seq = v;
    return true;
}

static bool lh_mux_on_stream(lh_mux *m, uint64_t seq, natsMsg *msg);

static void lh_mux_on_reply(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    lh_mux *m = closure;
    uint64_t seq;
    lh_mux_cb cb = NULL;
    void *user = NULL;
    lh_err *err = NULL;
    bool parsed = lh_mux_parse_seq(m, natsMsg_GetSubject(msg), &seq);
    if (parsed && lh_mux_on_stream(m, seq, msg)) {
        natsMsg_Destroy(msg);
        return;
    }
    if (parsed) {
        pthread_mutex_lock(&m->mu);
        /* A late second reply (several responders) finds nothing to take. */
        lh_mux_req *r = lh_mux_take(m, seq);
        if (r) {
            cb = r->cb, user = r->user;
            err = lh_mux_reply_error(msg, r->subject); /* a header lookup when all is well */
            lh_mux_free_req(m, r);
        }
        pthread_mutex_unlock(&m->mu);
    }
    if (cb)
        cb(user, err, natsMsg_IsNoResponders(msg) ? NULL : msg);
    lh_err_free(err);
    natsMsg_Destroy(msg);
}

static void lh_mux_on_sub_done(void *closure)
{
    lh_mux *m = closure;
    pthread_mutex_lock(&m->mu);
    m->sub_done = true;
    pthread_cond_broadcast(&m->sub_cv);
    pthread_mutex_unlock(&m->mu);
}

/* ---- timer ---- */

static struct timespec lh_mux_abstime(int64_t ns)
{
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    return ts;
}

/* Unlinks every request whose deadline has passed into a private list. */
static lh_mux_req *lh_mux_take_expired(lh_mux *m, int64_t now)
{
    lh_mux_req *expired = NULL, **tail = &expired;
    while (m->dhead && m->dhead->deadline_ns <= now) {
        if (m->dhead->delivering) { /* a chunk is being delivered: it is alive */
            lh_mux_renew(m, m->dhead);
            continue;
        }
        lh_mux_req *r = lh_mux_take(m, m->dhead->seq);
        assert(r);
        *tail = r;
        tail = &r->hnext;
    }
    return expired;
}

/* Called with mu held; drops it while the callbacks run. */
static void lh_mux_fire_expired(lh_mux *m, lh_mux_req *expired)
{
    pthread_mutex_unlock(&m->mu);
    for (lh_mux_req *r = expired; r; r = r->hnext)
        lh_mux_fail(r, lh_err_new(LH_ETIMEOUT, NULL, "no reply from %s within %d ms",
                                  r->subject, r->timeout_ms));
    pthread_mutex_lock(&m->mu);
    for (lh_mux_req *r = expired, *next; r; r = next) {
        next = r->hnext;
        lh_mux_free_req(m, r);
    }
}

static void *lh_mux_timer_main(void *arg)
{
    lh_mux *m = arg;
    pthread_mutex_lock(&m->mu);
    while (!m->stopping) {
        int64_t now = lh_clock_ns();
        if (m->dhead && m->dhead->deadline_ns <= now) {
            lh_mux_fire_expired(m, lh_mux_take_expired(m, now));
            continue;
        }
        m->armed_ns = m->dhead ? m->dhead->deadline_ns : now + LH_MUX_IDLE_WAKE_NS;
        struct timespec at = lh_mux_abstime(m->armed_ns);
        pthread_cond_timedwait(&m->timer_cv, &m->mu, &at);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

/* ---- lifecycle ---- */

static void lh_mux_init_sync(lh_mux *m)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&m->timer_cv, &attr);
    pthread_cond_init(&m->sub_cv, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&m->mu, NULL);
}

static void lh_mux_free(lh_mux *m)
{
    for (lh_mux_req *r = m->free_list, *next; r; r = next) {
        next = r->hnext;
        free(r);
    }
    free(m->buckets);
    pthread_cond_destroy(&m->timer_cv);
    pthread_cond_destroy(&m->sub_cv);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static lh_err *lh_mux_subscribe(lh_mux *m)
{
    char wildcard[80];
    snprintf(wildcard, sizeof wildcard, "%s*", m->inbox);
    natsStatus s = natsConnection_Subscribe(&m->sub, m->nc, wildcard, lh_mux_on_reply, m);
    /* Thousands of replies may queue while the callback thread catches up;
     * dropping one would turn a served request into a false 504. */
    if (s == NATS_OK)
        s = natsSubscription_SetPendingLimits(m->sub, -1, -1);
    if (s == NATS_OK)
        s = natsSubscription_SetOnCompleteCB(m->sub, lh_mux_on_sub_done, m);
    if (s != NATS_OK) {
        natsSubscription_Destroy(m->sub);
        m->sub = NULL;
        return lh_err_from_nats(s, "subscribe to the reply inbox");
    }
    return NULL;
}

lh_err *lh_mux_create(lh_conn *c, lh_mux **out)
{
    assert(c && out);
    lh_mux *m = lh_mux_xcalloc(1, sizeof *m);
    m->nc = lh_conn_nats(c);
    char id[23];
    lh_new_id(id);
    snprintf(m->inbox, sizeof m->inbox, "%s.%s.", LH_MUX_PREFIX, id);
    m->inbox_len = strlen(m->inbox);
    m->n_buckets = LH_MUX_MIN_BUCKETS;
    m->buckets = lh_mux_xcalloc(m->n_buckets, sizeof *m->buckets);
    m->next_seq = 1;
    lh_mux_init_sync(m);
    lh_err *err = lh_mux_subscribe(m);
    if (!err && pthread_create(&m->timer, NULL, lh_mux_timer_main, m) != 0) {
        natsSubscription_Unsubscribe(m->sub);
        natsSubscription_Destroy(m->sub);
        err = lh_err_new(LH_EINTERNAL, NULL, "start the request timer thread");
    }
    if (err) {
        lh_mux_free(m);
        return err;
    }
    *out = m;
    return NULL;
}

/* Ends reply delivery, then waits until no reply callback is running, so
 * nothing touches the mux after destroy returns; false when one still
 * runs after the wait (the mux must then not be freed). */
static bool lh_mux_stop_inbox(lh_mux *m)
{
    natsSubscription_Unsubscribe(m->sub); /* fails harmlessly on a closed connection */
    int64_t until = lh_clock_ns() + (int64_t)LH_MUX_SUB_DONE_WAIT_MS * 1000000;
    struct timespec at = lh_mux_abstime(until);
    pthread_mutex_lock(&m->mu);
    while (!m->sub_done) {
        if (pthread_cond_timedwait(&m->sub_cv, &m->mu, &at) == ETIMEDOUT) {
            lh_warn("reply inbox %s* did not finish delivering within %d ms", m->inbox,
                    LH_MUX_SUB_DONE_WAIT_MS);
            break;
        }
    }
    bool done = m->sub_done;
    pthread_mutex_unlock(&m->mu);
    if (!done)
        return false;
    natsSubscription_Destroy(m->sub);
    m->sub = NULL;
    return true;
}

static void lh_mux_stop_timer(lh_mux *m)
{
    pthread_mutex_lock(&m->mu);
    m->stopping = true;
    pthread_cond_signal(&m->timer_cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->timer, NULL);
}

/* Nothing else runs now: the inbox and the timer are stopped. */
static void lh_mux_abandon_pending(lh_mux *m)
{
    while (m->dhead) {
        lh_mux_req *r = lh_mux_take(m, m->dhead->seq);
        lh_mux_fail(r, lh_err_new(LH_EUNAVAILABLE, NULL,
                                  "request to %s abandoned: shutting down", r->subject));
        lh_mux_free_req(m, r);
    }
    assert(m->n_pending == 0);
}

void lh_mux_destroy(lh_mux *m)
{
    if (!m)
        return;
    if (!lh_mux_stop_inbox(m)) {
        /* A callback is stuck: completing or freeing under it would be
         * worse than this leak at shutdown. */
        lh_error("the reply inbox %s* is stuck in a callback: its requests are left", m->inbox);
        return;
    }
    lh_mux_stop_timer(m);
    lh_mux_abandon_pending(m);
    lh_mux_free(m);
}

/* ---- requests ---- */

/* Returns the sequence number, not the record: once mu is released the
 * record may already be completed and recycled. */
static uint64_t lh_mux_add(lh_mux *m, const char *subject, int timeout_ms, lh_mux_cb cb,
                           void *user)
{
    int64_t deadline = lh_clock_ns() + (int64_t)timeout_ms * 1000000;
    pthread_mutex_lock(&m->mu);
    lh_mux_req *r = lh_mux_alloc_req(m);
    r->seq = m->next_seq++;
    r->deadline_ns = deadline;
    r->timeout_ms = timeout_ms;
    r->cb = cb;
    r->user = user;
    snprintf(r->subject, sizeof r->subject, "%s", subject);
    lh_mux_insert(m, r);
    if (deadline < m->armed_ns)
        pthread_cond_signal(&m->timer_cv);
    uint64_t seq = r->seq;
    pthread_mutex_unlock(&m->mu);
    return seq;
}

static natsStatus lh_mux_publish(lh_mux *m, const char *subject, const char *reply,
                                 const char *data, size_t len, const char *request_id,
                                 bool stream)
{
    if (len > INT32_MAX)
        return NATS_MAX_PAYLOAD;
    natsMsg *msg = NULL;
    natsStatus s = natsMsg_Create(&msg, subject, reply, data, (int)len);
    if (!request_id)
        request_id = lh_log_request_id();
    if (s == NATS_OK && request_id && *request_id)
        s = natsMsgHeader_Set(msg, LH_HDR_REQUEST_ID, request_id);
    if (s == NATS_OK && stream)
        s = natsMsgHeader_Set(msg, LH_HDR_STREAM, "1");
    if (s == NATS_OK)
        s = natsConnection_PublishMsg(m->nc, msg);
    natsMsg_Destroy(msg);
    return s;
}

static lh_err *lh_mux_publish_error(lh_mux *m, const char *subject, natsStatus s)
{
    /* While the bus is away nats.c refuses in several ways (headers "not
     * supported" before the first connect, for one): all of them are 503. */
    if (natsConnection_Status(m->nc) != NATS_CONN_STATUS_CONNECTED)
        return lh_err_new(LH_EUNAVAILABLE, NULL, "cannot send to %s: the bus is unavailable (%s)",
                          subject, natsStatus_GetText(s));
    char what[LH_MUX_SUBJECT_MAX + 16];
    snprintf(what, sizeof what, "publish to %s", subject);
    return lh_err_from_nats(s, what);
}

lh_err *lh_mux_request(lh_mux *m, const char *subject, const char *data, size_t len,
                       const char *request_id, int timeout_ms, lh_mux_cb cb, void *user)
{
    assert(m && subject && cb && timeout_ms >= 0);
    /* Pending before publishing: the reply may arrive before publish returns. */
    uint64_t seq = lh_mux_add(m, subject, timeout_ms, cb, user);
    char reply[96];
    snprintf(reply, sizeof reply, "%s%" PRIu64, m->inbox, seq);
    natsStatus s = lh_mux_publish(m, subject, reply, data, len, request_id, false);
    if (s == NATS_OK)
        return NULL;
    pthread_mutex_lock(&m->mu);
    lh_mux_req *r = lh_mux_take(m, seq);
    if (r)
        lh_mux_free_req(m, r);
    pthread_mutex_unlock(&m->mu);
    /* Not found: the timer completed it, so the callback ran (or runs). */
    return r ? lh_mux_publish_error(m, subject, s) : NULL;
}

size_t lh_mux_pending(lh_mux *m)
{
    pthread_mutex_lock(&m->mu);
    size_t n = m->n_pending;
    pthread_mutex_unlock(&m->mu);
    return n;
}

/* ---- streamed replies (bus/stream.h) ---- */

static void lh_mux_ignore(void *user, lh_err *err, natsMsg *msg)
{
    (void)user;
    (void)err;
    (void)msg;
}

/* Completes a cancelled stream (mu held): 499 to its callback, which the
 * caller makes after unlocking from cb and user. The record stays until its
 * control subject is known, so the responder can still be told. */
static void lh_mux_cancel_locked(lh_mux *m, lh_mux_req *r, lh_mux_cb *cb, void **user,
                                 char control[LH_STREAM_SUBJECT_MAX])
{
    *cb = r->cb, *user = r->user;
    snprintf(control, LH_STREAM_SUBJECT_MAX, "%s", r->control);
    if (r->control[0]) {
        lh_mux_take(m, r->seq);
        lh_mux_free_req(m, r);
        return;
    }
    r->cancelled = true;
    r->cb = lh_mux_ignore; /* its deadline or its end frees it silently */
    lh_mux_renew(m, r);    /* a full wait for the opening, to tell the responder */
}

static void lh_mux_cancelled(lh_mux *m, lh_mux_cb cb, void *user, const char *control)
{
    lh_stream_cancel_publish(m->nc, control);
    lh_err *err = lh_err_new(LH_ECANCELED, NULL, "the stream was cancelled");
    cb(user, err, NULL);
    lh_err_free(err);
}

/* Hands a chunk to r's callback (mu held, dropped meanwhile); a cancel
 * that came during the call completes r right after it. */
static void lh_mux_deliver(lh_mux *m, lh_mux_req *r, natsMsg *msg)
{
    r->delivering = true;
    lh_mux_chunk_cb on_chunk = r->on_chunk;
    void *user = r->user;
    pthread_mutex_unlock(&m->mu);
    on_chunk(user, msg);
    pthread_mutex_lock(&m->mu);
    r->delivering = false;
    if (!r->cancel_after)
        return;
    lh_mux_cb cb;
    char control[LH_STREAM_SUBJECT_MAX];
    lh_mux_cancel_locked(m, r, &cb, &user, control);
    pthread_mutex_unlock(&m->mu);
    lh_mux_cancelled(m, cb, user, control);
    pthread_mutex_lock(&m->mu);
}

/* Handles a message of a streamed request before the one-reply path:
 * true when it was taken care of (an opening or a chunk, or a message for
 * a cancelled stream); false for the outcome or anything not streamed,
 * which completes the request the ordinary way. */
static bool lh_mux_on_stream(lh_mux *m, uint64_t seq, natsMsg *msg)
{
    uint64_t sseq = 0;
    lh_stream_kind kind = lh_stream_kind_of(msg, &sseq);
    char control[LH_STREAM_SUBJECT_MAX] = "";
    pthread_mutex_lock(&m->mu);
    lh_mux_req *r = lh_mux_find(m, seq);
    if (kind == LH_STREAM_KEEPALIVE) { /* never an outcome: renews a live stream, handed on */
        bool live = r && r->on_chunk && !r->cancelled;
        if (live)
            lh_mux_renew(m, r);
        if (live && !r->cancel_after)
            lh_mux_deliver(m, r, msg);
        pthread_mutex_unlock(&m->mu);
        return true;
    }
    bool mine = r && r->on_chunk && (r->cancelled || kind == LH_STREAM_OPEN ||
                                     (kind == LH_STREAM_CHUNK && sseq == r->stream_next));
    if (mine && r->cancelled) { /* its callback ran: only telling the responder is left */
        if (kind == LH_STREAM_OPEN)
            lh_stream_control_of(msg, control);
        if (kind == LH_STREAM_OPEN || kind == LH_STREAM_END || kind == LH_STREAM_WHOLE) {
            lh_mux_take(m, seq);
            lh_mux_free_req(m, r);
        }
    } else if (mine && kind == LH_STREAM_OPEN && sseq == r->stream_next) {
        r->stream_next++;
        lh_stream_control_of(msg, r->control);
        lh_mux_renew(m, r);
    } else if (mine && kind == LH_STREAM_CHUNK) {
        r->stream_next++;
        lh_mux_renew(m, r);
        lh_mux_deliver(m, r, msg);
    } else if (r && r->on_chunk && kind != LH_STREAM_WHOLE &&
               !(kind == LH_STREAM_END && sseq == r->stream_next)) {
        /* out of order: nothing after it can be trusted, so it ends here */
        lh_mux_cb cb = r->cb;
        void *user = r->user;
        uint64_t lost = r->stream_next;
        snprintf(control, sizeof control, "%s", r->control);
        lh_mux_take(m, seq);
        lh_mux_free_req(m, r);
        pthread_mutex_unlock(&m->mu);
        lh_stream_cancel_publish(m->nc, control);
        lh_err *err = lh_err_new(LH_EINTERNAL, NULL, "the stream lost message %" PRIu64, lost);
        cb(user, err, NULL);
        lh_err_free(err);
        return true;
    }
    pthread_mutex_unlock(&m->mu);
    lh_stream_cancel_publish(m->nc, control);
    return mine;
}

lh_err *lh_mux_stream(lh_mux *m, const char *subject, const char *data, size_t len,
                      const char *request_id, int idle_ms, lh_mux_chunk_cb on_chunk,
                      lh_mux_cb on_end, void *user, uint64_t *handle)
{
    assert(m && subject && on_chunk && on_end && idle_ms >= 0 && handle);
    uint64_t seq = lh_mux_add(m, subject, idle_ms, on_end, user);
    pthread_mutex_lock(&m->mu);
    lh_mux_req *r = lh_mux_find(m, seq);
    if (r) /* before anything can arrive: nothing is published yet */
        r->on_chunk = on_chunk;
    pthread_mutex_unlock(&m->mu);
    *handle = seq;
    char reply[96];
    snprintf(reply, sizeof reply, "%s%" PRIu64, m->inbox, seq);
    natsStatus s = lh_mux_publish(m, subject, reply, data, len, request_id, true);
    if (s == NATS_OK)
        return NULL;
    pthread_mutex_lock(&m->mu);
    r = lh_mux_take(m, seq);
    if (r)
        lh_mux_free_req(m, r);
    pthread_mutex_unlock(&m->mu);
    return r ? lh_mux_publish_error(m, subject, s) : NULL;
}

void lh_mux_cancel(lh_mux *m, uint64_t handle)
{
    pthread_mutex_lock(&m->mu);
    lh_mux_req *r = lh_mux_find(m, handle);
    if (!r || !r->on_chunk || r->cancelled || r->cancel_after) {
        pthread_mutex_unlock(&m->mu); /* over already, or being cancelled */
        return;
    }
    if (r->delivering) { /* its chunk's delivery completes it */
        r->cancel_after = true;
        pthread_mutex_unlock(&m->mu);
        return;
    }
    lh_mux_cb cb;
    void *user;
    char control[LH_STREAM_SUBJECT_MAX];
    lh_mux_cancel_locked(m, r, &cb, &user, control);
    pthread_mutex_unlock(&m->mu);
    lh_mux_cancelled(m, cb, user, control);
}
