/*
 * xfer.c — the bus side of a streamed route: one conversation (a series
 * of requests) driven by one HTTP request.
 *
 * Two threads meet here: libmicrohttpd's, which feeds the body in or
 * reads the response out, and the bus thread that delivers each reply.
 * They share the state under its lock. When the connection must wait for
 * the bus (a full part buffer, the next range not there yet), the
 * libmicrohttpd side suspends it and the reply resumes it: no thread ever
 * blocks on the bus. The state is reference-counted because either side
 * may finish first: a client that hangs up leaves a request in flight
 * whose reply must land somewhere.
 */
#include "gateway/gw.h"

#include <assert.h>
#include <stdio.h>

#include "bus/log.h"
#include "bus/request.h"

void lh_gw_xfer_init(lh_gw_xfer *x, lh_gw_req *req, void (*free_fn)(lh_gw_xfer *x))
{
    pthread_mutex_init(&x->mu, NULL);
    x->refs = 1; /* the HTTP request's */
    x->gw = req->gw;
    x->req = req;
    x->conn = req->conn;
    snprintf(x->rid, sizeof x->rid, "%s", req->rid);
    x->free_fn = free_fn;
    req->xfer = x;
}

void lh_gw_xfer_lock(lh_gw_xfer *x) { pthread_mutex_lock(&x->mu); }
void lh_gw_xfer_unlock(lh_gw_xfer *x) { pthread_mutex_unlock(&x->mu); }

void lh_gw_xfer_ref(lh_gw_xfer *x)
{
    assert(x->refs > 0);
    x->refs++;
}

void lh_gw_xfer_unref(lh_gw_xfer *x)
{
    pthread_mutex_lock(&x->mu);
    assert(x->refs > 0);
    bool last = --x->refs == 0;
    pthread_mutex_unlock(&x->mu);
    if (!last)
        return;
    pthread_mutex_destroy(&x->mu);
    x->free_fn(x);
}

static void lh_gw_xfer_on_reply(void *user, lh_err *err, natsMsg *msg)
{
    lh_gw_xfer *x = user;
    lh_gw *gw = x->gw;
    pthread_mutex_lock(&x->mu);
    assert(x->in_flight > 0);
    x->in_flight--;
    x->streaming = false;
    x->on_reply(x, err, msg);
    /* Resumed after unlocking: a suspended connection cannot end, so conn
     * stays valid, and only this reply may resume it. */
    bool resume = x->suspended;
    x->suspended = false;
    struct MHD_Connection *conn = x->conn;
    pthread_mutex_unlock(&x->mu);
    /* Safe before resuming: the mux outlives this callback, and the daemon
     * outlives the mux (gateway.c). */
    atomic_fetch_sub(&gw->bus_in_flight, 1);
    if (resume)
        MHD_resume_connection(conn);
    lh_gw_xfer_unref(x);
}

lh_err *lh_gw_xfer_send(lh_gw_xfer *x, const lh_contract *k, const char *data, size_t len,
                        lh_gw_xfer_reply_fn on_reply)
{
    lh_gw *gw = x->gw;
    /* Counted before looking at `draining`, as dispatch.c does. */
    atomic_fetch_add(&gw->bus_in_flight, 1);
    if (atomic_load(&gw->draining)) {
        atomic_fetch_sub(&gw->bus_in_flight, 1);
        return lh_err_new(LH_EUNAVAILABLE, NULL, "the gateway is shutting down");
    }
    x->in_flight++;
    x->on_reply = on_reply;
    x->refs++;
    /* The reply may arrive on another thread before this returns: it
     * waits for our lock. */
    lh_err *err = lh_mux_request(gw->mux, k->subject, data, len, x->rid,
                                 gw->config.request_timeout_ms, lh_gw_xfer_on_reply, x);
    if (err) {
        x->in_flight--;
        x->refs--;
        atomic_fetch_sub(&gw->bus_in_flight, 1);
    }
    return err;
}

/* A chunk of a streamed reply: handed on under the lock, and the
 * connection resumed as a reply resumes it. */
static void lh_gw_xfer_on_chunk(void *user, natsMsg *msg)
{
    lh_gw_xfer *x = user;
    pthread_mutex_lock(&x->mu);
    x->on_chunk(x, msg);
    bool resume = x->suspended;
    x->suspended = false;
    struct MHD_Connection *conn = x->conn;
    pthread_mutex_unlock(&x->mu);
    if (resume)
        MHD_resume_connection(conn);
}

lh_err *lh_gw_xfer_stream(lh_gw_xfer *x, const lh_contract *k, const char *data, size_t len,
                          void (*on_chunk)(lh_gw_xfer *x, natsMsg *msg),
                          lh_gw_xfer_reply_fn on_reply)
{
    lh_gw *gw = x->gw;
    assert(!x->in_flight); /* one stream, and nothing else, at a time */
    atomic_fetch_add(&gw->bus_in_flight, 1);
    if (atomic_load(&gw->draining)) {
        atomic_fetch_sub(&gw->bus_in_flight, 1);
        return lh_err_new(LH_EUNAVAILABLE, NULL, "the gateway is shutting down");
    }
    x->in_flight++;
    x->on_reply = on_reply;
    x->on_chunk = on_chunk;
    x->streaming = true;
    x->refs++;
    lh_err *err = lh_mux_stream(gw->mux, k->subject, data, len, x->rid,
                                gw->config.request_timeout_ms, lh_gw_xfer_on_chunk,
                                lh_gw_xfer_on_reply, x, &x->stream);
    if (err) {
        x->in_flight--;
        x->streaming = false;
        x->refs--;
        atomic_fetch_sub(&gw->bus_in_flight, 1);
    }
    return err;
}

lh_err *lh_gw_xfer_call(lh_gw_xfer *x, const lh_contract *k, const void *msg,
                        lh_gw_xfer_reply_fn on_reply)
{
    lh_buf body;
    lh_buf_init(&body);
    lh_message_encode(k->request, msg, &body);
    lh_err *err = lh_gw_xfer_send(x, k, body.data, body.len, on_reply);
    lh_buf_free(&body);
    return err;
}

void lh_gw_xfer_suspend(lh_gw_xfer *x)
{
    assert(x->in_flight && x->req && !x->suspended);
    x->suspended = true;
    MHD_suspend_connection(x->conn);
}

void lh_gw_xfer_done(lh_gw_req *req)
{
    lh_gw_xfer *x = req->xfer;
    if (!x)
        return;
    req->xfer = NULL;
    pthread_mutex_lock(&x->mu);
    assert(!x->suspended); /* libmicrohttpd never ends a suspended connection */
    x->req = NULL;
    x->conn = NULL;
    if (x->on_detach)
        x->on_detach(x);
    /* A stream still running has nobody to go to: stop it at its source. */
    bool cancel = x->streaming;
    uint64_t stream = x->stream;
    lh_gw *gw = x->gw;
    pthread_mutex_unlock(&x->mu);
    if (cancel) {
        atomic_fetch_add(&gw->mux_users, 1);
        if (!atomic_load(&gw->mux_closing)) /* else the mux's destroy ends it */
            lh_mux_cancel(gw->mux, stream);
        atomic_fetch_sub(&gw->mux_users, 1);
    }
    lh_gw_xfer_unref(x);
}

/* ---- requests nobody waits for ---- */

static void lh_gw_forgotten(void *user, lh_err *err, natsMsg *msg)
{
    (void)msg;
    lh_gw *gw = user;
    if (err)
        lh_debug("a request nobody waited for failed: %s", lh_err_message(err));
    atomic_fetch_sub(&gw->bus_in_flight, 1);
}

void lh_gw_fire_and_forget(lh_gw *gw, const lh_contract *k, const void *msg, const char *rid)
{
    lh_buf body;
    lh_buf_init(&body);
    lh_message_encode(k->request, msg, &body);
    atomic_fetch_add(&gw->bus_in_flight, 1);
    lh_err *err = atomic_load(&gw->draining)
                      ? lh_err_new(LH_EUNAVAILABLE, NULL, "the gateway is shutting down")
                      : lh_mux_request(gw->mux, k->subject, body.data, body.len, rid,
                                       gw->config.request_timeout_ms, lh_gw_forgotten, gw);
    lh_buf_free(&body);
    if (err) {
        atomic_fetch_sub(&gw->bus_in_flight, 1);
        lh_debug("%s not sent: %s", k->subject, lh_err_message(err));
        lh_err_free(err);
    }
}
