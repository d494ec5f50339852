/*
 * mux.h — many requests in flight on one reply inbox.
 *
 * The gateway (and anything else that must not block a thread per request)
 * publishes each request with its own reply subject under one wildcard
 * inbox subscription, `_LH_INBOX.<id>.<seq>`, and gets a callback when the
 * reply arrives, when the deadline passes (504), or when nobody serves the
 * subject (503). Exactly one callback per request, on a bus thread.
 */
#ifndef LH_MUX_H
#define LH_MUX_H

#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

#include "bus/conn.h"
#include "bus/contract.h"
#include "bus/err.h"

typedef struct lh_mux lh_mux;

/* Exactly one call per request:
 *   reply            err NULL,                      msg the reply
 *   error reply      err = lh_reply_error(msg, ..), msg the reply, so its
 *                    `{"error":{...}}` body can be passed on as it is
 *   no responders    err 503 "no actor is serving <subject>", msg NULL
 *   deadline passed  err 504 "no reply from <subject> within N ms", msg NULL
 *   lh_mux_destroy   err 503, msg NULL
 * The callback owns neither `err` nor `msg` and must copy what it keeps. It
 * runs on the inbox's delivery thread (replies), the mux's timer thread
 * (timeouts; possibly before lh_mux_request has returned) or the thread
 * calling lh_mux_destroy, so it must be quick and must not call
 * lh_mux_destroy. */
typedef void (*lh_mux_cb)(void *user, lh_err *err, natsMsg *msg);

lh_err *lh_mux_create(lh_conn *c, lh_mux **out);
/* Stops the inbox and the timer, fails every pending request with 503 and
 * frees the mux. No lh_mux_request, lh_mux_stream or lh_mux_cancel may run
 * concurrently with it. */
void lh_mux_destroy(lh_mux *m);

/* Publishes a request with the reply subject `_LH_INBOX.<id>.<seq>` and
 * the Lh-Request-Id header. On an immediate failure returns the error and
 * the callback is never called. `request_id` may be NULL (the thread's
 * current one is used, if any). */
lh_err *lh_mux_request(lh_mux *m, const char *subject, const char *data, size_t len,
                       const char *request_id, int timeout_ms, lh_mux_cb cb, void *user);

size_t lh_mux_pending(lh_mux *m);

/* ---- streamed replies (bus/stream.h) ---- */

/* One chunk of a streamed reply (its body in the reply's encoding), in
 * order, or a keepalive (lh_stream_kind_of says LH_STREAM_KEEPALIVE; no
 * body), on the inbox's delivery thread; never after the request's end
 * callback. The callback owns nothing and must not call the mux, but for
 * lh_mux_cancel of its own request (which then ends right after it). */
typedef void (*lh_mux_chunk_cb)(void *user, natsMsg *msg);

/* lh_mux_request asking for a streamed reply (the Lh-Stream header):
 * on_chunk for each chunk, then exactly one on_end with the outcome, as
 * lh_mux_cb (the stream's last message, or an ordinary reply from a
 * responder that answers whole). `idle_ms` is the deadline, renewed by
 * every message. *handle names the request for lh_mux_cancel. */
lh_err *lh_mux_stream(lh_mux *m, const char *subject, const char *data, size_t len,
                      const char *request_id, int idle_ms, lh_mux_chunk_cb on_chunk,
                      lh_mux_cb on_end, void *user, uint64_t *handle);
/* The requester goes away: on_end gets 499 now (or, when a chunk is being
 * delivered, as soon as it is), and the responder is told to stop. A
 * request already ended is left alone. */
void lh_mux_cancel(lh_mux *m, uint64_t handle);

/* ---- the typed call (mux_call.c) ---- */

/* Exactly one call per lh_mux_call, as for lh_mux_cb: `reply` is the
 * decoded struct of the contract's reply schema when err is NULL, else
 * NULL. Neither outlives the callback. */
typedef void (*lh_mux_call_cb)(void *user, lh_err *err, const void *reply);

/* lh_mux_request with the message encoded from `req` through the
 * contract's request schema and the reply decoded through its reply
 * schema: the asynchronous counterpart of lh_call. */
lh_err *lh_mux_call(lh_mux *m, const lh_contract *k, const void *req, const char *request_id,
                    int timeout_ms, lh_mux_call_cb cb, void *user);

#endif
