/*
 * upload.c — lh_tab_upload_file: begin, the file in parts of the largest
 * size storaged takes, commit with the sha256 (so a part lost or changed
 * on the way fails the commit instead of storing other bytes).
 */
#include "lib/tabular/upload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/request.h"
#include "schemas/storage.h"

static lh_str lh_s(const char *s) { return (lh_str){s, s ? strlen(s) : 0}; }

static lh_err *lh_send_parts(const lh_tab_upload *up, FILE *f, const char *id, lh_sha256 *sha,
                             int64_t *size)
{
    char *chunk = malloc(LH_STORAGE_MAX_PART);
    if (!chunk)
        abort();
    lh_arena *a = lh_arena_create();
    lh_err *err = NULL;
    *size = 0;
    for (int64_t part = 1; !err; part++, lh_arena_reset(a)) {
        size_t n = fread(chunk, 1, LH_STORAGE_MAX_PART, f);
        if (n == 0) {
            if (ferror(f))
                err = lh_err_new(LH_EINTERNAL, NULL, "read: %s", strerror(errno));
            break;
        }
        lh_sha256_update(sha, chunk, n);
        *size += (int64_t)n;
        lh_storage_upload_part_request req = {.upload = lh_s(id), .part = part,
                                              .data = {chunk, n}};
        err = lh_call(up->conn, &lh_ep_storage_upload_part, &req, a, NULL, up->timeout_ms);
    }
    lh_arena_destroy(a);
    free(chunk);
    return err;
}

static lh_err *lh_begin(const lh_tab_upload *up, char id[65])
{
    lh_arena *a = lh_arena_create();
    lh_storage_upload_begin_request req = {.bucket = lh_s(up->bucket), .key = lh_s(up->key),
                                           .content_type = lh_s(up->content_type)};
    lh_storage_upload_reply *rep = NULL;
    lh_err *err = lh_call(up->conn, &lh_ep_storage_upload_begin, &req, a, (void **)&rep,
                          up->timeout_ms);
    if (!err && (!rep->upload.s || rep->upload.len >= 65))
        err = lh_err_new(LH_EINTERNAL, NULL, "storage.upload.begin gave no upload id");
    if (!err)
        snprintf(id, 65, "%.*s", (int)rep->upload.len, rep->upload.s);
    lh_arena_destroy(a);
    return err;
}

lh_err *lh_tab_upload_file(const lh_tab_upload *up, const char *path, int64_t *size,
                           char sha256[LH_SHA256_HEX + 1])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return lh_err_new(LH_EINTERNAL, NULL, "%s: %s", path, strerror(errno));
    char id[65] = "";
    lh_sha256 *sha = lh_sha256_create();
    if (!sha)
        abort();
    lh_err *err = lh_begin(up, id);
    if (!err)
        err = lh_send_parts(up, f, id, sha, size);
    fclose(f);
    lh_sha256_running_hex(sha, sha256);
    lh_sha256_destroy(sha);
    lh_arena *a = lh_arena_create();
    if (!err) {
        lh_storage_upload_commit_request req = {.upload = lh_s(id), .sha256 = {sha256, 64}};
        err = lh_call(up->conn, &lh_ep_storage_upload_commit, &req, a, NULL, up->timeout_ms);
    }
    if (err && id[0]) { /* leave nothing half-written behind */
        lh_storage_upload_ref ref = {.upload = lh_s(id)};
        lh_err_free(lh_call(up->conn, &lh_ep_storage_upload_abort, &ref, a, NULL,
                            up->timeout_ms));
    }
    lh_arena_destroy(a);
    return lh_err_wrap(err, "store %s/%s", up->bucket, up->key);
}
