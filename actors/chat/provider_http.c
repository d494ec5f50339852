/*
 * provider_http.c — what every network chat provider does the same way:
 * one POST with retries and backoff, the answer decoded through a schema,
 * a refusal turned into a 502 that quotes the server without its secret,
 * the numbered passages and the messages array.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/chat/provider.h"
#include "bus/clock.h"
#include "bus/http_client.h"
#include "bus/json.h"

#define LH_HTTP_ATTEMPTS 3
#define LH_HTTP_BACKOFF_MS 100
#define LH_HTTP_MAX_RESPONSE (16u << 20)

/* The error bodies servers send: {"error": {"message": ...}} (OpenAI,
 * Anthropic) or {"error": "..."} (Ollama). */
#define LH_CHAT_ERROR_DETAIL(F, T) F(T, message, STRING, .doc = "Why.")
LH_SCHEMA_DECLARE(lh_chat_error_detail, LH_CHAT_ERROR_DETAIL)
LH_SCHEMA_DEFINE(lh_chat_error_detail, LH_CHAT_ERROR_DETAIL, "A provider's error.")
#define LH_CHAT_ERROR_OBJECT(F, T)                                                          \
    F(T, error, OBJECT, .sub = &lh_chat_error_detail_schema, .doc = "The error.")
LH_SCHEMA_DECLARE(lh_chat_error_object, LH_CHAT_ERROR_OBJECT)
LH_SCHEMA_DEFINE(lh_chat_error_object, LH_CHAT_ERROR_OBJECT, "An error body.")
#define LH_CHAT_ERROR_STRING(F, T) F(T, error, STRING, .doc = "The error.")
LH_SCHEMA_DECLARE(lh_chat_error_string, LH_CHAT_ERROR_STRING)
LH_SCHEMA_DEFINE(lh_chat_error_string, LH_CHAT_ERROR_STRING, "An error body.")

static bool lh_http_retryable(const lh_err *err, long status)
{
    if (err)
        return lh_err_code(err) == LH_EUNAVAILABLE; /* no connection; a timeout used the time */
    return status == 429 || status >= 500;
}

static void lh_http_sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* POSTs with retries; the last response in `out`, its status in *status. */
static lh_err *lh_http_post(const lh_chat_http *h, const lh_buf *body, lh_buf *out,
                            long *status)
{
    const char *headers[16] = {"Content-Type: application/json"};
    for (size_t i = 0; h->headers && h->headers[i] && i + 2 < 16; i++)
        headers[i + 1] = h->headers[i];
    int64_t deadline = lh_clock_ms() + h->timeout_ms;
    lh_err *err = NULL;
    for (int attempt = 0;; attempt++) {
        int64_t left = deadline - lh_clock_ms();
        lh_buf_reset(out);
        *status = 0;
        lh_http_call call = {"POST", h->url, headers, body->data, body->len,
                             (int)(left > 1 ? left : 1), LH_HTTP_MAX_RESPONSE};
        lh_err_free(err);
        err = lh_http_perform(&call, out, status);
        if (attempt + 1 == LH_HTTP_ATTEMPTS || !lh_http_retryable(err, *status))
            return err;
        int64_t base = (int64_t)LH_HTTP_BACKOFF_MS << attempt;
        int64_t wait = base / 2 + rand() % (base + 1); /* half to one and a half times */
        if (lh_clock_ms() + wait >= deadline)
            return err;
        lh_http_sleep_ms(wait);
    }
}

static lh_err *lh_http_json_decode(const lh_buf *json, const lh_schema *schema, lh_arena *arena,
                                   void **out)
{
    lh_buf mp;
    lh_buf_init(&mp);
    lh_err *err = lh_json_to_msgpack(json->data ? json->data : "", json->len, &mp);
    if (!err)
        err = lh_schema_decode_reply(schema, mp.data, mp.len, arena, out);
    lh_buf_free(&mp);
    return err;
}

/* The server's own words for a refusal, or NULL. */
static const lh_str *lh_http_said(const lh_buf *resp, lh_arena *arena)
{
    lh_chat_error_object *o = NULL;
    lh_err *err = lh_http_json_decode(resp, &lh_chat_error_object_schema, arena, (void **)&o);
    if (!err && o->error && ((lh_chat_error_detail *)o->error)->message.s)
        return &((lh_chat_error_detail *)o->error)->message;
    lh_err_free(err);
    lh_chat_error_string *s = NULL;
    err = lh_http_json_decode(resp, &lh_chat_error_string_schema, arena, (void **)&s);
    bool ok = !err && s->error.s;
    lh_err_free(err);
    return ok ? &s->error : NULL;
}

static lh_err *lh_http_refusal(const lh_chat_http *h, long status, const lh_buf *resp,
                               lh_arena *arena)
{
    const lh_str *said = lh_http_said(resp, arena);
    lh_buf text;
    lh_buf_init(&text);
    if (said)
        lh_buf_append(&text, said->s, said->len);
    else
        lh_buf_append_str(&text, "no error message");
    char *t = (char *)lh_buf_cstr(&text);
    for (char *at; h->secret && *h->secret && (at = strstr(t, h->secret));)
        memset(at, '*', strlen(h->secret));
    lh_err *err = lh_err_new(LH_EUPSTREAM, NULL, "provider '%s' refused the request (HTTP %ld): %s",
                             h->provider, status, t);
    lh_buf_free(&text);
    return err;
}

lh_err *lh_chat_http_exchange(const lh_chat_http *h, const lh_buf *body,
                              const lh_schema *schema, lh_arena *arena, void **out)
{
    lh_buf resp;
    lh_buf_init(&resp);
    long status = 0;
    lh_err *err = lh_http_post(h, body, &resp, &status);
    if (!err && (status < 200 || status > 299))
        err = lh_http_refusal(h, status, &resp, arena);
    else if (!err && (err = lh_http_json_decode(&resp, schema, arena, out)))
        err = lh_err_wrap_as(err, LH_EUPSTREAM, "provider '%s' answered unreadably", h->provider);
    lh_buf_free(&resp);
    return err;
}

/* ---- prompts ---- */

void lh_chat_passages_text(const lh_chat_prompt *p, lh_buf *out)
{
    lh_buf_append_str(out, "Answer from these passages when they help, and cite each one "
                           "you use as [n].");
    for (size_t i = 0; i < p->n_passages; i++) {
        const lh_chat_passage *ps = &p->passages[i];
        lh_buf_appendf(out, "\n\n[%zu] (%.*s/%.*s) %.*s", i + 1, (int)ps->corpus.len,
                       ps->corpus.s, (int)ps->id.len, ps->id.s, (int)ps->text.len,
                       ps->text.s ? ps->text.s : "");
    }
}

static void lh_chat_message_json(lh_buf *b, bool first, lh_str role, lh_str content)
{
    lh_buf_append_str(b, first ? "{\"role\":" : ",{\"role\":");
    lh_json_append_string(b, role.s, role.len);
    lh_buf_append_str(b, ",\"content\":");
    lh_json_append_string(b, content.s ? content.s : "", content.len);
    lh_buf_append(b, "}", 1);
}

void lh_chat_messages_json(const lh_chat_prompt *p, lh_buf *out)
{
    lh_buf_append(out, "[", 1);
    bool first = true;
    if (p->n_passages) {
        lh_buf sys;
        lh_buf_init(&sys);
        lh_chat_passages_text(p, &sys);
        lh_chat_message_json(out, true, (lh_str){"system", 6}, (lh_str){sys.data, sys.len});
        lh_buf_free(&sys);
        first = false;
    }
    const lh_chat_message *m = p->req->messages.v;
    for (size_t i = 0; i < p->req->messages.n; i++, first = false)
        lh_chat_message_json(out, first, m[i].role, m[i].content);
    lh_buf_append(out, "]", 1);
}

char *lh_chat_url(const char *name, const char *fallback, const char *path)
{
    const char *base = getenv(name);
    if (!base || !*base)
        base = fallback;
    if (!base)
        return NULL;
    size_t n = strlen(base);
    if (n && base[n - 1] == '/')
        n--;
    size_t len = n + strlen(path) + 1;
    char *url = malloc(len);
    if (!url)
        abort(); /* out of memory: as lh_buf does, we do not limp on */
    snprintf(url, len, "%.*s%s", (int)n, base, path);
    return url;
}
