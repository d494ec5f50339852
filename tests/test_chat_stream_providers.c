/*
 * test_chat_stream_providers.c — chatd's providers asked to stream (a
 * sink in the prompt), each made directly and driven by real libcurl
 * against a local HTTP server (tests/support/fake_http) that answers in
 * each one's streaming wire format: OpenAI's server-sent chunks ending in
 * [DONE], Ollama's NDJSON lines ending in done:true, Anthropic's named
 * events ending in message_stop; and the extractive provider, which hands
 * its quoted answer over word by word. What is checked: the pieces the
 * sink gets and that they join to the reply's message; what the request
 * asked (stream:true, include_usage, the headers); usage from the stream or
 * estimated; finish_reason; citations; lines cut between pieces (mid-line,
 * mid-character); retries before the first piece (429, 529); failures
 * mid-stream (an error event, a cut connection, a stream with no end,
 * unreadable lines, the wrong Content-Type), each >= 500 and never showing
 * the key; a sink that stops the transfer; a slow stream arriving as it
 * goes.
 */
#include "tests/support/harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/chat/provider.h"
#include "tests/support/fake_http.h"

#define KEY "test-key-123"
#define STR(s) ((lh_str){s, sizeof s - 1})

/* ---- the fake server: answers as the test says ---- */

/* One answer: a stream of `type` (its pieces, `delay_ms` apart, ending cut
 * when `cut`), or, with no type, `json` whole. */
typedef struct answer {
    unsigned status;
    const char *type;
    const char *const *pieces; /* NULL-terminated */
    int delay_ms;
    bool cut;
    const char *json;
} answer;

typedef struct server {
    lh_fake_http *http;
    pthread_mutex_t lock;
    answer answers[4]; /* the nth request gets answers[n], the last one from then on */
    int n_answers;
    int requests;
    char last_body[8192], last_url[64], auth[128], api_key[128], version[64], accept[64];
} server;

static server S;

static void copy_header(const lh_fake_request *req, const char *name, char *out, size_t cap)
{
    const char *v = lh_fake_header(req, name);
    snprintf(out, cap, "%s", v ? v : "");
}

static unsigned serve(void *user, const lh_fake_request *req, lh_buf *out)
{
    server *s = user;
    pthread_mutex_lock(&s->lock);
    int nth = s->requests++;
    snprintf(s->last_body, sizeof s->last_body, "%s", req->body);
    snprintf(s->last_url, sizeof s->last_url, "%s", req->url);
    copy_header(req, "Authorization", s->auth, sizeof s->auth);
    copy_header(req, "x-api-key", s->api_key, sizeof s->api_key);
    copy_header(req, "anthropic-version", s->version, sizeof s->version);
    copy_header(req, "Accept", s->accept, sizeof s->accept);
    answer a = s->answers[nth < s->n_answers ? nth : s->n_answers - 1];
    pthread_mutex_unlock(&s->lock);
    if (!a.type) {
        lh_buf_append_str(out, a.json ? a.json : "{}");
        return a.status;
    }
    lh_fake_stream(req, a.type);
    for (size_t i = 0; a.pieces[i]; i++)
        lh_fake_piece_s(req, i ? a.delay_ms : 0, a.pieces[i]);
    if (a.cut)
        lh_fake_cut(req);
    return a.status;
}

/* The answers to give, in order (the last one repeats). */
static void answers(int n, ...)
{
    va_list ap;
    va_start(ap, n);
    pthread_mutex_lock(&S.lock);
    for (int i = 0; i < n; i++)
        S.answers[i] = va_arg(ap, answer);
    S.n_answers = n;
    S.requests = 0;
    pthread_mutex_unlock(&S.lock);
    va_end(ap);
}

#define SSE "text/event-stream"
#define NDJSON "application/x-ndjson"

/* ---- the wire: what each provider's server sends ---- */

static const char *const OAI_OK[] = {
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],"
    "\"usage\":null}\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"The disk \"},"
    "\"finish_reason\":null}]}\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"is full [1].\"},"
    "\"finish_reason\":null}]}\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}\n\n",
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5,"
    "\"total_tokens\":17}}\n\n",
    "data: [DONE]\n\n",
    NULL};

/* As a server that sends no usage (and no finish_reason) would. */
static const char *const OAI_NO_USAGE[] = {
    ": a comment first, as some servers send\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Full, as \"}}]}\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"[1] says.\"}}]}\n\n",
    "data: [DONE]\n\n",
    NULL};

static const char *const OLL_OK[] = {
    "{\"model\":\"llama3\",\"created_at\":\"2026-12-03T00:00:00Z\",\"message\":{\"role\":"
    "\"assistant\",\"content\":\"Full \"},\"done\":false}\n",
    "{\"model\":\"llama3\",\"message\":{\"role\":\"assistant\",\"content\":\"disk [1].\"},"
    "\"done\":false}\n",
    "{\"model\":\"llama3\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,"
    "\"done_reason\":\"length\",\"prompt_eval_count\":21,\"eval_count\":4}", /* no newline */
    NULL};

#define ANT_START                                                                            \
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","  \
    "\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-test\","   \
    "\"stop_reason\":null,\"usage\":{\"input_tokens\":30,\"output_tokens\":1}}}\n\n"
#define ANT_TEXT(t)                                                                          \
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"        \
    "\"delta\":{\"type\":\"text_delta\",\"text\":\"" t "\"}}\n\n"

static const char *const ANT_OK[] = {
    ANT_START,
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    "event: ping\ndata: {\"type\": \"ping\"}\n\n",
    ANT_TEXT("Disk full "),
    ANT_TEXT("[1]."),
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
    "\"max_tokens\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":5}}\n\n",
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    NULL};

/* ---- the providers, and a sink that keeps what it gets ---- */

typedef struct providers {
    lh_chat_provider *oai, *oll, *ant, *ex;
} providers;

static int setup(void **state)
{
    S = (server){0};
    pthread_mutex_init(&S.lock, NULL);
    S.http = lh_fake_http_start(serve, &S);
    char url[64], v1[72];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", lh_fake_http_port(S.http));
    snprintf(v1, sizeof v1, "%s/v1", url);
    providers *p = calloc(1, sizeof *p);
    lh_provider_conf oai = {.name = "oai", .type = "openai", .url = v1, .key = KEY};
    lh_provider_conf oll = {.name = "oll", .type = "ollama", .url = url};
    lh_provider_conf ant = {.name = "ant", .type = "anthropic", .url = url, .key = KEY};
    p->oai = lh_chat_openai_create(&oai, 10000);
    p->oll = lh_chat_ollama_create(&oll, 10000);
    p->ant = lh_chat_anthropic_create(&ant, 10000);
    p->ex = lh_chat_extractive_create();
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    providers *p = *state;
    p->oai->destroy(p->oai);
    p->oll->destroy(p->oll);
    p->ant->destroy(p->ant);
    p->ex->destroy(p->ex);
    free(p);
    lh_fake_http_stop(S.http);
    pthread_mutex_destroy(&S.lock);
    return 0;
}

#define MAX_PIECES 64

/* What one `complete` gave: the pieces, the reply, the error. */
typedef struct got {
    lh_chat_sink sink;
    char *pieces[MAX_PIECES];
    size_t n;
    lh_buf all;
    size_t stop_after;  /* the sink refuses after this many pieces; 0: never */
    lh_err *refusal;    /* what it refused with */
    size_t sent_at_first; /* the server's pieces sent when the first one came */
    lh_arena *arena;
    lh_chat_complete_reply rep;
    lh_err *err;
} got;

static lh_err *keep(void *user, const char *text, size_t len)
{
    got *g = user;
    assert_true(len > 0); /* never an empty piece */
    if (!g->n)
        g->sent_at_first = lh_fake_http_pieces_sent(S.http);
    assert_true(g->n < MAX_PIECES);
    g->pieces[g->n] = strndup(text, len);
    g->n++;
    lh_buf_append(&g->all, text, len);
    g->sink.sent++;
    if (g->stop_after && g->n == g->stop_after)
        return g->refusal = lh_err_new(LH_EUNAVAILABLE, NULL, "the requester went away");
    return NULL;
}

static const lh_chat_message MESSAGES[] = {{.role = {"user", 4}, .content = {"E1234?", 6}}};
static const lh_chat_passage PASSAGES[] = {
    {{"kb", 2}, {"disk", 4}, {"Error E1234 means the disk is full.", 35}}};

/* Asks p to stream an answer to "E1234?", with the one passage. */
static void ask(lh_chat_provider *p, got *g)
{
    static const lh_chat_complete_request req = {.messages = {(void *)MESSAGES, 1}};
    g->sink = (lh_chat_sink){.delta = keep, .user = g};
    lh_buf_init(&g->all);
    g->arena = lh_arena_create();
    lh_chat_prompt prompt = {.req = &req, .model = STR("m-test"), .question = STR("E1234?"),
                             .passages = PASSAGES, .n_passages = 1, .time_left_ms = 10000,
                             .sink = &g->sink};
    g->err = p->complete(p, &prompt, g->arena, &g->rep);
}

static void got_free(got *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->pieces[i]);
    lh_buf_free(&g->all);
    lh_arena_destroy(g->arena);
    if (g->err != g->refusal)
        lh_err_free(g->refusal);
    lh_err_free(g->err);
}

/* The answer came: these pieces, joined the message; the reply whole. */
static void assert_pieces(got *g, const char *const *want)
{
    if (g->err)
        fail_msg("%s", lh_err_message(g->err));
    size_t n = 0;
    while (want[n])
        n++;
    assert_int_equal(g->n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(g->pieces[i], want[i]);
    const lh_chat_message *m = g->rep.message;
    assert_non_null(m);
    assert_int_equal(m->content.len, g->all.len);
    assert_memory_equal(m->content.s, g->all.data, g->all.len);
    assert_int_equal(g->sink.sent, n);
}

static void assert_usage(const got *g, int64_t prompt, int64_t completion, bool estimated)
{
    const lh_chat_usage *u = g->rep.usage;
    assert_non_null(u);
    assert_int_equal(u->prompt_tokens, prompt);
    assert_int_equal(u->completion_tokens, completion);
    assert_int_equal(u->estimated, estimated);
}

static void assert_finish(const got *g, const char *want)
{
    assert_int_equal(g->rep.finish_reason.len, strlen(want));
    assert_memory_equal(g->rep.finish_reason.s, want, strlen(want));
}

/* The one passage is cited as [1]. */
static void assert_cites_the_disk(const got *g)
{
    assert_int_equal(g->rep.citations.n, 1);
    const lh_chat_citation *c = g->rep.citations.v;
    assert_int_equal(c->n, 1);
    assert_memory_equal(c->id.s, "disk", 4);
}

/* A failure: its code at least `min`, its message holding `words`, and
 * never the key. */
static void assert_failed(const got *g, int min, const char *words)
{
    if (!g->err)
        fail_msg("no error; wanted one saying '%s'", words);
    const char *msg = lh_err_message(g->err);
    if (lh_err_code(g->err) < min || !strstr(msg, words))
        fail_msg("wanted >= %d saying '%s', got %d: %s", min, words, lh_err_code(g->err), msg);
    if (strstr(msg, KEY))
        fail_msg("the key is shown: %s", msg);
}

static json_t *sent_body(void)
{
    json_t *sent = json_loads(S.last_body, 0, NULL);
    assert_non_null(sent);
    return sent;
}

/* ---- each provider's stream ---- */

static void test_openai_streams(void **state)
{
    providers *p = *state;
    answers(1, (answer){200, SSE, OAI_OK, 0, false, NULL});
    got g = {0};
    ask(p->oai, &g);
    assert_pieces(&g, (const char *const[]){"The disk ", "is full [1].", NULL});
    assert_usage(&g, 12, 5, false);
    assert_finish(&g, "length");
    assert_cites_the_disk(&g);
    got_free(&g);
    assert_string_equal(S.last_url, "/v1/chat/completions");
    assert_string_equal(S.auth, "Bearer " KEY);
    assert_string_equal(S.accept, SSE);
    json_t *sent = sent_body();
    assert_true(json_is_true(json_object_get(sent, "stream")));
    assert_true(json_is_true(
        json_object_get(json_object_get(sent, "stream_options"), "include_usage")));
    assert_string_equal(json_string_value(json_object_get(sent, "model")), "m-test");
    json_decref(sent);
    /* a server that sends no usage: estimated, and marked so; "stop" */
    answers(1, (answer){200, SSE, OAI_NO_USAGE, 0, false, NULL});
    g = (got){0};
    ask(p->oai, &g);
    assert_pieces(&g, (const char *const[]){"Full, as ", "[1] says.", NULL});
    assert_true(((lh_chat_usage *)g.rep.usage)->estimated);
    assert_int_equal(((lh_chat_usage *)g.rep.usage)->completion_tokens, 4);
    assert_finish(&g, "stop");
    assert_cites_the_disk(&g);
    got_free(&g);
}

static void test_ollama_streams(void **state)
{
    providers *p = *state;
    answers(1, (answer){200, NDJSON, OLL_OK, 0, false, NULL});
    got g = {0};
    ask(p->oll, &g);
    assert_pieces(&g, (const char *const[]){"Full ", "disk [1].", NULL});
    assert_usage(&g, 21, 4, false);
    assert_finish(&g, "length");
    assert_cites_the_disk(&g);
    got_free(&g);
    assert_string_equal(S.last_url, "/api/chat");
    json_t *sent = sent_body();
    assert_true(json_is_true(json_object_get(sent, "stream")));
    json_decref(sent);
}

static void test_anthropic_streams(void **state)
{
    providers *p = *state;
    answers(1, (answer){200, SSE, ANT_OK, 0, false, NULL});
    got g = {0};
    ask(p->ant, &g);
    assert_pieces(&g, (const char *const[]){"Disk full ", "[1].", NULL});
    assert_usage(&g, 30, 5, false);
    assert_finish(&g, "length");
    assert_cites_the_disk(&g);
    got_free(&g);
    assert_string_equal(S.last_url, "/v1/messages");
    assert_string_equal(S.api_key, KEY);
    assert_string_equal(S.version, "2023-06-01");
    json_t *sent = sent_body();
    assert_true(json_is_true(json_object_get(sent, "stream")));
    json_decref(sent);
}

static void test_extractive_streams_word_by_word(void **state)
{
    providers *p = *state;
    got g = {0};
    ask(p->ex, &g);
    assert_null(g.err);
    const lh_chat_message *m = g.rep.message;
    assert_int_equal(g.n, lh_chat_count_words(m->content.s, m->content.len));
    assert_int_equal(g.all.len, m->content.len); /* the pieces join to the answer exactly */
    assert_memory_equal(g.all.data, m->content.s, m->content.len);
    assert_string_equal(g.pieces[0], "From ");
    assert_string_equal(g.pieces[g.n - 1], "[1]");
    assert_cites_the_disk(&g);
    got_free(&g);
    /* a sink that stops: no more pieces, its own error back */
    g = (got){.stop_after = 2};
    ask(p->ex, &g);
    assert_int_equal(g.n, 2);
    assert_ptr_equal(g.err, g.refusal);
    got_free(&g);
}

/* ---- lines cut between pieces ---- */

/* `body` served cut at each of `marks` (each cut after the next
 * occurrence of its text), pieces 20 ms apart so they come apart. */
static const char *const *cut_at(const char *body, const char *const *marks, char **store)
{
    static const char *pieces[16];
    size_t n = 0, from = 0;
    for (size_t i = 0; marks[i]; i++) {
        const char *at = strstr(body + from, marks[i]);
        assert_non_null(at);
        size_t to = (size_t)(at - body) + strlen(marks[i]);
        assert_true(to > from);
        store[n] = strndup(body + from, to - from);
        pieces[n] = store[n];
        n++;
        from = to;
    }
    store[n] = strdup(body + from);
    pieces[n] = store[n];
    pieces[n + 1] = NULL;
    store[n + 1] = NULL;
    return pieces;
}

static void free_store(char **store)
{
    for (size_t i = 0; store[i]; i++)
        free(store[i]);
}

static void split_case(lh_chat_provider *p, const char *type, const char *body,
                       const char *const *marks, const char *const *want)
{
    char *store[16] = {0};
    answers(1, (answer){200, type, cut_at(body, marks, store), 20, false, NULL});
    got g = {0};
    ask(p, &g);
    assert_pieces(&g, want);
    got_free(&g);
    free_store(store);
}

static void test_lines_split_across_pieces(void **state)
{
    providers *p = *state;
    /* "é" is \xC3\xA9, "☕" \xE2\x98\x95: cut inside both, inside "data:",
     * between CR and LF, inside a line's JSON */
    split_case(p->oai, SSE,
               "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"caf\xC3\xA9 \"}}]}\r\n"
               "\r\n"
               "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\xE2\x98\x95\"}}]}\n\n"
               "data: [DONE]\n\n",
               (const char *const[]){"caf\xC3", "\r", "da", "\xE2\x98", "[DO", NULL},
               (const char *const[]){"caf\xC3\xA9 ", "\xE2\x98\x95", NULL});
    split_case(p->oll, NDJSON,
               "{\"message\":{\"content\":\"caf\xC3\xA9 \"},\"done\":false}\n"
               "{\"message\":{\"content\":\"\xE2\x98\x95\"},\"done\":false}\n"
               "{\"done\":true}\n",
               (const char *const[]){"caf\xC3", "{\"mess", "\xE2", "\"done\":tr", NULL},
               (const char *const[]){"caf\xC3\xA9 ", "\xE2\x98\x95", NULL});
    split_case(p->ant, SSE,
               ANT_START ANT_TEXT("caf\xC3\xA9 ") ANT_TEXT("\xE2\x98\x95")
               "event: message_stop\ndata: {}\n\n",
               (const char *const[]){"event: mess", "caf\xC3", "\xE2\x98", "message_st", NULL},
               (const char *const[]){"caf\xC3\xA9 ", "\xE2\x98\x95", NULL});
}

/* ---- retried before the first piece ---- */

static void test_busy_then_streamed(void **state)
{
    providers *p = *state;
    answers(2, (answer){429, .json = "{\"error\":{\"message\":\"Rate limit reached\"}}"},
            (answer){200, SSE, OAI_OK, 0, false, NULL});
    got g = {0};
    ask(p->oai, &g);
    assert_pieces(&g, (const char *const[]){"The disk ", "is full [1].", NULL});
    got_free(&g);
    assert_int_equal(S.requests, 2);
    answers(2, (answer){503, .json = "{\"error\":\"loading the model\"}"},
            (answer){200, NDJSON, OLL_OK, 0, false, NULL});
    g = (got){0};
    ask(p->oll, &g);
    assert_pieces(&g, (const char *const[]){"Full ", "disk [1].", NULL});
    got_free(&g);
    assert_int_equal(S.requests, 2);
    answers(2,
            (answer){529, .json = "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                                  "\"message\":\"Overloaded\"}}"},
            (answer){200, SSE, ANT_OK, 0, false, NULL});
    g = (got){0};
    ask(p->ant, &g);
    assert_pieces(&g, (const char *const[]){"Disk full ", "[1].", NULL});
    got_free(&g);
    assert_int_equal(S.requests, 2);
    /* busy every time: the last refusal, said, after the attempts */
    answers(1, (answer){429, .json = "{\"error\":{\"message\":\"Rate limit reached\"}}"});
    g = (got){0};
    ask(p->oai, &g);
    assert_failed(&g, 500, "429");
    assert_failed(&g, 500, "Rate limit reached");
    assert_int_equal(g.n, 0);
    got_free(&g);
    assert_int_equal(S.requests, 3);
}

/* ---- failures mid-stream ---- */

static void test_anthropic_error_event_mid_stream(void **state)
{
    providers *p = *state;
    static const char *const overloaded[] = {
        ANT_START, ANT_TEXT("Disk "),
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
        "\"message\":\"Overloaded\"}}\n\n",
        ANT_TEXT("never read"), NULL};
    answers(1, (answer){200, SSE, overloaded, 0, false, NULL});
    got g = {0};
    ask(p->ant, &g);
    assert_failed(&g, 500, "overloaded_error: Overloaded");
    assert_non_null(strstr(lh_err_message(g.err), "provider 'ant'"));
    assert_int_equal(g.n, 1); /* what was delivered stays delivered */
    assert_string_equal(g.pieces[0], "Disk ");
    got_free(&g);
    assert_int_equal(S.requests, 1); /* never again once a piece was handed on */
}

static void test_openai_and_ollama_error_mid_stream(void **state)
{
    providers *p = *state;
    static const char *const oai[] = {
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"The \"}}]}\n\n",
        "data: {\"error\":{\"message\":\"the key " KEY " was revoked\",\"type\":"
        "\"server_error\"}}\n\n",
        NULL};
    answers(1, (answer){200, SSE, oai, 0, false, NULL});
    got g = {0};
    ask(p->oai, &g);
    assert_failed(&g, 502, "server_error: the key ************ was revoked");
    assert_int_equal(g.n, 1);
    got_free(&g);
    static const char *const oll[] = {
        "{\"message\":{\"content\":\"Full \"},\"done\":false}\n",
        "{\"error\":\"model runner has unexpectedly stopped\"}\n", NULL};
    answers(1, (answer){200, NDJSON, oll, 0, false, NULL});
    g = (got){0};
    ask(p->oll, &g);
    assert_failed(&g, 502, "model runner has unexpectedly stopped");
    got_free(&g);
}

/* Each provider's stream cut in the middle of a line, and ended cleanly
 * (after its whole lines) without its end: both a 502 saying the stream
 * ended before its end, the piece before it delivered. */
static void test_a_cut_stream(void **state)
{
    providers *p = *state;
    struct {
        lh_chat_provider *p;
        const char *type, *name;
        const char *pieces[4]; /* the last one half a line */
    } cases[] = {
        {p->oai, SSE, "oai", {OAI_OK[1], "data: {\"choices\":[{\"ind", NULL}},
        {p->oll, NDJSON, "oll", {OLL_OK[0], "{\"message\":{\"con", NULL}},
        {p->ant, SSE, "ant", {ANT_START, ANT_TEXT("Disk "), "event: mes", NULL}},
    };
    for (size_t i = 0; i < 3; i++) {
        for (int cut = 1; cut >= 0; cut--) {
            const char *pieces[4];
            memcpy(pieces, cases[i].pieces, sizeof pieces);
            if (!cut) /* a clean end after the whole lines */
                for (size_t k = 1; k < 4; k++)
                    if (!pieces[k]) {
                        pieces[k - 1] = NULL;
                        break;
                    }
            answers(1, (answer){200, cases[i].type, pieces, 0, cut, NULL});
            got g = {0};
            ask(cases[i].p, &g);
            char words[64];
            snprintf(words, sizeof words, "the stream from provider '%s' ended before its end",
                     cases[i].name);
            assert_failed(&g, 502, words);
            assert_int_equal(lh_err_code(g.err), 502);
            assert_int_equal(g.n, 1);
            got_free(&g);
            assert_int_equal(S.requests, 1);
        }
    }
}

static void test_unreadable_lines(void **state)
{
    providers *p = *state;
    answers(1, (answer){200, SSE, (const char *const[]){"data: {not json\n\n", NULL}, 0, false,
                        NULL});
    got g = {0};
    ask(p->oai, &g);
    assert_failed(&g, 502, "provider 'oai' sent an unreadable piece of its stream");
    assert_failed(&g, 502, "malformed JSON");
    assert_int_equal(lh_err_code(g.err), 502);
    got_free(&g);
    answers(1, (answer){200, NDJSON,
                        (const char *const[]){OLL_OK[0], "<html>garbage</html>\n", NULL}, 0,
                        false, NULL});
    g = (got){0};
    ask(p->oll, &g);
    assert_failed(&g, 502, "provider 'oll' sent an unreadable piece of its stream");
    assert_int_equal(g.n, 1);
    got_free(&g);
    answers(1, (answer){200, SSE,
                        (const char *const[]){ANT_START,
                                              "event: content_block_delta\ndata: [1,2\n\n",
                                              NULL},
                        0, false, NULL});
    g = (got){0};
    ask(p->ant, &g);
    assert_failed(&g, 502, "provider 'ant' sent an unreadable piece of its stream");
    got_free(&g);
}

static void test_the_wrong_content_type(void **state)
{
    providers *p = *state;
    answers(1, (answer){200, "text/html",
                        (const char *const[]){"<html>a captive portal " KEY "</html>", NULL}, 0,
                        false, NULL});
    got g = {0};
    ask(p->oai, &g);
    assert_failed(&g, 502, "text/html");
    assert_failed(&g, 502, "<html>a captive portal");
    assert_int_equal(lh_err_code(g.err), 502);
    got_free(&g);
    assert_int_equal(S.requests, 1);
    /* a whole JSON answer where a stream was asked */
    answers(1, (answer){200, .json = "{\"message\":{\"content\":\"whole\"},\"done\":true}"});
    g = (got){0};
    ask(p->oll, &g);
    assert_failed(&g, 502, "application/json");
    assert_failed(&g, 502, "application/x-ndjson");
    assert_int_equal(g.n, 0);
    got_free(&g);
}

static void test_refusals_never_show_the_key(void **state)
{
    providers *p = *state;
    answers(1, (answer){401, .json = "{\"error\":{\"message\":\"Incorrect API key provided: "
                                     KEY "\"}}"});
    got g = {0};
    ask(p->oai, &g);
    assert_failed(&g, 502, "HTTP 401");
    assert_failed(&g, 502, "Incorrect API key");
    got_free(&g);
    assert_int_equal(S.requests, 1);
    answers(1, (answer){401, .json = "{\"type\":\"error\",\"error\":{\"type\":"
                                     "\"authentication_error\",\"message\":\"bad " KEY "\"}}"});
    g = (got){0};
    ask(p->ant, &g);
    assert_failed(&g, 502, "bad ****");
    got_free(&g);
}

/* ---- the sink, and time ---- */

/* 20 pieces 50 ms apart. */
static const char *const SLOW[] = {
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a \"}}]}\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b \"}}]}\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"c \"}}]}\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"d \"}}]}\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"e\"}}]}\n\n",
    ": keep-alive\n\n", ": keep-alive\n\n", ": keep-alive\n\n", ": keep-alive\n\n",
    ": keep-alive\n\n", ": keep-alive\n\n", ": keep-alive\n\n", ": keep-alive\n\n",
    ": keep-alive\n\n", ": keep-alive\n\n", ": keep-alive\n\n", ": keep-alive\n\n",
    ": keep-alive\n\n", ": keep-alive\n\n",
    "data: [DONE]\n\n",
    NULL};

static void test_a_sink_that_stops_stops_the_transfer(void **state)
{
    providers *p = *state;
    answers(1, (answer){200, SSE, SLOW, 50, false, NULL});
    got g = {.stop_after = 1};
    ask(p->oai, &g);
    assert_non_null(g.err);
    assert_ptr_equal(g.err, g.refusal); /* the sink's own error, as it gave it */
    assert_int_equal(g.n, 1);
    got_free(&g);
    /* the server saw the connection go: its stream was not sent whole */
    lh_fake_outcome out;
    assert_true(lh_fake_http_last_stream(S.http, 10000, &out));
    assert_false(out.completed);
    assert_int_equal(out.pieces, 20);
    assert_true(out.sent < out.pieces);
}

static void test_a_slow_stream_arrives_in_pieces(void **state)
{
    providers *p = *state;
    size_t before = lh_fake_http_pieces_sent(S.http);
    answers(1, (answer){200, SSE, SLOW, 50, false, NULL});
    got g = {0};
    ask(p->oai, &g);
    assert_pieces(&g, (const char *const[]){"a ", "b ", "c ", "d ", "e", NULL});
    /* the first piece reached the sink while the server still had the rest */
    assert_true(g.sent_at_first - before < 20);
    got_free(&g);
    lh_fake_outcome out;
    assert_true(lh_fake_http_last_stream(S.http, 10000, &out));
    assert_true(out.completed);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_openai_streams),
        T(test_ollama_streams),
        T(test_anthropic_streams),
        T(test_extractive_streams_word_by_word),
        T(test_lines_split_across_pieces),
        T(test_busy_then_streamed),
        T(test_anthropic_error_event_mid_stream),
        T(test_openai_and_ollama_error_mid_stream),
        T(test_a_cut_stream),
        T(test_unreadable_lines),
        T(test_the_wrong_content_type),
        T(test_refusals_never_show_the_key),
        T(test_a_sink_that_stops_stops_the_transfer),
        T(test_a_slow_stream_arrives_in_pieces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
