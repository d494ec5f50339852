/*
 * events.h — telling observers what happened.
 *
 * Actors publish facts as msgpack maps on `events.<actor>.<event>`; the
 * JetStream stream EVENTS holds `events.>` so an observer can join late and
 * replay. Publishing is fire-and-forget: an event never fails the request
 * that caused it.
 */
#ifndef LH_EVENTS_H
#define LH_EVENTS_H

#include <stddef.h>

#include "bus/conn.h"
#include "bus/contract.h"
#include "bus/err.h"

#define LH_EVENTS_STREAM "EVENTS"

/* Publishes `value`, a struct of the event contract's schema, on the
 * contract's subject (events.<service>.<event>) with the current request
 * id header. */
void lh_event_emit(lh_conn *c, const lh_event_contract *ev, const void *value);

/* Creates the EVENTS stream if it does not exist (file storage). */
lh_err *lh_events_ensure_stream(lh_conn *c);

#endif
