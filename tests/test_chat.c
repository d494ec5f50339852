/*
 * test_chat.c — chatd's chat.complete with the built-in extractive
 * provider, on a real nats-server with embedd, vectord, matrixd, chatd and
 * the gateway in this process: answers quote the retrieved passages
 * verbatim and cite them by [n]; without `retrieve` every index is
 * searched; max_tokens cuts and keeps only the citations still used; bad
 * requests are refused before anything is retrieved; and
 * /v1/chat/completions answers in OpenAI's shape. Streamed: over the bus
 * (lh_call_stream) the pieces add up to the answer; over HTTP as
 * chat.completion.chunk events (role first, finish_reason last, usage
 * when asked, [DONE]) or the native events; a refusal before the stream
 * starts is an ordinary error response; the openai SDK streams too.
 */
#include "tests/support/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actors/chat/chat.h"
#include "actors/embed/embed.h"
#include "actors/matrix/matrix.h"
#include "actors/vector/vector.h"
#include "bus/stream.h"
#include "gateway/gateway.h"
#include "schemas/chat.h"
#include "schemas/embed.h"
#include "schemas/vector.h"

typedef lh_test_stack fixture;

static const lh_actor_def *const STACK[] = {&lh_embed_actor, &lh_vector_actor, &lh_matrix_actor,
                                            &lh_chat_actor, &lh_gateway_actor, NULL};

static int setup(void **state)
{
    *state = lh_test_stack_new(&(lh_test_stack_opts){.actors = STACK});
    return 0;
}

static json_t *call(fixture *f, const lh_contract *k, const char *json)
{
    return lh_test_ok(lh_test_call_s(f->nc, k, json));
}

static const char *const KB[][2] = {
    {"disk", "Storage nodes keep three copies of every object. Error code E1234 means the "
             "disk is full. Free some space or add a volume to clear it."},
    {"snap", "Snapshots are written every minute. They are kept for a week."},
    {"bill", "Invoices are sent on the first day of every month."},
};
static const char *const TICKETS[][2] = {
    {"t1", "The customer says the upload failed with error E1234 after lunch."},
};

/* An index of texts, their vectors from embedd. */
static void corpus(fixture *f, const char *name, const char *const (*docs)[2], size_t n)
{
    char body[128];
    snprintf(body, sizeof body, "{\"index\":\"%s\",\"dimension\":384}", name);
    json_decref(call(f, &lh_ep_vector_create, body));
    json_t *texts = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(texts, json_string(docs[i][1]));
    json_t *emb = lh_test_ok(lh_test_call_j(f->nc, &lh_ep_embed_request,
                                            json_pack("{s:o}", "texts", texts)));
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, json_pack("{s:s,s:O,s:s}", "id", docs[i][0], "vector",
                                               json_array_get(json_object_get(emb, "vectors"), i),
                                               "text", docs[i][1]));
    json_decref(emb);
    json_decref(lh_test_ok(lh_test_call_j(f->nc, &lh_ep_vector_upsert,
                                          json_pack("{s:s,s:o}", "index", name, "items", items))));
}

static const char *content_of(json_t *rep)
{
    return json_string_value(json_object_get(json_object_get(rep, "message"), "content"));
}

static json_t *citation(json_t *rep, size_t i)
{
    return json_array_get(json_object_get(rep, "citations"), i);
}

static void test_answers_quote_and_cite_the_passages(void **state)
{
    fixture *f = *state;
    corpus(f, "kb", KB, 3);
    json_t *rep = call(f, &lh_ep_chat_complete,
                       "{\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
                       "{\"role\":\"user\",\"content\":\"What does error E1234 mean?\"}],"
                       "\"retrieve\":{\"corpora\":[\"kb\"],\"k\":3}}");
    const char *answer = content_of(rep);
    /* the sentence that holds the question's words, verbatim, cited [1] */
    assert_non_null(strstr(answer, "\"Error code E1234 means the disk is full.\" [1]"));
    json_t *c = citation(rep, 0);
    assert_int_equal(json_integer_value(json_object_get(c, "n")), 1);
    assert_string_equal(json_string_value(json_object_get(c, "corpus")), "kb");
    assert_string_equal(json_string_value(json_object_get(c, "id")), "disk");
    assert_string_equal(json_string_value(json_object_get(rep, "provider")), "extractive");
    assert_string_equal(json_string_value(json_object_get(rep, "finish_reason")), "stop");
    json_t *usage = json_object_get(rep, "usage");
    assert_true(json_is_true(json_object_get(usage, "estimated")));
    assert_true(json_integer_value(json_object_get(usage, "prompt_tokens")) > 20);
    assert_true(json_integer_value(json_object_get(usage, "completion_tokens")) > 5);
    /* every [n] in the answer is a citation, and every citation is used */
    size_t i;
    json_t *each;
    json_array_foreach(json_object_get(rep, "citations"), i, each) {
        char marker[16];
        snprintf(marker, sizeof marker, "[%lld]",
                 (long long)json_integer_value(json_object_get(each, "n")));
        assert_non_null(strstr(answer, marker));
    }
    json_decref(rep);
}

static void test_every_index_is_searched_by_default(void **state)
{
    fixture *f = *state;
    json_t *rep = call(f, &lh_ep_chat_complete,
                       "{\"messages\":[{\"role\":\"user\",\"content\":\"upload failed\"}]}");
    assert_int_equal(json_array_size(json_object_get(rep, "citations")), 0);
    assert_non_null(strstr(content_of(rep), "retrieval found none")); /* nothing indexed */
    json_decref(rep);
    corpus(f, "kb", KB, 3);
    corpus(f, "tickets", TICKETS, 1);
    rep = call(f, &lh_ep_chat_complete,
               "{\"messages\":[{\"role\":\"user\",\"content\":\"why did the upload fail?\"}]}");
    json_t *c = citation(rep, 0);
    assert_string_equal(json_string_value(json_object_get(c, "corpus")), "tickets");
    assert_string_equal(json_string_value(json_object_get(c, "id")), "t1");
    json_decref(rep);
}

/* A question longer than a retrieval query is cut for the search, not refused. */
static void test_long_questions_are_answered(void **state)
{
    fixture *f = *state;
    corpus(f, "kb", KB, 3);
    lh_buf q;
    lh_buf_init(&q);
    lh_buf_append_str(&q, "{\"messages\":[{\"role\":\"user\",\"content\":\"");
    for (int i = 0; i < 2000; i++)
        lh_buf_append_str(&q, "invoices ");
    lh_buf_append_str(&q, "\"}]}");
    json_t *rep = call(f, &lh_ep_chat_complete, lh_buf_cstr(&q));
    assert_string_equal(json_string_value(json_object_get(citation(rep, 0), "id")), "bill");
    json_decref(rep);
    lh_buf_free(&q);
    rep = call(f, &lh_ep_chat_complete, "{\"messages\":[{\"role\":\"user\",\"content\":\"  \"}]}");
    assert_int_equal(json_array_size(json_object_get(rep, "citations")), 0); /* nothing asked */
    json_decref(rep);
}

static void test_max_tokens_cuts_the_answer(void **state)
{
    fixture *f = *state;
    corpus(f, "kb", KB, 3);
    json_t *rep = call(f, &lh_ep_chat_complete,
                       "{\"messages\":[{\"role\":\"user\",\"content\":\"snapshots kept\"}],"
                       "\"max_tokens\":4}");
    assert_string_equal(json_string_value(json_object_get(rep, "finish_reason")), "length");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(rep, "usage"),
                                                        "completion_tokens")), 4);
    /* the cut took every [n] with it, so no citation is left */
    assert_int_equal(json_array_size(json_object_get(rep, "citations")), 0);
    json_decref(rep);
}

static void expect(fixture *f, const char *json, int code, const char *field, const char *words)
{
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_chat_complete, json), code, field, words);
}

static void test_bad_requests_are_refused(void **state)
{
    fixture *f = *state;
    corpus(f, "kb", KB, 3);
    expect(f, "{\"messages\":[]}", 400, "messages", NULL);
    expect(f, "{}", 400, "messages", NULL);
    expect(f, "{\"messages\":[{\"role\":\"wizard\",\"content\":\"hi\"}]}", 400,
           "messages[0].role", NULL);
    expect(f, "{\"messages\":[{\"role\":\"user\"}]}", 400, "messages[0].content", NULL);
    expect(f, "{\"messages\":[{\"role\":\"assistant\",\"content\":\"hi\"}]}", 400, "messages",
           "last message");
    expect(f, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"model\":\"gpt-9\"}", 404,
           "model", "gpt-9");
    expect(f, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"model\":\"openai/x\"}",
           404, "model", "'openai'");
    expect(f, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":0}", 400,
           "max_tokens", NULL);
    expect(f, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":3}", 400,
           "temperature", NULL);
    expect(f, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true,"
              "\"model\":\"gpt-9\"}", 404, "model", "gpt-9"); /* refused whole, not streamed */
    expect(f, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"retrieve\":{\"corpora\":"
              "[\"nope\"]}}", 404, NULL, "nope");
    expect(f, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"bogus\":1}", 400, "bogus",
           NULL);
    lh_buf big;
    lh_buf_init(&big);
    lh_buf_append_str(&big, "{\"messages\":[{\"role\":\"user\",\"content\":\"");
    for (int i = 0; i < LH_CHAT_MAX_CONTENT_BYTES + 1; i++)
        lh_buf_append(&big, "a", 1);
    lh_buf_append_str(&big, "\"}]}");
    expect(f, lh_buf_cstr(&big), 413, "messages[0].content", NULL);
    lh_buf_free(&big);
    json_t *stats = call(f, &lh_ep_vector_stats, "{\"index\":\"kb\"}");
    assert_int_equal(json_integer_value(json_object_get(stats, "count")), 3);
    json_decref(stats);
}

static void test_openai_shape_over_http(void **state)
{
    fixture *f = *state;
    corpus(f, "kb", KB, 3);
    static const char body[] =
        "{\"model\":\"extractive\",\"messages\":[{\"role\":\"developer\",\"content\":\"brief\"},"
        "{\"role\":\"user\",\"content\":\"When are invoices sent?\"}],\"temperature\":0.2,"
        "\"top_p\":1,\"user\":\"u1\"}";
    lh_test_response r = lh_test_fetch(f->http_port, "POST", "/v1/chat/completions", NULL, body,
                                       strlen(body));
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "object")), "chat.completion");
    assert_int_equal(strncmp(json_string_value(json_object_get(r.json, "id")), "chatcmpl-", 9), 0);
    json_t *choice = json_array_get(json_object_get(r.json, "choices"), 0);
    json_t *msg = json_object_get(choice, "message");
    assert_string_equal(json_string_value(json_object_get(msg, "role")), "assistant");
    assert_non_null(strstr(json_string_value(json_object_get(msg, "content")),
                           "Invoices are sent on the first day of every month."));
    assert_string_equal(json_string_value(json_object_get(choice, "finish_reason")), "stop");
    json_t *u = json_object_get(r.json, "usage");
    assert_int_equal(json_integer_value(json_object_get(u, "total_tokens")),
                     json_integer_value(json_object_get(u, "prompt_tokens")) +
                         json_integer_value(json_object_get(u, "completion_tokens")));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(r.json, "citations"), 0), "id")),
                        "bill");
    lh_test_response_free(&r);
    static const char *const bad[] = {
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"n\":2}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":1}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = lh_test_fetch(f->http_port, "POST", "/v1/chat/completions", NULL, bad[i],
                          strlen(bad[i]));
        if (r.status != 400)
            fail_msg("%s answered %ld: %s", bad[i], r.status, r.body);
        assert_non_null(json_object_get(json_object_get(r.json, "error"), "message"));
        lh_test_response_free(&r);
    }
}

static void test_chat_command_prints_answer_and_citations(void **state)
{
    fixture *f = *state;
    corpus(f, "kb", KB, 3);
    char log[700];
    snprintf(log, sizeof log, "%s/cli.log", f->nats.dir);
    char *const argv[] = {LH_BINARY, "chat", "what does error E1234 mean?", "--corpus", "kb",
                          NULL};
    assert_int_equal(lh_test_stack_run(f, argv, log, 60000), 0);
    char *out = lh_test_read_file(log, NULL);
    assert_non_null(strstr(out, "\"Error code E1234 means the disk is full.\" [1]"));
    assert_non_null(strstr(out, "[1] kb/disk: Error code E1234"));
    unlink(log);
    char *const whole[] = {LH_BINARY, "chat", "what does error E1234 mean?", "--corpus", "kb",
                           "--no-stream", NULL}; /* the same answer, printed when it is whole */
    assert_int_equal(lh_test_stack_run(f, whole, log, 60000), 0);
    char *again = lh_test_read_file(log, NULL);
    assert_string_equal(again, out);
    free(again);
    free(out);
    unlink(log); /* retrieval options without corpora search every index */
    char *const every[] = {LH_BINARY, "chat", "what does error E1234 mean?", "--k", "2", NULL};
    assert_int_equal(lh_test_stack_run(f, every, log, 60000), 0);
    out = lh_test_read_file(log, NULL);
    assert_non_null(strstr(out, "[1] kb/disk"));
    free(out);
    unlink(log);
    char *const bad[] = {LH_BINARY, "chat", "hi", "--model", "openai/x", NULL};
    assert_int_equal(lh_test_stack_run(f, bad, log, 60000), 1);
    out = lh_test_read_file(log, NULL);
    assert_non_null(strstr(out, "error 404"));
    free(out);
}

/* The official openai npm package, as an application would use it. */
static void test_the_openai_sdk_works(void **state)
{
    fixture *f = *state;
    if (access(LH_SOURCE_DIR "/tests/js/node_modules/openai", F_OK) != 0)
        fail_msg("tests/js has no node_modules: run `npm ci --prefix tests/js` (ops/test.sh "
                 "does)");
    corpus(f, "kb", KB, 3);
    char url[64], log[700];
    snprintf(url, sizeof url, "LH_URL=http://127.0.0.1:%d", f->http_port);
    snprintf(log, sizeof log, "%s/node.log", f->nats.dir);
    char *const argv[] = {"node", LH_SOURCE_DIR "/tests/js/openai_sdk.mjs", NULL};
    char *const env[] = {url, NULL};
    int status = lh_test_run(argv, env, log, 120000);
    if (status != 0) {
        lh_test_log_tail(log, 40);
        fail_msg("the openai SDK script exited %d", status);
    }
}

/* ---- streamed ---- */

typedef struct pieces {
    lh_buf text;
    size_t n;
    char first_model[64];
} pieces;

static bool take_piece(void *user, const void *chunk)
{
    pieces *p = user;
    const lh_chat_chunk *c = chunk;
    if (!p->n)
        snprintf(p->first_model, sizeof p->first_model, "%.*s", (int)c->model.len, c->model.s);
    else
        assert_null(c->model.s); /* the first piece alone names the model */
    assert_true(c->delta.len > 0);
    lh_buf_append(&p->text, c->delta.s, c->delta.len);
    p->n++;
    return true;
}

static lh_err *ask_streamed(fixture *f, const char *model, pieces *p, lh_arena *arena,
                            lh_chat_complete_reply **rep)
{
    lh_chat_message m = {.role = {"user", 4}, .content = {"what does error E1234 mean?", 27}};
    lh_str kb = {"kb", 2};
    lh_chat_retrieve r = {.corpora = {&kb, 1}};
    lh_chat_complete_request req = {.messages = {&m, 1}, .retrieve = &r,
                                    .model = {model, model ? strlen(model) : 0}};
    LH_SET(&req, stream, true);
    return lh_call_stream(lh_test_stack_conn(f), &lh_ep_chat_complete, &req,
                          &lh_chat_chunk_schema, take_piece, p, arena, (void **)rep, 30000);
}

static void test_answers_stream_over_the_bus(void **state)
{
    fixture *f = *state;
    corpus(f, "kb", KB, 3);
    lh_arena *arena = lh_arena_create();
    pieces p = {0};
    lh_buf_init(&p.text);
    lh_chat_complete_reply *rep = NULL;
    lh_err *err = ask_streamed(f, NULL, &p, arena, &rep);
    if (err)
        fail_msg("%s", lh_err_message(err));
    const lh_chat_message *m = rep->message;
    assert_true(p.n > 1); /* extractive hands its quotes over word by word */
    assert_string_equal(p.first_model, "extractive");
    assert_int_equal(p.text.len, m->content.len); /* the pieces are the answer */
    assert_memory_equal(p.text.data, m->content.s, m->content.len);
    assert_non_null(strstr(lh_buf_cstr(&p.text), "Error code E1234 means the disk is full."));
    assert_int_equal(rep->citations.n, 1);
    lh_buf_reset(&p.text);
    p.n = 0;
    err = ask_streamed(f, "nope/x", &p, arena, &rep); /* refused before any piece */
    assert_non_null(err);
    assert_int_equal(lh_err_code(err), 404);
    assert_int_equal(p.n, 0);
    lh_err_free(err);
    lh_buf_free(&p.text);
    lh_arena_destroy(arena);
}

/* The `data:` payloads of an event stream, in order, with each event's
 * name (NULL for the default), parsed as JSON where they are. */
typedef struct sse_event {
    char name[32];
    char data[8192];
    json_t *json;
} sse_event;

static size_t sse_parse(const char *body, sse_event *ev, size_t cap)
{
    size_t n = 0;
    const char *p = body;
    while (*p && n < cap) {
        const char *end = strstr(p, "\n\n");
        assert_non_null(end); /* every event ends with a blank line */
        memset(&ev[n], 0, sizeof ev[n]);
        for (const char *line = p; line < end;) {
            const char *nl = memchr(line, '\n', (size_t)(end - line));
            size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);
            if (!strncmp(line, "event: ", 7))
                snprintf(ev[n].name, sizeof ev[n].name, "%.*s", (int)len - 7, line + 7);
            else if (!strncmp(line, "data: ", 6))
                snprintf(ev[n].data, sizeof ev[n].data, "%.*s", (int)len - 6, line + 6);
            else
                fail_msg("not an SSE line: %.*s", (int)len, line);
            line += len + 1;
        }
        ev[n].json = json_loads(ev[n].data, 0, NULL);
        n++;
        p = end + 2;
    }
    return n;
}

static void sse_free(sse_event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(ev[i].json);
}

static const char *delta_of(json_t *chunk, const char *key)
{
    json_t *d = json_object_get(json_array_get(json_object_get(chunk, "choices"), 0), "delta");
    return json_string_value(json_object_get(d, key));
}

static void test_openai_stream_over_http(void **state)
{
    fixture *f = *state;
    corpus(f, "kb", KB, 3);
    static const char body[] =
        "{\"model\":\"extractive\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"When are invoices sent?\"}],\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
    lh_test_response r = lh_test_fetch(f->http_port, "POST", "/v1/chat/completions", NULL, body,
                                       strlen(body));
    assert_int_equal(r.status, 200);
    char ct[64];
    assert_non_null(lh_test_header(&r, "Content-Type", ct, sizeof ct));
    assert_string_equal(ct, "text/event-stream");
    static sse_event ev[64];
    size_t n = sse_parse(r.body, ev, 64);
    assert_true(n >= 4); /* a piece at least, the finish, the usage, [DONE] */
    assert_string_equal(ev[n - 1].data, "[DONE]");
    assert_string_equal(delta_of(ev[0].json, "role"), "assistant");
    lh_buf text;
    lh_buf_init(&text);
    for (size_t i = 0; i + 3 < n; i++) {
        assert_string_equal(json_string_value(json_object_get(ev[i].json, "object")),
                            "chat.completion.chunk");
        assert_string_equal(json_string_value(json_object_get(ev[i].json, "model")), "extractive");
        assert_true(i == 0 || !delta_of(ev[i].json, "role")); /* the role comes once */
        lh_buf_append_str(&text, delta_of(ev[i].json, "content"));
    }
    assert_non_null(strstr(lh_buf_cstr(&text), "Invoices are sent on the first day"));
    json_t *last = json_array_get(json_object_get(ev[n - 3].json, "choices"), 0);
    assert_string_equal(json_string_value(json_object_get(last, "finish_reason")), "stop");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(ev[n - 3].json, "citations"), 0), "id")),
                        "bill");
    json_t *usage = json_object_get(ev[n - 2].json, "usage");
    assert_int_equal(json_array_size(json_object_get(ev[n - 2].json, "choices")), 0);
    assert_int_equal(json_integer_value(json_object_get(usage, "total_tokens")),
                     json_integer_value(json_object_get(usage, "prompt_tokens")) +
                         json_integer_value(json_object_get(usage, "completion_tokens")));
    assert_true(json_integer_value(json_object_get(usage, "completion_tokens")) > 0);
    /* every chunk names the same completion */
    for (size_t i = 1; i + 1 < n; i++)
        assert_string_equal(json_string_value(json_object_get(ev[i].json, "id")),
                            json_string_value(json_object_get(ev[0].json, "id")));
    sse_free(ev, n);
    lh_buf_free(&text);
    lh_test_response_free(&r);
    /* without include_usage: no usage chunk */
    static const char plain[] =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"When are invoices sent?\"}],"
        "\"stream\":true}";
    r = lh_test_fetch(f->http_port, "POST", "/v1/chat/completions", NULL, plain, strlen(plain));
    n = sse_parse(r.body, ev, 64);
    assert_string_equal(ev[n - 1].data, "[DONE]");
    for (size_t i = 0; i + 1 < n; i++)
        assert_null(json_object_get(ev[i].json, "usage"));
    sse_free(ev, n);
    lh_test_response_free(&r);
}

static void test_a_refused_stream_is_an_openai_error(void **state)
{
    fixture *f = *state;
    static const char body[] =
        "{\"model\":\"nope/x\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
        "\"stream\":true}";
    lh_test_response r = lh_test_fetch(f->http_port, "POST", "/v1/chat/completions", NULL, body,
                                       strlen(body));
    assert_int_equal(r.status, 404);
    json_t *e = json_object_get(r.json, "error");
    assert_non_null(strstr(json_string_value(json_object_get(e, "message")), "nope"));
    assert_string_equal(json_string_value(json_object_get(e, "type")), "invalid_request_error");
    assert_string_equal(json_string_value(json_object_get(e, "param")), "model");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "model_not_found");
    lh_test_response_free(&r);
    static const char bad[] = "{\"messages\":[],\"stream\":true}"; /* the gateway's own refusal */
    r = lh_test_fetch(f->http_port, "POST", "/v1/chat/completions", NULL, bad, strlen(bad));
    assert_int_equal(r.status, 400);
    e = json_object_get(r.json, "error");
    assert_string_equal(json_string_value(json_object_get(e, "param")), "messages");
    assert_true(json_is_null(json_object_get(e, "code")));
    lh_test_response_free(&r);
}

static void test_native_stream_over_http(void **state)
{
    fixture *f = *state;
    corpus(f, "kb", KB, 3);
    static const char body[] =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"what does error E1234 mean?\"}],"
        "\"retrieve\":{\"corpora\":[\"kb\"]},\"stream\":true}";
    lh_test_response r = lh_test_fetch(f->http_port, "POST", "/v1/chat", NULL, body,
                                       strlen(body));
    assert_int_equal(r.status, 200);
    static sse_event ev[64];
    size_t n = sse_parse(r.body, ev, 64);
    assert_true(n >= 2);
    assert_string_equal(ev[n - 1].name, "reply");
    lh_buf text;
    lh_buf_init(&text);
    for (size_t i = 0; i + 1 < n; i++) {
        assert_string_equal(ev[i].name, "");
        lh_buf_append_str(&text, json_string_value(json_object_get(ev[i].json, "delta")));
    }
    json_t *msg = json_object_get(ev[n - 1].json, "message");
    assert_string_equal(lh_buf_cstr(&text), json_string_value(json_object_get(msg, "content")));
    assert_int_equal(json_array_size(json_object_get(ev[n - 1].json, "citations")), 1);
    sse_free(ev, n);
    lh_buf_free(&text);
    lh_test_response_free(&r);
    /* and without stream, the same route answers whole */
    static const char whole[] =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"what does error E1234 mean?\"}]}";
    r = lh_test_fetch(f->http_port, "POST", "/v1/chat", NULL, whole, strlen(whole));
    assert_int_equal(r.status, 200);
    assert_non_null(json_object_get(r.json, "message"));
    lh_test_response_free(&r);
}

static void test_providers_are_listed(void **state)
{
    fixture *f = *state;
    json_t *rep = call(f, &lh_ep_chat_providers, "{}");
    assert_string_equal(json_string_value(json_object_get(rep, "default_model")), "extractive");
    json_t *p = json_array_get(json_object_get(rep, "providers"), 0);
    assert_string_equal(json_string_value(json_object_get(p, "name")), "extractive");
    assert_true(json_is_true(json_object_get(p, "is_default")));
    json_decref(rep);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, lh_test_stack_teardown)
    const struct CMUnitTest tests[] = {
        T(test_answers_quote_and_cite_the_passages),
        T(test_every_index_is_searched_by_default),
        T(test_long_questions_are_answered),
        T(test_max_tokens_cuts_the_answer),
        T(test_bad_requests_are_refused),
        T(test_openai_shape_over_http),
        T(test_answers_stream_over_the_bus),
        T(test_openai_stream_over_http),
        T(test_a_refused_stream_is_an_openai_error),
        T(test_native_stream_over_http),
        T(test_chat_command_prints_answer_and_citations),
        T(test_the_openai_sdk_works),
        T(test_providers_are_listed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
