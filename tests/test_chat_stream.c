/*
 * test_chat_stream.c — a streamed answer end to end: a local server
 * speaking OpenAI's and Anthropic's streaming wire formats, chatd asking
 * it with real libcurl, the bus's streaming protocol, and the gateway
 * relaying it as Server-Sent Events to an HTTP client. What is checked:
 * the provider's pieces arrive as chat.completion.chunk events with the
 * provider's own usage and the citations; a model that fails before its
 * first token gives way to its fallback, which then streams; a failure
 * after the first token ends the stream with an error event, no [DONE],
 * and no fallback; a client that hangs up cancels the upstream call
 * (the provider's server sees its stream cut short); and long streams do
 * not hold chatd's bus threads, so more of them than it has threads run
 * at once and other questions are answered meanwhile.
 */
#include "tests/support/harness.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/chat/chat.h"
#include "actors/embed/embed.h"
#include "actors/matrix/matrix.h"
#include "actors/vector/vector.h"
#include "bus/mux.h"
#include "bus/request.h"
#include "gateway/gateway.h"
#include "schemas/chat.h"
#include "schemas/vector.h"
#include "tests/support/fake_http.h"

#define KEY "test-key-123"

/* ---- the providers' server ---- */

typedef enum { OAI_OK, OAI_DOWN, OAI_SLOW, OAI_LONG } oai_mode;
typedef enum { ANT_OK, ANT_OVERLOADED } ant_mode;

typedef struct server {
    lh_fake_http *http;
    pthread_mutex_t lock;
    oai_mode oai;
    ant_mode ant;
    int oai_requests, ant_requests;
} server;

static server S;

#define OAI_PIECE(t)                                                                        \
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" t "\"},"                  \
    "\"finish_reason\":null}]}\n\n"

static void openai(const lh_fake_request *req, oai_mode mode)
{
    lh_fake_stream(req, "text/event-stream");
    if (mode == OAI_SLOW) { /* long enough that only a cancel ends it early */
        for (int i = 0; i < 100; i++)
            lh_fake_piece_s(req, i ? 50 : 0, OAI_PIECE("tick "));
    } else if (mode == OAI_LONG) { /* 6 s in all, twice the request timeout */
        for (int i = 0; i < 60; i++)
            lh_fake_piece_s(req, i ? 100 : 0, OAI_PIECE("tock "));
    } else {
        lh_fake_piece_s(req, 0, OAI_PIECE("The disk "));
        lh_fake_piece_s(req, 5, OAI_PIECE("is full "));
        lh_fake_piece_s(req, 5, OAI_PIECE("[1]."));
    }
    lh_fake_piece_s(req, 0, "data: {\"choices\":[{\"index\":0,\"delta\":{},"
                            "\"finish_reason\":\"stop\"}]}\n\n");
    lh_fake_piece_s(req, 0, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,"
                            "\"completion_tokens\":3,\"total_tokens\":15}}\n\n");
    lh_fake_piece_s(req, 0, "data: [DONE]\n\n");
}

#define ANT_EVENT(name, json) "event: " name "\ndata: " json "\n\n"

static void anthropic(const lh_fake_request *req, ant_mode mode)
{
    lh_fake_stream(req, "text/event-stream");
    lh_fake_piece_s(req, 0, ANT_EVENT("message_start",
                                      "{\"type\":\"message_start\",\"message\":{\"id\":\"m1\","
                                      "\"role\":\"assistant\",\"content\":[],\"usage\":"
                                      "{\"input_tokens\":30,\"output_tokens\":1}}}"));
    lh_fake_piece_s(req, 0, ANT_EVENT("content_block_start",
                                      "{\"type\":\"content_block_start\",\"index\":0,"
                                      "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"));
    lh_fake_piece_s(req, 5, ANT_EVENT("content_block_delta",
                                      "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
                                      "{\"type\":\"text_delta\",\"text\":\"Partial \"}}"));
    if (mode == ANT_OVERLOADED) {
        lh_fake_piece_s(req, 5, ANT_EVENT("error",
                                          "{\"type\":\"error\",\"error\":{\"type\":"
                                          "\"overloaded_error\",\"message\":\"Overloaded\"}}"));
        return;
    }
    lh_fake_piece_s(req, 5, ANT_EVENT("content_block_delta",
                                      "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
                                      "{\"type\":\"text_delta\",\"text\":\"answer [1].\"}}"));
    lh_fake_piece_s(req, 0, ANT_EVENT("content_block_stop",
                                      "{\"type\":\"content_block_stop\",\"index\":0}"));
    lh_fake_piece_s(req, 0, ANT_EVENT("message_delta",
                                      "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
                                      "\"end_turn\"},\"usage\":{\"output_tokens\":4}}"));
    lh_fake_piece_s(req, 0, ANT_EVENT("message_stop", "{\"type\":\"message_stop\"}"));
}

static unsigned serve(void *user, const lh_fake_request *req, lh_buf *out)
{
    server *s = user;
    pthread_mutex_lock(&s->lock);
    bool is_oai = !strcmp(req->url, "/v1/chat/completions");
    bool is_ant = !strcmp(req->url, "/v1/messages");
    s->oai_requests += is_oai;
    s->ant_requests += is_ant;
    oai_mode om = s->oai;
    ant_mode am = s->ant;
    pthread_mutex_unlock(&s->lock);
    if (is_oai && om == OAI_DOWN) {
        lh_buf_append_str(out, "{\"error\":{\"message\":\"down for maintenance\"}}");
        return 503;
    }
    if (is_oai)
        openai(req, om);
    else if (is_ant)
        anthropic(req, am);
    else
        lh_buf_append_str(out, "{\"error\":\"no such route\"}");
    return is_oai || is_ant ? 200 : 404;
}

/* ---- the stack ---- */

typedef lh_test_stack fixture;

static const lh_actor_def *const STACK[] = {&lh_embed_actor, &lh_vector_actor, &lh_matrix_actor,
                                            &lh_chat_actor, &lh_gateway_actor, NULL};

static int setup(void **state)
{
    S = (server){0};
    pthread_mutex_init(&S.lock, NULL);
    S.http = lh_fake_http_start(serve, &S);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", lh_fake_http_port(S.http));
    setenv("LH_OPENAI_BASE_URL", url, 1);
    setenv("LH_OPENAI_API_KEY", KEY, 1);
    url[strlen(url) - 3] = '\0';
    setenv("LH_ANTHROPIC_BASE_URL", url, 1);
    setenv("LH_ANTHROPIC_API_KEY", KEY, 1);
    setenv("LH_REQUEST_TIMEOUT_MS", "3000", 1); /* so a stream can outlast it in a test */
    fixture *f = lh_test_stack_new(&(lh_test_stack_opts){.actors = STACK});
    json_decref(lh_test_ok(lh_test_call_s(f->nc, &lh_ep_vector_create,
                                          "{\"index\":\"kb\",\"dimension\":4}")));
    json_decref(lh_test_ok(lh_test_call_s(
        f->nc, &lh_ep_vector_upsert,
        "{\"index\":\"kb\",\"items\":[{\"id\":\"disk\",\"vector\":[1,0,0,0],"
        "\"text\":\"Error E1234 means the disk is full.\"}]}")));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    int rc = lh_test_stack_teardown(state);
    lh_fake_http_stop(S.http);
    pthread_mutex_destroy(&S.lock);
    unsetenv("LH_OPENAI_BASE_URL");
    unsetenv("LH_OPENAI_API_KEY");
    unsetenv("LH_ANTHROPIC_BASE_URL");
    unsetenv("LH_ANTHROPIC_API_KEY");
    unsetenv("LH_REQUEST_TIMEOUT_MS");
    return rc;
}

/* ---- reading the events ---- */

typedef struct events {
    json_t *data[256]; /* each event's data as JSON (NULL for [DONE]) */
    char name[256][24];
    size_t n;
    bool done; /* [DONE] came */
} events;

static void events_parse(const char *body, events *ev)
{
    memset(ev, 0, sizeof *ev);
    for (const char *p = body; *p && ev->n < 256;) {
        const char *end = strstr(p, "\n\n");
        assert_non_null(end);
        for (const char *line = p; line < end;) {
            const char *nl = memchr(line, '\n', (size_t)(end - line));
            size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);
            if (!strncmp(line, "event: ", 7))
                snprintf(ev->name[ev->n], sizeof ev->name[0], "%.*s", (int)len - 7, line + 7);
            else if (len == 12 && !strncmp(line, "data: [DONE]", 12))
                ev->done = true;
            else if (!strncmp(line, "data: ", 6))
                ev->data[ev->n] = json_loadb(line + 6, len - 6, 0, NULL);
            line += len + 1;
        }
        ev->n++;
        p = end + 2;
    }
}

static void events_free(events *ev)
{
    for (size_t i = 0; i < ev->n; i++)
        json_decref(ev->data[i]);
}

static json_t *choice0(json_t *chunk)
{
    return json_array_get(json_object_get(chunk, "choices"), 0);
}

/* The text of every chunk's delta, joined. */
static void joined(const events *ev, lh_buf *out)
{
    for (size_t i = 0; i < ev->n; i++) {
        json_t *d = json_object_get(choice0(ev->data[i]), "delta");
        const char *t = json_string_value(json_object_get(d, "content"));
        if (t)
            lh_buf_append_str(out, t);
    }
}

static lh_test_response stream(fixture *f, const char *path, const char *body)
{
    return lh_test_fetch(f->http_port, "POST", path, NULL, body, strlen(body));
}

/* ---- tests ---- */

static void test_the_provider_streams_through_the_gateway(void **state)
{
    fixture *f = *state;
    lh_test_response r = stream(
        f, "/v1/chat/completions",
        "{\"model\":\"openai/gpt-test\",\"stream\":true,\"stream_options\":{\"include_usage\":"
        "true},\"messages\":[{\"role\":\"user\",\"content\":\"E1234?\"}],\"retrieve\":"
        "{\"corpora\":[\"kb\"],\"mode\":\"keyword\"}}");
    assert_int_equal(r.status, 200);
    static events ev;
    events_parse(r.body, &ev);
    assert_true(ev.done);
    assert_int_equal(ev.n, 3 + 3); /* the three pieces as they came, finish, usage, [DONE] */
    lh_buf text;
    lh_buf_init(&text);
    joined(&ev, &text);
    assert_string_equal(lh_buf_cstr(&text), "The disk is full [1].");
    assert_string_equal(json_string_value(json_object_get(ev.data[0], "model")),
                        "openai/gpt-test");
    json_t *fin = ev.data[3];
    assert_string_equal(json_string_value(json_object_get(choice0(fin), "finish_reason")),
                        "stop");
    json_t *cite = json_array_get(json_object_get(fin, "citations"), 0);
    assert_string_equal(json_string_value(json_object_get(cite, "id")), "disk");
    json_t *usage = json_object_get(ev.data[4], "usage");
    assert_int_equal(json_integer_value(json_object_get(usage, "prompt_tokens")), 12);
    assert_int_equal(json_integer_value(json_object_get(usage, "completion_tokens")), 3);
    assert_true(json_is_false(json_object_get(usage, "estimated"))); /* the provider's own */
    lh_buf_free(&text);
    events_free(&ev);
    lh_test_response_free(&r);
}

static void test_a_fallback_streams_when_the_model_fails_first(void **state)
{
    fixture *f = *state;
    S.oai = OAI_DOWN;
    lh_test_response r = stream(
        f, "/v1/chat",
        "{\"model\":\"openai/gpt-test\",\"fallbacks\":[\"anthropic/claude-test\"],\"stream\":"
        "true,\"messages\":[{\"role\":\"user\",\"content\":\"E1234?\"}]}");
    assert_int_equal(r.status, 200);
    static events ev;
    events_parse(r.body, &ev);
    assert_true(ev.n >= 3);
    assert_string_equal(json_string_value(json_object_get(ev.data[0], "model")),
                        "anthropic/claude-test");
    json_t *reply = ev.data[ev.n - 1];
    assert_string_equal(ev.name[ev.n - 1], "reply");
    assert_string_equal(json_string_value(json_object_get(json_object_get(reply, "message"),
                                                          "content")),
                        "Partial answer [1].");
    json_t *failed = json_array_get(json_object_get(reply, "failed_attempts"), 0);
    assert_string_equal(json_string_value(json_object_get(failed, "model")), "openai/gpt-test");
    assert_int_equal(json_integer_value(json_object_get(failed, "status")), 502);
    assert_true(S.oai_requests >= 1); /* retried, then given up on */
    assert_int_equal(S.ant_requests, 1);
    events_free(&ev);
    lh_test_response_free(&r);
}

static void test_a_failure_after_the_first_token_is_an_error_event(void **state)
{
    fixture *f = *state;
    S.ant = ANT_OVERLOADED;
    lh_test_response r = stream(
        f, "/v1/chat/completions",
        "{\"model\":\"anthropic/claude-test\",\"fallbacks\":[\"openai/gpt-test\"],\"stream\":"
        "true,\"messages\":[{\"role\":\"user\",\"content\":\"E1234?\"}]}");
    if (r.status != 200)
        fail_msg("%ld: %s", r.status, r.body);
    static events ev;
    events_parse(r.body, &ev);
    assert_false(ev.done); /* never a silent truncation that looks complete */
    assert_int_equal(ev.n, 2);
    lh_buf text;
    lh_buf_init(&text);
    joined(&ev, &text);
    assert_string_equal(lh_buf_cstr(&text), "Partial ");
    json_t *err = json_object_get(ev.data[1], "error");
    assert_non_null(err);
    assert_string_equal(json_string_value(json_object_get(err, "type")), "api_error");
    assert_non_null(strstr(json_string_value(json_object_get(err, "message")), "verloaded"));
    assert_null(strstr(json_string_value(json_object_get(err, "message")), KEY));
    assert_int_equal(S.oai_requests, 0); /* too late for a fallback: nothing asked */
    lh_buf_free(&text);
    events_free(&ev);
    lh_test_response_free(&r);
}

/* A client that reads the first event and hangs up. */
static size_t hang_up_after_first(char *data, size_t size, size_t n, void *user)
{
    (void)data;
    size_t *got = user;
    *got += size * n;
    return 0; /* anything but size * n: libcurl aborts and closes the connection */
}

static void test_a_client_that_hangs_up_cancels_upstream(void **state)
{
    fixture *f = *state;
    S.oai = OAI_SLOW;
    static const char body[] =
        "{\"model\":\"openai/gpt-test\",\"stream\":true,\"messages\":[{\"role\":\"user\","
        "\"content\":\"tick?\"}]}";
    char url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/chat/completions", f->http_port);
    CURL *h = curl_easy_init();
    size_t got = 0;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, hang_up_after_first);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &got);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    assert_int_equal(curl_easy_perform(h), CURLE_WRITE_ERROR);
    curl_easy_cleanup(h);
    assert_true(got > 0);
    /* chatd stops asking: the provider's 100-piece stream ends well short */
    lh_fake_outcome out;
    assert_true(lh_fake_http_last_stream(S.http, 20000, &out));
    assert_false(out.completed);
    assert_true(out.sent < out.pieces);
    /* and chatd is free for the next question */
    S.oai = OAI_OK;
    lh_test_response r = stream(
        f, "/v1/chat/completions",
        "{\"model\":\"openai/gpt-test\",\"stream\":true,\"messages\":[{\"role\":\"user\","
        "\"content\":\"E1234?\"}]}");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "data: [DONE]"));
    lh_test_response_free(&r);
}

/* ---- streams on the bus, side by side ---- */

typedef struct flow {
    pthread_mutex_t mu;
    int chunks, ends, end_code;
} flow;

static void flow_chunk(void *user, natsMsg *msg)
{
    (void)msg;
    flow *fl = user;
    pthread_mutex_lock(&fl->mu);
    fl->chunks++;
    pthread_mutex_unlock(&fl->mu);
}

static void flow_end(void *user, lh_err *err, natsMsg *msg)
{
    (void)msg;
    flow *fl = user;
    pthread_mutex_lock(&fl->mu);
    fl->ends++;
    fl->end_code = err ? lh_err_code(err) : 0;
    pthread_mutex_unlock(&fl->mu);
}

static int flow_read(flow *fl, int *ends)
{
    pthread_mutex_lock(&fl->mu);
    int n = fl->chunks;
    *ends = fl->ends;
    pthread_mutex_unlock(&fl->mu);
    return n;
}

static void test_streams_do_not_hold_the_bus_threads(void **state)
{
    fixture *f = *state;
    S.oai = OAI_SLOW; /* 100 pieces, 50 ms apart: seconds, unless cancelled */
    lh_mux *m = lh_test_stack_mux(f);
    static const char body[] =
        "{\"model\":\"openai/gpt-test\",\"stream\":true,\"messages\":[{\"role\":\"user\","
        "\"content\":\"tick?\"}]}";
    enum { N = 3 }; /* more than chatd's 2 workers in this stack */
    flow fl[N];
    uint64_t h[N];
    for (int i = 0; i < N; i++) {
        fl[i] = (flow){0};
        pthread_mutex_init(&fl[i].mu, NULL);
        lh_err *err = lh_mux_stream(m, lh_ep_chat_complete.subject, body, strlen(body), NULL,
                                    10000, flow_chunk, flow_end, &fl[i], &h[i]);
        if (err)
            fail_msg("%s", lh_err_message(err));
    }
    /* every stream is flowing at once */
    for (int i = 0; i < N; i++) {
        int ends = 0;
        for (int t = 0; t < 400 && flow_read(&fl[i], &ends) < 2 && !ends; t++)
            lh_test_sleep_ms(10);
        assert_true(flow_read(&fl[i], &ends) >= 2);
        assert_int_equal(ends, 0);
    }
    /* and another question is answered while they are */
    json_t *rep = lh_test_ok(lh_test_call_s(
        f->nc, &lh_ep_chat_complete,
        "{\"model\":\"extractive\",\"retrieve\":{\"mode\":\"keyword\"},\"messages\":"
        "[{\"role\":\"user\",\"content\":\"disk?\"}]}"));
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(rep, "message"),
                                                             "content")),
                           "disk is full"));
    json_decref(rep);
    for (int i = 0; i < N; i++) {
        int ends = 0;
        flow_read(&fl[i], &ends);
        assert_int_equal(ends, 0); /* still streaming */
        lh_mux_cancel(m, h[i]);
        flow_read(&fl[i], &ends);
        assert_int_equal(ends, 1);
        assert_int_equal(fl[i].end_code, LH_ECANCELED);
    }
    lh_mux_destroy(m);
}

static void test_a_stream_outlasts_the_request_timeout(void **state)
{
    fixture *f = *state;
    S.oai = OAI_LONG; /* 6 s of pieces 100 ms apart; every deadline here is 3 s or less */
    lh_test_response r = stream(
        f, "/v1/chat/completions",
        "{\"model\":\"openai/gpt-test\",\"stream\":true,\"messages\":[{\"role\":\"user\","
        "\"content\":\"tock?\"}]}");
    assert_int_equal(r.status, 200);
    static events ev;
    events_parse(r.body, &ev);
    assert_true(ev.done);
    lh_buf text;
    lh_buf_init(&text);
    joined(&ev, &text);
    assert_int_equal(text.len, 60 * 5); /* every "tock " */
    lh_buf_free(&text);
    events_free(&ev);
    lh_test_response_free(&r);
}

static void test_stopping_chatd_ends_its_streams(void **state)
{
    fixture *f = *state;
    S.oai = OAI_SLOW;
    lh_mux *m = lh_test_stack_mux(f);
    static const char body[] =
        "{\"model\":\"openai/gpt-test\",\"stream\":true,\"messages\":[{\"role\":\"user\","
        "\"content\":\"tick?\"}]}";
    flow fl = {0};
    pthread_mutex_init(&fl.mu, NULL);
    uint64_t h;
    lh_err *err = lh_mux_stream(m, lh_ep_chat_complete.subject, body, strlen(body), NULL, 10000,
                                flow_chunk, flow_end, &fl, &h);
    if (err)
        fail_msg("%s", lh_err_message(err));
    int ends = 0;
    for (int t = 0; t < 400 && flow_read(&fl, &ends) < 2; t++)
        lh_test_sleep_ms(10);
    assert_true(flow_read(&fl, &ends) >= 2);
    lh_test_stack_drop(f, &lh_chat_actor); /* returns: the stream is told to stop */
    for (int t = 0; t < 500 && !ends; t++) {
        lh_test_sleep_ms(10);
        flow_read(&fl, &ends);
    }
    assert_int_equal(ends, 1);
    assert_int_equal(fl.end_code, LH_EUNAVAILABLE); /* "chatd is stopping", not a cut */
    lh_fake_outcome out;
    assert_true(lh_fake_http_last_stream(S.http, 20000, &out));
    assert_false(out.completed);
    lh_mux_destroy(m);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_the_provider_streams_through_the_gateway),
        T(test_a_fallback_streams_when_the_model_fails_first),
        T(test_a_failure_after_the_first_token_is_an_error_event),
        T(test_a_client_that_hangs_up_cancels_upstream),
        T(test_streams_do_not_hold_the_bus_threads),
        T(test_a_stream_outlasts_the_request_timeout),
        T(test_stopping_chatd_ends_its_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
