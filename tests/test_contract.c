/*
 * test_contract.c — the contract layer: every endpoint and event declared
 * in schemas/ is well formed and found by its subject; errors keep the
 * error they wrap; and the typed calls (lh_call, lh_mux_call) and the
 * event publisher (lh_event_emit) speak through contracts on a real
 * nats-server, with a small actor declared here.
 */
#include "tests/support/harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/buf.h"
#include "bus/conn.h"
#include "bus/events.h"
#include "bus/log.h"
#include "bus/mux.h"
#include "bus/request.h"
#include "schemas/vector.h"

#define WAIT_MS 30000

/* ---- the contracts of schemas/ ---- */

/* "vectord" serves "vector.*": the service name less its final 'd'. */
static void assert_in_domain(const lh_contract *k)
{
    size_t n = strlen(k->service);
    assert_true(n > 1 && k->service[n - 1] == 'd');
    if (strncmp(k->subject, k->service, n - 1) != 0 || k->subject[n - 1] != '.')
        fail_msg("%s of %s is outside %.*s.*", k->subject, k->service, (int)(n - 1), k->service);
}

static void test_endpoint_contracts_are_well_formed(void **state)
{
    (void)state;
    size_t n = 0;
    const lh_contract *const *all = lh_contracts_all(&n);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        const lh_contract *k = all[i];
        assert_non_null(k->subject);
        assert_in_domain(k);
        assert_true(k->name && *k->name);
        if (!k->request || !k->reply)
            fail_msg("%s lacks a request or reply schema", k->subject);
        for (size_t j = 0; j < i; j++)
            if (strcmp(all[j]->subject, k->subject) == 0)
                fail_msg("%s is declared twice", k->subject);
    }
}

static void test_event_subjects_follow_service_and_name(void **state)
{
    (void)state;
    size_t n = 0;
    const lh_event_contract *const *all = lh_events_all(&n);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        char want[256];
        snprintf(want, sizeof want, "events.%s.%s", all[i]->service, all[i]->name);
        assert_string_equal(all[i]->subject, want);
        assert_non_null(all[i]->schema);
    }
}

static void test_contract_find_by_subject(void **state)
{
    (void)state;
    size_t n = 0;
    const lh_contract *const *all = lh_contracts_all(&n);
    for (size_t i = 0; i < n; i++)
        assert_ptr_equal(lh_contract_find(all[i]->subject), all[i]);
    assert_ptr_equal(lh_contract_find("vector.search"), &lh_ep_vector_search);
    assert_null(lh_contract_find("vector.nosuch"));
    assert_null(lh_contract_find("vector"));
    assert_null(lh_contract_find(""));
    assert_null(lh_contract_find(lh_ev_vector_upserted.subject)); /* events are not endpoints */
}

/* ---- errors keep their cause ---- */

static void test_wrap_keeps_the_cause(void **state)
{
    (void)state;
    lh_err *root = lh_err_new(LH_ENOTFOUND, "name", "no dataset named '%s'", "x");
    lh_err *mid = lh_err_wrap(root, "read %s", "catalog");
    lh_err *top = lh_err_wrap(mid, "load");
    assert_ptr_equal(lh_err_cause(top), mid);
    assert_ptr_equal(lh_err_cause(mid), root);
    assert_null(lh_err_cause(root));
    assert_string_equal(lh_err_what(top), "load");
    assert_string_equal(lh_err_what(mid), "read catalog");
    assert_string_equal(lh_err_what(root), "no dataset named 'x'");
    assert_string_equal(lh_err_message(top), "load: read catalog: no dataset named 'x'");
    assert_string_equal(lh_err_message(root), "no dataset named 'x'");
    assert_int_equal(lh_err_code(top), LH_ENOTFOUND);
    assert_string_equal(lh_err_field(top), "name");
    lh_err_free(top); /* the whole chain: LeakSanitizer would see a lost link */
}

static void test_wrap_of_no_error_is_no_error(void **state)
{
    (void)state;
    assert_null(lh_err_wrap(NULL, "context %d", 1));
    lh_err *plain = lh_err_wrap(lh_err_new(LH_ECONFLICT, NULL, "taken"), "create");
    assert_int_equal(lh_err_code(plain), LH_ECONFLICT);
    assert_null(lh_err_field(plain));
    assert_string_equal(lh_err_message(plain), "create: taken");
    lh_err_free(plain);
}

/* ---- a small actor: contractd serves contract.echo ---- */

#define T_ECHO_REQUEST(F, T)                                                                \
    F(T, text, STRING, .required = true, .max = 64, .doc = "What to echo.")                 \
    F(T, times, INT, .min = 1, .max = 4, .def = 1, .flags = LH_F_OMIT_UNSET,                \
      .doc = "How many times.")                                                             \
    F(T, fail, INT, .min = 400, .max = 599, .flags = LH_F_OMIT_UNSET,                       \
      .doc = "Answer with this error code instead.")
LH_SCHEMA_DECLARE(t_echo_request, T_ECHO_REQUEST)
LH_SCHEMA_DEFINE(t_echo_request, T_ECHO_REQUEST, "An echo.")

#define T_ECHO_REPLY(F, T)                                                                  \
    F(T, echo, STRING, .required = true, .doc = "The text, repeated.")                      \
    F(T, length, INT, .doc = "Its length in bytes.")
LH_SCHEMA_DECLARE(t_echo_reply, T_ECHO_REPLY)
LH_SCHEMA_DEFINE(t_echo_reply, T_ECHO_REPLY, "The echo.")

static const lh_contract t_echo = {"contractd", "echo", "contract.echo", &t_echo_request_schema,
                                   &t_echo_reply_schema, "Echo the text."};
/* Nobody serves this one. */
static const lh_contract t_nobody = {"contractd", "nobody", "contract.nobody",
                                     &t_echo_request_schema, &t_echo_reply_schema, "Unserved."};
/* Served below by a raw responder whose reply does not fit the schema. */
static const lh_contract t_misfit = {"contractd", "misfit", "contract.misfit",
                                     &t_echo_request_schema, &t_echo_reply_schema, "Misfit."};

static lh_err *echo_handler(lh_ctx *ctx, const void *request, void *reply)
{
    const t_echo_request *r = request;
    t_echo_reply *out = reply;
    if (r->has_fail)
        return lh_err_new((int)r->fail, "text", "refused '%.*s'", (int)r->text.len, r->text.s);
    size_t len = r->text.len * (size_t)r->times;
    char *text = lh_ctx_alloc(ctx, len + 1);
    for (int64_t i = 0; i < r->times; i++)
        memcpy(text + (size_t)i * r->text.len, r->text.s, r->text.len);
    out->echo = (lh_str){text, len};
    LH_SET(out, length, (int64_t)len);
    return NULL;
}

static const lh_endpoint_def t_endpoints[] = {{&t_echo, echo_handler}};

static const lh_actor_def t_actor = {
    .name = "contractd",
    .version = "0.0.1",
    .description = "Typed calls under test.",
    .endpoints = t_endpoints,
    .n_endpoints = 1,
};

/* Answers with {"echo":5}: a number where the schema wants a string. */
static void misfit(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)sub, (void)closure;
    static const char body[] = "\x81\xa4"
                               "echo\x05";
    natsConnection_Publish(nc, natsMsg_GetReply(msg), body, (int)sizeof body - 1);
    natsMsg_Destroy(msg);
}

typedef struct fixture {
    lh_test_stack *st;
    natsSubscription *misfit;
    lh_conn *conn; /* the stack's, as an actor has one */
    lh_mux *mux;
} fixture;

static const lh_actor_def *const ACTORS[] = {&t_actor, NULL};

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->st = lh_test_stack_new(&(lh_test_stack_opts){.actors = ACTORS});
    assert_int_equal(
        natsConnection_Subscribe(&f->misfit, f->st->nc, t_misfit.subject, misfit, NULL),
        NATS_OK);
    assert_int_equal(natsConnection_Flush(f->st->nc), NATS_OK);
    f->conn = lh_test_stack_conn(f->st);
    f->mux = lh_test_stack_mux(f->st);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    lh_mux_destroy(f->mux);
    natsSubscription_Destroy(f->misfit);
    lh_test_stack_free(f->st);
    free(f);
    return 0;
}

/* ---- lh_call ---- */

static void test_call_decodes_the_reply_struct(void **state)
{
    fixture *f = *state;
    t_echo_request req = {.text = {"ab", 2}};
    LH_SET(&req, times, 3);
    lh_arena *arena = lh_arena_create();
    void *out = NULL;
    lh_err *err = lh_call(f->conn, &t_echo, &req, arena, &out, WAIT_MS);
    if (err)
        fail_msg("lh_call: %s", lh_err_message(err));
    const t_echo_reply *rep = out;
    assert_int_equal(rep->echo.len, 6);
    assert_memory_equal(rep->echo.s, "ababab", 6);
    assert_true(rep->has_length);
    assert_int_equal(rep->length, 6);
    lh_arena_destroy(arena);
}

static void test_call_error_names_the_subject_and_keeps_the_callee_error(void **state)
{
    fixture *f = *state;
    t_echo_request req = {.text = {"no", 2}};
    LH_SET(&req, fail, LH_ECONFLICT);
    lh_arena *arena = lh_arena_create();
    void *out = NULL;
    lh_err *err = lh_call(f->conn, &t_echo, &req, arena, &out, WAIT_MS);
    assert_non_null(err);
    assert_int_equal(lh_err_code(err), LH_ECONFLICT);
    assert_string_equal(lh_err_what(err), "contract.echo");
    assert_non_null(lh_err_cause(err));
    assert_string_equal(lh_err_message(err), "contract.echo: refused 'no'");
    lh_err_free(err);
    lh_arena_destroy(arena);
}

static void test_call_without_responder_is_503(void **state)
{
    fixture *f = *state;
    t_echo_request req = {.text = {"x", 1}};
    lh_arena *arena = lh_arena_create();
    void *out = NULL;
    lh_err *err = lh_call(f->conn, &t_nobody, &req, arena, &out, WAIT_MS);
    assert_int_equal(lh_err_code(err), LH_EUNAVAILABLE);
    assert_non_null(strstr(lh_err_message(err), "contract.nobody"));
    lh_err_free(err);
    lh_arena_destroy(arena);
}

/* ---- lh_mux_call ---- */

/* What one lh_mux_call callback saw, copied out of it. */
typedef struct outcome {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls;
    int code;              /* 0 on success */
    char message[256];     /* the error's whole chain */
    bool had_reply;
    char echo[64];
    int64_t length;
    bool has_length;
} outcome;

static void on_reply(void *user, lh_err *err, const void *reply)
{
    outcome *o = user;
    pthread_mutex_lock(&o->mu);
    o->calls++;
    o->code = lh_err_code(err);
    snprintf(o->message, sizeof o->message, "%s", lh_err_message(err));
    o->had_reply = reply != NULL;
    if (reply) {
        const t_echo_reply *r = reply;
        snprintf(o->echo, sizeof o->echo, "%.*s", (int)r->echo.len, r->echo.s);
        o->length = r->length;
        o->has_length = r->has_length;
    }
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

/* Sends `req` through the mux and waits (boundedly) for its callback. */
static void mux_call(fixture *f, const lh_contract *k, const t_echo_request *req, outcome *o)
{
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, NULL);
    lh_err *err = lh_mux_call(f->mux, k, req, "rid-mux-call", WAIT_MS, on_reply, o);
    if (err)
        fail_msg("lh_mux_call %s: %s", k->subject, lh_err_message(err));
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAIT_MS / 1000;
    pthread_mutex_lock(&o->mu);
    while (o->calls == 0 && pthread_cond_timedwait(&o->cv, &o->mu, &until) == 0)
        ;
    int calls = o->calls;
    pthread_mutex_unlock(&o->mu);
    if (calls == 0)
        fail_msg("no callback for %s", k->subject);
}

/* Once the mux is gone no callback can come: each call had exactly one. */
static void assert_called_once(fixture *f, const outcome *o)
{
    lh_mux_destroy(f->mux);
    f->mux = NULL;
    assert_int_equal(o->calls, 1);
}

static void test_mux_call_gives_the_decoded_reply(void **state)
{
    fixture *f = *state;
    t_echo_request req = {.text = {"hey", 3}};
    outcome o = {0};
    mux_call(f, &t_echo, &req, &o);
    assert_int_equal(o.code, 0);
    assert_true(o.had_reply);
    assert_string_equal(o.echo, "hey"); /* times left out: the default, once */
    assert_true(o.has_length);
    assert_int_equal(o.length, 3);
    assert_called_once(f, &o);
}

static void test_mux_call_error_reply_keeps_the_callee_code(void **state)
{
    fixture *f = *state;
    t_echo_request req = {.text = {"no", 2}};
    LH_SET(&req, fail, LH_EUNPROCESSABLE);
    outcome o = {0};
    mux_call(f, &t_echo, &req, &o);
    assert_int_equal(o.code, LH_EUNPROCESSABLE);
    assert_false(o.had_reply);
    assert_string_equal(o.message, "contract.echo: refused 'no'"); /* named as lh_call names it */
    assert_called_once(f, &o);
}

static void test_mux_call_without_responder_is_503(void **state)
{
    fixture *f = *state;
    t_echo_request req = {.text = {"x", 1}};
    outcome o = {0};
    mux_call(f, &t_nobody, &req, &o);
    assert_int_equal(o.code, LH_EUNAVAILABLE);
    assert_false(o.had_reply);
    assert_non_null(strstr(o.message, "contract.nobody"));
    assert_called_once(f, &o);
}

static void test_mux_call_misfit_reply_is_an_error_naming_the_subject(void **state)
{
    fixture *f = *state;
    t_echo_request req = {.text = {"x", 1}};
    outcome o = {0};
    mux_call(f, &t_misfit, &req, &o);
    assert_int_not_equal(o.code, 0);
    assert_false(o.had_reply);
    if (!strstr(o.message, "contract.misfit") || !strstr(o.message, "echo"))
        fail_msg("'%s' names neither the subject nor the field", o.message);
    assert_called_once(f, &o);
}

/* A reply that does not fit is the callee's fault: 500, no field, the
 * decoder's refusal kept as the cause. */
static void test_call_misfit_reply_is_a_500_with_the_decoder_as_cause(void **state)
{
    fixture *f = *state;
    t_echo_request req = {.text = {"x", 1}};
    lh_arena *arena = lh_arena_create();
    void *out = NULL;
    lh_err *err = lh_call(f->conn, &t_misfit, &req, arena, &out, WAIT_MS);
    assert_non_null(err);
    assert_int_equal(lh_err_code(err), LH_EINTERNAL);
    assert_null(lh_err_field(err));
    assert_string_equal(lh_err_what(err), "contract.misfit gave an unreadable reply");
    const lh_err *cause = lh_err_cause(err);
    assert_non_null(cause);
    assert_int_equal(lh_err_code(cause), LH_EBADREQ);
    assert_string_equal(lh_err_field(cause), "echo");
    lh_err_free(err);
    lh_arena_destroy(arena);
}

/* Answers with what echo answers plus a key the schema does not know. */
static void newer(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)sub, (void)closure;
    static const char body[] = "\x83\xa4"
                               "echo\xa2hi\xa6length\x02\xa5newer\xc3";
    natsConnection_Publish(nc, natsMsg_GetReply(msg), body, (int)sizeof body - 1);
    natsMsg_Destroy(msg);
}

/* A newer callee may say more: replies pass over unknown keys (requests
 * refuse them), so a rolling upgrade does not break its callers. */
static void test_call_passes_over_unknown_reply_keys(void **state)
{
    fixture *f = *state;
    static const lh_contract t_newer = {"contractd", "newer", "contract.newer",
                                        &t_echo_request_schema, &t_echo_reply_schema, "Newer."};
    natsSubscription *sub = NULL;
    assert_int_equal(natsConnection_Subscribe(&sub, f->st->nc, t_newer.subject, newer, NULL),
                     NATS_OK);
    assert_int_equal(natsConnection_Flush(f->st->nc), NATS_OK);
    t_echo_request req = {.text = {"hi", 2}};
    lh_arena *arena = lh_arena_create();
    t_echo_reply *rep = NULL;
    lh_err *err = lh_call(f->conn, &t_newer, &req, arena, (void **)&rep, WAIT_MS);
    if (err)
        fail_msg("a reply with an unknown key was refused: %s", lh_err_message(err));
    assert_int_equal(rep->echo.len, 2);
    assert_true(rep->has_length && rep->length == 2);
    lh_arena_destroy(arena);
    natsSubscription_Destroy(sub);
}

/* The harness's typed call holds replies to the same contract. */
static void test_harness_call_refuses_a_misfit_reply(void **state)
{
    fixture *f = *state;
    lh_test_reply r = lh_test_call_s(f->st->nc, &t_misfit, "{\"text\":\"x\"}");
    assert_int_equal(r.code, -1);
    assert_non_null(strstr(r.message, "contract.misfit"));
    json_decref(r.body);
    r = lh_test_call_s(f->st->nc, &t_echo, "{\"text\":\"x\"}");
    assert_int_equal(r.code, 0);
    json_decref(r.body);
}

/* ---- lh_event_emit ---- */

/* contractd's own event (an actor tells only its own). */
static const lh_event_contract t_upserted = {"contractd", "upserted", "events.contractd.upserted",
                                             &lh_vector_items_event_schema, "Items."};

/* The next message on `sub`: its envelope, and its data through the
 * event's schema. */
static const lh_vector_items_event *next_event(natsSubscription *sub, lh_arena *arena,
                                               natsMsg **msg, lh_event_envelope **env)
{
    assert_int_equal(natsSubscription_NextMsg(msg, sub, WAIT_MS), NATS_OK);
    assert_string_equal(natsMsg_GetSubject(*msg), t_upserted.subject);
    void *out = NULL;
    lh_err *err = lh_event_decode(&t_upserted, natsMsg_GetData(*msg),
                                  (size_t)natsMsg_GetDataLength(*msg), arena, env, &out);
    if (err)
        fail_msg("the event does not decode: %s", lh_err_message(err));
    return out;
}

static bool str_is(lh_str s, const char *c) { return s.len == strlen(c) && !memcmp(s.s, c, s.len); }

static void test_event_emit_publishes_the_struct_on_its_subject(void **state)
{
    fixture *f = *state;
    lh_actor *a = lh_test_stack_actor(f->st, &t_actor);
    natsSubscription *sub = NULL;
    assert_int_equal(natsConnection_SubscribeSync(&sub, f->st->nc, t_upserted.subject),
                     NATS_OK);
    assert_int_equal(natsConnection_Flush(f->st->nc), NATS_OK);
    lh_vector_items_event ev = {.index = {"docs", 4}};
    LH_SET(&ev, items, 7);
    lh_log_set_request_id("rid-event-1");
    assert_true(lh_event_emit_acked(a, &t_upserted, &ev));
    lh_log_set_request_id(NULL);
    lh_event_emit(a, &t_upserted, &ev);
    lh_arena *arena = lh_arena_create();
    natsMsg *m = NULL;
    lh_event_envelope *env = NULL;
    const lh_vector_items_event *got = next_event(sub, arena, &m, &env);
    assert_int_equal(got->index.len, 4);
    assert_memory_equal(got->index.s, "docs", 4);
    assert_true(got->has_items);
    assert_int_equal(got->items, 7);
    /* the envelope names who, what, when and why */
    assert_int_equal(env->id.len, 22);
    assert_true(str_is(env->actor, "contractd"));
    assert_true(str_is(env->instance, lh_actor_id(a)));
    assert_true(str_is(env->type, "contractd.upserted"));
    assert_true(str_is(env->request_id, "rid-event-1"));
    assert_int_equal(env->time.len, 24); /* 2026-12-03T10:00:00.123Z */
    const char *rid = NULL, *msg_id = NULL;
    assert_int_equal(natsMsgHeader_Get(m, LH_HDR_REQUEST_ID, &rid), NATS_OK);
    assert_string_equal(rid, "rid-event-1");
    assert_int_equal(natsMsgHeader_Get(m, "Nats-Msg-Id", &msg_id), NATS_OK);
    assert_true(str_is(env->id, msg_id)); /* what the stream de-duplicates by */
    natsMsg_Destroy(m);
    /* Without a request id the header and the field are left out. */
    next_event(sub, arena, &m, &env);
    assert_int_not_equal(natsMsgHeader_Get(m, LH_HDR_REQUEST_ID, &rid), NATS_OK);
    assert_null(env->request_id.s);
    natsMsg_Destroy(m);
    lh_arena_destroy(arena);
    natsSubscription_Destroy(sub);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_endpoint_contracts_are_well_formed),
        cmocka_unit_test(test_event_subjects_follow_service_and_name),
        cmocka_unit_test(test_contract_find_by_subject),
        cmocka_unit_test(test_wrap_keeps_the_cause),
        cmocka_unit_test(test_wrap_of_no_error_is_no_error),
    };
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest bus[] = {
        T(test_call_decodes_the_reply_struct),
        T(test_call_error_names_the_subject_and_keeps_the_callee_error),
        T(test_call_without_responder_is_503),
        T(test_mux_call_gives_the_decoded_reply),
        T(test_mux_call_error_reply_keeps_the_callee_code),
        T(test_mux_call_without_responder_is_503),
        T(test_mux_call_misfit_reply_is_an_error_naming_the_subject),
        T(test_call_misfit_reply_is_a_500_with_the_decoder_as_cause),
        T(test_call_passes_over_unknown_reply_keys),
        T(test_harness_call_refuses_a_misfit_reply),
        T(test_event_emit_publishes_the_struct_on_its_subject),
    };
    int failed = cmocka_run_group_tests_name("contracts and errors", pure, NULL, NULL);
    failed += cmocka_run_group_tests_name("typed calls and events", bus, NULL, NULL);
    nats_CloseAndWait(5000); /* lets LeakSanitizer see nats.c fully released */
    return failed;
}
