/*
 * provider_anthropic.c — Anthropic's Messages API: POST {base}/v1/messages
 * with `x-api-key` and `anthropic-version: 2023-06-01`.
 * `max_tokens` is required there (1024 when the request names none); the
 * system text (numbered passages, then the conversation's system
 * messages) is a top-level field; the answer is the text blocks of
 * `content`; usage is `input_tokens` and `output_tokens`; `stop_reason`
 * "max_tokens" is a cut. 529 (overloaded) is retried like a 5xx.
 * Streamed (a sink given): `stream: true` brings server-sent events —
 * message_start (input_tokens), content_block_delta (a text_delta's text
 * is the next piece), message_delta (stop_reason, output_tokens),
 * message_stop (the end) — and an `error` event is a failure mid-stream
 * (529 for overloaded_error, as before the stream, else 502).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/chat/provider.h"
#include "bus/json.h"
#include "bus/sse.h"

#define LH_ANT_DEFAULT_MAX_TOKENS 1024

#define LH_ANT_BLOCK(F, T)                                                                  \
    F(T, type, STRING, .doc = "`text`, or another kind of block.")                          \
    F(T, text, STRING, .doc = "The text of a text block.")
LH_SCHEMA_DECLARE(lh_ant_block, LH_ANT_BLOCK)
LH_SCHEMA_DEFINE(lh_ant_block, LH_ANT_BLOCK, "An Anthropic content block.")
#define LH_ANT_USAGE(F, T)                                                                  \
    F(T, input_tokens, INT, .doc = "Tokens read.")                                          \
    F(T, output_tokens, INT, .doc = "Tokens written.")
LH_SCHEMA_DECLARE(lh_ant_usage, LH_ANT_USAGE)
LH_SCHEMA_DEFINE(lh_ant_usage, LH_ANT_USAGE, "Anthropic usage.")
#define LH_ANT_RESPONSE(F, T)                                                               \
    F(T, content, OBJECTS, .required = true, .sub = &lh_ant_block_schema,                   \
      .doc = "The answer's blocks (none: an empty answer).")                                \
    F(T, stop_reason, STRING, .doc = "Why it stopped.")                                     \
    F(T, usage, OBJECT, .sub = &lh_ant_usage_schema, .doc = "Tokens used.")
LH_SCHEMA_DECLARE(lh_ant_response, LH_ANT_RESPONSE)
LH_SCHEMA_DEFINE(lh_ant_response, LH_ANT_RESPONSE, "An Anthropic message.")

/* A streamed event's data: what each kind of event holds that is read. */
#define LH_ANT_START(F, T) F(T, usage, OBJECT, .sub = &lh_ant_usage_schema, .doc = "Tokens.")
LH_SCHEMA_DECLARE(lh_ant_start, LH_ANT_START)
LH_SCHEMA_DEFINE(lh_ant_start, LH_ANT_START, "A message_start's message.")
#define LH_ANT_DELTA(F, T)                                                                  \
    F(T, type, STRING, .doc = "`text_delta`, or another kind of piece.")                    \
    F(T, text, STRING, .doc = "A text_delta's text.")                                       \
    F(T, stop_reason, STRING, .doc = "A message_delta's: why it stopped.")
LH_SCHEMA_DECLARE(lh_ant_delta, LH_ANT_DELTA)
LH_SCHEMA_DEFINE(lh_ant_delta, LH_ANT_DELTA, "A streamed delta.")
#define LH_ANT_ERROR(F, T)                                                                  \
    F(T, type, STRING, .doc = "Its kind: overloaded_error, api_error, ...")                 \
    F(T, message, STRING, .doc = "Why.")
LH_SCHEMA_DECLARE(lh_ant_error, LH_ANT_ERROR)
LH_SCHEMA_DEFINE(lh_ant_error, LH_ANT_ERROR, "An Anthropic error.")
#define LH_ANT_EVENT(F, T)                                                                  \
    F(T, message, OBJECT, .sub = &lh_ant_start_schema, .doc = "message_start's.")           \
    F(T, delta, OBJECT, .sub = &lh_ant_delta_schema, .doc = "The *_delta events'.")         \
    F(T, usage, OBJECT, .sub = &lh_ant_usage_schema, .doc = "message_delta's.")             \
    F(T, error, OBJECT, .sub = &lh_ant_error_schema, .doc = "An error event's.")
LH_SCHEMA_DECLARE(lh_ant_event, LH_ANT_EVENT)
LH_SCHEMA_DEFINE(lh_ant_event, LH_ANT_EVENT, "An Anthropic stream event's data.")

#define LH_ANT_OVERLOADED 529 /* Anthropic's own status for it: >= 500, the provider's failure */

typedef struct lh_ant {
    lh_chat_provider base;
    char name[LH_PROVIDER_NAME_MAX + 1];
    lh_http_service http; /* {base}/v1/messages, x-api-key */
} lh_ant;

static bool lh_ant_is(lh_str s, const char *c)
{
    return s.len == strlen(c) && !memcmp(s.s, c, s.len);
}

/* The passages, then every system message: Anthropic's `system`. */
static void lh_ant_system(const lh_chat_prompt *p, lh_buf *out)
{
    if (p->n_passages)
        lh_chat_passages_text(p, out);
    const lh_chat_message *m = p->req->messages.v;
    for (size_t i = 0; i < p->req->messages.n; i++)
        if (lh_ant_is(m[i].role, "system")) {
            if (out->len)
                lh_buf_append_str(out, "\n\n");
            lh_buf_append(out, m[i].content.s, m[i].content.len);
        }
}

static void lh_ant_body(const lh_chat_prompt *p, lh_buf *b)
{
    const lh_chat_complete_request *req = p->req;
    lh_buf_append_str(b, "{\"model\":");
    lh_json_append_string(b, p->model.s, p->model.len);
    lh_buf_appendf(b, ",\"max_tokens\":%lld",
                   (long long)(req->has_max_tokens ? req->max_tokens : LH_ANT_DEFAULT_MAX_TOKENS));
    if (p->sink)
        lh_buf_append_str(b, ",\"stream\":true");
    lh_buf sys;
    lh_buf_init(&sys);
    lh_ant_system(p, &sys);
    if (sys.len) {
        lh_buf_append_str(b, ",\"system\":");
        lh_json_append_string(b, sys.data, sys.len);
    }
    lh_buf_free(&sys);
    if (req->has_temperature) {
        lh_buf_append_str(b, ",\"temperature\":");
        lh_json_append_float(b, req->temperature > 1 ? 1 : req->temperature, false);
    }
    lh_buf_append_str(b, ",\"messages\":[");
    const lh_chat_message *m = req->messages.v;
    bool first = true;
    for (size_t i = 0; i < req->messages.n; i++) {
        if (lh_ant_is(m[i].role, "system"))
            continue;
        lh_buf_append_str(b, first ? "{\"role\":" : ",{\"role\":");
        lh_json_append_string(b, m[i].role.s, m[i].role.len);
        lh_buf_append_str(b, ",\"content\":");
        lh_json_append_string(b, m[i].content.s, m[i].content.len);
        lh_buf_append(b, "}", 1);
        first = false;
    }
    lh_buf_append_str(b, "]}");
}

/* The text blocks of the answer, one after another. */
static lh_str lh_ant_text(const lh_ant_response *r, lh_arena *arena)
{
    lh_buf all;
    lh_buf_init(&all);
    const lh_ant_block *blocks = r->content.v;
    for (size_t i = 0; i < r->content.n; i++)
        if (lh_ant_is(blocks[i].type, "text") && blocks[i].text.s)
            lh_buf_append(&all, blocks[i].text.s, blocks[i].text.len);
    /* an answer of no text blocks is an empty answer, not a broken one */
    lh_str s = {lh_arena_strndup(arena, all.data ? all.data : "", all.len), all.len};
    lh_buf_free(&all);
    return s;
}

static lh_str lh_ant_finish(lh_str stop_reason)
{
    return lh_ant_is(stop_reason, "max_tokens") ? (lh_str){"length", 6} : (lh_str){"stop", 4};
}

/* ---- streamed ---- */

static void lh_ant_usage_read(lh_chat_stream *st, const lh_ant_usage *u)
{
    if (u && u->has_input_tokens)
        LH_SET(st, prompt_tokens, u->input_tokens);
    if (u && u->has_output_tokens)
        LH_SET(st, completion_tokens, u->output_tokens);
}

static lh_err *lh_ant_error_event(lh_chat_stream *st, const lh_ant_event *e)
{
    const lh_ant_error *x = e->error;
    lh_str type = x ? x->type : (lh_str){0}, message = x ? x->message : (lh_str){0};
    int code = lh_ant_is(type, "overloaded_error") ? LH_ANT_OVERLOADED : LH_EUPSTREAM;
    return lh_chat_stream_failed(st, code, type, message);
}

static lh_err *lh_ant_event_read(void *user, const lh_sse_event *ev)
{
    lh_chat_stream *st = user;
    lh_str name = {ev->name, ev->name_len};
    if (st->ended)
        return NULL; /* nothing counts after message_stop */
    if (lh_ant_is(name, "message_stop")) {
        st->ended = true;
        return NULL;
    }
    bool read = lh_ant_is(name, "message_start") || lh_ant_is(name, "content_block_delta") ||
                lh_ant_is(name, "message_delta") || lh_ant_is(name, "error");
    if (!read)
        return NULL; /* ping, content_block_start/stop, and kinds not known yet */
    lh_ant_event *e = NULL;
    lh_err *err = lh_chat_stream_decode(st, ev->data, ev->data_len, &lh_ant_event_schema,
                                        (void **)&e);
    if (err)
        return err;
    if (lh_ant_is(name, "error"))
        return lh_ant_error_event(st, e);
    if (lh_ant_is(name, "message_start") && e->message)
        lh_ant_usage_read(st, ((lh_ant_start *)e->message)->usage);
    const lh_ant_delta *d = e->delta;
    if (lh_ant_is(name, "message_delta")) {
        lh_ant_usage_read(st, e->usage);
        if (d && d->stop_reason.s)
            lh_chat_stream_finish(st, lh_ant_finish(d->stop_reason));
    }
    if (lh_ant_is(name, "content_block_delta") && d && lh_ant_is(d->type, "text_delta") &&
        d->text.s)
        return lh_chat_stream_text(st, d->text.s, d->text.len);
    return NULL;
}

static lh_err *lh_ant_piece(void *user, const char *data, size_t len)
{
    return lh_sse_feed(user, data, len);
}

static lh_err *lh_ant_stream(lh_ant *a, const lh_chat_prompt *p, const lh_buf *body,
                             lh_arena *arena, lh_chat_complete_reply *rep)
{
    lh_chat_stream st;
    lh_chat_stream_init(&st, p, &a->http, arena);
    lh_sse sse;
    lh_sse_init(&sse, lh_ant_event_read, &st);
    lh_err *err = lh_http_service_stream(&a->http, "anthropic-version: 2023-06-01",
                                         p->time_left_ms, body, "text/event-stream",
                                         lh_ant_piece, &sse, lh_chat_stream_check, &st);
    err = lh_chat_stream_end(&st, err, rep);
    lh_sse_free(&sse);
    lh_chat_stream_free(&st);
    return err;
}

/* ---- whole ---- */

static lh_err *lh_ant_whole(lh_ant *a, const lh_chat_prompt *p, const lh_buf *body,
                            lh_arena *arena, lh_chat_complete_reply *rep)
{
    lh_ant_response *r = NULL;
    lh_err *err = lh_http_service_post(&a->http, "anthropic-version: 2023-06-01",
                                       p->time_left_ms, body, &lh_ant_response_schema, arena,
                                       (void **)&r);
    if (err)
        return lh_err_wrap(err, "chat with %.*s", (int)p->model.len, p->model.s);
    const lh_ant_usage *au = r->usage;
    lh_chat_reply_fill(p, lh_ant_text(r, arena), lh_ant_finish(r->stop_reason),
                       au && au->has_input_tokens ? &au->input_tokens : NULL,
                       au && au->has_output_tokens ? &au->output_tokens : NULL, arena, rep);
    return NULL;
}

static lh_err *lh_ant_complete(lh_chat_provider *self, const lh_chat_prompt *p, lh_arena *arena,
                               lh_chat_complete_reply *rep)
{
    lh_ant *a = (lh_ant *)self;
    lh_buf body;
    lh_buf_init(&body);
    lh_ant_body(p, &body);
    lh_err *err = p->sink ? lh_ant_stream(a, p, &body, arena, rep)
                          : lh_ant_whole(a, p, &body, arena, rep);
    lh_buf_free(&body);
    return err;
}

static void lh_ant_destroy(lh_chat_provider *p)
{
    lh_ant *a = (lh_ant *)p;
    lh_http_service_free(&a->http);
    free(a);
}

lh_chat_provider *lh_chat_anthropic_create(const lh_provider_conf *c, int timeout_ms)
{
    lh_ant *a = calloc(1, sizeof *a);
    if (!a)
        abort(); /* out of memory: as lh_buf does, we do not limp on */
    snprintf(a->name, sizeof a->name, "%s", c->name);
    char who[LH_PROVIDER_NAME_MAX + 16];
    snprintf(who, sizeof who, "provider '%s'", c->name);
    lh_http_service_init(&a->http, who,
                         lh_http_url(c->url, "https://api.anthropic.com", "/v1/messages"),
                         c->key, "x-api-key: %s", timeout_ms);
    a->base = (lh_chat_provider){.name = a->name, .type = "anthropic", .takes_model = true,
                                 .complete = lh_ant_complete, .destroy = lh_ant_destroy};
    return &a->base;
}
