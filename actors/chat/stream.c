/*
 * stream.c — what chatd's network providers share when they stream: the
 * answer gathered while its pieces go to the sink, each chunk of the wire
 * read in a scratch arena reset after it (a long answer holds one chunk's
 * decoding at a time), the wire's own end required (a cut stream is a
 * failure, never a short answer), and the reply filled at the end by
 * lh_chat_reply_fill, which the whole-answer paths use too: a streamed
 * reply and a whole one cannot differ.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/chat/provider.h"
#include "bus/json.h"

void lh_chat_reply_fill(const lh_chat_prompt *p, lh_str text, lh_str finish,
                        const int64_t *prompt_tokens, const int64_t *completion_tokens,
                        lh_arena *arena, lh_chat_complete_reply *rep)
{
    lh_chat_message *m = lh_arena_alloc(arena, sizeof *m);
    *m = (lh_chat_message){.role = {"assistant", 9}, .content = text};
    rep->message = m;
    rep->finish_reason = finish;
    rep->usage = lh_chat_usage_make(p, text, prompt_tokens, completion_tokens, arena);
    lh_chat_cite_markers(p, text, arena, rep);
}

void lh_chat_stream_init(lh_chat_stream *st, const lh_chat_prompt *p,
                         const lh_http_service *http, lh_arena *arena)
{
    *st = (lh_chat_stream){.p = p, .http = http, .arena = arena,
                           .scratch = lh_arena_create(), .finish = {"stop", 4}};
    lh_buf_init(&st->text);
}

void lh_chat_stream_free(lh_chat_stream *st)
{
    lh_arena_destroy(st->scratch);
    lh_buf_free(&st->text);
}

lh_err *lh_chat_stream_text(lh_chat_stream *st, const char *s, size_t len)
{
    if (!len)
        return NULL;
    lh_buf_append(&st->text, s, len);
    lh_chat_sink *sink = st->p->sink;
    lh_err *err = sink ? sink->delta(sink->user, s, len) : NULL;
    st->sink_failed = err != NULL;
    return err;
}

lh_err *lh_chat_stream_check(void *user)
{
    lh_chat_stream *st = user;
    lh_chat_sink *sink = st->p->sink;
    lh_err *err = sink && sink->check ? sink->check(sink->user) : NULL;
    st->sink_failed = st->sink_failed || err != NULL;
    return err;
}

lh_err *lh_chat_stream_decode(lh_chat_stream *st, const char *json, size_t len,
                              const lh_schema *schema, void **out)
{
    lh_arena_reset(st->scratch); /* the last chunk's decoding is done with */
    lh_err *err = lh_json_decode_reply(json, len, schema, st->scratch, out);
    if (!err)
        return NULL;
    return lh_err_wrap_as(err, LH_EUPSTREAM, "%s sent an unreadable piece of its stream",
                          st->http->who);
}

void lh_chat_stream_finish(lh_chat_stream *st, lh_str reason)
{
    if (reason.s)
        st->finish = (lh_str){lh_arena_strndup(st->arena, reason.s, reason.len), reason.len};
}

lh_err *lh_chat_stream_failed(const lh_chat_stream *st, int code, lh_str type, lh_str message)
{
    lh_buf said;
    lh_buf_init(&said);
    if (type.s)
        lh_buf_appendf(&said, "%.*s: ", (int)type.len, type.s);
    if (message.s)
        lh_buf_append(&said, message.s, message.len);
    else
        lh_buf_append_str(&said, "no error message");
    char *t = (char *)lh_buf_cstr(&said);
    lh_http_service_scrub(st->http, t);
    lh_err *err = lh_err_new(code, NULL, "%s failed mid-stream: %s", st->http->who, t);
    lh_buf_free(&said);
    return err;
}

lh_err *lh_chat_stream_end(lh_chat_stream *st, lh_err *err, lh_chat_complete_reply *rep)
{
    const lh_chat_prompt *p = st->p;
    if (err && st->sink_failed)
        return err; /* the requester went away: its own error, as the sink said it */
    if (!err && !st->ended)
        err = lh_err_new(LH_EUPSTREAM, NULL, "the stream from %s ended before its end",
                         st->http->who);
    if (err)
        return lh_err_wrap(err, "chat with %.*s", (int)p->model.len, p->model.s);
    lh_str text = {lh_arena_strndup(st->arena, st->text.data ? st->text.data : "",
                                    st->text.len),
                   st->text.len};
    lh_chat_reply_fill(p, text, st->finish, st->has_prompt_tokens ? &st->prompt_tokens : NULL,
                       st->has_completion_tokens ? &st->completion_tokens : NULL, st->arena,
                       rep);
    return NULL;
}
