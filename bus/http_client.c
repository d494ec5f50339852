/*
 * http_client.c — lh_http_perform on a libcurl easy handle per call
 * (connections are cheap next to a model's answer, and a handle per call
 * keeps threads apart). curl_global_init runs once, before any handle.
 * lh_http_service_post adds what every outside JSON service needs: the
 * retries, the answer read through a schema, a refusal quoted without the
 * secret; lh_http_service_stream the same retries and refusals around a
 * body handed on as it arrives (one retry loop, one refusal, for both).
 */
#include "bus/http_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bus/clock.h"
#include "bus/json.h"

static pthread_once_t lh_http_once = PTHREAD_ONCE_INIT;

static void lh_http_global_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

typedef struct lh_http_sink {
    lh_buf *out;
    size_t max, got;
} lh_http_sink;

static size_t lh_http_write(char *data, size_t size, size_t n, void *user)
{
    lh_http_sink *s = user;
    size_t len = size * n;
    if (s->got + len > s->max)
        return 0; /* too large: curl stops with CURLE_WRITE_ERROR */
    lh_buf_append(s->out, data, len);
    s->got += len;
    return len;
}

/* The URL's scheme and host, for errors (never its query or userinfo). */
static void lh_http_host(const char *url, char *out, size_t cap)
{
    const char *start = strstr(url, "://");
    start = start ? start + 3 : url;
    const char *at = strpbrk(start, "@/");
    if (at && *at == '@')
        start = at + 1;
    size_t n = strcspn(start, "/?#");
    snprintf(out, cap, "%.*s", (int)(n < cap - 1 ? n : cap - 1), start);
}

static struct curl_slist *lh_http_headers(const char *const *headers)
{
    struct curl_slist *list = NULL;
    for (size_t i = 0; headers && headers[i]; i++) {
        struct curl_slist *more = curl_slist_append(list, headers[i]);
        if (!more)
            abort(); /* out of memory: as lh_buf does, we do not limp on */
        list = more;
    }
    struct curl_slist *all = curl_slist_append(list, "Expect:"); /* no 100-continue */
    if (!all)
        abort();
    return all;
}

/* A handle for the call, its body to go to write(user); *headers to free. */
static CURL *lh_http_handle(const lh_http_call *call, curl_write_callback write, void *user,
                            struct curl_slist **headers)
{
    pthread_once(&lh_http_once, lh_http_global_init);
    CURL *h = curl_easy_init();
    if (!h)
        return NULL;
    *headers = lh_http_headers(call->headers);
    curl_easy_setopt(h, CURLOPT_URL, call->url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call->method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, *headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, call->body ? call->body : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)call->timeout_ms);
    if (call->idle_ms > 0) { /* under 1 byte a second for that long: silent */
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)(call->idle_ms + 999) / 1000);
    }
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L); /* small requests, and streams, go at once */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, user);
    if (!getenv("NO_PROXY") && !getenv("no_proxy")) /* a user's own list wins */
        curl_easy_setopt(h, CURLOPT_NOPROXY, "127.0.0.1,localhost");
    return h;
}

/* A transfer that failed: 504 when it ran out of time, else 503. */
static lh_err *lh_http_transport_err(const lh_http_call *call, CURLcode rc)
{
    char host[256];
    lh_http_host(call->url, host, sizeof host);
    return lh_err_new(rc == CURLE_OPERATION_TIMEDOUT ? LH_ETIMEOUT : LH_EUNAVAILABLE, NULL,
                      "%s: %s", host, curl_easy_strerror(rc));
}

lh_err *lh_http_perform(const lh_http_call *call, lh_buf *out, long *status)
{
    lh_http_sink sink = {out, call->max_response ? call->max_response : 64u << 20, 0};
    struct curl_slist *headers = NULL;
    CURL *h = lh_http_handle(call, lh_http_write, &sink, &headers);
    if (!h)
        return lh_err_new(LH_EINTERNAL, NULL, "cannot start an HTTP client");
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    if (rc == CURLE_OK)
        return NULL;
    if (rc == CURLE_WRITE_ERROR) {
        char host[256];
        lh_http_host(call->url, host, sizeof host);
        return lh_err_new(LH_EUPSTREAM, NULL, "%s answered more than %zu bytes", host,
                          sink.max);
    }
    return lh_http_transport_err(call, rc);
}

/* ---- JSON exchanges ---- */

#define LH_HTTP_ATTEMPTS 3
#define LH_HTTP_BACKOFF_MS 100
#define LH_HTTP_MAX_RESPONSE (16u << 20)

/* One POST of lh_http_service_post or _stream: the service and what this
 * call adds. */
typedef struct lh_http_exchange {
    const lh_http_service *s;
    const char *headers[4]; /* NULL-terminated */
    int timeout_ms;
} lh_http_exchange;

/* One attempt of an exchange: the transport's error or NULL, the status in
 * *status; *final when it may not be made again (a stream already handed
 * on). */
typedef lh_err *(*lh_http_attempt_fn)(void *user, const lh_http_call *call, long *status,
                                      bool *final);

/* The error bodies servers send: {"error": {"message": ...}} (OpenAI,
 * Anthropic) or {"error": "..."} (Ollama). */
#define LH_HTTP_ERROR_DETAIL(F, T) F(T, message, STRING, .doc = "Why.")
LH_SCHEMA_DECLARE(lh_http_error_detail, LH_HTTP_ERROR_DETAIL)
LH_SCHEMA_DEFINE(lh_http_error_detail, LH_HTTP_ERROR_DETAIL, "A service's error.")
#define LH_HTTP_ERROR_OBJECT(F, T)                                                          \
    F(T, error, OBJECT, .sub = &lh_http_error_detail_schema, .doc = "The error.")
LH_SCHEMA_DECLARE(lh_http_error_object, LH_HTTP_ERROR_OBJECT)
LH_SCHEMA_DEFINE(lh_http_error_object, LH_HTTP_ERROR_OBJECT, "An error body.")
#define LH_HTTP_ERROR_STRING(F, T) F(T, error, STRING, .doc = "The error.")
LH_SCHEMA_DECLARE(lh_http_error_string, LH_HTTP_ERROR_STRING)
LH_SCHEMA_DEFINE(lh_http_error_string, LH_HTTP_ERROR_STRING, "An error body.")

static bool lh_http_retryable(const lh_err *err, long status)
{
    if (err)
        return lh_err_code(err) == LH_EUNAVAILABLE; /* no connection; a timeout used the time */
    return status == 429 || status >= 500;
}

static void lh_http_sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The service's headers with `extra` (may be NULL), in the time left. */
static lh_http_exchange lh_http_exchange_of(const lh_http_service *s, const char *extra,
                                            int time_left_ms)
{
    lh_http_exchange x = {s, {NULL}, time_left_ms < s->timeout_ms ? time_left_ms : s->timeout_ms};
    size_t n = 0;
    if (s->key_header)
        x.headers[n++] = s->key_header;
    if (extra)
        x.headers[n++] = extra;
    return x;
}

/* POSTs with retries, each attempt made by `attempt`; its status in
 * *status. `accept` (may be NULL) is the Accept header. */
static lh_err *lh_http_post_retrying(const lh_http_exchange *h, const lh_buf *body,
                                     const char *accept, lh_http_attempt_fn attempt, void *user,
                                     long *status)
{
    const char *headers[8] = {"Content-Type: application/json"};
    size_t n = 1;
    if (accept)
        headers[n++] = accept;
    for (size_t i = 0; h->headers[i]; i++)
        headers[n++] = h->headers[i];
    int64_t deadline = lh_clock_ms() + h->timeout_ms;
    lh_err *err = NULL;
    for (int tries = 0;; tries++) {
        int64_t left = deadline - lh_clock_ms();
        *status = 0;
        lh_http_call call = {"POST", h->s->url, headers, body->data, body->len,
                             (int)(left > 1 ? left : 1), LH_HTTP_MAX_RESPONSE, 0};
        lh_err_free(err);
        bool final = false;
        err = attempt(user, &call, status, &final);
        if (final || tries + 1 == LH_HTTP_ATTEMPTS || !lh_http_retryable(err, *status))
            return err;
        int64_t base = (int64_t)LH_HTTP_BACKOFF_MS << tries;
        unsigned seed = (unsigned)(lh_clock_ns() ^ (uintptr_t)&seed); /* apart from others */
        int64_t wait = base / 2 + rand_r(&seed) % (base + 1); /* half to 1.5 times */
        if (lh_clock_ms() + wait >= deadline)
            return err;
        lh_http_sleep_ms(wait);
    }
}

/* An attempt of lh_http_service_post: the whole answer into `out`. */
static lh_err *lh_http_attempt_whole(void *out, const lh_http_call *call, long *status,
                                     bool *final)
{
    (void)final;
    lh_buf_reset(out);
    return lh_http_perform(call, out, status);
}

static lh_err *lh_http_json_decode(const lh_buf *json, const lh_schema *schema, lh_arena *arena,
                                   void **out)
{
    return lh_json_decode_reply(json->data, json->len, schema, arena, out);
}

/* The server's own words for a refusal, or NULL. */
static const lh_str *lh_http_said(const lh_buf *resp, lh_arena *arena)
{
    lh_http_error_object *o = NULL;
    lh_err *err = lh_http_json_decode(resp, &lh_http_error_object_schema, arena, (void **)&o);
    if (!err && o->error && ((lh_http_error_detail *)o->error)->message.s)
        return &((lh_http_error_detail *)o->error)->message;
    lh_err_free(err);
    lh_http_error_string *s = NULL;
    err = lh_http_json_decode(resp, &lh_http_error_string_schema, arena, (void **)&s);
    bool ok = !err && s->error.s;
    lh_err_free(err);
    return ok ? &s->error : NULL;
}

void lh_http_service_scrub(const lh_http_service *s, char *t)
{
    const char *key = s->key;
    for (char *at; key && *key && (at = strstr(t, key));)
        memset(at, '*', strlen(key));
}

static lh_err *lh_http_refusal(const lh_http_exchange *h, long status, const lh_buf *resp,
                               lh_arena *arena)
{
    const lh_str *said = lh_http_said(resp, arena);
    lh_buf text;
    lh_buf_init(&text);
    if (said)
        lh_buf_append(&text, said->s, said->len);
    else
        lh_buf_append_str(&text, "no error message");
    char *t = (char *)lh_buf_cstr(&text);
    lh_http_service_scrub(h->s, t);
    lh_err *err = lh_err_new(LH_EUPSTREAM, NULL, "%s refused the request (HTTP %ld): %s",
                             h->s->who, status, t);
    lh_buf_free(&text);
    return err;
}

lh_err *lh_http_service_post(const lh_http_service *s, const char *extra_header,
                             int time_left_ms, const lh_buf *body, const lh_schema *schema,
                             lh_arena *arena, void **out)
{
    lh_http_exchange x = lh_http_exchange_of(s, extra_header, time_left_ms);
    lh_buf resp;
    lh_buf_init(&resp);
    long status = 0;
    lh_err *err = lh_http_post_retrying(&x, body, NULL, lh_http_attempt_whole, &resp, &status);
    if (!err && (status < 200 || status > 299))
        err = lh_http_refusal(&x, status, &resp, arena);
    else if (!err && (err = lh_http_json_decode(&resp, schema, arena, out)))
        err = lh_err_wrap_as(err, LH_EUPSTREAM, "%s answered unreadably", s->who);
    lh_buf_free(&resp);
    return err;
}

/* ---- streamed exchanges ---- */

#define LH_HTTP_REFUSAL_MAX (64u << 10) /* of a refusal's body, what is read */
#define LH_HTTP_SHOWN 200               /* of a wrong type's body, what is shown */

/* What an attempt does with the body, judged at its first byte. */
typedef enum {
    LH_HTTP_UNJUDGED,
    LH_HTTP_HAND_ON, /* a 2xx of the type asked: to the caller's fn */
    LH_HTTP_KEEP,    /* not a 2xx: kept, for the refusal */
    LH_HTTP_WRONG,   /* a 2xx of another type: its start kept, for the error */
} lh_http_judged;

typedef struct lh_http_stream {
    const lh_http_exchange *h;
    const char *type; /* what a 2xx's Content-Type must begin with */
    lh_http_piece_fn fn;
    void *user;
    lh_http_check_fn check;
    void *check_user;
    CURL *curl; /* this attempt's */
    lh_http_judged judged;
    char type_came[96];
    lh_buf kept;
    size_t handed; /* bytes given to fn */
    lh_err *stopped; /* fn's error, when it stopped the transfer */
} lh_http_stream;

static lh_http_judged lh_http_judge(lh_http_stream *st)
{
    long status = 0;
    curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299)
        return LH_HTTP_KEEP;
    const char *type = NULL;
    curl_easy_getinfo(st->curl, CURLINFO_CONTENT_TYPE, &type);
    snprintf(st->type_came, sizeof st->type_came, "%s", type ? type : "none");
    return type && !strncasecmp(type, st->type, strlen(st->type)) ? LH_HTTP_HAND_ON
                                                                  : LH_HTTP_WRONG;
}

static size_t lh_http_stream_write(char *data, size_t size, size_t n, void *user)
{
    lh_http_stream *st = user;
    size_t len = size * n;
    if (st->judged == LH_HTTP_UNJUDGED)
        st->judged = lh_http_judge(st);
    if (st->judged == LH_HTTP_HAND_ON) {
        st->handed += len; /* counted first: from here on, no attempt again */
        st->stopped = st->fn(st->user, data, len);
        return st->stopped ? 0 : len; /* 0: curl stops with CURLE_WRITE_ERROR */
    }
    size_t max = st->judged == LH_HTTP_KEEP ? LH_HTTP_REFUSAL_MAX : LH_HTTP_SHOWN;
    size_t room = max - st->kept.len;
    lh_buf_append(&st->kept, data, len < room ? len : room);
    /* a refusal is read to its end; of a wrong type, its start is enough */
    return st->judged == LH_HTTP_WRONG && st->kept.len == max ? 0 : len;
}

/* libcurl's progress callback, about once a second at least: the check. */
static int lh_http_stream_progress(void *user, curl_off_t dltotal, curl_off_t dlnow,
                                   curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    lh_http_stream *st = user;
    if (!st->stopped)
        st->stopped = st->check(st->check_user);
    return st->stopped != NULL; /* non-zero: CURLE_ABORTED_BY_CALLBACK */
}

/* A 2xx of the wrong type: named, with the start of what it said. */
static lh_err *lh_http_wrong_type(const lh_http_stream *st, long status)
{
    lh_buf text;
    lh_buf_init(&text);
    lh_buf_append(&text, st->kept.data ? st->kept.data : "", st->kept.len);
    char *t = (char *)lh_buf_cstr(&text);
    lh_http_service_scrub(st->h->s, t);
    lh_err *err = lh_err_new(LH_EUPSTREAM, NULL,
                             "%s answered HTTP %ld of type %s, not the %s stream asked: %.*s",
                             st->h->s->who, status, st->type_came, st->type,
                             (int)text.len, t);
    lh_buf_free(&text);
    return err;
}

/* How an attempt that handed pieces on and did not end cleanly ended. */
static lh_err *lh_http_stream_cut(const lh_http_stream *st, CURLcode rc)
{
    return lh_err_new(rc == CURLE_OPERATION_TIMEDOUT ? LH_ETIMEOUT : LH_EUPSTREAM, NULL,
                      "the stream from %s ended before its end: %s", st->h->s->who,
                      rc == CURLE_OPERATION_TIMEDOUT ? "it fell silent, or ran too long"
                                                     : curl_easy_strerror(rc));
}

static lh_err *lh_http_attempt_stream(void *user, const lh_http_call *call, long *status,
                                      bool *final)
{
    lh_http_stream *st = user;
    st->judged = LH_HTTP_UNJUDGED;
    lh_buf_reset(&st->kept);
    /* The time left bounds each silence; the whole may last as it talks. */
    lh_http_call streamed = *call;
    streamed.idle_ms = call->timeout_ms;
    streamed.timeout_ms = LH_HTTP_STREAM_MAX_MS;
    struct curl_slist *headers = NULL;
    st->curl = lh_http_handle(&streamed, lh_http_stream_write, st, &headers);
    if (!st->curl)
        return lh_err_new(LH_EINTERNAL, NULL, "cannot start an HTTP client");
    if (st->check) {
        curl_easy_setopt(st->curl, CURLOPT_XFERINFOFUNCTION, lh_http_stream_progress);
        curl_easy_setopt(st->curl, CURLOPT_XFERINFODATA, st);
        curl_easy_setopt(st->curl, CURLOPT_NOPROGRESS, 0L);
    }
    CURLcode rc = curl_easy_perform(st->curl);
    curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, status);
    if (rc == CURLE_OK && st->judged == LH_HTTP_UNJUDGED) /* an empty body */
        st->judged = lh_http_judge(st);
    curl_slist_free_all(headers);
    curl_easy_cleanup(st->curl);
    st->curl = NULL;
    *final = st->handed || st->judged == LH_HTTP_WRONG;
    if (st->stopped) { /* the caller's own error, not curl's CURLE_WRITE_ERROR */
        lh_err *err = st->stopped;
        st->stopped = NULL;
        return err;
    }
    if (st->judged == LH_HTTP_WRONG)
        return lh_http_wrong_type(st, *status);
    if (rc == CURLE_OK)
        return NULL;
    return st->handed ? lh_http_stream_cut(st, rc) : lh_http_transport_err(call, rc);
}

lh_err *lh_http_service_stream(const lh_http_service *s, const char *extra_header,
                               int time_left_ms, const lh_buf *body, const char *type,
                               lh_http_piece_fn fn, void *user, lh_http_check_fn check,
                               void *check_user)
{
    lh_http_exchange x = lh_http_exchange_of(s, extra_header, time_left_ms);
    lh_http_stream st = {.h = &x, .type = type, .fn = fn, .user = user, .check = check,
                         .check_user = check_user};
    lh_buf_init(&st.kept);
    char accept[128];
    snprintf(accept, sizeof accept, "Accept: %s", type);
    long status = 0;
    lh_err *err = lh_http_post_retrying(&x, body, accept, lh_http_attempt_stream, &st, &status);
    if (!err && (status < 200 || status > 299)) {
        lh_arena *arena = lh_arena_create();
        err = lh_http_refusal(&x, status, &st.kept, arena);
        lh_arena_destroy(arena);
    }
    lh_buf_free(&st.kept);
    return err;
}

char *lh_http_url(const char *base, const char *fallback, const char *path)
{
    if (!base || !*base)
        base = fallback;
    if (!base)
        return NULL;
    size_t n = strlen(base);
    if (n && base[n - 1] == '/')
        n--;
    size_t len = n + strlen(path) + 1;
    char *url = malloc(len);
    if (!url)
        abort(); /* out of memory: as lh_buf does, we do not limp on */
    snprintf(url, len, "%.*s%s", (int)n, base, path);
    return url;
}

void lh_http_service_init(lh_http_service *s, const char *who, char *url, const char *key,
                          const char *key_format, int timeout_ms)
{
    *s = (lh_http_service){.url = url, .timeout_ms = timeout_ms};
    snprintf(s->who, sizeof s->who, "%s", who);
    if (!key || !*key)
        return;
    size_t len = strlen(key_format) + strlen(key) + 1;
    s->key = strdup(key);
    s->key_header = malloc(len);
    if (!s->key || !s->key_header)
        abort(); /* out of memory: as lh_buf does, we do not limp on */
    snprintf(s->key_header, len, key_format, key);
}

void lh_http_service_free(lh_http_service *s)
{
    free(s->url);
    free(s->key);
    free(s->key_header);
    *s = (lh_http_service){0};
}
