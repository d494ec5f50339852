/*
 * storage_put.c — PUT /v1/storage/{bucket}/{key...}: the body streamed
 * into storaged as an upload, whatever its size, in bounded memory.
 *
 * The headers start storage.upload.begin and park the connection until it
 * answers, so a refused name (400), a clash (409) or a missing storaged
 * (503) is answered before the client sends the body (with `Expect:
 * 100-continue`, as curl does for large bodies, it has sent nothing yet).
 * Then the body fills a 1 MiB part buffer which goes out as
 * storage.upload.part when full (nats.c copies it, so the buffer fills the
 * next part at once). Two parts may be in flight, so that storaged writes
 * one while the next crosses the bus; when the buffer is full again with
 * two unacknowledged, the connection is suspended with the rest of the
 * chunk unconsumed: libmicrohttpd stops reading the socket, TCP pushes
 * back on the client, and an ack resumes it. So an upload holds one part
 * buffer here, plus what nats.c has not yet written to its socket,
 * however large the body is. The end
 * of the body sends the last part and storage.upload.commit (with
 * X-Content-SHA256, if given), and the commit's reply — the object's
 * description — is the response.
 *
 * A failure after the body has started (a refused part, a timeout, a
 * wrong sha256) can only be answered when the body has been read: the
 * rest of it is dropped, the upload aborted, and the error sent at the
 * end. A client that hangs up gets its upload aborted too; while the
 * gateway stops, aborts cannot be sent and storaged reaps those uploads
 * when they have been idle for an hour.
 *
 * A route may carry the conversation on after the commit (a
 * lh_gw_put_follow: POST /v1/datasets/{name} ingests the object it has
 * just stored); the connection stays parked until the follower finishes.
 *
 * The part buffer is the bus message itself: the body is copied once into
 * it, after room for the message's head ({upload, part, data: bin N},
 * encoded by the schema codec with the bin's header only), which is
 * written just in front of the body before sending; so the body is never
 * copied again here.
 */
#include "gateway/gw.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/json.h"
#include "bus/log.h"
#include "bus/request.h"
#include "schemas/storage.h"

#define LH_GW_PART LH_STORAGE_MAX_PART
/* Parts in flight at once: while storaged writes one, the next crosses
 * the bus. storaged takes them in order (storage_upload.c). */
#define LH_GW_PUT_WINDOW 2
#define LH_GW_SHA_HEADER "X-Content-SHA256"

typedef enum {
    LH_GW_PUT_BEGIN,  /* upload.begin in flight */
    LH_GW_PUT_OPEN,   /* parts going out */
    LH_GW_PUT_COMMIT, /* upload.commit in flight */
    LH_GW_PUT_FOLLOW, /* committed; the follower's requests go on */
    LH_GW_PUT_DONE,   /* committed (and followed): result holds the answer */
    LH_GW_PUT_FAILED, /* err says why; the upload was aborted */
} lh_gw_put_phase;

struct lh_gw_put {
    lh_gw_xfer x; /* first: the state is freed through it */
    const lh_gw_put_follow *follow; /* NULL: the object's description is the answer */
    void *follow_state;
    lh_gw_put_phase phase;
    bool headers_done; /* libmicrohttpd is past the headers: a size-0 call ends the body */
    char upload[72];  /* the upload id, once begun */
    char sha[65];      /* X-Content-SHA256, lowercase; "" when not given */
    int64_t parts_sent;
    lh_buf part;       /* the next part's message: room for its head, then body bytes */
    lh_buf msg;        /* the begin message; a part's head */
    lh_err *err;
    lh_buf err_body;
    lh_buf result;     /* the commit's reply (msgpack), or the follower's answer (JSON) */
    int status;        /* the follower's answer */
    char location[256];
};

static void lh_gw_put_free(lh_gw_xfer *x)
{
    lh_gw_put *p = (lh_gw_put *)x;
    lh_buf_free(&p->part);
    lh_buf_free(&p->msg);
    lh_buf_free(&p->err_body);
    lh_buf_free(&p->result);
    lh_err_free(p->err);
    if (p->follow && p->follow->free_state)
        p->follow->free_state(p->follow_state);
    free(p);
}

/* ---- messages ---- */

/* Room before a part's body for its head: the upload id (at most 64
 * bytes, the schema says) and the field names and numbers around it. */
#define LH_GW_PART_HEADROOM 128

static void lh_gw_put_part_reset(lh_gw_put *p)
{
    lh_buf_reset(&p->part);
    lh_buf_reserve(&p->part, LH_GW_PART_HEADROOM + LH_GW_PART);
    p->part.len = LH_GW_PART_HEADROOM;
}

static size_t lh_gw_put_filled(const lh_gw_put *p) { return p->part.len - LH_GW_PART_HEADROOM; }

static lh_str lh_gw_put_upload_id(const lh_gw_put *p)
{
    return (lh_str){p->upload, strlen(p->upload)};
}

/* ---- failing ---- */

static void lh_gw_put_abort(lh_gw_put *p)
{
    if (!p->upload[0])
        return;
    lh_storage_upload_ref ref = {.upload = lh_gw_put_upload_id(p)};
    lh_gw_fire_and_forget(p->x.gw, &lh_ep_storage_upload_abort, &ref, p->x.rid);
}

/* Keeps the first failure; the upload is aborted (storaged keeps one that
 * failed its sha256 check open for another try, which HTTP cannot make). */
static void lh_gw_put_fail(lh_gw_put *p, lh_err *err, natsMsg *msg)
{
    if (p->phase == LH_GW_PUT_FAILED)
        return;
    p->err = lh_gw_copy_error(err, msg, &p->err_body);
    p->phase = LH_GW_PUT_FAILED;
    lh_gw_put_abort(p);
}

/* lh_gw_put_fail for an error made here. */
static void lh_gw_put_fail_own(lh_gw_put *p, lh_err *err)
{
    lh_gw_put_fail(p, err, NULL);
    lh_err_free(err);
}

/* The client went away: an upload that cannot finish is aborted. */
static void lh_gw_put_orphaned(lh_gw_xfer *x)
{
    lh_gw_put *p = (lh_gw_put *)x;
    if (x->in_flight || p->phase != LH_GW_PUT_OPEN)
        return; /* a reply will call again; or nothing is left open */
    p->phase = LH_GW_PUT_FAILED;
    lh_log_set_request_id(x->rid);
    lh_info("the client went away during the upload; upload %s aborted", p->upload);
    lh_log_set_request_id(NULL);
    lh_gw_put_abort(p);
}

/* ---- replies (bus thread, lock held) ---- */

static void lh_gw_put_opened(lh_gw_put *p, natsMsg *msg)
{
    lh_arena *arena = lh_arena_create();
    lh_storage_upload_reply *rep = NULL;
    lh_err *err = lh_reply_decode(&lh_ep_storage_upload_begin, natsMsg_GetData(msg),
                                  (size_t)natsMsg_GetDataLength(msg), arena, (void **)&rep);
    if (!err && rep->upload.s && rep->upload.len < sizeof p->upload)
        memcpy(p->upload, rep->upload.s, rep->upload.len + 1); /* with the arena's NUL */
    lh_err_free(err);
    lh_arena_destroy(arena);
    if (!p->upload[0]) {
        lh_gw_put_fail_own(p, lh_err_new(LH_EINTERNAL, NULL,
                                         "storage.upload.begin answered without an upload id"));
        return;
    }
    p->phase = LH_GW_PUT_OPEN;
    lh_gw_put_part_reset(p);
}

static void lh_gw_put_committed(lh_gw_put *p, natsMsg *msg)
{
    p->upload[0] = '\0'; /* nothing left to abort */
    const char *data = natsMsg_GetData(msg);
    size_t len = (size_t)natsMsg_GetDataLength(msg);
    if (p->follow) {
        p->phase = LH_GW_PUT_FOLLOW;
        p->follow->committed(p, p->follow_state, data, len);
        return;
    }
    lh_buf_reset(&p->result);
    lh_buf_append(&p->result, data, len);
    p->phase = LH_GW_PUT_DONE;
}

static void lh_gw_put_on_reply(lh_gw_xfer *x, lh_err *err, natsMsg *msg)
{
    lh_gw_put *p = (lh_gw_put *)x;
    if (p->phase == LH_GW_PUT_FOLLOW) {
        p->follow->on_reply(p, p->follow_state, err, msg);
    } else if (err) {
        lh_gw_put_fail(p, err, msg);
    } else if (p->phase == LH_GW_PUT_BEGIN) {
        lh_gw_put_opened(p, msg);
    } else if (p->phase == LH_GW_PUT_COMMIT) {
        lh_gw_put_committed(p, msg);
    } /* a part's ack needs nothing */
    if (!x->req)
        lh_gw_put_orphaned(x);
}

/* ---- sending (libmicrohttpd's thread, lock held) ---- */

static void lh_gw_put_sent(lh_gw_put *p, lh_err *err)
{
    if (err)
        lh_gw_put_fail_own(p, err);
}

static void lh_gw_put_send_part(lh_gw_put *p)
{
    lh_storage_upload_part_request part = {
        .upload = lh_gw_put_upload_id(p),
        .part = ++p->parts_sent,
        .data = {NULL, lh_gw_put_filled(p)}, /* the body follows the head */
    };
    lh_buf_reset(&p->msg);
    lh_message_encode_head(lh_ep_storage_upload_part.request, &part, &p->msg);
    assert(p->msg.len <= LH_GW_PART_HEADROOM);
    char *head = p->part.data + LH_GW_PART_HEADROOM - p->msg.len;
    memcpy(head, p->msg.data, p->msg.len);
    lh_gw_put_sent(p, lh_gw_xfer_send(&p->x, &lh_ep_storage_upload_part, head,
                                      p->msg.len + lh_gw_put_filled(p), lh_gw_put_on_reply));
    p->part.len = LH_GW_PART_HEADROOM; /* nats.c copied it */
}

static void lh_gw_put_send_commit(lh_gw_put *p)
{
    lh_storage_upload_commit_request commit = {
        .upload = lh_gw_put_upload_id(p),
        .sha256 = p->sha[0] ? (lh_str){p->sha, strlen(p->sha)} : (lh_str){0},
    };
    p->phase = LH_GW_PUT_COMMIT;
    lh_gw_put_sent(p, lh_gw_xfer_call(&p->x, &lh_ep_storage_upload_commit, &commit,
                                      lh_gw_put_on_reply));
}

/* ---- the calls of libmicrohttpd ---- */

/* A body chunk: taken from the front while the part buffer has room. */
static void lh_gw_put_take(lh_gw_put *p, const char *data, size_t *size)
{
    while (*size > 0 && p->phase == LH_GW_PUT_OPEN) {
        size_t room = LH_GW_PART - lh_gw_put_filled(p);
        size_t n = *size < room ? *size : room;
        lh_buf_append(&p->part, data, n);
        data += n;
        *size -= n;
        if (lh_gw_put_filled(p) < LH_GW_PART)
            return;
        if (p->x.in_flight >= LH_GW_PUT_WINDOW) {
            lh_gw_xfer_suspend(&p->x); /* an ack resumes us; the rest waits in libmicrohttpd */
            return;
        }
        lh_gw_put_send_part(p);
    }
    *size = 0; /* failed: the rest of the body is read and dropped */
}

/* The follower's answer, with its Location when it gave one. */
static void lh_gw_put_answer_followed(lh_gw_put *p)
{
    lh_gw_req *req = p->x.req;
    if (!p->location[0]) {
        lh_gw_respond(req, p->status, &p->result, NULL);
        return;
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        p->result.len, p->result.data, MHD_RESPMEM_MUST_COPY);
    if (resp)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, p->location);
    if (!resp || !lh_gw_queue(req, p->status, resp, "application/json"))
        lh_gw_respond(req, p->status, &p->result, NULL);
    if (resp)
        MHD_destroy_response(resp);
}

static void lh_gw_put_answer(lh_gw_put *p)
{
    lh_gw_req *req = p->x.req;
    if (p->phase == LH_GW_PUT_FAILED) {
        int status = lh_gw_status_of(p->err);
        if (status >= 500)
            lh_gw_log_failure(req, status, lh_err_message(p->err));
        lh_gw_respond(req, status, &p->err_body, NULL);
        return;
    }
    if (p->follow) {
        lh_gw_put_answer_followed(p);
        return;
    }
    lh_buf_reset(&req->out);
    lh_err *err = lh_msgpack_to_json(p->result.data, p->result.len, &req->out);
    if (err) {
        lh_gw_respond_error(req, lh_err_wrap(err, "reply from storage.upload.commit"));
        return;
    }
    lh_gw_respond(req, 200, &req->out, NULL);
}

/* The end of the body: the last part, then (every part acknowledged) the
 * commit, then the answer. */
static void lh_gw_put_end(lh_gw_put *p)
{
    bool open = p->phase == LH_GW_PUT_OPEN;
    if (open && lh_gw_put_filled(p) > 0 && p->x.in_flight < LH_GW_PUT_WINDOW)
        lh_gw_put_send_part(p);
    else if (open && lh_gw_put_filled(p) == 0 && !p->x.in_flight)
        lh_gw_put_send_commit(p);
    if (p->x.in_flight)
        lh_gw_xfer_suspend(&p->x);
    else
        lh_gw_put_answer(p);
}

/* The headers again, after begin's reply resumed us: a failure is
 * answered now, before the body; else libmicrohttpd moves on to the body. */
static void lh_gw_put_headers(lh_gw_put *p)
{
    if (p->phase == LH_GW_PUT_FAILED)
        lh_gw_put_answer(p);
    else
        p->headers_done = true;
}

static lh_err *lh_gw_put_sha_header(lh_gw_req *req, char out[65])
{
    const char *v = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, LH_GW_SHA_HEADER);
    out[0] = '\0';
    if (!v)
        return NULL;
    size_t n = strlen(v);
    for (size_t i = 0; i < n && n == 64; i++) {
        if (!isxdigit((unsigned char)v[i]))
            n = 0;
        out[i] = (char)tolower((unsigned char)v[i]);
    }
    out[64] = '\0';
    if (n == 64)
        return NULL;
    out[0] = '\0';
    return lh_err_new(LH_EBADREQ, LH_GW_SHA_HEADER,
                      LH_GW_SHA_HEADER " must be 64 hexadecimal digits (the body's SHA-256)");
}

static void lh_gw_put_pack_begin(lh_gw_put *p, lh_gw_req *req)
{
    const char *ct = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    lh_storage_upload_begin_request begin = {
        .bucket = lh_gw_param_str(req, "bucket"),
        .key = lh_gw_param_str(req, "key"),
        .content_type = ct && *ct ? (lh_str){ct, strlen(ct)} : (lh_str){0},
    };
    lh_buf_reset(&p->msg);
    lh_message_encode(lh_ep_storage_upload_begin.request, &begin, &p->msg);
}

/* The first call: check the headers, begin the upload, wait for it. */
static void lh_gw_put_start(lh_gw_req *req, const lh_gw_put_follow *follow)
{
    char sha[65];
    void *state = NULL;
    lh_buf begin;
    lh_buf_init(&begin);
    lh_err *err = lh_gw_put_sha_header(req, sha);
    if (!err && follow)
        err = follow->begin(req, &state, &begin);
    lh_gw_put *p = err ? NULL : calloc(1, sizeof *p);
    if (!err && !p)
        err = lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    if (err) {
        if (follow && follow->free_state)
            follow->free_state(state);
        lh_buf_free(&begin);
        lh_gw_respond_error(req, err);
        return;
    }
    lh_gw_xfer_init(&p->x, req, lh_gw_put_free);
    p->x.on_detach = lh_gw_put_orphaned;
    p->follow = follow;
    p->follow_state = state;
    memcpy(p->sha, sha, sizeof sha);
    if (follow)
        lh_buf_append(&p->msg, begin.data, begin.len);
    else
        lh_gw_put_pack_begin(p, req);
    lh_buf_free(&begin);
    lh_gw_xfer_lock(&p->x);
    lh_gw_put_sent(p, lh_gw_xfer_send(&p->x, &lh_ep_storage_upload_begin, p->msg.data, p->msg.len,
                                      lh_gw_put_on_reply));
    if (p->x.in_flight)
        lh_gw_xfer_suspend(&p->x);
    else
        lh_gw_put_answer(p);
    lh_gw_xfer_unlock(&p->x);
}

void lh_gw_put_stream_call(lh_gw_req *req, const lh_gw_put_follow *follow, const char *data,
                           size_t *size)
{
    lh_gw_put *p = (lh_gw_put *)req->xfer;
    if (!p) {
        lh_gw_put_start(req, follow);
        return;
    }
    lh_gw_xfer_lock(&p->x);
    if (*size)
        lh_gw_put_take(p, data, size);
    else if (!p->headers_done)
        lh_gw_put_headers(p);
    else
        lh_gw_put_end(p);
    lh_gw_xfer_unlock(&p->x);
}

static void lh_gw_put_call(lh_gw_req *req, const char *method, const char *data, size_t *size)
{
    (void)method;
    lh_gw_put_stream_call(req, NULL, data, size);
}

/* ---- what a follower may do (lock held) ---- */

void lh_gw_put_send_next(lh_gw_put *p, const lh_contract *k, const lh_buf *msg)
{
    assert(p->phase == LH_GW_PUT_FOLLOW);
    if (!p->x.req) { /* the client has gone: nobody to answer */
        p->phase = LH_GW_PUT_DONE;
        return;
    }
    lh_gw_put_sent(p, lh_gw_xfer_send(&p->x, k, msg->data, msg->len, lh_gw_put_on_reply));
}

void lh_gw_put_finish(lh_gw_put *p, int status, const lh_buf *json, const char *location)
{
    assert(p->phase == LH_GW_PUT_FOLLOW);
    p->phase = LH_GW_PUT_DONE;
    p->status = status;
    lh_buf_reset(&p->result);
    lh_buf_append(&p->result, json->data, json->len);
    snprintf(p->location, sizeof p->location, "%s", location ? location : "");
}

void lh_gw_put_fail_with(lh_gw_put *p, lh_err *err, natsMsg *msg)
{
    assert(p->phase == LH_GW_PUT_FOLLOW);
    lh_gw_put_fail(p, err, msg);
}

const char *lh_gw_put_request_id(const lh_gw_put *p) { return p->x.rid; }
lh_gw *lh_gw_put_gateway(const lh_gw_put *p) { return p->x.gw; }

static const lh_gw_stream lh_gw_stream_storage_put = {
    .call = lh_gw_put_call,
    .done = lh_gw_xfer_done,
    .body_type = "application/octet-stream",
    .status = 200,
    .reply_type = "application/json",
    .reply_schema = &lh_storage_object_info_schema,
};

const lh_gw_shape lh_gw_shape_storage_put = {
    .name = "storage-put",
    .stream = &lh_gw_stream_storage_put,
};
