/*
 * cache.c — queryd's on-disk cache: a directory of Parquet files, one per
 * dataset version, named by a key resolve.c derives from the version (the
 * sha256 of its Parquet object, or its name, number and source sha256
 * when queryd wrote the file itself).
 *
 * It is a cache: storaged and catalogd are the truth. A file is written
 * under a temporary name, synced and renamed, so a name that exists is a
 * whole file and a crash leaves at most a temporary one, removed at the
 * next open. The entries in memory only tell which files are being
 * written now, so concurrent first queries of a version write it once.
 */
#include "actors/query/query_internal.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/clock.h"
#include "bus/log.h"

#define LH_QCACHE_SUFFIX ".parquet"
#define LH_QCACHE_TMP_SUFFIX ".tmp"

typedef struct lh_qentry {
    struct lh_qentry *next;
    char key[LH_QUERY_KEY_MAX];
} lh_qentry;

struct lh_qcache {
    char dir[PATH_MAX];
    pthread_mutex_t mu;     /* entries and counters */
    pthread_cond_t changed; /* a file finished (or failed) */
    lh_qentry *writing;
    int64_t loads, rows, cached;
};

static bool lh_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* Counts the files; removes what a crash left half written. */
static lh_err *lh_scan(lh_qcache *c)
{
    DIR *d = opendir(c->dir);
    if (!d)
        return lh_err_new(LH_EINTERNAL, NULL, "open %s: %s", c->dir, strerror(errno));
    for (struct dirent *e; (e = readdir(d));) {
        if (lh_ends_with(e->d_name, LH_QCACHE_SUFFIX))
            c->cached++;
        else if (lh_ends_with(e->d_name, LH_QCACHE_TMP_SUFFIX))
            unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
    return NULL;
}

lh_err *lh_qcache_open(const char *dir, lh_qcache **out)
{
    lh_qcache *c = calloc(1, sizeof *c);
    if (!c)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->changed, NULL);
    lh_err *err = lh_scan(c);
    if (err) {
        lh_qcache_close(c);
        return lh_err_wrap(err, "query cache");
    }
    *out = c;
    return NULL;
}

void lh_qcache_close(lh_qcache *c)
{
    if (!c)
        return;
    assert(!c->writing); /* no load outlives the query threads */
    pthread_cond_destroy(&c->changed);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

const char *lh_qcache_dir(const lh_qcache *c)
{
    return c->dir;
}

/* ---- writing one file ---- */

static bool lh_writing_locked(lh_qcache *c, const char *key)
{
    for (lh_qentry *e = c->writing; e; e = e->next)
        if (!strcmp(e->key, key))
            return true;
    return false;
}

static void lh_unlink_entry(lh_qcache *c, lh_qentry *gone)
{
    for (lh_qentry **p = &c->writing; *p; p = &(*p)->next)
        if (*p == gone) {
            *p = gone->next;
            return;
        }
}

static lh_err *lh_sync_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return lh_err_new(e == ENOSPC ? LH_EUNAVAILABLE : LH_EINTERNAL, NULL, "sync %s: %s",
                          path, strerror(e));
    }
    close(fd);
    return NULL;
}

static lh_err *lh_write_file(const char *path, lh_qfill_fn fill, void *user,
                             int64_t *rows)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s" LH_QCACHE_TMP_SUFFIX, path);
    unlink(tmp);
    lh_err *err = fill(user, tmp, rows);
    if (!err)
        err = lh_sync_file(tmp);
    if (!err && rename(tmp, path) != 0)
        err = lh_err_new(LH_EINTERNAL, NULL, "rename %s: %s", tmp, strerror(errno));
    if (err)
        unlink(tmp);
    return err;
}

static lh_err *lh_write_new_locked(lh_qcache *c, const char *key, const char *path,
                                   lh_qfill_fn fill, void *user)
{
    lh_qentry *e = calloc(1, sizeof *e);
    if (!e)
        abort();
    snprintf(e->key, sizeof e->key, "%s", key);
    e->next = c->writing; /* others asking for it now wait on `changed` */
    c->writing = e;
    pthread_mutex_unlock(&c->mu);
    int64_t rows = 0, t0 = lh_clock_ns();
    lh_err *err = lh_write_file(path, fill, user, &rows);
    pthread_mutex_lock(&c->mu);
    lh_unlink_entry(c, e);
    free(e);
    if (!err) {
        c->loads++;
        c->rows += rows;
        c->cached++;
        lh_info("cached %s (%" PRId64 " rows) in %.0f ms", key, rows,
                (double)(lh_clock_ns() - t0) / 1e6);
    }
    pthread_cond_broadcast(&c->changed);
    return err;
}

lh_err *lh_qcache_acquire(lh_qcache *c, const char *key, lh_qfill_fn fill, void *user,
                          char path[PATH_MAX])
{
    assert(key[0] && !strchr(key, '/'));
    snprintf(path, PATH_MAX, "%s/%s" LH_QCACHE_SUFFIX, c->dir, key);
    pthread_mutex_lock(&c->mu);
    while (lh_writing_locked(c, key))
        pthread_cond_wait(&c->changed, &c->mu);
    lh_err *err = NULL;
    if (access(path, F_OK) != 0) /* never written, or the other writer failed */
        err = lh_write_new_locked(c, key, path, fill, user);
    pthread_mutex_unlock(&c->mu);
    return err;
}

void lh_qcache_counts(lh_qcache *c, int64_t *loads, int64_t *rows, int64_t *cached)
{
    pthread_mutex_lock(&c->mu);
    *loads = c->loads;
    *rows = c->rows;
    *cached = c->cached;
    pthread_mutex_unlock(&c->mu);
}
