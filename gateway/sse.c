/*
 * sse.c — a streamed reply (bus/stream.h) relayed as Server-Sent Events.
 *
 * A bus route whose request function sets req->sse asks the bus for a
 * stream instead of one reply. Nothing is answered until the first
 * message: an outcome that comes before any chunk (a refusal, an unknown
 * model) is answered as an ordinary response with its status, which is
 * what clients handle best. The first chunk queues a 200
 * `text/event-stream` response read from a callback; each chunk after it
 * is formatted into SSE text by the route's format and waits in a buffer
 * until libmicrohttpd's reader takes it. The reader suspends the
 * connection when the buffer is empty and the next chunk resumes it, so
 * no thread waits; a client that goes away cancels the stream on the bus
 * (lh_gw_xfer_done), which stops the responder's upstream call.
 */
#include "gateway/gw.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "bus/json.h"
#include "bus/log.h"
#include "bus/stream.h"

/* libmicrohttpd's buffer between the reader and the socket. */
#define LH_GW_SSE_BLOCK (16 * 1024)
/* A client this far behind is not reading: its stream is ended (and
 * cancelled on the bus) rather than buffered without bound. */
#define LH_GW_SSE_MAX_PENDING (8u << 20)

typedef struct lh_gw_sse {
    lh_gw_xfer x;              /* first: the xfer's free_fn gets it */
    const lh_gw_sse_format *format;
    const lh_gw_shape *shape;  /* how an early error is written */
    lh_gw_sse_info info;       /* what the format keeps */
    lh_buf pending;            /* SSE text not yet taken by the reader */
    size_t taken;
    bool streaming;            /* the 200 response is queued */
    bool opened;               /* a chunk or keepalive came: the 200 may go out */
    bool ended;                /* the last event is in pending */
    lh_err *early_err;         /* an outcome before any chunk: answered whole */
    lh_buf early_body;         /* its body (JSON), or the whole reply's SSE */
    bool early_ok;
} lh_gw_sse;

static void lh_gw_sse_free(lh_gw_xfer *x)
{
    lh_gw_sse *s = (lh_gw_sse *)x;
    lh_buf_free(&s->pending);
    lh_buf_free(&s->early_body);
    lh_err_free(s->early_err);
    lh_arena_destroy(s->info.arena);
    free(s);
}

/* ---- the bus side (with the xfer's lock) ---- */

static void lh_gw_sse_on_chunk(lh_gw_xfer *x, natsMsg *msg)
{
    lh_gw_sse *s = (lh_gw_sse *)x;
    if (s->ended)
        return;
    s->opened = true;
    uint64_t seq;
    if (lh_stream_kind_of(msg, &seq) == LH_STREAM_KEEPALIVE) { /* an SSE comment: still here */
        if (s->pending.len - s->taken < LH_GW_SSE_MAX_PENDING)
            lh_buf_append_str(&s->pending, ": keepalive\n\n");
        return;
    }
    lh_err *err = NULL;
    if (s->pending.len - s->taken > LH_GW_SSE_MAX_PENDING)
        err = lh_err_new(LH_EUNAVAILABLE, NULL,
                         "the client is more than %u bytes behind the stream: ended",
                         LH_GW_SSE_MAX_PENDING);
    else
        err = s->format->chunk(&s->info, natsMsg_GetData(msg),
                               (size_t)natsMsg_GetDataLength(msg), &s->pending);
    s->info.chunks++;
    if (!err)
        return;
    /* a chunk we cannot read or keep: the stream ends here, upstream too */
    s->format->error(&s->info, err, &s->pending);
    s->ended = true;
    lh_err_free(err);
    lh_mux_cancel(x->gw->mux, x->stream); /* safe in a chunk callback: ends after it */
}

static void lh_gw_sse_on_end(lh_gw_xfer *x, lh_err *err, natsMsg *msg)
{
    lh_gw_sse *s = (lh_gw_sse *)x;
    const char *data = msg ? natsMsg_GetData(msg) : NULL;
    size_t len = msg ? (size_t)natsMsg_GetDataLength(msg) : 0;
    if (s->ended)
        return;
    if (!s->opened && err) { /* nothing streamed yet: an ordinary error response */
        s->early_err = lh_err_new(lh_err_code(err), lh_err_field(err), "%s", lh_err_message(err));
        lh_gw_error_out(s->shape, s->early_err, data, len, &s->early_body);
    } else { /* a whole answer before any chunk is streamed all the same */
        lh_buf *out = s->opened ? &s->pending : &s->early_body;
        lh_err *bad = err ? NULL : s->format->end(&s->info, data, len, out);
        if (err || bad)
            s->format->error(&s->info, err ? err : bad, out);
        lh_err_free(bad);
        s->early_ok = out == &s->early_body;
    }
    s->ended = true;
}

/* ---- the HTTP side ---- */

static ssize_t lh_gw_sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    lh_gw_sse *s = cls;
    lh_gw_xfer_lock(&s->x);
    ssize_t n = 0;
    size_t left = s->pending.len - s->taken;
    if (left) {
        n = (ssize_t)(left < max ? left : max);
        memcpy(buf, s->pending.data + s->taken, (size_t)n);
        s->taken += (size_t)n;
        if (s->taken == s->pending.len) {
            lh_buf_reset(&s->pending);
            s->taken = 0;
        }
    } else if (s->ended) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else if (s->x.in_flight && s->x.req) {
        lh_gw_xfer_suspend(&s->x); /* the next chunk resumes us */
    } else {
        n = MHD_CONTENT_READER_END_WITH_ERROR;
    }
    lh_gw_xfer_unlock(&s->x);
    return n;
}

static void lh_gw_sse_reader_done(void *cls) { lh_gw_xfer_unref(cls); }

/* Queues the 200 event stream; returns the response for the caller to
 * destroy once the lock is released (destroying it may free s). */
static struct MHD_Response *lh_gw_sse_respond(lh_gw_sse *s)
{
    lh_gw_req *req = s->x.req;
    struct MHD_Response *resp = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, LH_GW_SSE_BLOCK, lh_gw_sse_read, s, lh_gw_sse_reader_done);
    if (!resp) {
        lh_gw_respond_error(req, lh_err_new(LH_EINTERNAL, NULL, "out of memory"));
        return NULL;
    }
    lh_gw_xfer_ref(&s->x); /* the reader's */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no"); /* proxies: pass it on at once */
    s->streaming = true;
    if (!lh_gw_queue(req, 200, resp, "text/event-stream"))
        lh_gw_respond_error(req, lh_err_new(LH_EINTERNAL, NULL, "cannot queue the stream"));
    return resp;
}

/* The request's call after a resume: the first message has come. */
static void lh_gw_sse_proceed(lh_gw_req *req)
{
    lh_gw_sse *s = (lh_gw_sse *)req->xfer;
    struct MHD_Response *resp = NULL;
    lh_gw_xfer_lock(&s->x);
    if (s->early_err) {
        int status = lh_gw_status_of(s->early_err);
        if (status >= 500)
            lh_gw_log_failure(req, status, lh_err_message(s->early_err));
        lh_gw_respond(req, status, &s->early_body, NULL);
    } else if (s->early_ok) { /* whole, before any chunk: every event at once */
        lh_gw_respond(req, 200, &s->early_body, "text/event-stream");
    } else if (s->opened) {
        resp = lh_gw_sse_respond(s);
    } else {
        lh_gw_xfer_suspend(&s->x); /* resumed without news: wait on */
        req->state = LH_GW_SUSPENDED;
        req->on_resume = lh_gw_sse_proceed;
    }
    lh_gw_xfer_unlock(&s->x);
    if (resp)
        MHD_destroy_response(resp);
}

void lh_gw_sse_dispatch(lh_gw_req *req)
{
    lh_gw_sse *s = calloc(1, sizeof *s);
    if (!s) {
        lh_gw_respond_error(req, lh_err_new(LH_EINTERNAL, NULL, "out of memory"));
        return;
    }
    s->format = req->sse;
    s->shape = req->match.route->shape;
    s->info.arena = lh_arena_create();
    s->info.options = req->sse_options;
    lh_gw_xfer_init(&s->x, req, lh_gw_sse_free);
    snprintf(s->info.id, sizeof s->info.id, "%s", req->rid);
    lh_gw_xfer_lock(&s->x);
    const lh_contract *k = req->match.route->contract;
    lh_err *err = lh_gw_xfer_stream(&s->x, k, req->bus.data, req->bus.len, lh_gw_sse_on_chunk,
                                    lh_gw_sse_on_end);
    if (!err) {
        /* Suspended until the first message: both steps under the lock,
         * which the first message's callback needs to resume us. */
        lh_gw_xfer_suspend(&s->x);
        req->state = LH_GW_SUSPENDED;
        req->on_resume = lh_gw_sse_proceed;
    }
    lh_gw_xfer_unlock(&s->x);
    if (err)
        lh_gw_respond_error(req, err);
}

/* ---- the native format ---- */

static lh_err *lh_gw_sse_json_event(const char *event, const char *data, size_t len, lh_buf *out)
{
    lh_buf json; /* converted apart: a message that fails adds nothing */
    lh_buf_init(&json);
    lh_err *err = lh_msgpack_to_json(data, len, &json); /* compact: no newline inside */
    if (!err) {
        if (event)
            lh_buf_appendf(out, "event: %s\n", event);
        lh_buf_append_str(out, "data: ");
        lh_buf_append(out, json.data, json.len);
        lh_buf_append_str(out, "\n\n");
    }
    lh_buf_free(&json);
    return err;
}

static lh_err *lh_gw_sse_native_chunk(lh_gw_sse_info *s, const char *data, size_t len, lh_buf *out)
{
    (void)s;
    return lh_gw_sse_json_event(NULL, data, len, out);
}

static lh_err *lh_gw_sse_native_end(lh_gw_sse_info *s, const char *data, size_t len, lh_buf *out)
{
    (void)s;
    return lh_gw_sse_json_event("reply", data, len, out);
}

static void lh_gw_sse_native_error(lh_gw_sse_info *s, const lh_err *err, lh_buf *out)
{
    (void)s;
    lh_buf_append_str(out, "event: error\ndata: ");
    lh_gw_error_json(err, out);
    lh_buf_append_str(out, "\n\n");
}

const lh_gw_sse_format lh_gw_sse_native = {
    .chunk = lh_gw_sse_native_chunk,
    .end = lh_gw_sse_native_end,
    .error = lh_gw_sse_native_error,
};
