/*
 * remote_cached.c — a remote provider's vectors through embedd's cache:
 * every text is looked up first (provider, model, sha256 of the text),
 * only the misses go over the network, in one call, and what comes back
 * is kept. A request answered wholly from the cache never leaves the
 * process.
 */
#include "actors/embed/remote_cached.h"

#include <string.h>

lh_err *lh_embed_remote_cached(lh_embed_remote *r, lh_embed_cache *cache, const char *model,
                               const lh_strs *texts, lh_arena *arena, lh_matrix *out,
                               size_t *cached)
{
    size_t n = texts->n;
    float **rows = lh_arena_alloc(arena, n * sizeof *rows);
    lh_str *miss = lh_arena_alloc(arena, n * sizeof *miss);
    size_t *miss_at = lh_arena_alloc(arena, n * sizeof *miss_at);
    size_t n_miss = 0;
    int dim = 0;
    for (size_t i = 0; i < n; i++) {
        int d = 0;
        if (cache && lh_embed_cache_get(cache, r->name, model, texts->v[i].s, texts->v[i].len,
                                        arena, &rows[i], &d) &&
            (!dim || d == dim)) {
            dim = d;
            continue;
        }
        rows[i] = NULL;
        miss[n_miss] = texts->v[i];
        miss_at[n_miss++] = i;
    }
    *cached = n - n_miss;
    if (n_miss) {
        float *fresh = NULL;
        int fdim = 0;
        lh_err *err = r->fetch(r, model, &(lh_strs){miss, n_miss}, arena, &fresh, &fdim);
        if (err)
            return err;
        if (dim && fdim != dim) /* the model changed under the cache: trust the server */
            return lh_err_new(LH_EUPSTREAM, NULL,
                              "provider '%s' answered %d numbers for %s, %d before: clear "
                              "$LH_DATA_DIR/embedd/cache if the model changed",
                              r->name, fdim, model, dim);
        dim = fdim;
        for (size_t j = 0; j < n_miss; j++) {
            rows[miss_at[j]] = fresh + j * (size_t)dim;
            if (cache)
                lh_embed_cache_put(cache, r->name, model, miss[j].s, miss[j].len,
                                   rows[miss_at[j]], dim);
        }
    }
    out->rows = n;
    out->cols = (size_t)dim;
    out->v = lh_arena_alloc(arena, n * (size_t)dim * sizeof *out->v);
    for (size_t i = 0; i < n; i++)
        memcpy(out->v + i * (size_t)dim, rows[i], (size_t)dim * sizeof *out->v);
    return NULL;
}
