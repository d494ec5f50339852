/*
 * vector_internal.h — what vectord's files share: the actor state (the
 * table of open indexes, the store, the background thread) and the
 * handlers, which live in one file per concern.
 */
#ifndef LH_VECTOR_INTERNAL_H
#define LH_VECTOR_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "actors/vector/background.h"
#include "actors/vector/collection.h"
#include "actors/vector/store.h"
#include "bus/actor.h"

typedef struct lh_vec_state {
    lh_actor *actor;
    char dir[PATH_MAX]; /* $LH_DATA_DIR/vectord */
    lh_vec_store *store;
    pthread_mutex_t mu; /* guards the table; held across create and drop */
    lh_vec_collection **cols;
    size_t n_cols, cap_cols;
    lh_vec_background *bg;
    size_t rebuild_min_deleted;
} lh_vec_state;

/* The open index named `name` with a reference the caller drops, or a 404
 * naming `field`. Checks the name first (400). */
lh_err *lh_vec_state_find(lh_vec_state *st, const lh_str *name, const char *field,
                          lh_vec_collection **out);
/* References to every open index, by name; release with lh_vec_state_release. */
lh_vec_collection **lh_vec_state_all(lh_vec_state *st, size_t *n);
void lh_vec_state_release(lh_vec_collection **cols, size_t n);
/* With st->mu held: where `name` is (or would go) in the sorted table. */
size_t lh_vec_state_position(const lh_vec_state *st, const char *name, bool *found);
lh_err *lh_vec_state_insert(lh_vec_state *st, size_t at, lh_vec_collection *c);
void lh_vec_state_remove(lh_vec_state *st, size_t at); /* drops the table's reference */
/* Wakes the background thread when c has enough tombstones to rebuild. */
void lh_vec_state_maybe_rebuild(lh_vec_state *st, lh_vec_collection *c);

/* Copies a vector the index will hold or be queried with into `out`,
 * checking its dimension and, for cosine, scaling it to unit length (all
 * zeros is a 400). Errors name `field`. */
lh_err *lh_vec_prepare_vector(const lh_vec_params *p, const float *in, size_t n,
                              const char *field, float *out);

/* ---- handlers ---- */

lh_err *lh_vec_upsert_handler(lh_ctx *ctx, const void *req, void *reply);
lh_err *lh_vec_delete_handler(lh_ctx *ctx, const void *req, void *reply);
lh_err *lh_vec_search_handler(lh_ctx *ctx, const void *req, void *reply);

#endif
