/*
 * history.h — reading the log (the JetStream stream EVENTS) back, oldest
 * first, from a sequence number or a time, filtered by actor, type and
 * request id (internal to actors/observer/).
 */
#ifndef LH_OBSERVER_HISTORY_H
#define LH_OBSERVER_HISTORY_H

#include "bus/buf.h"
#include "bus/conn.h"
#include "bus/err.h"
#include "schemas/observer.h"

/* At most this many messages are looked at per request when a request id
 * filters them (each match is read in the log): the reply then says
 * `more` and where to go on. */
#define LH_OBSERVER_MAX_SCAN 100000

/* The subject and the ordered consumer `req` asks for; *none when no
 * event can match (another actor's type). 400 for a malformed time or
 * filter. */
lh_err *lh_observer_consumer(const lh_observer_events_request *req, char *subject, size_t cap,
                             bool *none, jsSubOptions *so);
/* Turns a start by time in `so` into a start by sequence: the first
 * message of the log at or after that time, found by bisection over the
 * log's messages (their times only grow). A start by sequence is counted
 * exactly by the server from the moment the consumer exists; a start by
 * time is not always. Without a log it is left as it is. */
void lh_observer_resolve_time(jsCtx *js, jsSubOptions *so);
/* One log message as an event (in arena), and how many remain after it;
 * false when it is not an event. */
bool lh_observer_take(natsMsg *m, lh_arena *arena, lh_observer_event *ev, uint64_t *pending);
/* Whether the event is one `req` asks for (its request id). */
bool lh_observer_wanted(const lh_observer_events_request *req, const lh_observer_event *ev);

/* Fills `rep` (in arena) with the events `req` asks for; 400 for a
 * malformed time or filter, 503 when the log cannot be read. */
lh_err *lh_observer_history(lh_conn *c, const lh_observer_events_request *req, lh_arena *arena,
                            lh_observer_events_reply *rep);

#endif
