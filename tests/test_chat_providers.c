/*
 * test_chat_providers.c — chatd's network providers against a small local
 * HTTP server in this test that speaks each one's wire format: OpenAI's
 * POST /v1/chat/completions with a Bearer key, Ollama's POST /api/chat,
 * Anthropic's POST /v1/messages with x-api-key and anthropic-version. So
 * the real libcurl client code is what is tested: the request each sends
 * (model, passages numbered, the conversation, limits), the answer and
 * usage each reads, the citations the markers name, retries after 429 and
 * 529, and refusals, unreadable answers and a server that is gone, each a
 * clear error without the key.
 */
#include "tests/support/harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/chat/chat.h"
#include "actors/embed/embed.h"
#include "actors/matrix/matrix.h"
#include "actors/vector/vector.h"
#include "bus/buf.h"
#include "schemas/chat.h"
#include "schemas/vector.h"
#include "lib/providers/providers.h"
#include "tests/support/fake_http.h"

#define KEY "test-key-123"

/* ---- the fake server ---- */

typedef enum { ANSWER, MALFORMED, REFUSE, NO_USAGE } server_mode;

typedef struct server {
    lh_fake_http *http;
    pthread_mutex_t lock;
    server_mode mode;
    int fail_next; /* answer this many requests "busy" first */
    int requests;
    char last_body[65536];
} server;

static server S;

static const char ANSWER_BODY[] =
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gpt-test\","
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"The disk is full "
    "[1, 9]. See also [9].\"},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":7,\"total_tokens\":19}}";

static const char OLLAMA_BODY[] =
    "{\"model\":\"llama3\",\"created_at\":\"2026-12-03T00:00:00Z\",\"message\":{\"role\":"
    "\"assistant\",\"content\":\"Full disk [1].\"},\"done_reason\":\"stop\",\"done\":true,"
    "\"prompt_eval_count\":21,\"eval_count\":4}";

static const char ANTHROPIC_BODY[] =
    "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":["
    "{\"type\":\"text\",\"text\":\"Disk full \"},{\"type\":\"text\",\"text\":\"[1].\"}],"
    "\"stop_reason\":\"max_tokens\",\"usage\":{\"input_tokens\":30,\"output_tokens\":5}}";

/* Counts the request; true when it is to be answered "busy" instead. */
static bool take(server *s, const lh_fake_request *req, server_mode *mode)
{
    pthread_mutex_lock(&s->lock);
    s->requests++;
    snprintf(s->last_body, sizeof s->last_body, "%s", req->body);
    bool fail = s->fail_next > 0 && s->fail_next--;
    *mode = s->mode;
    pthread_mutex_unlock(&s->lock);
    return fail;
}

static unsigned anthropic(server *s, const lh_fake_request *req, lh_buf *out)
{
    server_mode mode;
    if (take(s, req, &mode)) {
        lh_buf_append_str(out, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                               "\"message\":\"Overloaded\"}}");
        return 529;
    }
    const char *key = lh_fake_header(req, "x-api-key");
    const char *v = lh_fake_header(req, "anthropic-version");
    if (!key || strcmp(key, KEY) || !v || strcmp(v, "2023-06-01")) {
        lh_buf_append_str(out, "{\"type\":\"error\",\"error\":{\"type\":"
                               "\"authentication_error\",\"message\":\"invalid x-api-key\"}}");
        return 401;
    }
    lh_buf_append_str(out, ANTHROPIC_BODY);
    return 200;
}

static unsigned openai(server *s, const lh_fake_request *req, lh_buf *out)
{
    server_mode mode;
    if (take(s, req, &mode)) {
        lh_buf_append_str(out, "{\"error\":{\"message\":\"Rate limit reached\"}}");
        return 429;
    }
    const char *auth = lh_fake_header(req, "Authorization");
    if (!auth || strcmp(auth, "Bearer " KEY) != 0 || mode == REFUSE) {
        /* as OpenAI does, the message repeats the key it was given */
        lh_buf_appendf(out, "{\"error\":{\"message\":\"Incorrect API key provided: %s\"}}",
                       auth && strlen(auth) > 7 ? auth + 7 : "");
        return 401;
    }
    if (mode == NO_USAGE)
        lh_buf_append_str(out, "{\"choices\":[{\"message\":{\"role\":\"assistant\","
                               "\"content\":\"Full, as [1] says.\"}}]}");
    else
        lh_buf_append_str(out, mode == MALFORMED ? "{\"choices\":[{\"message\":" : ANSWER_BODY);
    return 200;
}

static unsigned serve(void *user, const lh_fake_request *req, lh_buf *out)
{
    server *s = user;
    if (strcmp(req->method, "POST")) {
        lh_buf_append_str(out, "{\"error\":\"no such route\"}");
        return 404;
    }
    if (!strcmp(req->url, "/api/chat")) {
        server_mode mode;
        take(s, req, &mode);
        lh_buf_append_str(out, OLLAMA_BODY);
        return 200;
    }
    if (!strcmp(req->url, "/v1/messages"))
        return anthropic(s, req, out);
    if (!strcmp(req->url, "/v1/chat/completions"))
        return openai(s, req, out);
    lh_buf_append_str(out, "{\"error\":\"no such route\"}");
    return 404;
}

/* ---- the stack ---- */

typedef lh_test_stack fixture;

static const lh_actor_def *const STACK[] = {&lh_embed_actor, &lh_vector_actor, &lh_matrix_actor,
                                            &lh_chat_actor, NULL};

static int setup(void **state)
{
    S = (server){.mode = ANSWER};
    pthread_mutex_init(&S.lock, NULL);
    S.http = lh_fake_http_start(serve, &S);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", lh_fake_http_port(S.http));
    setenv("LH_OPENAI_BASE_URL", url, 1);
    setenv("LH_OPENAI_API_KEY", KEY, 1);
    url[strlen(url) - 3] = '\0'; /* the others are given the server, not its /v1 */
    setenv("LH_OLLAMA_URL", url, 1);
    setenv("LH_ANTHROPIC_BASE_URL", url, 1);
    setenv("LH_ANTHROPIC_API_KEY", KEY, 1);
    *state = lh_test_stack_new(&(lh_test_stack_opts){.actors = STACK});
    json_decref(lh_test_ok(lh_test_call_s(((fixture *)*state)->nc, &lh_ep_vector_create,
                                          "{\"index\":\"kb\",\"dimension\":4}")));
    json_decref(lh_test_ok(lh_test_call_s(
        ((fixture *)*state)->nc, &lh_ep_vector_upsert,
        "{\"index\":\"kb\",\"items\":[{\"id\":\"disk\",\"vector\":[1,0,0,0],"
        "\"text\":\"Error E1234 means the disk is full.\"}]}")));
    return 0;
}

static int teardown(void **state)
{
    int rc = lh_test_stack_teardown(state);
    lh_fake_http_stop(S.http);
    pthread_mutex_destroy(&S.lock);
    unsetenv("LH_OPENAI_BASE_URL");
    unsetenv("LH_OPENAI_API_KEY");
    unsetenv("LH_OLLAMA_URL");
    unsetenv("LH_ANTHROPIC_BASE_URL");
    unsetenv("LH_ANTHROPIC_API_KEY");
    return rc;
}

static const char ASK[] =
    "{\"model\":\"openai/gpt-test\",\"messages\":[{\"role\":\"user\",\"content\":\"E1234?\"}],"
    "\"retrieve\":{\"corpora\":[\"kb\"],\"mode\":\"keyword\"},\"max_tokens\":50}";

static void test_the_answer_its_usage_and_citations(void **state)
{
    fixture *f = *state;
    json_t *rep = lh_test_ok(lh_test_call_s(f->nc, &lh_ep_chat_complete, ASK));
    assert_string_equal(json_string_value(json_object_get(rep, "model")), "openai/gpt-test");
    assert_string_equal(json_string_value(json_object_get(rep, "provider")), "openai");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(rep, "message"), "content")),
        "The disk is full [1, 9]. See also [9].");
    json_t *u = json_object_get(rep, "usage");
    assert_int_equal(json_integer_value(json_object_get(u, "prompt_tokens")), 12);
    assert_int_equal(json_integer_value(json_object_get(u, "completion_tokens")), 7);
    assert_true(json_is_false(json_object_get(u, "estimated"))); /* the provider's own */
    json_t *cites = json_object_get(rep, "citations");
    assert_int_equal(json_array_size(cites), 1); /* [9] numbers no passage */
    assert_string_equal(json_string_value(json_object_get(json_array_get(cites, 0), "id")),
                        "disk");
    json_decref(rep);
    /* What went over the wire: the provider's own model name, the passage
     * numbered in a system message, then the conversation. */
    json_t *sent = json_loads(S.last_body, 0, NULL);
    assert_non_null(sent);
    assert_string_equal(json_string_value(json_object_get(sent, "model")), "gpt-test");
    assert_int_equal(json_integer_value(json_object_get(sent, "max_tokens")), 50);
    json_t *msgs = json_object_get(sent, "messages");
    assert_int_equal(json_array_size(msgs), 2);
    json_t *sys = json_array_get(msgs, 0);
    assert_string_equal(json_string_value(json_object_get(sys, "role")), "system");
    assert_non_null(strstr(json_string_value(json_object_get(sys, "content")),
                           "[1] (kb/disk) Error E1234 means the disk is full."));
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 1), "content")),
                        "E1234?");
    json_decref(sent);
    /* a server that says nothing of usage: estimated, and marked so */
    S.mode = NO_USAGE;
    rep = lh_test_ok(lh_test_call_s(f->nc, &lh_ep_chat_complete, ASK));
    u = json_object_get(rep, "usage");
    assert_true(json_is_true(json_object_get(u, "estimated")));
    assert_int_equal(json_integer_value(json_object_get(u, "completion_tokens")), 4);
    assert_true(json_integer_value(json_object_get(u, "prompt_tokens")) > 5);
    assert_string_equal(json_string_value(json_object_get(rep, "finish_reason")), "stop");
    json_decref(rep);
}

static void test_rate_limits_are_retried(void **state)
{
    fixture *f = *state;
    S.fail_next = 2;
    json_decref(lh_test_ok(lh_test_call_s(f->nc, &lh_ep_chat_complete, ASK)));
    assert_int_equal(S.requests, 3);
    S.requests = 0;
    S.fail_next = 5; /* more than the attempts: the last 429 is the answer */
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_chat_complete, ASK), 502, NULL, "429");
    assert_int_equal(S.requests, 3);
}

static void test_refusals_never_show_the_key(void **state)
{
    fixture *f = *state;
    S.mode = REFUSE;
    lh_test_reply r = lh_test_call_s(f->nc, &lh_ep_chat_complete, ASK);
    assert_int_equal(r.code, 502);
    assert_non_null(strstr(r.message, "401"));
    assert_null(strstr(r.message, KEY));
    lh_test_expect(r, 502, NULL, "Incorrect API key");
    assert_int_equal(S.requests, 1); /* a refusal is not retried */
}

static void test_unreadable_answers_and_a_gone_server(void **state)
{
    fixture *f = *state;
    S.mode = MALFORMED;
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_chat_complete, ASK), 502, NULL, "unreadably");
    lh_fake_http_stop(S.http);
    S.http = NULL;
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_chat_complete, ASK), 503, NULL, "127.0.0.1");
    /* a provider that is not configured is refused as unknown, naming those that are */
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_chat_complete,
                                  "{\"model\":\"groq/x\",\"messages\":[{\"role\":\"user\","
                                  "\"content\":\"hi\"}]}"),
                   404, "model", "extractive, openai, ollama, anthropic");
}

/* `model` asks a provider: the answer, what went over the wire. */
static json_t *ask(fixture *f, const char *model, json_t **sent)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"model\":\"%s\",\"messages\":[{\"role\":\"system\",\"content\":\"Be "
             "terse.\"},{\"role\":\"user\",\"content\":\"E1234?\"}],\"retrieve\":{\"corpora\":"
             "[\"kb\"],\"mode\":\"keyword\"},\"max_tokens\":50,\"temperature\":0.5}",
             model);
    json_t *rep = lh_test_ok(lh_test_call_s(f->nc, &lh_ep_chat_complete, body));
    *sent = json_loads(S.last_body, 0, NULL);
    assert_non_null(*sent);
    return rep;
}

static void assert_usage(json_t *rep, int prompt, int completion)
{
    json_t *u = json_object_get(rep, "usage");
    assert_int_equal(json_integer_value(json_object_get(u, "prompt_tokens")), prompt);
    assert_int_equal(json_integer_value(json_object_get(u, "completion_tokens")), completion);
    assert_true(json_is_false(json_object_get(u, "estimated")));
    json_t *cite = json_array_get(json_object_get(rep, "citations"), 0);
    assert_string_equal(json_string_value(json_object_get(cite, "id")), "disk");
}

static void test_ollama(void **state)
{
    fixture *f = *state;
    json_t *sent = NULL;
    json_t *rep = ask(f, "ollama/llama3", &sent);
    assert_string_equal(json_string_value(json_object_get(rep, "model")), "ollama/llama3");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(rep, "message"), "content")),
        "Full disk [1].");
    assert_usage(rep, 21, 4);
    assert_string_equal(json_string_value(json_object_get(sent, "model")), "llama3");
    assert_true(json_is_false(json_object_get(sent, "stream")));
    json_t *options = json_object_get(sent, "options");
    assert_int_equal(json_integer_value(json_object_get(options, "num_predict")), 50);
    json_t *msgs = json_object_get(sent, "messages");
    assert_int_equal(json_array_size(msgs), 3); /* passages, the system message, the question */
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(msgs, 0),
                                                             "content")), "[1] (kb/disk)"));
    json_decref(sent);
    json_decref(rep);
}

static void test_anthropic(void **state)
{
    fixture *f = *state;
    S.fail_next = 1; /* one 529 (overloaded) first: retried */
    json_t *sent = NULL;
    json_t *rep = ask(f, "anthropic/claude-test", &sent);
    assert_int_equal(S.requests, 2);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(rep, "message"), "content")),
        "Disk full [1]."); /* the text blocks, joined */
    assert_string_equal(json_string_value(json_object_get(rep, "finish_reason")), "length");
    assert_usage(rep, 30, 5);
    assert_string_equal(json_string_value(json_object_get(sent, "model")), "claude-test");
    assert_int_equal(json_integer_value(json_object_get(sent, "max_tokens")), 50);
    const char *system = json_string_value(json_object_get(sent, "system"));
    assert_non_null(strstr(system, "[1] (kb/disk)"));
    assert_non_null(strstr(system, "Be terse.")); /* system messages join the top-level field */
    json_t *msgs = json_object_get(sent, "messages");
    assert_int_equal(json_array_size(msgs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 0), "role")),
                        "user");
    json_decref(sent);
    json_decref(rep);
    json_t *list = lh_test_ok(lh_test_call_s(f->nc, &lh_ep_chat_providers, "{}"));
    assert_int_equal(json_array_size(json_object_get(list, "providers")), 4);
    json_decref(list);
}

static void test_fallbacks(void **state)
{
    fixture *f = *state;
    S.mode = REFUSE; /* openai fails (401: the provider's fault, 502 here) */
    json_t *rep = lh_test_ok(lh_test_call_s(
        f->nc, &lh_ep_chat_complete,
        "{\"model\":\"openai/gpt-test\",\"fallbacks\":[\"ollama/llama3\"],\"messages\":"
        "[{\"role\":\"user\",\"content\":\"E1234?\"}]}"));
    assert_string_equal(json_string_value(json_object_get(rep, "model")), "ollama/llama3");
    json_t *failed = json_array_get(json_object_get(rep, "failed_attempts"), 0);
    assert_string_equal(json_string_value(json_object_get(failed, "model")), "openai/gpt-test");
    assert_int_equal(json_integer_value(json_object_get(failed, "status")), 502);
    json_decref(rep);
    json_t *list = lh_test_ok(lh_test_call_s(f->nc, &lh_ep_chat_providers, "{}"));
    json_t *p;
    size_t i;
    json_array_foreach(json_object_get(list, "providers"), i, p) {
        if (strcmp(json_string_value(json_object_get(p, "name")), "openai"))
            continue;
        assert_int_equal(json_integer_value(json_object_get(p, "errors")), 1);
        const char *last = json_string_value(json_object_get(p, "last_error"));
        assert_non_null(strstr(last, "401"));
        assert_null(strstr(last, KEY));
    }
    json_decref(list);
    /* an unknown fallback is refused before anything is asked */
    S.requests = 0;
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_chat_complete,
                                  "{\"model\":\"openai/gpt-test\",\"fallbacks\":[\"nope/x\"],"
                                  "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"),
                   404, "fallbacks[0]", "nope");
    assert_int_equal(S.requests, 0);
    /* every model failing is the last failure, said as such */
    lh_fake_http_stop(S.http);
    S.http = NULL;
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_chat_complete,
                                  "{\"model\":\"openai/gpt-test\",\"fallbacks\":"
                                  "[\"anthropic/c\"],\"messages\":[{\"role\":\"user\","
                                  "\"content\":\"hi\"}]}"),
                   503, NULL, "every model failed");
}

static void write_providers(fixture *f, const char *json)
{
    char path[700];
    snprintf(path, sizeof path, "%s/providers.json", f->data_dir);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fputs(json, out);
    fclose(out);
}

/* Named providers from $LH_DATA_DIR/providers.json sit beside the
 * environment's: two OpenAI-compatible servers side by side. */
static void test_the_providers_file(void **state)
{
    fixture *f = *state;
    char json[512];
    int port = lh_fake_http_port(S.http);
    snprintf(json, sizeof json,
             "{\"providers\":[{\"name\":\"groq\",\"type\":\"openai\",\"url\":"
             "\"http://127.0.0.1:%d/v1\",\"key\":\"%s\"},{\"name\":\"local\",\"type\":"
             "\"ollama\",\"url\":\"http://127.0.0.1:%d\",\"models\":[\"llama3\"]}]}",
             port, KEY, port);
    write_providers(f, json);
    lh_test_stack_restart(f, &lh_chat_actor, 2);
    json_t *sent = NULL;
    json_t *rep = ask(f, "groq/mixtral", &sent);
    assert_string_equal(json_string_value(json_object_get(rep, "model")), "groq/mixtral");
    assert_string_equal(json_string_value(json_object_get(rep, "provider")), "groq");
    assert_string_equal(json_string_value(json_object_get(sent, "model")), "mixtral");
    json_decref(sent);
    json_decref(rep);
    rep = ask(f, "local/llama3", &sent);
    assert_string_equal(json_string_value(json_object_get(rep, "provider")), "local");
    json_decref(sent);
    json_decref(rep);
    json_t *list = lh_test_ok(lh_test_call_s(f->nc, &lh_ep_chat_providers, "{}"));
    assert_int_equal(json_array_size(json_object_get(list, "providers")), 6);
    json_decref(list);
    /* a bad file is refused, naming the entry */
    static const char *const bad[][2] = {
        {"{\"providers\":[{\"name\":\"a\",\"type\":\"openai\"},{\"name\":\"a\",\"type\":"
         "\"openai\"}]}", "providers[1]: name 'a' is taken twice"},
        {"{\"providers\":[{\"name\":\"a\",\"type\":\"cohere\"}]}", "type"},
        {"{\"providers\":[{\"name\":\"a b\",\"type\":\"openai\"}]}", "may hold only"},
        {"{\"providers\":[{\"name\":\"o\",\"type\":\"ollama\"}]}", "needs its url"},
        {"{\"providers\":[", "providers.json"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_providers(f, bad[i][0]);
        lh_provider_confs confs;
        lh_err *err = lh_providers_load(f->data_dir, &confs);
        if (!err || !strstr(lh_err_message(err), bad[i][1]))
            fail_msg("%s: %s", bad[i][0], err ? lh_err_message(err) : "accepted");
        lh_err_free(err);
    }
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_the_answer_its_usage_and_citations),
        T(test_rate_limits_are_retried),
        T(test_refusals_never_show_the_key),
        T(test_unreadable_answers_and_a_gone_server),
        T(test_ollama),
        T(test_anthropic),
        T(test_fallbacks),
        T(test_the_providers_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
