/*
 * background.c — the housekeeping thread (background.h). It sleeps on a
 * condition variable (monotonic clock) until kicked or until the next
 * snapshot is due; each pass rebuilds what needs it, then snapshots.
 */
#include "actors/vector/background.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/vector/compact.h"
#include "actors/vector/snapshot.h"
#include "bus/log.h"

struct lh_vec_background {
    lh_vec_bg_config cfg;
    char dir[4096];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool kicked; /* mu */
    atomic_bool stopping;
};

void lh_vec_snapshot_if_dirty(lh_vec_collection *c, const char *dir)
{
    lh_vec_collection_lock_writes(c);
    if (!lh_vec_collection_dropped(c) && lh_vec_collection_dirty(c)) {
        lh_vec_collection_set_dirty(c, false);
        lh_err *err = lh_vec_snapshot_write(c, dir);
        if (err) {
            lh_warn("%s (will retry)", lh_err_message(err));
            lh_vec_collection_set_dirty(c, true);
            lh_err_free(err);
        }
    }
    lh_vec_collection_unlock_writes(c);
}

static void lh_pass(lh_vec_background *bg, bool snapshot)
{
    size_t n = 0;
    lh_vec_collection **cols = bg->cfg.all(bg->cfg.user, &n);
    for (size_t i = 0; i < n && !atomic_load(&bg->stopping); i++) {
        if (lh_vec_collection_wants_rebuild(cols[i], bg->cfg.rebuild_min_deleted)) {
            lh_err *err = lh_vec_compact(cols[i], &bg->stopping);
            if (err)
                lh_warn("%s", lh_err_message(err));
            lh_err_free(err);
        }
        if (snapshot && !atomic_load(&bg->stopping))
            lh_vec_snapshot_if_dirty(cols[i], bg->dir);
    }
    for (size_t i = 0; i < n; i++)
        lh_vec_collection_unref(cols[i]);
    free(cols);
}

static struct timespec lh_after(int seconds)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += seconds;
    return t;
}

static bool lh_reached(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

static void *lh_background_main(void *arg)
{
    lh_vec_background *bg = arg;
    lh_log_set_actor("vectord");
    struct timespec next_snapshot = lh_after(bg->cfg.snapshot_seconds);
    pthread_mutex_lock(&bg->mu);
    while (!atomic_load(&bg->stopping)) {
        if (!bg->kicked)
            pthread_cond_timedwait(&bg->cv, &bg->mu, &next_snapshot);
        bg->kicked = false;
        if (atomic_load(&bg->stopping))
            break;
        bool snapshot = lh_reached(&next_snapshot);
        pthread_mutex_unlock(&bg->mu);
        lh_pass(bg, snapshot);
        if (snapshot)
            next_snapshot = lh_after(bg->cfg.snapshot_seconds);
        pthread_mutex_lock(&bg->mu);
    }
    pthread_mutex_unlock(&bg->mu);
    return NULL;
}

lh_err *lh_vec_background_start(const lh_vec_bg_config *cfg, lh_vec_background **out)
{
    lh_vec_background *bg = calloc(1, sizeof *bg);
    if (!bg)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    bg->cfg = *cfg;
    snprintf(bg->dir, sizeof bg->dir, "%s", cfg->dir);
    bg->cfg.dir = bg->dir;
    pthread_mutex_init(&bg->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&bg->cv, &attr);
    pthread_condattr_destroy(&attr);
    atomic_init(&bg->stopping, false);
    if (pthread_create(&bg->thread, NULL, lh_background_main, bg) != 0) {
        pthread_cond_destroy(&bg->cv);
        pthread_mutex_destroy(&bg->mu);
        free(bg);
        return lh_err_new(LH_EINTERNAL, NULL, "cannot start the background thread");
    }
    *out = bg;
    return NULL;
}

void lh_vec_background_kick(lh_vec_background *bg)
{
    pthread_mutex_lock(&bg->mu);
    bg->kicked = true;
    pthread_cond_signal(&bg->cv);
    pthread_mutex_unlock(&bg->mu);
}

void lh_vec_background_stop(lh_vec_background *bg)
{
    if (!bg)
        return;
    pthread_mutex_lock(&bg->mu);
    atomic_store(&bg->stopping, true);
    pthread_cond_signal(&bg->cv);
    pthread_mutex_unlock(&bg->mu);
    pthread_join(bg->thread, NULL);
    pthread_cond_destroy(&bg->cv);
    pthread_mutex_destroy(&bg->mu);
    free(bg);
}
