/*
 * test_gateway.c — HTTP through the real gateway onto a real bus.
 *
 * Four stacks: embedd and the gateway together (the routes, shapes,
 * refusals, health, metrics, OpenAPI, keep-alive); the gateway alone (no
 * responders is 503, a responder that never answers is 504, health says
 * who is down); the gateway stopped by SIGTERM while a request waits for
 * the bus (the request is still answered); and a gateway whose port is
 * taken (it refuses to start and says why).
 */
#include "tests/support/harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gateway/gw.h"

#define MAX_BODY 4096

/* The fixture is the stack: nats-server and one `lakehouse serve`. */
typedef lh_test_stack fixture;

/* The whole stack: every actor the route table fronts, then the gateway. */
static const char *stack_actors[32];

static const char *const *whole_stack(void)
{
    size_t n = 0;
    const char *const *actors = lh_gw_route_actors(&n);
    assert_true(n + 2 <= sizeof stack_actors / sizeof stack_actors[0]);
    for (size_t i = 0; i < n; i++)
        stack_actors[i] = actors[i];
    stack_actors[n] = "gateway";
    stack_actors[n + 1] = NULL;
    return stack_actors;
}
static const char *const GATEWAY_ONLY[] = {"gateway", NULL};

static fixture *start(const char *const actors[], const char *timeout_ms)
{
    char body_env[64], timeout_env[64];
    snprintf(body_env, sizeof body_env, "LH_HTTP_MAX_BODY=%d", MAX_BODY);
    snprintf(timeout_env, sizeof timeout_env, "LH_REQUEST_TIMEOUT_MS=%s", timeout_ms);
    char *const env[] = {body_env, timeout_env, NULL};
    return lh_test_stack_new(&(lh_test_stack_opts){.serve = actors, .env = env});
}

static int setup_stack(void **state)
{
    *state = start(whole_stack(), "10000");
    return 0;
}

static int setup_gateway_only(void **state)
{
    *state = start(GATEWAY_ONLY, "300");
    return 0;
}

/* ---- HTTP helpers ---- */

typedef lh_test_response response;

static response http(fixture *f, const char *method, const char *path, const char *const headers[],
                     const char *body)
{
    return lh_test_fetch(f->http_port, method, path, headers, body, body ? strlen(body) : 0);
}

static void assert_json_error(const response *r, long status)
{
    if (r->status != status)
        fail_msg("expected %ld, got %ld: %s", status, r->status, r->body);
    assert_non_null(r->json);
    json_t *err = json_object_get(r->json, "error");
    assert_non_null(err);
    assert_int_equal(json_integer_value(json_object_get(err, "code")), status);
    assert_true(json_string_length(json_object_get(err, "message")) > 0);
    char ct[128], rid[128];
    assert_non_null(lh_test_header(r, "Content-Type", ct, sizeof ct));
    assert_string_equal(ct, "application/json");
    assert_non_null(lh_test_header(r, "X-Request-Id", rid, sizeof rid));
}

static const char *error_field(const response *r)
{
    return json_string_value(json_object_get(json_object_get(r->json, "error"), "field"));
}

static void assert_has(const response *r, const char *text)
{
    if (!strstr(r->body, text))
        fail_msg("'%s' is not in:\n%s", text, r->body);
}

static void assert_unit_rows(json_t *rows, size_t n_rows)
{
    assert_true(json_is_array(rows));
    assert_int_equal(json_array_size(rows), n_rows);
    for (size_t i = 0; i < n_rows; i++) {
        json_t *row = json_array_get(rows, i);
        assert_true(json_array_size(row) > 0);
        double ss = 0;
        for (size_t k = 0; k < json_array_size(row); k++)
            ss += pow(json_number_value(json_array_get(row, k)), 2);
        assert_true(fabs(sqrt(ss) - 1.0) < 1e-4);
    }
}

/* ---- the full stack ---- */

static void test_embed_answers_unit_vectors_and_echoes_request_id(void **state)
{
    fixture *f = *state;
    const char *h[] = {"Content-Type: application/json", "X-Request-Id: test-rid.1_A", NULL};
    response r = http(f, "POST", "/v1/embed", h, "{\"texts\":[\"hello world\",\"good bye\"]}");
    if (r.status != 200)
        fail_msg("POST /v1/embed: %ld %s", r.status, r.body);
    assert_unit_rows(json_object_get(r.json, "vectors"), 2);
    json_int_t dim = json_integer_value(json_object_get(r.json, "dimension"));
    assert_int_equal(json_array_size(json_array_get(json_object_get(r.json, "vectors"), 0)), dim);
    char v[128];
    assert_string_equal(lh_test_header(&r, "X-Request-Id", v, sizeof v), "test-rid.1_A");
    assert_string_equal(lh_test_header(&r, "Content-Type", v, sizeof v), "application/json");
    lh_test_response_free(&r);
}

static void test_request_id_is_generated_when_absent_or_insane(void **state)
{
    fixture *f = *state;
    const char *bad[] = {"X-Request-Id: no spaces/or slashes allowed", NULL};
    response a = http(f, "POST", "/v1/embed", bad, "{\"texts\":[\"x\"]}");
    response b = http(f, "POST", "/v1/embed", NULL, "{\"texts\":[\"x\"]}");
    assert_int_equal(a.status, 200);
    assert_int_equal(b.status, 200);
    char ra[128], rb[128];
    assert_non_null(lh_test_header(&a, "X-Request-Id", ra, sizeof ra));
    assert_non_null(lh_test_header(&b, "X-Request-Id", rb, sizeof rb));
    assert_string_not_equal(ra, "no spaces/or slashes allowed");
    assert_true(strlen(ra) > 0 && strlen(rb) > 0);
    assert_string_not_equal(ra, rb);
    lh_test_response_free(&a);
    lh_test_response_free(&b);
}

static void test_form_urlencoded_body_is_read_as_json(void **state)
{
    fixture *f = *state; /* what `curl -d` sends */
    const char *h[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    response r = http(f, "POST", "/v1/embed", h, "{\"texts\":[\"hello\"]}");
    assert_int_equal(r.status, 200);
    assert_unit_rows(json_object_get(r.json, "vectors"), 1);
    lh_test_response_free(&r);
}

static void test_ai_embed_answers_in_the_old_shape(void **state)
{
    fixture *f = *state;
    response r = http(f, "POST", "/ai/embed", NULL, "{\"texts\":[\"one\",\"two\",\"three\"]}");
    if (r.status != 200)
        fail_msg("POST /ai/embed: %ld %s", r.status, r.body);
    assert_unit_rows(json_object_get(r.json, "embeddings"), 3);
    json_int_t dims = json_integer_value(json_object_get(r.json, "dimensions"));
    assert_true(dims > 0);
    json_t *first = json_array_get(json_object_get(r.json, "embeddings"), 0);
    assert_int_equal(json_array_size(first), dims);
    assert_true(json_is_string(json_object_get(r.json, "model")));
    assert_null(json_object_get(r.json, "vectors"));
    lh_test_response_free(&r);

    r = http(f, "POST", "/ai/embed", NULL, "{\"text\":\"just one\"}");
    assert_int_equal(r.status, 200);
    assert_unit_rows(json_object_get(r.json, "embeddings"), 1);
    lh_test_response_free(&r);

    r = http(f, "POST", "/ai/embed", NULL, "{\"text\":\"a\",\"texts\":[\"b\"]}");
    assert_json_error(&r, 400);
    assert_string_equal(error_field(&r), "text");
    lh_test_response_free(&r);
}

static void test_openai_embeddings_shape(void **state)
{
    fixture *f = *state;
    response r = http(f, "POST", "/v1/embeddings", NULL,
                      "{\"input\":[\"the quick brown fox\",\"jumps\"],\"model\":\"hash-384\"}");
    if (r.status != 200)
        fail_msg("POST /v1/embeddings: %ld %s", r.status, r.body);
    assert_string_equal(json_string_value(json_object_get(r.json, "object")), "list");
    json_t *data = json_object_get(r.json, "data");
    assert_int_equal(json_array_size(data), 2);
    json_t *rows = json_array();
    for (size_t i = 0; i < 2; i++) {
        json_t *d = json_array_get(data, i);
        assert_string_equal(json_string_value(json_object_get(d, "object")), "embedding");
        assert_int_equal(json_integer_value(json_object_get(d, "index")), i);
        json_array_append(rows, json_object_get(d, "embedding"));
    }
    assert_unit_rows(rows, 2);
    json_decref(rows);
    assert_string_equal(json_string_value(json_object_get(r.json, "model")), "hash-384");
    json_t *usage = json_object_get(r.json, "usage");
    assert_int_equal(json_integer_value(json_object_get(usage, "prompt_tokens")), 5);
    assert_int_equal(json_integer_value(json_object_get(usage, "total_tokens")), 5);
    lh_test_response_free(&r);
}

static void test_openai_embeddings_single_input_and_base64(void **state)
{
    fixture *f = *state;
    response r = http(f, "POST", "/v1/embeddings", NULL, "{\"input\":\"hello there\"}");
    assert_int_equal(r.status, 200);
    json_t *first = json_array_get(json_object_get(r.json, "data"), 0);
    size_t dim = json_array_size(json_object_get(first, "embedding"));
    assert_true(dim > 0);
    lh_test_response_free(&r);

    r = http(f, "POST", "/v1/embeddings", NULL,
             "{\"input\":\"hello there\",\"encoding_format\":\"base64\"}");
    assert_int_equal(r.status, 200);
    first = json_array_get(json_object_get(r.json, "data"), 0);
    const char *b64 = json_string_value(json_object_get(first, "embedding"));
    assert_non_null(b64);
    assert_int_equal(strlen(b64), (dim * 4 + 2) / 3 * 4); /* float32 each */
    lh_test_response_free(&r);

    r = http(f, "POST", "/v1/embeddings", NULL, "{\"input\":[1,2]}");
    assert_json_error(&r, 400);
    assert_string_equal(error_field(&r), "input[0]");
    lh_test_response_free(&r);

    /* The compatible request is a schema: unknown fields and bad choices named. */
    r = http(f, "POST", "/v1/embeddings", NULL, "{\"input\":\"x\",\"bogus\":1}");
    assert_json_error(&r, 400);
    assert_string_equal(error_field(&r), "bogus");
    lh_test_response_free(&r);
    r = http(f, "POST", "/v1/embeddings", NULL,
             "{\"input\":\"x\",\"encoding_format\":\"hex\"}");
    assert_json_error(&r, 400);
    assert_string_equal(error_field(&r), "encoding_format");
    lh_test_response_free(&r);
    r = http(f, "POST", "/v1/embeddings", NULL, "{\"model\":\"hash-384\"}");
    assert_json_error(&r, 400);
    assert_string_equal(error_field(&r), "input");
    lh_test_response_free(&r);
    r = http(f, "POST", "/ai/embed", NULL, "{\"text\":7}");
    assert_json_error(&r, 400);
    assert_string_equal(error_field(&r), "text");
    lh_test_response_free(&r);
}

static void test_bad_json_is_400(void **state)
{
    fixture *f = *state;
    response r = http(f, "POST", "/v1/embed", NULL, "{\"texts\":[\"unterminated");
    assert_json_error(&r, 400);
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(r.json, "error"),
                                                             "message")),
                           "JSON"));
    lh_test_response_free(&r);
}

static void test_missing_field_is_400_naming_it(void **state)
{
    fixture *f = *state;
    response r = http(f, "POST", "/v1/embed", NULL, "{\"model\":\"hash-384\"}");
    assert_json_error(&r, 400);
    assert_non_null(error_field(&r));
    assert_string_equal(error_field(&r), "texts");
    lh_test_response_free(&r);
}

static void test_unknown_route_is_404(void **state)
{
    fixture *f = *state;
    response r = http(f, "GET", "/v1/nothing-here", NULL, NULL);
    assert_json_error(&r, 404);
    lh_test_response_free(&r);
    r = http(f, "POST", "/v1/embed/extra", NULL, "{}");
    assert_json_error(&r, 404);
    lh_test_response_free(&r);
}

static void test_wrong_method_is_405_with_allow(void **state)
{
    fixture *f = *state;
    response r = http(f, "GET", "/v1/embed", NULL, NULL);
    assert_json_error(&r, 405);
    char allow[64];
    assert_non_null(lh_test_header(&r, "Allow", allow, sizeof allow));
    assert_string_equal(allow, "POST");
    lh_test_response_free(&r);
    r = http(f, "DELETE", "/v1/health", NULL, NULL);
    assert_json_error(&r, 405);
    assert_string_equal(lh_test_header(&r, "Allow", allow, sizeof allow), "GET");
    lh_test_response_free(&r);
}

static char *big_body(size_t n)
{
    char *b = malloc(n + 1);
    memcpy(b, "{\"texts\":[\"", 11);
    memset(b + 11, 'a', n - 14);
    memcpy(b + n - 3, "\"]}", 4);
    return b;
}

static void test_body_over_the_limit_is_413(void **state)
{
    fixture *f = *state;
    char *body = big_body(MAX_BODY + 100);
    response r = http(f, "POST", "/v1/embed", NULL, body);
    assert_json_error(&r, 413);
    lh_test_response_free(&r);
    /* chunked: no length up front, so it is refused once the body is read */
    const char *chunked[] = {"Transfer-Encoding: chunked", NULL};
    r = http(f, "POST", "/v1/embed", chunked, body);
    assert_json_error(&r, 413);
    lh_test_response_free(&r);
    free(body);
    /* just under the limit is fine as far as the gateway is concerned */
    body = big_body(MAX_BODY - 10);
    r = http(f, "POST", "/v1/embed", chunked, body);
    assert_int_not_equal(r.status, 413);
    lh_test_response_free(&r);
    free(body);
}

static void test_wrong_content_type_is_415(void **state)
{
    fixture *f = *state;
    const char *h[] = {"Content-Type: text/plain", NULL};
    response r = http(f, "POST", "/v1/embed", h, "{\"texts\":[\"x\"]}");
    assert_json_error(&r, 415);
    lh_test_response_free(&r);
    const char *ok[] = {"Content-Type: application/json; charset=utf-8", NULL};
    r = http(f, "POST", "/v1/embed", ok, "{\"texts\":[\"x\"]}");
    assert_int_equal(r.status, 200);
    lh_test_response_free(&r);
}

static void test_health_is_200_when_all_up(void **state)
{
    fixture *f = *state;
    response r = http(f, "GET", "/v1/health", NULL, NULL);
    if (r.status != 200)
        fail_msg("GET /v1/health: %ld %s", r.status, r.body);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ok");
    /* Every actor the route table fronts is listed, and up. */
    size_t n = 0;
    const char *const *want = lh_gw_route_actors(&n);
    json_t *actors = json_object_get(r.json, "actors");
    assert_int_equal(json_array_size(actors), n);
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(actors, i);
        assert_string_equal(json_string_value(json_object_get(a, "name")), want[i]);
        assert_true(json_is_true(json_object_get(a, "up")));
        /* json_number_value(NULL) is 0: the field must be there and a number. */
        json_t *rtt = json_object_get(a, "rtt_ms");
        if (!json_is_number(rtt))
            fail_msg("health: %s has no numeric rtt_ms", want[i]);
        assert_true(json_number_value(rtt) >= 0);
    }
    lh_test_response_free(&r);
}

/* The vector routes: path parameters become the `index` field. */
static void test_vector_routes_carry_the_index_from_the_path(void **state)
{
    fixture *f = *state;
    response r = http(f, "POST", "/v1/vectors/indexes", NULL,
                      "{\"index\":\"docs\",\"dimension\":3,\"kind\":\"flat\"}");
    if (r.status != 200)
        fail_msg("create: %ld %s", r.status, r.body);
    lh_test_response_free(&r);
    r = http(f, "POST", "/v1/vectors/indexes/docs/upsert", NULL,
             "{\"items\":[{\"id\":\"a\",\"vector\":[1,0,0]},"
             "{\"id\":\"b\",\"vector\":[0,1,0],\"metadata\":{\"lang\":\"en\"}}]}");
    assert_int_equal(r.status, 200);
    lh_test_response_free(&r);
    r = http(f, "POST", "/v1/vectors/search", NULL,
             "{\"index\":\"docs\",\"vector\":[0,0.9,0.1],\"k\":1}");
    assert_int_equal(r.status, 200);
    json_t *hit = json_array_get(json_object_get(r.json, "hits"), 0);
    assert_string_equal(json_string_value(json_object_get(hit, "id")), "b");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(hit, "metadata"), "lang")), "en");
    lh_test_response_free(&r);
    r = http(f, "GET", "/v1/vectors/indexes/docs", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "count")), 2);
    lh_test_response_free(&r);
    r = http(f, "POST", "/v1/vectors/indexes/docs/upsert", NULL,
             "{\"items\":[{\"id\":\"c\",\"vector\":[1,0]}]}");
    assert_json_error(&r, 400);
    assert_non_null(strstr(r.body, "items[0].vector"));
    lh_test_response_free(&r);
    r = http(f, "GET", "/v1/vectors/indexes/nope", NULL, NULL);
    assert_json_error(&r, 404);
    lh_test_response_free(&r);
    r = http(f, "DELETE", "/v1/vectors/indexes/docs", NULL, NULL);
    assert_int_equal(r.status, 200);
    lh_test_response_free(&r);
    r = http(f, "POST", "/v1/vectors/search", NULL, "{\"index\":\"docs\",\"vector\":[1,0,0]}");
    assert_json_error(&r, 404);
    lh_test_response_free(&r);
}

static void test_metrics_count_requests(void **state)
{
    fixture *f = *state;
    response r = http(f, "POST", "/v1/embed", NULL, "{\"texts\":[\"count me\"]}");
    assert_int_equal(r.status, 200);
    lh_test_response_free(&r);
    r = http(f, "GET", "/v1/nope", NULL, NULL);
    lh_test_response_free(&r);
    r = http(f, "GET", "/metrics", NULL, NULL);
    assert_int_equal(r.status, 200);
    char ct[128];
    assert_non_null(strstr(lh_test_header(&r, "Content-Type", ct, sizeof ct), "text/plain"));
    assert_has(&r, "lh_http_requests_total{route=\"/v1/embed\",method=\"POST\",status=\"200\"} ");
    assert_has(&r, "lh_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} ");
    assert_has(&r, "# TYPE lh_http_request_duration_seconds histogram");
    assert_has(&r, "lh_http_request_duration_seconds_bucket{route=\"/v1/embed\",le=\"+Inf\"} ");
    assert_has(&r, "lh_http_request_duration_seconds_count{route=\"/v1/embed\"} ");
    assert_has(&r, "\nlh_http_requests_in_flight ");
    assert_has(&r, "\nlh_bus_pending_requests 0\n");
    lh_test_response_free(&r);
}

static void test_openapi_describes_the_routes(void **state)
{
    fixture *f = *state;
    response r = http(f, "GET", "/v1/openapi.json", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(r.json);
    assert_string_equal(json_string_value(json_object_get(r.json, "openapi")), "3.0.3");
    json_t *paths = json_object_get(r.json, "paths");
    json_t *embed = json_object_get(json_object_get(paths, "/v1/embed"), "post");
    assert_non_null(embed);
    assert_non_null(json_object_get(paths, "/ai/embed"));
    assert_non_null(json_object_get(paths, "/v1/embeddings"));
    assert_non_null(json_object_get(json_object_get(paths, "/v1/health"), "get"));
    /* the request schema is the embed.request field table */
    json_t *schemas = json_object_get(json_object_get(r.json, "components"), "schemas");
    json_t *req = json_object_get(schemas, "lh_embed_request");
    assert_non_null(req);
    json_t *texts = json_object_get(json_object_get(req, "properties"), "texts");
    assert_string_equal(json_string_value(json_object_get(texts, "type")), "array");
    assert_true(json_integer_value(json_object_get(texts, "maxItems")) > 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(req, "required"), 0)),
                        "texts");
    json_t *normalize = json_object_get(json_object_get(req, "properties"), "normalize");
    assert_true(json_is_true(json_object_get(normalize, "default")));
    /* every method the object route serves, HEAD included, with its contract */
    json_t *object = json_object_get(paths, "/v1/storage/{bucket}/{key}");
    static const char *const methods[] = {"put", "get", "head", "delete"};
    static const char *const subjects[] = {"storage.upload.begin", "storage.get", "storage.head",
                                           "storage.delete"};
    for (size_t i = 0; i < 4; i++) {
        json_t *op = json_object_get(object, methods[i]);
        if (!op)
            fail_msg("/v1/storage/{bucket}/{key} lacks %s", methods[i]);
        assert_string_equal(json_string_value(json_object_get(op, "x-lh-subject")), subjects[i]);
    }
    /* a compatible route's body is its own schema; events are listed with theirs */
    json_t *oai = json_object_get(json_object_get(paths, "/v1/embeddings"), "post");
    json_t *body = json_object_get(json_object_get(json_object_get(json_object_get(
        json_object_get(oai, "requestBody"), "content"), "application/json"), "schema"), "$ref");
    assert_string_equal(json_string_value(body),
                        "#/components/schemas/lh_gw_openai_embeddings_request");
    json_t *events = json_object_get(r.json, "x-lh-events");
    assert_true(json_array_size(events) >= 8);
    bool committed = false;
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
        committed = committed || !strcmp(json_string_value(json_object_get(ev, "subject")),
                                         "events.catalogd.committed");
    assert_true(committed);
    lh_test_response_free(&r);
}

static size_t discard(char *p, size_t size, size_t n, void *user)
{
    (void)p;
    (void)user;
    return size * n;
}

static void test_keep_alive_reuses_the_connection(void **state)
{
    fixture *f = *state;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/embed", f->http_port);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{\"texts\":[\"again\"]}");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(curl_easy_perform(c), CURLE_OK);
        long status = 0, connects = -1;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
        assert_int_equal(status, 200);
        assert_int_equal(connects, i == 0 ? 1 : 0);
    }
    /* an error answer keeps the connection too */
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{\"bad json");
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    long connects = -1;
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
    assert_int_equal(connects, 0);
    curl_easy_cleanup(c);
}

/* Last in its group: the reply inbox must come back with the bus. */
static void test_serves_again_after_a_nats_restart(void **state)
{
    fixture *f = *state;
    lh_test_nats_restart(&f->nats);
    long status = 0;
    for (int i = 0; i < 300 && status != 200; i++) { /* bounded: about 30 s */
        response r = http(f, "POST", "/v1/embed", NULL, "{\"texts\":[\"back\"]}");
        status = r.status;
        lh_test_response_free(&r);
        if (status != 200)
            lh_test_sleep_ms(100);
    }
    assert_int_equal(status, 200);
    /* Every actor reconnects on its own schedule: wait until all are back. */
    status = 0;
    for (int i = 0; i < 300 && status != 200; i++) { /* bounded: about 30 s */
        response r = http(f, "GET", "/v1/health", NULL, NULL);
        status = r.status;
        lh_test_response_free(&r);
        if (status != 200)
            lh_test_sleep_ms(100);
    }
    assert_int_equal(status, 200);
}

/* ---- the gateway alone ---- */

static void test_no_responders_is_503(void **state)
{
    fixture *f = *state;
    response r = http(f, "POST", "/v1/embed", NULL, "{\"texts\":[\"x\"]}");
    assert_json_error(&r, 503);
    assert_non_null(strstr(r.body, "embed.request"));
    lh_test_response_free(&r);
}

static void ignore(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    (void)closure;
    natsMsg_Destroy(msg);
}

static void test_silent_responder_is_504(void **state)
{
    fixture *f = *state;
    natsConnection *nc = lh_test_nats_connect(f->nats.url);
    natsSubscription *sub = NULL;
    assert_int_equal(natsConnection_QueueSubscribe(&sub, nc, "embed.request", "q", ignore, NULL),
                     NATS_OK);
    assert_int_equal(natsConnection_Flush(nc), NATS_OK);
    response r = http(f, "POST", "/v1/embed", NULL, "{\"texts\":[\"x\"]}");
    assert_json_error(&r, 504);
    assert_non_null(strstr(r.body, "no reply from embed.request within 300 ms"));
    lh_test_response_free(&r);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
}

static void test_health_is_503_when_an_actor_is_down(void **state)
{
    fixture *f = *state;
    response r = http(f, "GET", "/v1/health", NULL, NULL);
    assert_int_equal(r.status, 503);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "degraded");
    /* Only the gateway runs: every actor it fronts is reported down. */
    size_t n = 0;
    lh_gw_route_actors(&n);
    json_t *actors = json_object_get(r.json, "actors");
    assert_int_equal(json_array_size(actors), n);
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(actors, i);
        assert_true(json_is_false(json_object_get(a, "up")));
        assert_true(json_string_length(json_object_get(a, "error")) > 0);
    }
    lh_test_response_free(&r);
}

/* ---- shutdown with a request in flight ---- */

static atomic_int slow_received;

/* Answers after half a second, so SIGTERM lands while the request waits. */
static void slow_reply(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)sub;
    (void)closure;
    atomic_store(&slow_received, 1);
    lh_test_sleep_ms(500);
    char body[32];
    size_t n = 0;
    body[n++] = (char)0x81; /* msgpack {"vectors":[]} */
    body[n++] = (char)0xa7;
    memcpy(body + n, "vectors", 7);
    n += 7;
    body[n++] = (char)0x90;
    natsConnection_Publish(nc, natsMsg_GetReply(msg), body, (int)n);
    natsMsg_Destroy(msg);
}

typedef struct pending_http {
    fixture *f;
    long status;
    char *body;
} pending_http;

static void *post_embed(void *arg)
{
    pending_http *p = arg;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/embed", p->f->http_port);
    const char *body = "{\"texts\":[\"x\"]}";
    p->status = lh_test_http("POST", url, NULL, body, strlen(body), &p->body, NULL, NULL);
    return NULL;
}

static void test_sigterm_finishes_requests_in_flight(void **state)
{
    fixture *f = *state;
    natsConnection *nc = lh_test_nats_connect(f->nats.url);
    natsSubscription *sub = NULL;
    natsStatus s = natsConnection_QueueSubscribe(&sub, nc, "embed.request", "q", slow_reply, NULL);
    assert_int_equal(s, NATS_OK);
    assert_int_equal(natsConnection_Flush(nc), NATS_OK);
    atomic_store(&slow_received, 0);
    pending_http p = {.f = f};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, post_embed, &p), 0);
    for (int i = 0; i < 5000 && !atomic_load(&slow_received); i++)
        lh_test_sleep_ms(2);
    assert_true(atomic_load(&slow_received));
    int st = lh_test_signal_wait(lh_test_stack_proc(f, "gateway"), SIGTERM, 20000);
    pthread_join(t, NULL);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    if (p.status != 200)
        fail_msg("the request in flight got %ld: %s", p.status, p.body ? p.body : "");
    assert_string_equal(p.body, "{\"vectors\":[]}");
    free(p.body);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
}

static int setup_gateway_slow(void **state)
{
    *state = start(GATEWAY_ONLY, "10000");
    return 0;
}

/* ---- a taken port ---- */

static void test_taken_port_fails_start_clearly(void **state)
{
    (void)state;
    lh_test_nats nats = {0};
    lh_test_nats_start(&nats);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 1), 0);
    socklen_t len = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &len);
    int port = ntohs(sa.sin_port);
    char port_env[64], url_env[200], log[600];
    snprintf(port_env, sizeof port_env, "LH_HTTP_PORT=%d", port);
    snprintf(url_env, sizeof url_env, "LH_NATS_URL=%s", nats.url);
    snprintf(log, sizeof log, "%s/taken.log", nats.dir);
    char *const argv[] = {LH_BINARY, "serve", "gateway", NULL};
    char *const env[] = {port_env, url_env, NULL};
    lh_test_proc p = {0};
    lh_test_spawn(&p, argv, env, log);
    int st = lh_test_wait_exit(&p, 60000);
    assert_true(WIFEXITED(st));
    assert_int_not_equal(WEXITSTATUS(st), 0);
    char *text = lh_test_read_file(log, NULL);
    char expect[64];
    snprintf(expect, sizeof expect, "port %d is in use", port);
    if (!text || !strstr(text, expect))
        fail_msg("log does not say '%s':\n%s", expect, text ? text : "(none)");
    free(text);
    close(fd);
    lh_test_nats_destroy(&nats);
}

int main(void)
{
    const struct CMUnitTest stack[] = {
        cmocka_unit_test(test_embed_answers_unit_vectors_and_echoes_request_id),
        cmocka_unit_test(test_request_id_is_generated_when_absent_or_insane),
        cmocka_unit_test(test_form_urlencoded_body_is_read_as_json),
        cmocka_unit_test(test_ai_embed_answers_in_the_old_shape),
        cmocka_unit_test(test_openai_embeddings_shape),
        cmocka_unit_test(test_openai_embeddings_single_input_and_base64),
        cmocka_unit_test(test_bad_json_is_400),
        cmocka_unit_test(test_missing_field_is_400_naming_it),
        cmocka_unit_test(test_unknown_route_is_404),
        cmocka_unit_test(test_wrong_method_is_405_with_allow),
        cmocka_unit_test(test_body_over_the_limit_is_413),
        cmocka_unit_test(test_wrong_content_type_is_415),
        cmocka_unit_test(test_health_is_200_when_all_up),
        cmocka_unit_test(test_vector_routes_carry_the_index_from_the_path),
        cmocka_unit_test(test_metrics_count_requests),
        cmocka_unit_test(test_openapi_describes_the_routes),
        cmocka_unit_test(test_keep_alive_reuses_the_connection),
        cmocka_unit_test(test_serves_again_after_a_nats_restart),
    };
    const struct CMUnitTest alone[] = {
        cmocka_unit_test(test_no_responders_is_503),
        cmocka_unit_test(test_silent_responder_is_504),
        cmocka_unit_test(test_health_is_503_when_an_actor_is_down),
    };
    const struct CMUnitTest shutdown[] = {
        cmocka_unit_test(test_sigterm_finishes_requests_in_flight),
    };
    const struct CMUnitTest taken[] = {
        cmocka_unit_test(test_taken_port_fails_start_clearly),
    };
    int failed =
        cmocka_run_group_tests_name("full stack", stack, setup_stack, lh_test_stack_teardown);
    failed += cmocka_run_group_tests_name("gateway alone", alone, setup_gateway_only,
                                          lh_test_stack_teardown);
    failed += cmocka_run_group_tests_name("shutdown", shutdown, setup_gateway_slow,
                                          lh_test_stack_teardown);
    failed += cmocka_run_group_tests_name("taken port", taken, NULL, NULL);
    nats_CloseAndWait(5000); /* lets LeakSanitizer see nats.c fully released */
    return failed;
}
