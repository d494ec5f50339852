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

/* Fills `rep` (in arena) with the events `req` asks for; 400 for a
 * malformed time or filter, 503 when the log cannot be read. */
lh_err *lh_observer_history(lh_conn *c, const lh_observer_events_request *req, lh_arena *arena,
                            lh_observer_events_reply *rep);

#endif
