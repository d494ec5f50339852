/*
 * gateway.c — the gateway as an actor: its settings and its lifecycle.
 *
 * start: the mux on the actor's connection, then the HTTP socket.
 * stop:  refuse new work, stop accepting, let every bus request in flight
 *        finish (each is bounded by its deadline), destroy the mux while
 *        the connection is still up, then stop the HTTP threads. All of it
 *        happens before the runtime drains the connection.
 * fini:  free what is left.
 *
 * Its $SRV.STATS reports one "http" endpoint counting every HTTP answer
 * (5xx as errors), since it has no bus endpoints of its own.
 */
#include "gateway/gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/clock.h"
#include "bus/log.h"
#include "gateway/gw.h"

#define LH_GW_DEFAULT_THREADS 2
#define LH_GW_DEFAULT_IDLE_TIMEOUT_S 120
/* After the bus work is done, how long answered requests get to go out. */
#define LH_GW_FLUSH_MS 1000

static lh_err *lh_gw_init(lh_actor *actor, void **state)
{
    lh_gw *gw = calloc(1, sizeof *gw);
    if (!gw)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    gw->config = *lh_actor_config(actor);
    gw->max_body =
        (size_t)lh_config_env_int("LH_HTTP_MAX_BODY", LH_GW_DEFAULT_MAX_BODY, 1, INT64_C(1) << 40);
    gw->threads = (int)lh_config_env_int("LH_HTTP_THREADS", LH_GW_DEFAULT_THREADS, 1, 64);
    gw->idle_timeout_s = (unsigned)lh_config_env_int("LH_HTTP_IDLE_TIMEOUT_S",
                                                  LH_GW_DEFAULT_IDLE_TIMEOUT_S, 1, 86400);
    gw->listen_fd = -1;
    bool v6 = strchr(gw->config.http_addr, ':') != NULL;
    snprintf(gw->url, sizeof gw->url, "http://%s%s%s:%d", v6 ? "[" : "", gw->config.http_addr,
             v6 ? "]" : "", gw->config.http_port);
    size_t n_routes, n_actors;
    lh_gw_routes(&n_routes);
    lh_gw_route_actors(&n_actors); /* computed once, before any HTTP thread */
    gw->metrics = lh_gw_metrics_create(n_routes);
    if (!gw->metrics) {
        free(gw);
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    }
    lh_gw_openapi_build(&gw->openapi);
    *state = gw;
    return NULL;
}

static lh_err *lh_gw_start(lh_actor *actor, void *state)
{
    lh_gw *gw = state;
    lh_err *err = lh_mux_create(lh_actor_conn(actor), &gw->mux);
    if (!err)
        err = lh_gw_server_start(gw);
    return err; /* on error the runtime calls stop, which undoes what started */
}

static void lh_gw_wait_answered(lh_gw *gw, int timeout_ms)
{
    struct timespec tick = {0, 2 * 1000 * 1000};
    int64_t until = lh_clock_ns() + (int64_t)timeout_ms * 1000000;
    while (atomic_load(&gw->http_in_flight) > 0 && lh_clock_ns() < until)
        nanosleep(&tick, NULL);
}

static void lh_gw_stop(lh_actor *actor, void *state)
{
    (void)actor;
    lh_gw *gw = state;
    if (!gw)
        return;
    atomic_store(&gw->draining, true);
    lh_gw_server_quiesce(gw);
    if (gw->mux) {
        lh_gw_dispatch_wait_idle(gw, gw->config.request_timeout_ms + 1000);
        atomic_store(&gw->mux_closing, true);
        struct timespec tick = {0, 1000 * 1000};
        while (atomic_load(&gw->mux_users) > 0) /* a cancel under way: quick */
            nanosleep(&tick, NULL);
        lh_mux_destroy(gw->mux); /* answers any straggler with 503 */
        gw->mux = NULL;
    }
    if (gw->daemon) {
        lh_gw_wait_answered(gw, LH_GW_FLUSH_MS);
        lh_gw_server_stop(gw);
    }
}

static void lh_gw_fini(void *state)
{
    lh_gw *gw = state;
    if (!gw)
        return;
    lh_gw_stop(NULL, gw); /* a no-op after stop; cleans up if start failed midway */
    lh_gw_pool_free(gw);
    lh_gw_metrics_destroy(gw->metrics);
    lh_buf_free(&gw->openapi);
    free(gw);
}

/* The gateway serves HTTP, not bus endpoints: its own $SRV.STATS would
 * otherwise count nothing. One "http" endpoint reports every answer. */
static size_t lh_gw_extra_endpoints(lh_actor *actor, void *state, lh_endpoint_stats *out,
                                    size_t cap)
{
    (void)actor;
    lh_gw *gw = state;
    if (!cap)
        return 0;
    out->name = "http";
    out->subject = gw->url;
    lh_gw_metrics_totals(gw->metrics, out);
    return 1;
}

const lh_actor_def lh_gateway_actor = {
    .name = "gateway",
    .version = "0.1.0",
    .description = "The HTTP gateway: one bus request per HTTP request, connections "
                   "suspended while the bus answers.",
    .endpoints = NULL,
    .n_endpoints = 0,
    .init = lh_gw_init,
    .start = lh_gw_start,
    .stop = lh_gw_stop,
    .fini = lh_gw_fini,
    .extra_endpoints = lh_gw_extra_endpoints,
};
