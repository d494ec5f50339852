/*
 * storage_get.c — GET and HEAD /v1/storage/{bucket}/{key...}: an object
 * streamed back in ranges, with Range (206, 416), ETag (the sha256),
 * Content-Type, Content-Length and Last-Modified.
 *
 * The headers ask storaged first: storage.get of the first 4 MiB for a
 * plain GET (one round trip for a small object), storage.head for HEAD or
 * a Range (its size decides what the range means). The response is then
 * read by libmicrohttpd from a callback as the socket takes it.
 *
 * How the next range arrives without blocking a thread: the reader serves
 * the range it holds and, as soon as it starts on one, asks the bus for
 * the following one through the mux. When the socket drains faster than
 * storaged answers, the reader finds nothing ready, suspends the
 * connection and returns 0; the reply resumes it and libmicrohttpd calls
 * the reader again. (Returning 0 without suspending would make the epoll
 * thread spin; blocking it would stall every other connection it serves.)
 * So one download holds at most two ranges (8 MiB) here, and no thread
 * waits on the bus.
 *
 * Every range carries the object's sha256: if the object is replaced
 * between two ranges, the stream is cut (the client sees fewer bytes than
 * Content-Length) rather than ending with a mix of two objects.
 */
#include "gateway/gw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bus/request.h"
#include "schemas/storage.h"

#define LH_GW_RANGE ((uint64_t)LH_STORAGE_MAX_GET)
/* libmicrohttpd's buffer between the reader and the socket. */
#define LH_GW_BLOCK (256 * 1024)

typedef struct lh_gw_objinfo {
    uint64_t size;
    char sha[72];
    char content_type[256];
    char modified[40];
} lh_gw_objinfo;

/* A Range header as given: bytes=a-b, a- or -n (n in `last`). */
typedef struct lh_gw_range {
    bool given;
    bool has_first, has_last;
    uint64_t first, last;
} lh_gw_range;

/* One storage.get reply, decoded in place: `data` points into `raw`. */
typedef struct lh_gw_chunk {
    lh_buf raw;
    lh_arena *arena;
    const char *data;
    size_t len;
    uint64_t offset;
} lh_gw_chunk;

typedef struct lh_gw_get {
    lh_gw_xfer x; /* first: the state is freed through it */
    bool head;
    bool asked_head; /* the request in flight is storage.head */
    bool have_info;
    lh_gw_objinfo info;
    lh_gw_range range;
    int status;         /* 200, 206 or 416 once the size is known; 0 before */
    uint64_t first, end; /* the object's bytes [first, end) are served */
    uint64_t fetched;   /* ranges were asked for up to here */
    lh_gw_chunk cur, next;
    bool next_ready;
    bool failed;
    lh_err *err;
    lh_buf err_body;
    char bucket[72];
    lh_buf key;
} lh_gw_get;

static void lh_gw_get_free(lh_gw_xfer *x)
{
    lh_gw_get *g = (lh_gw_get *)x;
    lh_buf_free(&g->cur.raw);
    lh_buf_free(&g->next.raw);
    lh_arena_destroy(g->cur.arena);
    lh_arena_destroy(g->next.arena);
    lh_buf_free(&g->err_body);
    lh_buf_free(&g->key);
    lh_err_free(g->err);
    free(g);
}

static void lh_gw_get_fail(lh_gw_get *g, lh_err *err, natsMsg *msg)
{
    if (g->failed)
        return;
    g->failed = true;
    g->err = lh_gw_copy_error(err, msg, &g->err_body);
}

static void lh_gw_get_fail_own(lh_gw_get *g, lh_err *err)
{
    lh_gw_get_fail(g, err, NULL);
    lh_err_free(err);
}

/* ---- reading replies ---- */

static void lh_gw_copy_str(const lh_str *v, char *out, size_t cap)
{
    if (v->s)
        snprintf(out, cap, "%.*s", (int)v->len, v->s);
}

static void lh_gw_read_info(const lh_storage_object_info *o, lh_gw_objinfo *info)
{
    info->size = o->size > 0 ? (uint64_t)o->size : 0;
    lh_gw_copy_str(&o->sha256, info->sha, sizeof info->sha);
    lh_gw_copy_str(&o->content_type, info->content_type, sizeof info->content_type);
    lh_gw_copy_str(&o->modified, info->modified, sizeof info->modified);
}

/* A storage.get reply: its object's description and its bytes (which
 * point into c->raw, not copied: a range is 4 MiB). */
static bool lh_gw_read_chunk(lh_gw_chunk *c, lh_gw_objinfo *info)
{
    if (!c->arena)
        c->arena = lh_arena_create();
    lh_arena_reset(c->arena);
    lh_storage_get_reply *rep = NULL;
    lh_err *err = lh_schema_decode_reply_in_place(lh_ep_storage_get.reply, c->raw.data, c->raw.len,
                                            c->arena, (void **)&rep);
    bool ok = !err && rep->data.data && rep->object;
    lh_err_free(err);
    if (!ok)
        return false;
    lh_gw_read_info(rep->object, info);
    c->offset = rep->offset > 0 ? (uint64_t)rep->offset : 0;
    c->data = rep->data.data;
    c->len = rep->data.len;
    return true;
}

/* A storage.head reply: the description alone. */
static bool lh_gw_read_head(const char *data, size_t len, lh_gw_objinfo *info)
{
    lh_arena *arena = lh_arena_create();
    lh_storage_object_info *o = NULL;
    lh_err *err = lh_reply_decode(&lh_ep_storage_head, data, len, arena, (void **)&o);
    if (!err)
        lh_gw_read_info(o, info);
    lh_arena_destroy(arena);
    lh_err_free(err);
    return !err;
}

/* The reply to the request in flight (bus thread, lock held). */
static void lh_gw_get_on_reply(lh_gw_xfer *x, lh_err *err, natsMsg *msg)
{
    lh_gw_get *g = (lh_gw_get *)x;
    if (err) {
        lh_gw_get_fail(g, err, msg);
        return;
    }
    const char *data = natsMsg_GetData(msg);
    size_t len = (size_t)natsMsg_GetDataLength(msg);
    lh_gw_objinfo info = {0};
    bool ok;
    if (g->asked_head) { /* the description alone */
        ok = lh_gw_read_head(data, len, &info);
    } else { /* a range, kept until the reader wants it */
        lh_buf_reset(&g->next.raw);
        lh_buf_append(&g->next.raw, data, len);
        ok = g->next_ready = lh_gw_read_chunk(&g->next, &info);
    }
    if (!ok || !info.sha[0])
        lh_gw_get_fail_own(g, lh_err_new(LH_EINTERNAL, NULL, "storaged sent a malformed reply"));
    else if (g->have_info && strcmp(info.sha, g->info.sha))
        lh_gw_get_fail_own(g, lh_err_new(LH_ECONFLICT, NULL,
                                         "the object was replaced while it was being read"));
    else if (!g->have_info)
        g->info = info, g->have_info = true;
}

/* ---- asking (libmicrohttpd's thread, lock held) ---- */

static void lh_gw_get_ask(lh_gw_get *g, bool head, uint64_t offset, uint64_t length)
{
    lh_str bucket = {g->bucket, strlen(g->bucket)}, key = {g->key.data, g->key.len};
    lh_storage_get_request get = {.bucket = bucket, .key = key, .offset = (int64_t)offset,
                                  .length = (int64_t)length};
    lh_storage_object_request ask_head = {.bucket = bucket, .key = key};
    g->asked_head = head;
    lh_err *err = head ? lh_gw_xfer_call(&g->x, &lh_ep_storage_head, &ask_head, lh_gw_get_on_reply)
                       : lh_gw_xfer_call(&g->x, &lh_ep_storage_get, &get, lh_gw_get_on_reply);
    if (err)
        lh_gw_get_fail_own(g, err);
}

/* The next range after what was asked for, if any and nothing is pending. */
static void lh_gw_get_ahead(lh_gw_get *g)
{
    if (g->x.in_flight || g->next_ready || g->failed || g->fetched >= g->end)
        return;
    uint64_t n = g->end - g->fetched < LH_GW_RANGE ? g->end - g->fetched : LH_GW_RANGE;
    lh_gw_get_ask(g, false, g->fetched, n);
    g->fetched += n;
}

/* ---- the content reader ---- */

static bool lh_gw_get_in_cur(const lh_gw_get *g, uint64_t at)
{
    return at >= g->cur.offset && at < g->cur.offset + g->cur.len;
}

/* Moves the range fetched ahead into place. */
static void lh_gw_get_advance(lh_gw_get *g, uint64_t at)
{
    lh_gw_chunk t = g->cur;
    g->cur = g->next;
    g->next = t;
    g->next_ready = false;
    if (!lh_gw_get_in_cur(g, at))
        lh_gw_get_fail_own(g, lh_err_new(LH_EINTERNAL, NULL, "storaged sent range %llu+%zu, not %llu",
                                         (unsigned long long)g->cur.offset, g->cur.len,
                                         (unsigned long long)at));
}

static ssize_t lh_gw_get_read_locked(lh_gw_get *g, uint64_t pos, char *buf, size_t max)
{
    uint64_t at = g->first + pos;
    if (!lh_gw_get_in_cur(g, at) && g->next_ready)
        lh_gw_get_advance(g, at);
    if (g->failed)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (!lh_gw_get_in_cur(g, at)) {
        lh_gw_get_ahead(g);
        if (!g->x.in_flight)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        lh_gw_xfer_suspend(&g->x); /* the range's arrival resumes us */
        return 0;
    }
    uint64_t left = g->cur.offset + g->cur.len - at;
    size_t n = left < max ? (size_t)left : max;
    memcpy(buf, g->cur.data + (at - g->cur.offset), n);
    lh_gw_get_ahead(g);
    return (ssize_t)n;
}

static ssize_t lh_gw_get_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    lh_gw_get *g = cls;
    lh_gw_xfer_lock(&g->x);
    ssize_t n = lh_gw_get_read_locked(g, pos, buf, max);
    lh_gw_xfer_unlock(&g->x);
    return n;
}

static void lh_gw_get_reader_done(void *cls) { lh_gw_xfer_unref(cls); }

/* ---- Range ---- */

static bool lh_gw_parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 19)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* One range of bytes; anything else (several ranges, other units, bad
 * syntax) is ignored and the whole object served, as RFC 9110 allows. */
static lh_gw_range lh_gw_parse_range(const char *h)
{
    lh_gw_range r = {0};
    if (!h || strncasecmp(h, "bytes=", 6) || strchr(h, ','))
        return r;
    const char *spec = h + 6, *dash = strchr(spec, '-');
    if (!dash)
        return r;
    size_t a = (size_t)(dash - spec), b = strlen(dash + 1);
    r.has_first = lh_gw_parse_u64(spec, a, &r.first);
    r.has_last = lh_gw_parse_u64(dash + 1, b, &r.last);
    bool ok = (r.has_first || r.has_last) && (a == 0 || r.has_first) && (b == 0 || r.has_last) &&
              !(r.has_first && r.has_last && r.last < r.first);
    r.given = ok;
    return r;
}

/* Sets first/end and the status for the object's size. */
static void lh_gw_get_resolve(lh_gw_get *g)
{
    const lh_gw_range *r = &g->range;
    uint64_t size = g->info.size;
    g->first = 0;
    g->end = size;
    if (!r->given) {
        g->status = 200;
    } else if (r->has_first ? r->first >= size : r->last == 0 || size == 0) {
        g->status = 416;
    } else if (r->has_first) { /* a-b or a- */
        g->status = 206;
        g->first = r->first;
        g->end = r->has_last && r->last < size ? r->last + 1 : size;
    } else { /* -n: the last n bytes */
        g->status = 206;
        g->first = r->last < size ? size - r->last : 0;
    }
}

/* ---- the response ---- */

/* RFC 3339 (what storaged keeps) to an HTTP date. */
static bool lh_gw_http_date(const char *rfc3339, char *out, size_t cap)
{
    struct tm tm = {0};
    const char *rest = strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return false;
    time_t t = timegm(&tm);
    gmtime_r(&t, &tm);
    return strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0;
}

static void lh_gw_get_headers(const lh_gw_get *g, struct MHD_Response *resp)
{
    char v[160];
    snprintf(v, sizeof v, "\"%s\"", g->info.sha);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, v);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    if (lh_gw_http_date(g->info.modified, v, sizeof v))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, v);
    if (g->status == 206) {
        snprintf(v, sizeof v, "bytes %llu-%llu/%llu", (unsigned long long)g->first,
                 (unsigned long long)g->end - 1, (unsigned long long)g->info.size);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, v);
    }
}

static void lh_gw_get_unsatisfiable(lh_gw_get *g)
{
    lh_gw_req *req = g->x.req;
    lh_err *err = lh_err_new(416, NULL, "range '%s' is not satisfiable: the object has %llu bytes",
                             MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                         MHD_HTTP_HEADER_RANGE),
                             (unsigned long long)g->info.size);
    lh_buf_reset(&req->out);
    lh_gw_error_json(err, &req->out);
    lh_err_free(err);
    struct MHD_Response *resp = MHD_create_response_from_buffer(req->out.len, req->out.data,
                                                                MHD_RESPMEM_MUST_COPY);
    char v[64];
    snprintf(v, sizeof v, "bytes */%llu", (unsigned long long)g->info.size);
    if (resp)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, v);
    if (!resp || !lh_gw_queue(req, 416, resp, NULL))
        lh_gw_respond(req, 416, &req->out, NULL);
    if (resp)
        MHD_destroy_response(resp);
}

/* Queues the streamed response; returns it for the caller to destroy
 * once the lock is released (destroying it may drop the last reference). */
static struct MHD_Response *lh_gw_get_respond(lh_gw_get *g)
{
    lh_gw_req *req = g->x.req;
    struct MHD_Response *resp = MHD_create_response_from_callback(
        g->end - g->first, LH_GW_BLOCK, lh_gw_get_read, g, lh_gw_get_reader_done);
    if (!resp) {
        lh_gw_respond_error(req, lh_err_new(LH_EINTERNAL, NULL, "out of memory"));
        return NULL;
    }
    lh_gw_xfer_ref(&g->x); /* the reader's, dropped by lh_gw_get_reader_done */
    lh_gw_get_headers(g, resp);
    const char *ct = g->info.content_type[0] ? g->info.content_type : "application/octet-stream";
    if (!lh_gw_queue(req, g->status, resp, ct))
        lh_gw_respond_error(req, lh_err_new(LH_EINTERNAL, NULL, "cannot queue the response"));
    if (!g->head)
        lh_gw_get_ahead(g);
    return resp;
}

/* The request's last call, with the lookup answered: answer, or ask for
 * the first range (and come back here when it arrives). */
static struct MHD_Response *lh_gw_get_proceed(lh_gw_get *g)
{
    lh_gw_req *req = g->x.req;
    if (g->failed) {
        int status = lh_gw_status_of(g->err);
        if (status >= 500)
            lh_gw_log_failure(req, status, lh_err_message(g->err));
        lh_gw_respond(req, status, &g->err_body, NULL);
        return NULL;
    }
    if (!g->status)
        lh_gw_get_resolve(g);
    if (g->status == 416) {
        lh_gw_get_unsatisfiable(g);
        return NULL;
    }
    if (!g->head && g->end > g->first && !g->next_ready) {
        g->fetched = g->first; /* the lookup was a head: fetch the first range */
        lh_gw_get_ahead(g);
        if (g->x.in_flight) {
            lh_gw_xfer_suspend(&g->x);
            return NULL;
        }
        return lh_gw_get_proceed(g); /* failed to send: answer that */
    }
    return lh_gw_get_respond(g);
}

/* The first call: what to ask storaged first. The answer is given at the
 * end of the request (libmicrohttpd's last call), not here: a response
 * queued while the headers are being processed closes the connection. */
static void lh_gw_get_start(lh_gw_req *req, const char *method)
{
    lh_gw_get *g = calloc(1, sizeof *g);
    if (!g) {
        lh_gw_respond_error(req, lh_err_new(LH_EINTERNAL, NULL, "out of memory"));
        return;
    }
    lh_gw_xfer_init(&g->x, req, lh_gw_get_free);
    g->head = !strcmp(method, "HEAD");
    lh_gw_storage_names(req, g->bucket, sizeof g->bucket, &g->key);
    g->range = lh_gw_parse_range(
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE));
    lh_gw_xfer_lock(&g->x);
    if (g->head || g->range.given) {
        lh_gw_get_ask(g, true, 0, 0);
    } else { /* a plain GET: the first range comes with the description */
        lh_gw_get_ask(g, false, 0, LH_GW_RANGE);
        g->fetched = LH_GW_RANGE;
    }
    lh_gw_xfer_unlock(&g->x);
}

static void lh_gw_get_call(lh_gw_req *req, const char *method, const char *data, size_t *size)
{
    (void)data;
    lh_gw_get *g = (lh_gw_get *)req->xfer;
    if (!g) {
        lh_gw_get_start(req, method);
        return;
    }
    if (*size) {
        *size = 0; /* a GET's body, if any, means nothing */
        return;
    }
    lh_gw_xfer_lock(&g->x);
    struct MHD_Response *resp = NULL;
    if (g->x.in_flight)
        lh_gw_xfer_suspend(&g->x); /* the lookup's reply resumes us */
    else
        resp = lh_gw_get_proceed(g);
    lh_gw_xfer_unlock(&g->x);
    if (resp)
        MHD_destroy_response(resp);
}

static const lh_gw_stream lh_gw_stream_storage_get = {
    .call = lh_gw_get_call,
    .done = lh_gw_xfer_done,
    .body_type = NULL,
    .status = 200,
    .reply_type = "application/octet-stream",
    .reply_schema = NULL,
};

const lh_gw_shape lh_gw_shape_storage_get = {
    .name = "storage-get",
    .stream = &lh_gw_stream_storage_get,
};
