/*
 * provider_openai.c — any OpenAI-compatible server (OpenAI, vLLM,
 * llama.cpp's server, OpenRouter, Groq): POST {base}/chat/completions
 * with a Bearer key. Retrieved passages go first, as a system message
 * numbering them; the answer's [n] markers name the citations; usage is
 * the server's. Streamed (a sink given): `stream: true` with usage asked
 * for, read as server-sent events of chunks whose `delta.content` is the
 * next piece, ended by `data: [DONE]`; a server that sends no usage chunk
 * has its usage estimated, one that stops before [DONE] has failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/chat/provider.h"
#include "bus/json.h"
#include "bus/sse.h"

/* What is read of a response; the rest is passed over. */
#define LH_OAI_MESSAGE(F, T) F(T, content, STRING, .doc = "The answer.")
LH_SCHEMA_DECLARE(lh_oai_message, LH_OAI_MESSAGE)
LH_SCHEMA_DEFINE(lh_oai_message, LH_OAI_MESSAGE, "An OpenAI response message.")
#define LH_OAI_CHOICE(F, T)                                                                 \
    F(T, message, OBJECT, .sub = &lh_oai_message_schema, .doc = "The message.")             \
    F(T, finish_reason, STRING, .doc = "Why it stopped.")
LH_SCHEMA_DECLARE(lh_oai_choice, LH_OAI_CHOICE)
LH_SCHEMA_DEFINE(lh_oai_choice, LH_OAI_CHOICE, "An OpenAI choice.")
#define LH_OAI_USAGE(F, T)                                                                  \
    F(T, prompt_tokens, INT, .doc = "Tokens read.")                                         \
    F(T, completion_tokens, INT, .doc = "Tokens written.")
LH_SCHEMA_DECLARE(lh_oai_usage, LH_OAI_USAGE)
LH_SCHEMA_DEFINE(lh_oai_usage, LH_OAI_USAGE, "OpenAI usage.")
#define LH_OAI_RESPONSE(F, T)                                                               \
    F(T, choices, OBJECTS, .sub = &lh_oai_choice_schema, .doc = "The choices.")             \
    F(T, usage, OBJECT, .sub = &lh_oai_usage_schema, .doc = "Tokens used.")
LH_SCHEMA_DECLARE(lh_oai_response, LH_OAI_RESPONSE)
LH_SCHEMA_DEFINE(lh_oai_response, LH_OAI_RESPONSE, "An OpenAI chat completion.")

/* A streamed chunk: choices' deltas, or usage (choices empty), or an error. */
#define LH_OAI_DELTA_CHOICE(F, T)                                                           \
    F(T, index, INT, .doc = "Which choice.")                                                \
    F(T, delta, OBJECT, .sub = &lh_oai_message_schema, .doc = "The next piece.")            \
    F(T, finish_reason, STRING, .doc = "Why it stopped, on its last piece.")
LH_SCHEMA_DECLARE(lh_oai_delta_choice, LH_OAI_DELTA_CHOICE)
LH_SCHEMA_DEFINE(lh_oai_delta_choice, LH_OAI_DELTA_CHOICE, "An OpenAI streamed choice.")
#define LH_OAI_ERROR(F, T)                                                                  \
    F(T, type, STRING, .doc = "Its kind.")                                                  \
    F(T, message, STRING, .doc = "Why.")
LH_SCHEMA_DECLARE(lh_oai_error, LH_OAI_ERROR)
LH_SCHEMA_DEFINE(lh_oai_error, LH_OAI_ERROR, "An OpenAI error.")
#define LH_OAI_CHUNK(F, T)                                                                  \
    F(T, choices, OBJECTS, .sub = &lh_oai_delta_choice_schema, .doc = "The pieces.")        \
    F(T, usage, OBJECT, .sub = &lh_oai_usage_schema, .doc = "Tokens used, at the end.")     \
    F(T, error, OBJECT, .sub = &lh_oai_error_schema, .doc = "A failure mid-stream.")
LH_SCHEMA_DECLARE(lh_oai_chunk, LH_OAI_CHUNK)
LH_SCHEMA_DEFINE(lh_oai_chunk, LH_OAI_CHUNK, "An OpenAI chat completion chunk.")

typedef struct lh_oai {
    lh_chat_provider base;
    char name[LH_PROVIDER_NAME_MAX + 1];
    lh_http_service http; /* {base}/chat/completions, Bearer key */
} lh_oai;

static void lh_oai_body(const lh_chat_prompt *p, lh_buf *b)
{
    const lh_chat_complete_request *req = p->req;
    lh_buf_append_str(b, "{\"model\":");
    lh_json_append_string(b, p->model.s, p->model.len);
    if (p->sink)
        lh_buf_append_str(b, ",\"stream\":true,\"stream_options\":{\"include_usage\":true}");
    lh_buf_append_str(b, ",\"messages\":");
    lh_chat_messages_json(p, b);
    if (req->has_max_tokens)
        lh_buf_appendf(b, ",\"max_tokens\":%lld", (long long)req->max_tokens);
    if (req->has_temperature) {
        lh_buf_append_str(b, ",\"temperature\":");
        lh_json_append_float(b, req->temperature, false);
    }
    lh_buf_append(b, "}", 1);
}

/* ---- streamed ---- */

static lh_err *lh_oai_chunk_read(lh_chat_stream *st, const lh_oai_chunk *c)
{
    if (c->error)
        return lh_chat_stream_failed(st, LH_EUPSTREAM, ((lh_oai_error *)c->error)->type,
                                     ((lh_oai_error *)c->error)->message);
    const lh_oai_usage *u = c->usage;
    if (u && u->has_prompt_tokens)
        LH_SET(st, prompt_tokens, u->prompt_tokens);
    if (u && u->has_completion_tokens)
        LH_SET(st, completion_tokens, u->completion_tokens);
    const lh_oai_delta_choice *ch = c->choices.v;
    for (size_t i = 0; i < c->choices.n; i++) {
        if (ch[i].index != 0)
            continue; /* one answer was asked for */
        lh_chat_stream_finish(st, ch[i].finish_reason);
        const lh_oai_message *d = ch[i].delta;
        lh_err *err = d && d->content.s ? lh_chat_stream_text(st, d->content.s, d->content.len)
                                        : NULL;
        if (err)
            return err;
    }
    return NULL;
}

static lh_err *lh_oai_event(void *user, const lh_sse_event *ev)
{
    lh_chat_stream *st = user;
    if (st->ended)
        return NULL; /* nothing counts after [DONE] */
    if (!strcmp(ev->data, "[DONE]")) {
        st->ended = true;
        return NULL;
    }
    lh_oai_chunk *c = NULL;
    lh_err *err = lh_chat_stream_decode(st, ev->data, ev->data_len, &lh_oai_chunk_schema,
                                        (void **)&c);
    return err ? err : lh_oai_chunk_read(st, c);
}

static lh_err *lh_oai_piece(void *user, const char *data, size_t len)
{
    return lh_sse_feed(user, data, len);
}

static lh_err *lh_oai_stream(lh_oai *o, const lh_chat_prompt *p, const lh_buf *body,
                             lh_arena *arena, lh_chat_complete_reply *rep)
{
    lh_chat_stream st;
    lh_chat_stream_init(&st, p, &o->http, arena);
    lh_sse sse;
    lh_sse_init(&sse, lh_oai_event, &st);
    lh_err *err = lh_http_service_stream(&o->http, NULL, p->time_left_ms, body,
                                         "text/event-stream", lh_oai_piece, &sse,
                                         lh_chat_stream_check, &st);
    err = lh_chat_stream_end(&st, err, rep);
    lh_sse_free(&sse);
    lh_chat_stream_free(&st);
    return err;
}

/* ---- whole ---- */

static lh_err *lh_oai_whole(lh_oai *o, const lh_chat_prompt *p, const lh_buf *body,
                            lh_arena *arena, lh_chat_complete_reply *rep)
{
    lh_oai_response *r = NULL;
    lh_err *err = lh_http_service_post(&o->http, NULL, p->time_left_ms, body,
                                       &lh_oai_response_schema, arena, (void **)&r);
    const lh_oai_choice *c = err || !r->choices.n ? NULL : r->choices.v;
    const lh_oai_message *msg = c ? c->message : NULL;
    if (!err && (!msg || !msg->content.s))
        err = lh_err_new(LH_EUPSTREAM, NULL, "%s answered without a message", o->http.who);
    if (err)
        return lh_err_wrap(err, "chat with %.*s", (int)p->model.len, p->model.s);
    const lh_oai_usage *ou = r->usage;
    lh_chat_reply_fill(p, msg->content, c->finish_reason.s ? c->finish_reason : (lh_str){"stop", 4},
                       ou && ou->has_prompt_tokens ? &ou->prompt_tokens : NULL,
                       ou && ou->has_completion_tokens ? &ou->completion_tokens : NULL, arena,
                       rep);
    return NULL;
}

static lh_err *lh_oai_complete(lh_chat_provider *self, const lh_chat_prompt *p, lh_arena *arena,
                               lh_chat_complete_reply *rep)
{
    lh_oai *o = (lh_oai *)self;
    lh_buf body;
    lh_buf_init(&body);
    lh_oai_body(p, &body);
    lh_err *err = p->sink ? lh_oai_stream(o, p, &body, arena, rep)
                          : lh_oai_whole(o, p, &body, arena, rep);
    lh_buf_free(&body);
    return err;
}

static void lh_oai_destroy(lh_chat_provider *p)
{
    lh_oai *o = (lh_oai *)p;
    lh_http_service_free(&o->http);
    free(o);
}

lh_chat_provider *lh_chat_openai_create(const lh_provider_conf *c, int timeout_ms)
{
    lh_oai *o = calloc(1, sizeof *o);
    if (!o)
        abort(); /* out of memory: as lh_buf does, we do not limp on */
    snprintf(o->name, sizeof o->name, "%s", c->name);
    char who[LH_PROVIDER_NAME_MAX + 16];
    snprintf(who, sizeof who, "provider '%s'", c->name);
    lh_http_service_init(&o->http, who,
                         lh_http_url(c->url, "https://api.openai.com/v1", "/chat/completions"),
                         c->key, "Authorization: Bearer %s", timeout_ms);
    o->base = (lh_chat_provider){.name = o->name, .type = "openai", .takes_model = true,
                                 .complete = lh_oai_complete, .destroy = lh_oai_destroy};
    return &o->base;
}
