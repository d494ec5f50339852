/*
 * provider_hash.c — the built-in, offline provider. Its models are named
 * `<scheme>-<dimension>`: `hash2-384` (the default scheme) or `hash-384`
 * (the first scheme, kept bit for bit for the indexes that hold it), so a
 * caller picks a scheme and a dimension without reconfiguring the actor.
 * A new scheme gets a new name rather than changing an old one's vectors,
 * because an index can only be searched with the model that filled it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/embed/hash_embedder.h"
#include "actors/embed/provider.h"

#define LH_HASH_MIN_DIM 8
#define LH_HASH_MAX_DIM 4096

typedef bool (*lh_hash_fn)(const char *text, size_t len, int dim, float *out);

typedef struct lh_hash_scheme {
    const char *name;
    lh_hash_fn embed;
} lh_hash_scheme;

/* The default first. */
static const lh_hash_scheme lh_hash_schemes[] = {
    {"hash2", lh_hash2_embed},
    {"hash", lh_hash_embed},
};
#define LH_HASH_SCHEMES (sizeof lh_hash_schemes / sizeof lh_hash_schemes[0])

typedef struct lh_hash_provider {
    lh_embed_provider base;
    const lh_hash_scheme *scheme; /* the default model's */
    int dimension;                /* the default model's */
} lh_hash_provider;

/* Splits `<scheme>-<dimension>`, or a bare `<scheme>` (then *dim is left
 * alone); false when the name is neither. */
static bool lh_hash_parse(const char *model, const lh_hash_scheme **scheme, int *dim)
{
    for (size_t i = 0; i < LH_HASH_SCHEMES; i++) {
        size_t n = strlen(lh_hash_schemes[i].name);
        if (strncmp(model, lh_hash_schemes[i].name, n) != 0)
            continue;
        if (model[n] == '\0') {
            *scheme = &lh_hash_schemes[i];
            return true;
        }
        if (model[n] != '-' || model[n + 1] < '0' || model[n + 1] > '9')
            continue;
        char *end = NULL;
        long d = strtol(model + n + 1, &end, 10);
        if (*end || d < LH_HASH_MIN_DIM || d > LH_HASH_MAX_DIM)
            return false;
        *scheme = &lh_hash_schemes[i];
        *dim = (int)d;
        return true;
    }
    return false;
}

static lh_err *lh_hash_unknown(const char *model, const char *default_name)
{
    return lh_err_new(LH_EBADREQ, "model",
                      "unknown model '%s': the hash provider serves hash2-<dimension> and "
                      "hash-<dimension> with dimension %d..%d (default %s)",
                      model, LH_HASH_MIN_DIM, LH_HASH_MAX_DIM, default_name);
}

static lh_err *lh_hash_resolve(lh_embed_provider *p, const char *model, char *name_out,
                               size_t cap, int *dimension)
{
    lh_hash_provider *hp = (lh_hash_provider *)p;
    const lh_hash_scheme *scheme = hp->scheme;
    int dim = hp->dimension;
    if (model && *model && !lh_hash_parse(model, &scheme, &dim)) {
        char default_name[32];
        snprintf(default_name, sizeof default_name, "%s-%d", hp->scheme->name, hp->dimension);
        return lh_hash_unknown(model, default_name);
    }
    snprintf(name_out, cap, "%s-%d", scheme->name, dim);
    *dimension = dim;
    return NULL;
}

static lh_err *lh_hash_embed_all(lh_embed_provider *p, const char *model, int dimension,
                                 const lh_strs *texts, float *out)
{
    const lh_hash_scheme *scheme = ((lh_hash_provider *)p)->scheme;
    int parsed_dim = dimension;
    if (!lh_hash_parse(model, &scheme, &parsed_dim) || parsed_dim != dimension)
        return lh_err_new(LH_EINTERNAL, "model", "model '%s' was not resolved for %d dimensions",
                          model, dimension);
    for (size_t i = 0; i < texts->n; i++) {
        if (!scheme->embed(texts->v[i].s, texts->v[i].len, dimension,
                           out + i * (size_t)dimension)) {
            char field[32];
            snprintf(field, sizeof field, "texts[%zu]", i);
            return lh_err_new(LH_EBADREQ, field, "field '%s' has no words to embed", field);
        }
    }
    return NULL;
}

static void lh_hash_destroy(lh_embed_provider *p) { free(p); }

lh_err *lh_embed_hash_provider_create(const char *model, int dimension, lh_embed_provider **out)
{
    const lh_hash_scheme *scheme = &lh_hash_schemes[0];
    if (model && *model && !lh_hash_parse(model, &scheme, &dimension)) {
        char default_name[32];
        snprintf(default_name, sizeof default_name, "%s-%d", scheme->name, dimension);
        return lh_hash_unknown(model, default_name);
    }
    if (dimension < LH_HASH_MIN_DIM || dimension > LH_HASH_MAX_DIM)
        return lh_err_new(LH_EBADREQ, NULL, "embedding dimension %d out of range %d..%d",
                          dimension, LH_HASH_MIN_DIM, LH_HASH_MAX_DIM);
    lh_hash_provider *hp = calloc(1, sizeof *hp);
    if (!hp)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    hp->base = (lh_embed_provider){"hash", lh_hash_resolve, lh_hash_embed_all, lh_hash_destroy};
    hp->scheme = scheme;
    hp->dimension = dimension;
    *out = &hp->base;
    return NULL;
}
