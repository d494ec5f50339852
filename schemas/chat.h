/*
 * chat.h — the messages of chatd (`chat.*`): chat completions from a
 * model provider, optionally grounded in passages matrixd retrieves, with
 * the citations the answer used.
 */
#ifndef LH_SCHEMAS_CHAT_H
#define LH_SCHEMAS_CHAT_H

#include "bus/contract.h"
#include "bus/schema.h"
#include "schemas/matrix.h"

/* Bounds; the docs and the 400/413 messages quote them. */
#define LH_CHAT_MAX_MESSAGES 256
#define LH_CHAT_MAX_CONTENT_BYTES 65536
#define LH_CHAT_MAX_PROMPT_BYTES (1024 * 1024) /* every message's content together */
#define LH_CHAT_MAX_TOKENS 131072
#define LH_CHAT_MAX_PASSAGES 50
#define LH_CHAT_MAX_MODEL_BYTES 256
#define LH_CHAT_MAX_FALLBACKS 8

/* ---- chat.complete ---- */

#define LH_CHAT_MESSAGE(F, T)                                                               \
    F(T, role, STRING, .required = true, .choices = "system|user|assistant",                \
      .doc = "Who speaks: `system` (instructions), `user` or `assistant`.")                 \
    F(T, content, STRING, .required = true, .max = LH_CHAT_MAX_CONTENT_BYTES,               \
      .doc = "What they say (text, at most 64 KiB).")
LH_MESSAGE(lh_chat_message, LH_CHAT_MESSAGE, "One message of a conversation.")

#define LH_CHAT_RETRIEVE(F, T)                                                              \
    F(T, corpora, STRINGS, .min = 1, .max = LH_MATRIX_MAX_CORPORA,                          \
      .item_max = LH_VECTOR_MAX_INDEX_NAME, .flags = LH_F_NONBLANK | LH_F_ONE_OR_MANY,      \
      .doc = "The vector indexes to search (default: every index, up to 16).")              \
    F(T, k, INT, .min = 1, .max = LH_CHAT_MAX_PASSAGES, .def = 5,                           \
      .doc = "Passages to put before the model, 1 to 50.")                                  \
    F(T, mode, STRING, .choices = "hybrid|vector|keyword",                                  \
      .doc = "As matrix.retrieve's `mode` (default hybrid).")
LH_MESSAGE(lh_chat_retrieve, LH_CHAT_RETRIEVE,
           "Which passages to ground the answer in (matrix.retrieve over the last user "
           "message).")

#define LH_CHAT_COMPLETE_REQUEST(F, T)                                                      \
    F(T, messages, OBJECTS, .required = true, .min = 1, .max = LH_CHAT_MAX_MESSAGES,        \
      .sub = &lh_chat_message_schema,                                                       \
      .doc = "The conversation so far, oldest first; the last message is the user's.")      \
    F(T, model, STRING, .max = LH_CHAT_MAX_MODEL_BYTES,                                     \
      .doc = "`provider/model` (`extractive` is the built-in one). Default: "               \
             "LH_CHAT_MODEL, else `extractive`.")                                           \
    F(T, max_tokens, INT, .min = 1, .max = LH_CHAT_MAX_TOKENS, .flags = LH_F_OMIT_UNSET,    \
      .doc = "At most this many tokens in the answer.")                                     \
    F(T, temperature, FLOAT, .min = 0, .max = 2, .flags = LH_F_OMIT_UNSET,                  \
      .doc = "Sampling temperature, 0 to 2 (the provider's default when absent).")          \
    F(T, fallbacks, STRINGS, .max = LH_CHAT_MAX_FALLBACKS, .item_max = LH_CHAT_MAX_MODEL_BYTES,\
      .flags = LH_F_NONBLANK,                                                               \
      .doc = "Models to try in order when the model fails (its provider is down, busy or "  \
             "answers unreadably; not when the request itself is refused), at most 8.")     \
    F(T, stream, BOOL, .def = 0,                                                            \
      .doc = "Stream the answer as it is made, in `lh_chat_chunk` messages (the bus's "     \
             "streaming protocol, asked for with the `Lh-Stream` header; without it the "   \
             "answer comes whole). Fallbacks apply until the first piece is sent.")         \
    F(T, retrieve, OBJECT, .sub = &lh_chat_retrieve_schema,                                 \
      .doc = "Ground the answer in retrieved passages, cited as [n]. The extractive "       \
             "model always retrieves (from every index unless corpora are named).")
LH_MESSAGE(lh_chat_complete_request, LH_CHAT_COMPLETE_REQUEST,
           "Answer the conversation's last user message.")

#define LH_CHAT_USAGE(F, T)                                                                 \
    F(T, prompt_tokens, INT, .doc = "Tokens read: messages and passages.")                  \
    F(T, completion_tokens, INT, .doc = "Tokens of the answer.")                            \
    F(T, estimated, BOOL,                                                                   \
      .doc = "True when the counts are estimated (words), not the provider's own.")
LH_MESSAGE(lh_chat_usage, LH_CHAT_USAGE, "Tokens a completion used.")

#define LH_CHAT_CITATION(F, T)                                                              \
    F(T, n, INT, .doc = "The number the answer cites it by, [n].")                          \
    F(T, corpus, STRING, .doc = "The index the passage is in.")                             \
    F(T, id, STRING, .doc = "The passage's item id.")                                       \
    F(T, snippet, STRING, .doc = "What of it the answer used, or its keyword snippet.")
LH_MESSAGE(lh_chat_citation, LH_CHAT_CITATION, "A passage the answer cites.")

#define LH_CHAT_ATTEMPT(F, T)                                                               \
    F(T, model, STRING, .doc = "The model that failed.")                                    \
    F(T, status, INT, .doc = "Its status: 502 refused or unreadable, 503 down, 504 late.")  \
    F(T, error, STRING, .doc = "Why.")
LH_MESSAGE(lh_chat_attempt, LH_CHAT_ATTEMPT, "A model tried before the one that answered.")

#define LH_CHAT_COMPLETE_REPLY(F, T)                                                        \
    F(T, message, OBJECT, .sub = &lh_chat_message_schema,                                   \
      .doc = "The answer, role `assistant`.")                                               \
    F(T, model, STRING, .doc = "The model that answered.")                                  \
    F(T, provider, STRING,                                                                  \
      .doc = "Its provider; `extractive` quotes passages verbatim and generates nothing.")  \
    F(T, finish_reason, STRING, .doc = "`stop`, or `length` when max_tokens cut it.")       \
    F(T, usage, OBJECT, .sub = &lh_chat_usage_schema, .doc = "Tokens used.")                \
    F(T, citations, OBJECTS, .sub = &lh_chat_citation_schema,                               \
      .doc = "The passages the answer cites, by their [n].")                                \
    F(T, failed_attempts, OBJECTS, .sub = &lh_chat_attempt_schema, .flags = LH_F_OMIT_UNSET,\
      .doc = "Models that failed before the one that answered (from `fallbacks`).")
LH_MESSAGE(lh_chat_complete_reply, LH_CHAT_COMPLETE_REPLY, "An answer, with its citations.")

/* A streamed answer's pieces, before its reply (the stream's last message). */
#define LH_CHAT_CHUNK(F, T)                                                                 \
    F(T, delta, STRING, .doc = "The next piece of the answer's text.")                      \
    F(T, model, STRING,                                                                     \
      .doc = "The model answering (after any fallback): on the first piece only.")
LH_MESSAGE(lh_chat_chunk, LH_CHAT_CHUNK, "A piece of a streamed answer.")

#define LH_CHAT_COMPLETED_EVENT(F, T)                                                       \
    F(T, model, STRING, .doc = "The model that answered.")                                  \
    F(T, provider, STRING, .doc = "Its provider.")                                          \
    F(T, streamed, BOOL, .doc = "Whether it was streamed.")                                 \
    F(T, finish_reason, STRING, .doc = "`stop` or `length`.")                               \
    F(T, usage, OBJECT, .sub = &lh_chat_usage_schema, .doc = "Tokens used.")                \
    F(T, citations, INT, .doc = "Passages the answer cited.")                               \
    F(T, corpora, STRINGS, .doc = "The indexes of the passages it cited, each once.")        \
    F(T, failed_attempts, INT, .doc = "Models that failed before it.")
LH_MESSAGE(lh_chat_completed_event, LH_CHAT_COMPLETED_EVENT, "A conversation answered.")

/* ---- chat.providers ---- */

#define LH_CHAT_PROVIDERS_REQUEST(F, T)
LH_MESSAGE(lh_chat_providers_request, LH_CHAT_PROVIDERS_REQUEST, "List the chat providers.")

#define LH_CHAT_PROVIDER_INFO(F, T)                                                         \
    F(T, name, STRING, .doc = "The provider's name, the `provider/` of its models.")        \
    F(T, type, STRING, .doc = "`extractive` (built in).")                                   \
    F(T, models, STRINGS, .doc = "Models it serves, as `model` names them.")                \
    F(T, is_default, BOOL, .doc = "Whether it serves the default model.")                  \
    F(T, requests, INT, .doc = "Completions asked of it since chatd started.")              \
    F(T, errors, INT, .doc = "Of those, how many failed.")                                  \
    F(T, last_ms, FLOAT, .flags = LH_F_OMIT_UNSET, .doc = "How long its last answer took.")  \
    F(T, last_error, STRING, .doc = "Its last failure, if any (never a key).")
LH_MESSAGE(lh_chat_provider_info, LH_CHAT_PROVIDER_INFO, "A configured chat provider.")

#define LH_CHAT_PROVIDERS_REPLY(F, T)                                                       \
    F(T, providers, OBJECTS, .sub = &lh_chat_provider_info_schema,                          \
      .doc = "Every configured provider.")                                                  \
    F(T, default_model, STRING, .doc = "The model used when a request names none.")
LH_MESSAGE(lh_chat_providers_reply, LH_CHAT_PROVIDERS_REPLY, "The chat providers.")

/* ---- contracts ---- */

#define LH_CHAT_ENDPOINTS(E, S)                                                             \
    E(S, chat_complete, "complete", "chat.complete", lh_chat_complete_request,              \
      lh_chat_complete_reply,                                                               \
      "Answer a conversation, grounded in retrieved passages when asked (always for "       \
      "`extractive`). 404 for an unknown model or provider, 413 for an oversize prompt. " \
      "Streams `lh_chat_chunk` pieces when asked (`stream` and the Lh-Stream header).")   \
    E(S, chat_providers, "providers", "chat.providers", lh_chat_providers_request,          \
      lh_chat_providers_reply, "List the configured chat providers and their models.")
#define LH_CHAT_EVENTS(V, S)                                                                \
    V(S, chat_completed, "completed", lh_chat_completed_event,                              \
      "A conversation was answered: the model, its usage (never the text).")
LH_SERVICE("chatd", LH_CHAT_ENDPOINTS, LH_CHAT_EVENTS)

#endif
