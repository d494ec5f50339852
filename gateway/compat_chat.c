/*
 * compat_chat.c — POST /v1/chat/completions in OpenAI's shape, so the
 * OpenAI SDKs talk to chatd unchanged: {model?, messages:[{role,
 * content}], max_tokens | max_completion_tokens, temperature, stream,
 * ...} in; a "chat.completion" with one choice and `usage` out. Sampling
 * settings chatd's providers do not use (top_p, penalties, seed, stop)
 * are accepted and passed over, as LiteLLM's drop_params does. Lakehouse's
 * own `retrieve` may ride along (the SDKs' extra_body); the answer's
 * `citations` come back beside the choices. With `stream: true` the answer
 * comes as `chat.completion.chunk` events (sse.c relays chatd's stream):
 * the first carries delta.role, the last finish_reason (and the
 * citations), then one with `usage` when stream_options.include_usage
 * asks, then `data: [DONE]`. Errors are in OpenAI's shape.
 */
#include "gateway/gw.h"

#include <string.h>

#include "bus/clock.h"
#include "bus/error_body.h"
#include "bus/json.h"
#include "schemas/chat.h"

#define LH_GW_OPENAI_CHAT_MESSAGE(F, T)                                                     \
    F(T, role, STRING, .required = true, .choices = "system|developer|user|assistant",      \
      .doc = "`developer` is taken as `system`.")                                           \
    F(T, content, STRING, .required = true, .max = LH_CHAT_MAX_CONTENT_BYTES,               \
      .doc = "Text (content parts are not supported).")                                     \
    F(T, name, STRING, .doc = "Accepted and ignored.")
LH_SCHEMA_DECLARE(lh_gw_openai_chat_message, LH_GW_OPENAI_CHAT_MESSAGE)
LH_SCHEMA_DEFINE(lh_gw_openai_chat_message, LH_GW_OPENAI_CHAT_MESSAGE,
                 "One message of an OpenAI chat request.")

#define LH_GW_OPENAI_STREAM_OPTIONS(F, T)                                                   \
    F(T, include_usage, BOOL, .def = 0,                                                     \
      .doc = "Send a last chunk with `usage` (and empty `choices`) before [DONE].")
LH_SCHEMA_DECLARE(lh_gw_openai_stream_options, LH_GW_OPENAI_STREAM_OPTIONS)
LH_SCHEMA_DEFINE(lh_gw_openai_stream_options, LH_GW_OPENAI_STREAM_OPTIONS,
                 "Options of a streamed chat completion.")

#define LH_GW_OPENAI_CHAT_REQUEST(F, T)                                                     \
    F(T, messages, OBJECTS, .required = true, .min = 1, .max = LH_CHAT_MAX_MESSAGES,        \
      .sub = &lh_gw_openai_chat_message_schema, .doc = "The conversation.")                 \
    F(T, model, STRING, .max = LH_CHAT_MAX_MODEL_BYTES,                                     \
      .doc = "`provider/model` or `extractive` (default: chatd's).")                        \
    F(T, max_tokens, INT, .min = 1, .max = LH_CHAT_MAX_TOKENS, .flags = LH_F_OMIT_UNSET,    \
      .doc = "At most this many tokens in the answer.")                                     \
    F(T, max_completion_tokens, INT, .min = 1, .max = LH_CHAT_MAX_TOKENS,                   \
      .flags = LH_F_OMIT_UNSET, .doc = "The same, OpenAI's newer name.")                    \
    F(T, temperature, FLOAT, .min = 0, .max = 2, .flags = LH_F_OMIT_UNSET,                  \
      .doc = "Sampling temperature.")                                                       \
    F(T, stream, BOOL, .def = 0,                                                            \
      .doc = "Answer as `chat.completion.chunk` Server-Sent Events, then `data: [DONE]`.")  \
    F(T, stream_options, OBJECT, .sub = &lh_gw_openai_stream_options_schema,                \
      .doc = "With `stream`: `include_usage`.")                                             \
    F(T, n, INT, .min = 1, .max = 1, .def = 1, .doc = "Choices to make: only 1.")           \
    F(T, top_p, FLOAT, .doc = "Accepted and ignored.")                                      \
    F(T, presence_penalty, FLOAT, .doc = "Accepted and ignored.")                           \
    F(T, frequency_penalty, FLOAT, .doc = "Accepted and ignored.")                          \
    F(T, seed, INT, .doc = "Accepted and ignored.")                                         \
    F(T, stop, ANY, .doc = "Accepted and ignored.")                                         \
    F(T, user, STRING, .doc = "Accepted and ignored.")                                      \
    F(T, retrieve, OBJECT, .sub = &lh_chat_retrieve_schema,                                 \
      .doc = "Lakehouse: ground the answer in retrieved passages (as chat.complete).")      \
    F(T, fallbacks, STRINGS, .max = LH_CHAT_MAX_FALLBACKS, .item_max = LH_CHAT_MAX_MODEL_BYTES,\
      .flags = LH_F_NONBLANK,                                                               \
      .doc = "Lakehouse (as LiteLLM): models to try in order when the model fails before "  \
             "its first token.")
LH_SCHEMA_DECLARE(lh_gw_openai_chat_request, LH_GW_OPENAI_CHAT_REQUEST)
LH_SCHEMA_DEFINE(lh_gw_openai_chat_request, LH_GW_OPENAI_CHAT_REQUEST,
                 "OpenAI's chat completions request.")

#define LH_GW_OPENAI_INCLUDE_USAGE 1u
extern const lh_gw_sse_format lh_gw_sse_openai_chat;

static lh_err *lh_gw_openai_chat_in(lh_gw_req *req, lh_buf *out)
{
    lh_gw_openai_chat_request *o = NULL;
    lh_err *err = lh_gw_compat_decode(req, &lh_gw_openai_chat_request_schema, (void **)&o);
    if (err)
        return err;
    const lh_gw_openai_chat_message *in = o->messages.v;
    lh_chat_message *msgs = lh_arena_alloc(lh_gw_req_arena(req), o->messages.n * sizeof *msgs);
    for (size_t i = 0; i < o->messages.n; i++) {
        bool developer = in[i].role.len == 9 && !memcmp(in[i].role.s, "developer", 9);
        msgs[i] = (lh_chat_message){.role = developer ? (lh_str){"system", 6} : in[i].role,
                                    .content = in[i].content};
    }
    lh_chat_complete_request c = {.messages = {msgs, o->messages.n}, .model = o->model,
                                  .retrieve = o->retrieve, .fallbacks = o->fallbacks};
    if (o->has_max_tokens || o->has_max_completion_tokens)
        LH_SET(&c, max_tokens, o->has_max_tokens ? o->max_tokens : o->max_completion_tokens);
    if (o->has_temperature)
        LH_SET(&c, temperature, o->temperature);
    if (o->stream) {
        LH_SET(&c, stream, true);
        req->sse = &lh_gw_sse_openai_chat;
        const lh_gw_openai_stream_options *so = o->stream_options;
        if (so && so->include_usage)
            req->sse_options |= LH_GW_OPENAI_INCLUDE_USAGE;
    }
    lh_message_encode_given(lh_ep_chat_complete.request, &c, out);
    return NULL;
}

static void lh_gw_append_citations(const lh_chat_complete_reply *r, lh_buf *out)
{
    const lh_chat_citation *c = r->citations.v;
    lh_buf_append_str(out, ",\"citations\":[");
    for (size_t i = 0; i < r->citations.n; i++) {
        lh_buf_appendf(out, "%s{\"n\":%lld,\"corpus\":", i ? "," : "", (long long)c[i].n);
        lh_json_append_string(out, c[i].corpus.s, c[i].corpus.len);
        lh_buf_append_str(out, ",\"id\":");
        lh_json_append_string(out, c[i].id.s, c[i].id.len);
        lh_buf_append_str(out, ",\"snippet\":");
        lh_json_append_string(out, c[i].snippet.s, c[i].snippet.len);
        lh_buf_append(out, "}", 1);
    }
    lh_buf_append(out, "]", 1);
}

static lh_err *lh_gw_openai_chat_reply(lh_gw_req *req, const char *data, size_t len,
                                       lh_buf *out)
{
    lh_chat_complete_reply *r = NULL;
    lh_err *err = lh_gw_decode(req, &lh_ep_chat_complete, data, len, (void **)&r);
    if (!err && (!r->message || !r->usage))
        err = lh_err_new(LH_EINTERNAL, NULL, "chat.complete replied without a message");
    if (err)
        return err;
    const lh_chat_message *m = r->message;
    const lh_chat_usage *u = r->usage;
    lh_buf_appendf(out, "{\"id\":\"chatcmpl-%s\",\"object\":\"chat.completion\",\"created\":%lld,"
                        "\"model\":",
                   req->rid, (long long)lh_clock_unix_s());
    lh_json_append_string(out, r->model.s, r->model.len);
    lh_buf_append_str(out, ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                           "\"content\":");
    lh_json_append_string(out, m->content.s, m->content.len);
    lh_buf_append_str(out, ",\"refusal\":null},\"logprobs\":null,\"finish_reason\":");
    lh_json_append_string(out, r->finish_reason.s, r->finish_reason.len);
    lh_buf_appendf(out, "}],\"usage\":{\"prompt_tokens\":%lld,\"completion_tokens\":%lld,"
                        "\"total_tokens\":%lld,\"estimated\":%s}",
                   (long long)u->prompt_tokens, (long long)u->completion_tokens,
                   (long long)(u->prompt_tokens + u->completion_tokens),
                   u->estimated ? "true" : "false");
    lh_buf_append_str(out, ",\"provider\":");
    lh_json_append_string(out, r->provider.s, r->provider.len);
    lh_gw_append_citations(r, out);
    lh_buf_append(out, "}", 1);
    return NULL;
}

/* ---- errors in OpenAI's shape ---- */

static const char *lh_gw_openai_error_type(int code)
{
    switch (code) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 429: return "rate_limit_error";
    default: return code >= 500 ? "api_error" : "invalid_request_error";
    }
}

/* {"error":{"message","type","param","code"}}: the message and field of
 * the callee's own error body when it sent one, else of err. */
static void lh_gw_openai_error(const lh_err *err, const char *body, size_t len, lh_buf *out)
{
    lh_arena *arena = lh_arena_create();
    lh_error_body *eb = NULL;
    lh_err *bad = body ? lh_schema_decode_reply(&lh_error_body_schema, body, len, arena,
                                                (void **)&eb)
                       : NULL;
    const lh_error_detail *d = !bad && eb ? eb->error : NULL;
    const char *msg = lh_err_message(err), *field = lh_err_field(err);
    lh_str message = d ? d->message : (lh_str){msg, strlen(msg)};
    lh_str param = d ? d->field : (lh_str){field, field ? strlen(field) : 0};
    int code = lh_gw_status_of(err);
    lh_buf_append_str(out, "{\"error\":{\"message\":");
    lh_json_append_string(out, message.s, message.len);
    lh_buf_appendf(out, ",\"type\":\"%s\",\"param\":", lh_gw_openai_error_type(code));
    if (param.s && param.len)
        lh_json_append_string(out, param.s, param.len);
    else
        lh_buf_append_str(out, "null");
    bool no_model = code == 404 && param.len == 5 && !memcmp(param.s, "model", 5);
    lh_buf_appendf(out, ",\"code\":%s}}", no_model ? "\"model_not_found\"" : "null");
    lh_err_free(bad);
    lh_arena_destroy(arena);
}

/* ---- streamed: chat.completion.chunk events ---- */

/* `data: {"id":..,"object":"chat.completion.chunk",...,"choices":[` */
static void lh_gw_openai_chunk_head(const lh_gw_sse_info *s, lh_buf *out)
{
    lh_buf_appendf(out, "data: {\"id\":\"chatcmpl-%s\",\"object\":\"chat.completion.chunk\","
                        "\"created\":%lld,\"model\":",
                   s->id, (long long)s->created);
    lh_json_append_string(out, s->model, strlen(s->model));
    lh_buf_append_str(out, ",\"choices\":[");
}

/* One choice's delta: the first names the role. */
static void lh_gw_openai_delta(lh_gw_sse_info *s, lh_str text, lh_buf *out)
{
    lh_gw_openai_chunk_head(s, out);
    lh_buf_appendf(out, "{\"index\":0,\"delta\":{%s\"content\":",
                   s->chunks ? "" : "\"role\":\"assistant\",");
    lh_json_append_string(out, text.s, text.len);
    lh_buf_append_str(out, "},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
}

static void lh_gw_openai_set_model(lh_gw_sse_info *s, lh_str model)
{
    if (!model.s)
        return;
    size_t n = model.len < sizeof s->model - 1 ? model.len : sizeof s->model - 1;
    memcpy(s->model, model.s, n);
    s->model[n] = '\0';
}

static lh_err *lh_gw_openai_sse_chunk(lh_gw_sse_info *s, const char *data, size_t len,
                                      lh_buf *out)
{
    lh_arena_reset(s->arena);
    lh_chat_chunk *c = NULL;
    lh_err *err = lh_schema_decode_reply(&lh_chat_chunk_schema, data, len, s->arena, (void **)&c);
    if (err)
        return lh_err_wrap_as(err, LH_EINTERNAL, "chatd sent an unreadable chunk");
    if (!s->chunks) {
        s->created = lh_clock_unix_s();
        lh_gw_openai_set_model(s, c->model);
    }
    lh_gw_openai_delta(s, c->delta, out);
    return NULL;
}

static lh_err *lh_gw_openai_sse_end(lh_gw_sse_info *s, const char *data, size_t len, lh_buf *out)
{
    lh_arena_reset(s->arena);
    lh_chat_complete_reply *r = NULL;
    lh_err *err = lh_schema_decode_reply(&lh_chat_complete_reply_schema, data, len, s->arena,
                                         (void **)&r);
    if (!err && (!r->message || !r->usage))
        err = lh_err_new(LH_EINTERNAL, NULL, "chat.complete replied without a message");
    if (err)
        return lh_err_wrap_as(err, LH_EINTERNAL, "chatd's reply");
    if (!s->chunks) { /* answered whole: its text is the one delta */
        s->created = lh_clock_unix_s();
        lh_gw_openai_set_model(s, r->model);
        const lh_chat_message *m = r->message;
        lh_gw_openai_delta(s, m->content, out);
    }
    lh_gw_openai_chunk_head(s, out);
    lh_buf_append_str(out, "{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":");
    lh_json_append_string(out, r->finish_reason.s, r->finish_reason.len);
    lh_buf_append_str(out, "}],\"provider\":");
    lh_json_append_string(out, r->provider.s, r->provider.len);
    lh_gw_append_citations(r, out);
    lh_buf_append_str(out, "}\n\n");
    if (s->options & LH_GW_OPENAI_INCLUDE_USAGE) {
        const lh_chat_usage *u = r->usage;
        lh_gw_openai_chunk_head(s, out);
        lh_buf_appendf(out, "],\"usage\":{\"prompt_tokens\":%lld,\"completion_tokens\":%lld,"
                            "\"total_tokens\":%lld,\"estimated\":%s}}\n\n",
                       (long long)u->prompt_tokens, (long long)u->completion_tokens,
                       (long long)(u->prompt_tokens + u->completion_tokens),
                       u->estimated ? "true" : "false");
    }
    lh_buf_append_str(out, "data: [DONE]\n\n");
    return NULL;
}

/* OpenAI's own mid-stream error event: the SDKs raise it. */
static void lh_gw_openai_sse_error(lh_gw_sse_info *s, const lh_err *err, lh_buf *out)
{
    (void)s;
    lh_buf_append_str(out, "data: ");
    lh_gw_openai_error(err, NULL, 0, out);
    lh_buf_append_str(out, "\n\n");
}

const lh_gw_sse_format lh_gw_sse_openai_chat = {
    .chunk = lh_gw_openai_sse_chunk,
    .end = lh_gw_openai_sse_end,
    .error = lh_gw_openai_sse_error,
};

const lh_gw_shape lh_gw_shape_openai_chat = {
    .name = "openai-chat",
    .request = lh_gw_openai_chat_in,
    .reply = lh_gw_openai_chat_reply,
    .request_message = &lh_gw_openai_chat_request_schema,
    .error = lh_gw_openai_error,
    .reply_schema =
        "{\"type\":\"object\",\"properties\":{"
        "\"id\":{\"type\":\"string\"},"
        "\"object\":{\"type\":\"string\",\"enum\":[\"chat.completion\"]},"
        "\"created\":{\"type\":\"integer\"},\"model\":{\"type\":\"string\"},"
        "\"choices\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
        "\"index\":{\"type\":\"integer\"},"
        "\"message\":{\"type\":\"object\",\"properties\":{"
        "\"role\":{\"type\":\"string\"},\"content\":{\"type\":\"string\"}}},"
        "\"finish_reason\":{\"type\":\"string\"}}}},"
        "\"usage\":{\"type\":\"object\",\"properties\":{"
        "\"prompt_tokens\":{\"type\":\"integer\"},\"completion_tokens\":{\"type\":\"integer\"},"
        "\"total_tokens\":{\"type\":\"integer\"},\"estimated\":{\"type\":\"boolean\"}}},"
        "\"provider\":{\"type\":\"string\"},"
        "\"citations\":{\"type\":\"array\",\"description\":\"Lakehouse: the passages the "
        "answer cites, {n, corpus, id, snippet}.\"}}}",
};
