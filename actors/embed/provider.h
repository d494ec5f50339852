/*
 * provider.h — where embedd's vectors come from.
 *
 * A provider turns texts into vectors for a model it serves. The built-in
 * `hash` provider needs nothing outside the process and knows its
 * dimension before it starts. Remote providers (`openai`: any
 * OpenAI-compatible server; `ollama`) are asked over HTTP, their models
 * named `<provider>/<model>`; their dimension is whatever they answer.
 */
#ifndef LH_EMBED_PROVIDER_H
#define LH_EMBED_PROVIDER_H

#include "bus/err.h"
#include "bus/schema.h"
#include "lib/providers/providers.h"

typedef struct lh_embed_provider lh_embed_provider;

struct lh_embed_provider {
    const char *name; /* "hash" */
    /* Resolves a requested model (NULL = the default) to the model name it
     * will report and the dimension it produces; 400 for unknown models. */
    lh_err *(*resolve)(lh_embed_provider *p, const char *model, char *name_out, size_t cap,
                       int *dimension);
    /* Writes texts->n rows of `dimension` floats to out. */
    lh_err *(*embed)(lh_embed_provider *p, const char *model, int dimension,
                     const lh_strs *texts, float *out);
    void (*destroy)(lh_embed_provider *p);
};

/* The built-in feature-hashing provider. Its default model is `model`
 * (`hash2-768`, or a bare scheme `hash` / `hash2` that takes `dimension`),
 * or hash2-<dimension> when model is NULL or empty; 400 for a bad name or
 * a dimension out of range. */
lh_err *lh_embed_hash_provider_create(const char *model, int dimension, lh_embed_provider **out);

/* A provider on another server. */
typedef struct lh_embed_remote lh_embed_remote;
struct lh_embed_remote {
    const char *name; /* "openai", "ollama": the `name/` of its models */
    /* The vectors of texts for `model` (its own name for it): texts->n rows
     * of *dim floats in `arena`, in order. */
    lh_err *(*fetch)(lh_embed_remote *r, const char *model, const lh_strs *texts,
                     lh_arena *arena, float **out, int *dim);
    void (*destroy)(lh_embed_remote *r);
};

/* From a configured provider (lib/providers) of type openai: POST
 * {url}/embeddings; of type ollama: POST {url}/api/embed. NULL for a type
 * that has no embeddings (anthropic). */
lh_embed_remote *lh_embed_remote_create(const lh_provider_conf *c, int timeout_ms);

#endif
