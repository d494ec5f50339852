/*
 * test_discovery.c — the ADR-32 documents: each of PING, INFO and STATS
 * has exactly the standard fields with the standard types, answers on the
 * bare, by-name and by-name.id subjects, and STATS counts what happened;
 * the gateway, which has no bus endpoints, counts its HTTP answers in an
 * "http" endpoint that `lakehouse status` shows.
 */
#include "tests/support/harness.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "actors/embed/embed.h"
#include "bus/actor.h"
#include "bus/config.h"

typedef struct fixture {
    lh_test_nats nats;
    lh_actor *actor;
    natsConnection *nc;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    lh_test_nats_start(&f->nats);
    setenv("LH_NATS_URL", f->nats.url, 1);
    lh_config cfg;
    lh_config_load(&cfg);
    lh_actor_opts opts = {.config = &cfg, .workers = 2};
    lh_err *err = lh_actor_create(&lh_embed_actor, &opts, &f->actor);
    if (err)
        fail_msg("start embedd: %s", lh_err_message(err));
    f->nc = lh_test_nats_connect(f->nats.url);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    natsConnection_Destroy(f->nc);
    lh_actor_destroy(f->actor);
    lh_test_nats_destroy(&f->nats);
    free(f);
    return 0;
}

typedef struct expect_field {
    const char *name;
    json_type type;
} expect_field;

static void assert_exact_fields(json_t *obj, const expect_field *want, size_t n, const char *what)
{
    assert_true(json_is_object(obj));
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(obj, want[i].name);
        if (!v)
            fail_msg("%s lacks '%s'", what, want[i].name);
        bool ok = json_typeof(v) == want[i].type ||
                  (want[i].type == JSON_INTEGER && json_is_integer(v));
        if (!ok)
            fail_msg("%s.%s has the wrong type", what, want[i].name);
    }
    if (json_object_size(obj) != n)
        fail_msg("%s has %zu fields, ADR-32 lists %zu", what, json_object_size(obj), n);
}

#define STANDARD \
    {"type", JSON_STRING}, {"name", JSON_STRING}, {"id", JSON_STRING}, \
    {"version", JSON_STRING}, {"metadata", JSON_OBJECT}

static json_t *request_json(natsConnection *nc, const char *subject)
{
    natsMsg *m = NULL;
    if (natsConnection_RequestString(&m, nc, subject, "", 5000) != NATS_OK)
        fail_msg("no reply on %s", subject);
    json_error_t jerr;
    json_t *j = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, &jerr);
    natsMsg_Destroy(m);
    if (!j)
        fail_msg("%s replied with invalid JSON: %s", subject, jerr.text);
    return j;
}

static void test_ping_document(void **state)
{
    fixture *f = *state;
    static const expect_field want[] = {STANDARD};
    json_t *j = request_json(f->nc, "$SRV.PING");
    assert_exact_fields(j, want, 5, "ping");
    assert_string_equal(json_string_value(json_object_get(j, "type")),
                        "io.nats.micro.v1.ping_response");
    assert_string_equal(json_string_value(json_object_get(j, "name")), "embedd");
    assert_string_equal(json_string_value(json_object_get(j, "id")), lh_actor_id(f->actor));
    json_decref(j);
}

static void test_info_document(void **state)
{
    fixture *f = *state;
    static const expect_field want[] = {STANDARD, {"description", JSON_STRING},
                                        {"endpoints", JSON_ARRAY}};
    static const expect_field ep_want[] = {{"name", JSON_STRING}, {"subject", JSON_STRING},
                                           {"queue_group", JSON_STRING},
                                           {"metadata", JSON_OBJECT}};
    char subject[128];
    snprintf(subject, sizeof subject, "$SRV.INFO.embedd.%s", lh_actor_id(f->actor));
    json_t *j = request_json(f->nc, subject);
    assert_exact_fields(j, want, 7, "info");
    json_t *ep = json_array_get(json_object_get(j, "endpoints"), 0);
    assert_exact_fields(ep, ep_want, 4, "info.endpoints[0]");
    assert_string_equal(json_string_value(json_object_get(ep, "subject")), "embed.request");
    assert_string_equal(json_string_value(json_object_get(ep, "queue_group")), "q");
    json_decref(j);
}

static void test_stats_document_counts_requests_and_errors(void **state)
{
    fixture *f = *state;
    natsMsg *m = NULL;
    assert_int_equal(natsConnection_RequestString(&m, f->nc, "embed.request",
                                                  "{\"texts\":[\"a b\"]}", 5000), NATS_OK);
    natsMsg_Destroy(m);
    assert_int_equal(natsConnection_RequestString(&m, f->nc, "embed.request", "{\"texts\":[]}",
                                                  5000), NATS_OK);
    natsMsg_Destroy(m);
    static const expect_field want[] = {STANDARD, {"endpoints", JSON_ARRAY},
                                        {"started", JSON_STRING}};
    static const expect_field ep_want[] = {
        {"name", JSON_STRING},         {"subject", JSON_STRING},
        {"queue_group", JSON_STRING},  {"num_requests", JSON_INTEGER},
        {"num_errors", JSON_INTEGER},  {"last_error", JSON_STRING},
        {"processing_time", JSON_INTEGER}, {"average_processing_time", JSON_INTEGER}};
    json_t *j = request_json(f->nc, "$SRV.STATS.embedd");
    assert_exact_fields(j, want, 7, "stats");
    assert_string_equal(json_string_value(json_object_get(j, "type")),
                        "io.nats.micro.v1.stats_response");
    const char *started = json_string_value(json_object_get(j, "started"));
    assert_int_equal(strlen(started), 30); /* 2026-01-02T03:04:05.123456789Z */
    assert_int_equal(started[29], 'Z');
    json_t *ep = json_array_get(json_object_get(j, "endpoints"), 0);
    assert_exact_fields(ep, ep_want, 8, "stats.endpoints[0]");
    json_int_t n = json_integer_value(json_object_get(ep, "num_requests"));
    json_int_t total = json_integer_value(json_object_get(ep, "processing_time"));
    assert_int_equal(n, 2);
    assert_int_equal(json_integer_value(json_object_get(ep, "num_errors")), 1);
    assert_non_null(strstr(json_string_value(json_object_get(ep, "last_error")), "texts"));
    assert_true(total > 0);
    assert_int_equal(json_integer_value(json_object_get(ep, "average_processing_time")), total / n);
    json_decref(j);
}

static void test_documents_match_in_process_and_on_the_bus(void **state)
{
    fixture *f = *state;
    lh_buf b;
    lh_buf_init(&b);
    lh_actor_info_json(f->actor, &b);
    json_t *local = json_loadb(b.data, b.len, 0, NULL);
    json_t *remote = request_json(f->nc, "$SRV.INFO.embedd");
    assert_true(json_equal(local, remote));
    json_decref(local);
    json_decref(remote);
    lh_buf_free(&b);
}

/* ---- the gateway counts what it serves over HTTP ---- */

typedef struct gw_fixture {
    lh_test_nats nats;
    lh_test_proc serve;
    int port;
    char log[600];
} gw_fixture;

static int setup_gateway(void **state)
{
    gw_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    lh_test_nats_start(&f->nats);
    f->port = lh_test_free_port();
    char port_env[64], data_env[600];
    snprintf(port_env, sizeof port_env, "LH_HTTP_PORT=%d", f->port);
    snprintf(data_env, sizeof data_env, "LH_DATA_DIR=%s/data", f->nats.dir);
    char *const env[] = {port_env, data_env, NULL};
    snprintf(f->log, sizeof f->log, "%s/serve.log", f->nats.dir);
    const char *actors[] = {"embedd", "gateway", NULL};
    lh_test_serve(&f->serve, f->nats.url, actors, NULL, env, f->log);
    if (!lh_test_wait_port(f->port, 20000))
        fail_msg("the gateway is not listening on %d", f->port);
    *state = f;
    return 0;
}

static int teardown_gateway(void **state)
{
    gw_fixture *f = *state;
    lh_test_serve_stop(&f->serve);
    lh_test_nats_destroy(&f->nats);
    free(f);
    return 0;
}

static void http_n(const gw_fixture *f, int n, const char *method, const char *path,
                   const char *body, long want)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", f->port, path);
    const char *headers[] = {"Content-Type: application/json", NULL};
    for (int i = 0; i < n; i++) {
        long status = lh_test_http(method, url, headers, body, body ? strlen(body) : 0, NULL,
                                   NULL, NULL);
        if (status != want)
            fail_msg("%s %s answered %ld, expected %ld", method, path, status, want);
    }
}

static json_t *endpoint_named(json_t *doc, const char *name)
{
    size_t i;
    json_t *ep;
    json_array_foreach(json_object_get(doc, "endpoints"), i, ep)
        if (!strcmp(json_string_value(json_object_get(ep, "name")), name))
            return ep;
    fail_msg("no endpoint '%s'", name);
    return NULL; /* not reached */
}

/* `lakehouse status` against the fixture's bus: the gateway's REQUESTS cell. */
static long long status_requests_of_gateway(const gw_fixture *f)
{
    char url_env[160], log[700];
    snprintf(url_env, sizeof url_env, "LH_NATS_URL=%s", f->nats.url);
    snprintf(log, sizeof log, "%s/status.log", f->nats.dir);
    char *const env[] = {url_env, NULL};
    char *argv[] = {(char *)LH_BINARY, "status", NULL};
    lh_test_proc p;
    lh_test_spawn(&p, argv, env, log);
    int status = lh_test_wait_exit(&p, 60000);
    assert_true(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char *text = lh_test_read_file(log, NULL);
    assert_non_null(text);
    long long requests = -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char service[64], id[64], version[32];
        if (sscanf(line, "%63s %63s %31s %lld", service, id, version, &requests) == 4 &&
            !strcmp(service, "gateway"))
            break;
        requests = -1;
    }
    free(text);
    if (requests < 0)
        fail_msg("lakehouse status shows no gateway row");
    return requests;
}

static void test_gateway_stats_count_http_requests(void **state)
{
    gw_fixture *f = *state;
    http_n(f, 10, "POST", "/v1/embed", "{\"texts\":[\"a b\"]}", 200);
    http_n(f, 5, "POST", "/v1/embed", "{\"texts\":[]}", 400);
    http_n(f, 3, "POST", "/v1/vectors/search", "{\"index\":\"x\",\"vector\":[1]}", 503);
    http_n(f, 2, "GET", "/nope", NULL, 404);
    enum { N = 20, N_5XX = 3 };

    natsConnection *nc = lh_test_nats_connect(f->nats.url);
    json_t *stats = request_json(nc, "$SRV.STATS.gateway");
    json_t *ep = endpoint_named(stats, "http");
    json_int_t n = json_integer_value(json_object_get(ep, "num_requests"));
    json_int_t total = json_integer_value(json_object_get(ep, "processing_time"));
    assert_int_equal(n, N);
    assert_int_equal(json_integer_value(json_object_get(ep, "num_errors")), N_5XX);
    const char *last = json_string_value(json_object_get(ep, "last_error"));
    assert_non_null(last);
    assert_non_null(strstr(last, "503: /v1/vectors/search: "));
    assert_true(total > 0);
    assert_int_equal(json_integer_value(json_object_get(ep, "average_processing_time")), total / n);
    char subject[64];
    snprintf(subject, sizeof subject, "http://127.0.0.1:%d", f->port);
    assert_string_equal(json_string_value(json_object_get(ep, "subject")), subject);
    json_decref(stats);

    json_t *info = request_json(nc, "$SRV.INFO.gateway");
    assert_string_equal(json_string_value(json_object_get(endpoint_named(info, "http"),
                                                          "subject")), subject);
    json_decref(info);
    natsConnection_Destroy(nc);

    /* A bus request is not an HTTP one: status sees the same count. */
    assert_int_equal(status_requests_of_gateway(f), N);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ping_document, setup, teardown),
        cmocka_unit_test_setup_teardown(test_info_document, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats_document_counts_requests_and_errors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_documents_match_in_process_and_on_the_bus, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_gateway_stats_count_http_requests, setup_gateway,
                                        teardown_gateway),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
