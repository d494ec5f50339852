/*
 * provider_hash.c — the built-in, offline provider. Its models are named
 * `hash-<dimension>`, so a caller can ask for another dimension without
 * reconfiguring the actor; the default comes from LH_EMBED_DIM.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/embed/hash_embedder.h"
#include "actors/embed/provider.h"

#define LH_HASH_MIN_DIM 8
#define LH_HASH_MAX_DIM 4096

typedef struct lh_hash_provider {
    lh_embed_provider base;
    int dimension;
} lh_hash_provider;

static lh_err *lh_hash_resolve(lh_embed_provider *p, const char *model, char *name_out,
                               size_t cap, int *dimension)
{
    int dim = ((lh_hash_provider *)p)->dimension;
    if (model && *model) {
        char *end = NULL;
        long d = strncmp(model, "hash-", 5) == 0 ? strtol(model + 5, &end, 10) : 0;
        if (!end || *end || d < LH_HASH_MIN_DIM || d > LH_HASH_MAX_DIM)
            return lh_err_new(LH_EBADREQ, "model",
                              "unknown model '%s': the hash provider serves hash-<dimension> "
                              "with dimension %d..%d (default hash-%d)",
                              model, LH_HASH_MIN_DIM, LH_HASH_MAX_DIM, dim);
        dim = (int)d;
    }
    snprintf(name_out, cap, "hash-%d", dim);
    *dimension = dim;
    return NULL;
}

static lh_err *lh_hash_embed_all(lh_embed_provider *p, const char *model, int dimension,
                                 const lh_strs *texts, float *out)
{
    (void)p;
    (void)model;
    for (size_t i = 0; i < texts->n; i++) {
        if (!lh_hash_embed(texts->v[i].s, texts->v[i].len, dimension,
                           out + i * (size_t)dimension)) {
            char field[32];
            snprintf(field, sizeof field, "texts[%zu]", i);
            return lh_err_new(LH_EBADREQ, field, "field '%s' has no words to embed", field);
        }
    }
    return NULL;
}

static void lh_hash_destroy(lh_embed_provider *p) { free(p); }

lh_err *lh_embed_hash_provider_create(int dimension, lh_embed_provider **out)
{
    if (dimension < LH_HASH_MIN_DIM || dimension > LH_HASH_MAX_DIM)
        return lh_err_new(LH_EBADREQ, NULL, "embedding dimension %d out of range %d..%d",
                          dimension, LH_HASH_MIN_DIM, LH_HASH_MAX_DIM);
    lh_hash_provider *hp = calloc(1, sizeof *hp);
    if (!hp)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    hp->base = (lh_embed_provider){"hash", lh_hash_resolve, lh_hash_embed_all, lh_hash_destroy};
    hp->dimension = dimension;
    *out = &hp->base;
    return NULL;
}
