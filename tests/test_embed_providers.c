/*
 * test_embed_providers.c — embedd's remote providers against a local HTTP
 * server in this test speaking their wire formats (OpenAI's POST
 * /v1/embeddings with a Bearer key, Ollama's POST /api/embed), so the real
 * client code is what is tested: vectors come back in order and of unit
 * length whatever the server sends, a text embedded once is served from
 * the cache after (across a restart too) and only new texts go out, and
 * refusals and unknown providers are clear errors without the key.
 */
#include "tests/support/harness.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/embed/embed.h"
#include "gateway/gateway.h"
#include "schemas/embed.h"
#include "tests/support/fake_http.h"

#define KEY "embed-key-456"

typedef struct server {
    lh_fake_http *http;
    pthread_mutex_t lock;
    int requests;
    int inputs; /* texts asked for, over all requests */
    bool refuse;
} server;

static server S;

/* The vector of a text: [length, 1, 2, 3], not unit length on purpose. */
static void vector_json(const char *text, size_t len, lh_buf *out)
{
    (void)text;
    lh_buf_appendf(out, "[%zu,1,2,3]", len);
}

/* The texts of an {"input": [...]} body, one vector each, as `shape`. */
static unsigned embeddings(const lh_fake_request *req, bool openai, lh_buf *out)
{
    json_t *body = json_loads(req->body, 0, NULL);
    json_t *input = json_object_get(body, "input");
    lh_buf_append_str(out, openai ? "{\"object\":\"list\",\"data\":[" : "{\"embeddings\":[");
    size_t i;
    json_t *t;
    json_array_foreach(input, i, t) {
        if (i)
            lh_buf_append(out, ",", 1);
        if (openai)
            lh_buf_appendf(out, "{\"object\":\"embedding\",\"index\":%zu,\"embedding\":", i);
        vector_json(json_string_value(t), json_string_length(t), out);
        if (openai)
            lh_buf_append(out, "}", 1);
    }
    lh_buf_append_str(out, openai ? "],\"model\":\"te\",\"usage\":{\"prompt_tokens\":1}}" : "]}");
    pthread_mutex_lock(&S.lock);
    S.requests++;
    S.inputs += (int)json_array_size(input);
    pthread_mutex_unlock(&S.lock);
    json_decref(body);
    return 200;
}

static unsigned serve(void *user, const lh_fake_request *req, lh_buf *out)
{
    (void)user;
    if (!strcmp(req->url, "/api/embed"))
        return embeddings(req, false, out);
    const char *auth = lh_fake_header(req, "Authorization");
    if (strcmp(req->url, "/v1/embeddings") || !auth || strcmp(auth, "Bearer " KEY) || S.refuse) {
        lh_buf_appendf(out, "{\"error\":{\"message\":\"Incorrect API key provided: %s\"}}",
                       auth && strlen(auth) > 7 ? auth + 7 : "");
        return 401;
    }
    return embeddings(req, true, out);
}

typedef lh_test_stack fixture;

static const lh_actor_def *const STACK[] = {&lh_embed_actor, &lh_gateway_actor, NULL};

static int setup(void **state)
{
    S = (server){0};
    pthread_mutex_init(&S.lock, NULL);
    S.http = lh_fake_http_start(serve, &S);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", lh_fake_http_port(S.http));
    setenv("LH_OLLAMA_URL", url, 1);
    strcat(url, "/v1");
    setenv("LH_OPENAI_BASE_URL", url, 1);
    setenv("LH_OPENAI_API_KEY", KEY, 1);
    *state = lh_test_stack_new(&(lh_test_stack_opts){.actors = STACK});
    return 0;
}

static int teardown(void **state)
{
    int rc = lh_test_stack_teardown(state);
    lh_fake_http_stop(S.http);
    pthread_mutex_destroy(&S.lock);
    unsetenv("LH_OLLAMA_URL");
    unsetenv("LH_OPENAI_BASE_URL");
    unsetenv("LH_OPENAI_API_KEY");
    return rc;
}

static json_t *embed(fixture *f, const char *model, const char *texts_json)
{
    char body[512];
    snprintf(body, sizeof body, "{\"model\":\"%s\",\"texts\":%s}", model, texts_json);
    return lh_test_ok(lh_test_call_s(f->nc, &lh_ep_embed_request, body));
}

/* Row i is unit length and points where [len, 1, 2, 3] does. */
static void assert_row(json_t *rep, size_t i, size_t len)
{
    json_t *row = json_array_get(json_object_get(rep, "vectors"), i);
    assert_int_equal(json_array_size(row), 4);
    double want[4] = {(double)len, 1, 2, 3}, norm = sqrt(want[0] * want[0] + 14);
    for (size_t j = 0; j < 4; j++)
        assert_float_equal(json_number_value(json_array_get(row, j)), want[j] / norm, 1e-6);
}

static int64_t cached(json_t *rep) { return json_integer_value(json_object_get(rep, "cached")); }

/* embedd's cache hits and misses, in its $SRV.STATS data and in /metrics. */
static void assert_cache_counts(fixture *f, int hits, int misses)
{
    natsMsg *m = NULL;
    assert_int_equal(natsConnection_RequestString(&m, f->nc, "$SRV.STATS.embedd", "", 5000),
                     NATS_OK);
    json_t *doc = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, NULL);
    json_t *data = json_object_get(json_array_get(json_object_get(doc, "endpoints"), 0), "data");
    assert_int_equal(json_integer_value(json_object_get(data, "cache_hits")), hits);
    assert_int_equal(json_integer_value(json_object_get(data, "cache_misses")), misses);
    natsMsg_Destroy(m);
    lh_test_response r = lh_test_fetch(f->http_port, "GET", "/metrics", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    char line[200];
    const char *id = json_string_value(json_object_get(doc, "id"));
    snprintf(line, sizeof line,
             "lh_actor_data{actor=\"embedd\",instance=\"%s\",endpoint=\"request\","
             "key=\"cache_hits\"} %d\n", id, hits);
    if (!strstr(r.body, line))
        fail_msg("/metrics lacks %s", line);
    snprintf(line, sizeof line,
             "lh_actor_data{actor=\"embedd\",instance=\"%s\",endpoint=\"request\","
             "key=\"cache_misses\"} %d\n", id, misses);
    if (!strstr(r.body, line))
        fail_msg("/metrics lacks %s", line);
    assert_non_null(strstr(r.body, "lh_actor_up{actor=\"embedd\"} 1\n"));
    lh_test_response_free(&r);
    json_decref(doc);
}

static void test_openai_vectors_and_the_cache(void **state)
{
    fixture *f = *state;
    json_t *rep = embed(f, "openai/te", "[\"a\",\"bbb\"]");
    assert_string_equal(json_string_value(json_object_get(rep, "model")), "openai/te");
    assert_string_equal(json_string_value(json_object_get(rep, "provider")), "openai");
    assert_int_equal(json_integer_value(json_object_get(rep, "dimension")), 4);
    assert_row(rep, 0, 1);
    assert_row(rep, 1, 3);
    assert_int_equal(cached(rep), 0);
    json_decref(rep);
    assert_int_equal(S.requests, 1);
    rep = embed(f, "openai/te", "[\"bbb\",\"a\"]"); /* both known: nothing goes out */
    assert_int_equal(cached(rep), 2);
    assert_row(rep, 0, 3);
    assert_int_equal(S.requests, 1);
    json_decref(rep);
    rep = embed(f, "openai/te", "[\"a\",\"cc\",\"bbb\"]"); /* only the new text goes out */
    assert_int_equal(cached(rep), 2);
    assert_row(rep, 1, 2);
    assert_int_equal(S.requests, 2);
    assert_int_equal(S.inputs, 3);
    json_decref(rep);
    rep = embed(f, "openai/other", "[\"a\"]"); /* another model is another key */
    assert_int_equal(cached(rep), 0);
    json_decref(rep);
    assert_cache_counts(f, 4, 4); /* texts: 0+2+2+0 from the cache, 2+0+1+1 not */
    /* the cache is on disk: a restarted embedd still has it */
    lh_test_stack_restart(f, &lh_embed_actor, 2);
    rep = embed(f, "openai/te", "[\"cc\"]");
    assert_int_equal(cached(rep), 1);
    assert_int_equal(S.requests, 3);
    json_decref(rep);
}

static void test_ollama_vectors(void **state)
{
    fixture *f = *state;
    json_t *rep = embed(f, "ollama/nomic", "[\"hello\"]");
    assert_string_equal(json_string_value(json_object_get(rep, "provider")), "ollama");
    assert_row(rep, 0, 5);
    json_decref(rep);
    /* the built-in provider is still there beside them */
    rep = embed(f, "hash-8", "[\"hello\"]");
    assert_int_equal(json_integer_value(json_object_get(rep, "dimension")), 8);
    json_decref(rep);
}

static void test_refusals_and_unknown_providers(void **state)
{
    fixture *f = *state;
    S.refuse = true;
    lh_test_reply r = lh_test_call_s(f->nc, &lh_ep_embed_request,
                                     "{\"model\":\"openai/te\",\"texts\":[\"x\"]}");
    assert_int_equal(r.code, 502);
    assert_null(strstr(r.message, KEY));
    lh_test_expect(r, 502, NULL, "Incorrect API key");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_embed_request,
                                  "{\"model\":\"cohere/x\",\"texts\":[\"x\"]}"),
                   404, "model", "hash, openai, ollama");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_embed_request,
                                  "{\"model\":\"openai/\",\"texts\":[\"x\"]}"),
                   404, "model", NULL);
}

/* A provider named in $LH_DATA_DIR/providers.json serves embeddings too. */
static void test_a_named_provider(void **state)
{
    fixture *f = *state;
    char path[700], json[256];
    snprintf(path, sizeof path, "%s/providers.json", f->data_dir);
    snprintf(json, sizeof json,
             "{\"providers\":[{\"name\":\"mine\",\"type\":\"openai\",\"url\":"
             "\"http://127.0.0.1:%d/v1\",\"key\":\"%s\"}]}",
             lh_fake_http_port(S.http), KEY);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fputs(json, out);
    fclose(out);
    lh_test_stack_restart(f, &lh_embed_actor, 2);
    json_t *rep = embed(f, "mine/te", "[\"abc\"]");
    assert_string_equal(json_string_value(json_object_get(rep, "provider")), "mine");
    assert_row(rep, 0, 3);
    json_decref(rep);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_openai_vectors_and_the_cache),
        T(test_ollama_vectors),
        T(test_refusals_and_unknown_providers),
        T(test_a_named_provider),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
