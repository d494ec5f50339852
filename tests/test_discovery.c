/*
 * test_discovery.c — the ADR-32 documents: each of PING, INFO and STATS
 * has exactly the standard fields with the standard types, answers on the
 * bare, by-name and by-name.id subjects, and STATS counts what happened.
 */
#include "tests/support/harness.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "actors/embed/embed.h"
#include "bus/actor.h"
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
    lh_actor_info_json(embedd(f), &b);
    json_t *local = json_loadb(b.data, b.len, 0, NULL);
    json_t *remote = request_json(f->nc, "$SRV.INFO.embedd");
    assert_true(json_equal(local, remote));
    json_decref(local);
    json_decref(remote);
    lh_buf_free(&b);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
