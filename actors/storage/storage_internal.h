/*
 * storage_internal.h — what storaged's files share: the actor state, the
 * commit path every write ends in, and the handlers (one file per
 * concern: storage_objects.c, storage_upload.c; recovery and the reaper
 * in storage_recover.c).
 */
#ifndef LH_STORAGE_INTERNAL_H
#define LH_STORAGE_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "actors/storage/backend.h"
#include "actors/storage/meta.h"
#include "actors/storage/sha.h"
#include "actors/storage/uploads.h"
#include "bus/actor.h"
#include "schemas/storage.h"

/* Writers and readers of one key meet on one of these (by hash). */
#define LH_ST_KEY_LOCKS 256

typedef struct lh_st_state {
    lh_actor *actor;
    char dir[PATH_MAX]; /* $LH_DATA_DIR/storaged */
    lh_st_backend *backend;
    lh_st_meta *meta;
    lh_st_uploads *uploads;
    /* A commit or delete holds its key's lock for writing while it swaps
     * bytes and description; a read holds it for reading while it reads
     * the description and opens the bytes, so the two always match. */
    pthread_rwlock_t key_locks[LH_ST_KEY_LOCKS];
    atomic_bool stopping_requests; /* stop has run: hold no part for later */
    int64_t idle_seconds; /* uploads idle this long are reaped */
    pthread_t reaper;
    bool reaper_running;
    bool stopping;
    pthread_mutex_t reaper_mu;
    pthread_cond_t reaper_cv;
} lh_st_state;

pthread_rwlock_t *lh_st_key_lock(lh_st_state *st, const char *bucket, const char *key);

/* Checks bucket and key (400/413 naming the rule). */
lh_err *lh_st_check_names(const lh_str *bucket, const lh_str *key);
/* 409 when the key cannot coexist with stored keys: a leading part of it
 * is an object ("a" for "a/b"), or it is a folder of objects. */
lh_err *lh_st_check_clash(lh_st_state *st, const char *bucket, const char *key);

/* Makes the written bytes the object described by `info` (bucket, key,
 * size, sha256, ...): fsync, then under the key's lock an intent when an
 * object is replaced, the rename, and the description (which also drops
 * the upload record `upload_id`, if not NULL). Takes the writer: on any
 * failure it is aborted and nothing changed. */
lh_err *lh_st_commit(lh_st_state *st, lh_st_writer *w, const char *token,
                     const lh_storage_object_info *info, const char *upload_id);

/* Appends data to the write and feeds it to the running hash. On failure
 * nothing was appended, and the hash has taken the data anyway: the
 * caller must rebuild or drop it. (Hashing on a second thread while the
 * disk writes was measured: no faster, as the bus is the bottleneck.) */
lh_err *lh_st_append_hashed(lh_st_state *st, lh_st_writer *w, lh_sha256 *sha, const char *data,
                            size_t len);

/* A NUL-terminated copy in the request's arena. */
lh_str lh_st_str(lh_ctx *ctx, const char *s, size_t len);
/* Publishes one of storaged's events (schemas/storage.h). */
void lh_st_publish(lh_st_state *st, const lh_event_contract *ev, const void *value);

/* ---- recovery and the reaper (storage_recover.c) ---- */

/* At start, before any request: finishes or undoes interrupted commits,
 * reopens uploads in progress, removes stray temporary files and, after
 * a crash (`was_clean` false), bytes no description claims. */
lh_err *lh_st_recover(lh_st_state *st, bool was_clean);
lh_err *lh_st_reaper_start(lh_st_state *st);
void lh_st_reaper_stop(lh_st_state *st);
/* Ends an upload (with u->mu held): discards its bytes and its record. */
void lh_st_upload_end(lh_st_state *st, lh_st_upload *u);
/* With u->mu held: answers the part held early (if any) with `why`, which
 * is freed either way. */
void lh_st_drop_early(lh_st_upload *u, lh_err *why);
/* With u->mu held: refuses the part held early once it has waited too long. */
void lh_st_expire_early(lh_st_upload *u, int64_t now_ms);
/* Answers every part held early (the actor is stopping). */
void lh_st_drop_all_early(lh_st_state *st);

/* ---- handlers ---- */

lh_err *lh_st_put_handler(lh_ctx *ctx, const void *req, void *reply);
lh_err *lh_st_get_handler(lh_ctx *ctx, const void *req, void *reply);
lh_err *lh_st_head_handler(lh_ctx *ctx, const void *req, void *reply);
lh_err *lh_st_list_handler(lh_ctx *ctx, const void *req, void *reply);
lh_err *lh_st_delete_handler(lh_ctx *ctx, const void *req, void *reply);
lh_err *lh_st_upload_begin_handler(lh_ctx *ctx, const void *req, void *reply);
lh_err *lh_st_upload_part_handler(lh_ctx *ctx, const void *req, void *reply);
lh_err *lh_st_upload_commit_handler(lh_ctx *ctx, const void *req, void *reply);
lh_err *lh_st_upload_abort_handler(lh_ctx *ctx, const void *req, void *reply);

#endif
