/*
 * test_dataset_upload.c — POST /v1/datasets/{name}: a file uploaded and
 * ingested in one call, through the real gateway, storaged, catalogd and
 * ingestd (one `lakehouse serve` process) on a real nats-server. The
 * answers (201 with the version's Location, 202 to follow a job, 422 for
 * a failed job, 400/409 refusals), the options from the query string, and
 * that an upload which does not become a version leaves no object behind.
 */
#include "tests/support/harness.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fixture is the stack: nats-server and one `lakehouse serve` of ACTORS. */
typedef lh_test_stack fixture;

static const char *const ACTORS[] = {"storaged", "catalogd", "ingestd", "gateway", NULL};

static int setup(void **state)
{
    *state = lh_test_stack_new(&(lh_test_stack_opts){.serve = ACTORS});
    return 0;
}

/* ---- HTTP ---- */

typedef lh_test_response response;

/* A POST of `body` as `content_type`, or a GET when body is NULL; the
 * answer must be JSON. */
static response post(fixture *f, const char *path, const char *content_type, const char *body)
{
    char ct[128];
    snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
    const char *headers[] = {ct, NULL};
    response r = lh_test_fetch(f->http_port, body ? "POST" : "GET", path, body ? headers : NULL,
                               body, body ? strlen(body) : 0);
    if (!r.json)
        fail_msg("%s: %ld with a body that is not JSON: %s", path, r.status, r.body);
    return r;
}

static response get(fixture *f, const char *path) { return post(f, path, NULL, NULL); }

/* The value of a response header ("" when absent), in a static buffer. */
static const char *header(const response *r, const char *name)
{
    static char value[512];
    return lh_test_header(r, name, value, sizeof value) ? value : "";
}

static const char *str_at(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s)
        fail_msg("no string '%s'", key);
    return s;
}

static json_int_t int_at(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("no integer '%s'", key);
    return json_integer_value(v);
}

static void expect_refused(fixture *f, const char *path, const char *ct, const char *body,
                           long status, const char *says)
{
    response r = post(f, path, ct, body);
    const char *msg = json_string_value(
        json_object_get(json_object_get(r.json, "error"), "message"));
    if (r.status != status || !msg || !strstr(msg, says))
        fail_msg("POST %s: %ld '%s', expected %ld saying '%s'", path, r.status,
                 msg ? msg : "(no message)", status, says);
    lh_test_response_free(&r);
}

/* Objects under ingest-uploads/<name>/ (the delete of a discarded upload
 * is sent before the answer but travels on its own: allow it to land). */
static size_t uploads_of(fixture *f, const char *name, size_t expect)
{
    char path[256];
    snprintf(path, sizeof path, "/v1/storage/ingest-uploads?prefix=%s/", name);
    size_t n = 0;
    for (int i = 0; i < 100; i++) {
        response r = get(f, path);
        n = json_array_size(json_object_get(r.json, "objects"));
        lh_test_response_free(&r);
        if (n == expect)
            break;
        lh_test_sleep_ms(50);
    }
    return n;
}

/* ---- tests ---- */

/* 201 with the job and the version's Location; the dataset points at the
 * uploaded object and records the CSV options given in the query. */
static void test_upload_becomes_a_version(void **state)
{
    fixture *f = *state;
    response r = post(f, "/v1/datasets/trips?format=csv&delimiter=;&on_error=skip",
                      "application/octet-stream", "city;km\nOslo;12\n\"Ber;gen\";7\nbad\n");
    assert_int_equal(r.status, 201);
    assert_string_equal(str_at(r.json, "state"), "succeeded");
    assert_int_equal(int_at(r.json, "rows_read"), 2);
    assert_int_equal(int_at(r.json, "rows_rejected"), 1);
    assert_string_equal(header(&r, "Location"), "/v1/datasets/trips?version=1");
    lh_test_response_free(&r);

    response ds = get(f, "/v1/datasets/trips?version=1");
    assert_int_equal(ds.status, 200);
    json_t *v = json_object_get(ds.json, "version");
    assert_int_equal(int_at(v, "rows"), 2);
    json_t *loc = json_object_get(v, "location");
    assert_string_equal(str_at(loc, "bucket"), "ingest-uploads");
    assert_int_equal(strncmp(str_at(loc, "key"), "trips/", 6), 0);
    assert_string_equal(str_at(json_object_get(v, "csv"), "delimiter"), ";");
    lh_test_response_free(&ds);

    /* the Content-Type says the format; the next call is the next version */
    r = post(f, "/v1/datasets/trips?delimiter=;", "text/csv; charset=utf-8", "city;km\nRome;3\n");
    assert_int_equal(r.status, 201);
    assert_int_equal(int_at(r.json, "version"), 2);
    lh_test_response_free(&r);
    assert_int_equal(uploads_of(f, "trips", 2), 2);
}

static void test_jsonl_by_content_type(void **state)
{
    fixture *f = *state;
    response r = post(f, "/v1/datasets/events", "application/x-ndjson",
                      "{\"id\":1,\"kind\":\"a\"}\n{\"id\":2,\"kind\":\"b\",\"n\":2.5}\n");
    assert_int_equal(r.status, 201);
    assert_int_equal(int_at(r.json, "rows_read"), 2);
    lh_test_response_free(&r);
    response ds = get(f, "/v1/datasets/events");
    assert_string_equal(str_at(ds.json, "format"), "jsonl");
    lh_test_response_free(&ds);
}

/* wait=false: 202 at once, Location to follow the job, which finishes. */
static void test_no_wait_gives_the_job(void **state)
{
    fixture *f = *state;
    response r = post(f, "/v1/datasets/later?format=csv&wait=false", "text/plain", "a\n1\n2\n");
    assert_int_equal(r.status, 202);
    char follow[160];
    snprintf(follow, sizeof follow, "%s?wait=true", header(&r, "Location"));
    assert_int_equal(strncmp(follow, "/v1/ingest/", 11), 0);
    assert_string_equal(str_at(r.json, "state"), "queued");
    lh_test_response_free(&r);
    response done = get(f, follow);
    assert_int_equal(done.status, 200);
    assert_string_equal(str_at(done.json, "state"), "succeeded");
    assert_int_equal(int_at(done.json, "rows_read"), 2);
    assert_int_equal(int_at(done.json, "version"), 1);
    lh_test_response_free(&done);
}

/* A job that fails: 422 with the error and the job; the object is gone. */
static void test_failed_job_leaves_nothing(void **state)
{
    fixture *f = *state;
    response r = post(f, "/v1/datasets/ragged?format=csv", "text/csv", "a,b\n1,2\n3\n");
    assert_int_equal(r.status, 422);
    const char *msg = json_string_value(
        json_object_get(json_object_get(r.json, "error"), "message"));
    assert_non_null(strstr(msg, "line 3"));
    json_t *job = json_object_get(r.json, "job");
    assert_string_equal(str_at(job, "state"), "failed");
    assert_int_equal(int_at(job, "version"), 0);
    lh_test_response_free(&r);
    assert_int_equal(uploads_of(f, "ragged", 0), 0);
    response ds = get(f, "/v1/datasets/ragged");
    assert_int_equal(ds.status, 404);
    lh_test_response_free(&ds);
}

/* Options are checked before the body is stored; what only ingestd can
 * judge (the dataset's name, its format) is refused after, and the
 * object is discarded. */
static void test_refusals(void **state)
{
    fixture *f = *state;
    const char *csv = "a\n1\n";
    expect_refused(f, "/v1/datasets/x1", "application/octet-stream", csv, 400,
                   "give ?format=csv");
    expect_refused(f, "/v1/datasets/x1?format=parquet", "text/csv", csv, 400, "format");
    expect_refused(f, "/v1/datasets/x1?format=jsonl&delimiter=;", "text/csv", csv, 400,
                   "apply only to format csv");
    expect_refused(f, "/v1/datasets/x1?format=csv&embed_column=a", "text/csv", csv, 400,
                   "both embed_column and embed_index");
    expect_refused(f, "/v1/datasets/x1?format=csv&header=maybe", "text/csv", csv, 400,
                   "header must be true or false");
    expect_refused(f, "/v1/datasets/x1?format=csv&colour=red", "text/csv", csv, 400,
                   "unknown query parameter 'colour'");
    expect_refused(f, "/v1/datasets/x1?format=csv&delimiter=ab", "text/csv", csv, 413,
                   "delimiter");
    assert_int_equal(uploads_of(f, "x1", 0), 0);
    char long_name[128];
    snprintf(long_name, sizeof long_name, "/v1/datasets/%070d?format=csv", 7);
    long_name[13] = 'n'; /* a letter first, so only the length is wrong */
    expect_refused(f, long_name, "text/csv", csv, 400, "at most 63 characters");
    expect_refused(f, "/v1/datasets/select?format=csv", "text/csv", csv, 400, "keyword");
    assert_int_equal(uploads_of(f, "select", 0), 0);
    response r = post(f, "/v1/datasets/kept?format=csv", "text/csv", csv);
    assert_int_equal(r.status, 201);
    lh_test_response_free(&r);
    expect_refused(f, "/v1/datasets/kept?format=jsonl", "text/csv", "{\"a\":1}\n", 409,
                   "holds csv");
    assert_int_equal(uploads_of(f, "kept", 1), 1);
    response ds = get(f, "/v1/datasets/kept");
    assert_int_equal(int_at(ds.json, "latest"), 1);
    lh_test_response_free(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upload_becomes_a_version),
        cmocka_unit_test(test_jsonl_by_content_type),
        cmocka_unit_test(test_no_wait_gives_the_job),
        cmocka_unit_test(test_failed_job_leaves_nothing),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, lh_test_stack_teardown);
}
