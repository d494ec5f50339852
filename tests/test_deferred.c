/*
 * test_deferred.c — deferred replies (lh_ctx_defer in bus/actor.h) on a
 * real nats-server: a handler hands its reply to another thread and
 * returns; the answer arrives later in the request's encoding (msgpack or
 * JSON), an error arrives with the ADR-32 headers, and the endpoint's
 * one worker keeps serving while a deferred reply is pending.
 */
#include "tests/support/harness.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bus/actor.h"
#include "bus/codec.h"
#include "bus/json.h"

#define TIMEOUT_MS 30000

#define T_DEFER_REQUEST(F, T)                                                              \
    F(T, text, STRING, .required = true, .doc = "What to echo.")                          \
    F(T, fail, BOOL, .doc = "Answer with an error instead.")                              \
    F(T, hold, BOOL, .doc = "Keep the reply until a later request releases it.")
LH_SCHEMA_DECLARE(t_defer_request, T_DEFER_REQUEST)
LH_SCHEMA_DEFINE(t_defer_request, T_DEFER_REQUEST, "A deferred echo.")

#define T_DEFER_REPLY(F, T) F(T, echo, STRING, .doc = "The text, echoed.")
LH_SCHEMA_DECLARE(t_defer_reply, T_DEFER_REPLY)
LH_SCHEMA_DEFINE(t_defer_reply, T_DEFER_REPLY, "The echo.")

/* The replies owed, answered by one thread standing in for a job pool. */
typedef struct owed {
    lh_deferred *d;
    char text[64];
    bool fail;
    bool hold;
} owed;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static owed g_queue[16];
static size_t g_n;
static owed g_held;
static bool g_have_held, g_quit;

static void answer(const owed *o)
{
    if (o->fail) {
        lh_err *err = lh_err_new(LH_ECONFLICT, "text", "refused '%s'", o->text);
        lh_deferred_fail(o->d, err);
        lh_err_free(err);
        return;
    }
    char echo[80];
    snprintf(echo, sizeof echo, "echo:%s", o->text);
    t_defer_reply rep = {.echo = {echo, strlen(echo)}};
    lh_deferred_reply(o->d, &rep);
}

static void *answerer(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_mu);
    while (!g_quit || g_n) {
        if (!g_n) {
            pthread_cond_wait(&g_cv, &g_mu);
            continue;
        }
        owed o = g_queue[0]; /* in arrival order */
        memmove(g_queue, g_queue + 1, --g_n * sizeof *g_queue);
        if (o.hold) {
            g_held = o;
            g_have_held = true;
            continue;
        }
        bool release = g_have_held && !strcmp(o.text, "release");
        owed held = g_held;
        g_have_held = g_have_held && !release;
        pthread_mutex_unlock(&g_mu);
        if (release)
            answer(&held);
        answer(&o);
        pthread_mutex_lock(&g_mu);
    }
    pthread_mutex_unlock(&g_mu);
    return NULL;
}

static lh_err *defer_handler(lh_ctx *ctx, const void *request, void *reply)
{
    (void)reply;
    const t_defer_request *r = request;
    owed o = {.d = lh_ctx_defer(ctx), .fail = r->fail, .hold = r->hold};
    snprintf(o.text, sizeof o.text, "%.*s", (int)r->text.len, r->text.s);
    pthread_mutex_lock(&g_mu);
    assert_true(g_n < 16);
    g_queue[g_n++] = o;
    pthread_cond_signal(&g_cv);
    pthread_mutex_unlock(&g_mu);
    return NULL;
}

static const lh_contract t_echo = {"deferd", "echo", "defer.echo", &t_defer_request_schema,
                                   &t_defer_reply_schema, "Echo, answered from another thread."};

static const lh_endpoint_def t_endpoints[] = {{&t_echo, defer_handler}};

static const lh_actor_def t_actor = {
    .name = "deferd",
    .version = "0.0.1",
    .description = "Deferred replies under test.",
    .endpoints = t_endpoints,
    .n_endpoints = 1,
};

typedef struct fixture {
    lh_test_stack *st;
    lh_actor *actor; /* the stack's */
    pthread_t thread;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->st = lh_test_stack_new(NULL);
    f->actor = lh_test_stack_add(f->st, &t_actor, 1);
    g_quit = false;
    pthread_create(&f->thread, NULL, answerer, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    pthread_mutex_lock(&g_mu);
    g_quit = true;
    pthread_cond_signal(&g_cv);
    pthread_mutex_unlock(&g_mu);
    pthread_join(f->thread, NULL); /* every owed reply is sent before the actor goes */
    lh_test_stack_free(f->st);
    free(f);
    return 0;
}

/* The typed call to defer.echo; returns the reply message (caller destroys). */
static natsMsg *request(fixture *f, const char *body, size_t len)
{
    natsMsg *m = NULL;
    lh_test_reply r = lh_test_call_msg(f->st->nc, &t_echo, body, len, NULL, &m);
    json_decref(r.body);
    if (!m || r.code == -1)
        fail_msg("request: %s", r.message);
    return m;
}

static void test_json_reply(void **state)
{
    fixture *f = *state;
    const char *body = "{\"text\":\"hi\"}";
    natsMsg *m = request(f, body, strlen(body));
    json_t *j = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "echo")), "echo:hi");
    const char *rid = NULL;
    assert_int_equal(natsMsgHeader_Get(m, "Lh-Request-Id", &rid), NATS_OK);
    assert_true(rid && *rid);
    json_decref(j);
    natsMsg_Destroy(m);
}

static void test_msgpack_reply(void **state)
{
    fixture *f = *state;
    lh_buf req, json;
    lh_buf_init(&req);
    lh_buf_init(&json);
    assert_null(lh_json_to_msgpack("{\"text\":\"mp\"}", 13, &req));
    natsMsg *m = request(f, req.data, req.len);
    const char *data = natsMsg_GetData(m);
    assert_true(natsMsg_GetDataLength(m) > 0 && data[0] != '{'); /* msgpack, not JSON */
    assert_null(lh_msgpack_to_json(data, (size_t)natsMsg_GetDataLength(m), &json));
    assert_string_equal(lh_buf_cstr(&json), "{\"echo\":\"echo:mp\"}");
    natsMsg_Destroy(m);
    lh_buf_free(&req);
    lh_buf_free(&json);
}

static void test_error_reply(void **state)
{
    fixture *f = *state;
    const char *body = "{\"text\":\"no\",\"fail\":true}";
    natsMsg *m = request(f, body, strlen(body));
    const char *code = NULL, *msg = NULL;
    assert_int_equal(natsMsgHeader_Get(m, "Nats-Service-Error-Code", &code), NATS_OK);
    assert_string_equal(code, "409");
    assert_int_equal(natsMsgHeader_Get(m, "Nats-Service-Error", &msg), NATS_OK);
    assert_string_equal(msg, "refused 'no'");
    json_t *j = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, NULL);
    json_t *e = json_object_get(j, "error");
    assert_int_equal(json_integer_value(json_object_get(e, "code")), 409);
    assert_string_equal(json_string_value(json_object_get(e, "field")), "text");
    json_decref(j);
    natsMsg_Destroy(m);
    lh_buf stats;
    lh_buf_init(&stats);
    lh_actor_stats_json(f->actor, &stats);
    assert_non_null(strstr(lh_buf_cstr(&stats), "\"num_errors\":1"));
    lh_buf_free(&stats);
}

/* A pending deferred reply does not hold the endpoint's only worker: the
 * request that releases it is served while the first still waits. */
static void test_worker_free_while_pending(void **state)
{
    fixture *f = *state;
    natsInbox *inbox = NULL;
    natsSubscription *sub = NULL;
    assert_int_equal(natsInbox_Create(&inbox), NATS_OK);
    assert_int_equal(natsConnection_SubscribeSync(&sub, f->st->nc, inbox), NATS_OK);
    const char *held = "{\"text\":\"first\",\"hold\":true}";
    assert_int_equal(
        natsConnection_PublishRequest(f->st->nc, "defer.echo", inbox, held, (int)strlen(held)),
        NATS_OK);
    const char *release = "{\"text\":\"release\"}";
    natsMsg *m = request(f, release, strlen(release));
    assert_non_null(strstr(natsMsg_GetData(m), "echo:release"));
    natsMsg_Destroy(m);
    natsMsg *first = NULL;
    assert_int_equal(natsSubscription_NextMsg(&first, sub, TIMEOUT_MS), NATS_OK);
    assert_non_null(strstr(natsMsg_GetData(first), "echo:first"));
    natsMsg_Destroy(first);
    natsSubscription_Destroy(sub);
    natsInbox_Destroy(inbox);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_json_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_msgpack_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_free_while_pending, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
