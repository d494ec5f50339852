/*
 * gateway.h — the HTTP actor.
 *
 * The gateway is an actor with no bus endpoints and one listening socket:
 * each HTTP request becomes one bus request (gateway/routes.c holds the one
 * route table), and the connection is suspended — no thread waits — until
 * the reply, the deadline (504) or a no-responders answer (503) arrives.
 *
 * Settings: LH_HTTP_ADDR, LH_HTTP_PORT and LH_REQUEST_TIMEOUT_MS (bus/config.h),
 * plus two of its own:
 *   LH_HTTP_MAX_BODY  largest request body in bytes (default 8 MiB; over it: 413)
 *   LH_HTTP_THREADS   polling threads serving HTTP (default 2)
 */
#ifndef LH_GATEWAY_H
#define LH_GATEWAY_H

#include "bus/actor.h"

extern const lh_actor_def lh_gateway_actor;

#endif
