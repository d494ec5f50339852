/*
 * event_log.c — the queue and the publishing thread of event_log.h.
 *
 * One thread per actor, publishing one event at a time in queue order
 * with js_PublishMsg (which waits for the stream's acknowledgement): the
 * log keeps each actor's events in the order they happened. An event
 * leaves the queue only once acknowledged; a failure pauses and tries the
 * same event again, so order survives a server restart too.
 */
#include "bus/event_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/clock.h"
#include "bus/events.h"
#include "bus/log.h"
#include "bus/request.h"

/* Beyond this many waiting, the oldest is dropped (counted, logged). */
#define LH_EVENT_LOG_MAX_QUEUED 100000
#define LH_EVENT_LOG_ACK_WAIT_MS 2000
#define LH_EVENT_LOG_PAUSE_MIN_MS 50
#define LH_EVENT_LOG_PAUSE_MAX_MS 2000

typedef struct lh_event_entry {
    struct lh_event_entry *next;
    uint64_t ticket;
    char subject[128];
    char id[32];
    char rid[72];
    lh_buf body;
} lh_event_entry;

struct lh_event_log {
    lh_conn *conn;
    jsCtx *js;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work;  /* something queued, or stop */
    pthread_cond_t acked; /* acked_upto moved */
    lh_event_entry *head, *tail;
    size_t n;
    uint64_t next_ticket;
    uint64_t acked_upto; /* every ticket <= this one is published or dropped */
    bool stopping;
    bool stopped;       /* the thread is gone; the counts stay readable */
    int64_t stop_by_ms; /* lh_clock_ms: the flush's end */
    bool stream_ready;
    lh_event_log_counts counts;
};

static void lh_event_entry_free(lh_event_entry *e)
{
    lh_buf_free(&e->body);
    free(e);
}

/* ---- publishing (the thread) ---- */

static natsStatus lh_event_publish(lh_event_log *l, const lh_event_entry *e)
{
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, e->subject, NULL, e->body.data, (int)e->body.len);
    if (s == NATS_OK && e->rid[0])
        s = natsMsgHeader_Set(m, LH_HDR_REQUEST_ID, e->rid);
    jsPubOptions o;
    jsPubOptions_Init(&o);
    o.MsgId = e->id; /* the stream keeps one of each id: a retry that did land counts once */
    o.MaxWait = LH_EVENT_LOG_ACK_WAIT_MS;
    jsPubAck *ack = NULL;
    jsErrCode jerr = 0;
    if (s == NATS_OK)
        s = js_PublishMsg(&ack, l->js, m, &o, &jerr);
    jsPubAck_Destroy(ack);
    natsMsg_Destroy(m);
    return s;
}

/* Tries the event until it is acknowledged or the stop's time is over. */
static bool lh_event_deliver(lh_event_log *l, lh_event_entry *e)
{
    int pause = LH_EVENT_LOG_PAUSE_MIN_MS;
    for (;;) {
        if (!l->stream_ready) { /* made or checked once: a restarted server keeps it */
            lh_err *err = lh_events_ensure_stream(l->conn);
            l->stream_ready = err == NULL;
            lh_err_free(err);
        }
        natsStatus s = l->stream_ready ? lh_event_publish(l, e) : NATS_NO_RESPONDERS;
        if (s == NATS_OK)
            return true;
        pthread_mutex_lock(&l->mu);
        l->counts.retries++;
        snprintf(l->counts.last_error, sizeof l->counts.last_error, "%s: %s", e->subject,
                 natsStatus_GetText(s));
        bool give_up = l->stopping && lh_clock_ms() >= l->stop_by_ms;
        pthread_mutex_unlock(&l->mu);
        if (s == NATS_NO_RESPONDERS || s == NATS_NOT_FOUND)
            l->stream_ready = false; /* no stream answered: make sure it exists */
        if (give_up)
            return false;
        struct timespec ts = {pause / 1000, (long)(pause % 1000) * 1000000};
        nanosleep(&ts, NULL);
        pause = pause * 2 < LH_EVENT_LOG_PAUSE_MAX_MS ? pause * 2 : LH_EVENT_LOG_PAUSE_MAX_MS;
    }
}

static void *lh_event_log_main(void *arg)
{
    lh_event_log *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->head && !l->stopping)
            pthread_cond_wait(&l->work, &l->mu);
        if (!l->head)
            break; /* stopping, and nothing is left */
        lh_event_entry *e = l->head; /* it stays first until it is out */
        pthread_mutex_unlock(&l->mu);
        bool ok = lh_event_deliver(l, e);
        pthread_mutex_lock(&l->mu);
        l->head = e->next;
        if (!l->head)
            l->tail = NULL;
        l->n--;
        if (ok) {
            l->counts.published++;
        } else {
            l->counts.dropped++;
            lh_warn("event %s %s not published: %s", e->subject, e->id, l->counts.last_error);
        }
        l->acked_upto = e->ticket;
        pthread_cond_broadcast(&l->acked);
        lh_event_entry_free(e);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* ---- the actor's side ---- */

lh_err *lh_event_log_create(lh_conn *c, lh_event_log **out)
{
    lh_event_log *l = calloc(1, sizeof *l);
    if (!l)
        abort(); /* out of memory: as lh_buf does, we do not limp on */
    l->conn = c;
    l->next_ticket = 1;
    natsStatus s = natsConnection_JetStream(&l->js, lh_conn_nats(c), NULL);
    if (s != NATS_OK) {
        free(l);
        return lh_err_from_nats(s, "jetstream context for the event log");
    }
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->work, NULL);
    pthread_cond_init(&l->acked, NULL);
    if (pthread_create(&l->thread, NULL, lh_event_log_main, l) != 0) {
        jsCtx_Destroy(l->js);
        pthread_cond_destroy(&l->acked);
        pthread_cond_destroy(&l->work);
        pthread_mutex_destroy(&l->mu);
        free(l);
        return lh_err_new(LH_EINTERNAL, NULL, "start the event log's thread");
    }
    *out = l;
    return NULL;
}

void lh_event_log_stop(lh_event_log *l, int flush_ms)
{
    if (!l || l->stopped)
        return;
    pthread_mutex_lock(&l->mu);
    l->stopping = true;
    l->stop_by_ms = lh_clock_ms() + flush_ms;
    pthread_cond_signal(&l->work);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL); /* it leaves only with the queue empty */
    jsCtx_Destroy(l->js);
    l->js = NULL;
    pthread_mutex_lock(&l->mu);
    l->stopped = true;
    pthread_mutex_unlock(&l->mu);
}

void lh_event_log_destroy(lh_event_log *l)
{
    if (!l)
        return;
    lh_event_log_stop(l, 0);
    pthread_cond_destroy(&l->acked);
    pthread_cond_destroy(&l->work);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

uint64_t lh_event_log_put(lh_event_log *l, const char *subject, const char *id, const char *rid,
                          lh_buf *body)
{
    lh_event_entry *e = calloc(1, sizeof *e);
    if (!e)
        abort();
    snprintf(e->subject, sizeof e->subject, "%s", subject);
    snprintf(e->id, sizeof e->id, "%s", id);
    snprintf(e->rid, sizeof e->rid, "%s", rid ? rid : "");
    e->body = *body; /* taken over */
    lh_buf_init(body);
    pthread_mutex_lock(&l->mu);
    e->ticket = l->next_ticket++;
    if (l->stopped) { /* told after the log stopped (an actor's fini): nobody will send it */
        uint64_t ticket = l->acked_upto = e->ticket;
        l->counts.queued++;
        l->counts.dropped++;
        pthread_mutex_unlock(&l->mu);
        lh_warn("event %s %s told after the event log stopped: dropped", e->subject, e->id);
        lh_event_entry_free(e);
        return ticket;
    }
    if (l->n >= LH_EVENT_LOG_MAX_QUEUED && l->head && l->head->next) {
        /* the second oldest: the oldest is being published right now */
        lh_event_entry *old = l->head->next;
        l->head->next = old->next;
        if (l->tail == old)
            l->tail = l->head;
        l->n--;
        l->counts.dropped++;
        lh_warn("event log queue full (%d): dropped %s %s", LH_EVENT_LOG_MAX_QUEUED, old->subject,
                old->id);
        lh_event_entry_free(old);
    }
    if (l->tail)
        l->tail->next = e;
    else
        l->head = e;
    l->tail = e;
    l->n++;
    l->counts.queued++;
    pthread_cond_signal(&l->work);
    uint64_t ticket = e->ticket;
    pthread_mutex_unlock(&l->mu);
    return ticket;
}

bool lh_event_log_wait(lh_event_log *l, uint64_t ticket, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&l->mu);
    int rc = 0;
    while (l->acked_upto < ticket && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&l->acked, &l->mu, &until);
    bool done = l->acked_upto >= ticket;
    pthread_mutex_unlock(&l->mu);
    return done;
}

void lh_event_log_counts_get(lh_event_log *l, lh_event_log_counts *out)
{
    pthread_mutex_lock(&l->mu);
    *out = l->counts;
    out->pending = l->n;
    pthread_mutex_unlock(&l->mu);
}
