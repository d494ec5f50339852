/*
 * event_log.h — one actor's way into the platform's log: a queue of
 * events and the thread that publishes them to JetStream in order.
 *
 * Each event is published with its id as Nats-Msg-Id and waits for the
 * stream's acknowledgement; a publish that fails (the server restarting,
 * the stream not made yet) is tried again with a growing pause until it
 * is acknowledged, and the stream's de-duplication makes a retry whose
 * first try did land count once. Nothing is dropped silently: only a
 * queue full beyond its bound, or a stop that cannot wait longer, drops
 * events, and both are counted and logged. The request that caused an
 * event never waits for it, unless it asks to (lh_event_log_wait).
 */
#ifndef LH_EVENT_LOG_H
#define LH_EVENT_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/buf.h"
#include "bus/conn.h"
#include "bus/err.h"

typedef struct lh_event_log lh_event_log;

/* How long an actor that stops waits for its queued events to be out. */
#define LH_EVENT_LOG_FLUSH_MS 5000

/* What the log has done so far, for $SRV.STATS. */
typedef struct lh_event_log_counts {
    uint64_t queued;    /* accepted by lh_event_log_put */
    uint64_t published; /* acknowledged by the stream */
    uint64_t retries;   /* publishes tried again */
    uint64_t dropped;   /* never published: the queue full, or a stop that could not wait */
    size_t pending;     /* in the queue now */
    char last_error[160];
} lh_event_log_counts;

/* Starts the publishing thread on the connection (which must outlive it). */
lh_err *lh_event_log_create(lh_conn *c, lh_event_log **out);
/* Publishes what is queued for up to flush_ms, then stops the thread;
 * what is left, and what is put after, is counted as dropped. The counts
 * stay readable (discovery may still ask) until lh_event_log_destroy.
 * Accepts NULL; a second call does nothing. */
void lh_event_log_stop(lh_event_log *l, int flush_ms);
/* Stops (without waiting) if not stopped, and frees. Accepts NULL. */
void lh_event_log_destroy(lh_event_log *l);

/* Queues the message `body` (taken over: reset on return) for `subject`
 * with the event id `id` and the request id `rid` (may be NULL); returns
 * its ticket for lh_event_log_wait. */
uint64_t lh_event_log_put(lh_event_log *l, const char *subject, const char *id, const char *rid,
                          lh_buf *body);
/* Waits until the ticket's event is acknowledged (true) or timeout_ms
 * passes (false: it stays queued and will be published). */
bool lh_event_log_wait(lh_event_log *l, uint64_t ticket, int timeout_ms);

void lh_event_log_counts_get(lh_event_log *l, lh_event_log_counts *out);

#endif
