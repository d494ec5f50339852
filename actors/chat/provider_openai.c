/*
 * provider_openai.c — any OpenAI-compatible server (OpenAI, vLLM,
 * llama.cpp's server, OpenRouter, Groq): POST {base}/chat/completions
 * with a Bearer key, not streamed. Retrieved passages go first, as a
 * system message numbering them; the answer's [n] markers name the
 * citations; usage is the server's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/chat/provider.h"
#include "bus/json.h"

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

static lh_err *lh_oai_complete(lh_chat_provider *self, const lh_chat_prompt *p, lh_arena *arena,
                               lh_chat_complete_reply *rep)
{
    lh_oai *o = (lh_oai *)self;
    lh_buf body;
    lh_buf_init(&body);
    lh_oai_body(p, &body);
    lh_oai_response *r = NULL;
    lh_err *err = lh_http_service_post(&o->http, NULL, p->time_left_ms, &body,
                                       &lh_oai_response_schema, arena, (void **)&r);
    lh_buf_free(&body);
    const lh_oai_choice *c = err || !r->choices.n ? NULL : r->choices.v;
    const lh_oai_message *msg = c ? c->message : NULL;
    if (!err && (!msg || !msg->content.s))
        err = lh_err_new(LH_EUPSTREAM, NULL, "%s answered without a message", o->http.who);
    if (err)
        return lh_err_wrap(err, "chat with %.*s", (int)p->model.len, p->model.s);
    lh_chat_message *m = lh_arena_alloc(arena, sizeof *m);
    *m = (lh_chat_message){.role = {"assistant", 9}, .content = msg->content};
    rep->message = m;
    rep->finish_reason = c->finish_reason.s ? c->finish_reason : (lh_str){"stop", 4};
    const lh_oai_usage *ou = r->usage;
    rep->usage = lh_chat_usage_make(p, m->content,
                                    ou && ou->has_prompt_tokens ? &ou->prompt_tokens : NULL,
                                    ou && ou->has_completion_tokens ? &ou->completion_tokens : NULL,
                                    arena);
    lh_chat_cite_markers(p, m->content, arena, rep);
    return NULL;
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
