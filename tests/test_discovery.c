/*
 * test_discovery.c — the ADR-32 documents: each of PING, INFO and STATS
 * has exactly the standard fields with the standard types, answers on the
 * bare, by-name and by-name.id subjects, and STATS counts what happened;
 * the gateway, which has no bus endpoints, counts its HTTP answers in an
 * "http" endpoint that `lakehouse status` shows. The client side
 * (bus/discovery_client.h) is tested against real actors and against
 * responders that answer wrongly or not at all.
 */
#include "tests/support/harness.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "actors/embed/embed.h"
#include "bus/actor.h"
#include "bus/config.h"
#include "bus/conn.h"
#include "bus/discovery_client.h"
#include "bus/mux.h"
#include "schemas/embed.h"

/* The fixture is the stack: nats-server and embedd in this process. */
typedef lh_test_stack fixture;

static const lh_actor_def *const EMBEDD[] = {&lh_embed_actor, NULL};

static int setup(void **state)
{
    *state = lh_test_stack_new(&(lh_test_stack_opts){.actors = EMBEDD});
    return 0;
}

static lh_actor *embedd(fixture *f) { return lh_test_stack_actor(f, &lh_embed_actor); }

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
    assert_string_equal(json_string_value(json_object_get(j, "id")), lh_actor_id(embedd(f)));
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
    snprintf(subject, sizeof subject, "$SRV.INFO.embedd.%s", lh_actor_id(embedd(f)));
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
    json_decref(lh_test_ok(lh_test_call_s(f->nc, &lh_ep_embed_request, "{\"texts\":[\"a b\"]}")));
    json_decref(lh_test_call_s(f->nc, &lh_ep_embed_request, "{\"texts\":[]}").body);
    static const expect_field want[] = {STANDARD, {"endpoints", JSON_ARRAY},
                                        {"started", JSON_STRING}};
    static const expect_field ep_want[] = {
        {"name", JSON_STRING},         {"subject", JSON_STRING},
        {"queue_group", JSON_STRING},  {"num_requests", JSON_INTEGER},
        {"num_errors", JSON_INTEGER},  {"last_error", JSON_STRING},
        {"processing_time", JSON_INTEGER}, {"average_processing_time", JSON_INTEGER},
        {"data", JSON_OBJECT}}; /* ADR-32's optional endpoint data: embedd's cache counts */
    json_t *j = request_json(f->nc, "$SRV.STATS.embedd");
    assert_exact_fields(j, want, 7, "stats");
    assert_string_equal(json_string_value(json_object_get(j, "type")),
                        "io.nats.micro.v1.stats_response");
    const char *started = json_string_value(json_object_get(j, "started"));
    assert_int_equal(strlen(started), 30); /* 2026-01-02T03:04:05.123456789Z */
    assert_int_equal(started[29], 'Z');
    json_t *ep = json_array_get(json_object_get(j, "endpoints"), 0);
    assert_exact_fields(ep, ep_want, 9, "stats.endpoints[0]");
    json_t *data = json_object_get(ep, "data"); /* the built-in embedder is not cached */
    assert_int_equal(json_integer_value(json_object_get(data, "cache_hits")), 0);
    assert_int_equal(json_integer_value(json_object_get(data, "cache_misses")), 0);
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
    lh_actor_info_json(embedd(f), &b);
    json_t *local = json_loadb(b.data, b.len, 0, NULL);
    json_t *remote = request_json(f->nc, "$SRV.INFO.embedd");
    assert_true(json_equal(local, remote));
    json_decref(local);
    json_decref(remote);
    lh_buf_free(&b);
}

/* ---- the client (bus/discovery_client.h) against real actors ---- */

static lh_conn *client_conn(fixture *f)
{
    lh_conn_opts o = {.url = f->nats.url, .name = "test-discovery-client"};
    lh_conn *c = NULL;
    lh_err *err = lh_conn_create(&o, &c);
    if (err)
        fail_msg("connect: %s", lh_err_message(err));
    return c;
}

static void on_fake_ping(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)sub;
    const char *reply = closure;
    if (natsMsg_GetReply(msg))
        natsConnection_PublishString(nc, natsMsg_GetReply(msg), reply);
    natsMsg_Destroy(msg);
}

/* A responder on `subject` that answers `reply` (NULL: never answers). */
static natsSubscription *fake_responder(fixture *f, const char *subject, const char *reply)
{
    natsSubscription *sub = NULL;
    if (reply)
        assert_int_equal(natsConnection_Subscribe(&sub, f->nc, subject, on_fake_ping,
                                                  (void *)reply), NATS_OK);
    else
        assert_int_equal(natsConnection_SubscribeSync(&sub, f->nc, subject), NATS_OK);
    assert_int_equal(natsConnection_Flush(f->nc), NATS_OK);
    return sub;
}

static void assert_subject(lh_discovery_verb v, const char *name, const char *id,
                           const char *want)
{
    char out[128];
    lh_err *err = lh_discovery_subject(v, name, id, out, sizeof out);
    if (err)
        fail_msg("%s: %s", want, lh_err_message(err));
    assert_string_equal(out, want);
}

static void test_client_subjects(void **state)
{
    (void)state;
    assert_subject(LH_DISCOVERY_PING, NULL, NULL, "$SRV.PING");
    assert_subject(LH_DISCOVERY_INFO, "embedd", NULL, "$SRV.INFO.embedd");
    assert_subject(LH_DISCOVERY_STATS, "embedd", "abc", "$SRV.STATS.embedd.abc");
    const char *bad[] = {"", "a.b", "*", ">", "a b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[128];
        lh_err *err = lh_discovery_subject(LH_DISCOVERY_PING, bad[i], NULL, out, sizeof out);
        assert_non_null(err);
        assert_int_equal(lh_err_code(err), LH_EBADREQ);
        lh_err_free(err);
    }
    char small[12];
    lh_err *err = lh_discovery_subject(LH_DISCOVERY_PING, "embedd", NULL, small, sizeof small);
    assert_non_null(err);
    lh_err_free(err);
}

static void assert_ping(lh_conn *c, const char *actor, int want_code, const char *want_text)
{
    const char *name = actor ? actor : "any actor";
    lh_err *err = lh_discovery_ping(c, actor, want_code == LH_ETIMEOUT ? 200 : 5000);
    if (!want_code) {
        if (err)
            fail_msg("ping %s: %s", name, lh_err_message(err));
        return;
    }
    if (!err)
        fail_msg("ping %s succeeded; expected %d", name, want_code);
    assert_int_equal(lh_err_code(err), want_code);
    if (!strstr(lh_err_message(err), want_text))
        fail_msg("ping %s: expected \"%s\" in \"%s\"", name, want_text, lh_err_message(err));
    lh_err_free(err);
}

/* Only a ping_response from the actor asked for counts as an answer. */
static void test_client_ping(void **state)
{
    fixture *f = *state;
    natsSubscription *junk = fake_responder(f, "$SRV.PING.junkd", "not json");
    natsSubscription *other =
        fake_responder(f, "$SRV.PING.impostord",
                       "{\"type\":\"io.nats.micro.v1.ping_response\",\"name\":\"embedd\"}");
    natsSubscription *info =
        fake_responder(f, "$SRV.PING.confusedd",
                       "{\"type\":\"io.nats.micro.v1.info_response\",\"name\":\"confusedd\"}");
    natsSubscription *mute = fake_responder(f, "$SRV.PING.muted", NULL);
    lh_conn *c = client_conn(f);
    assert_ping(c, "embedd", 0, NULL);
    assert_ping(c, NULL, 0, NULL);
    assert_ping(c, "nosuchd", LH_EUNAVAILABLE, "$SRV.PING.nosuchd");
    assert_ping(c, "junkd", LH_EINTERNAL, "not a JSON object");
    assert_ping(c, "impostord", LH_EINTERNAL, "comes from 'embedd', not 'impostord'");
    assert_ping(c, "confusedd", LH_EINTERNAL, "not a io.nats.micro.v1.ping_response");
    assert_ping(c, "muted", LH_ETIMEOUT, "$SRV.PING.muted");
    assert_ping(c, "a.b", LH_EBADREQ, "a.b");
    lh_conn_destroy(c);
    natsSubscription_Destroy(junk);
    natsSubscription_Destroy(other);
    natsSubscription_Destroy(info);
    natsSubscription_Destroy(mute);
}

typedef struct gathered {
    char ids[8][64];
    char names[8][64];
    size_t n;
    size_t stop_after; /* 0: never stop */
} gathered;

static bool on_doc(void *user, json_t *doc)
{
    gathered *g = user;
    assert_true(g->n < 8);
    snprintf(g->ids[g->n], 64, "%s", json_string_value(json_object_get(doc, "id")));
    snprintf(g->names[g->n], 64, "%s", json_string_value(json_object_get(doc, "name")));
    g->n++;
    return !g->stop_after || g->n < g->stop_after;
}

static bool gathered_id(const gathered *g, const char *id)
{
    for (size_t i = 0; i < g->n; i++)
        if (!strcmp(g->ids[i], id))
            return true;
    return false;
}

static gathered gather(lh_conn *c, lh_discovery_verb v, const char *name, size_t stop_after)
{
    gathered g = {.stop_after = stop_after};
    lh_err *err = lh_discovery_gather(c, v, name, 2000, on_doc, &g);
    if (err)
        fail_msg("gather: %s", lh_err_message(err));
    return g;
}

/* Every instance answers within the window; what is not a document of the
 * verb asked is left out. */
static void test_client_gather(void **state)
{
    fixture *f = *state;
    lh_config cfg;
    lh_config_load(&cfg);
    lh_actor_opts opts = {.config = &cfg, .workers = 1};
    lh_actor *second = NULL;
    lh_err *err = lh_actor_create(&lh_embed_actor, &opts, &second);
    if (err)
        fail_msg("start a second embedd: %s", lh_err_message(err));
    natsSubscription *junk = fake_responder(f, "$SRV.STATS", "{\"type\":\"nonsense\"}");
    lh_conn *c = client_conn(f);
    const lh_discovery_verb verbs[] = {LH_DISCOVERY_PING, LH_DISCOVERY_INFO,
                                       LH_DISCOVERY_STATS};
    for (size_t v = 0; v < 3; v++) {
        gathered g = gather(c, verbs[v], v == 1 ? "embedd" : NULL, 0);
        assert_int_equal(g.n, 2);
        assert_true(gathered_id(&g, lh_actor_id(embedd(f))));
        assert_true(gathered_id(&g, lh_actor_id(second)));
        assert_string_equal(g.names[0], "embedd");
        assert_string_equal(g.names[1], "embedd");
    }
    gathered none = gather(c, LH_DISCOVERY_INFO, "nosuchd", 0);
    assert_int_equal(none.n, 0);
    gathered first = gather(c, LH_DISCOVERY_STATS, NULL, 1);
    assert_int_equal(first.n, 1);
    lh_conn_destroy(c);
    natsSubscription_Destroy(junk);
    lh_actor_destroy(second);
}

typedef struct pong {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int code; /* 0: answered */
    char message[256];
} pong;

static void on_pong(void *user, lh_err *err, json_t *doc)
{
    pong *p = user;
    assert_true((err == NULL) == (doc != NULL)); /* a document exactly when it answered */
    pthread_mutex_lock(&p->mu);
    p->code = err ? lh_err_code(err) : 0;
    snprintf(p->message, sizeof p->message, "%s", err ? lh_err_message(err) : "");
    p->done = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Pings through the mux and waits (bounded) for the one callback. */
static pong ping_async(lh_mux *m, const char *name, int timeout_ms)
{
    pong p = {.code = -1};
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    lh_err *err = lh_discovery_ask_async(m, LH_DISCOVERY_PING, name, "rid-1", timeout_ms, on_pong,
                                         &p);
    if (err)
        fail_msg("ping_async %s: %s", name, lh_err_message(err));
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&p.mu);
    while (!p.done && pthread_cond_timedwait(&p.cv, &p.mu, &until) == 0) {
    }
    bool done = p.done;
    pthread_mutex_unlock(&p.mu);
    if (!done)
        fail_msg("no callback for the ping of %s", name);
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.cv);
    return p;
}

static void test_client_ping_async(void **state)
{
    fixture *f = *state;
    natsSubscription *other =
        fake_responder(f, "$SRV.PING.impostord",
                       "{\"type\":\"io.nats.micro.v1.ping_response\",\"name\":\"embedd\"}");
    natsSubscription *mute = fake_responder(f, "$SRV.PING.muted", NULL);
    lh_conn *c = client_conn(f);
    lh_mux *m = NULL;
    lh_err *err = lh_mux_create(c, &m);
    if (err)
        fail_msg("mux: %s", lh_err_message(err));
    pong p = ping_async(m, "embedd", 5000);
    assert_int_equal(p.code, 0);
    p = ping_async(m, "nosuchd", 5000);
    assert_int_equal(p.code, LH_EUNAVAILABLE);
    assert_non_null(strstr(p.message, "$SRV.PING.nosuchd"));
    p = ping_async(m, "impostord", 5000);
    assert_int_equal(p.code, LH_EINTERNAL);
    assert_non_null(strstr(p.message, "not 'impostord'"));
    p = ping_async(m, "muted", 200);
    assert_int_equal(p.code, LH_ETIMEOUT);
    err = lh_discovery_ask_async(m, LH_DISCOVERY_PING, "a.b", NULL, 1000, on_pong, NULL);
    assert_non_null(err);
    assert_int_equal(lh_err_code(err), LH_EBADREQ);
    lh_err_free(err);
    lh_mux_destroy(m);
    lh_conn_destroy(c);
    natsSubscription_Destroy(other);
    natsSubscription_Destroy(mute);
}

/* ---- the gateway counts what it serves over HTTP ---- */

/* embedd and the gateway served by one `lakehouse serve`, as deployed. */
typedef lh_test_stack gw_fixture;

static int setup_gateway(void **state)
{
    static const char *const served[] = {"embedd", "gateway", NULL};
    *state = lh_test_stack_new(&(lh_test_stack_opts){.serve = served});
    return 0;
}

static void http_n(const gw_fixture *f, int n, const char *method, const char *path,
                   const char *body, long want)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", f->http_port, path);
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
    snprintf(subject, sizeof subject, "http://127.0.0.1:%d", f->http_port);
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
        cmocka_unit_test_setup_teardown(test_ping_document, setup, lh_test_stack_teardown),
        cmocka_unit_test_setup_teardown(test_info_document, setup, lh_test_stack_teardown),
        cmocka_unit_test_setup_teardown(test_stats_document_counts_requests_and_errors, setup,
                                        lh_test_stack_teardown),
        cmocka_unit_test_setup_teardown(test_documents_match_in_process_and_on_the_bus, setup,
                                        lh_test_stack_teardown),
        cmocka_unit_test(test_client_subjects),
        cmocka_unit_test_setup_teardown(test_client_ping, setup, lh_test_stack_teardown),
        cmocka_unit_test_setup_teardown(test_client_gather, setup, lh_test_stack_teardown),
        cmocka_unit_test_setup_teardown(test_client_ping_async, setup, lh_test_stack_teardown),
        cmocka_unit_test_setup_teardown(test_gateway_stats_count_http_requests, setup_gateway,
                                        lh_test_stack_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
