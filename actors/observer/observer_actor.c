/*
 * observer_actor.c — observerd: its endpoint table. What happened, read
 * back from the log (history.c). It keeps nothing of its own yet: the log
 * is the record.
 */
#include "actors/observer/observer.h"

#include "actors/observer/history.h"
#include "schemas/observer.h"

static lh_err *lh_observer_events_handler(lh_ctx *ctx, const void *request, void *reply)
{
    return lh_observer_history(lh_actor_conn(lh_ctx_actor(ctx)), request, lh_ctx_arena(ctx),
                               reply);
}

static const lh_endpoint_def lh_observer_endpoints[] = {
    {&lh_ep_observer_events, lh_observer_events_handler},
};

const lh_actor_def lh_observer_actor = {
    .name = "observerd",
    .version = "0.1.0",
    .description = "Reads the platform's log (the JetStream stream EVENTS) back: what "
                   "happened, from a sequence number or a time, by actor, type or request.",
    .endpoints = lh_observer_endpoints,
    .n_endpoints = sizeof lh_observer_endpoints / sizeof lh_observer_endpoints[0],
};
