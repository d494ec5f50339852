/*
 * harness_http.c — one-call HTTP for tests, through libcurl: any method,
 * optional body and headers, body and raw headers captured in memory.
 * Proxies from the environment are ignored: tests only talk to loopback.
 * lh_test_fetch is the shape suites read: status, body, headers and the
 * body as JSON, from a port on loopback.
 */
#include "tests/support/harness.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

enum { HTTP_TIMEOUT_S = 60 };

typedef struct growbuf {
    char *data;
    size_t len, cap;
} growbuf;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        abort();
}

/* Keeps data NUL-terminated so callers can treat text bodies as strings. */
static size_t append(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    growbuf *buf = userdata;
    size_t n = size * nmemb;
    if (buf->len + n + 1 > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 4096;
        while (cap < buf->len + n + 1)
            cap *= 2;
        char *grown = realloc(buf->data, cap);
        if (grown == NULL)
            return 0; /* makes curl fail the transfer */
        buf->data = grown;
        buf->cap = cap;
    }
    memcpy(buf->data + buf->len, ptr, n);
    buf->len += n;
    buf->data[buf->len] = '\0';
    return n;
}

/* Hands the buffer to the caller (an empty string when nothing came). */
static char *take(growbuf *buf)
{
    if (buf->data == NULL) {
        buf->data = calloc(1, 1);
        assert(buf->data != NULL);
    }
    char *data = buf->data;
    buf->data = NULL;
    return data;
}

/* Gives `data` to the caller when they asked for it, frees it otherwise. */
static void hand_out(char *data, char **out)
{
    if (out != NULL)
        *out = data;
    else
        free(data);
}

static struct curl_slist *header_list(const char *const headers[])
{
    /* curl would otherwise stall large bodies on "Expect: 100-continue". */
    struct curl_slist *list = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        list = curl_slist_append(list, headers[i]);
    assert(list != NULL);
    return list;
}

static bool method_carries_body(const char *method)
{
    return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
           strcmp(method, "PATCH") == 0;
}

static void set_request(CURL *curl, const char *method, const char *url, const char *body,
                        size_t body_len)
{
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)HTTP_TIMEOUT_S);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (body == NULL && method_carries_body(method))
        body = "", body_len = 0; /* sends Content-Length: 0 */
    if (body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    }
}

long lh_test_http(const char *method, const char *url, const char *const headers[],
                  const char *body, size_t body_len, char **resp_body, size_t *resp_len,
                  char **resp_headers)
{
    assert(method != NULL && url != NULL);
    pthread_once(&curl_once, curl_init);
    CURL *curl = curl_easy_init();
    assert(curl != NULL);
    growbuf body_buf = {0}, head_buf = {0};
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *header_lines = header_list(headers);
    set_request(curl, method, url, body, body_len);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_lines);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body_buf);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, append);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &head_buf);
    CURLcode rc = curl_easy_perform(curl);
    long status = -1;
    if (rc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    else
        fprintf(stderr, "harness: %s %s: %s\n", method, url,
                errbuf[0] ? errbuf : curl_easy_strerror(rc));
    curl_easy_cleanup(curl);
    curl_slist_free_all(header_lines);
    size_t len = rc == CURLE_OK ? body_buf.len : 0;
    if (resp_len != NULL)
        *resp_len = len;
    hand_out(rc == CURLE_OK ? take(&body_buf) : NULL, resp_body);
    hand_out(rc == CURLE_OK ? take(&head_buf) : NULL, resp_headers);
    free(body_buf.data);
    free(head_buf.data);
    return status;
}

/* ---- responses as tests read them ---- */

lh_test_response lh_test_fetch(int port, const char *method, const char *path,
                               const char *const headers[], const char *body, size_t len)
{
    char url[4096];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    lh_test_response r = {0};
    r.status = lh_test_http(method, url, headers, body, len, &r.body, &r.len, &r.headers);
    if (r.status < 0)
        fail_msg("%s %s: transport error", method, path);
    r.json = json_loadb(r.body, r.len, 0, NULL);
    return r;
}

void lh_test_response_free(lh_test_response *r)
{
    json_decref(r->json);
    free(r->body);
    free(r->headers);
    *r = (lh_test_response){0};
}

const char *lh_test_header(const lh_test_response *r, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *line = r->headers; line && *line;) {
        size_t len = strcspn(line, "\n");
        if (len > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            v += strspn(v, " \t");
            snprintf(out, cap, "%.*s", (int)strcspn(v, "\r\n"), v);
            return out;
        }
        line += len + (line[len] == '\n');
    }
    return NULL;
}
