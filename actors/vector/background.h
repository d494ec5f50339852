/*
 * background.h — vectord's housekeeping thread: rebuilds indexes whose
 * tombstones pile up (compact.h) and snapshots changed indexes every few
 * seconds (snapshot.h), away from the request path.
 */
#ifndef LH_VECTOR_BACKGROUND_H
#define LH_VECTOR_BACKGROUND_H

#include <stddef.h>

#include "actors/vector/collection.h"
#include "bus/err.h"

typedef struct lh_vec_background lh_vec_background;

typedef struct lh_vec_bg_config {
    const char *dir;            /* where snapshots go */
    int snapshot_seconds;       /* > 0 */
    size_t rebuild_min_deleted;
    /* References to every open index (a malloc'd array of *n). */
    lh_vec_collection **(*all)(void *user, size_t *n);
    void *user;
} lh_vec_bg_config;

lh_err *lh_vec_background_start(const lh_vec_bg_config *cfg, lh_vec_background **out);
/* Asks for a pass now (a rebuild may be due). */
void lh_vec_background_kick(lh_vec_background *bg);
/* Stops the thread (abandoning a rebuild in progress) and frees it. */
void lh_vec_background_stop(lh_vec_background *bg);

/* Snapshots c if it changed since its last snapshot; failures are logged
 * and leave it marked changed. */
void lh_vec_snapshot_if_dirty(lh_vec_collection *c, const char *dir);

#endif
