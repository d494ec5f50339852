/*
 * test_observer.c — observerd reading the log back (observer.events, GET
 * /v1/events, `lakehouse events`) on a real nats-server with JetStream:
 * 1,000 events read back in order from sequence 1, in pages, from a time;
 * filtered by type, actor and request id; an empty log; and bad input (a
 * malformed time, both starts, a type or actor that is not one, limits
 * out of range), each a 400 naming the field; following the log (over the
 * bus and as SSE) as it grows, and a stopping observerd ending its
 * followers; observer.stats counting each
 * event once, with time histograms, across a restart of observerd. And
 * RFC 3339 reading itself.
 */
#include "tests/support/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <pthread.h>

#include "actors/observer/observer.h"
#include "bus/actor.h"
#include "bus/clock.h"
#include "bus/events.h"
#include "bus/json.h"
#include "bus/log.h"
#include "bus/mux.h"
#include "bus/stream.h"
#include "gateway/gateway.h"
#include "schemas/observer.h"
#include "schemas/vector.h"

#define T_NOTHING(F, T) F(T, n, INT, .doc = "Nothing.")
LH_SCHEMA_DECLARE(t_nothing, T_NOTHING)
LH_SCHEMA_DEFINE(t_nothing, T_NOTHING, "Nothing.")

static lh_err *nothing(lh_ctx *ctx, const void *request, void *reply)
{
    (void)ctx, (void)request, (void)reply;
    return NULL;
}

static const lh_contract t_nop = {"telld", "nop", "test.nop", &t_nothing_schema,
                                  &t_nothing_schema, "Nothing."};
/* telld's own events (an actor tells only its own) */
static const lh_event_contract t_upserted = {"telld", "upserted", "events.telld.upserted",
                                             &lh_vector_items_event_schema, "Counted."};
static const lh_event_contract t_deleted = {"telld", "deleted", "events.telld.deleted",
                                            &lh_vector_items_event_schema, "Counted."};
static const lh_endpoint_def t_endpoints[] = {{&t_nop, nothing}};
static const lh_actor_def t_actor = {
    .name = "telld",
    .version = "0.0.1",
    .description = "Tells events under test.",
    .endpoints = t_endpoints,
    .n_endpoints = 1,
};

#define T_TIMED(F, T) F(T, ms, FLOAT, .doc = "How long it took.")
LH_SCHEMA_DECLARE(t_timed, T_TIMED)
LH_SCHEMA_DEFINE(t_timed, T_TIMED, "A timed event.")
static const lh_event_contract t_timed_ev = {"telld", "timed", "events.telld.timed",
                                             &t_timed_schema, "Timed."};

static const lh_actor_def *const ACTORS[] = {&t_actor, &lh_observer_actor, &lh_gateway_actor,
                                             NULL};

static int setup(void **state)
{
    *state = lh_test_stack_new(&(lh_test_stack_opts){.actors = ACTORS});
    return 0;
}

/* Tells events n numbered from `from` (items = the number), as `rid`. */
static void tell(lh_test_stack *f, int from, int n, const char *rid, const lh_event_contract *ev)
{
    lh_actor *a = lh_test_stack_actor(f, &t_actor);
    lh_log_set_request_id(rid);
    for (int i = from; i < from + n; i++) {
        lh_vector_items_event e = {.index = {"kb", 2}};
        LH_SET(&e, items, i);
        if (i + 1 == from + n)
            assert_true(lh_event_emit_acked(a, ev, &e)); /* and so all before it */
        else
            lh_event_emit(a, ev, &e);
    }
    lh_log_set_request_id(NULL);
}

static json_t *events(lh_test_stack *f, const char *json)
{
    return lh_test_ok(lh_test_call_s(f->nc, &lh_ep_observer_events, json));
}

static int64_t int_at(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static json_t *ev_at(json_t *rep, size_t i) { return json_array_get(json_object_get(rep, "events"), i); }

static size_t n_events(json_t *rep) { return json_array_size(json_object_get(rep, "events")); }

static void test_an_empty_log(void **state)
{
    json_t *rep = events(*state, "{}");
    assert_int_equal(n_events(rep), 0);
    assert_int_equal(int_at(rep, "next_seq"), 1);
    assert_true(json_is_false(json_object_get(rep, "more")));
    json_decref(rep);
}

static void test_a_thousand_events_in_order_and_in_pages(void **state)
{
    lh_test_stack *f = *state;
    tell(f, 0, 1000, NULL, &t_upserted);
    json_t *rep = events(f, "{\"limit\":1000}");
    assert_int_equal(n_events(rep), 1000);
    for (size_t i = 0; i < 1000; i++) {
        json_t *e = ev_at(rep, i);
        assert_int_equal(int_at(e, "seq"), (int64_t)i + 1);
        assert_int_equal(int_at(json_object_get(e, "data"), "items"), (int64_t)i);
        assert_string_equal(json_string_value(json_object_get(e, "type")), "telld.upserted");
        assert_string_equal(json_string_value(json_object_get(e, "actor")), "telld");
    }
    assert_true(json_is_false(json_object_get(rep, "more")));
    assert_int_equal(int_at(rep, "next_seq"), 1001);
    json_decref(rep);
    /* pages: each says where the next begins */
    int64_t seq = 1, seen = 0;
    for (bool more = true; more;) {
        char q[64];
        snprintf(q, sizeof q, "{\"since_seq\":%lld,\"limit\":300}", (long long)seq);
        rep = events(f, q);
        for (size_t i = 0; i < n_events(rep); i++)
            assert_int_equal(int_at(json_object_get(ev_at(rep, i), "data"), "items"), seen++);
        more = json_is_true(json_object_get(rep, "more"));
        seq = int_at(rep, "next_seq");
        json_decref(rep);
    }
    assert_int_equal(seen, 1000);
}

static void test_from_a_time(void **state)
{
    lh_test_stack *f = *state;
    tell(f, 0, 500, NULL, &t_upserted);
    lh_test_sleep_ms(50);
    char t[LH_RFC3339_MAX];
    lh_clock_rfc3339(t, sizeof t, 9);
    lh_test_sleep_ms(50);
    tell(f, 500, 500, NULL, &t_upserted);
    char q[128];
    snprintf(q, sizeof q, "{\"since_time\":\"%s\",\"limit\":1000}", t);
    json_t *rep = events(f, q);
    assert_int_equal(n_events(rep), 500);
    assert_int_equal(int_at(ev_at(rep, 0), "seq"), 501);
    assert_int_equal(int_at(json_object_get(ev_at(rep, 499), "data"), "items"), 999);
    json_decref(rep);
}

static void test_filters(void **state)
{
    lh_test_stack *f = *state;
    tell(f, 0, 10, "rid-a", &t_upserted);
    tell(f, 10, 5, "rid-b", &t_deleted);
    tell(f, 15, 10, "rid-a", &t_upserted);
    json_t *rep = events(f, "{\"type\":\"telld.deleted\"}");
    assert_int_equal(n_events(rep), 5);
    assert_int_equal(int_at(ev_at(rep, 0), "seq"), 11);
    json_decref(rep);
    rep = events(f, "{\"request_id\":\"rid-a\",\"limit\":15}");
    assert_int_equal(n_events(rep), 15);
    assert_int_equal(int_at(ev_at(rep, 10), "seq"), 16); /* rid-b's skipped over */
    json_decref(rep);
    rep = events(f, "{\"actor\":\"telld\",\"since_seq\":20}");
    assert_int_equal(n_events(rep), 6);
    json_decref(rep);
    rep = events(f, "{\"actor\":\"catalogd\"}"); /* nobody else told anything */
    assert_int_equal(n_events(rep), 0);
    json_decref(rep);
    rep = events(f, "{\"actor\":\"telld\",\"type\":\"catalogd.committed\"}"); /* cannot both be */
    assert_int_equal(n_events(rep), 0);
    json_decref(rep);
}

static void test_bad_requests_are_refused(void **state)
{
    lh_test_stack *f = *state;
    tell(f, 0, 3, NULL, &t_upserted);
    static const struct {
        const char *json, *field, *words;
    } bad[] = {
        {"{\"since_time\":\"yesterday\"}", "since_time", "RFC 3339"},
        {"{\"since_time\":\"2026-02-30T00:00:00Z\"}", "since_time", "RFC 3339"},
        {"{\"since_time\":\"2026-12-03T10:00:00\"}", "since_time", "RFC 3339"}, /* no zone */
        {"{\"since_seq\":1,\"since_time\":\"2026-12-03T10:00:00Z\"}", "since_time", "not both"},
        {"{\"since_seq\":0}", "since_seq", NULL},
        {"{\"type\":\"committed\"}", "type", "<actor>.<event>"},
        {"{\"type\":\"catalogd.>\"}", "type", NULL},
        {"{\"actor\":\"a.b\"}", "actor", NULL},
        {"{\"actor\":\"*\"}", "actor", NULL},
        {"{\"limit\":0}", "limit", NULL},
        {"{\"limit\":1001}", "limit", NULL},
        {"{\"bogus\":1}", "bogus", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        lh_test_expect(lh_test_call_s(f->nc, &lh_ep_observer_events, bad[i].json), 400,
                       bad[i].field, bad[i].words);
    json_t *rep = events(f, "{}"); /* and observerd still answers */
    assert_int_equal(n_events(rep), 3);
    json_decref(rep);
}

static void test_over_http_and_the_command(void **state)
{
    lh_test_stack *f = *state;
    tell(f, 0, 3, "rid-http", &t_upserted);
    lh_test_response r = lh_test_fetch(f->http_port, "GET", "/v1/events?since_seq=2&limit=5",
                                       NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(n_events(r.json), 2);
    assert_int_equal(int_at(ev_at(r.json, 0), "seq"), 2);
    lh_test_response_free(&r);
    r = lh_test_fetch(f->http_port, "GET", "/v1/events?since_time=soon", NULL, NULL, 0);
    assert_int_equal(r.status, 400);
    lh_test_response_free(&r);
    char log[700];
    snprintf(log, sizeof log, "%s/cli.log", f->nats.dir);
    char *const argv[] = {LH_BINARY, "events", "tail", "--from", "2", "--limit", "1", NULL};
    assert_int_equal(lh_test_stack_run(f, argv, log, 60000), 0);
    char *out = lh_test_read_file(log, NULL);
    assert_non_null(strstr(out, "telld.upserted"));
    assert_non_null(strstr(out, "rid-http"));
    assert_non_null(strstr(out, "\"items\":1"));
    assert_non_null(strstr(out, "(more: --from 3)"));
    free(out);
    char *const bogus[] = {LH_BINARY, "events", "head", NULL}; /* only `tail` is a word */
    assert_int_equal(lh_test_stack_run(f, bogus, log, 60000), 2);
    out = lh_test_read_file(log, NULL);
    assert_non_null(strstr(out, "unexpected argument 'head'"));
    free(out);
}

/* ---- following ---- */

typedef struct followed {
    int64_t items[16];
    size_t n;
} followed;

static bool take_event(void *user, const void *chunk)
{
    followed *fl = user;
    const lh_observer_event *e = chunk;
    lh_arena *arena = lh_arena_create();
    lh_vector_items_event *d = NULL;
    assert_null(lh_schema_decode_reply(&lh_vector_items_event_schema, e->data.data, e->data.len,
                                       arena, (void **)&d));
    if (fl->n < 16)
        fl->items[fl->n] = d->items;
    fl->n++;
    lh_arena_destroy(arena);
    return true;
}

typedef struct later {
    lh_test_stack *f;
    int from, n;
} later;

static void *tell_later(void *arg)
{
    later *l = arg;
    lh_test_sleep_ms(300); /* after the follower has caught up with what was there */
    tell(l->f, l->from, l->n, "rid-later", &t_upserted);
    return NULL;
}

static void test_following_the_log(void **state)
{
    lh_test_stack *f = *state;
    tell(f, 0, 2, NULL, &t_upserted);
    later l = {f, 2, 3};
    pthread_t t;
    pthread_create(&t, NULL, tell_later, &l);
    lh_observer_events_request req = {0};
    LH_SET(&req, follow, true);
    LH_SET(&req, limit, 5);
    followed fl = {0};
    lh_arena *arena = lh_arena_create();
    lh_observer_events_reply *rep = NULL;
    lh_err *err = lh_call_stream(lh_test_stack_conn(f), &lh_ep_observer_events, &req,
                                 &lh_observer_event_schema, take_event, &fl, arena,
                                 (void **)&rep, 10000);
    pthread_join(t, NULL);
    if (err)
        fail_msg("%s", lh_err_message(err));
    assert_int_equal(fl.n, 5); /* the two there, then the three as they happened */
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(fl.items[i], (int64_t)i);
    assert_int_equal(rep->next_seq, 6);
    lh_arena_destroy(arena);
    /* a plain request cannot follow */
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_observer_events, "{\"follow\":true}"), 400,
                   "follow", "streamed request");
}

static size_t hang_up_after_two(char *data, size_t size, size_t n, void *user)
{
    lh_buf *got = user;
    lh_buf_append(got, data, size * n);
    size_t events = 0;
    for (const char *p = lh_buf_cstr(got); (p = strstr(p, "data: ")); p += 6)
        events++;
    return events >= 2 ? 0 : size * n; /* 0: libcurl hangs up */
}

static void test_following_over_http(void **state)
{
    lh_test_stack *f = *state;
    tell(f, 0, 2, "rid-sse", &t_upserted);
    char url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/events?follow=true&type=telld.upserted",
             f->http_port);
    CURL *h = curl_easy_init();
    lh_buf got;
    lh_buf_init(&got);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, hang_up_after_two);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &got);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
    assert_int_equal(curl_easy_perform(h), CURLE_WRITE_ERROR);
    long status = 0;
    char *ct = NULL;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
    assert_int_equal(status, 200);
    assert_string_equal(ct, "text/event-stream");
    curl_easy_cleanup(h);
    assert_non_null(strstr(lh_buf_cstr(&got), "\"seq\":1,"));
    assert_non_null(strstr(lh_buf_cstr(&got), "\"seq\":2,"));
    assert_non_null(strstr(lh_buf_cstr(&got), "rid-sse"));
    lh_buf_free(&got);
}

typedef struct ended {
    pthread_mutex_t mu;
    int ends, code, chunks;
} ended;

static void ended_chunk(void *user, natsMsg *msg)
{
    (void)msg;
    ended *e = user;
    pthread_mutex_lock(&e->mu);
    e->chunks++;
    pthread_mutex_unlock(&e->mu);
}

static void ended_end(void *user, lh_err *err, natsMsg *msg)
{
    (void)msg;
    ended *e = user;
    pthread_mutex_lock(&e->mu);
    e->ends++;
    e->code = err ? lh_err_code(err) : 0;
    pthread_mutex_unlock(&e->mu);
}

static void test_a_stopping_observer_ends_its_followers(void **state)
{
    lh_test_stack *f = *state;
    tell(f, 0, 1, NULL, &t_upserted);
    lh_mux *m = lh_test_stack_mux(f);
    ended e = {.mu = PTHREAD_MUTEX_INITIALIZER};
    static const char body[] = "{\"follow\":true}";
    uint64_t h;
    assert_null(lh_mux_stream(m, lh_ep_observer_events.subject, body, strlen(body), NULL, 10000,
                              ended_chunk, ended_end, &e, &h));
    /* and one whose filter nothing can match: it waits all the same */
    ended none = {.mu = PTHREAD_MUTEX_INITIALIZER};
    static const char never[] =
        "{\"follow\":true,\"actor\":\"telld\",\"type\":\"catalogd.committed\"}";
    assert_null(lh_mux_stream(m, lh_ep_observer_events.subject, never, strlen(never), NULL,
                              10000, ended_chunk, ended_end, &none, &h));
    for (int i = 0; i < 400; i++) {
        pthread_mutex_lock(&e.mu);
        int chunks = e.chunks;
        pthread_mutex_unlock(&e.mu);
        if (chunks)
            break;
        lh_test_sleep_ms(10);
    }
    lh_test_stack_drop(f, &lh_observer_actor); /* returns: its follower stops */
    for (int i = 0; i < 400; i++) {
        pthread_mutex_lock(&e.mu);
        pthread_mutex_lock(&none.mu);
        int ends = e.ends + none.ends;
        pthread_mutex_unlock(&none.mu);
        pthread_mutex_unlock(&e.mu);
        if (ends == 2)
            break;
        lh_test_sleep_ms(10);
    }
    assert_int_equal(none.chunks, 0);
    assert_int_equal(none.ends, 1);
    assert_int_equal(none.code, LH_EUNAVAILABLE);
    assert_int_equal(e.chunks, 1);
    assert_int_equal(e.ends, 1);
    assert_int_equal(e.code, LH_EUNAVAILABLE); /* "observerd is stopping" */
    lh_mux_destroy(m);
}

/* ---- replay ---- */

static void test_replay_to_a_subject(void **state)
{
    lh_test_stack *f = *state;
    tell(f, 0, 10, NULL, &t_upserted);
    tell(f, 10, 5, NULL, &t_deleted);
    tell(f, 15, 10, NULL, &t_upserted);
    natsSubscription *sub = NULL;
    assert_int_equal(natsConnection_SubscribeSync(&sub, f->nc, "replay.out"), NATS_OK);
    natsSubscription_SetPendingLimits(sub, -1, -1);
    natsConnection_Flush(f->nc);
    json_t *rep = lh_test_ok(lh_test_call_s(
        f->nc, &lh_ep_observer_replay,
        "{\"to_subject\":\"replay.out\",\"type\":\"telld.upserted\",\"from_seq\":5}"));
    assert_int_equal(int_at(rep, "replayed"), 16); /* seqs 5..10 and 16..25 */
    assert_int_equal(int_at(rep, "next_seq"), 26);
    json_decref(rep);
    int64_t last = 0;
    for (int i = 0; i < 16; i++) {
        natsMsg *m = NULL;
        assert_int_equal(natsSubscription_NextMsg(&m, sub, 5000), NATS_OK);
        const char *seq = NULL, *subject = NULL;
        assert_int_equal(natsMsgHeader_Get(m, "Lh-Replay-Seq", &seq), NATS_OK);
        assert_int_equal(natsMsgHeader_Get(m, "Lh-Event-Subject", &subject), NATS_OK);
        assert_string_equal(subject, "events.telld.upserted");
        assert_true(atoll(seq) > last); /* in order */
        last = atoll(seq);
        lh_arena *arena = lh_arena_create();
        lh_event_envelope *env = NULL;
        void *data = NULL;
        assert_null(lh_event_decode(&t_upserted, natsMsg_GetData(m),
                                    (size_t)natsMsg_GetDataLength(m), arena, &env, &data));
        assert_int_equal(((lh_vector_items_event *)data)->items, last - 1);
        lh_arena_destroy(arena);
        natsMsg_Destroy(m);
    }
    natsMsg *end = NULL; /* then the end, which says as much */
    assert_int_equal(natsSubscription_NextMsg(&end, sub, 5000), NATS_OK);
    const char *flag = NULL;
    assert_int_equal(natsMsgHeader_Get(end, "Lh-Replay-End", &flag), NATS_OK);
    natsMsg_Destroy(end);
    /* batched: the same 16 in pages of 7, 7 and 2, each an observer.events page */
    rep = lh_test_ok(lh_test_call_s(f->nc, &lh_ep_observer_replay,
                                    "{\"to_subject\":\"replay.out\",\"type\":\"telld.upserted\","
                                    "\"from_seq\":5,\"batch\":7}"));
    assert_int_equal(int_at(rep, "replayed"), 16);
    json_decref(rep);
    static const int sizes[] = {7, 7, 2};
    int64_t want = 5;
    for (int i = 0; i < 3; i++) {
        natsMsg *m = NULL;
        assert_int_equal(natsSubscription_NextMsg(&m, sub, 5000), NATS_OK);
        const char *count = NULL, *first = NULL;
        assert_int_equal(natsMsgHeader_Get(m, "Lh-Replay-Batch", &count), NATS_OK);
        assert_int_equal(atoi(count), sizes[i]);
        assert_int_equal(natsMsgHeader_Get(m, "Lh-Replay-Seq", &first), NATS_OK);
        lh_buf text;
        lh_buf_init(&text);
        assert_null(lh_msgpack_to_json(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m),
                                       &text));
        json_t *page = json_loads(lh_buf_cstr(&text), 0, NULL);
        json_t *evs = json_object_get(page, "events");
        assert_int_equal(json_array_size(evs), sizes[i]);
        assert_int_equal(int_at(json_array_get(evs, 0), "seq"), atoll(first));
        for (size_t k = 0; k < json_array_size(evs); k++) {
            json_t *e = json_array_get(evs, k);
            assert_int_equal(int_at(e, "seq"), want);
            assert_int_equal(int_at(json_object_get(e, "data"), "items"), want - 1);
            assert_string_equal(json_string_value(json_object_get(e, "type")), "telld.upserted");
            want = want == 10 ? 16 : want + 1; /* 11..15 are telld.deleted */
        }
        assert_true(json_is_boolean(json_object_get(page, "more")));
        assert_int_equal(json_is_true(json_object_get(page, "more")), i < 2);
        json_decref(page);
        lh_buf_free(&text);
        natsMsg_Destroy(m);
    }
    assert_int_equal(natsSubscription_NextMsg(&end, sub, 5000), NATS_OK);
    assert_int_equal(natsMsgHeader_Get(end, "Lh-Replay-End", &flag), NATS_OK);
    natsMsg_Destroy(end);
    natsSubscription_Destroy(sub);
    /* refused before anything is sent */
    static const struct {
        const char *json, *field;
    } bad[] = {
        {"{\"to_subject\":\"events.again\"}", "to_subject"},
        {"{\"to_subject\":\"$JS.API.x\"}", "to_subject"},
        {"{\"to_subject\":\"out.*\"}", "to_subject"},
        {"{\"to_subject\":\"out..x\"}", "to_subject"},
        {"{\"to_subject\":\"out\",\"from_time\":\"then\"}", "from_time"},
        {"{\"to_subject\":\"out\",\"type\":\"x\"}", "type"},
        {"{\"to_subject\":\"out\",\"batch\":0}", "batch"},
        {"{\"to_subject\":\"out\",\"batch\":1001}", "batch"},
        {"{}", "to_subject"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        lh_test_expect(lh_test_call_s(f->nc, &lh_ep_observer_replay, bad[i].json), 400,
                       bad[i].field, NULL);
}

/* ---- observer.stats ---- */

static void tell_timed(lh_test_stack *f, int n, double ms)
{
    lh_actor *a = lh_test_stack_actor(f, &t_actor);
    for (int i = 0; i < n; i++) {
        t_timed e = {.ms = ms};
        if (i + 1 == n)
            assert_true(lh_event_emit_acked(a, &t_timed_ev, &e));
        else
            lh_event_emit(a, &t_timed_ev, &e);
    }
}

/* observer.stats once every event in the log is counted. */
static json_t *settled_stats(lh_test_stack *f)
{
    for (int i = 0; i < 400; i++) {
        json_t *rep = lh_test_ok(lh_test_call_s(f->nc, &lh_ep_observer_stats, "{}"));
        if (int_at(rep, "lag") == 0 && int_at(rep, "log_seq") > 0)
            return rep;
        json_decref(rep);
        lh_test_sleep_ms(25);
    }
    fail_msg("observerd did not catch up with the log");
    return NULL;
}

static json_t *type_stats(json_t *rep, const char *type)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(rep, "types"), i, t)
        if (!strcmp(json_string_value(json_object_get(t, "type")), type))
            return t;
    return NULL;
}

static void test_stats_count_once_across_restarts(void **state)
{
    lh_test_stack *f = *state;
    tell_timed(f, 50, 3.0);
    tell(f, 0, 20, NULL, &t_upserted);
    json_t *rep = settled_stats(f);
    json_t *timed = type_stats(rep, "telld.timed");
    assert_int_equal(int_at(timed, "count"), 50);
    assert_string_equal(json_string_value(json_object_get(timed, "actor")), "telld");
    assert_int_equal(int_at(timed, "ms_count"), 50);
    assert_float_equal(json_real_value(json_object_get(timed, "ms_sum")), 150.0, 1e-9);
    json_t *bucket = json_array_get(json_object_get(timed, "ms_buckets"), 5); /* (2.5, 5] */
    assert_float_equal(json_real_value(json_object_get(bucket, "le_ms")), 5.0, 0);
    assert_int_equal(int_at(bucket, "count"), 50);
    assert_int_equal(int_at(type_stats(rep, "telld.upserted"), "count"), 20);
    assert_int_equal(int_at(type_stats(rep, "telld.upserted"), "ms_count"), 0);
    assert_int_equal(int_at(rep, "counted_seq"), 70);
    bool telld_seen = false;
    const char *key;
    json_t *doc;
    json_object_foreach(json_object_get(rep, "services"), key, doc)
        telld_seen = telld_seen || !strncmp(key, "telld.", 6);
    assert_true(telld_seen); /* every actor's own $SRV.STATS beside the log's counts */
    json_decref(rep);
    /* observerd away while more happens: it catches up, and counts nothing twice */
    lh_test_stack_drop(f, &lh_observer_actor);
    tell_timed(f, 30, 3.0);
    lh_test_stack_add(f, &lh_observer_actor, 2);
    rep = settled_stats(f);
    assert_int_equal(int_at(type_stats(rep, "telld.timed"), "count"), 80);
    assert_int_equal(int_at(type_stats(rep, "telld.upserted"), "count"), 20);
    assert_int_equal(int_at(rep, "counted_seq"), 100);
    json_decref(rep);
    lh_test_response r = lh_test_fetch(f->http_port, "GET", "/v1/observer/stats", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(int_at(type_stats(r.json, "telld.timed"), "count"), 80);
    lh_test_response_free(&r);
}

static void test_rfc3339(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t ns;
    } good[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2000-03-01T00:00:00Z", 951868800LL * 1000000000},
        {"2024-02-29T23:59:59Z", 1709251199LL * 1000000000},
        {"2026-12-03T15:00:00.5+01:00", 1796306400LL * 1000000000 + 500000000},
        {"2026-12-03t16:00:00.000000001z", 1796313600LL * 1000000000 + 1},
        {"1969-12-31 23:59:59Z", -1000000000},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t ns = 0;
        assert_true(lh_clock_parse_rfc3339(good[i].s, strlen(good[i].s), &ns));
        assert_int_equal(ns, good[i].ns);
    }
    static const char *const bad[] = {"", "2026-12-03", "2026-13-01T00:00:00Z",
                                      "2025-02-29T00:00:00Z", "2026-12-03T24:00:00Z",
                                      "2026-12-03T10:00:00.Z", "2026-12-03T10:00:00+1:00",
                                      "2026-12-03T10:00:00Zjunk", "x026-12-03T10:00:00Z",
                                      /* past what 64-bit nanoseconds hold */
                                      "2999-01-01T00:00:00Z", "1000-01-01T00:00:00Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ns;
        if (lh_clock_parse_rfc3339(bad[i], strlen(bad[i]), &ns))
            fail_msg("'%s' was read as a time", bad[i]);
    }
    /* what lh_clock_rfc3339 writes, it reads */
    char now[LH_RFC3339_MAX];
    lh_clock_rfc3339(now, sizeof now, 9);
    int64_t ns;
    assert_true(lh_clock_parse_rfc3339(now, strlen(now), &ns));
    assert_true(ns / 1000000000 - lh_clock_unix_s() <= 1 &&
                lh_clock_unix_s() - ns / 1000000000 <= 1);
    /* and any time formatted reads back as itself */
    static const int64_t times[] = {0, -1, 1796306400LL * 1000000000 + 123000000,
                                    -86400LL * 1000000000 + 999000000};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        char t[LH_RFC3339_MAX];
        lh_clock_format_rfc3339(times[i], t, sizeof t, 9);
        assert_true(lh_clock_parse_rfc3339(t, strlen(t), &ns));
        assert_int_equal(ns, times[i]);
    }
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, lh_test_stack_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339),
        T(test_an_empty_log),
        T(test_a_thousand_events_in_order_and_in_pages),
        T(test_from_a_time),
        T(test_filters),
        T(test_bad_requests_are_refused),
        T(test_over_http_and_the_command),
        T(test_stats_count_once_across_restarts),
        T(test_following_the_log),
        T(test_following_over_http),
        T(test_a_stopping_observer_ends_its_followers),
        T(test_replay_to_a_subject),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
