/*
 * http_client.c — lh_http_perform on a libcurl easy handle per call
 * (connections are cheap next to a model's answer, and a handle per call
 * keeps threads apart). curl_global_init runs once, before any handle.
 */
#include "bus/http_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <string.h>

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
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    return curl_slist_append(list, "Expect:"); /* no 100-continue round trip */
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
