/*
 * test_stream.c — the bus's streaming protocol (bus/stream.h) on a real
 * nats-server, with a test actor that counts out loud: chunks arrive in
 * order and end with the handler's reply or error, through lh_call_stream
 * and through the mux; a requester that does not ask gets one whole
 * reply; a stream outlives the idle deadline while it keeps talking and
 * fails with 504 when it falls silent; a requester that goes away (either
 * kind) cancels the stream and the handler sees it; the mux never hands
 * a chunk on after the end.
 */
#include "tests/support/harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/actor.h"
#include "bus/mux.h"
#include "bus/request.h"
#include "bus/stream.h"

#define T_COUNT_REQUEST(F, T)                                                               \
    F(T, n, INT, .min = 0, .max = 1000, .doc = "How many chunks.")                          \
    F(T, delay_ms, INT, .min = 0, .max = 5000, .doc = "Pause after each.")                  \
    F(T, fail_at, INT, .doc = "End with an error after this many chunks (0: never).")   \
    F(T, keepalive_ms, INT, .doc = "During each pause, a keepalive this often (0: none).")
LH_SCHEMA_DECLARE(t_count_request, T_COUNT_REQUEST)
LH_SCHEMA_DEFINE(t_count_request, T_COUNT_REQUEST, "Count to n.")

#define T_COUNT_CHUNK(F, T) F(T, i, INT, .doc = "The number.")
LH_SCHEMA_DECLARE(t_count_chunk, T_COUNT_CHUNK)
LH_SCHEMA_DEFINE(t_count_chunk, T_COUNT_CHUNK, "One number.")

#define T_COUNT_REPLY(F, T)                                                                 \
    F(T, sent, INT, .doc = "Chunks sent.")                                                  \
    F(T, streamed, BOOL, .doc = "Whether the reply was a stream.")
LH_SCHEMA_DECLARE(t_count_reply, T_COUNT_REPLY)
LH_SCHEMA_DEFINE(t_count_reply, T_COUNT_REPLY, "The count.")

static const lh_contract t_count = {"countd", "count", "test.count", &t_count_request_schema,
                                    &t_count_reply_schema, "Count out loud."};

static atomic_int g_cancelled; /* streams the handler saw cancelled */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static lh_err *count_handler(lh_ctx *ctx, const void *request, void *reply)
{
    const t_count_request *r = request;
    t_count_reply *rep = reply;
    rep->streamed = lh_ctx_stream_begin(ctx);
    for (int64_t i = 1; rep->streamed && i <= r->n; i++) {
        if (r->fail_at && i > r->fail_at)
            return lh_err_new(LH_EUPSTREAM, NULL, "gave up after %lld", (long long)r->fail_at);
        t_count_chunk c = {.i = i};
        lh_err *err = lh_ctx_stream_send(ctx, &t_count_chunk_schema, &c);
        if (err) {
            atomic_fetch_add(&g_cancelled, 1);
            return err;
        }
        rep->sent++;
        for (int64_t slept = 0; slept < r->delay_ms;) { /* a pause, maybe kept alive */
            int64_t nap = r->keepalive_ms ? r->keepalive_ms : r->delay_ms;
            sleep_ms((int)nap);
            slept += nap;
            if (r->keepalive_ms && slept < r->delay_ms && (err = lh_ctx_stream_keepalive(ctx)))
                return err;
        }
    }
    return NULL;
}

static const lh_endpoint_def t_endpoints[] = {{&t_count, count_handler}};
static const lh_actor_def t_actor = {
    .name = "countd",
    .version = "0.0.1",
    .description = "Streams under test.",
    .endpoints = t_endpoints,
    .n_endpoints = 1,
};

static int setup(void **state)
{
    lh_test_stack *st = lh_test_stack_new(NULL);
    lh_test_stack_add(st, &t_actor, 2);
    *state = st;
    return 0;
}

static int teardown(void **state)
{
    lh_test_stack_free(*state);
    return 0;
}

/* ---- lh_call_stream ---- */

typedef struct seen {
    int64_t got[64];
    size_t n;
    size_t stop_after; /* 0: never */
} seen;

static bool on_chunk(void *user, const void *chunk)
{
    seen *s = user;
    const t_count_chunk *c = chunk;
    if (s->n < 64)
        s->got[s->n] = c->i;
    s->n++;
    return !s->stop_after || s->n < s->stop_after;
}

static lh_err *count_kept(lh_test_stack *st, int n, int delay, int keepalive, int idle_ms,
                          seen *s, t_count_reply **rep, lh_arena *arena)
{
    t_count_request req = {0};
    LH_SET(&req, n, n);
    LH_SET(&req, delay_ms, delay);
    LH_SET(&req, keepalive_ms, keepalive);
    return lh_call_stream(lh_test_stack_conn(st), &t_count, &req, &t_count_chunk_schema,
                          on_chunk, s, arena, (void **)rep, idle_ms);
}

static lh_err *count(lh_test_stack *st, int n, int delay, int fail_at, int idle_ms, seen *s,
                     t_count_reply **rep, lh_arena *arena)
{
    t_count_request req = {0};
    LH_SET(&req, n, n);
    LH_SET(&req, delay_ms, delay);
    LH_SET(&req, fail_at, fail_at);
    return lh_call_stream(lh_test_stack_conn(st), &t_count, &req, &t_count_chunk_schema,
                          on_chunk, s, arena, (void **)rep, idle_ms);
}

static void test_chunks_in_order_then_the_reply(void **state)
{
    lh_arena *arena = lh_arena_create();
    seen s = {0};
    t_count_reply *rep = NULL;
    lh_err *err = count(*state, 40, 0, 0, 5000, &s, &rep, arena);
    if (err)
        fail_msg("%s", lh_err_message(err));
    assert_int_equal(s.n, 40);
    for (size_t i = 0; i < s.n; i++)
        assert_int_equal(s.got[i], (int64_t)i + 1);
    assert_true(rep->streamed);
    assert_int_equal(rep->sent, 40);
    lh_arena_destroy(arena);
}

static void test_an_error_ends_the_stream(void **state)
{
    lh_arena *arena = lh_arena_create();
    seen s = {0};
    t_count_reply *rep = NULL;
    lh_err *err = count(*state, 10, 0, 3, 5000, &s, &rep, arena);
    assert_non_null(err);
    assert_int_equal(lh_err_code(err), LH_EUPSTREAM);
    assert_non_null(strstr(lh_err_message(err), "gave up after 3"));
    assert_int_equal(s.n, 3); /* what came before the error stays delivered */
    lh_err_free(err);
    lh_arena_destroy(arena);
}

static void test_a_plain_request_gets_one_reply(void **state)
{
    lh_test_stack *st = *state;
    lh_arena *arena = lh_arena_create();
    t_count_request req = {0};
    LH_SET(&req, n, 5);
    t_count_reply *rep = NULL;
    lh_err *err = lh_call(lh_test_stack_conn(st), &t_count, &req, arena, (void **)&rep, 5000);
    if (err)
        fail_msg("%s", lh_err_message(err));
    assert_false(rep->streamed);
    assert_int_equal(rep->sent, 0);
    lh_arena_destroy(arena);
}

static void test_a_talking_stream_outlives_the_idle_deadline(void **state)
{
    lh_arena *arena = lh_arena_create();
    seen s = {0};
    t_count_reply *rep = NULL;
    /* 8 x 100 ms is far longer than 400 ms, but never silent that long */
    lh_err *err = count(*state, 8, 100, 0, 400, &s, &rep, arena);
    if (err)
        fail_msg("%s", lh_err_message(err));
    assert_int_equal(rep->sent, 8);
    lh_arena_destroy(arena);
}

static void test_a_silent_stream_times_out(void **state)
{
    lh_arena *arena = lh_arena_create();
    seen s = {0};
    t_count_reply *rep = NULL;
    int before = atomic_load(&g_cancelled);
    lh_err *err = count(*state, 3, 1500, 0, 300, &s, &rep, arena);
    assert_non_null(err);
    assert_int_equal(lh_err_code(err), LH_ETIMEOUT);
    assert_int_equal(s.n, 1);
    lh_err_free(err);
    /* the requester gave up and said so: the handler stops at its next chunk */
    for (int i = 0; i < 100 && atomic_load(&g_cancelled) == before; i++)
        sleep_ms(50);
    assert_int_equal(atomic_load(&g_cancelled), before + 1);
    lh_arena_destroy(arena);
}

static void test_keepalives_keep_a_quiet_stream(void **state)
{
    lh_arena *arena = lh_arena_create();
    seen s = {0};
    t_count_reply *rep = NULL;
    /* 800 ms silent between chunks against a 300 ms deadline: kept alive every 100 ms */
    lh_err *err = count_kept(*state, 2, 800, 100, 300, &s, &rep, arena);
    if (err)
        fail_msg("%s", lh_err_message(err));
    assert_int_equal(s.n, 2); /* keepalives are not chunks */
    assert_int_equal(rep->sent, 2);
    lh_arena_destroy(arena);
}

static void test_a_requester_that_stops_cancels(void **state)
{
    lh_arena *arena = lh_arena_create();
    seen s = {.stop_after = 2};
    t_count_reply *rep = NULL;
    int before = atomic_load(&g_cancelled);
    lh_err *err = count(*state, 50, 20, 0, 5000, &s, &rep, arena);
    assert_non_null(err);
    assert_int_equal(lh_err_code(err), LH_ECANCELED);
    for (int i = 0; i < 100 && atomic_load(&g_cancelled) == before; i++)
        sleep_ms(50);
    assert_int_equal(atomic_load(&g_cancelled), before + 1);
    lh_err_free(err);
    lh_arena_destroy(arena);
}

/* ---- the mux ---- */

typedef struct mux_seen {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int chunks;
    int ends;
    int chunks_after_end;
    int end_code; /* 0: success */
    int64_t sent;
} mux_seen;

static void mux_chunk(void *user, natsMsg *msg)
{
    (void)msg;
    mux_seen *s = user;
    pthread_mutex_lock(&s->mu);
    s->chunks++;
    s->chunks_after_end += s->ends > 0;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void mux_end(void *user, lh_err *err, natsMsg *msg)
{
    mux_seen *s = user;
    lh_arena *arena = lh_arena_create();
    t_count_reply *rep = NULL;
    if (!err && msg)
        assert_null(lh_reply_decode(&t_count, natsMsg_GetData(msg),
                                    (size_t)natsMsg_GetDataLength(msg), arena, (void **)&rep));
    pthread_mutex_lock(&s->mu);
    s->ends++;
    s->end_code = err ? lh_err_code(err) : 0;
    s->sent = rep ? rep->sent : -1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    lh_arena_destroy(arena);
}

/* Waits until `what` holds (the mutex is held while it is looked at). */
#define WAIT_FOR(s, what)                                                                   \
    do {                                                                                    \
        pthread_mutex_lock(&(s)->mu);                                                       \
        for (int i_ = 0; i_ < 200 && !(what); i_++) {                                       \
            struct timespec t_;                                                             \
            clock_gettime(CLOCK_REALTIME, &t_);                                             \
            t_.tv_nsec += 50000000;                                                         \
            if (t_.tv_nsec >= 1000000000) {                                                 \
                t_.tv_sec++;                                                                \
                t_.tv_nsec -= 1000000000;                                                   \
            }                                                                               \
            pthread_cond_timedwait(&(s)->cv, &(s)->mu, &t_);                                \
        }                                                                                   \
        pthread_mutex_unlock(&(s)->mu);                                                     \
    } while (0)

static uint64_t mux_count_kept(lh_mux *m, mux_seen *s, int n, int delay, int keepalive,
                               int idle_ms)
{
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    t_count_request req = {0};
    LH_SET(&req, n, n);
    LH_SET(&req, delay_ms, delay);
    LH_SET(&req, keepalive_ms, keepalive);
    lh_buf body;
    lh_buf_init(&body);
    lh_message_encode(&t_count_request_schema, &req, &body);
    uint64_t handle = 0;
    lh_err *err = lh_mux_stream(m, t_count.subject, body.data, body.len, NULL, idle_ms,
                                mux_chunk, mux_end, s, &handle);
    if (err)
        fail_msg("%s", lh_err_message(err));
    lh_buf_free(&body);
    return handle;
}

static uint64_t mux_count(lh_mux *m, mux_seen *s, int n, int delay, int idle_ms)
{
    return mux_count_kept(m, s, n, delay, 0, idle_ms);
}

static void test_the_mux_keeps_a_quiet_stream(void **state)
{
    lh_mux *m = lh_test_stack_mux(*state);
    mux_seen s = {0};
    mux_count_kept(m, &s, 2, 800, 100, 300); /* silent 800 ms, deadline 300 ms, kept alive */
    WAIT_FOR(&s, s.ends);
    assert_int_equal(s.ends, 1);
    assert_int_equal(s.end_code, 0);
    assert_int_equal(s.sent, 2);
    assert_true(s.chunks > 2); /* the keepalives were handed on too */
    lh_mux_destroy(m);
}

static void test_the_mux_streams(void **state)
{
    lh_mux *m = lh_test_stack_mux(*state);
    mux_seen s = {0};
    mux_count(m, &s, 12, 60, 300); /* 720 ms in all, never silent 300 */
    WAIT_FOR(&s, s.ends);
    assert_int_equal(s.ends, 1);
    assert_int_equal(s.end_code, 0);
    assert_int_equal(s.chunks, 12);
    assert_int_equal(s.sent, 12);
    assert_int_equal(lh_mux_pending(m), 0);
    lh_mux_destroy(m);
}

static void test_the_mux_cancels(void **state)
{
    lh_mux *m = lh_test_stack_mux(*state);
    mux_seen s = {0};
    int before = atomic_load(&g_cancelled);
    uint64_t h = mux_count(m, &s, 200, 10, 5000);
    WAIT_FOR(&s, s.chunks >= 3);
    lh_mux_cancel(m, h);
    lh_mux_cancel(m, h); /* twice is once */
    WAIT_FOR(&s, s.ends);
    for (int i = 0; i < 100 && atomic_load(&g_cancelled) == before; i++)
        sleep_ms(50);
    assert_int_equal(atomic_load(&g_cancelled), before + 1);
    sleep_ms(100); /* whatever was still on its way must not come through */
    pthread_mutex_lock(&s.mu);
    assert_int_equal(s.ends, 1);
    assert_int_equal(s.end_code, LH_ECANCELED);
    assert_int_equal(s.chunks_after_end, 0);
    assert_true(s.chunks < 200);
    pthread_mutex_unlock(&s.mu);
    assert_int_equal(lh_mux_pending(m), 0);
    lh_mux_destroy(m);
}

static void test_the_mux_cancels_before_the_stream_opens(void **state)
{
    lh_mux *m = lh_test_stack_mux(*state);
    mux_seen s = {0};
    int before = atomic_load(&g_cancelled);
    uint64_t h = mux_count(m, &s, 200, 10, 5000);
    lh_mux_cancel(m, h); /* most likely before its opening message is back */
    WAIT_FOR(&s, s.ends);
    assert_int_equal(s.end_code, LH_ECANCELED);
    /* the responder is still told, once its control subject is known */
    for (int i = 0; i < 100 && atomic_load(&g_cancelled) == before; i++)
        sleep_ms(50);
    assert_int_equal(atomic_load(&g_cancelled), before + 1);
    for (int i = 0; i < 100 && lh_mux_pending(m); i++)
        sleep_ms(20);
    assert_int_equal(lh_mux_pending(m), 0);
    assert_int_equal(s.chunks_after_end, 0);
    lh_mux_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunks_in_order_then_the_reply),
        cmocka_unit_test(test_an_error_ends_the_stream),
        cmocka_unit_test(test_a_plain_request_gets_one_reply),
        cmocka_unit_test(test_a_talking_stream_outlives_the_idle_deadline),
        cmocka_unit_test(test_a_silent_stream_times_out),
        cmocka_unit_test(test_keepalives_keep_a_quiet_stream),
        cmocka_unit_test(test_a_requester_that_stops_cancels),
        cmocka_unit_test(test_the_mux_streams),
        cmocka_unit_test(test_the_mux_keeps_a_quiet_stream),
        cmocka_unit_test(test_the_mux_cancels),
        cmocka_unit_test(test_the_mux_cancels_before_the_stream_opens),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
