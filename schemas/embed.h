/*
 * embed.h — the messages of embedd (`embed.*`).
 */
#ifndef LH_SCHEMAS_EMBED_H
#define LH_SCHEMAS_EMBED_H

#include "bus/contract.h"
#include "bus/schema.h"

/* Bounds on one embed.request; the docs and the 413 messages quote them. */
#define LH_EMBED_MAX_TEXTS 1024
#define LH_EMBED_MAX_TEXT_BYTES 32768
#define LH_EMBED_MAX_TOTAL_BYTES (1024 * 1024)

#define LH_EMBED_REQUEST(F, T)                                                              \
    F(T, texts, STRINGS, .required = true, .min = 1, .max = LH_EMBED_MAX_TEXTS,             \
      .item_max = LH_EMBED_MAX_TEXT_BYTES, .total_max = LH_EMBED_MAX_TOTAL_BYTES,           \
      .flags = LH_F_NONBLANK, .doc = "Texts to embed, each non-blank UTF-8.")               \
    F(T, model, STRING, .max = 128,                                                         \
      .doc = "Model name. Default: the configured provider's default model (the "          \
             "built-in provider's is `hash2-384`, set by LH_EMBED_MODEL and LH_EMBED_DIM; "  \
             "`hash-<dimension>` is its first scheme, kept for the indexes made with it). "  \
             "`<provider>/<model>` asks a configured remote provider (`openai/...`, "        \
             "`ollama/...`), its vectors cached by embedd.")                                 \
    F(T, normalize, BOOL, .def = 1, .doc = "Scale each vector to unit length.")
LH_MESSAGE(lh_embed_request, LH_EMBED_REQUEST,
           "Embed texts into vectors with the configured provider.")

#define LH_EMBED_REPLY(F, T)                                                                \
    F(T, vectors, MATRIX, .doc = "One vector per text, in request order.")                 \
    F(T, dimension, INT, .doc = "Length of each vector.")                                   \
    F(T, model, STRING, .doc = "The model that produced the vectors.")                      \
    F(T, provider, STRING, .doc = "The provider that served the model (`hash`, ...).")    \
    F(T, cached, INT, .flags = LH_F_OMIT_UNSET,                                             \
      .doc = "Remote providers: how many vectors came from embedd's cache.")
LH_MESSAGE(lh_embed_reply, LH_EMBED_REPLY, "The vectors for an embed.request.")

/* ---- contracts ---- */

#define LH_EMBED_ENDPOINTS(E, S)                                                            \
    E(S, embed_request, "request", "embed.request", lh_embed_request, lh_embed_reply,       \
      "Embed texts into unit-length vectors.")
LH_SERVICE("embedd", LH_EMBED_ENDPOINTS, LH_NO_EVENTS)

#endif
