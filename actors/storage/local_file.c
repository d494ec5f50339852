/*
 * local_file.c — grow-only files with direct I/O where possible
 * (local_file.h).
 *
 * A direct write must start and end on a block boundary from an aligned
 * buffer, and appends rarely do: each append rewrites the file's last,
 * partial block (kept in memory) followed by the new bytes, padded with
 * zeros to a whole block, then cuts the file back to its true length.
 * Upload parts are whole mebibytes, so only an object's last write pays
 * for that. The aligned buffers come from a small pool shared by all
 * files, so an idle upload holds no buffer.
 */
#include "actors/storage/local_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus/log.h"
#include "schemas/storage.h"

#define LH_ST_ALIGN 4096
#define LH_ST_POOL 4
#define LH_ST_POOL_BUF ((size_t)LH_STORAGE_MAX_PART + LH_ST_ALIGN)

struct lh_st_file {
    int fd;  /* appends */
    int rfd; /* reads, through the page cache; -1 until the first */
    bool direct;
    uint64_t size;
    size_t tail_len;
    char tail[LH_ST_ALIGN]; /* the last, partial block (direct only) */
    char path[PATH_MAX];
};

/* ---- aligned buffers ---- */

static pthread_mutex_t lh_st_pool_mu = PTHREAD_MUTEX_INITIALIZER;
static char *lh_st_pool[LH_ST_POOL];
static size_t lh_st_pool_n;

static char *lh_st_buf_get(size_t need)
{
    char *p = NULL;
    if (need <= LH_ST_POOL_BUF) {
        pthread_mutex_lock(&lh_st_pool_mu);
        if (lh_st_pool_n)
            p = lh_st_pool[--lh_st_pool_n];
        pthread_mutex_unlock(&lh_st_pool_mu);
        need = LH_ST_POOL_BUF;
    }
    if (!p && posix_memalign((void **)&p, LH_ST_ALIGN, need) != 0)
        p = NULL;
    return p;
}

static void lh_st_buf_put(char *p, size_t need)
{
    if (need <= LH_ST_POOL_BUF) {
        pthread_mutex_lock(&lh_st_pool_mu);
        bool kept = lh_st_pool_n < LH_ST_POOL;
        if (kept)
            lh_st_pool[lh_st_pool_n++] = p;
        pthread_mutex_unlock(&lh_st_pool_mu);
        if (kept)
            return;
    }
    free(p);
}

/* ---- plumbing ---- */

static lh_err *lh_st_file_err(int e, const char *what, const char *path)
{
    if (e == ENOSPC || e == EDQUOT)
        return lh_err_new(LH_EUNAVAILABLE, NULL, "%s %s: no space left on the device", what, path);
    return lh_err_new(LH_EINTERNAL, NULL, "%s %s: %s", what, path, strerror(e));
}

static int lh_st_pwrite_all(int fd, const char *buf, size_t len, uint64_t at)
{
    for (size_t done = 0; done < len;) {
        ssize_t k = pwrite(fd, buf + done, len - done, (off_t)(at + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? errno : EIO;
        done += (size_t)k;
    }
    return 0;
}

static bool lh_st_direct_wanted(void)
{
    const char *v = getenv("LH_STORAGE_DIRECT_IO");
    return !v || strcmp(v, "0") != 0;
}

static int lh_st_reader_fd(lh_st_file *f)
{
    if (f->rfd < 0)
        f->rfd = open(f->path, O_RDONLY | O_CLOEXEC);
    return f->rfd;
}

/* ---- opening ---- */

static lh_err *lh_st_file_create_fd(lh_st_file *f, bool resume)
{
    int flags = O_RDWR | O_CLOEXEC | (resume ? 0 : O_CREAT | O_EXCL);
    f->direct = lh_st_direct_wanted();
    f->fd = f->direct ? open(f->path, flags | O_DIRECT, 0644) : -1;
    if (f->fd < 0 && f->direct && errno != EINVAL && errno != EOPNOTSUPP)
        return errno == ENOENT ? lh_err_new(LH_ENOTFOUND, NULL, "%s is gone", f->path)
                               : lh_st_file_err(errno, "create", f->path);
    if (f->fd < 0) { /* no direct I/O here; the attempt may have created the file */
        f->direct = false;
        f->fd = open(f->path, flags & ~O_EXCL, 0644);
    }
    if (f->fd < 0)
        return errno == ENOENT ? lh_err_new(LH_ENOTFOUND, NULL, "%s is gone", f->path)
                               : lh_st_file_err(errno, "create", f->path);
    return NULL;
}

/* Cuts a reopened file back to `size` and reloads its partial last block. */
static lh_err *lh_st_file_cut(lh_st_file *f, uint64_t size)
{
    struct stat st;
    if (fstat(f->fd, &st) != 0)
        return lh_st_file_err(errno, "stat", f->path);
    if ((uint64_t)st.st_size < size)
        return lh_err_new(LH_ENOTFOUND, NULL, "%s holds %lld of its %llu bytes", f->path,
                          (long long)st.st_size, (unsigned long long)size);
    if ((uint64_t)st.st_size > size && ftruncate(f->fd, (off_t)size) != 0)
        return lh_st_file_err(errno, "truncate", f->path);
    f->size = size;
    f->tail_len = f->direct ? size % LH_ST_ALIGN : 0;
    return f->tail_len ? lh_st_file_read(f, size - f->tail_len, f->tail, f->tail_len) : NULL;
}

lh_err *lh_st_file_open(const char *path, bool resume, uint64_t size, lh_st_file **out)
{
    lh_st_file *f = calloc(1, sizeof *f);
    if (!f)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    f->rfd = -1;
    snprintf(f->path, sizeof f->path, "%s", path);
    lh_err *err = lh_st_file_create_fd(f, resume);
    if (!err && resume)
        err = lh_st_file_cut(f, size);
    if (err) {
        lh_st_file_close(f);
        return err;
    }
    *out = f;
    return NULL;
}

/* ---- appending ---- */

static lh_err *lh_st_append_buffered(lh_st_file *f, const char *data, size_t len)
{
    int e = lh_st_pwrite_all(f->fd, data, len, f->size);
    if (e) {
        if (ftruncate(f->fd, (off_t)f->size) != 0) /* all or nothing */
            lh_warn("cannot undo a partial write to %s: %s", f->path, strerror(errno));
        return lh_st_file_err(e, "write", f->path);
    }
    f->size += len;
    return NULL;
}

/* Writes tail + data as whole blocks from `stage`; 0 or an errno. */
static int lh_st_write_blocks(lh_st_file *f, char *stage, const char *data, size_t len)
{
    size_t total = f->tail_len + len;
    size_t padded = (total + LH_ST_ALIGN - 1) & ~(size_t)(LH_ST_ALIGN - 1);
    memcpy(stage, f->tail, f->tail_len);
    memcpy(stage + f->tail_len, data, len);
    memset(stage + total, 0, padded - total);
    int e = lh_st_pwrite_all(f->fd, stage, padded, f->size - f->tail_len);
    uint64_t size = f->size + len;
    if (!e && padded != total && ftruncate(f->fd, (off_t)size) != 0)
        e = errno;
    if (e)
        return e;
    size_t t = size % LH_ST_ALIGN;
    memcpy(f->tail, stage + total - t, t);
    f->tail_len = t;
    f->size = size;
    return 0;
}

static lh_err *lh_st_append_direct(lh_st_file *f, const char *data, size_t len)
{
    size_t need = f->tail_len + len + LH_ST_ALIGN;
    char *stage = lh_st_buf_get(need);
    if (!stage)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    int e = lh_st_write_blocks(f, stage, data, len);
    lh_st_buf_put(stage, need);
    if (!e)
        return NULL;
    if (ftruncate(f->fd, (off_t)f->size) != 0) /* all or nothing */
        lh_warn("cannot undo a partial write to %s: %s", f->path, strerror(errno));
    if (e != EINVAL)
        return lh_st_file_err(e, "write", f->path);
    /* The device wants another alignment: go on through the page cache. */
    int flags = fcntl(f->fd, F_GETFL);
    if (flags < 0 || fcntl(f->fd, F_SETFL, flags & ~O_DIRECT) != 0)
        return lh_st_file_err(EINVAL, "write", f->path);
    lh_warn("%s: direct I/O refused; writing through the page cache", f->path);
    f->direct = false;
    f->tail_len = 0;
    return lh_st_append_buffered(f, data, len);
}

lh_err *lh_st_file_append(lh_st_file *f, const char *data, size_t len)
{
    if (len == 0)
        return NULL;
    return f->direct ? lh_st_append_direct(f, data, len) : lh_st_append_buffered(f, data, len);
}

/* ---- the rest ---- */

lh_err *lh_st_file_read(lh_st_file *f, uint64_t offset, char *buf, size_t len)
{
    int fd = lh_st_reader_fd(f);
    if (fd < 0)
        return lh_st_file_err(errno, "open", f->path);
    for (size_t done = 0; done < len;) {
        ssize_t k = pread(fd, buf + done, len - done, (off_t)(offset + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return lh_st_file_err(errno, "read", f->path);
        if (k == 0)
            return lh_err_new(LH_EINTERNAL, NULL, "%s is shorter than what was written", f->path);
        done += (size_t)k;
    }
    return NULL;
}

lh_err *lh_st_file_sync(lh_st_file *f)
{
    return fdatasync(f->fd) ? lh_st_file_err(errno, "fsync", f->path) : NULL;
}

uint64_t lh_st_file_size(const lh_st_file *f) { return f->size; }
bool lh_st_file_direct(const lh_st_file *f) { return f->direct; }

void lh_st_file_close(lh_st_file *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    if (f->rfd >= 0)
        close(f->rfd);
    free(f);
}
