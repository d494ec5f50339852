/*
 * provider.h — where chatd's answers come from.
 *
 * A provider answers a prepared conversation for a model it serves. The
 * built-in `extractive` provider needs nothing outside the process: it
 * quotes the retrieved passages that best answer the question. Network
 * providers (ollama, any OpenAI-compatible server, anthropic) are to plug
 * in here behind the same function.
 */
#ifndef LH_CHAT_PROVIDER_H
#define LH_CHAT_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>

#include "bus/buf.h"
#include "bus/err.h"
#include "bus/http_client.h"
#include "schemas/chat.h"
#include "lib/providers/providers.h"

/* A passage the answer may cite as [n] (n = index + 1). */
typedef struct lh_chat_passage {
    lh_str corpus, id, text;
} lh_chat_passage;

/* Where a streamed answer's text goes as the provider makes it. `delta`
 * gets each non-empty piece in order and returns NULL to go on, or an
 * error to stop (the requester went away): the provider then stops the
 * upstream call at once and returns that error. */
typedef struct lh_chat_sink {
    lh_err *(*delta)(void *user, const char *text, size_t len);
    /* May be NULL; asked about once a second while the provider waits or
     * streams: an error stops it as delta's does (a requester gone before
     * the first piece, an actor stopping). */
    lh_err *(*check)(void *user);
    void *user;
    size_t sent; /* pieces delta has accepted: set by the sink's owner, read by chatd */
} lh_chat_sink;

/* What a provider is asked: the request, its last user message, and the
 * passages retrieved for it (none when retrieval was not asked). */
typedef struct lh_chat_prompt {
    const lh_chat_complete_request *req;
    lh_str model; /* the provider's own name for it: "gpt-4o-mini" of "openai/gpt-4o-mini" */
    lh_str question;
    const lh_chat_passage *passages;
    size_t n_passages;
    int time_left_ms; /* what remains of the request's time: no call may take longer */
    /* NULL: answer whole. Otherwise stream: ask upstream in its streaming
     * wire format and hand the text to the sink as it arrives; `rep` is
     * still filled at the end exactly as without (the whole message,
     * finish_reason, usage, citations). A failure before the first piece
     * is returned as without a sink (a 5xx lets chatd try a fallback); a
     * failure after it (a cut stream, a mid-stream error event) is
     * returned too, and chatd ends the stream with it. */
    lh_chat_sink *sink;
} lh_chat_prompt;

typedef struct lh_chat_provider lh_chat_provider;
struct lh_chat_provider {
    const char *name; /* the `provider/` of its models; "extractive" */
    const char *type;
    bool takes_model; /* named `name/model` (network providers), not `name` alone */
    /* Fills rep's message, finish_reason, usage and citations (in arena);
     * the caller sets model and provider. */
    lh_err *(*complete)(lh_chat_provider *p, const lh_chat_prompt *prompt, lh_arena *arena,
                        lh_chat_complete_reply *rep);
    void (*destroy)(lh_chat_provider *p);
};

/* The built-in provider that quotes passages and generates nothing. */
lh_chat_provider *lh_chat_extractive_create(void);

/* The network providers, each made from a configured provider
 * (lib/providers) of its type. Any OpenAI-compatible server: POST
 * {url}/chat/completions (url default https://api.openai.com/v1). */
lh_chat_provider *lh_chat_openai_create(const lh_provider_conf *c, int timeout_ms);

/* Ollama: POST {url}/api/chat. */
lh_chat_provider *lh_chat_ollama_create(const lh_provider_conf *c, int timeout_ms);
/* Anthropic: POST {url}/v1/messages (url default https://api.anthropic.com). */
lh_chat_provider *lh_chat_anthropic_create(const lh_provider_conf *c, int timeout_ms);

/* ---- what the network providers share (prompt.c) ---- */

/* The system text that numbers the passages [1], [2], ... for a model. */
void lh_chat_passages_text(const lh_chat_prompt *p, lh_buf *out);

/* A "messages" array in the OpenAI/Ollama form: the passages as a first
 * system message (when there are any), then the conversation. */
void lh_chat_messages_json(const lh_chat_prompt *p, lh_buf *out);


/* Words in s[0..len): the estimate of tokens when a provider gives none. */
size_t lh_chat_count_words(const char *s, size_t len);

/* The usage of an answer: the provider's counts where given (non-NULL),
 * else words, marked estimated (usage.c). */
lh_chat_usage *lh_chat_usage_make(const lh_chat_prompt *p, lh_str answer, const int64_t *prompt,
                                  const int64_t *completion, lh_arena *arena);

/* The citations of an answer that cites passages as [n]: each passage
 * whose marker appears, numbered as the answer numbers it. */
void lh_chat_cite_markers(const lh_chat_prompt *p, lh_str answer, lh_arena *arena,
                          lh_chat_complete_reply *rep);

/* Fills rep as every network provider does, streamed or not: the message
 * (`text`, in arena), finish_reason, usage (lh_chat_usage_make) and the
 * citations of its markers (stream.c). */
void lh_chat_reply_fill(const lh_chat_prompt *p, lh_str text, lh_str finish,
                        const int64_t *prompt_tokens, const int64_t *completion_tokens,
                        lh_arena *arena, lh_chat_complete_reply *rep);

/* ---- streaming, as the network providers share it (stream.c) ---- */

/* An answer being streamed: its text so far (each piece handed to the
 * sink), how it ended, its counts when the provider gave them. Each
 * chunk of the wire is decoded in `scratch`, reset after it, so a long
 * stream holds one chunk's decoding at a time. */
typedef struct lh_chat_stream {
    const lh_chat_prompt *p;
    const lh_http_service *http; /* its `who` names it in errors, its key is scrubbed */
    lh_arena *arena;             /* the reply's */
    lh_arena *scratch;
    lh_buf text;
    bool ended;       /* the wire's own end ([DONE], done:true, message_stop) was read */
    bool sink_failed; /* the sink stopped it: its error is returned as is */
    lh_str finish;    /* in arena; "stop" when none came */
    int64_t prompt_tokens, completion_tokens;
    bool has_prompt_tokens, has_completion_tokens;
} lh_chat_stream;

void lh_chat_stream_init(lh_chat_stream *st, const lh_chat_prompt *p,
                         const lh_http_service *http, lh_arena *arena);
void lh_chat_stream_free(lh_chat_stream *st);
/* Adds a piece of the answer and hands it to the sink (an empty one is
 * not): the sink's error, to stop the transfer. */
lh_err *lh_chat_stream_text(lh_chat_stream *st, const char *s, size_t len);
/* The sink's check, for lh_http_service_stream (user: the lh_chat_stream). */
lh_err *lh_chat_stream_check(void *user);
/* Reads one JSON chunk through `schema` into the scratch arena: 502
 * naming the problem when it does not read. */
lh_err *lh_chat_stream_decode(lh_chat_stream *st, const char *json, size_t len,
                              const lh_schema *schema, void **out);
/* The stream's finish_reason (copied into the reply's arena). */
void lh_chat_stream_finish(lh_chat_stream *st, lh_str reason);
/* An error the provider sent mid-stream: `code` (>= 500), its type (may be
 * absent) and message, the key scrubbed. */
lh_err *lh_chat_stream_failed(const lh_chat_stream *st, int code, lh_str type, lh_str message);
/* After the transfer (`err` its outcome): the error, or one for a stream
 * that ended without its end, wrapped naming the model (the sink's own
 * error returned as is); else rep filled by lh_chat_reply_fill. */
lh_err *lh_chat_stream_end(lh_chat_stream *st, lh_err *err, lh_chat_complete_reply *rep);

#endif
