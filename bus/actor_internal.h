/*
 * actor_internal.h — the runtime's view of a running actor, shared by the
 * request path (actor.c) and discovery (discovery.c). Not for actors.
 */
#ifndef LH_ACTOR_INTERNAL_H
#define LH_ACTOR_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "bus/actor.h"

#define LH_LAST_ERROR_MAX 256
#define LH_SRV_SUBS 9 /* PING, INFO, STATS x (all, by name, by name.id) */

typedef struct lh_endpoint_rt {
    const lh_endpoint_def *def;
    atomic_uint_fast64_t num_requests;
    atomic_uint_fast64_t num_errors;
    atomic_uint_fast64_t processing_ns;
    pthread_mutex_t mu; /* guards last_error */
    char last_error[LH_LAST_ERROR_MAX];
} lh_endpoint_rt;

/* One queue subscriber of one endpoint. nats.c delivers a subscription's
 * messages on one thread, so a worker's scratch space needs no lock. */
typedef struct lh_worker {
    lh_actor *actor;
    lh_endpoint_rt *ep;
    natsSubscription *sub;
    lh_arena *arena;
    lh_buf body; /* msgpack form of a JSON request */
    lh_buf out;  /* the reply, msgpack */
    lh_buf json; /* the reply, JSON */
} lh_worker;

struct lh_actor {
    const lh_actor_def *def;
    lh_config config;
    int workers;
    char id[23];
    char started[40]; /* RFC 3339, UTC */
    lh_conn *conn;
    void *state;
    bool initialised;
    lh_endpoint_rt *eps;
    lh_worker *wk; /* n_endpoints * workers */
    natsSubscription *srv[LH_SRV_SUBS];
    struct lh_stream_hub *hub; /* streams' cancellations (bus/stream.h); NULL without endpoints */
    struct lh_event_log *events; /* its events' way to the log (bus/event_log.h); likewise */
};

lh_err *lh_discovery_subscribe(lh_actor *a);
void lh_discovery_unsubscribe(lh_actor *a);

#endif
