/*
 * actor.h — an actor is a table.
 *
 * Each actor declares itself once: name (the ADR-32 service name, which is
 * the daemon name: "embedd"), version, description, optional lifecycle
 * hooks, and an endpoint table that binds a handler to each of its
 * contracts (bus/contract.h: name, subject, request and reply schema, doc;
 * declared in schemas/). The runtime does the rest: a queue subscription in group
 * "q" per endpoint per worker, msgpack-or-JSON decoding through the
 * request schema, the reply in the request's encoding, ADR-32 error
 * headers, request ids, per-endpoint stats and $SRV discovery. An actor
 * that also serves something other than the bus (the gateway: HTTP)
 * reports it to discovery through its extra_endpoints hook.
 */
#ifndef LH_ACTOR_H
#define LH_ACTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/buf.h"
#include "bus/config.h"
#include "bus/conn.h"
#include "bus/contract.h"
#include "bus/err.h"
#include "bus/schema.h"

typedef struct lh_actor lh_actor;
typedef struct lh_ctx lh_ctx;

/* Handles one decoded request. `req` is a struct of the endpoint's request
 * schema; `reply` a zeroed struct of its reply schema for the handler to
 * fill (strings and arrays allocated with lh_ctx_alloc). Return NULL for
 * success or an error to send instead. */
typedef lh_err *(*lh_handler_fn)(lh_ctx *ctx, const void *req, void *reply);

/* A handler bound to a contract of the actor's own service. */
typedef struct lh_endpoint_def {
    const lh_contract *contract;
    lh_handler_fn handler;
} lh_endpoint_def;

/* One more ADR-32 endpoint entry for work an actor serves outside its bus
 * endpoints (the gateway's HTTP requests), so $SRV.INFO lists it and
 * $SRV.STATS (and with it `lakehouse status`) counts it. */
#define LH_EXTRA_ENDPOINTS_MAX 4
typedef struct lh_endpoint_stats {
    const char *name;       /* "http" */
    const char *subject;    /* where it is served, e.g. "http://127.0.0.1:8080" */
    uint64_t num_requests;
    uint64_t num_errors;
    uint64_t processing_ns; /* total */
    char last_error[256];   /* "" when none */
    char data[256];         /* members of its stats `data` ("\"k\":1,..."), "" for none */
} lh_endpoint_stats;

typedef struct lh_actor_def {
    const char *name;        /* "embedd": every endpoint contract's service */
    const char *version;     /* semver */
    const char *description;
    const lh_endpoint_def *endpoints;
    size_t n_endpoints;
    /* Called before subscribing; the state is given to every handler. */
    lh_err *(*init)(lh_actor *actor, void **state);
    /* Called after endpoints are subscribed (the gateway opens its socket here). */
    lh_err *(*start)(lh_actor *actor, void *state);
    /* Called when stopping, before the connection drains (stop taking work). */
    void (*stop)(lh_actor *actor, void *state);
    /* Called last, after in-flight requests are done. */
    void (*fini)(void *state);
    /* Optional: fills up to `cap` (LH_EXTRA_ENDPOINTS_MAX) entries for
     * discovery and returns how many. Called on a bus thread at any time
     * between init and fini, so it must read its counters atomically or
     * under its own lock. */
    size_t (*extra_endpoints)(lh_actor *actor, void *state, lh_endpoint_stats *out, size_t cap);
    /* Optional: appends the members of an endpoint's ADR-32 stats `data`
     * object ("\"cache_hits\":3,..." without braces; nothing for none).
     * Called on a bus thread at any time, as extra_endpoints is. */
    void (*stats_data)(lh_actor *actor, void *state, const lh_contract *k, lh_buf *out);
} lh_actor_def;

typedef struct lh_actor_opts {
    const lh_config *config;
    int workers; /* subscribers per endpoint, >= 1 */
} lh_actor_opts;

/* Connects, initialises, subscribes and starts. Every endpoint's contract
 * must belong to the actor's service (asserted). */
lh_err *lh_actor_create(const lh_actor_def *def, const lh_actor_opts *opts, lh_actor **out);
/* Stops taking requests, finishes those in flight, disconnects. */
void lh_actor_destroy(lh_actor *a);

const lh_actor_def *lh_actor_def_of(const lh_actor *a);
const char *lh_actor_id(const lh_actor *a);
const lh_config *lh_actor_config(const lh_actor *a);
lh_conn *lh_actor_conn(const lh_actor *a);
void *lh_actor_state(const lh_actor *a);

/* ---- inside a handler ---- */

void *lh_ctx_state(lh_ctx *ctx);
lh_actor *lh_ctx_actor(lh_ctx *ctx);
const char *lh_ctx_request_id(lh_ctx *ctx);
/* Zeroed memory that lives until the reply is sent. */
void *lh_ctx_alloc(lh_ctx *ctx, size_t n);
lh_arena *lh_ctx_arena(lh_ctx *ctx);

/* ---- answering later ---- */

typedef struct lh_deferred lh_deferred;

/* Takes over the reply to the request being handled, so a handler whose
 * work is slow (an ingest job) can return at once, freeing its bus thread,
 * and answer from another thread when the work is done. The handler must
 * then return NULL; the runtime sends nothing for it. Exactly one
 * lh_deferred_reply or lh_deferred_fail must follow, from any thread,
 * before the actor's stop hook returns (the connection drains after it).
 * Call at most once per request. */
lh_deferred *lh_ctx_defer(lh_ctx *ctx);
/* Sends `reply`, a struct of the endpoint's reply schema, in the request's
 * encoding (msgpack or JSON), and frees the handle. */
void lh_deferred_reply(lh_deferred *d, const void *reply);
/* Sends `err` as the error reply and frees the handle; `err` stays the
 * caller's. */
void lh_deferred_fail(lh_deferred *d, const lh_err *err);
/* lh_ctx_stream_begin / _send / _cancelled for a deferred reply, from the
 * thread that answers it; lh_deferred_reply or lh_deferred_fail ends the
 * stream. */
bool lh_deferred_stream_begin(lh_deferred *d);
lh_err *lh_deferred_stream_send(lh_deferred *d, const lh_schema *schema, const void *chunk);
bool lh_deferred_stream_cancelled(const lh_deferred *d);
/* Tells the requester the stream is still there, with nothing to say. */
lh_err *lh_deferred_stream_keepalive(lh_deferred *d);

/* ---- answering in a stream (bus/stream.h) ---- */

/* Starts a streamed reply when the requester asked for one (the
 * Lh-Stream header) and it could be opened: true then, and chunks follow
 * with lh_ctx_stream_send; the handler's return (its reply or its error)
 * is the stream's last message. False: answer whole, as always. Not with
 * lh_ctx_defer. */
bool lh_ctx_stream_begin(lh_ctx *ctx);
/* Sends one chunk, a struct of `schema`, in the request's encoding. 499
 * once the requester has cancelled: stop the work and return it. */
lh_err *lh_ctx_stream_send(lh_ctx *ctx, const lh_schema *schema, const void *chunk);
/* The requester has cancelled the stream (false when none is open). */
bool lh_ctx_stream_cancelled(lh_ctx *ctx);
/* Tells the requester the stream is still there, with nothing to say. */
lh_err *lh_ctx_stream_keepalive(lh_ctx *ctx);

/* ---- discovery documents (ADR-32), also used by tests ---- */

/* Appends the JSON of $SRV.PING / INFO / STATS for this actor. */
void lh_actor_ping_json(lh_actor *a, lh_buf *out);
void lh_actor_info_json(lh_actor *a, lh_buf *out);
void lh_actor_stats_json(lh_actor *a, lh_buf *out);

/* Generates a random ADR-32 instance id (22 chars of [0-9A-Za-z]). */
void lh_new_id(char out[23]);

#endif
