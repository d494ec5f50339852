/*
 * provider_openai.c — any OpenAI-compatible server (OpenAI, vLLM,
 * llama.cpp's server, OpenRouter, Groq): POST {base}/chat/completions
 * with a Bearer key, not streamed. Retrieved passages go first, as a
 * system message numbering them [1], [2], ...; the answer's markers name
 * the citations. Connect errors, 429 and 5xx are retried with jittered
 * exponential backoff inside the request's time; other refusals are 502
 * with the server's message, the key scrubbed from it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/chat/provider.h"
#include "bus/http_client.h"
#include "bus/json.h"
#include "bus/clock.h"

#define LH_OAI_ATTEMPTS 3
#define LH_OAI_BACKOFF_MS 100
#define LH_OAI_MAX_RESPONSE (16u << 20)

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
#define LH_OAI_ERROR_DETAIL(F, T) F(T, message, STRING, .doc = "Why.")
LH_SCHEMA_DECLARE(lh_oai_error_detail, LH_OAI_ERROR_DETAIL)
LH_SCHEMA_DEFINE(lh_oai_error_detail, LH_OAI_ERROR_DETAIL, "An OpenAI error.")
#define LH_OAI_ERROR(F, T) F(T, error, OBJECT, .sub = &lh_oai_error_detail_schema, .doc = "")
LH_SCHEMA_DECLARE(lh_oai_error, LH_OAI_ERROR)
LH_SCHEMA_DEFINE(lh_oai_error, LH_OAI_ERROR, "An OpenAI error body.")

typedef struct lh_oai {
    lh_chat_provider base;
    char *url;    /* {base}/chat/completions */
    char *auth;   /* "Authorization: Bearer KEY", or NULL */
    char *key;    /* to scrub from what servers say */
    int timeout_ms;
} lh_oai;

/* ---- the request ---- */

static void lh_oai_put_message(lh_buf *b, bool first, const char *role, lh_str content)
{
    lh_buf_appendf(b, "%s{\"role\":\"%s\",\"content\":", first ? "" : ",", role);
    lh_json_append_string(b, content.s ? content.s : "", content.len);
    lh_buf_append(b, "}", 1);
}

static void lh_oai_passages(const lh_chat_prompt *p, lh_buf *out)
{
    lh_buf_append_str(out, "Answer from these passages when they help, and cite each one "
                           "you use as [n].");
    for (size_t i = 0; i < p->n_passages; i++) {
        const lh_chat_passage *ps = &p->passages[i];
        lh_buf_appendf(out, "\n\n[%zu] (%.*s/%.*s) %.*s", i + 1, (int)ps->corpus.len,
                       ps->corpus.s, (int)ps->id.len, ps->id.s, (int)ps->text.len, ps->text.s);
    }
}

static void lh_oai_body(const lh_chat_prompt *p, lh_buf *b)
{
    const lh_chat_complete_request *req = p->req;
    lh_buf_append_str(b, "{\"model\":");
    lh_json_append_string(b, p->model.s, p->model.len);
    lh_buf_append_str(b, ",\"messages\":[");
    bool first = true;
    if (p->n_passages) {
        lh_buf sys;
        lh_buf_init(&sys);
        lh_oai_passages(p, &sys);
        lh_oai_put_message(b, true, "system", (lh_str){sys.data, sys.len});
        lh_buf_free(&sys);
        first = false;
    }
    const lh_chat_message *m = req->messages.v;
    for (size_t i = 0; i < req->messages.n; i++, first = false) {
        char role[16];
        snprintf(role, sizeof role, "%.*s", (int)m[i].role.len, m[i].role.s);
        lh_oai_put_message(b, first, role, m[i].content);
    }
    lh_buf_append(b, "]", 1);
    if (req->has_max_tokens)
        lh_buf_appendf(b, ",\"max_tokens\":%lld", (long long)req->max_tokens);
    if (req->has_temperature) {
        lh_buf_append_str(b, ",\"temperature\":");
        lh_json_append_float(b, req->temperature, false);
    }
    lh_buf_append(b, "}", 1);
}

/* ---- the exchange ---- */

static bool lh_oai_retryable(lh_err *err, long status)
{
    if (err)
        return lh_err_code(err) == LH_EUNAVAILABLE; /* no connection; a timeout used the time */
    return status == 429 || status >= 500;
}

static void lh_oai_sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* POSTs with retries; the last response in `out`, its status in *status. */
static lh_err *lh_oai_post(lh_oai *o, const lh_buf *body, lh_buf *out, long *status)
{
    const char *headers[] = {"Content-Type: application/json", o->auth, NULL};
    int64_t deadline = lh_clock_ms() + o->timeout_ms;
    lh_err *err = NULL;
    for (int attempt = 0;; attempt++) {
        int64_t left = deadline - lh_clock_ms();
        lh_buf_reset(out);
        *status = 0;
        lh_http_call call = {"POST", o->url, headers, body->data, body->len,
                             (int)(left > 1 ? left : 1), LH_OAI_MAX_RESPONSE};
        lh_err_free(err);
        err = lh_http_perform(&call, out, status);
        if (attempt + 1 == LH_OAI_ATTEMPTS || !lh_oai_retryable(err, *status))
            return err;
        int64_t wait = (LH_OAI_BACKOFF_MS << attempt) / 2 +
                       rand() % ((LH_OAI_BACKOFF_MS << attempt) + 1); /* half to 1.5x */
        if (lh_clock_ms() + wait >= deadline)
            return err;
        lh_oai_sleep_ms(wait);
    }
}

/* What the server said, with the key taken out wherever it appears. */
static lh_err *lh_oai_refusal(lh_oai *o, long status, const lh_buf *resp, lh_arena *arena)
{
    lh_buf mp, said;
    lh_buf_init(&mp);
    lh_buf_init(&said);
    lh_oai_error *e = NULL;
    if (!lh_json_to_msgpack(resp->data ? resp->data : "", resp->len, &mp)) {
        lh_err *bad = lh_schema_decode_reply(&lh_oai_error_schema, mp.data, mp.len, arena,
                                             (void **)&e);
        lh_err_free(bad);
    }
    const lh_oai_error_detail *d = e ? e->error : NULL;
    if (d && d->message.s)
        lh_buf_append(&said, d->message.s, d->message.len);
    else
        lh_buf_append_str(&said, "no error message");
    char *text = (char *)lh_buf_cstr(&said);
    for (char *at; o->key && *o->key && (at = strstr(text, o->key));)
        memset(at, '*', strlen(o->key));
    lh_err *err = lh_err_new(LH_EUPSTREAM, NULL, "provider '%s' refused the request (HTTP %ld): %s",
                             o->base.name, status, text);
    lh_buf_free(&mp);
    lh_buf_free(&said);
    return err;
}

static lh_err *lh_oai_read(lh_oai *o, const lh_buf *resp, lh_arena *arena, lh_oai_response **out)
{
    lh_buf mp;
    lh_buf_init(&mp);
    lh_err *err = lh_json_to_msgpack(resp->data ? resp->data : "", resp->len, &mp);
    if (!err)
        err = lh_schema_decode_reply(&lh_oai_response_schema, mp.data, mp.len, arena,
                                     (void **)out);
    lh_buf_free(&mp);
    const lh_oai_choice *c = err ? NULL : (*out)->choices.v;
    const lh_oai_message *m = c && (*out)->choices.n ? c->message : NULL;
    if (!err && (!m || !m->content.s))
        err = lh_err_new(LH_EUPSTREAM, NULL, "no answer in the response");
    return err ? lh_err_wrap_as(err, LH_EUPSTREAM, "provider '%s' answered unreadably",
                                o->base.name)
               : NULL;
}

static lh_err *lh_oai_complete(lh_chat_provider *self, const lh_chat_prompt *p, lh_arena *arena,
                               lh_chat_complete_reply *rep)
{
    lh_oai *o = (lh_oai *)self;
    lh_buf body, resp;
    lh_buf_init(&body);
    lh_buf_init(&resp);
    lh_oai_body(p, &body);
    long status = 0;
    lh_oai_response *r = NULL;
    lh_err *err = lh_oai_post(o, &body, &resp, &status);
    if (!err && (status < 200 || status > 299))
        err = lh_oai_refusal(o, status, &resp, arena);
    if (!err)
        err = lh_oai_read(o, &resp, arena, &r);
    lh_buf_free(&body);
    lh_buf_free(&resp);
    if (err)
        return lh_err_wrap(err, "chat with %.*s", (int)p->model.len, p->model.s);
    const lh_oai_choice *c = r->choices.v;
    lh_chat_message *m = lh_arena_alloc(arena, sizeof *m);
    m->role = (lh_str){"assistant", 9};
    m->content = ((const lh_oai_message *)c->message)->content;
    rep->message = m;
    rep->finish_reason = c->finish_reason.s ? c->finish_reason : (lh_str){"stop", 4};
    lh_chat_usage *u = lh_arena_alloc(arena, sizeof *u);
    const lh_oai_usage *ou = r->usage;
    LH_SET(u, prompt_tokens, ou ? ou->prompt_tokens : 0);
    LH_SET(u, completion_tokens, ou ? ou->completion_tokens : 0);
    LH_SET(u, estimated, !ou || !ou->has_prompt_tokens || !ou->has_completion_tokens);
    rep->usage = u;
    lh_chat_cite_markers(p, m->content, arena, rep);
    return NULL;
}

static void lh_oai_destroy(lh_chat_provider *p)
{
    lh_oai *o = (lh_oai *)p;
    free(o->url);
    free(o->auth);
    free(o->key);
    free(o);
}

lh_chat_provider *lh_chat_openai_create(int timeout_ms)
{
    const char *base = getenv("LH_OPENAI_BASE_URL"), *key = getenv("LH_OPENAI_API_KEY");
    if ((!base || !*base) && (!key || !*key))
        return NULL;
    if (!base || !*base)
        base = "https://api.openai.com/v1";
    lh_oai *o = calloc(1, sizeof *o);
    if (!o)
        abort(); /* out of memory: as lh_buf does, we do not limp on */
    lh_buf b;
    lh_buf_init(&b);
    size_t n = strlen(base);
    lh_buf_appendf(&b, "%.*s/chat/completions", (int)(n && base[n - 1] == '/' ? n - 1 : n), base);
    o->url = strdup(lh_buf_cstr(&b));
    lh_buf_free(&b);
    if (key && *key) {
        o->key = strdup(key);
        size_t len = strlen(key) + 32;
        o->auth = malloc(len);
        if (o->auth)
            snprintf(o->auth, len, "Authorization: Bearer %s", key);
    }
    if (!o->url || (key && *key && (!o->key || !o->auth)))
        abort(); /* out of memory: as lh_buf does, we do not limp on */
    o->base = (lh_chat_provider){.name = "openai", .type = "openai", .takes_model = true,
                                 .complete = lh_oai_complete, .destroy = lh_oai_destroy};
    o->timeout_ms = timeout_ms;
    return &o->base;
}
