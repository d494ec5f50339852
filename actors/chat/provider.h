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
#include "schemas/chat.h"

/* A passage the answer may cite as [n] (n = index + 1). */
typedef struct lh_chat_passage {
    lh_str corpus, id, text;
} lh_chat_passage;

/* What a provider is asked: the request, its last user message, and the
 * passages retrieved for it (none when retrieval was not asked). */
typedef struct lh_chat_prompt {
    const lh_chat_complete_request *req;
    lh_str model; /* the provider's own name for it: "gpt-4o-mini" of "openai/gpt-4o-mini" */
    lh_str question;
    const lh_chat_passage *passages;
    size_t n_passages;
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

/* Any OpenAI-compatible server (POST {base}/chat/completions), from
 * LH_OPENAI_BASE_URL and LH_OPENAI_API_KEY; NULL when neither is set. */
lh_chat_provider *lh_chat_openai_create(int timeout_ms);

/* The citations of an answer that cites passages as [n]: each passage
 * whose marker appears, numbered as the answer numbers it. */
void lh_chat_cite_markers(const lh_chat_prompt *p, lh_str answer, lh_arena *arena,
                          lh_chat_complete_reply *rep);

#endif
