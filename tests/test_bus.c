/*
 * test_bus.c — embedd on a real nats-server, spoken to over the bus the
 * way engineers and other actors do: JSON and msgpack requests, ADR-32
 * error replies, request ids, discovery, two processes sharing a queue
 * group, a nats-server restart under a running actor, and SIGTERM with
 * requests in flight.
 */
#include "tests/support/harness.h"

#include <jansson.h>
#include <math.h>
#include <msgpack.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "schemas/embed.h"

static const char *const EMBEDD[] = {"embedd", NULL};

/* The fixture is the stack: nats-server and `lakehouse serve embedd`. */
typedef lh_test_stack fixture;

static int setup(void **state)
{
    *state = lh_test_stack_new(&(lh_test_stack_opts){.serve = EMBEDD});
    return 0;
}

/* Sends `body` with an optional Lh-Request-Id through the typed call (so
 * a success must fit the contract); returns the reply (caller destroys). */
static natsMsg *request(natsConnection *nc, const lh_contract *k, const char *body, size_t len,
                        const char *rid)
{
    natsMsg *m = NULL;
    lh_test_reply r = lh_test_call_msg(nc, k, body, len, rid, &m);
    json_decref(r.body);
    if (!m || r.code == -1)
        fail_msg("request %s: %s", k->subject, r.message);
    return m;
}

static json_t *reply_json(natsMsg *m)
{
    json_error_t jerr;
    json_t *j = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, &jerr);
    if (!j)
        fail_msg("reply is not JSON (%s): %.*s", jerr.text, natsMsg_GetDataLength(m),
                 natsMsg_GetData(m));
    return j;
}

static void assert_unit_vector(json_t *vec, size_t dim)
{
    assert_int_equal(json_array_size(vec), dim);
    double ss = 0;
    for (size_t i = 0; i < dim; i++)
        ss += json_number_value(json_array_get(vec, i)) * json_number_value(json_array_get(vec, i));
    assert_true(fabs(sqrt(ss) - 1.0) < 1e-4);
}

static void test_json_request_gets_json_reply(void **state)
{
    fixture *f = *state;
    const char *body = "  {\"texts\":[\"hello world\",\"another text\"]}";
    natsMsg *m = request(f->nc, &lh_ep_embed_request, body, strlen(body), "rid-json-1");
    const char *rid = NULL;
    assert_int_equal(natsMsgHeader_Get(m, "Lh-Request-Id", &rid), NATS_OK);
    assert_string_equal(rid, "rid-json-1");
    json_t *j = reply_json(m);
    assert_int_equal(json_integer_value(json_object_get(j, "dimension")), 384);
    assert_string_equal(json_string_value(json_object_get(j, "model")), "hash2-384");
    assert_string_equal(json_string_value(json_object_get(j, "provider")), "hash");
    json_t *vectors = json_object_get(j, "vectors");
    assert_int_equal(json_array_size(vectors), 2);
    assert_unit_vector(json_array_get(vectors, 0), 384);
    assert_unit_vector(json_array_get(vectors, 1), 384);
    json_decref(j);
    natsMsg_Destroy(m);
}

static void test_msgpack_request_gets_msgpack_reply(void **state)
{
    fixture *f = *state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "texts", 5);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_str_with_body(&pk, "hello", 5);
    msgpack_pack_str_with_body(&pk, "model", 5);
    msgpack_pack_str_with_body(&pk, "hash-64", 7);
    natsMsg *m = request(f->nc, &lh_ep_embed_request, sb.data, sb.size, NULL);
    msgpack_sbuffer_destroy(&sb);
    /* A request without an id still gets one back. */
    const char *rid = NULL;
    assert_int_equal(natsMsgHeader_Get(m, "Lh-Request-Id", &rid), NATS_OK);
    assert_true(strlen(rid) > 0);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), NULL),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(up.data.type, MSGPACK_OBJECT_MAP);
    bool saw_vectors = false;
    for (uint32_t i = 0; i < up.data.via.map.size; i++) {
        msgpack_object_kv *kv = &up.data.via.map.ptr[i];
        if (kv->key.via.str.size == 7 && !memcmp(kv->key.via.str.ptr, "vectors", 7)) {
            saw_vectors = true;
            assert_int_equal(kv->val.via.array.size, 1);
            msgpack_object *row = &kv->val.via.array.ptr[0];
            assert_int_equal(row->via.array.size, 64);
            assert_int_equal(row->via.array.ptr[0].type, MSGPACK_OBJECT_FLOAT32);
        }
    }
    assert_true(saw_vectors);
    msgpack_unpacked_destroy(&up);
    natsMsg_Destroy(m);
}

/* An error reply carries the ADR-32 headers and a body naming the field. */
static void expect_error(fixture *f, const char *body, int code, const char *field,
                         const char *words)
{
    natsMsg *m = request(f->nc, &lh_ep_embed_request, body, strlen(body), NULL);
    const char *hcode = NULL, *hmsg = NULL;
    assert_int_equal(natsMsgHeader_Get(m, "Nats-Service-Error-Code", &hcode), NATS_OK);
    assert_int_equal(atoi(hcode), code);
    assert_int_equal(natsMsgHeader_Get(m, "Nats-Service-Error", &hmsg), NATS_OK);
    if (!strstr(hmsg, words))
        fail_msg("error '%s' lacks '%s'", hmsg, words);
    json_t *j = reply_json(m);
    json_t *e = json_object_get(j, "error");
    assert_int_equal(json_integer_value(json_object_get(e, "code")), code);
    assert_string_equal(json_string_value(json_object_get(e, "message")), hmsg);
    if (field)
        assert_string_equal(json_string_value(json_object_get(e, "field")), field);
    json_decref(j);
    natsMsg_Destroy(m);
}

static void test_bad_requests_are_refused_and_actor_keeps_serving(void **state)
{
    fixture *f = *state;
    expect_error(f, "{\"texts\":[\"ok\",\"   \"]}", 400, "texts[1]", "texts[1]");
    expect_error(f, "{\"texts\":[\"ok\",\"!!!\"]}", 400, "texts[1]", "no words");
    expect_error(f, "{\"texts\":[\"ok\"],\"model\":\"gpt-9\"}", 400, "model", "unknown model");
    expect_error(f, "{\"texts\":[\"ok\"", 400, NULL, "malformed JSON");
    expect_error(f, "{}", 400, "texts", "missing required field 'texts'");
    expect_error(f, "{\"texts\":[1]}", 400, "texts[0]", "must be a string");
    /* Malformed msgpack: a map header promising more than is there. */
    const char bad[] = {(char)0x82, (char)0xa1, 'a'};
    natsMsg *m = request(f->nc, &lh_ep_embed_request, bad, sizeof bad, NULL);
    const char *hcode = NULL;
    assert_int_equal(natsMsgHeader_Get(m, "Nats-Service-Error-Code", &hcode), NATS_OK);
    assert_string_equal(hcode, "400");
    natsMsg_Destroy(m);
    /* Still serving. */
    assert_true(lh_test_ping_conn(f->nc, "embedd", 5000));
    test_json_request_gets_json_reply(state);
}

/* Collects every reply to one request for `ms` milliseconds. */
static int gather(natsConnection *nc, const char *subject, int ms, json_t *out)
{
    natsInbox *inbox = NULL;
    natsSubscription *sub = NULL;
    natsInbox_Create(&inbox);
    assert_int_equal(natsConnection_SubscribeSync(&sub, nc, inbox), NATS_OK);
    assert_int_equal(natsConnection_PublishRequest(nc, subject, inbox, "", 0), NATS_OK);
    int n = 0;
    natsMsg *m = NULL;
    while (natsSubscription_NextMsg(&m, sub, ms) == NATS_OK) {
        json_array_append_new(out, reply_json(m));
        natsMsg_Destroy(m);
        n++;
    }
    natsSubscription_Destroy(sub);
    natsInbox_Destroy(inbox);
    return n;
}

static void test_two_processes_share_the_queue_group(void **state)
{
    fixture *f = *state;
    lh_test_proc *second = lh_test_stack_serve(f, EMBEDD, NULL, NULL);
    /* The serve helper's ping may have been answered by the first process:
     * wait until both instances answer. */
    int instances = 0;
    for (int i = 0; i < 100 && instances < 2; i++) {
        json_t *pings = json_array();
        instances = gather(f->nc, "$SRV.PING.embedd", 200, pings);
        json_decref(pings);
    }
    assert_int_equal(instances, 2);
    for (int i = 0; i < 200; i++) {
        char body[64];
        int n = snprintf(body, sizeof body, "{\"texts\":[\"text %d\"]}", i);
        natsMsg_Destroy(request(f->nc, &lh_ep_embed_request, body, (size_t)n, NULL));
    }
    json_t *stats = json_array();
    assert_int_equal(gather(f->nc, "$SRV.STATS.embedd", 500, stats), 2);
    json_int_t total = 0;
    for (size_t i = 0; i < 2; i++) {
        json_t *ep = json_array_get(json_object_get(json_array_get(stats, i), "endpoints"), 0);
        json_int_t served = json_integer_value(json_object_get(ep, "num_requests"));
        assert_true(served > 0); /* both instances took part of the load */
        total += served;
    }
    assert_true(total >= 200);
    json_decref(stats);
    assert_int_equal(WEXITSTATUS(lh_test_signal_wait(second, SIGTERM, 20000)), 0);
}

static void test_actor_survives_nats_restart(void **state)
{
    fixture *f = *state;
    lh_test_nats_restart(&f->nats);
    bool back = false;
    for (int i = 0; i < 300 && !back; i++) {
        back = lh_test_ping_conn(f->nc, "embedd", 200);
        if (!back)
            lh_test_sleep_ms(100);
    }
    if (!back) {
        lh_test_log_tail(f->log, 30);
        fail_msg("embedd did not come back after nats-server restarted");
    }
    test_json_request_gets_json_reply(state);
    char *log = lh_test_read_file(f->log, NULL);
    assert_non_null(strstr(log, "bus disconnected"));
    assert_non_null(strstr(log, "bus reconnected"));
    free(log);
}

static void test_sigterm_finishes_requests_in_flight(void **state)
{
    fixture *f = *state;
    enum { N = 3000 };
    natsInbox *inbox = NULL;
    natsSubscription *sub = NULL;
    natsInbox_Create(&inbox);
    assert_int_equal(natsConnection_SubscribeSync(&sub, f->nc, inbox), NATS_OK);
    natsSubscription_SetPendingLimits(sub, -1, -1);
    /* Long-ish texts so the actor still has work queued when told to stop. */
    char body[2048];
    int len = snprintf(body, sizeof body, "{\"texts\":[\"");
    for (int i = 0; i < 60; i++)
        len += snprintf(body + len, sizeof body - (size_t)len, "word%d ", i);
    len += snprintf(body + len, sizeof body - (size_t)len, "\"]}");
    for (int i = 0; i < N; i++)
        assert_int_equal(natsConnection_PublishRequest(f->nc, "embed.request", inbox, body, len),
                         NATS_OK);
    assert_int_equal(natsConnection_Flush(f->nc), NATS_OK); /* all routed to embedd */
    int status = lh_test_signal_wait(lh_test_stack_proc(f, "embedd"), SIGTERM, 60000);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    int ok = 0;
    natsMsg *m = NULL;
    while (ok < N && natsSubscription_NextMsg(&m, sub, 2000) == NATS_OK) {
        const char *code = NULL;
        if (natsMsgHeader_Get(m, "Nats-Service-Error-Code", &code) != NATS_OK &&
            !natsMsg_IsNoResponders(m))
            ok++;
        natsMsg_Destroy(m);
    }
    assert_int_equal(ok, N);
    natsSubscription_Destroy(sub);
    natsInbox_Destroy(inbox);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_json_request_gets_json_reply, setup,
                                        lh_test_stack_teardown),
        cmocka_unit_test_setup_teardown(test_msgpack_request_gets_msgpack_reply, setup,
                                        lh_test_stack_teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests_are_refused_and_actor_keeps_serving,
                                        setup, lh_test_stack_teardown),
        cmocka_unit_test_setup_teardown(test_two_processes_share_the_queue_group, setup,
                                        lh_test_stack_teardown),
        cmocka_unit_test_setup_teardown(test_actor_survives_nats_restart, setup,
                                        lh_test_stack_teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_finishes_requests_in_flight, setup,
                                        lh_test_stack_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
