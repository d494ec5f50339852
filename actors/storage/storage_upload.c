/*
 * storage_upload.c — uploads of any size: begin, part, commit, abort.
 *
 * Parts are appended in order to the upload's own temporary write while a
 * running SHA-256 follows them; commit goes through lh_st_commit like a
 * put. An acknowledged part has been written to the file and the upload's
 * record (parts, size) to LevelDB, neither fsynced: that survives a crash
 * of storaged (the kernel has both) at the cost of one LevelDB append per
 * part, and commit fsyncs the bytes before anything becomes visible. After
 * a restart the upload resumes where its record says (the file is cut
 * back to that size, the hash rebuilt on first use); after a power loss
 * that lost acknowledged bytes it is dropped, and its parts answer 404.
 */
#include "actors/storage/storage_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/storage/names.h"
#include "actors/storage/sha.h"
#include "bus/clock.h"
#include "bus/log.h"

/* Chunk for re-reading written bytes (resend checks, hash rebuilds). */
#define LH_ST_REREAD_CHUNK (1024 * 1024)
/* How long a part that came one ahead is held for its predecessor. */
#define LH_ST_EARLY_WAIT_MS 10000

/* ---- finding an upload ---- */

static lh_err *lh_st_no_upload(const lh_st_state *st, const lh_str *id)
{
    char shown[80];
    return lh_err_new(LH_ENOTFOUND, "upload",
                      "no upload '%s': it was committed or aborted, or idle for more than %lld s",
                      lh_st_shown(id, shown, sizeof shown), (long long)st->idle_seconds);
}

static void lh_st_upload_put_back(lh_st_state *st, lh_st_upload *u)
{
    pthread_mutex_unlock(&u->mu);
    lh_st_uploads_release(st->uploads, u);
}

/* The upload, referenced and locked, or a 404. */
static lh_err *lh_st_upload_take(lh_st_state *st, const lh_str *id, lh_st_upload **out)
{
    lh_st_upload *u = lh_st_uploads_find(st->uploads, id->s, id->len);
    if (!u)
        return lh_st_no_upload(st, id);
    pthread_mutex_lock(&u->mu);
    if (!u->gone) {
        *out = u;
        return NULL;
    }
    lh_st_upload_put_back(st, u);
    return lh_st_no_upload(st, id);
}

static void lh_st_upload_reply(lh_ctx *ctx, const lh_st_upload *u, lh_storage_upload_reply *rep)
{
    rep->upload = lh_st_str(ctx, u->id, strlen(u->id));
    rep->parts = u->parts;
    rep->size = (int64_t)u->size;
}

static lh_err *lh_st_save_upload(lh_st_state *st, const lh_st_upload *u, bool sync)
{
    lh_st_upload_record r = {
        .bucket = {u->bucket, strlen(u->bucket)},
        .key = {u->key, strlen(u->key)},
        .content_type = {u->content_type, u->content_type ? strlen(u->content_type) : 0},
        .metadata = {u->metadata, u->metadata_len},
        .parts = u->parts,
        .size = (int64_t)u->size,
        .last_part = (int64_t)u->last_part,
        .touched = atomic_load(&u->touched),
    };
    return lh_st_meta_put_upload(st->meta, u->id, &r, sync);
}

/* ---- begin ---- */

static lh_err *lh_st_check_begin(lh_st_state *st, const lh_storage_upload_begin_request *req)
{
    lh_err *err = lh_st_check_names(&req->bucket, &req->key);
    if (!err)
        err = lh_st_check_content_type(&req->content_type);
    if (!err)
        err = lh_st_check_metadata(&req->metadata);
    if (!err)
        err = lh_st_check_clash(st, req->bucket.s, req->key.s);
    return err;
}

lh_err *lh_st_upload_begin_handler(lh_ctx *ctx, const void *request, void *reply)
{
    const lh_storage_upload_begin_request *req = request;
    lh_st_state *st = lh_ctx_state(ctx);
    lh_err *err = lh_st_check_begin(st, req);
    if (err)
        return err;
    char id[LH_ST_ID_LEN + 1];
    lh_new_id(id);
    const char *ct = req->content_type.s && req->content_type.len ? req->content_type.s : NULL;
    lh_st_upload *u = lh_st_upload_new(id, req->bucket.s, req->key.s, ct, req->metadata.data,
                                       req->metadata.len);
    if (!u)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    atomic_store(&u->touched, lh_clock_unix_s());
    err = st->backend->ops->write_begin(st->backend, id, &u->writer);
    if (!err)
        err = lh_st_save_upload(st, u, true);
    if (err) {
        if (u->writer)
            st->backend->ops->abort(u->writer);
        u->writer = NULL;
        lh_st_upload_free(u, st->backend);
        return err;
    }
    lh_st_uploads_add(st->uploads, u);
    lh_debug("upload %s begun for %s/%s", id, u->bucket, u->key);
    lh_st_upload_reply(ctx, u, reply);
    return NULL;
}

/* ---- part ---- */

/* After a restart the running hash is rebuilt from the bytes on disk. */
static lh_err *lh_st_rebuild_sha(lh_st_state *st, lh_st_upload *u)
{
    if (u->sha_ready)
        return NULL;
    char *buf = malloc(LH_ST_REREAD_CHUNK);
    if (!buf)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    lh_sha256_reset(u->sha);
    lh_err *err = NULL;
    for (uint64_t at = 0; !err && at < u->size; at += LH_ST_REREAD_CHUNK) {
        size_t n = u->size - at < LH_ST_REREAD_CHUNK ? (size_t)(u->size - at) : LH_ST_REREAD_CHUNK;
        err = st->backend->ops->read_written(u->writer, at, buf, n);
        if (!err)
            lh_sha256_update(u->sha, buf, n);
    }
    free(buf);
    u->sha_ready = !err;
    return err;
}

/* The last part again: the same bytes are acknowledged, others refused. */
static lh_err *lh_st_resent_part(lh_st_state *st, lh_st_upload *u, const lh_bytes *data)
{
    bool same = data->len == u->last_part;
    char *buf = same && data->len ? malloc(data->len) : NULL;
    if (same && data->len && !buf)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    lh_err *err = NULL;
    if (buf) {
        err = st->backend->ops->read_written(u->writer, u->size - u->last_part, buf, data->len);
        same = !err && !memcmp(buf, data->data, data->len);
    }
    free(buf);
    if (err || same)
        return err;
    return lh_err_new(LH_ECONFLICT, "part",
                      "part %lld was already received with different bytes; send part %lld next",
                      (long long)u->parts, (long long)u->parts + 1);
}

static lh_err *lh_st_append_part(lh_st_state *st, lh_st_upload *u, const lh_bytes *data)
{
    lh_err *err = lh_st_rebuild_sha(st, u);
    if (!err)
        err = lh_st_append_hashed(st, u->writer, u->sha, data->data, data->len);
    if (err) {
        u->sha_ready = false; /* it took bytes that were not written: rebuild it */
        return err;
    }
    u->parts++;
    u->size += data->len;
    u->last_part = data->len;
    atomic_store(&u->touched, lh_clock_unix_s());
    err = lh_st_save_upload(st, u, false);
    if (err) { /* the record no longer matches the bytes: this upload cannot go on */
        lh_st_upload_end(st, u);
        return lh_err_wrap(err, "upload %s ended", u->id);
    }
    return NULL;
}

/* ---- parts that come early ----
 *
 * A client may keep two parts in flight (the gateway does, so that
 * storaged writes one while the next crosses the bus). One worker takes
 * them in order; with several, part n+1 can reach the upload before part
 * n. Rather than refuse it, or park a worker thread on it, storaged keeps
 * its bytes and takes over its reply (lh_ctx_defer): when part n is
 * appended, n+1 follows and is answered. One such part at a time; it is
 * refused (409) when its predecessor has not come within
 * LH_ST_EARLY_WAIT_MS, and answered 404 when the upload ends first. */

struct lh_st_early {
    int64_t part;
    char *data;
    size_t len;
    int64_t since_ms;
    lh_deferred *reply;
};

void lh_st_drop_early(lh_st_upload *u, lh_err *why)
{
    lh_st_early *e = u->early;
    u->early = NULL;
    if (e) {
        lh_deferred_fail(e->reply, why);
        free(e->data);
        free(e);
    }
    lh_err_free(why);
}

void lh_st_expire_early(lh_st_upload *u, int64_t now_ms)
{
    lh_st_early *e = u->early;
    if (!e || now_ms - e->since_ms < LH_ST_EARLY_WAIT_MS)
        return;
    lh_st_drop_early(u, lh_err_new(LH_ECONFLICT, "part",
                                   "expected part %lld, not part %lld (held %d s for part %lld, "
                                   "which did not come)",
                                   (long long)u->parts + 1, (long long)e->part,
                                   LH_ST_EARLY_WAIT_MS / 1000, (long long)u->parts + 1));
}

static lh_err *lh_st_hold_early(lh_ctx *ctx, lh_st_upload *u, const lh_storage_upload_part_request *req)
{
    if (u->early)
        return lh_err_new(LH_ECONFLICT, "part", "expected part %lld, not part %lld",
                          (long long)u->parts + 1, (long long)req->part);
    lh_st_early *e = calloc(1, sizeof *e);
    char *data = e ? malloc(req->data.len ? req->data.len : 1) : NULL;
    if (!data) {
        free(e);
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    }
    memcpy(data, req->data.data, req->data.len);
    *e = (lh_st_early){req->part, data, req->data.len, lh_clock_ms(), lh_ctx_defer(ctx)};
    u->early = e;
    return NULL;
}

static lh_err *lh_st_append_part(lh_st_state *st, lh_st_upload *u, const lh_bytes *data);

/* After part n went in: the held part n+1, if any, follows and is answered. */
static void lh_st_take_early(lh_st_state *st, lh_st_upload *u)
{
    lh_st_early *e = u->early;
    if (!e || e->part != u->parts + 1)
        return;
    u->early = NULL;
    lh_bytes data = {e->data, e->len};
    lh_err *err = lh_st_append_part(st, u, &data);
    if (err) {
        lh_deferred_fail(e->reply, err);
        lh_err_free(err);
    } else {
        lh_storage_upload_reply rep = {.upload = {u->id, strlen(u->id)}, .parts = u->parts,
                                       .size = (int64_t)u->size};
        lh_deferred_reply(e->reply, &rep);
    }
    free(e->data);
    free(e);
}

/* Fills `reply` unless the reply was deferred (a part held early). */
static lh_err *lh_st_part_locked(lh_ctx *ctx, lh_st_state *st, lh_st_upload *u,
                                 const lh_storage_upload_part_request *req,
                                 lh_storage_upload_reply *reply)
{
    lh_err *err = NULL;
    if (req->part == u->parts && u->parts > 0)
        err = lh_st_resent_part(st, u, &req->data);
    else if (req->part == u->parts + 2 && !atomic_load(&st->stopping_requests))
        return lh_st_hold_early(ctx, u, req);
    else if (req->part != u->parts + 1)
        return lh_err_new(LH_ECONFLICT, "part", "expected part %lld, not part %lld",
                          (long long)u->parts + 1, (long long)req->part);
    else
        err = lh_st_append_part(st, u, &req->data);
    if (err)
        return err;
    lh_st_upload_reply(ctx, u, reply); /* this part's state, before a held one follows */
    lh_st_take_early(st, u);
    return NULL;
}

lh_err *lh_st_upload_part_handler(lh_ctx *ctx, const void *request, void *reply)
{
    const lh_storage_upload_part_request *req = request;
    lh_st_state *st = lh_ctx_state(ctx);
    lh_st_upload *u = NULL;
    lh_err *err = lh_st_upload_take(st, &req->upload, &u);
    if (err)
        return err;
    err = lh_st_part_locked(ctx, st, u, req, reply);
    lh_st_upload_put_back(st, u);
    return err;
}

/* ---- commit ---- */

static void lh_st_describe_upload(lh_ctx *ctx, const lh_st_upload *u, const char *sha,
                                  lh_storage_object_info *info)
{
    char now[32];
    lh_clock_rfc3339(now, sizeof now, 3);
    const char *ct = u->content_type ? u->content_type : "application/octet-stream";
    info->bucket = lh_st_str(ctx, u->bucket, strlen(u->bucket));
    info->key = lh_st_str(ctx, u->key, strlen(u->key));
    info->size = (int64_t)u->size;
    info->sha256 = lh_st_str(ctx, sha, strlen(sha));
    info->content_type = lh_st_str(ctx, ct, strlen(ct));
    if (u->metadata_len)
        info->metadata = (lh_raw){lh_arena_strndup(lh_ctx_arena(ctx), u->metadata, u->metadata_len),
                                  u->metadata_len};
    info->modified = lh_st_str(ctx, now, strlen(now));
}

static lh_err *lh_st_commit_locked(lh_ctx *ctx, lh_st_state *st, lh_st_upload *u,
                                   const char *expect, lh_storage_object_info *info)
{
    lh_err *err = lh_st_rebuild_sha(st, u);
    if (err)
        return err;
    char got[LH_ST_SHA_HEX + 1];
    lh_sha256_running_hex(u->sha, got);
    if (expect[0] && strcmp(expect, got))
        return lh_err_new(LH_EUNPROCESSABLE, "sha256",
                          "the upload's %llu bytes have SHA-256 %s, not %s; nothing was written "
                          "(the upload stays open: abort it, or commit again)",
                          (unsigned long long)u->size, got, expect);
    lh_st_describe_upload(ctx, u, got, info);
    lh_st_writer *w = u->writer;
    u->writer = NULL; /* lh_st_commit takes it, whatever happens */
    err = lh_st_commit(st, w, u->id, info, u->id);
    if (err) {
        lh_st_upload_end(st, u);
        return lh_err_wrap(err, "upload %s ended", u->id);
    }
    u->gone = true;
    lh_st_drop_early(u, lh_err_new(LH_ENOTFOUND, "upload", "upload %s was committed before this "
                                                           "part's turn came", u->id));
    lh_st_uploads_remove(st->uploads, u);
    return NULL;
}

lh_err *lh_st_upload_commit_handler(lh_ctx *ctx, const void *request, void *reply)
{
    const lh_storage_upload_commit_request *req = request;
    lh_st_state *st = lh_ctx_state(ctx);
    char expect[LH_ST_SHA_HEX + 1] = "";
    lh_err *err = req->sha256.s ? lh_st_sha_parse(&req->sha256, "sha256", expect) : NULL;
    lh_st_upload *u = NULL;
    if (!err)
        err = lh_st_upload_take(st, &req->upload, &u);
    if (err)
        return err;
    lh_storage_object_info *info = reply;
    err = lh_st_commit_locked(ctx, st, u, expect, info);
    if (!err)
        lh_info("upload %s committed as %s/%s (%lld bytes)", u->id, info->bucket.s, info->key.s,
                (long long)info->size);
    lh_st_upload_put_back(st, u);
    if (!err)
        lh_st_publish(st, &lh_ev_storage_written, info);
    return err;
}

/* ---- abort ---- */

lh_err *lh_st_upload_abort_handler(lh_ctx *ctx, const void *request, void *reply)
{
    const lh_storage_upload_ref *req = request;
    lh_st_state *st = lh_ctx_state(ctx);
    lh_st_upload *u = NULL;
    lh_err *err = lh_st_upload_take(st, &req->upload, &u);
    if (err)
        return err;
    lh_st_upload_reply(ctx, u, reply);
    lh_st_upload_end(st, u);
    lh_st_upload_put_back(st, u);
    lh_st_publish(st, &lh_ev_storage_aborted, reply);
    return NULL;
}
