/*
 * compat_chat.c — POST /v1/chat/completions in OpenAI's shape, so the
 * OpenAI SDKs talk to chatd unchanged: {model?, messages:[{role,
 * content}], max_tokens | max_completion_tokens, temperature, stream,
 * ...} in; a "chat.completion" with one choice and `usage` out. Sampling
 * settings chatd's providers do not use (top_p, penalties, seed, stop)
 * are accepted and passed over, as LiteLLM's drop_params does. Lakehouse's
 * own `retrieve` may ride along (the SDKs' extra_body); the answer's
 * `citations` come back beside the choices.
 */
#include "gateway/gw.h"

#include <string.h>

#include "bus/clock.h"
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
    F(T, stream, BOOL, .def = 0, .doc = "Streaming is not built yet: refused (400).")       \
    F(T, stream_options, ANY, .doc = "Accepted and ignored.")                               \
    F(T, n, INT, .min = 1, .max = 1, .def = 1, .doc = "Choices to make: only 1.")           \
    F(T, top_p, FLOAT, .doc = "Accepted and ignored.")                                      \
    F(T, presence_penalty, FLOAT, .doc = "Accepted and ignored.")                           \
    F(T, frequency_penalty, FLOAT, .doc = "Accepted and ignored.")                          \
    F(T, seed, INT, .doc = "Accepted and ignored.")                                         \
    F(T, stop, ANY, .doc = "Accepted and ignored.")                                         \
    F(T, user, STRING, .doc = "Accepted and ignored.")                                      \
    F(T, retrieve, OBJECT, .sub = &lh_chat_retrieve_schema,                                 \
      .doc = "Lakehouse: ground the answer in retrieved passages (as chat.complete).")
LH_SCHEMA_DECLARE(lh_gw_openai_chat_request, LH_GW_OPENAI_CHAT_REQUEST)
LH_SCHEMA_DEFINE(lh_gw_openai_chat_request, LH_GW_OPENAI_CHAT_REQUEST,
                 "OpenAI's chat completions request.")

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
                                  .retrieve = o->retrieve};
    if (o->has_max_tokens || o->has_max_completion_tokens)
        LH_SET(&c, max_tokens, o->has_max_tokens ? o->max_tokens : o->max_completion_tokens);
    if (o->has_temperature)
        LH_SET(&c, temperature, o->temperature);
    if (o->stream)
        LH_SET(&c, stream, true); /* chatd says what it does with it */
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

const lh_gw_shape lh_gw_shape_openai_chat = {
    .name = "openai-chat",
    .request = lh_gw_openai_chat_in,
    .reply = lh_gw_openai_chat_reply,
    .request_message = &lh_gw_openai_chat_request_schema,
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
