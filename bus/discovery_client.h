/*
 * discovery_client.h — asking actors about themselves over the NATS service
 * API (ADR-32: $SRV.PING, $SRV.INFO, $SRV.STATS), the client side of
 * bus/discovery.c.
 *
 * Three callers need it in three shapes: the supervisor waits for one
 * actor to answer a ping (synchronous, with a deadline), `lakehouse status`
 * gathers every instance's document (all replies that arrive on one inbox
 * before a deadline), and the gateway's GET /v1/health and /metrics ask
 * every actor at once without blocking a thread (on the request
 * multiplexer). The
 * subjects and the checks of a reply live here, once.
 */
#ifndef LH_DISCOVERY_CLIENT_H
#define LH_DISCOVERY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "bus/conn.h"
#include "bus/err.h"
#include "bus/mux.h"

typedef enum {
    LH_DISCOVERY_PING,
    LH_DISCOVERY_INFO,
    LH_DISCOVERY_STATS,
} lh_discovery_verb;

/* "PING", "INFO" or "STATS". */
const char *lh_discovery_verb_name(lh_discovery_verb verb);

/* The verb's subject: "$SRV.PING", "$SRV.PING.<name>" or
 * "$SRV.PING.<name>.<id>" (name and id may be NULL; id needs a name).
 * Refuses (400) a name or id that would not be one subject token. */
lh_err *lh_discovery_subject(lh_discovery_verb verb, const char *name, const char *id,
                             char *out, size_t cap);

/* Reads a reply: the verb's io.nats.micro.v1 document (from actor `name`
 * when it is not NULL), as a new JSON object in *doc. Anything else is an
 * error (500) saying what came instead. */
lh_err *lh_discovery_parse(lh_discovery_verb verb, const char *name, const char *data, size_t len,
                           json_t **doc);

/* Pings actor `name` (any one instance; NULL: any actor) and waits up to
 * timeout_ms: NULL
 * when it answered with its ping_response; 503 when nothing serves it, 504
 * when no answer came in time, 500 when the answer was not a ping. */
lh_err *lh_discovery_ping(lh_conn *c, const char *name, int timeout_ms);

/* One document of a gather, borrowed for the call. Return false to stop
 * gathering early. */
typedef bool (*lh_discovery_doc_fn)(void *user, json_t *doc);

/* Sends the verb's request to every instance (of actor `name`, or of all
 * actors when NULL) and hands each valid document that arrives within
 * window_ms to `fn`; replies that are not the verb's document are skipped.
 * There is no telling how many instances will answer, so the window is
 * always waited out unless `fn` stops it. Fails only when the request
 * cannot be sent. */
lh_err *lh_discovery_gather(lh_conn *c, lh_discovery_verb verb, const char *name, int window_ms,
                            lh_discovery_doc_fn fn, void *user);

/* The outcome of an asynchronous question: err NULL and `doc` the verb's
 * document when the actor answered with it, else why not (as for
 * lh_discovery_ping) and doc NULL. The callback owns neither. It runs on
 * a mux thread (see lh_mux_cb). */
typedef void (*lh_discovery_reply_fn)(void *user, lh_err *err, json_t *doc);

/* Asks actor `name` (not NULL; any one instance) the verb through the
 * multiplexer without waiting: exactly one call of `cb` follows, unless
 * an error is returned (then none). */
lh_err *lh_discovery_ask_async(lh_mux *m, lh_discovery_verb verb, const char *name,
                               const char *request_id, int timeout_ms, lh_discovery_reply_fn cb,
                               void *user);

#endif
