/*
 * stream.h — a reply in many messages: the bus's streaming protocol,
 * defined once here for every endpoint that streams (chat tokens today).
 *
 * A requester that can take a stream says so with the request header
 * `Lh-Stream: 1`; a responder that does not stream answers it with one
 * ordinary reply, which ends the conversation as always. A streamed reply
 * is a series of messages to the request's reply subject, each carrying
 * `Lh-Stream-Seq` (0, 1, 2, ... with no gap; NATS keeps one publisher's
 * order):
 *
 *   seq 0       opens the stream; empty body; `Lh-Stream-Control` names
 *               the subject where the requester cancels (any message there)
 *   seq 1..n    chunks: one message each, in the reply's encoding
 *   seq n+1     `Lh-Stream-End: 1`: the outcome, the endpoint's ordinary
 *               reply or its error (ADR-32 error headers and body)
 *
 * and, at any time, `Lh-Stream-Keepalive: 1` with no sequence number: a
 * stream with nothing to say yet (a log followed while nothing happens)
 * that is still there. It renews the deadline and carries nothing.
 *
 * Every message renews the requester's deadline, so a stream may last as
 * long as it keeps talking. A requester that goes away publishes to the
 * control subject; the responder sees lh_stream_cancelled turn true and
 * stops its upstream work, and ends the stream with 499.
 *
 * The responder's side is reached through lh_ctx_stream_* (bus/actor.h);
 * this file holds the wire details and the synchronous requester.
 */
#ifndef LH_STREAM_H
#define LH_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

#include "bus/buf.h"
#include "bus/conn.h"
#include "bus/contract.h"
#include "bus/err.h"
#include "bus/schema.h"

#define LH_HDR_STREAM "Lh-Stream"
#define LH_HDR_STREAM_SEQ "Lh-Stream-Seq"
#define LH_HDR_STREAM_END "Lh-Stream-End"
#define LH_HDR_STREAM_CONTROL "Lh-Stream-Control"
#define LH_HDR_STREAM_KEEPALIVE "Lh-Stream-Keepalive"
/* Responders' control subjects: _LH_STREAM.<instance id>.<stream number>. */
#define LH_STREAM_CONTROL_PREFIX "_LH_STREAM"
#define LH_STREAM_SUBJECT_MAX 96

/* ---- reading a message of a streamed reply ---- */

typedef enum {
    LH_STREAM_WHOLE, /* no Lh-Stream-Seq: an ordinary reply, the outcome */
    LH_STREAM_OPEN,  /* seq 0 */
    LH_STREAM_CHUNK,
    LH_STREAM_END,   /* the outcome */
    LH_STREAM_KEEPALIVE, /* still there, nothing to say */
    LH_STREAM_BAD,   /* a sequence header that is not a number */
} lh_stream_kind;

lh_stream_kind lh_stream_kind_of(natsMsg *msg, uint64_t *seq);
/* The control subject an opening message names, copied to out (empty when
 * it names none or it does not fit). */
void lh_stream_control_of(natsMsg *msg, char out[LH_STREAM_SUBJECT_MAX]);
/* Publishes the cancellation to a control subject (best effort). */
void lh_stream_cancel_publish(natsConnection *nc, const char *control);

/* ---- the responder (used by bus/actor.c) ---- */

/* One per actor: the subscription on its control subjects and the
 * streams open now, so a cancellation finds the stream it names. */
typedef struct lh_stream_hub lh_stream_hub;
typedef struct lh_stream lh_stream;

lh_err *lh_stream_hub_create(natsConnection *nc, const char *instance_id, lh_stream_hub **out);
/* No stream may be open. */
void lh_stream_hub_destroy(lh_stream_hub *h);

/* Opens a stream to `reply` (publishes seq 0). NULL when it cannot be
 * sent (the bus is away): the caller answers whole instead. */
lh_stream *lh_stream_open(lh_stream_hub *h, const char *reply, const char *rid);
/* Publishes the next chunk (its body as given). 499 once cancelled; 503
 * when the bus refused it. */
lh_err *lh_stream_send(lh_stream *s, const char *data, size_t len);
bool lh_stream_cancelled(const lh_stream *s);
/* Says the stream is still there (renews the requester's deadline). */
lh_err *lh_stream_keepalive(lh_stream *s);
/* Marks `msg` as the stream's last message (its seq and the end header)
 * and closes the stream; the caller publishes msg. */
natsStatus lh_stream_end(lh_stream *s, natsMsg *msg);

/* ---- the synchronous requester ---- */

/* Called for each chunk, decoded through the chunk schema (valid during
 * the call only); false stops the stream (it is cancelled, and the call
 * returns 499). */
typedef bool (*lh_stream_chunk_fn)(void *user, const void *chunk);

/* lh_call with a streamed reply: sends what `req` gives (as
 * lh_message_encode_given: defaults are the responder's) with Lh-Stream, calls
 * on_chunk for each chunk and decodes the outcome into *reply (in arena).
 * `idle_ms` bounds the wait for each message, not the whole stream. A
 * responder that answers whole gives no chunks, only the outcome. */
lh_err *lh_call_stream(lh_conn *c, const lh_contract *k, const void *req,
                       const lh_schema *chunk_schema, lh_stream_chunk_fn on_chunk, void *user,
                       lh_arena *arena, void **reply, int idle_ms);

#endif
