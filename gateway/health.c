/*
 * health.c — GET /v1/health: is every actor the gateway fronts answering?
 *
 * One `$SRV.PING.<name>` per actor named in the route table, all sent at
 * once through the mux (lh_discovery_ask_async) with a short deadline
 * while the connection is suspended; the last answer to come resumes it.
 * 200 only when every actor answered, else 503 with the reason per actor.
 * /metrics surveys the actors the same way with $SRV.STATS
 * (lh_gw_survey), so it can show their own counters beside the gateway's.
 */
#include "gateway/gw.h"

#include <stdlib.h>
#include <string.h>

#include "bus/clock.h"
#include "bus/discovery_client.h"
#include "bus/json.h"

#define LH_GW_PING_TIMEOUT_MS 2000

struct lh_gw_ping {
    lh_gw_req *req;
    const char *actor;
    int64_t sent_ns;
    int64_t rtt_ns;
    bool up;
    char error[240];
    json_t *doc; /* the answer's document (STATS surveys keep it) */
};

static void lh_gw_ping_done(lh_gw_ping *p)
{
    lh_gw_req *req = p->req;
    /* acq_rel: the last one sees every slot written before it. */
    if (atomic_fetch_sub_explicit(&req->pings_left, 1, memory_order_acq_rel) == 1)
        lh_gw_resume(req);
}

static void lh_gw_on_pong(void *user, lh_err *err, json_t *doc)
{
    lh_gw_ping *p = user;
    lh_gw *gw = p->req->gw;
    p->rtt_ns = lh_clock_ns() - p->sent_ns;
    p->up = err == NULL;
    if (err)
        snprintf(p->error, sizeof p->error, "%s", lh_err_message(err));
    p->doc = doc ? json_incref(doc) : NULL;
    atomic_fetch_sub(&gw->bus_in_flight, 1);
    lh_gw_ping_done(p);
}

static void lh_gw_append_ping(const lh_gw_ping *p, lh_buf *out)
{
    lh_buf_append_str(out, "{\"name\":");
    lh_json_append_string(out, p->actor, strlen(p->actor));
    if (p->up) {
        lh_buf_appendf(out, ",\"up\":true,\"rtt_ms\":%.3f}", (double)p->rtt_ns / 1e6);
        return;
    }
    lh_buf_append_str(out, ",\"up\":false,\"error\":");
    lh_json_append_string(out, p->error, strlen(p->error));
    lh_buf_append(out, "}", 1);
}

static void lh_gw_health_finish(lh_gw_req *req)
{
    lh_gw_survey_release(req);
    bool all_up = true;
    for (size_t i = 0; i < req->n_pings; i++)
        all_up = all_up && req->pings[i].up;
    lh_buf *out = &req->out;
    lh_buf_reset(out);
    lh_buf_appendf(out, "{\"status\":\"%s\",\"actors\":[", all_up ? "ok" : "degraded");
    for (size_t i = 0; i < req->n_pings; i++) {
        if (i)
            lh_buf_append(out, ",", 1);
        lh_gw_append_ping(&req->pings[i], out);
    }
    lh_buf_append_str(out, "]}");
    lh_gw_respond(req, all_up ? 200 : 503, out, NULL);
}

static bool lh_gw_ping_slots(lh_gw_req *req, size_t n)
{
    if (!req->pings) /* kept with the pooled request: the actor count never changes */
        req->pings = calloc(n, sizeof *req->pings);
    req->n_pings = n;
    return req->pings != NULL;
}

static void lh_gw_ping_send(lh_gw_req *req, lh_gw_ping *p, lh_discovery_verb verb,
                            const char *actor, int timeout_ms)
{
    lh_gw *gw = req->gw;
    memset(p, 0, sizeof *p);
    p->req = req;
    p->actor = actor;
    atomic_fetch_add(&gw->bus_in_flight, 1);
    p->sent_ns = lh_clock_ns();
    lh_err *err = atomic_load(&gw->draining)
                      ? lh_err_new(LH_EUNAVAILABLE, NULL, "the gateway is shutting down")
                      : lh_discovery_ask_async(gw->mux, verb, actor, req->rid, timeout_ms,
                                               lh_gw_on_pong, p);
    if (err) {
        lh_gw_on_pong(p, err, NULL);
        lh_err_free(err);
    }
}

void lh_gw_survey(lh_gw_req *req, lh_discovery_verb verb, void (*finish)(lh_gw_req *req))
{
    size_t n;
    const char *const *actors = lh_gw_route_actors(&n);
    if (n == 0 || !lh_gw_ping_slots(req, n)) {
        req->n_pings = 0;
        finish(req);
        return;
    }
    int timeout = req->gw->config.request_timeout_ms;
    if (timeout > LH_GW_PING_TIMEOUT_MS)
        timeout = LH_GW_PING_TIMEOUT_MS;
    atomic_store(&req->pings_left, n);
    lh_gw_suspend(req, finish);
    /* The last answer may resume the connection while this loop still
     * runs; that is fine: only this thread serves the connection, and the
     * remaining slots are not touched by the answers already in. */
    lh_gw_ping *pings = req->pings;
    for (size_t i = 0; i < n; i++)
        lh_gw_ping_send(req, &pings[i], verb, actors[i], timeout);
}

size_t lh_gw_survey_results(lh_gw_req *req, const char **actor, json_t **doc, size_t i)
{
    if (i >= req->n_pings)
        return 0;
    *actor = req->pings[i].actor;
    *doc = req->pings[i].doc;
    return 1;
}

void lh_gw_survey_release(lh_gw_req *req)
{
    for (size_t i = 0; i < req->n_pings; i++) {
        json_decref(req->pings[i].doc);
        req->pings[i].doc = NULL;
    }
}

void lh_gw_health(lh_gw_req *req) { lh_gw_survey(req, LH_DISCOVERY_PING, lh_gw_health_finish); }
