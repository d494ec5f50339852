/*
 * cache.h — embedd's cache of remote providers' vectors, in LevelDB under
 * $LH_DATA_DIR/embedd/cache, keyed by provider, model and the sha256 of
 * the text: re-embedding a text costs a local read, not a network call.
 * Entries are written without fsync: a lost entry is only a miss.
 */
#ifndef LH_EMBED_CACHE_H
#define LH_EMBED_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "bus/buf.h"
#include "bus/err.h"

typedef struct lh_embed_cache lh_embed_cache;

lh_err *lh_embed_cache_open(const char *dir, lh_embed_cache **out);
void lh_embed_cache_close(lh_embed_cache *c);

/* The cached vector of (provider, model, text) in `arena`; false on a miss. */
bool lh_embed_cache_get(lh_embed_cache *c, const char *provider, const char *model,
                        const char *text, size_t len, lh_arena *arena, float **vec, int *dim);
void lh_embed_cache_put(lh_embed_cache *c, const char *provider, const char *model,
                        const char *text, size_t len, const float *vec, int dim);

#endif
