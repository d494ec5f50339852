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
#include "bus/err.h"

typedef struct lh_mux lh_mux;

/* `err` is NULL on success. On success `msg` is the reply (the callee's
 * error replies arrive as errors too, see lh_reply_error); the callback
 * owns neither and must copy what it keeps. */
typedef void (*lh_mux_cb)(void *user, lh_err *err, natsMsg *msg);

lh_err *lh_mux_create(lh_conn *c, lh_mux **out);
/* Fails every pending request with 503 and frees the mux. */
void lh_mux_destroy(lh_mux *m);

/* Publishes a request. On an immediate failure returns the error and the
 * callback is never called. `request_id` may be NULL. */
lh_err *lh_mux_request(lh_mux *m, const char *subject, const char *data, size_t len,
                       const char *request_id, int timeout_ms, lh_mux_cb cb, void *user);

size_t lh_mux_pending(lh_mux *m);

#endif
