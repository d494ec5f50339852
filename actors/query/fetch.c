/*
 * fetch.c — a version's Parquet object (written by ingestd at commit)
 * copied from storaged into the cache, range by range through the bus,
 * hashed as the bytes arrive and checked against the catalog's sha256 at
 * the end (a wrong or changed object leaves nothing in the cache).
 *
 * When storaged keeps its objects in local files under the same data
 * directory and file system (one machine: the embedded default), the
 * object's file is hard-linked into the cache instead, no byte copied
 * (storaged never changes a committed file in place), and then hashed
 * like a fetched one; any failure falls back to the fetch. The rows
 * are the catalog's count: the file is not opened here; DuckDB reads it
 * when a statement does.
 */
#include "actors/query/query_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/tabular/source.h"
#include "actors/storage/storage.h"
#include "bus/digest.h"
#include "bus/log.h"

typedef struct lh_qcopy {
    int fd;
    lh_sha256 *sha;
    const atomic_bool *stop;
} lh_qcopy;

static lh_err *lh_copy_range(void *user, const char *data, size_t len)
{
    lh_qcopy *c = user;
    lh_sha256_update(c->sha, data, len);
    for (size_t done = 0; done < len;) {
        ssize_t n = write(c->fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return lh_err_new(errno == ENOSPC ? LH_EUNAVAILABLE : LH_EINTERNAL, NULL,
                              "write the query cache: %s", strerror(errno));
        done += (size_t)n;
    }
    return NULL;
}

static lh_err *lh_before_range(void *user)
{
    const lh_qcopy *c = user;
    return atomic_load(c->stop) ? lh_err_new(LH_EUNAVAILABLE, NULL, "queryd is stopping; ask "
                                             "again later")
                                : NULL;
}

static bool lh_file_has_sha(const char *path, const char *sha256)
{
    FILE *f = fopen(path, "rb");
    lh_sha256 *h = lh_sha256_create();
    char *buf = malloc(1u << 20);
    bool ok = f && h && buf;
    for (size_t n; ok && (n = fread(buf, 1, 1u << 20, f)) > 0;)
        lh_sha256_update(h, buf, n);
    ok = ok && !ferror(f);
    char hex[LH_SHA256_HEX + 1];
    if (ok) {
        lh_sha256_running_hex(h, hex);
        ok = !strcasecmp(hex, sha256);
    }
    if (f)
        fclose(f);
    lh_sha256_destroy(h);
    free(buf);
    return ok;
}

/* The object's local file linked as `path`, when there is one with the
 * right bytes. */
static bool lh_link_local(const lh_qload_source *src, const lh_catalog_parquet *pq,
                          const char *path)
{
    const lh_catalog_location *loc = pq->location;
    char local[PATH_MAX];
    if (!lh_storage_local_path(src->data_dir, loc->bucket.s, loc->key.s, local, sizeof local) ||
        link(local, path) != 0)
        return false;
    if (lh_file_has_sha(path, pq->sha256.s))
        return true;
    unlink(path);
    lh_warn("%s/%s: the local file does not have the catalog's sha256; fetching it",
            loc->bucket.s, loc->key.s);
    return false;
}

lh_err *lh_qfetch_parquet(const lh_qload_source *src, const char *path, int64_t *rows)
{
    const lh_catalog_version *v = src->dataset->version;
    const lh_catalog_parquet *pq = v->parquet;
    *rows = v->rows;
    if (lh_link_local(src, pq, path))
        return NULL;
    const lh_catalog_location *loc = pq->location;
    lh_qcopy c = {.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644),
                  .stop = src->stop};
    if (c.fd < 0)
        return lh_err_new(LH_EINTERNAL, NULL, "create %s: %s", path, strerror(errno));
    c.sha = lh_sha256_create();
    if (!c.sha)
        abort();
    lh_tab_source s = {
        .conn = src->conn,
        .timeout_ms = src->timeout_ms,
        .bucket = loc->bucket.s,
        .key = loc->key.s,
        .sha256 = NULL, /* checked whole below: a wrong object is a 422, not a 409 */
        .chunk = 4u << 20,
        .before = lh_before_range,
        .user = &c,
    };
    lh_err *err = lh_tab_source_each(&s, lh_copy_range, &c);
    if (close(c.fd) != 0 && !err)
        err = lh_err_new(LH_EINTERNAL, NULL, "write %s: %s", path, strerror(errno));
    char hex[LH_SHA256_HEX + 1];
    lh_sha256_running_hex(c.sha, hex);
    lh_sha256_destroy(c.sha);
    if (!err && strcasecmp(hex, pq->sha256.s))
        err = lh_err_new(LH_EUNPROCESSABLE, NULL, "the Parquet object of version %" PRId64
                         " of '%s' does not have its recorded sha256", v->version,
                         src->dataset->name.s);
    return err;
}
