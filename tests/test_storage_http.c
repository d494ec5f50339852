/*
 * test_storage_http.c — /v1/storage through the real gateway onto a real
 * storaged, each in its own `lakehouse serve` process: PUT, GET, HEAD,
 * DELETE and listings; Range (206, 416); X-Content-SHA256; names refused
 * before any body is read; empty and chunked bodies; a client that hangs
 * up mid-upload; LH_HTTP_MAX_BODY not applying to streamed bodies; and a
 * 200 MB object streamed up and down with its sha256 checked while the
 * peak RSS of storaged and of the gateway stays under a bound.
 */
#include "tests/support/harness.h"

#include <curl/curl.h>
#include <dirent.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1024 * 1024)
#define MAX_BODY 65536 /* the gateway's LH_HTTP_MAX_BODY here: far below what is streamed */
#define BIG_BYTES (200u * MIB)

/* The peak RSS (VmHWM) each of storaged and the gateway may reach while a
 * 200 MB object streams through. Without sanitizers both stay near 35 MB
 * (measured); AddressSanitizer adds its shadow memory and keeps freed
 * blocks in quarantine (here limited to 16 MB), hence a wider bound. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_BOUND_KB (128 * 1024)
#else
#define RSS_BOUND_KB (64 * 1024)
#endif

/* The fixture is the stack: nats-server, storaged and the gateway, each
 * served as its own process. */
typedef lh_test_stack fixture;

static const char *const STORAGED[] = {"storaged", NULL};
static const char *const GATEWAY[] = {"gateway", NULL};

static int setup(void **state)
{
    fixture *f = lh_test_stack_new(NULL);
    char body_env[64], timeout_env[64];
    /* A vanished client is sometimes noticed only by the idle timeout
     * (gateway.h): short, so the hang-up test sees its upload aborted. */
    char idle_env[] = "LH_HTTP_IDLE_TIMEOUT_S=5";
    snprintf(body_env, sizeof body_env, "LH_HTTP_MAX_BODY=%d", MAX_BODY);
    snprintf(timeout_env, sizeof timeout_env, "LH_REQUEST_TIMEOUT_MS=%d", 30000);
    const char *asan = getenv("ASAN_OPTIONS");
    char *asan_env = NULL;
    if (asprintf(&asan_env, "ASAN_OPTIONS=%s%squarantine_size_mb=16", asan ? asan : "",
                 asan && *asan ? ":" : "") < 0)
        fail_msg("out of memory");
    char *const env[] = {body_env, timeout_env, idle_env, asan_env, NULL};
    lh_test_stack_serve(f, STORAGED, NULL, env);
    lh_test_stack_serve(f, GATEWAY, NULL, env);
    free(asan_env);
    *state = f;
    return 0;
}

/* ---- HTTP ---- */

typedef lh_test_response response;

static response http(fixture *f, const char *method, const char *path, const char *const headers[],
                     const char *body, size_t body_len)
{
    return lh_test_fetch(f->http_port, method, path, headers, body, body_len);
}

static void expect_status(response *r, long status, const char *words)
{
    if (r->status != status)
        fail_msg("expected %ld, got %ld: %.300s", status, r->status, r->body);
    if (words && !strstr(r->body, words))
        fail_msg("body '%.300s' lacks '%s'", r->body, words);
}

static void expect_error(fixture *f, const char *method, const char *path, long status,
                         const char *words)
{
    response r = http(f, method, path, NULL, method[0] == 'P' ? "x" : NULL, 1);
    expect_status(&r, status, words);
    lh_test_response_free(&r);
}

static void put_ok(fixture *f, const char *path, const char *body, size_t len)
{
    response r = http(f, "PUT", path, NULL, body, len);
    expect_status(&r, 200, NULL);
    lh_test_response_free(&r);
}

static size_t temp_files(fixture *f)
{
    char dir[800];
    snprintf(dir, sizeof dir, "%s/storaged/tmp", f->data_dir);
    DIR *d = opendir(dir);
    size_t n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* Waits (boundedly) until storaged holds no upload in progress. */
static void wait_no_temp_files(fixture *f)
{
    int64_t deadline = lh_test_now_ms() + 30000;
    while (temp_files(f) > 0) {
        if (lh_test_now_ms() > deadline) {
            lh_test_log_tail(f->log, 60);
            fail_msg("an upload that failed or was abandoned was not aborted");
        }
        lh_test_sleep_ms(50);
    }
}

/* ---- streaming with libcurl: generated bodies, hashed as they pass ---- */

typedef struct stream {
    uint64_t total;  /* bytes to send */
    uint64_t sent;
    uint64_t abort_at; /* hang up after this many bytes; 0 = never */
    uint64_t seed;
    EVP_MD_CTX *sha;
    uint64_t received;
} stream;

/* Deterministic bytes: the same (seed, offset) always gives the same byte. */
static void fill(uint64_t seed, uint64_t at, char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t x = (at + i) / 8 * 0x9e3779b97f4a7c15ull + seed;
        x ^= x >> 29;
        x *= 0xbf58476d1ce4e5b9ull;
        buf[i] = (char)(x >> (8 * ((at + i) % 8)));
    }
}

static size_t stream_read(char *buf, size_t size, size_t nitems, void *user)
{
    stream *s = user;
    size_t n = size * nitems;
    if (s->abort_at && s->sent >= s->abort_at)
        return CURL_READFUNC_ABORT;
    if (n > s->total - s->sent)
        n = (size_t)(s->total - s->sent);
    fill(s->seed, s->sent, buf, n);
    EVP_DigestUpdate(s->sha, buf, n);
    s->sent += n;
    return n;
}

static size_t stream_write(char *ptr, size_t size, size_t nmemb, void *user)
{
    stream *s = user;
    EVP_DigestUpdate(s->sha, ptr, size * nmemb);
    s->received += size * nmemb;
    return size * nmemb;
}

static void stream_hex(stream *s, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(s->sha, md, &n);
    EVP_MD_CTX_free(s->sha);
    s->sha = NULL;
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static CURL *curl_for(fixture *f, const char *path)
{
    char url[1024];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", f->http_port, path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
    return c;
}

/* PUTs s->total generated bytes; chunked when `chunked` (no length given). */
static long stream_up(fixture *f, const char *path, stream *s, bool chunked,
                      struct curl_slist *headers)
{
    CURL *c = curl_for(f, path);
    s->sha = EVP_MD_CTX_new();
    EVP_DigestInit_ex(s->sha, EVP_sha256(), NULL);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, stream_read);
    curl_easy_setopt(c, CURLOPT_READDATA, s);
    if (!chunked)
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)s->total);
    if (headers)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    stream sink = {0};
    sink.sha = EVP_MD_CTX_new();
    EVP_DigestInit_ex(sink.sha, EVP_sha256(), NULL);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stream_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    long status = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    EVP_MD_CTX_free(sink.sha);
    curl_easy_cleanup(c);
    return status;
}

static long stream_down(fixture *f, const char *path, stream *s)
{
    CURL *c = curl_for(f, path);
    s->sha = EVP_MD_CTX_new();
    EVP_DigestInit_ex(s->sha, EVP_sha256(), NULL);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stream_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    long status = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

static long vm_hwm_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    long kb = -1;
    while (fgets(line, sizeof line, fp))
        if (!strncmp(line, "VmHWM:", 6))
            kb = strtol(line + 6, NULL, 10);
    fclose(fp);
    return kb;
}

/* ======================================================================
 * tests
 * ====================================================================== */

static void test_put_get_head_delete(void **state)
{
    fixture *f = *state;
    const char *const ct[] = {"Content-Type: text/csv", NULL};
    const char *csv = "a,b\n1,2\n";
    response r = http(f, "PUT", "/v1/storage/tables/2024/t.csv", ct, csv, strlen(csv));
    expect_status(&r, 200, NULL);
    char sha[65], v[256];
    lh_test_sha256_hex(csv, strlen(csv), sha);
    assert_string_equal(json_string_value(json_object_get(r.json, "sha256")), sha);
    assert_string_equal(json_string_value(json_object_get(r.json, "key")), "2024/t.csv");
    assert_int_equal(json_integer_value(json_object_get(r.json, "size")), strlen(csv));
    lh_test_response_free(&r);

    r = http(f, "GET", "/v1/storage/tables/2024/t.csv", NULL, NULL, 0);
    expect_status(&r, 200, NULL);
    assert_int_equal(r.len, strlen(csv));
    assert_memory_equal(r.body, csv, r.len);
    assert_string_equal(lh_test_header(&r, "Content-Type", v, sizeof v), "text/csv");
    char etag[80];
    snprintf(etag, sizeof etag, "\"%s\"", sha);
    assert_string_equal(lh_test_header(&r, "ETag", v, sizeof v), etag);
    assert_string_equal(lh_test_header(&r, "Content-Length", v, sizeof v), "8");
    assert_string_equal(lh_test_header(&r, "Accept-Ranges", v, sizeof v), "bytes");
    assert_non_null(strstr(lh_test_header(&r, "Last-Modified", v, sizeof v), " GMT"));
    lh_test_response_free(&r);

    r = http(f, "HEAD", "/v1/storage/tables/2024/t.csv", NULL, NULL, 0);
    expect_status(&r, 200, NULL);
    assert_int_equal(r.len, 0);
    assert_string_equal(lh_test_header(&r, "Content-Length", v, sizeof v), "8");
    assert_string_equal(lh_test_header(&r, "ETag", v, sizeof v), etag);
    lh_test_response_free(&r);

    r = http(f, "DELETE", "/v1/storage/tables/2024/t.csv", NULL, NULL, 0);
    expect_status(&r, 204, NULL);
    assert_int_equal(r.len, 0);
    lh_test_response_free(&r);
    expect_error(f, "DELETE", "/v1/storage/tables/2024/t.csv", 404, "no object");
    expect_error(f, "GET", "/v1/storage/tables/2024/t.csv", 404, "no object");
    r = http(f, "HEAD", "/v1/storage/tables/2024/t.csv", NULL, NULL, 0);
    expect_status(&r, 404, NULL);
    lh_test_response_free(&r);
}

static void test_list_with_query_parameters(void **state)
{
    fixture *f = *state;
    const char *keys[] = {"logs/2024/a", "logs/2024/b", "logs/2025/c", "readme"};
    for (int i = 0; i < 4; i++) {
        char path[128];
        snprintf(path, sizeof path, "/v1/storage/listing/%s", keys[i]);
        put_ok(f, path, keys[i], strlen(keys[i]));
    }
    response r = http(f, "GET", "/v1/storage/listing?prefix=logs/&delimiter=/", NULL, NULL, 0);
    expect_status(&r, 200, NULL);
    json_t *p = json_object_get(r.json, "prefixes");
    assert_int_equal(json_array_size(p), 2);
    assert_string_equal(json_string_value(json_array_get(p, 0)), "logs/2024/");
    assert_string_equal(json_string_value(json_array_get(p, 1)), "logs/2025/");
    assert_int_equal(json_array_size(json_object_get(r.json, "objects")), 0);
    lh_test_response_free(&r);

    r = http(f, "GET", "/v1/storage/listing?limit=2", NULL, NULL, 0);
    expect_status(&r, 200, NULL);
    assert_true(json_is_true(json_object_get(r.json, "truncated")));
    assert_string_equal(json_string_value(json_object_get(r.json, "next")), "logs/2024/b");
    lh_test_response_free(&r);
    r = http(f, "GET", "/v1/storage/listing?limit=2&after=logs/2024/b", NULL, NULL, 0);
    json_t *objs = json_object_get(r.json, "objects");
    assert_int_equal(json_array_size(objs), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(objs, 1), "key")),
                        "readme");
    assert_false(json_is_true(json_object_get(r.json, "truncated")));
    lh_test_response_free(&r);

    expect_error(f, "GET", "/v1/storage/listing?limit=ten", 400, "integer");
    expect_error(f, "GET", "/v1/storage/listing?limit=0", 400, "limit");
    expect_error(f, "GET", "/v1/storage/listing?color=red", 400, "unknown query parameter");
    expect_error(f, "GET", "/v1/storage/listing?prefix=a&prefix=b", 400, "twice");
    expect_error(f, "GET", "/v1/storage/No_Such", 400, "bucket name");
}

static response get_range(fixture *f, const char *path, const char *range)
{
    char h[128];
    snprintf(h, sizeof h, "Range: %s", range);
    const char *const headers[] = {h, NULL};
    return http(f, "GET", path, headers, NULL, 0);
}

static void test_ranges(void **state)
{
    fixture *f = *state;
    put_ok(f, "/v1/storage/ranges/digits", "0123456789", 10);
    char v[128];
    struct {
        const char *range, *body, *content_range;
    } cases[] = {
        {"bytes=0-4", "01234", "bytes 0-4/10"},
        {"bytes=5-", "56789", "bytes 5-9/10"},
        {"bytes=-3", "789", "bytes 7-9/10"},
        {"bytes=8-100", "89", "bytes 8-9/10"},
        {"bytes=-50", "0123456789", "bytes 0-9/10"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        response r = get_range(f, "/v1/storage/ranges/digits", cases[i].range);
        expect_status(&r, 206, NULL);
        assert_int_equal(r.len, strlen(cases[i].body));
        assert_memory_equal(r.body, cases[i].body, r.len);
        assert_string_equal(lh_test_header(&r, "Content-Range", v, sizeof v),
                            cases[i].content_range);
        lh_test_response_free(&r);
    }
    response r = get_range(f, "/v1/storage/ranges/digits", "bytes=10-");
    expect_status(&r, 416, "not satisfiable");
    assert_string_equal(lh_test_header(&r, "Content-Range", v, sizeof v), "bytes */10");
    lh_test_response_free(&r);
    r = get_range(f, "/v1/storage/ranges/digits", "bytes=-0");
    expect_status(&r, 416, NULL);
    lh_test_response_free(&r);
    /* several ranges, or nonsense: the whole object, as RFC 9110 allows */
    const char *whole[] = {"bytes=0-1,4-5", "items=0-3", "bytes=5-2", "bytes=x-"};
    for (int i = 0; i < 4; i++) {
        r = get_range(f, "/v1/storage/ranges/digits", whole[i]);
        expect_status(&r, 200, NULL);
        assert_int_equal(r.len, 10);
        lh_test_response_free(&r);
    }
    const char *const hr[] = {"Range: bytes=2-3", NULL};
    r = http(f, "HEAD", "/v1/storage/ranges/digits", hr, NULL, 0);
    expect_status(&r, 206, NULL);
    assert_string_equal(lh_test_header(&r, "Content-Length", v, sizeof v), "2");
    lh_test_response_free(&r);
}

static void test_sha_header_is_checked(void **state)
{
    fixture *f = *state;
    char sha[65], h[128];
    lh_test_sha256_hex("other", 5, sha);
    snprintf(h, sizeof h, "X-Content-SHA256: %s", sha);
    const char *const wrong[] = {h, NULL};
    response r = http(f, "PUT", "/v1/storage/checked/obj", wrong, "hello", 5);
    expect_status(&r, 422, "nothing was written");
    lh_test_response_free(&r);
    expect_error(f, "GET", "/v1/storage/checked/obj", 404, NULL);
    wait_no_temp_files(f); /* the gateway aborts the upload after answering */
    const char *const bad[] = {"X-Content-SHA256: 1234", NULL};
    r = http(f, "PUT", "/v1/storage/checked/obj", bad, "hello", 5);
    expect_status(&r, 400, "X-Content-SHA256");
    lh_test_response_free(&r);
    lh_test_sha256_hex("hello", 5, sha);
    snprintf(h, sizeof h, "X-Content-SHA256: %s", sha);
    const char *const right[] = {h, NULL};
    r = http(f, "PUT", "/v1/storage/checked/obj", right, "hello", 5);
    expect_status(&r, 200, sha);
    lh_test_response_free(&r);
}

static void test_bad_names_refused_before_the_body(void **state)
{
    fixture *f = *state;
    expect_error(f, "PUT", "/v1/storage/names/a%00b", 400, "%00");
    expect_error(f, "GET", "/v1/storage/names/a%00b", 400, "%00");
    expect_error(f, "PUT", "/v1/storage/names/..%2F..%2Fetc%2Fpasswd", 400, "'..' segment");
    expect_error(f, "PUT", "/v1/storage/names/a%0Ab", 400, "control");
    expect_error(f, "PUT", "/v1/storage/names/a%5Cb", 400, "backslash");
    expect_error(f, "PUT", "/v1/storage/names/a//b", 400, "empty segment");
    expect_error(f, "PUT", "/v1/storage/NAMES/k", 400, "lowercase");
    expect_error(f, "PUT", "/v1/storage/names/%C0%80", 400, NULL);
    expect_error(f, "DELETE", "/v1/storage/names/a%00b", 400, "%00");
    response r = http(f, "GET", "/v1/storage/names", NULL, NULL, 0);
    expect_status(&r, 200, NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "objects")), 0);
    lh_test_response_free(&r);
    char dir[800];
    snprintf(dir, sizeof dir, "%s/storaged/objects/names", f->data_dir);
    assert_int_equal(access(dir, F_OK), -1);

    /* a refused name answers before a large body is sent (Expect: 100-continue) */
    stream s = {.total = 50u * MIB, .seed = 1};
    struct curl_slist *h = curl_slist_append(NULL, "Expect: 100-continue");
    assert_int_equal(stream_up(f, "/v1/storage/names/..%2Fup", &s, false, h), 400);
    curl_slist_free_all(h);
    EVP_MD_CTX_free(s.sha);
    assert_true(s.sent < s.total);
}

static void test_empty_and_chunked_bodies(void **state)
{
    fixture *f = *state;
    put_ok(f, "/v1/storage/bodies/empty", "", 0);
    response r = http(f, "GET", "/v1/storage/bodies/empty", NULL, NULL, 0);
    expect_status(&r, 200, NULL);
    char v[64];
    assert_string_equal(lh_test_header(&r, "Content-Length", v, sizeof v), "0");
    lh_test_response_free(&r);

    stream up = {.total = 5u * MIB + 333, .seed = 2};
    assert_int_equal(stream_up(f, "/v1/storage/bodies/chunked", &up, true, NULL), 200);
    char sent[65], got[65];
    stream_hex(&up, sent);
    stream down = {0};
    assert_int_equal(stream_down(f, "/v1/storage/bodies/chunked", &down), 200);
    stream_hex(&down, got);
    assert_int_equal(down.received, up.total);
    assert_string_equal(got, sent);
}

static void test_max_body_does_not_limit_streams(void **state)
{
    fixture *f = *state;
    stream up = {.total = 3u * MIB, .seed = 3}; /* far over LH_HTTP_MAX_BODY */
    assert_int_equal(stream_up(f, "/v1/storage/limits/big", &up, false, NULL), 200);
    EVP_MD_CTX_free(up.sha);
    /* while a JSON route still answers 413 over it */
    char *body = calloc(1, MAX_BODY + 10);
    memset(body, ' ', MAX_BODY + 9);
    response r = http(f, "DELETE", "/v1/storage/limits/big", NULL, body, MAX_BODY + 9);
    expect_status(&r, 413, "LH_HTTP_MAX_BODY");
    lh_test_response_free(&r);
    free(body);
}

static void test_client_hanging_up_mid_upload_leaves_nothing(void **state)
{
    fixture *f = *state;
    stream up = {.total = 20u * MIB, .abort_at = 5u * MIB, .seed = 4};
    assert_int_equal(stream_up(f, "/v1/storage/gone/partial", &up, false, NULL), -1);
    EVP_MD_CTX_free(up.sha);
    wait_no_temp_files(f); /* the gateway aborts the upload */
    expect_error(f, "GET", "/v1/storage/gone/partial", 404, NULL);
    response r = http(f, "GET", "/v1/storage/gone", NULL, NULL, 0);
    assert_int_equal(json_array_size(json_object_get(r.json, "objects")), 0);
    lh_test_response_free(&r);
}

static void test_openapi_describes_storage_routes(void **state)
{
    fixture *f = *state;
    response r = http(f, "GET", "/v1/openapi.json", NULL, NULL, 0);
    expect_status(&r, 200, NULL);
    json_t *paths = json_object_get(r.json, "paths");
    json_t *obj = json_object_get(paths, "/v1/storage/{bucket}/{key}");
    assert_non_null(json_object_get(obj, "put"));
    assert_non_null(json_object_get(obj, "get"));
    assert_non_null(json_object_get(obj, "delete"));
    json_t *put = json_object_get(obj, "put");
    assert_non_null(json_object_get(json_object_get(json_object_get(put, "requestBody"), "content"),
                                    "application/octet-stream"));
    json_t *lst = json_object_get(json_object_get(paths, "/v1/storage/{bucket}"), "get");
    assert_null(json_object_get(lst, "requestBody"));
    json_t *params = json_object_get(lst, "parameters");
    bool has_limit = false;
    for (size_t i = 0; i < json_array_size(params); i++) {
        json_t *p = json_array_get(params, i);
        if (!strcmp(json_string_value(json_object_get(p, "name")), "limit"))
            has_limit = !strcmp(json_string_value(json_object_get(p, "in")), "query");
    }
    assert_true(has_limit);
    lh_test_response_free(&r);
}

/* Replaces the object once the download is under way. */
typedef struct racer {
    fixture *f;
    stream s;
    bool replaced;
} racer;

static size_t racer_write(char *ptr, size_t size, size_t nmemb, void *user)
{
    racer *r = user;
    stream_write(ptr, size, nmemb, &r->s);
    if (!r->replaced && r->s.received >= MIB) {
        r->replaced = true;
        stream up = {.total = 40u * MIB, .seed = 7}; /* same size, other bytes */
        assert_int_equal(stream_up(r->f, "/v1/storage/race/obj", &up, false, NULL), 200);
        EVP_MD_CTX_free(up.sha);
    }
    return size * nmemb;
}

/* An object replaced while it streams out: the download is cut short,
 * never completed with bytes of two objects. */
static void test_object_replaced_mid_download_cuts_the_stream(void **state)
{
    fixture *f = *state;
    stream up = {.total = 40u * MIB, .seed = 6};
    assert_int_equal(stream_up(f, "/v1/storage/race/obj", &up, false, NULL), 200);
    EVP_MD_CTX_free(up.sha);
    racer r = {.f = f};
    r.s.sha = EVP_MD_CTX_new();
    EVP_DigestInit_ex(r.s.sha, EVP_sha256(), NULL);
    CURL *c = curl_for(f, "/v1/storage/race/obj");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, racer_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    EVP_MD_CTX_free(r.s.sha);
    assert_true(r.replaced);
    assert_int_equal(rc, CURLE_PARTIAL_FILE);
    assert_true(r.s.received < 40u * MIB);
}

/* 200 MB up and down: the bytes arrive whole, and neither process holds
 * more than a few parts and ranges at a time. */
static void test_200mb_streams_in_bounded_memory(void **state)
{
    fixture *f = *state;
    stream up = {.total = BIG_BYTES, .seed = 5};
    char sent[65], got[65], h[128];
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/x-test");
    long status = stream_up(f, "/v1/storage/large/two-hundred.bin", &up, false, headers);
    curl_slist_free_all(headers);
    assert_int_equal(status, 200);
    stream_hex(&up, sent);
    stream down = {0};
    assert_int_equal(stream_down(f, "/v1/storage/large/two-hundred.bin", &down), 200);
    stream_hex(&down, got);
    assert_int_equal(down.received, BIG_BYTES);
    assert_string_equal(got, sent);
    snprintf(h, sizeof h, "/v1/storage/large/two-hundred.bin");
    response r = http(f, "HEAD", h, NULL, NULL, 0);
    char v[128], etag[80];
    snprintf(etag, sizeof etag, "\"%s\"", sent);
    assert_string_equal(lh_test_header(&r, "ETag", v, sizeof v), etag);
    assert_string_equal(lh_test_header(&r, "Content-Type", v, sizeof v), "application/x-test");
    lh_test_response_free(&r);
    long st = vm_hwm_kb(lh_test_stack_proc(f, "storaged")->pid),
         gw = vm_hwm_kb(lh_test_stack_proc(f, "gateway")->pid);
    fprintf(stderr, "peak RSS after 200 MB up and down: storaged %ld KiB, gateway %ld KiB "
                    "(bound %d KiB)\n", st, gw, RSS_BOUND_KB);
    assert_true(st > 0 && st < RSS_BOUND_KB);
    assert_true(gw > 0 && gw < RSS_BOUND_KB);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, lh_test_stack_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_put_get_head_delete),
        T(test_list_with_query_parameters),
        T(test_ranges),
        T(test_sha_header_is_checked),
        T(test_bad_names_refused_before_the_body),
        T(test_empty_and_chunked_bodies),
        T(test_max_body_does_not_limit_streams),
        T(test_client_hanging_up_mid_upload_leaves_nothing),
        T(test_openapi_describes_storage_routes),
        T(test_object_replaced_mid_download_cuts_the_stream),
        T(test_200mb_streams_in_bounded_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
