/*
 * provider_anthropic.c — Anthropic's Messages API: POST {base}/v1/messages
 * with `x-api-key` and `anthropic-version: 2023-06-01`, not streamed yet.
 * `max_tokens` is required there (1024 when the request names none); the
 * system text (numbered passages, then the conversation's system
 * messages) is a top-level field; the answer is the text blocks of
 * `content`; usage is `input_tokens` and `output_tokens`; `stop_reason`
 * "max_tokens" is a cut. 529 (overloaded) is retried like a 5xx.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/chat/provider.h"
#include "bus/json.h"

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

static lh_err *lh_ant_complete(lh_chat_provider *self, const lh_chat_prompt *p, lh_arena *arena,
                               lh_chat_complete_reply *rep)
{
    lh_ant *a = (lh_ant *)self;
    lh_buf body;
    lh_buf_init(&body);
    lh_ant_body(p, &body);
    lh_ant_response *r = NULL;
    lh_err *err = lh_http_service_post(&a->http, "anthropic-version: 2023-06-01",
                                       p->time_left_ms, &body, &lh_ant_response_schema, arena,
                                       (void **)&r);
    lh_buf_free(&body);
    lh_str text = err ? (lh_str){0} : lh_ant_text(r, arena);
    if (err)
        return lh_err_wrap(err, "chat with %.*s", (int)p->model.len, p->model.s);
    lh_chat_message *m = lh_arena_alloc(arena, sizeof *m);
    *m = (lh_chat_message){.role = {"assistant", 9}, .content = text};
    rep->message = m;
    rep->finish_reason = lh_ant_is(r->stop_reason, "max_tokens") ? (lh_str){"length", 6}
                                                                 : (lh_str){"stop", 4};
    const lh_ant_usage *au = r->usage;
    rep->usage = lh_chat_usage_make(p, text, au && au->has_input_tokens ? &au->input_tokens : NULL,
                                    au && au->has_output_tokens ? &au->output_tokens : NULL,
                                    arena);
    lh_chat_cite_markers(p, text, arena, rep);
    return NULL;
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
