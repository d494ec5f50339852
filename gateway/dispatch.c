/*
 * dispatch.c — one HTTP request becomes one bus request.
 *
 * The connection is suspended before publishing (the reply may beat the
 * publish call back), the mux callback copies the outcome into the request
 * state and resumes the connection, and the handler's next call turns the
 * outcome into the response on an HTTP thread. The callback only copies
 * bytes: conversion to JSON happens on the HTTP threads, which share the
 * load, rather than on the one thread that receives every reply.
 */
#include "gateway/gw.h"

#include <string.h>
#include <time.h>

#include "bus/clock.h"
#include "bus/log.h"

static void lh_gw_on_reply(void *user, lh_err *err, natsMsg *msg)
{
    lh_gw_req *req = user;
    lh_gw *gw = req->gw;
    if (err)
        req->reply_err = lh_err_new(lh_err_code(err), lh_err_field(err), "%s", lh_err_message(err));
    lh_buf_reset(&req->reply);
    req->reply_has_body = msg != NULL;
    if (msg)
        lh_buf_append(&req->reply, natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg));
    /* Safe before resuming: the mux outlives this callback (destroy waits
     * for it), and the daemon outlives the mux. */
    atomic_fetch_sub(&gw->bus_in_flight, 1);
    lh_gw_resume(req);
}

static void lh_gw_finish(lh_gw_req *req)
{
    lh_err *err = req->reply_err;
    req->reply_err = NULL;
    lh_buf_reset(&req->out);
    if (err) {
        size_t len = req->reply_has_body ? req->reply.len : 0;
        lh_gw_error_out(req->match.route->shape, err, len ? req->reply.data : NULL, len,
                        &req->out);
        int status = lh_gw_status_of(err);
        if (status >= 500)
            lh_gw_log_failure(req, status, lh_err_message(err));
        lh_err_free(err);
        lh_gw_respond(req, status, &req->out, NULL);
        return;
    }
    const lh_gw_route *r = req->match.route;
    err = r->shape->reply(req, req->reply.data, req->reply.len, &req->out);
    if (err) {
        lh_gw_respond_error(req, lh_err_wrap(err, "reply from %s", r->contract->subject));
        return;
    }
    int status = req->reply_status ? req->reply_status : 200;
    lh_gw_respond(req, status, &req->out, NULL);
}

void lh_gw_dispatch(lh_gw_req *req)
{
    const lh_gw_route *r = req->match.route;
    lh_gw *gw = req->gw;
    lh_buf_reset(&req->bus);
    lh_err *err = r->shape->request(req, &req->bus);
    if (err) {
        lh_gw_respond_error(req, err);
        return;
    }
    if (req->sse) { /* the reply comes as a stream of events */
        lh_gw_sse_dispatch(req);
        return;
    }
    /* Counted before looking at `draining` (both seq_cst): either stop sees
     * this request and waits for it, or this request sees stop and refuses. */
    atomic_fetch_add(&gw->bus_in_flight, 1);
    if (atomic_load(&gw->draining)) {
        atomic_fetch_sub(&gw->bus_in_flight, 1);
        lh_gw_respond_error(req, lh_err_new(LH_EUNAVAILABLE, NULL, "the gateway is shutting down"));
        return;
    }
    lh_gw_suspend(req, lh_gw_finish);
    int deadline = req->timeout_ms > 0 ? req->timeout_ms : gw->config.request_timeout_ms;
    err = lh_mux_request(gw->mux, r->contract->subject, req->bus.data, req->bus.len, req->rid, deadline,
                         lh_gw_on_reply, req);
    if (err) { /* no callback will come: deliver the failure the same way */
        req->reply_err = err;
        req->reply_has_body = false;
        atomic_fetch_sub(&gw->bus_in_flight, 1);
        lh_gw_resume(req);
    }
}

void lh_gw_dispatch_wait_idle(lh_gw *gw, int timeout_ms)
{
    struct timespec tick = {0, 2 * 1000 * 1000};
    int64_t until = lh_clock_ns() + (int64_t)timeout_ms * 1000000;
    while (atomic_load(&gw->bus_in_flight) > 0 && lh_clock_ns() < until)
        nanosleep(&tick, NULL);
    int left = atomic_load(&gw->bus_in_flight);
    if (left > 0)
        lh_warn("%d bus request%s still in flight at shutdown", left, left == 1 ? "" : "s");
}
