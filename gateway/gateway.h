/*
 * gateway.h — the HTTP actor.
 *
 * The gateway is an actor with no bus endpoints and one listening socket:
 * each HTTP request becomes one bus request (gateway/routes.c holds the one
 * route table), and the connection is suspended — no thread waits — until
 * the reply, the deadline (504) or a no-responders answer (503) arrives.
 *
 * Settings: LH_HTTP_ADDR, LH_HTTP_PORT and LH_REQUEST_TIMEOUT_MS (bus/config.h),
 * plus some of its own:
 *   LH_HTTP_MAX_BODY  largest request body in bytes (default 8 MiB; over it: 413;
 *                     streamed routes, such as PUT /v1/storage/..., have no limit)
 *   LH_HTTP_THREADS   polling threads serving HTTP (default 2)
 *   LH_HTTP_IDLE_TIMEOUT_S  a connection with no traffic for this long is
 *                     closed (default 120). It is also what ends an upload
 *                     whose client vanished when libmicrohttpd 0.9.75 misses
 *                     the reset: it clears a socket's read-readiness after a
 *                     short read, and an edge-triggered epoll brings no new
 *                     event once the peer is gone.
 */
#ifndef LH_GATEWAY_H
#define LH_GATEWAY_H

#include "bus/actor.h"

extern const lh_actor_def lh_gateway_actor;

/* One HTTP route as the docs present it (the route table is gateway/routes.c). */
typedef struct lh_gateway_route_info {
    const char *method;
    const char *pattern;           /* "/v1/storage/{bucket}/{key...}" */
    const lh_contract *contract;   /* NULL for routes answered by the gateway itself */
    const lh_schema *body;         /* the body's schema when not the contract's request */
    bool own_reply;                /* answers in its own JSON shape, not the contract's reply */
    const char *summary;
    bool query;                    /* the request comes from the query string */
    bool streamed;                 /* the body travels raw, in parts */
    const char *body_type;         /* streamed: the body's media type (NULL: none) */
    const lh_schema *reply_schema; /* streamed: the reply's, when JSON */
} lh_gateway_route_info;

/* The number of routes; fills *out with route i (< the number). */
size_t lh_gateway_routes(void);
void lh_gateway_route(size_t i, lh_gateway_route_info *out);

#endif
