/*
 * provider_ollama.c — Ollama: POST {LH_OLLAMA_URL}/api/chat. The messages
 * are OpenAI's form (passages first, as a numbered system message);
 * `num_predict` and `temperature` go in `options`; usage is the final
 * object's `prompt_eval_count` and `eval_count`; `done_reason` "length"
 * is a cut. Whole answers ask `stream: false`; with a sink, `stream: true`
 * brings one JSON object a line (application/x-ndjson), each with the next
 * piece in `message.content`, the last with `done: true` and the counts;
 * a stream that ends before that line has failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/chat/provider.h"
#include "bus/json.h"
#include "bus/sse.h"

#define LH_OLL_MESSAGE(F, T) F(T, content, STRING, .doc = "The answer.")
LH_SCHEMA_DECLARE(lh_oll_message, LH_OLL_MESSAGE)
LH_SCHEMA_DEFINE(lh_oll_message, LH_OLL_MESSAGE, "An Ollama message.")
#define LH_OLL_RESPONSE(F, T)                                                               \
    F(T, message, OBJECT, .sub = &lh_oll_message_schema, .doc = "The answer.")              \
    F(T, done_reason, STRING, .doc = "Why it stopped.")                                     \
    F(T, prompt_eval_count, INT, .doc = "Tokens read.")                                     \
    F(T, eval_count, INT, .doc = "Tokens written.")
LH_SCHEMA_DECLARE(lh_oll_response, LH_OLL_RESPONSE)
LH_SCHEMA_DEFINE(lh_oll_response, LH_OLL_RESPONSE, "An Ollama chat answer.")
/* A line of a streamed answer: the whole answer's fields, and two more. */
#define LH_OLL_LINE(F, T)                                                                   \
    LH_OLL_RESPONSE(F, T)                                                                   \
    F(T, done, BOOL, .doc = "The last line.")                                               \
    F(T, error, STRING, .doc = "A failure mid-stream.")
LH_SCHEMA_DECLARE(lh_oll_line, LH_OLL_LINE)
LH_SCHEMA_DEFINE(lh_oll_line, LH_OLL_LINE, "A line of an Ollama chat stream.")

typedef struct lh_oll {
    lh_chat_provider base;
    char name[LH_PROVIDER_NAME_MAX + 1];
    lh_http_service http; /* {url}/api/chat, no key */
} lh_oll;

static void lh_oll_body(const lh_chat_prompt *p, lh_buf *b)
{
    const lh_chat_complete_request *req = p->req;
    lh_buf_append_str(b, "{\"model\":");
    lh_json_append_string(b, p->model.s, p->model.len);
    lh_buf_append_str(b, p->sink ? ",\"stream\":true" : ",\"stream\":false");
    lh_buf_append_str(b, ",\"messages\":");
    lh_chat_messages_json(p, b);
    lh_buf_append_str(b, ",\"options\":{");
    if (req->has_max_tokens)
        lh_buf_appendf(b, "\"num_predict\":%lld%s", (long long)req->max_tokens,
                       req->has_temperature ? "," : "");
    if (req->has_temperature) {
        lh_buf_append_str(b, "\"temperature\":");
        lh_json_append_float(b, req->temperature, false);
    }
    lh_buf_append_str(b, "}}");
}

static lh_str lh_oll_finish(lh_str done_reason)
{
    bool cut = done_reason.len == 6 && !memcmp(done_reason.s, "length", 6);
    return cut ? (lh_str){"length", 6} : (lh_str){"stop", 4};
}

/* ---- streamed ---- */

static lh_err *lh_oll_line_read(void *user, const char *line, size_t len)
{
    lh_chat_stream *st = user;
    if (st->ended)
        return NULL; /* nothing counts after done */
    lh_oll_line *r = NULL;
    lh_err *err = lh_chat_stream_decode(st, line, len, &lh_oll_line_schema, (void **)&r);
    if (err)
        return err;
    if (r->error.s)
        return lh_chat_stream_failed(st, LH_EUPSTREAM, (lh_str){0}, r->error);
    const lh_oll_message *msg = r->message;
    if (msg && msg->content.s && (err = lh_chat_stream_text(st, msg->content.s, msg->content.len)))
        return err;
    if (!r->done)
        return NULL;
    st->ended = true;
    lh_chat_stream_finish(st, lh_oll_finish(r->done_reason));
    if (r->has_prompt_eval_count)
        LH_SET(st, prompt_tokens, r->prompt_eval_count);
    if (r->has_eval_count)
        LH_SET(st, completion_tokens, r->eval_count);
    return NULL;
}

static lh_err *lh_oll_piece(void *user, const char *data, size_t len)
{
    return lh_ndjson_feed(user, data, len);
}

static lh_err *lh_oll_stream(lh_oll *o, const lh_chat_prompt *p, const lh_buf *body,
                             lh_arena *arena, lh_chat_complete_reply *rep)
{
    lh_chat_stream st;
    lh_chat_stream_init(&st, p, &o->http, arena);
    lh_ndjson lines;
    lh_ndjson_init(&lines, lh_oll_line_read, &st);
    lh_err *err = lh_http_service_stream(&o->http, NULL, p->time_left_ms, body,
                                         "application/x-ndjson", lh_oll_piece, &lines,
                                         lh_chat_stream_check, &st);
    if (!err)
        err = lh_ndjson_end(&lines); /* a last line without its newline */
    err = lh_chat_stream_end(&st, err, rep);
    lh_ndjson_free(&lines);
    lh_chat_stream_free(&st);
    return err;
}

/* ---- whole ---- */

static lh_err *lh_oll_whole(lh_oll *o, const lh_chat_prompt *p, const lh_buf *body,
                            lh_arena *arena, lh_chat_complete_reply *rep)
{
    lh_oll_response *r = NULL;
    lh_err *err = lh_http_service_post(&o->http, NULL, p->time_left_ms, body,
                                       &lh_oll_response_schema, arena, (void **)&r);
    const lh_oll_message *msg = err ? NULL : r->message;
    if (!err && (!msg || !msg->content.s))
        err = lh_err_new(LH_EUPSTREAM, NULL, "%s answered without a message", o->http.who);
    if (err)
        return lh_err_wrap(err, "chat with %.*s", (int)p->model.len, p->model.s);
    lh_chat_reply_fill(p, msg->content, lh_oll_finish(r->done_reason),
                       r->has_prompt_eval_count ? &r->prompt_eval_count : NULL,
                       r->has_eval_count ? &r->eval_count : NULL, arena, rep);
    return NULL;
}

static lh_err *lh_oll_complete(lh_chat_provider *self, const lh_chat_prompt *p, lh_arena *arena,
                               lh_chat_complete_reply *rep)
{
    lh_oll *o = (lh_oll *)self;
    lh_buf body;
    lh_buf_init(&body);
    lh_oll_body(p, &body);
    lh_err *err = p->sink ? lh_oll_stream(o, p, &body, arena, rep)
                          : lh_oll_whole(o, p, &body, arena, rep);
    lh_buf_free(&body);
    return err;
}

static void lh_oll_destroy(lh_chat_provider *p)
{
    lh_oll *o = (lh_oll *)p;
    lh_http_service_free(&o->http);
    free(o);
}

lh_chat_provider *lh_chat_ollama_create(const lh_provider_conf *c, int timeout_ms)
{
    char *url = lh_http_url(c->url, NULL, "/api/chat");
    if (!url)
        return NULL;
    lh_oll *o = calloc(1, sizeof *o);
    if (!o)
        abort(); /* out of memory: as lh_buf does, we do not limp on */
    snprintf(o->name, sizeof o->name, "%s", c->name);
    char who[LH_PROVIDER_NAME_MAX + 16];
    snprintf(who, sizeof who, "provider '%s'", c->name);
    lh_http_service_init(&o->http, who, url, NULL, NULL, timeout_ms);
    o->base = (lh_chat_provider){.name = o->name, .type = "ollama", .takes_model = true,
                                 .complete = lh_oll_complete, .destroy = lh_oll_destroy};
    return &o->base;
}
