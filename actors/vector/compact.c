/*
 * compact.c — tombstone-free rebuilds (compact.h).
 */
#include "actors/vector/compact.h"

#include <stdlib.h>

#include "bus/log.h"

/* Vectors added per call, between checks for a stop. */
#define LH_COMPACT_CHUNK 2048

static lh_err *lh_build(const lh_vec_params *p, const float *vectors, size_t n,
                        const atomic_bool *stop, lh_fx_index **out)
{
    lh_fx_params fp = lh_vec_fx_params(p);
    lh_err *err = lh_fx_create(&fp, out);
    size_t d = (size_t)p->dimension;
    for (size_t at = 0; !err && at < n && !atomic_load(stop); at += LH_COMPACT_CHUNK) {
        size_t m = n - at < LH_COMPACT_CHUNK ? n - at : LH_COMPACT_CHUNK;
        err = lh_fx_add(*out, m, vectors + at * d);
    }
    if (!err && atomic_load(stop))
        err = lh_err_new(LH_EUNAVAILABLE, NULL, "stopping");
    if (err && *out) {
        lh_fx_destroy(*out);
        *out = NULL;
    }
    return err;
}

/* Swaps in `fresh` unless the index was dropped meanwhile. */
static lh_err *lh_install(lh_vec_collection *c, lh_fx_index *fresh, const int64_t *labels,
                          size_t n, size_t label_count)
{
    lh_vec_collection_lock_writes(c);
    lh_err *err = lh_vec_collection_dropped(c)
                      ? lh_err_new(LH_ENOTFOUND, NULL, "dropped")
                      : lh_vec_collection_swap(c, fresh, labels, n, label_count);
    lh_vec_collection_unlock_writes(c);
    return err;
}

lh_err *lh_vec_compact(lh_vec_collection *c, const atomic_bool *stop)
{
    const lh_vec_params *p = lh_vec_collection_params(c);
    int64_t *labels = NULL;
    float *vectors = NULL;
    size_t n = 0, label_count = 0;
    lh_err *err = lh_vec_collection_copy_live(c, &labels, &vectors, &n, &label_count);
    lh_fx_index *fresh = NULL;
    if (!err)
        err = lh_build(p, vectors, n, stop, &fresh);
    free(vectors);
    if (!err)
        err = lh_install(c, fresh, labels, n, label_count);
    free(labels);
    if (err && fresh)
        lh_fx_destroy(fresh); /* not swapped in */
    int code = err ? lh_err_code(err) : 0;
    if (code == LH_EUNAVAILABLE || code == LH_ENOTFOUND) { /* stopping, or dropped */
        lh_err_free(err);
        return NULL;
    }
    if (!err)
        lh_info("index '%s': rebuilt from %zu live items (%zu labels before)", p->name, n,
                label_count);
    return err ? lh_err_wrap(err, "rebuild index '%s'", p->name) : NULL;
}
