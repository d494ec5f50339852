/*
 * request.h — calling other actors.
 *
 * lh_request is the synchronous call a handler makes to another actor:
 * msgpack in, msgpack out, a deadline, and the caller's Lh-Request-Id passed
 * on. An error reply (ADR-32 headers) comes back as an lh_err with the
 * callee's code and message; a timeout is 504 and no responders is 503.
 */
#ifndef LH_REQUEST_H
#define LH_REQUEST_H

#include <stddef.h>

#include "bus/buf.h"
#include "bus/conn.h"
#include "bus/contract.h"
#include "bus/err.h"
#include "bus/schema.h"

#define LH_HDR_REQUEST_ID "Lh-Request-Id"
#define LH_HDR_ERROR_CODE "Nats-Service-Error-Code"
#define LH_HDR_ERROR "Nats-Service-Error"

/* Sends `data` to `subject` and appends the reply body to `reply`.
 * `request_id` may be NULL (the thread's current one is used, if any). */
lh_err *lh_request(lh_conn *c, const char *subject, const char *data, size_t len,
                   const char *request_id, int timeout_ms, lh_buf *reply);

/* The typed call: `req`, a struct of the contract's request schema, is
 * encoded through it; the reply is decoded through the contract's reply
 * schema into `arena` (when `reply` is not NULL), so no message is packed
 * or picked apart by hand. Errors name the subject. */
lh_err *lh_call(lh_conn *c, const lh_contract *k, const void *req, lh_arena *arena, void **reply,
                int timeout_ms);

/* Decodes a reply of contract `k` (unknown keys passed over). A reply that
 * does not fit is the callee's fault: a 500 naming the subject, with the
 * decoder's error as its cause, never the decoder's 400 and field (which
 * would blame the caller's caller). */
lh_err *lh_reply_decode(const lh_contract *k, const char *data, size_t len, lh_arena *arena,
                        void **out);


/* The error carried by a reply message (ADR-32 headers or a no-responders
 * status), or NULL when the message is a success reply. */
lh_err *lh_reply_error(natsMsg *msg, const char *subject);

#endif
