/*
 * test_events.c — the platform's log (bus/events.h, bus/event_log.h) on a
 * real nats-server with JetStream: the EVENTS stream exists with its
 * limits and its duplicate window; a real actor's state change lands in
 * it in its envelope, readable back by sequence; each actor's events keep
 * their order; events emitted while nats-server is down are retried and
 * each arrives exactly once after it comes back; a publish repeated with
 * the same id is kept once; the actor's $SRV.STATS counts them; and a
 * run through every actor tells every kind of event with its contract's
 * fields.
 */
#include "tests/support/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/catalog/catalog.h"
#include "actors/chat/chat.h"
#include "actors/embed/embed.h"
#include "actors/ingest/ingest.h"
#include "actors/matrix/matrix.h"
#include "actors/query/query.h"
#include "actors/storage/storage.h"
#include "actors/vector/vector.h"
#include "bus/actor.h"
#include "bus/events.h"
#include "bus/json.h"
#include "bus/log.h"
#include "schemas/catalog.h"
#include "schemas/chat.h"
#include "schemas/ingest.h"
#include "schemas/query.h"
#include "schemas/storage.h"
#include "schemas/vector.h"

#define T_EVENTS_REQUEST(F, T) F(T, n, INT, .doc = "How many events to tell.")
LH_SCHEMA_DECLARE(t_events_request, T_EVENTS_REQUEST)
LH_SCHEMA_DEFINE(t_events_request, T_EVENTS_REQUEST, "Tell n events.")

static const lh_contract t_tell = {"telld", "tell", "test.tell", &t_events_request_schema,
                                   &t_events_request_schema, "Tell events."};
/* telld's own event (an actor tells only its own) */
static const lh_event_contract t_counted = {"telld", "counted", "events.telld.counted",
                                            &lh_vector_items_event_schema, "Counted."};

static lh_err *tell_handler(lh_ctx *ctx, const void *request, void *reply)
{
    (void)ctx, (void)request, (void)reply;
    return NULL;
}

static const lh_endpoint_def t_endpoints[] = {{&t_tell, tell_handler}};
static const lh_actor_def t_actor = {
    .name = "telld",
    .version = "0.0.1",
    .description = "Tells events under test.",
    .endpoints = t_endpoints,
    .n_endpoints = 1,
};

static const lh_actor_def *const ACTORS[] = {&t_actor, &lh_catalog_actor, NULL};

static int setup(void **state)
{
    *state = lh_test_stack_new(&(lh_test_stack_opts){.actors = ACTORS});
    return 0;
}

/* ---- reading the stream back ---- */

static jsCtx *js_of(lh_test_stack *f)
{
    jsCtx *js = NULL;
    assert_int_equal(natsConnection_JetStream(&js, f->nc, NULL), NATS_OK);
    return js;
}

static uint64_t stream_count(lh_test_stack *f)
{
    jsCtx *js = js_of(f);
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    uint64_t n = 0;
    if (js_GetStreamInfo(&si, js, LH_EVENTS_STREAM, NULL, &jerr) == NATS_OK)
        n = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
    return n;
}

/* Message `seq` of the stream as JSON (the envelope), or NULL. */
static json_t *stream_msg(lh_test_stack *f, uint64_t seq, char *subject, size_t cap)
{
    jsCtx *js = js_of(f);
    natsMsg *m = NULL;
    jsErrCode jerr = 0;
    json_t *j = NULL;
    if (js_GetMsg(&m, js, LH_EVENTS_STREAM, seq, NULL, &jerr) == NATS_OK) {
        lh_buf b;
        lh_buf_init(&b);
        assert_null(lh_msgpack_to_json(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &b));
        j = json_loadb(b.data, b.len, 0, NULL);
        snprintf(subject, cap, "%s", natsMsg_GetSubject(m));
        lh_buf_free(&b);
    }
    natsMsg_Destroy(m);
    jsCtx_Destroy(js);
    return j;
}

static void wait_count(lh_test_stack *f, uint64_t want)
{
    for (int i = 0; i < 600 && stream_count(f) < want; i++)
        lh_test_sleep_ms(50);
    assert_int_equal(stream_count(f), want);
}

static const char *str_at(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* ---- tests ---- */

static void test_the_stream_and_its_limits(void **state)
{
    lh_test_stack *f = *state;
    lh_actor *a = lh_test_stack_actor(f, &t_actor);
    lh_vector_items_event ev = {.index = {"kb", 2}};
    assert_true(lh_event_emit_acked(a, &t_counted, &ev)); /* makes the stream */
    jsCtx *js = js_of(f);
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    assert_int_equal(js_GetStreamInfo(&si, js, LH_EVENTS_STREAM, NULL, &jerr), NATS_OK);
    assert_int_equal(si->Config->SubjectsLen, 1);
    assert_string_equal(si->Config->Subjects[0], "events.>");
    assert_int_equal(si->Config->MaxAge, (int64_t)7 * 24 * 3600 * 1000000000);
    assert_int_equal(si->Config->MaxBytes, (int64_t)1 << 30);
    assert_int_equal(si->Config->Duplicates, (int64_t)LH_EVENTS_DUPLICATE_WINDOW_S * 1000000000);
    assert_int_equal(si->Config->Storage, js_FileStorage);
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
    /* the settings change: the stream follows them */
    setenv("LH_EVENTS_MAX_AGE_S", "3600", 1);
    lh_err *err = lh_events_ensure_stream(lh_test_stack_conn(f));
    unsetenv("LH_EVENTS_MAX_AGE_S");
    assert_null(err);
    js = js_of(f);
    assert_int_equal(js_GetStreamInfo(&si, js, LH_EVENTS_STREAM, NULL, &jerr), NATS_OK);
    assert_int_equal(si->Config->MaxAge, (int64_t)3600 * 1000000000);
    assert_int_equal(si->State.Msgs, 1); /* kept through the update */
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
}

static void test_an_actors_change_lands_in_the_log(void **state)
{
    lh_test_stack *f = *state;
    static const char body[] = "{\"name\":\"trips\",\"format\":\"csv\"}";
    natsMsg *m = NULL;
    lh_test_reply r = lh_test_call_msg(f->nc, &lh_ep_catalog_create, body, strlen(body),
                                       "rid-log-1", &m);
    assert_int_equal(r.code, 0);
    json_decref(r.body);
    natsMsg_Destroy(m);
    wait_count(f, 1); /* acknowledged before catalog.create answered */
    char subject[128];
    json_t *e = stream_msg(f, 1, subject, sizeof subject);
    assert_non_null(e);
    assert_string_equal(subject, "events.catalogd.created");
    assert_string_equal(str_at(e, "type"), "catalogd.created");
    assert_string_equal(str_at(e, "actor"), "catalogd");
    assert_string_equal(str_at(e, "instance"),
                        lh_actor_id(lh_test_stack_actor(f, &lh_catalog_actor)));
    assert_string_equal(str_at(e, "request_id"), "rid-log-1");
    assert_int_equal(strlen(str_at(e, "id")), 22);
    assert_string_equal(str_at(json_object_get(e, "data"), "name"), "trips");
    json_decref(e);
}

static void emit_counted(lh_actor *a, int from, int n)
{
    for (int i = from; i < from + n; i++) {
        char index[16];
        snprintf(index, sizeof index, "ix%03d", i);
        lh_vector_items_event ev = {.index = {index, strlen(index)}};
        LH_SET(&ev, items, i);
        lh_event_emit(a, &t_counted, &ev);
    }
}

/* Messages 1..n are the events ix<from>.., in order, each once. */
static void assert_in_order(lh_test_stack *f, int n)
{
    char subject[128], seen[256][32];
    for (int i = 0; i < n; i++) {
        json_t *e = stream_msg(f, (uint64_t)i + 1, subject, sizeof subject);
        assert_non_null(e);
        json_t *data = json_object_get(e, "data");
        assert_int_equal(json_integer_value(json_object_get(data, "items")), i);
        snprintf(seen[i], sizeof seen[i], "%s", str_at(e, "id"));
        for (int k = 0; k < i; k++)
            assert_string_not_equal(seen[k], seen[i]);
        json_decref(e);
    }
}

static void test_events_keep_their_order(void **state)
{
    lh_test_stack *f = *state;
    emit_counted(lh_test_stack_actor(f, &t_actor), 0, 200);
    wait_count(f, 200);
    assert_in_order(f, 200);
}

static void test_events_outlive_a_server_restart(void **state)
{
    lh_test_stack *f = *state;
    lh_actor *a = lh_test_stack_actor(f, &t_actor);
    emit_counted(a, 0, 5);
    wait_count(f, 5); /* the stream exists, on disk */
    lh_test_nats_stop(&f->nats);
    emit_counted(a, 5, 20); /* the server is gone: queued, tried, tried again */
    lh_test_sleep_ms(2500); /* longer than a publish waits for its acknowledgement */
    lh_test_nats_start(&f->nats);
    wait_count(f, 25);
    assert_in_order(f, 25); /* none lost, none twice, in order */
    lh_test_sleep_ms(300);
    assert_int_equal(stream_count(f), 25);
    /* and the actor's $SRV.STATS says what happened */
    natsMsg *m = NULL;
    assert_int_equal(natsConnection_RequestString(&m, f->nc, "$SRV.STATS.telld", "", 5000),
                     NATS_OK);
    json_t *doc = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, NULL);
    json_t *ep, *events = NULL;
    size_t i;
    json_array_foreach(json_object_get(doc, "endpoints"), i, ep)
        if (!strcmp(str_at(ep, "name"), "events"))
            events = ep;
    assert_non_null(events);
    assert_string_equal(str_at(events, "subject"), "events.telld.>");
    json_t *data = json_object_get(events, "data");
    assert_int_equal(json_integer_value(json_object_get(data, "published")), 25);
    assert_int_equal(json_integer_value(json_object_get(data, "dropped")), 0);
    assert_int_equal(json_integer_value(json_object_get(data, "pending")), 0);
    assert_true(json_integer_value(json_object_get(data, "retries")) > 0);
    json_decref(doc);
    natsMsg_Destroy(m);
}

static void test_a_repeated_id_is_kept_once(void **state)
{
    lh_test_stack *f = *state;
    lh_actor *a = lh_test_stack_actor(f, &t_actor);
    lh_vector_items_event ev = {.index = {"kb", 2}};
    assert_true(lh_event_emit_acked(a, &t_counted, &ev));
    char subject[128];
    json_t *first = stream_msg(f, 1, subject, sizeof subject);
    jsCtx *js = js_of(f);
    for (int i = 0; i < 2; i++) { /* a retry of a publish that did land */
        natsMsg *m = NULL;
        assert_int_equal(natsMsg_Create(&m, subject, NULL, "x", 1), NATS_OK);
        jsPubOptions o;
        jsPubOptions_Init(&o);
        o.MsgId = str_at(first, "id");
        jsPubAck *ack = NULL;
        jsErrCode jerr = 0;
        assert_int_equal(js_PublishMsg(&ack, js, m, &o, &jerr), NATS_OK);
        assert_true(ack->Duplicate);
        jsPubAck_Destroy(ack);
        natsMsg_Destroy(m);
    }
    jsCtx_Destroy(js);
    assert_int_equal(stream_count(f), 1);
    json_decref(first);
}

static void test_with_events_off_nothing_is_told(void **state)
{
    lh_test_stack *f = *state;
    lh_actor *a = lh_test_stack_actor(f, &t_actor);
    lh_vector_items_event ev = {.index = {"kb", 2}};
    assert_true(lh_event_emit_acked(a, &t_counted, &ev));
    wait_count(f, 1);
    setenv("LH_EVENTS", "off", 1);
    a = lh_test_stack_restart(f, &t_actor, 1);
    unsetenv("LH_EVENTS");
    assert_true(lh_event_emit_acked(a, &t_counted, &ev)); /* nothing to wait for */
    lh_event_emit(a, &t_counted, &ev);
    json_decref(lh_test_ok(lh_test_call_s(f->nc, &t_tell, "{}"))); /* it serves as ever */
    a = lh_test_stack_restart(f, &t_actor, 1); /* on again: the next one lands */
    assert_true(lh_event_emit_acked(a, &t_counted, &ev));
    wait_count(f, 2);
}

/* ---- every kind, from the actors themselves ---- */

static const lh_actor_def *const EVERYONE[] = {
    &lh_storage_actor, &lh_catalog_actor, &lh_embed_actor, &lh_vector_actor, &lh_ingest_actor,
    &lh_query_actor,   &lh_matrix_actor,  &lh_chat_actor,  NULL};

static int setup_everyone(void **state)
{
    *state = lh_test_stack_new(&(lh_test_stack_opts){.actors = EVERYONE});
    return 0;
}

static void ok(lh_test_stack *f, const lh_contract *k, json_t *body)
{
    json_decref(lh_test_ok(lh_test_call_j(f->nc, k, body)));
}

/* Every message of the stream, by type: the last one of each kind. */
static json_t *by_type(lh_test_stack *f)
{
    json_t *kinds = json_object();
    uint64_t n = stream_count(f);
    char subject[128];
    for (uint64_t seq = 1; seq <= n; seq++) {
        json_t *e = stream_msg(f, seq, subject, sizeof subject);
        assert_non_null(e);
        /* every message is an event some contract declares, and reads as it */
        const lh_event_contract *ev = NULL;
        size_t m;
        const lh_event_contract *const *all = lh_events_all(&m);
        for (size_t i = 0; i < m; i++)
            if (!strcmp(all[i]->subject, subject))
                ev = all[i];
        if (!ev)
            fail_msg("%s is declared by no event contract", subject);
        assert_string_equal(str_at(e, "type"), subject + 7);
        json_object_set_new(kinds, str_at(e, "type"), e);
    }
    return kinds;
}

static void test_every_kind_of_event_is_told(void **state)
{
    lh_test_stack *f = *state;
    static const char CSV[] = "id,text\n1,Error E1234 means the disk is full\n"
                              "2,Invoices are sent monthly\n";
    ok(f, &lh_ep_storage_put, json_pack("{s:s, s:s, s:s#}", "bucket", "src", "key", "a.csv",
                                        "data", CSV, sizeof CSV - 1));
    ok(f, &lh_ep_storage_put, json_pack("{s:s, s:s, s:s}", "bucket", "src", "key", "tmp",
                                        "data", "x"));
    ok(f, &lh_ep_storage_delete, json_pack("{s:s, s:s}", "bucket", "src", "key", "tmp"));
    json_t *up = lh_test_ok(lh_test_call_j(f->nc, &lh_ep_storage_upload_begin,
                                           json_pack("{s:s, s:s}", "bucket", "src", "key", "u")));
    ok(f, &lh_ep_storage_upload_abort, json_pack("{s:s}", "upload", str_at(up, "upload")));
    json_decref(up);
    ok(f, &lh_ep_vector_create, json_pack("{s:s, s:i}", "index", "kb", "dimension", 384));
    ok(f, &lh_ep_ingest_file,
       json_pack("{s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:b}", "dataset", "docs", "source",
                 "bucket", "src", "key", "a.csv", "embed", "column", "text", "index", "kb",
                 "id_column", "id", "wait", 1));
    ok(f, &lh_ep_query_sql, json_pack("{s:s}", "sql", "SELECT count(*) FROM docs"));
    ok(f, &lh_ep_chat_complete,
       json_pack("{s:[{s:s, s:s}], s:{s:[s]}}", "messages", "role", "user", "content",
                 "what does E1234 mean?", "retrieve", "corpora", "kb"));
    ok(f, &lh_ep_vector_delete, json_pack("{s:s, s:[s]}", "index", "kb", "ids", "2"));
    ok(f, &lh_ep_vector_drop, json_pack("{s:s}", "index", "kb"));
    ok(f, &lh_ep_catalog_delete, json_pack("{s:s}", "name", "docs"));
    /* the last ones are told as the call ends; give the log a moment to have them all */
    for (int i = 0; i < 100; i++) {
        json_t *k = by_type(f);
        bool all = json_object_get(k, "catalogd.deleted") && json_object_get(k, "queryd.ran") &&
                   json_object_get(k, "chatd.completed");
        json_decref(k);
        if (all)
            break;
        lh_test_sleep_ms(50);
    }
    json_t *k = by_type(f);
    static const char *const kinds[] = {
        "storaged.written", "storaged.deleted",   "storaged.aborted",  "catalogd.created",
        "catalogd.committed", "catalogd.deleted", "ingestd.progress",  "ingestd.finished",
        "vectord.created",  "vectord.upserted",   "vectord.deleted",   "vectord.dropped",
        "queryd.ran",       "chatd.completed"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!json_object_get(k, kinds[i]))
            fail_msg("no %s event", kinds[i]);
#define DATA(type) json_object_get(json_object_get(k, type), "data")
    json_t *fin = DATA("ingestd.finished"); /* what lineage reads: object -> version -> index */
    assert_string_equal(str_at(fin, "state"), "succeeded");
    assert_string_equal(str_at(fin, "bucket"), "src");
    assert_string_equal(str_at(fin, "key"), "a.csv");
    assert_int_equal(strlen(str_at(fin, "sha256")), 64);
    assert_string_equal(str_at(fin, "dataset"), "docs");
    assert_int_equal(json_integer_value(json_object_get(fin, "version")), 1);
    assert_string_equal(str_at(fin, "embed_index"), "kb");
    assert_int_equal(json_integer_value(json_object_get(fin, "rows_embedded")), 2);
    json_t *ran = DATA("queryd.ran");
    assert_int_equal(strlen(str_at(ran, "sql_sha256")), 64);
    json_t *read = json_array_get(json_object_get(ran, "datasets"), 0);
    assert_string_equal(str_at(read, "name"), "docs");
    assert_int_equal(json_integer_value(json_object_get(read, "version")), 1);
    assert_int_equal(json_integer_value(json_object_get(ran, "rows")), 1);
    json_t *chat = DATA("chatd.completed");
    assert_string_equal(str_at(chat, "model"), "extractive");
    assert_int_equal(json_integer_value(json_object_get(chat, "citations")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(chat, "corpora"), 0)),
                        "kb"); /* lineage: which index fed the answer */
    assert_true(json_integer_value(json_object_get(json_object_get(chat, "usage"),
                                                   "completion_tokens")) > 0);
    json_t *made = DATA("vectord.created");
    assert_string_equal(str_at(made, "index"), "kb");
    assert_int_equal(json_integer_value(json_object_get(made, "dimension")), 384);
    assert_int_equal(json_integer_value(json_object_get(DATA("vectord.dropped"), "items")), 1);
    assert_non_null(str_at(DATA("storaged.aborted"), "upload"));
#undef DATA
    json_decref(k);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, lh_test_stack_teardown)
    const struct CMUnitTest tests[] = {
        T(test_the_stream_and_its_limits),
        T(test_an_actors_change_lands_in_the_log),
        T(test_events_keep_their_order),
        T(test_events_outlive_a_server_restart),
        T(test_a_repeated_id_is_kept_once),
        T(test_with_events_off_nothing_is_told),
        cmocka_unit_test_setup_teardown(test_every_kind_of_event_is_told, setup_everyone,
                                        lh_test_stack_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
