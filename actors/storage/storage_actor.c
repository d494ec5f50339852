/*
 * storage_actor.c — storaged: its endpoint table, its lifecycle (open the
 * metadata and the backend, recover from whatever the last run left,
 * start the reaper; on the way out mark a clean stop) and the small
 * helpers its handlers share.
 */
#include "actors/storage/storage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "actors/storage/storage_internal.h"
#include "bus/clock.h"
#include "bus/events.h"
#include "bus/log.h"
#include "lib/state/state.h"

#define LH_ST_DEFAULT_IDLE_SECONDS 3600

/* ---- helpers ---- */

lh_str lh_st_str(lh_ctx *ctx, const char *s, size_t len)
{
    return (lh_str){lh_arena_strndup(lh_ctx_arena(ctx), s, len), len};
}

void lh_st_publish(lh_st_state *st, const lh_event_contract *ev, const void *value)
{
    lh_event_emit_acked(st->actor, ev, value); /* lineage starts at objects */
}

/* ---- lifecycle ---- */

static void lh_st_free(lh_st_state *st)
{
    lh_st_uploads_destroy(st->uploads);
    lh_st_meta_close(st->meta);
    if (st->backend)
        st->backend->ops->destroy(st->backend);
    for (int i = 0; i < LH_ST_KEY_LOCKS; i++)
        pthread_rwlock_destroy(&st->key_locks[i]);
    pthread_mutex_destroy(&st->reaper_mu);
    pthread_cond_destroy(&st->reaper_cv);
    free(st);
}

static lh_st_state *lh_st_alloc(lh_actor *actor)
{
    lh_st_state *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->actor = actor;
    for (int i = 0; i < LH_ST_KEY_LOCKS; i++)
        pthread_rwlock_init(&st->key_locks[i], NULL);
    pthread_mutex_init(&st->reaper_mu, NULL);
    pthread_cond_init(&st->reaper_cv, NULL);
    st->idle_seconds =
        lh_config_env_int("LH_STORAGE_UPLOAD_IDLE_SECONDS", LH_ST_DEFAULT_IDLE_SECONDS, 1,
                          INT64_MAX);
    return st;
}

static lh_err *lh_st_open(lh_st_state *st, const lh_config *cfg)
{
    snprintf(st->dir, sizeof st->dir, "%s/" LH_STORAGE_DIR, cfg->data_dir);
    char meta[PATH_MAX + 8];
    snprintf(meta, sizeof meta, "%s/meta", st->dir);
    bool fresh = access(meta, F_OK) != 0; /* nothing to recover the first time */
    lh_err *err = lh_state_mkdirs(st->dir);
    if (!err)
        err = lh_st_meta_open(meta, &st->meta);
    if (!err)
        err = lh_st_local_backend_create(st->dir, &st->backend);
    if (err)
        return err;
    st->uploads = lh_st_uploads_create(st->backend);
    if (!st->uploads)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    bool was_clean = false;
    err = lh_st_meta_take_clean_mark(st->meta, &was_clean);
    if (!err)
        err = lh_st_recover(st, was_clean || fresh);
    return err ? err : lh_st_reaper_start(st);
}

static lh_err *lh_st_init(lh_actor *actor, void **state)
{
    lh_st_state *st = lh_st_alloc(actor);
    if (!st)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    lh_err *err = lh_st_open(st, lh_actor_config(actor));
    if (err) {
        lh_st_reaper_stop(st);
        lh_st_free(st);
        return err;
    }
    lh_info("objects in %s (backend %s); idle uploads reaped after %lld s", st->dir,
            st->backend->ops->name, (long long)st->idle_seconds);
    *state = st;
    return NULL;
}

/* Before the connection drains: parts held early are answered now (their
 * replies must go out while the connection is up) and no more are held. */
static void lh_st_stop(lh_actor *actor, void *state)
{
    (void)actor;
    lh_st_state *st = state;
    lh_st_reaper_stop(st);
    atomic_store(&st->stopping_requests, true);
    lh_st_drop_all_early(st);
}

/* After every request is done: uploads in progress keep their bytes and
 * records (they resume after the restart); the mark says no sweep is due. */
static void lh_st_fini(void *state)
{
    lh_st_state *st = state;
    if (!st)
        return;
    lh_st_reaper_stop(st);
    lh_err *err = lh_st_meta_set_clean_mark(st->meta);
    if (err)
        lh_warn("%s (the next start sweeps for stray objects)", lh_err_message(err));
    lh_err_free(err);
    lh_st_free(st);
}

static const lh_endpoint_def lh_st_endpoints[] = {
    {&lh_ep_storage_put, lh_st_put_handler},
    {&lh_ep_storage_get, lh_st_get_handler},
    {&lh_ep_storage_head, lh_st_head_handler},
    {&lh_ep_storage_list, lh_st_list_handler},
    {&lh_ep_storage_delete, lh_st_delete_handler},
    {&lh_ep_storage_upload_begin, lh_st_upload_begin_handler},
    {&lh_ep_storage_upload_part, lh_st_upload_part_handler},
    {&lh_ep_storage_upload_commit, lh_st_upload_commit_handler},
    {&lh_ep_storage_upload_abort, lh_st_upload_abort_handler},
};

const lh_actor_def lh_storage_actor = {
    .name = "storaged",
    .version = "0.1.0",
    .description = "Objects in buckets (local directory backend): durable writes, sha256 per "
                   "object, uploads of any size in parts, reads by range, listings by prefix.",
    .endpoints = lh_st_endpoints,
    .n_endpoints = sizeof lh_st_endpoints / sizeof lh_st_endpoints[0],
    .init = lh_st_init,
    .stop = lh_st_stop,
    .fini = lh_st_fini,
};
