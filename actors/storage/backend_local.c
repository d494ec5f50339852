/*
 * backend_local.c — objects as files in a local directory (backend.h).
 *
 *   <root>/objects/<bucket>/<key>   committed objects, the key's '/' as folders
 *   <root>/tmp/<token>              writes in progress
 *
 * A write appends to its temporary file; commit fsyncs it, renames it into
 * place (atomic on one file system: a reader sees the old object or the
 * new one, never a mix) and fsyncs the folder so the rename survives a
 * crash. Keys were checked by names.c, so a path built from one stays
 * inside its bucket. A key cannot be both an object and a folder of other
 * objects here ("a" and "a/b"): such a commit is refused with 409.
 */
#include "actors/storage/backend.h"
#include "actors/storage/storage.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actors/storage/local_file.h"
#include "bus/buf.h"
#include "bus/log.h"

/* A commit whose folder vanished under it (a delete pruned it) tries again. */
#define LH_ST_COMMIT_TRIES 8

typedef struct lh_st_local {
    lh_st_backend base;
    char objects[PATH_MAX];
    char tmp[PATH_MAX];
} lh_st_local;

struct lh_st_reader {
    int fd;
};

struct lh_st_writer {
    lh_st_local *b;
    lh_st_file *file;
    char path[PATH_MAX];
};

/* ---- errors and paths ---- */

static lh_err *lh_st_io_err(int e, const char *what, const char *path)
{
    if (e == ENOSPC || e == EDQUOT)
        return lh_err_new(LH_EUNAVAILABLE, NULL, "%s %s: no space left on the device", what, path);
    return lh_err_new(LH_EINTERNAL, NULL, "%s %s: %s", what, path, strerror(e));
}

static void lh_st_object_path(const lh_st_local *b, const char *bucket, const char *key,
                              char out[PATH_MAX])
{
    int n = snprintf(out, PATH_MAX, "%s/%s/%s", b->objects, bucket, key);
    assert(n > 0 && n < PATH_MAX); /* bounded: root + 63 + 1024 */
    (void)n;
}

static void lh_st_tmp_path(const lh_st_local *b, const char *token, char out[PATH_MAX])
{
    snprintf(out, PATH_MAX, "%s/%s", b->tmp, token);
}

static lh_err *lh_st_mkdir(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return lh_st_io_err(errno, "mkdir", path);
    return NULL;
}

/* fsync on a folder makes the names in it (a rename, a new entry) durable. */
static lh_err *lh_st_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return lh_st_io_err(errno, "open folder", path);
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    return rc ? lh_st_io_err(e, "fsync folder", path) : NULL;
}

/* ---- reading ---- */

static lh_err *lh_st_local_open(lh_st_backend *base, const char *bucket, const char *key,
                                lh_st_reader **out, uint64_t *size)
{
    lh_st_local *b = (lh_st_local *)base;
    char path[PATH_MAX];
    lh_st_object_path(b, bucket, key, path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
        return lh_err_new(LH_ENOTFOUND, "key", "no object '%s' in bucket '%s'", key, bucket);
    if (fd < 0)
        return lh_st_io_err(errno, "open", path);
    struct stat st;
    lh_st_reader *r = malloc(sizeof *r);
    if (!r || fstat(fd, &st) != 0) {
        lh_err *err = r ? lh_st_io_err(errno, "stat", path) : lh_err_new(LH_EINTERNAL, NULL, "out of memory");
        free(r);
        close(fd);
        return err;
    }
    r->fd = fd;
    *size = (uint64_t)st.st_size;
    *out = r;
    return NULL;
}

static lh_err *lh_st_pread_all(int fd, uint64_t offset, char *buf, size_t len, size_t *n)
{
    size_t got = 0;
    while (got < len) {
        ssize_t k = pread(fd, buf + got, len - got, (off_t)(offset + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return lh_st_io_err(errno, "read", "object");
        if (k == 0)
            break;
        got += (size_t)k;
    }
    *n = got;
    return NULL;
}

static lh_err *lh_st_local_read(lh_st_reader *r, uint64_t offset, char *buf, size_t len, size_t *n)
{
    return lh_st_pread_all(r->fd, offset, buf, len, n);
}

static void lh_st_local_close(lh_st_reader *r)
{
    if (!r)
        return;
    close(r->fd);
    free(r);
}

/* ---- writing ---- */

static lh_err *lh_st_writer_open(lh_st_local *b, const char *token, bool resume, uint64_t size,
                                 lh_st_writer **out)
{
    lh_st_writer *w = calloc(1, sizeof *w);
    if (!w)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    w->b = b;
    lh_st_tmp_path(b, token, w->path);
    lh_err *err = lh_st_file_open(w->path, resume, size, &w->file);
    if (err) {
        free(w);
        return err;
    }
    *out = w;
    return NULL;
}

static lh_err *lh_st_local_write_begin(lh_st_backend *base, const char *token, lh_st_writer **out)
{
    return lh_st_writer_open((lh_st_local *)base, token, false, 0, out);
}

static lh_err *lh_st_local_write_resume(lh_st_backend *base, const char *token, uint64_t size,
                                        lh_st_writer **out)
{
    return lh_st_writer_open((lh_st_local *)base, token, true, size, out);
}

static lh_err *lh_st_local_append(lh_st_writer *w, const char *data, size_t len)
{
    return lh_st_file_append(w->file, data, len);
}

static lh_err *lh_st_local_read_written(lh_st_writer *w, uint64_t offset, char *buf, size_t len)
{
    return lh_st_file_read(w->file, offset, buf, len);
}

static lh_err *lh_st_local_sync(lh_st_writer *w) { return lh_st_file_sync(w->file); }

static void lh_st_writer_free(lh_st_writer *w)
{
    lh_st_file_close(w->file);
    free(w);
}

static void lh_st_local_abort(lh_st_writer *w)
{
    if (!w)
        return;
    if (unlink(w->path) != 0 && errno != ENOENT)
        lh_warn("cannot remove %s: %s", w->path, strerror(errno));
    lh_st_writer_free(w);
}

static void lh_st_local_detach(lh_st_writer *w)
{
    if (w)
        lh_st_writer_free(w);
}

/* Creates the folders of `path` below the objects root; *created says
 * whether any was new (then their parents must be fsynced too). */
static lh_err *lh_st_make_parents(const lh_st_local *b, const char *path, bool *created)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + strlen(b->objects) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        if (mkdir(dir, 0755) == 0)
            *created = true;
        else if (errno == ENOTDIR)
            return NULL; /* an object is in the way: the rename reports the clash */
        else if (errno != EEXIST)
            return lh_st_io_err(errno, "mkdir", dir);
        *p = '/';
    }
    return NULL;
}

/* fsyncs the folder holding `path` and, when folders were created, every
 * folder above it up to the objects root. */
static lh_err *lh_st_sync_parents(const lh_st_local *b, const char *path, bool created)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    size_t root = strlen(b->objects);
    for (char *slash = strrchr(dir, '/'); slash && (size_t)(slash - dir) >= root;
         slash = strrchr(dir, '/')) {
        *slash = '\0';
        lh_err *err = lh_st_fsync_dir(dir);
        if (err || !created)
            return err;
    }
    return NULL;
}

static lh_err *lh_st_clash(const char *bucket, const char *key)
{
    return lh_err_new(LH_ECONFLICT, "key",
                      "cannot store '%s' in bucket '%s': a leading part of the key is an object, "
                      "or the key is a folder of other objects (keys 'a' and 'a/b' cannot both "
                      "exist)",
                      key, bucket);
}

/* One attempt at the rename; *again when a folder vanished or an empty
 * folder was in the way and removed. */
static lh_err *lh_st_rename_once(lh_st_writer *w, const char *path, const char *bucket,
                                 const char *key, bool *created, bool *again)
{
    *again = false;
    lh_err *err = lh_st_make_parents(w->b, path, created);
    if (err)
        return err;
    if (rename(w->path, path) == 0)
        return NULL;
    int e = errno;
    if (e == ENOENT && access(w->path, F_OK) == 0) {
        *again = true; /* a folder was pruned by a concurrent delete */
        return NULL;
    }
    if (e == EISDIR || e == ENOTEMPTY || e == EEXIST) {
        *again = rmdir(path) == 0; /* an empty folder left behind can go */
        return *again ? NULL : lh_st_clash(bucket, key);
    }
    if (e == ENOTDIR)
        return lh_st_clash(bucket, key);
    return lh_st_io_err(e, "rename into", path);
}

static lh_err *lh_st_local_commit(lh_st_writer *w, const char *bucket, const char *key)
{
    char path[PATH_MAX];
    lh_st_object_path(w->b, bucket, key, path);
    bool created = false, again = true;
    lh_err *err = NULL;
    for (int i = 0; again && !err; i++) {
        if (i == LH_ST_COMMIT_TRIES)
            return lh_err_new(LH_EBUSY, NULL, "cannot store '%s': its folder keeps vanishing", key);
        err = lh_st_rename_once(w, path, bucket, key, &created, &again);
    }
    if (err)
        return err;
    /* Renamed: the object is in place and the writer is done. Only an I/O
     * error fails a folder's fsync; the bytes themselves are durable. */
    err = lh_st_sync_parents(w->b, path, created);
    if (err)
        lh_error("%s (the rename of %s/%s may not survive a power cut)", lh_err_message(err),
                 bucket, key);
    lh_err_free(err);
    lh_st_writer_free(w);
    return NULL;
}

/* ---- deleting ---- */

/* Removes now-empty folders from path's parent up to the objects root. */
static void lh_st_prune(const lh_st_local *b, const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    size_t root = strlen(b->objects);
    for (char *slash = strrchr(dir, '/'); slash && (size_t)(slash - dir) > root;
         slash = strrchr(dir, '/')) {
        *slash = '\0';
        if (rmdir(dir) != 0)
            return;
    }
}

static lh_err *lh_st_local_remove(lh_st_backend *base, const char *bucket, const char *key)
{
    lh_st_local *b = (lh_st_local *)base;
    char path[PATH_MAX];
    lh_st_object_path(b, bucket, key, path);
    if (unlink(path) != 0 && errno != ENOENT && errno != ENOTDIR)
        return lh_st_io_err(errno, "unlink", path);
    lh_st_prune(b, path);
    return NULL;
}

/* ---- recovery ---- */

static bool lh_st_local_pending(lh_st_backend *base, const char *token)
{
    char path[PATH_MAX];
    lh_st_tmp_path((lh_st_local *)base, token, path);
    return access(path, F_OK) == 0;
}

static void lh_st_local_discard(lh_st_backend *base, const char *token)
{
    char path[PATH_MAX];
    lh_st_tmp_path((lh_st_local *)base, token, path);
    if (unlink(path) != 0 && errno != ENOENT)
        lh_warn("cannot remove %s: %s", path, strerror(errno));
}

static lh_err *lh_st_local_each_pending(lh_st_backend *base, lh_st_token_fn fn, void *user)
{
    lh_st_local *b = (lh_st_local *)base;
    DIR *d = opendir(b->tmp);
    if (!d)
        return lh_st_io_err(errno, "open folder", b->tmp);
    lh_err *err = NULL;
    for (struct dirent *e; !err && (e = readdir(d));)
        if (e->d_name[0] != '.')
            err = fn(user, e->d_name);
    closedir(d);
    return err;
}

typedef struct lh_st_walk {
    const lh_st_local *b;
    lh_st_object_fn fn;
    void *user;
    lh_buf path;
} lh_st_walk;

static bool lh_st_is_dir(const char *path, const struct dirent *e)
{
    if (e->d_type != DT_UNKNOWN)
        return e->d_type == DT_DIR;
    struct stat st;
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* An entry that is not a folder: a file under <bucket>/<key>, or a stray. */
static lh_err *lh_st_walk_file(lh_st_walk *w)
{
    const char *rel = w->path.data + strlen(w->b->objects) + 1;
    const char *slash = strchr(rel, '/');
    char bucket[256];
    size_t blen = slash ? (size_t)(slash - rel) : strlen(rel);
    snprintf(bucket, sizeof bucket, "%.*s", (int)(blen < 255 ? blen : 255), rel);
    bool keep = true;
    lh_err *err = w->fn(w->user, bucket, slash ? slash + 1 : "", &keep);
    if (!err && !keep && unlink(w->path.data) != 0)
        lh_warn("cannot remove %s: %s", w->path.data, strerror(errno));
    return err;
}

static lh_err *lh_st_walk_dir(lh_st_walk *w)
{
    DIR *d = opendir(lh_buf_cstr(&w->path));
    if (!d)
        return lh_st_io_err(errno, "open folder", w->path.data);
    size_t len = w->path.len;
    lh_err *err = NULL;
    for (struct dirent *e; !err && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        w->path.len = len;
        lh_buf_appendf(&w->path, "/%s", e->d_name);
        lh_buf_cstr(&w->path);
        if (lh_st_is_dir(w->path.data, e)) {
            err = lh_st_walk_dir(w);
            rmdir(lh_buf_cstr(&w->path)); /* only succeeds when empty */
        } else {
            err = lh_st_walk_file(w);
        }
    }
    closedir(d);
    w->path.len = len;
    lh_buf_cstr(&w->path);
    return err;
}

static lh_err *lh_st_local_each_object(lh_st_backend *base, lh_st_object_fn fn, void *user)
{
    lh_st_walk w = {.b = (lh_st_local *)base, .fn = fn, .user = user};
    lh_buf_init(&w.path);
    lh_buf_append_str(&w.path, w.b->objects);
    lh_err *err = lh_st_walk_dir(&w);
    lh_buf_free(&w.path);
    return err;
}

static void lh_st_local_destroy(lh_st_backend *base) { free(base); }

static const lh_st_backend_ops lh_st_local_ops = {
    .name = "local",
    .open = lh_st_local_open,
    .read = lh_st_local_read,
    .close = lh_st_local_close,
    .write_begin = lh_st_local_write_begin,
    .write_resume = lh_st_local_write_resume,
    .append = lh_st_local_append,
    .read_written = lh_st_local_read_written,
    .sync = lh_st_local_sync,
    .commit = lh_st_local_commit,
    .abort = lh_st_local_abort,
    .detach = lh_st_local_detach,
    .remove = lh_st_local_remove,
    .pending = lh_st_local_pending,
    .discard = lh_st_local_discard,
    .each_pending = lh_st_local_each_pending,
    .each_object = lh_st_local_each_object,
    .destroy = lh_st_local_destroy,
};

bool lh_storage_local_path(const char *data_dir, const char *bucket, const char *key,
                           char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/" LH_STORAGE_DIR "/" LH_STORAGE_LOCAL_OBJECTS "/%s/%s",
                     data_dir, bucket, key);
    return n > 0 && (size_t)n < cap;
}

lh_err *lh_st_local_backend_create(const char *root, lh_st_backend **out)
{
    lh_st_local *b = calloc(1, sizeof *b);
    if (!b)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    b->base.ops = &lh_st_local_ops;
    snprintf(b->objects, sizeof b->objects, "%s/" LH_STORAGE_LOCAL_OBJECTS, root);
    snprintf(b->tmp, sizeof b->tmp, "%s/tmp", root);
    lh_err *err = lh_st_mkdir(b->objects);
    if (!err)
        err = lh_st_mkdir(b->tmp);
    if (err) {
        free(b);
        return lh_err_wrap(err, "local storage in %s", root);
    }
    *out = &b->base;
    return NULL;
}
