/*
 * events.h — the platform's log: every state change an actor makes, as an
 * event declared by contract (bus/contract.h), kept by the JetStream
 * stream EVENTS over `events.>`.
 *
 * An event travels on events.<service>.<event> in an envelope, declared
 * here once: {id, time, actor, instance, type, request_id, data}, where
 * `data` holds the fields of the event's contract. Each actor's events go
 * through its event log (bus/event_log.h): queued, published in order,
 * acknowledged by the stream, retried until they are, de-duplicated by id.
 * The stream keeps events for LH_EVENTS_MAX_AGE_S seconds (default 7
 * days) and at most LH_EVENTS_MAX_BYTES (default 1 GiB), the oldest going
 * first.
 */
#ifndef LH_EVENTS_H
#define LH_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "bus/actor.h"
#include "bus/conn.h"
#include "bus/contract.h"
#include "bus/err.h"
#include "bus/schema.h"

#define LH_EVENTS_STREAM "EVENTS"
/* A duplicate (the same id) within this window is dropped by the stream. */
#define LH_EVENTS_DUPLICATE_WINDOW_S 120
/* How long lh_event_emit_acked waits for the stream's acknowledgement. */
#define LH_EVENTS_ACK_WAIT_MS 2000

#define LH_EVENT_ENVELOPE(F, T)                                                             \
    F(T, id, STRING, .required = true,                                                      \
      .doc = "The event's id (22 characters); the log keeps one of each.")                  \
    F(T, time, STRING, .required = true,                                                    \
      .doc = "When it happened: RFC 3339, UTC, milliseconds.")                              \
    F(T, actor, STRING, .required = true, .doc = "The actor that tells it (its service).")  \
    F(T, instance, STRING, .required = true, .doc = "Which instance of it (its $SRV id).")  \
    F(T, type, STRING, .required = true, .doc = "`<service>.<event>`: catalogd.committed.") \
    F(T, request_id, STRING, .doc = "The request that caused it, when one did.")            \
    F(T, data, ANY, .required = true, .doc = "The event's fields, as its contract says.")
LH_SCHEMA_DECLARE(lh_event_envelope, LH_EVENT_ENVELOPE)

/* Tells the log: `value`, a struct of the event contract's schema, in an
 * envelope naming the actor, queued on its event log. The contract must
 * be one of the actor's own (asserted). Never fails the request that
 * caused it. */
void lh_event_emit(lh_actor *a, const lh_event_contract *ev, const void *value);
/* lh_event_emit, then waits (up to LH_EVENTS_ACK_WAIT_MS) until the stream
 * has it: for changes that replicas and lineage depend on. False when the
 * wait ran out (the event stays queued and will be published). */
bool lh_event_emit_acked(lh_actor *a, const lh_event_contract *ev, const void *value);

/* Reads an event message: its envelope and its data as a struct of the
 * contract's schema (both in arena). 400 naming what does not fit. */
lh_err *lh_event_decode(const lh_event_contract *ev, const char *msg, size_t len,
                        lh_arena *arena, lh_event_envelope **env, void **data);

/* The log's last sequence number now (0: no log yet, or not readable). */
uint64_t lh_events_last_seq(lh_conn *c);

/* Creates the EVENTS stream (file storage) or brings its limits and
 * duplicate window up to date. */
lh_err *lh_events_ensure_stream(lh_conn *c);

#endif
