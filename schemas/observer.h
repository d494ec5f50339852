/*
 * observer.h — the messages of observerd (`observer.*`): the platform's
 * log (the JetStream stream EVENTS, bus/events.h) read back.
 */
#ifndef LH_SCHEMAS_OBSERVER_H
#define LH_SCHEMAS_OBSERVER_H

#include "bus/contract.h"
#include "bus/schema.h"

#define LH_OBSERVER_MAX_LIMIT 1000

/* ---- observer.events ---- */

#define LH_OBSERVER_EVENTS_REQUEST(F, T)                                                    \
    F(T, since_seq, INT, .min = 1, .max = 9007199254740992.0, .flags = LH_F_OMIT_UNSET,      \
      .doc = "From this sequence number of the log on (default: the start).")               \
    F(T, since_time, STRING, .max = 64,                                                     \
      .doc = "From this time on, RFC 3339 (`2026-12-03T10:00:00Z`); not with since_seq.")   \
    F(T, actor, STRING, .max = 64, .doc = "Only the events this actor told (`catalogd`).")  \
    F(T, type, STRING, .max = 128,                                                          \
      .doc = "Only events of this type (`catalogd.committed`).")                            \
    F(T, request_id, STRING, .max = 64, .doc = "Only the events this request caused.")     \
    F(T, limit, INT, .min = 1, .max = LH_OBSERVER_MAX_LIMIT, .def = 100,                    \
      .doc = "At most this many events (1 to 1000, default 100).")
LH_MESSAGE(lh_observer_events_request, LH_OBSERVER_EVENTS_REQUEST,
           "Read the log back, oldest first.")

#define LH_OBSERVER_EVENT(F, T)                                                             \
    F(T, seq, INT, .doc = "Its sequence number in the log.")                                \
    F(T, subject, STRING, .doc = "`events.<actor>.<event>`.")                               \
    F(T, id, STRING, .doc = "The event's id.")                                              \
    F(T, time, STRING, .doc = "When it happened.")                                          \
    F(T, actor, STRING, .doc = "The actor that told it.")                                   \
    F(T, instance, STRING, .doc = "Which instance of it.")                                  \
    F(T, type, STRING, .doc = "`<actor>.<event>`.")                                         \
    F(T, request_id, STRING, .doc = "The request that caused it, when one did.")            \
    F(T, data, ANY, .doc = "Its fields, as its contract says (API.md lists them).")
LH_MESSAGE(lh_observer_event, LH_OBSERVER_EVENT, "An event, with its place in the log.")

#define LH_OBSERVER_EVENTS_REPLY(F, T)                                                      \
    F(T, events, OBJECTS, .sub = &lh_observer_event_schema, .doc = "Oldest first.")         \
    F(T, next_seq, INT, .doc = "Where to go on from (`since_seq`) for the events after.")   \
    F(T, more, BOOL, .doc = "Whether the log holds more that match, after these.")
LH_MESSAGE(lh_observer_events_reply, LH_OBSERVER_EVENTS_REPLY, "Events from the log.")

/* ---- contracts ---- */

#define LH_OBSERVER_ENDPOINTS(E, S)                                                         \
    E(S, observer_events, "events", "observer.events", lh_observer_events_request,          \
      lh_observer_events_reply,                                                             \
      "Read the log back from a sequence number or a time, filtered by actor, type or "     \
      "request id. 400 for a malformed time or filter.")
LH_SERVICE("observerd", LH_OBSERVER_ENDPOINTS, LH_NO_EVENTS)

#endif
