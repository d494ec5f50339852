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
      .doc = "At most this many events (1 to 1000, default 100); with follow, when given, " \
             "the stream ends after them.")                                                 \
    F(T, follow, BOOL, .def = 0,                                                            \
      .doc = "Stream the events (`lh_observer_event` chunks), then every new one as it "    \
             "happens, until the requester goes away: needs a streamed request (the "       \
             "Lh-Stream header; SSE over HTTP).")
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

/* ---- observer.stats ---- */

#define LH_OBSERVER_STATS_REQUEST(F, T)
LH_MESSAGE(lh_observer_stats_request, LH_OBSERVER_STATS_REQUEST, "Ask for the log's counts.")

#define LH_OBSERVER_BUCKET(F, T)                                                            \
    F(T, le_ms, FLOAT, .flags = LH_F_OMIT_UNSET,                                            \
      .doc = "Upper bound in ms (absent on the last: +Inf).")                               \
    F(T, count, INT, .doc = "Events in this bucket (not cumulative).")
LH_MESSAGE(lh_observer_bucket, LH_OBSERVER_BUCKET, "One bucket of a latency histogram.")

#define LH_OBSERVER_TYPE_STATS(F, T)                                                        \
    F(T, actor, STRING, .doc = "The actor that told them.")                                 \
    F(T, type, STRING, .doc = "`<actor>.<event>`.")                                         \
    F(T, count, INT, .doc = "Events of this type in the log since observerd first read it.")\
    F(T, last_time, STRING, .doc = "When the last one happened.")                           \
    F(T, ms_count, INT, .doc = "Of them, those that say how long they took (`ms`).")        \
    F(T, ms_sum, FLOAT, .doc = "Their total time, ms.")                                     \
    F(T, ms_buckets, OBJECTS, .sub = &lh_observer_bucket_schema,                            \
      .doc = "Their times as a histogram.")
LH_MESSAGE(lh_observer_type_stats, LH_OBSERVER_TYPE_STATS, "Counts of one event type.")

#define LH_OBSERVER_STATS_REPLY(F, T)                                                       \
    F(T, types, OBJECTS, .sub = &lh_observer_type_stats_schema,                             \
      .doc = "Per actor and event type, in the order first seen.")                          \
    F(T, counted_seq, INT, .doc = "The last sequence number of the log counted.")           \
    F(T, log_seq, INT, .doc = "The log's last sequence number now.")                        \
    F(T, lag, INT, .doc = "Events in the log not counted yet.")                             \
    F(T, services, ANY,                                                                     \
      .doc = "Every actor instance's own `$SRV.STATS` document now, by `<name>.<id>`.")
LH_MESSAGE(lh_observer_stats_reply, LH_OBSERVER_STATS_REPLY, "What the log says happened.")

/* ---- observer.replay ---- */

#define LH_OBSERVER_REPLAY_REQUEST(F, T)                                                    \
    F(T, to_subject, STRING, .required = true, .min = 1, .max = 200,                        \
      .doc = "Where to publish the events: a plain subject (no wildcards), not under "      \
             "`events.` (that would write them into the log again) nor `$`.")              \
    F(T, from_seq, INT, .min = 1, .max = 9007199254740992.0, .flags = LH_F_OMIT_UNSET,      \
      .doc = "From this sequence number on (default: the start).")                          \
    F(T, from_time, STRING, .max = 64, .doc = "From this RFC 3339 time on; not with from_seq.")\
    F(T, actor, STRING, .max = 64, .doc = "Only this actor's events.")                      \
    F(T, type, STRING, .max = 128, .doc = "Only events of this type.")                      \
    F(T, request_id, STRING, .max = 64, .doc = "Only the events this request caused.")     \
    F(T, batch, INT, .min = 1, .max = LH_OBSERVER_MAX_LIMIT, .def = 1,                      \
      .doc = "Events per message: 1 (the default) publishes each event as the log keeps "  \
             "it; more packs up to that many (and 256 KiB) into one message shaped as an "  \
             "observer.events reply (`events`, `next_seq`, `more`), with Lh-Replay-Batch "  \
             "giving the count: for readers that want the history fast.")
LH_MESSAGE(lh_observer_replay_request, LH_OBSERVER_REPLAY_REQUEST,
           "Publish the log's history to a subject, in order, at full speed.")

#define LH_OBSERVER_REPLAY_REPLY(F, T)                                                      \
    F(T, to_subject, STRING, .doc = "Where they went.")                                     \
    F(T, replayed, INT, .doc = "Events published.")                                         \
    F(T, last_seq, INT, .doc = "The last sequence number looked at (0: none).")             \
    F(T, next_seq, INT, .doc = "Where a later replay would go on from.")
LH_MESSAGE(lh_observer_replay_reply, LH_OBSERVER_REPLAY_REPLY,
           "A replay's end; also published to to_subject, with Lh-Replay-End.")

/* ---- contracts ---- */

#define LH_OBSERVER_ENDPOINTS(E, S)                                                         \
    E(S, observer_events, "events", "observer.events", lh_observer_events_request,          \
      lh_observer_events_reply,                                                             \
      "Read the log back from a sequence number or a time, filtered by actor, type or "     \
      "request id. 400 for a malformed time or filter.")                                   \
    E(S, observer_stats, "stats", "observer.stats", lh_observer_stats_request,              \
      lh_observer_stats_reply,                                                              \
      "Counts of every event type in the log, with time histograms, kept by a durable "     \
      "consumer (no event counted twice or missed across restarts), beside every actor's "  \
      "$SRV.STATS.")                                                                       \
    E(S, observer_replay, "replay", "observer.replay", lh_observer_replay_request,          \
      lh_observer_replay_reply,                                                             \
      "Publish the history (from a sequence or a time, filtered) to to_subject in order, "  \
      "each event as it was with Lh-Replay-Seq and Lh-Event-Subject, then a message with "  \
      "Lh-Replay-End carrying this reply; answered when done.")
LH_SERVICE("observerd", LH_OBSERVER_ENDPOINTS, LH_NO_EVENTS)

#endif
