/*
 * uploads.h — the uploads in progress: a table of reference-counted
 * upload states, each with its own lock so one upload's parts are taken
 * one at a time while different uploads proceed in parallel.
 */
#ifndef LH_STORAGE_UPLOADS_H
#define LH_STORAGE_UPLOADS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actors/storage/backend.h"
#include "actors/storage/names.h"
#include "actors/storage/sha.h"
#include "bus/err.h"

#define LH_ST_ID_LEN 22 /* lh_new_id */

typedef struct lh_st_early lh_st_early; /* storage_upload.c */

typedef struct lh_st_upload {
    char id[LH_ST_ID_LEN + 1];
    pthread_mutex_t mu; /* held for a whole operation (part, commit, abort, reap) */
    int refs;           /* guarded by the table's lock */
    bool gone;          /* under mu: committed, aborted or reaped */
    char bucket[LH_ST_BUCKET_MAX + 1];
    char *key;
    char *content_type; /* NULL when none was given */
    char *metadata;     /* msgpack map, NULL when none */
    size_t metadata_len;
    int64_t parts;
    uint64_t size;
    uint64_t last_part;        /* bytes of part number `parts` */
    _Atomic int64_t touched;   /* last activity, wall-clock seconds (the reaper reads it unlocked) */
    lh_st_writer *writer;
    lh_sha256 *sha;
    bool sha_ready; /* sha covers all `size` bytes; false after a restart until rebuilt */
    /* A part that came one ahead of its turn, held with its reply until
     * its predecessor is appended (storage_upload.c); NULL when none. */
    lh_st_early *early;
} lh_st_upload;

typedef struct lh_st_uploads lh_st_uploads;

lh_st_uploads *lh_st_uploads_create(lh_st_backend *backend);
/* Frees every upload; their writers are detached, not aborted, so the
 * uploads can resume after a restart. */
void lh_st_uploads_destroy(lh_st_uploads *t);

/* A new upload state (no references yet) or NULL when out of memory. */
lh_st_upload *lh_st_upload_new(const char *id, const char *bucket, const char *key,
                               const char *content_type, const char *metadata,
                               size_t metadata_len);
/* Frees an upload never added to a table (its writer, if any, is detached). */
void lh_st_upload_free(lh_st_upload *u, lh_st_backend *backend);

/* Adds u (the table takes a reference). */
void lh_st_uploads_add(lh_st_uploads *t, lh_st_upload *u);
/* The upload with this id and a reference for the caller, or NULL. */
lh_st_upload *lh_st_uploads_find(lh_st_uploads *t, const char *id, size_t len);
/* Drops the table's reference (once; later calls do nothing). */
void lh_st_uploads_remove(lh_st_uploads *t, lh_st_upload *u);
/* Drops the caller's reference; the last one frees. */
void lh_st_uploads_release(lh_st_uploads *t, lh_st_upload *u);
/* Uploads last touched before `before`, each with a reference; free the
 * array after releasing them. */
lh_st_upload **lh_st_uploads_idle(lh_st_uploads *t, int64_t before, size_t *n);

#endif
