/*
 * provider_ollama.c — Ollama: POST {LH_OLLAMA_URL}/api/chat with
 * `stream: false`, not streamed yet. The messages are OpenAI's form
 * (passages first, as a numbered system message); `num_predict` and
 * `temperature` go in `options`; usage is the final object's
 * `prompt_eval_count` and `eval_count`; `done_reason` "length" is a cut.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/chat/provider.h"
#include "bus/json.h"

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
    lh_buf_append_str(b, ",\"stream\":false,\"messages\":");
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

static lh_err *lh_oll_complete(lh_chat_provider *self, const lh_chat_prompt *p, lh_arena *arena,
                               lh_chat_complete_reply *rep)
{
    lh_oll *o = (lh_oll *)self;
    lh_buf body;
    lh_buf_init(&body);
    lh_oll_body(p, &body);
    lh_oll_response *r = NULL;
    lh_err *err = lh_http_service_post(&o->http, NULL, p->time_left_ms, &body,
                                       &lh_oll_response_schema, arena, (void **)&r);
    lh_buf_free(&body);
    const lh_oll_message *msg = err ? NULL : r->message;
    if (!err && (!msg || !msg->content.s))
        err = lh_err_new(LH_EUPSTREAM, NULL, "%s answered without a message", o->http.who);
    if (err)
        return lh_err_wrap(err, "chat with %.*s", (int)p->model.len, p->model.s);
    lh_chat_message *m = lh_arena_alloc(arena, sizeof *m);
    *m = (lh_chat_message){.role = {"assistant", 9}, .content = msg->content};
    rep->message = m;
    bool cut = r->done_reason.len == 6 && !memcmp(r->done_reason.s, "length", 6);
    rep->finish_reason = cut ? (lh_str){"length", 6} : (lh_str){"stop", 4};
    rep->usage = lh_chat_usage_make(p, m->content,
                                    r->has_prompt_eval_count ? &r->prompt_eval_count : NULL,
                                    r->has_eval_count ? &r->eval_count : NULL, arena);
    lh_chat_cite_markers(p, m->content, arena, rep);
    return NULL;
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
