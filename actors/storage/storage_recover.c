/*
 * storage_recover.c — putting things right at start, and reaping uploads
 * nobody finishes.
 *
 * Recovery runs before the first request, in this order:
 *   1. intents: a replacement whose rename happened is finished (its
 *      description written); one whose rename did not is undone;
 *   2. uploads: each recorded upload reopens its bytes, cut back to what
 *      was acknowledged, or is dropped when the bytes are missing;
 *   3. temporary files that belong to no upload are removed;
 *   4. after a crash only: object bytes that no description claims (a
 *      commit or a delete cut short) are removed, with empty folders.
 */
#include "actors/storage/storage_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/clock.h"
#include "bus/log.h"

/* How often the reaper looks: a scan of the uploads in progress is cheap,
 * and a part held early must be refused within seconds of its deadline. */
#define LH_ST_REAP_TICK_S 2

typedef struct lh_st_recovery {
    lh_st_state *st;
    size_t finished, undone, resumed, dropped, strays, orphans;
} lh_st_recovery;

void lh_st_upload_end(lh_st_state *st, lh_st_upload *u)
{
    if (u->writer)
        st->backend->ops->abort(u->writer);
    u->writer = NULL;
    lh_err *err = lh_st_meta_drop_upload(st->meta, u->id);
    if (err) /* a stale record is dropped at the next start: its bytes are gone */
        lh_warn("upload %s: %s", u->id, lh_err_message(err));
    lh_err_free(err);
    u->gone = true;
    lh_st_drop_early(u, lh_err_new(LH_ENOTFOUND, "upload", "upload %s ended before this part's "
                                                           "turn came", u->id));
    lh_st_uploads_remove(st->uploads, u);
}

/* ---- 1. intents ---- */

static lh_err *lh_st_recover_intent(void *user, const lh_st_intent *in)
{
    lh_st_recovery *rc = user;
    lh_st_state *st = rc->st;
    const lh_storage_object_info *info = in->object;
    if (st->backend->ops->pending(st->backend, in->token.s)) {
        st->backend->ops->discard(st->backend, in->token.s);
        rc->undone++;
        return lh_st_meta_drop_intent(st->meta, info->bucket.s, info->key.s);
    }
    rc->finished++;
    /* The token of an upload's commit is its id: its record goes too. */
    return lh_st_meta_commit(st->meta, info, in->token.s);
}

/* ---- 2. uploads ---- */

static lh_st_upload *lh_st_upload_from_record(const char *id, const lh_st_upload_record *r)
{
    const char *ct = r->content_type.s && r->content_type.len ? r->content_type.s : NULL;
    lh_st_upload *u =
        lh_st_upload_new(id, r->bucket.s, r->key.s, ct, r->metadata.data, r->metadata.len);
    if (!u)
        return NULL;
    u->parts = r->parts;
    u->size = (uint64_t)r->size;
    u->last_part = (uint64_t)r->last_part;
    atomic_store(&u->touched, r->touched);
    u->sha_ready = false; /* rebuilt from the bytes when next needed */
    return u;
}

static lh_err *lh_st_recover_upload(void *user, const char *id, const lh_st_upload_record *r)
{
    lh_st_recovery *rc = user;
    lh_st_state *st = rc->st;
    lh_st_upload *u = lh_st_upload_from_record(id, r);
    if (!u)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    lh_err *err = st->backend->ops->write_resume(st->backend, id, u->size, &u->writer);
    if (err) {
        lh_warn("upload %s of %s/%s dropped: %s", id, u->bucket, u->key, lh_err_message(err));
        lh_err_free(err);
        lh_st_upload_free(u, st->backend);
        st->backend->ops->discard(st->backend, id);
        rc->dropped++;
        return lh_st_meta_drop_upload(st->meta, id);
    }
    lh_st_uploads_add(st->uploads, u);
    rc->resumed++;
    return NULL;
}

/* ---- 3. temporary files ---- */

static lh_err *lh_st_recover_stray(void *user, const char *token)
{
    lh_st_recovery *rc = user;
    lh_st_upload *u = lh_st_uploads_find(rc->st->uploads, token, strlen(token));
    if (u) {
        lh_st_uploads_release(rc->st->uploads, u);
        return NULL;
    }
    rc->st->backend->ops->discard(rc->st->backend, token);
    rc->strays++;
    return NULL;
}

/* ---- 4. undescribed bytes ---- */

static lh_err *lh_st_recover_object(void *user, const char *bucket, const char *key, bool *keep)
{
    lh_st_recovery *rc = user;
    bool found = false;
    lh_err *err = *key ? lh_st_meta_exists(rc->st->meta, bucket, key, strlen(key), &found) : NULL;
    *keep = err || found;
    if (!*keep) {
        lh_info("removing %s/%s: no description claims it", bucket, key);
        rc->orphans++;
    }
    return err;
}

lh_err *lh_st_recover(lh_st_state *st, bool was_clean)
{
    lh_st_recovery rc = {.st = st};
    const lh_st_backend_ops *ops = st->backend->ops;
    lh_err *err = lh_st_meta_each_intent(st->meta, lh_st_recover_intent, &rc);
    if (!err)
        err = lh_st_meta_each_upload(st->meta, lh_st_recover_upload, &rc);
    if (!err)
        err = ops->each_pending(st->backend, lh_st_recover_stray, &rc);
    if (!err && !was_clean)
        err = ops->each_object(st->backend, lh_st_recover_object, &rc);
    if (err)
        return lh_err_wrap(err, "recover %s", st->dir);
    if (!was_clean || rc.finished || rc.undone || rc.resumed || rc.dropped || rc.strays)
        lh_info("recovered%s: %zu commit%s finished, %zu undone, %zu upload%s resumed, %zu "
                "dropped, %zu temporary file%s and %zu undescribed object%s removed",
                was_clean ? "" : " after an unclean stop", rc.finished, rc.finished == 1 ? "" : "s",
                rc.undone, rc.resumed, rc.resumed == 1 ? "" : "s", rc.dropped, rc.strays,
                rc.strays == 1 ? "" : "s", rc.orphans, rc.orphans == 1 ? "" : "s");
    return NULL;
}

/* ---- the reaper ---- */

/* With u->mu held. */
static void lh_st_reap_one(lh_st_state *st, lh_st_upload *u, int64_t before, int64_t now_ms)
{
    if (u->gone)
        return;
    lh_st_expire_early(u, now_ms);
    if (atomic_load(&u->touched) >= before)
        return;
    lh_info("upload %s of %s/%s aborted: idle for more than %lld s (%llu bytes in %lld parts)",
            u->id, u->bucket, u->key, (long long)st->idle_seconds, (unsigned long long)u->size,
            (long long)u->parts);
    lh_st_upload_end(st, u);
}

/* Each upload: a part held too long is refused, an idle upload aborted. */
static void lh_st_reap(lh_st_state *st)
{
    int64_t before = lh_clock_unix_s() - st->idle_seconds, now_ms = lh_clock_ms();
    size_t n = 0;
    lh_st_upload **all = lh_st_uploads_idle(st->uploads, INT64_MAX, &n);
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&all[i]->mu);
        lh_st_reap_one(st, all[i], before, now_ms);
        pthread_mutex_unlock(&all[i]->mu);
        lh_st_uploads_release(st->uploads, all[i]);
    }
    free(all);
}

void lh_st_drop_all_early(lh_st_state *st)
{
    size_t n = 0;
    lh_st_upload **all = lh_st_uploads_idle(st->uploads, INT64_MAX, &n);
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&all[i]->mu);
        lh_st_drop_early(all[i], lh_err_new(LH_EUNAVAILABLE, NULL, "storaged is stopping; "
                                                                   "send this part again"));
        pthread_mutex_unlock(&all[i]->mu);
        lh_st_uploads_release(st->uploads, all[i]);
    }
    free(all);
}

static void *lh_st_reaper_main(void *arg)
{
    lh_st_state *st = arg;
    lh_log_set_actor(lh_actor_def_of(st->actor)->name);
    pthread_mutex_lock(&st->reaper_mu);
    while (!st->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += LH_ST_REAP_TICK_S;
        int rc = 0;
        while (!st->stopping && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&st->reaper_cv, &st->reaper_mu, &until);
        if (st->stopping)
            break;
        pthread_mutex_unlock(&st->reaper_mu);
        lh_st_reap(st);
        pthread_mutex_lock(&st->reaper_mu);
    }
    pthread_mutex_unlock(&st->reaper_mu);
    return NULL;
}

lh_err *lh_st_reaper_start(lh_st_state *st)
{
    int rc = pthread_create(&st->reaper, NULL, lh_st_reaper_main, st);
    if (rc)
        return lh_err_new(LH_EINTERNAL, NULL, "start the upload reaper: %s", strerror(rc));
    st->reaper_running = true;
    return NULL;
}

void lh_st_reaper_stop(lh_st_state *st)
{
    if (!st || !st->reaper_running)
        return;
    pthread_mutex_lock(&st->reaper_mu);
    st->stopping = true;
    pthread_cond_signal(&st->reaper_cv);
    pthread_mutex_unlock(&st->reaper_mu);
    pthread_join(st->reaper, NULL);
    st->reaper_running = false;
}
