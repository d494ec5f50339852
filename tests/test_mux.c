/*
 * test_mux.c — the request multiplexer against a real nats-server, with
 * responders written here: replies (and the request id they carry), error
 * replies, no responders, deadlines in order, thousands of concurrent
 * requests each completed exactly once, and destroy answering what is left.
 */
#include "tests/support/harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/conn.h"
#include "bus/mux.h"
#include "bus/request.h"

#define WAIT_MS 30000

typedef struct outcome {
    int calls;
    int order; /* 1-based completion order */
    int code;  /* 0 on success */
    bool has_msg;
    char text[256]; /* reply body or error message */
} outcome;

typedef struct fixture {
    lh_test_stack *st;
    natsConnection *responder; /* the stack's connection */
    natsSubscription *subs[3];
    lh_conn *conn; /* the stack's */
    lh_mux *mux;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int completed;
} fixture;

typedef struct slot {
    fixture *f;
    outcome out;
} slot;

static void on_done(void *user, lh_err *err, natsMsg *msg)
{
    slot *s = user;
    fixture *f = s->f;
    pthread_mutex_lock(&f->mu);
    s->out.calls++;
    s->out.order = ++f->completed;
    s->out.code = err ? lh_err_code(err) : 0;
    s->out.has_msg = msg != NULL;
    if (err)
        snprintf(s->out.text, sizeof s->out.text, "%s", lh_err_message(err));
    else
        snprintf(s->out.text, sizeof s->out.text, "%.*s", natsMsg_GetDataLength(msg),
                 natsMsg_GetData(msg));
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static void wait_completed(fixture *f, int n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAIT_MS / 1000;
    pthread_mutex_lock(&f->mu);
    while (f->completed < n && pthread_cond_timedwait(&f->cv, &f->mu, &until) == 0)
        ;
    int done = f->completed;
    pthread_mutex_unlock(&f->mu);
    if (done < n)
        fail_msg("only %d of %d requests completed", done, n);
}

/* ---- responders ---- */

/* Replies "<request id>|<body>". */
static void echo(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)sub;
    (void)closure;
    const char *rid = "";
    natsMsgHeader_Get(msg, LH_HDR_REQUEST_ID, &rid);
    char out[512];
    int n = snprintf(out, sizeof out, "%s|%.*s", rid ? rid : "", natsMsg_GetDataLength(msg),
                     natsMsg_GetData(msg));
    natsConnection_Publish(nc, natsMsg_GetReply(msg), out, n);
    natsMsg_Destroy(msg);
}

/* Replies with an ADR-32 error: headers plus an {"error":...} body. */
static void refuse(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)sub;
    (void)closure;
    natsMsg *rep = NULL;
    const char *body = "{\"error\":{\"code\":409,\"message\":\"taken\",\"field\":\"name\"}}";
    natsMsg_Create(&rep, natsMsg_GetReply(msg), NULL, body, (int)strlen(body));
    natsMsgHeader_Set(rep, LH_HDR_ERROR_CODE, "409");
    natsMsgHeader_Set(rep, LH_HDR_ERROR, "taken");
    natsConnection_PublishMsg(nc, rep);
    natsMsg_Destroy(rep);
    natsMsg_Destroy(msg);
}

static void ignore(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    (void)closure;
    natsMsg_Destroy(msg);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    f->st = lh_test_stack_new(NULL);
    f->responder = f->st->nc;
    assert_int_equal(natsConnection_Subscribe(&f->subs[0], f->responder, "mux.echo", echo, NULL),
                     NATS_OK);
    natsSubscription_SetPendingLimits(f->subs[0], -1, -1);
    assert_int_equal(
        natsConnection_Subscribe(&f->subs[1], f->responder, "mux.refuse", refuse, NULL), NATS_OK);
    assert_int_equal(
        natsConnection_Subscribe(&f->subs[2], f->responder, "mux.silent", ignore, NULL), NATS_OK);
    assert_int_equal(natsConnection_Flush(f->responder), NATS_OK);
    f->conn = lh_test_stack_conn(f->st);
    f->mux = lh_test_stack_mux(f->st);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    lh_mux_destroy(f->mux);
    for (size_t i = 0; i < 3; i++)
        natsSubscription_Destroy(f->subs[i]);
    lh_test_stack_free(f->st);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f);
    return 0;
}

static void send_ok(fixture *f, slot *s, const char *subject, const char *body, const char *rid,
                    int timeout_ms)
{
    s->f = f;
    lh_err *err = lh_mux_request(f->mux, subject, body, strlen(body), rid, timeout_ms, on_done, s);
    if (err)
        fail_msg("lh_mux_request %s: %s", subject, lh_err_message(err));
}

/* ---- tests ---- */

static void test_reply_carries_body_and_request_id(void **state)
{
    fixture *f = *state;
    slot s = {0};
    send_ok(f, &s, "mux.echo", "hello", "rid-42", 10000);
    wait_completed(f, 1);
    assert_int_equal(s.out.calls, 1);
    assert_int_equal(s.out.code, 0);
    assert_true(s.out.has_msg);
    assert_string_equal(s.out.text, "rid-42|hello");
    assert_int_equal(lh_mux_pending(f->mux), 0);
}

static void test_error_reply_gives_error_and_message(void **state)
{
    fixture *f = *state;
    slot s = {0};
    send_ok(f, &s, "mux.refuse", "{}", NULL, 10000);
    wait_completed(f, 1);
    assert_int_equal(s.out.calls, 1);
    assert_int_equal(s.out.code, 409);
    assert_string_equal(s.out.text, "taken");
    assert_true(s.out.has_msg); /* the body is there to be passed on */
}

static void test_no_responders_is_503(void **state)
{
    fixture *f = *state;
    slot s = {0};
    send_ok(f, &s, "mux.nobody", "x", NULL, 10000);
    wait_completed(f, 1);
    assert_int_equal(s.out.calls, 1);
    assert_int_equal(s.out.code, 503);
    assert_false(s.out.has_msg);
    assert_string_equal(s.out.text, "no actor is serving mux.nobody");
}

static void test_timeouts_fire_in_deadline_order(void **state)
{
    fixture *f = *state;
    slot late = {0}, early = {0};
    send_ok(f, &late, "mux.silent", "a", NULL, 1500);
    send_ok(f, &early, "mux.silent", "b", NULL, 100);
    wait_completed(f, 2);
    assert_int_equal(early.out.calls, 1);
    assert_int_equal(late.out.calls, 1);
    assert_int_equal(early.out.order, 1);
    assert_int_equal(late.out.order, 2);
    assert_int_equal(early.out.code, 504);
    assert_string_equal(early.out.text, "no reply from mux.silent within 100 ms");
    assert_string_equal(late.out.text, "no reply from mux.silent within 1500 ms");
    assert_false(late.out.has_msg);
    assert_int_equal(lh_mux_pending(f->mux), 0);
}

#define MANY 2000

static void test_many_concurrent_requests_complete_once_each(void **state)
{
    fixture *f = *state;
    slot *slots = calloc(MANY, sizeof *slots);
    char body[32];
    for (int i = 0; i < MANY; i++) {
        snprintf(body, sizeof body, "%d", i);
        /* every tenth to a subject nobody serves, so outcomes interleave */
        send_ok(f, &slots[i], i % 10 == 9 ? "mux.nobody" : "mux.echo", body, NULL, 20000);
    }
    wait_completed(f, MANY);
    for (int i = 0; i < MANY; i++) {
        assert_int_equal(slots[i].out.calls, 1);
        if (i % 10 == 9) {
            assert_int_equal(slots[i].out.code, 503);
            continue;
        }
        assert_int_equal(slots[i].out.code, 0);
        snprintf(body, sizeof body, "|%d", i);
        assert_string_equal(slots[i].out.text, body);
    }
    assert_int_equal(lh_mux_pending(f->mux), 0);
    /* Once destroy has returned no callback can come any more, so a late
     * duplicate cannot slip past the counts below. */
    lh_mux_destroy(f->mux);
    f->mux = NULL;
    for (int i = 0; i < MANY; i++)
        if (slots[i].out.calls != 1)
            fail_msg("request %d completed %d times", i, slots[i].out.calls);
    assert_int_equal(f->completed, MANY);
    free(slots);
}

static void test_destroy_answers_pending_with_503(void **state)
{
    fixture *f = *state;
    slot a = {0}, b = {0};
    send_ok(f, &a, "mux.silent", "a", NULL, 60000);
    send_ok(f, &b, "mux.silent", "b", NULL, 60000);
    assert_int_equal(lh_mux_pending(f->mux), 2);
    lh_mux_destroy(f->mux);
    f->mux = NULL;
    /* destroy returns only after the callbacks ran */
    assert_int_equal(a.out.calls, 1);
    assert_int_equal(b.out.calls, 1);
    assert_int_equal(a.out.code, 503);
    assert_int_equal(b.out.code, 503);
    assert_non_null(strstr(a.out.text, "mux.silent"));
    lh_err *err = lh_mux_create(f->conn, &f->mux); /* teardown destroys a fresh one */
    assert_null(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reply_carries_body_and_request_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_reply_gives_error_and_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_responders_is_503, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeouts_fire_in_deadline_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_concurrent_requests_complete_once_each, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_destroy_answers_pending_with_503, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    nats_CloseAndWait(5000); /* lets LeakSanitizer see nats.c fully released */
    return failed;
}
