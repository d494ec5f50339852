/*
 * remote_cached.h — a remote provider's vectors, through embedd's cache.
 */
#ifndef LH_EMBED_REMOTE_CACHED_H
#define LH_EMBED_REMOTE_CACHED_H

#include <stddef.h>

#include "actors/embed/cache.h"
#include "actors/embed/provider.h"

/* The vectors of texts from `r` for `model` (its own name), each taken
 * from `cache` (may be NULL) when there and asked for otherwise; *cached
 * says how many came from the cache. */
lh_err *lh_embed_remote_cached(lh_embed_remote *r, lh_embed_cache *cache, const char *model,
                               const lh_strs *texts, lh_arena *arena, lh_matrix *out,
                               size_t *cached);

#endif
