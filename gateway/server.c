/*
 * server.c — the HTTP side: a libmicrohttpd daemon with a small pool of
 * epoll threads and suspendable connections.
 *
 * libmicrohttpd calls the access handler several times per request: once
 * with the headers (we match the route and decide refusals that need no
 * body), once per body chunk (we buffer up to the limit), and once more at
 * the end (we answer or, for a bus route, publish and suspend). A resumed
 * connection gets one more call, where the outcome the bus callback left
 * in the request state is turned into the response. No thread ever waits
 * for the bus.
 */
#include "gateway/gw.h"

#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bus/actor.h"
#include "bus/clock.h"
#include "bus/log.h"
#include "gateway/gateway.h"

#define LH_GW_CONNECTION_LIMIT 16384
#define LH_GW_LISTEN_BACKLOG 4096

/* ---- responses ---- */

static void lh_gw_add_headers(lh_gw_req *req, struct MHD_Response *resp, int status,
                              const char *content_type)
{
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            content_type ? content_type : "application/json");
    MHD_add_response_header(resp, "X-Request-Id", req->rid);
    if (status == 405 && req->match.allow[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, req->match.allow);
    if (atomic_load(&req->gw->draining))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
}

/* The request is answered: counted when answered, so a client that sees
 * the response also sees it in /metrics. */
static void lh_gw_answered(lh_gw_req *req, int status)
{
    req->status = status;
    req->state = LH_GW_ANSWERED;
    if (status >= 500 && !req->failure_noted)
        lh_gw_metrics_note_error(req->gw->metrics, "%d: %s: %s", status, req->path.data,
                                 lh_err_reason(status));
    lh_gw_metrics_observe(req->gw->metrics, req->match.index, req->method_index, status,
                          lh_clock_ns() - req->start_ns);
}

bool lh_gw_queue(lh_gw_req *req, int status, struct MHD_Response *resp, const char *content_type)
{
    assert(req->state != LH_GW_ANSWERED);
    lh_gw_add_headers(req, resp, status, content_type);
    if (MHD_queue_response(req->conn, (unsigned)status, resp) != MHD_YES)
        return false;
    req->queued = true;
    lh_gw_answered(req, status);
    return true;
}

void lh_gw_respond(lh_gw_req *req, int status, const lh_buf *body, const char *content_type)
{
    assert(req->state != LH_GW_ANSWERED);
    size_t len = body ? body->len : 0;
    /* MUST_COPY keeps our pooled buffer; the copy of a reply is small. */
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, len ? body->data : (void *)"", len ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        lh_error("cannot create a response (out of memory)");
        req->state = LH_GW_ANSWERED;
        return;
    }
    if (!lh_gw_queue(req, status, resp, content_type)) {
        lh_warn("could not queue the %d response for %s", status, req->path.data);
        lh_gw_answered(req, status);
    }
    MHD_destroy_response(resp);
}

/* An outage turns every request into a 503: one line a second says so
 * without flooding the log. */
void lh_gw_log_failure(lh_gw_req *req, int status, const char *message)
{
    /* Every failure is the last error, even those the log leaves out. */
    lh_gw_metrics_note_error(req->gw->metrics, "%d: %s: %s", status, req->path.data, message);
    req->failure_noted = true;
    static atomic_llong last_sec;
    static atomic_int suppressed;
    long long sec = lh_clock_ns() / 1000000000;
    long long seen = atomic_load(&last_sec);
    if (seen == sec || !atomic_compare_exchange_strong(&last_sec, &seen, sec)) {
        atomic_fetch_add(&suppressed, 1);
        return;
    }
    int more = atomic_exchange(&suppressed, 0);
    lh_log_set_request_id(req->rid);
    if (more)
        lh_warn("%s: %d %s (and %d more failures in the last second)", req->path.data, status,
                message, more);
    else
        lh_warn("%s: %d %s", req->path.data, status, message);
    lh_log_set_request_id(NULL);
}

void lh_gw_respond_error(lh_gw_req *req, lh_err *err)
{
    lh_buf_reset(&req->out);
    lh_gw_error_out(req->match.route ? req->match.route->shape : NULL, err, NULL, 0, &req->out);
    int status = lh_gw_status_of(err);
    if (status >= 500)
        lh_gw_log_failure(req, status, lh_err_message(err));
    lh_err_free(err);
    lh_gw_respond(req, status, &req->out, NULL);
}

void lh_gw_suspend(lh_gw_req *req, void (*on_resume)(lh_gw_req *req))
{
    assert(req->state == LH_GW_RECEIVING);
    req->on_resume = on_resume;
    req->state = LH_GW_SUSPENDED;
    MHD_suspend_connection(req->conn);
}

void lh_gw_resume(lh_gw_req *req) { MHD_resume_connection(req->conn); }

/* ---- the request's first call: route, id, refusals from headers ---- */

static bool lh_gw_rid_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > LH_GW_RID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

/* A random per-process prefix and a counter: the same 22 characters of
 * [0-9A-Za-z] as lh_new_id, unique without a getrandom(2) per request. */
static void lh_gw_new_request_id(lh_gw *gw, char out[23])
{
    static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    uint64_t n = atomic_fetch_add_explicit(&gw->rid_seq, 1, memory_order_relaxed);
    memcpy(out, gw->rid_prefix, 10);
    for (int i = 21; i >= 10; i--, n /= 62)
        out[i] = digits[n % 62];
    out[22] = '\0';
}

static void lh_gw_take_request_id(lh_gw_req *req)
{
    const char *rid = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Request-Id");
    if (rid && lh_gw_rid_ok(rid))
        snprintf(req->rid, sizeof req->rid, "%s", rid);
    else
        lh_gw_new_request_id(req->gw, req->rid);
}

/* JSON bodies may come labelled application/json (any parameters), with no
 * Content-Type at all, or as application/x-www-form-urlencoded: that is
 * what `curl -d` sends unless told otherwise, and refusing it would make
 * the first curl a user types fail. Such a body is read as JSON, never as
 * form fields. Anything else is 415. */
static bool lh_gw_content_type_ok(const char *ct)
{
    if (!ct)
        return true;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    static const char *const accepted[] = {"application/json", "application/x-www-form-urlencoded"};
    if (n == 0)
        return true;
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++)
        if (strlen(accepted[i]) == n && !strncasecmp(ct, accepted[i], n))
            return true;
    return false;
}

static bool lh_gw_has_body_method(const char *method)
{
    return !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH");
}

static lh_err *lh_gw_refusal(lh_gw_req *req, const char *method)
{
    if (strstr(req->path.data, LH_GW_ENCODED_NUL))
        return lh_err_new(LH_EBADREQ, NULL, "the path holds %%00 (NUL), which no name may contain");
    if (!lh_gw_route_match(method, req->path.data, &req->match)) {
        if (req->match.allow[0])
            return lh_err_new(LH_EMETHOD, NULL, "%s is not allowed on %s (allowed: %s)", method,
                              req->path.data, req->match.allow);
        return lh_err_new(LH_ENOTFOUND, NULL, "no route for %s %s", method, req->path.data);
    }
    const char *ct = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    if (lh_gw_has_body_method(method) && !lh_gw_route_stream(req->match.route) &&
        !lh_gw_content_type_ok(ct))
        return lh_err_new(LH_EMEDIA, NULL,
                          "unsupported Content-Type '%s': send application/json", ct);
    return NULL;
}

/* A declared length over the limit is refused before any of it is read. */
static bool lh_gw_declared_too_large(lh_gw_req *req)
{
    const char *cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!cl)
        return false;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(cl, &end, 10);
    return end != cl && !errno && n > req->gw->max_body;
}

static lh_err *lh_gw_too_large(const lh_gw *gw)
{
    return lh_err_new(LH_ETOOLARGE, NULL,
                      "request body is larger than the limit of %zu bytes (LH_HTTP_MAX_BODY)",
                      gw->max_body);
}

static lh_gw_req *lh_gw_begin(lh_gw *gw, struct MHD_Connection *conn, const char *url,
                              const char *method)
{
    lh_gw_req *req = lh_gw_pool_get(gw);
    if (!req)
        return NULL;
    req->gw = gw;
    req->conn = conn;
    req->state = LH_GW_RECEIVING;
    req->start_ns = lh_clock_ns();
    req->method_index = lh_gw_method_index(method);
    atomic_fetch_add(&gw->http_in_flight, 1);
    lh_gw_take_request_id(req);
    lh_buf_append_str(&req->path, url);
    lh_buf_cstr(&req->path);
    req->early = lh_gw_refusal(req, method);
    return req;
}

/* ---- the access handler ---- */

static void lh_gw_take_body(lh_gw_req *req, const char *data, size_t len)
{
    if (req->early || req->too_large)
        return; /* read and dropped: answering after the body keeps the connection */
    if (req->body.len + len > req->gw->max_body) {
        req->too_large = true; /* chunked: the length was not known up front */
        lh_buf_free(&req->body);
        return;
    }
    lh_buf_append(&req->body, data, len);
}

/* The last call of a request: everything has been read. */
static void lh_gw_answer(lh_gw_req *req)
{
    if (req->early) {
        lh_err *err = req->early;
        req->early = NULL;
        lh_gw_respond_error(req, err);
    } else if (req->too_large) {
        lh_gw_respond_error(req, lh_gw_too_large(req->gw));
    } else if (req->match.route->local) {
        req->match.route->local(req);
    } else {
        lh_gw_dispatch(req);
    }
}

static enum MHD_Result lh_gw_access(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls)
{
    (void)version;
    static _Thread_local bool named; /* the daemon's threads are not ours to name at birth */
    if (!named) {
        lh_log_set_actor(lh_gateway_actor.name);
        named = true;
    }
    lh_gw_req *req = *con_cls;
    bool first = !req;
    if (first) {
        req = *con_cls = lh_gw_begin(cls, conn, url, method);
        if (!req)
            return MHD_NO; /* out of memory: drop the connection */
    }
    const lh_gw_stream *stream = req->early ? NULL : lh_gw_route_stream(req->match.route);
    if (stream) {
        if (req->state != LH_GW_ANSWERED)
            stream->call(req, method, upload_data, upload_data_size);
        else
            *upload_data_size = 0; /* answered already: the rest of the body is dropped */
        return req->state == LH_GW_ANSWERED && !req->queued ? MHD_NO : MHD_YES;
    }
    if (first) {
        if (!req->early && lh_gw_declared_too_large(req))
            lh_gw_respond_error(req, lh_gw_too_large(req->gw));
        return req->state == LH_GW_ANSWERED && !req->queued ? MHD_NO : MHD_YES;
    }
    if (*upload_data_size) {
        lh_gw_take_body(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    switch (req->state) {
    case LH_GW_RECEIVING: lh_gw_answer(req); break;
    case LH_GW_SUSPENDED: req->on_resume(req); break;
    case LH_GW_ANSWERED: break;
    }
    /* Answered without a queued response (out of memory): close rather
     * than be called again and again. */
    return req->state == LH_GW_ANSWERED && !req->queued ? MHD_NO : MHD_YES;
}

static void lh_gw_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                            enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    lh_gw *gw = cls;
    lh_gw_req *req = *con_cls;
    if (!req)
        return;
    *con_cls = NULL;
    /* Still SUSPENDED is possible: the bus callback resumed the connection
     * (its last touch of req), then the client had gone before the handler
     * ran again. Nothing else holds req then; the daemon never ends a
     * connection that is still suspended, as stop resumes them all first. */
    const lh_gw_stream *stream = lh_gw_route_stream(req->match.route);
    if (stream)
        stream->done(req);
    else
        lh_gw_xfer_done(req); /* a bus route streamed as events (sse.c), if any */
    atomic_fetch_sub(&gw->http_in_flight, 1);
    lh_gw_pool_put(gw, req);
}

/* ---- the daemon ---- */

static int lh_gw_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* libmicrohttpd decodes %XX in the path and the query itself, in place; a
 * decoded %00 would end the C string there and silently shorten a name
 * ("/v1/storage/b/a%00b" would store "a"). This decoder writes %00 as the
 * overlong two-byte form C0 80 instead: invalid UTF-8, which no name
 * accepts, and which lh_gw_refusal refuses in a path outright. */
static size_t lh_gw_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    size_t w = 0;
    for (size_t r = 0; s[r];) {
        int hi = s[r] == '%' ? lh_gw_hex(s[r + 1]) : -1;
        int lo = hi >= 0 ? lh_gw_hex(s[r + 2]) : -1;
        if (lo < 0) {
            s[w++] = s[r++];
            continue;
        }
        int v = hi * 16 + lo;
        if (v == 0) {
            s[w++] = LH_GW_ENCODED_NUL[0];
            s[w++] = LH_GW_ENCODED_NUL[1];
        } else {
            s[w++] = (char)v;
        }
        r += 3;
    }
    s[w] = '\0';
    return w;
}

static void lh_gw_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    if (strstr(line, "no longer available")) /* a client that hung up: its own business */
        lh_debug("http: %s", line);
    else
        lh_warn("http: %s", line);
}

/* Thousands of connections need thousands of descriptors. */
static void lh_gw_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max)
        return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl))
        lh_warn("cannot raise the open-file limit: %s", strerror(errno));
}

static lh_err *lh_gw_bind(int fd, const struct addrinfo *ai, const lh_config *cfg)
{
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, LH_GW_LISTEN_BACKLOG) == 0)
        return NULL;
    int e = errno;
    if (e == EADDRINUSE)
        return lh_err_new(LH_EUNAVAILABLE, NULL,
                          "port %d is in use on %s: stop what holds it or set LH_HTTP_PORT",
                          cfg->http_port, cfg->http_addr);
    return lh_err_new(LH_EUNAVAILABLE, NULL, "cannot listen on %s:%d: %s", cfg->http_addr,
                      cfg->http_port, strerror(e));
}

/* Our own listening socket, so a taken port is reported as exactly that. */
static lh_err *lh_gw_listen(const lh_config *cfg, int *out)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    char port[16];
    snprintf(port, sizeof port, "%d", cfg->http_port);
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(cfg->http_addr, port, &hints, &ai);
    if (rc)
        return lh_err_new(LH_EBADREQ, NULL, "cannot resolve LH_HTTP_ADDR %s: %s", cfg->http_addr,
                          gai_strerror(rc));
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    lh_err *err = fd < 0 ? lh_err_new(LH_EINTERNAL, NULL, "socket: %s", strerror(errno))
                         : lh_gw_bind(fd, ai, cfg);
    freeaddrinfo(ai);
    if (err) {
        if (fd >= 0)
            close(fd);
        return err;
    }
    *out = fd;
    return NULL;
}

lh_err *lh_gw_server_start(lh_gw *gw)
{
    lh_err *err = lh_gw_pool_create(gw);
    if (err)
        return err;
    char id[23];
    lh_new_id(id);
    memcpy(gw->rid_prefix, id, 10);
    gw->rid_prefix[10] = '\0';
    lh_gw_raise_fd_limit();
    int fd = -1;
    err = lh_gw_listen(&gw->config, &fd);
    if (err)
        return err;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    gw->daemon = MHD_start_daemon(flags, 0, NULL, NULL, lh_gw_access, gw,
                                  MHD_OPTION_EXTERNAL_LOGGER, lh_gw_mhd_log, NULL,
                                  MHD_OPTION_LISTEN_SOCKET, fd,
                                  MHD_OPTION_THREAD_POOL_SIZE, (unsigned)gw->threads,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned)LH_GW_CONNECTION_LIMIT,
                                  MHD_OPTION_CONNECTION_TIMEOUT, gw->idle_timeout_s,
                                  MHD_OPTION_NOTIFY_COMPLETED, lh_gw_completed, gw,
                                  MHD_OPTION_UNESCAPE_CALLBACK, lh_gw_unescape, NULL,
                                  MHD_OPTION_END);
    if (!gw->daemon) {
        close(fd);
        return lh_err_new(LH_EINTERNAL, NULL, "cannot start the HTTP server on %s:%d",
                          gw->config.http_addr, gw->config.http_port);
    }
    lh_info("gateway listening on %s", gw->url);
    return NULL;
}

void lh_gw_server_quiesce(lh_gw *gw)
{
    if (gw->daemon && gw->listen_fd < 0)
        gw->listen_fd = MHD_quiesce_daemon(gw->daemon);
}

void lh_gw_server_stop(lh_gw *gw)
{
    if (gw->daemon)
        MHD_stop_daemon(gw->daemon);
    gw->daemon = NULL;
    /* A quiesced socket is ours to close, and only after the threads stop. */
    if (gw->listen_fd >= 0)
        close(gw->listen_fd);
    gw->listen_fd = -1;
}
