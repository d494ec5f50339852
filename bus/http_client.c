/*
 * http_client.c — lh_http_perform on a libcurl easy handle per call
 * (connections are cheap next to a model's answer, and a handle per call
 * keeps threads apart). curl_global_init runs once, before any handle.
 * lh_http_exchange_json adds what every outside JSON service needs: the
 * retries, the answer read through a schema, a refusal quoted without the
 * secret.
 */
#include "bus/http_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

lh_err *lh_http_perform(const lh_http_call *call, lh_buf *out, long *status)
{
    pthread_once(&lh_http_once, lh_http_global_init);
    CURL *h = curl_easy_init();
    if (!h)
        return lh_err_new(LH_EINTERNAL, NULL, "cannot start an HTTP client");
    lh_http_sink sink = {out, call->max_response ? call->max_response : 64u << 20, 0};
    struct curl_slist *headers = lh_http_headers(call->headers);
    curl_easy_setopt(h, CURLOPT_URL, call->url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call->method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, call->body ? call->body : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)call->timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, lh_http_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    if (!getenv("NO_PROXY") && !getenv("no_proxy")) /* a user's own list wins */
        curl_easy_setopt(h, CURLOPT_NOPROXY, "127.0.0.1,localhost");
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    if (rc == CURLE_OK)
        return NULL;
    char host[256];
    lh_http_host(call->url, host, sizeof host);
    if (rc == CURLE_WRITE_ERROR)
        return lh_err_new(LH_EUPSTREAM, NULL, "%s answered more than %zu bytes", host,
                          sink.max);
    return lh_err_new(rc == CURLE_OPERATION_TIMEDOUT ? LH_ETIMEOUT : LH_EUNAVAILABLE, NULL,
                      "%s: %s", host, curl_easy_strerror(rc));
}

/* ---- JSON exchanges ---- */

#define LH_HTTP_ATTEMPTS 3
#define LH_HTTP_BACKOFF_MS 100
#define LH_HTTP_MAX_RESPONSE (16u << 20)

/* One POST of lh_http_service_post: the service and what this call adds. */
typedef struct lh_http_exchange {
    const lh_http_service *s;
    const char *const *headers; /* NULL-terminated */
    int timeout_ms;
} lh_http_exchange;

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

/* POSTs with retries; the last response in `out`, its status in *status. */
static lh_err *lh_http_post_retrying(const lh_http_exchange *h, const lh_buf *body,
                                     lh_buf *out, long *status)
{
    const char *headers[16] = {"Content-Type: application/json"};
    for (size_t i = 0; h->headers[i] && i + 2 < 16; i++)
        headers[i + 1] = h->headers[i];
    int64_t deadline = lh_clock_ms() + h->timeout_ms;
    lh_err *err = NULL;
    for (int attempt = 0;; attempt++) {
        int64_t left = deadline - lh_clock_ms();
        lh_buf_reset(out);
        *status = 0;
        lh_http_call call = {"POST", h->s->url, headers, body->data, body->len,
                             (int)(left > 1 ? left : 1), LH_HTTP_MAX_RESPONSE};
        lh_err_free(err);
        err = lh_http_perform(&call, out, status);
        if (attempt + 1 == LH_HTTP_ATTEMPTS || !lh_http_retryable(err, *status))
            return err;
        int64_t base = (int64_t)LH_HTTP_BACKOFF_MS << attempt;
        unsigned seed = (unsigned)(lh_clock_ns() ^ (uintptr_t)&seed); /* apart from others */
        int64_t wait = base / 2 + rand_r(&seed) % (base + 1); /* half to 1.5 times */
        if (lh_clock_ms() + wait >= deadline)
            return err;
        lh_http_sleep_ms(wait);
    }
}

static lh_err *lh_http_json_decode(const lh_buf *json, const lh_schema *schema, lh_arena *arena,
                                   void **out)
{
    lh_buf mp;
    lh_buf_init(&mp);
    lh_err *err = lh_json_to_msgpack(json->data ? json->data : "", json->len, &mp);
    if (!err)
        err = lh_schema_decode_reply(schema, mp.data, mp.len, arena, out);
    lh_buf_free(&mp);
    return err;
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
    const char *key = h->s->key;
    for (char *at; key && *key && (at = strstr(t, key));)
        memset(at, '*', strlen(key));
    lh_err *err = lh_err_new(LH_EUPSTREAM, NULL, "%s refused the request (HTTP %ld): %s",
                             h->s->who, status, t);
    lh_buf_free(&text);
    return err;
}

lh_err *lh_http_service_post(const lh_http_service *s, const char *extra_header,
                             int time_left_ms, const lh_buf *body, const lh_schema *schema,
                             lh_arena *arena, void **out)
{
    const char *headers[3] = {NULL};
    size_t n = 0;
    if (s->key_header)
        headers[n++] = s->key_header;
    if (extra_header)
        headers[n++] = extra_header;
    lh_http_exchange x = {s, headers, time_left_ms < s->timeout_ms ? time_left_ms : s->timeout_ms};
    const lh_http_exchange *h = &x;
    lh_buf resp;
    lh_buf_init(&resp);
    long status = 0;
    lh_err *err = lh_http_post_retrying(h, body, &resp, &status);
    if (!err && (status < 200 || status > 299))
        err = lh_http_refusal(h, status, &resp, arena);
    else if (!err && (err = lh_http_json_decode(&resp, schema, arena, out)))
        err = lh_err_wrap_as(err, LH_EUPSTREAM, "%s answered unreadably", s->who);
    lh_buf_free(&resp);
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
