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
#include "bus/err.h"

#define LH_EVENTS_STREAM "EVENTS"

/* Publishes msgpack `data` on events.<actor>.<event> with the current
 * request id header. */
void lh_event_publish(lh_conn *c, const char *actor, const char *event, const char *data,
                      size_t len);

/* Creates the EVENTS stream if it does not exist (file storage). */
lh_err *lh_events_ensure_stream(lh_conn *c);

#endif
