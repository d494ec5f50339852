/*
 * storage_objects.c — the whole-object handlers: put, get (a range),
 * head, delete. Listing is in storage_list.c, uploads in storage_upload.c.
 */
#include "actors/storage/storage_internal.h"

#include <stdio.h>
#include <string.h>

#include "actors/storage/names.h"
#include "actors/storage/sha.h"
#include "bus/clock.h"
#include "bus/log.h"

#define LH_ST_DEFAULT_CONTENT_TYPE "application/octet-stream"

/* ---- put ---- */

/* The description of a new object, strings in the request's arena. */
static void lh_st_describe(lh_ctx *ctx, const lh_str *bucket, const lh_str *key,
                           const lh_str *content_type, const lh_raw *metadata, uint64_t size,
                           const char *sha, lh_storage_object_info *info)
{
    char now[32];
    lh_clock_rfc3339(now, sizeof now, 3);
    info->bucket = lh_st_str(ctx, bucket->s, bucket->len);
    info->key = lh_st_str(ctx, key->s, key->len);
    info->size = (int64_t)size;
    info->sha256 = lh_st_str(ctx, sha, strlen(sha));
    info->content_type = content_type->s && content_type->len
                             ? lh_st_str(ctx, content_type->s, content_type->len)
                             : lh_st_str(ctx, LH_ST_DEFAULT_CONTENT_TYPE,
                                         strlen(LH_ST_DEFAULT_CONTENT_TYPE));
    info->metadata = *metadata;
    info->modified = lh_st_str(ctx, now, strlen(now));
}

static lh_err *lh_st_check_put(lh_st_state *st, const lh_storage_put_request *req, char *expect)
{
    lh_err *err = lh_st_check_names(&req->bucket, &req->key);
    if (!err)
        err = lh_st_check_content_type(&req->content_type);
    if (!err)
        err = lh_st_check_metadata(&req->metadata);
    if (!err && req->sha256.s)
        err = lh_st_sha_parse(&req->sha256, "sha256", expect);
    if (!err) /* early, so a doomed write costs nothing; commit checks again */
        err = lh_st_check_clash(st, req->bucket.s, req->key.s);
    return err;
}

lh_err *lh_st_put_handler(lh_ctx *ctx, const void *request, void *reply)
{
    const lh_storage_put_request *req = request;
    lh_storage_object_info *info = reply;
    lh_st_state *st = lh_ctx_state(ctx);
    char expect[LH_ST_SHA_HEX + 1] = "", got[LH_ST_SHA_HEX + 1];
    lh_err *err = lh_st_check_put(st, req, expect);
    if (err)
        return err;
    char token[LH_ST_ID_LEN + 1];
    lh_new_id(token);
    lh_st_writer *w = NULL;
    lh_sha256 *sha = lh_sha256_create();
    err = sha ? st->backend->ops->write_begin(st->backend, token, &w)
              : lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    if (!err)
        err = lh_st_append_hashed(st, w, sha, req->data.data, req->data.len);
    if (!err) {
        lh_sha256_running_hex(sha, got);
        if (expect[0] && strcmp(expect, got))
            err = lh_err_new(LH_EUNPROCESSABLE, "sha256",
                             "the data's SHA-256 is %s, not %s; nothing was written", got, expect);
    }
    lh_sha256_destroy(sha);
    if (err) {
        if (w)
            st->backend->ops->abort(w);
        return err;
    }
    lh_st_describe(ctx, &req->bucket, &req->key, &req->content_type, &req->metadata,
                   req->data.len, got, info);
    err = lh_st_commit(st, w, token, info, NULL);
    if (!err)
        lh_st_publish(st, &lh_ev_storage_written, info);
    return err;
}

/* ---- get and head ---- */

static lh_err *lh_st_no_object(const lh_str *bucket, const lh_str *key)
{
    return lh_err_new(LH_ENOTFOUND, "key", "no object '%s' in bucket '%s'", key->s, bucket->s);
}

/* The description and, when `r` is not NULL, the bytes opened, as one
 * consistent pair (under the key's read lock). */
static lh_err *lh_st_lookup(lh_ctx *ctx, const lh_str *bucket, const lh_str *key,
                            lh_storage_object_info **info, lh_st_reader **r)
{
    lh_st_state *st = lh_ctx_state(ctx);
    lh_err *err = lh_st_check_names(bucket, key);
    if (err)
        return err;
    pthread_rwlock_t *lock = lh_st_key_lock(st, bucket->s, key->s);
    pthread_rwlock_rdlock(lock);
    err = lh_st_meta_get(st->meta, bucket->s, key->s, lh_ctx_arena(ctx), info);
    if (!err && !*info)
        err = lh_st_no_object(bucket, key);
    uint64_t size = 0;
    if (!err && r)
        err = st->backend->ops->open(st->backend, bucket->s, key->s, r, &size);
    pthread_rwlock_unlock(lock);
    if (!err && r && size != (uint64_t)(*info)->size) {
        st->backend->ops->close(*r);
        err = lh_err_new(LH_EINTERNAL, NULL, "%s/%s holds %llu bytes but its description says %lld",
                         bucket->s, key->s, (unsigned long long)size, (long long)(*info)->size);
    }
    return err;
}

static size_t lh_st_range_len(const lh_storage_get_request *req, uint64_t size)
{
    uint64_t left = size - (uint64_t)req->offset;
    uint64_t want = req->length ? (uint64_t)req->length : LH_STORAGE_MAX_GET;
    if (want > LH_STORAGE_MAX_GET)
        want = LH_STORAGE_MAX_GET;
    return (size_t)(want < left ? want : left);
}

lh_err *lh_st_get_handler(lh_ctx *ctx, const void *request, void *reply)
{
    const lh_storage_get_request *req = request;
    lh_storage_get_reply *rep = reply;
    lh_st_state *st = lh_ctx_state(ctx);
    lh_storage_object_info *info = NULL;
    lh_st_reader *r = NULL;
    lh_err *err = lh_st_lookup(ctx, &req->bucket, &req->key, &info, &r);
    if (err)
        return err;
    uint64_t size = (uint64_t)info->size;
    if ((uint64_t)req->offset > size) {
        st->backend->ops->close(r);
        return lh_err_new(LH_EBADREQ, "offset", "offset %lld is past the end of the object (%llu bytes)",
                          (long long)req->offset, (unsigned long long)size);
    }
    size_t want = lh_st_range_len(req, size), got = 0;
    char *buf = lh_ctx_alloc(ctx, want ? want : 1);
    err = st->backend->ops->read(r, (uint64_t)req->offset, buf, want, &got);
    st->backend->ops->close(r);
    if (!err && got != want)
        err = lh_err_new(LH_EINTERNAL, NULL, "%s/%s ended early: the object was damaged",
                         req->bucket.s, req->key.s);
    if (err)
        return err;
    rep->object = info;
    rep->offset = req->offset;
    rep->data = (lh_bytes){buf, got};
    rep->eof = (uint64_t)req->offset + got == size;
    return NULL;
}

lh_err *lh_st_head_handler(lh_ctx *ctx, const void *request, void *reply)
{
    const lh_storage_object_request *req = request;
    lh_storage_object_info *info = NULL;
    lh_err *err = lh_st_lookup(ctx, &req->bucket, &req->key, &info, NULL);
    if (!err)
        *(lh_storage_object_info *)reply = *info;
    return err;
}

/* ---- delete ---- */

/* With the key's write lock: the description goes first, durably, so a
 * crash after it leaves only undescribed bytes (swept at the next start). */
static lh_err *lh_st_delete_locked(lh_st_state *st, const char *bucket, const char *key,
                                   bool *deleted)
{
    bool found = false;
    lh_err *err = lh_st_meta_exists(st->meta, bucket, key, strlen(key), &found);
    if (!err && found)
        err = lh_st_meta_delete(st->meta, bucket, key);
    if (err || !found)
        return err;
    *deleted = true;
    err = st->backend->ops->remove(st->backend, bucket, key);
    if (err) /* the object is gone; only its bytes linger */
        lh_warn("deleted %s/%s but its bytes stay: %s", bucket, key, lh_err_message(err));
    lh_err_free(err);
    return NULL;
}

lh_err *lh_st_delete_handler(lh_ctx *ctx, const void *request, void *reply)
{
    const lh_storage_object_request *req = request;
    lh_storage_delete_reply *rep = reply;
    lh_st_state *st = lh_ctx_state(ctx);
    lh_err *err = lh_st_check_names(&req->bucket, &req->key);
    if (err)
        return err;
    pthread_rwlock_t *lock = lh_st_key_lock(st, req->bucket.s, req->key.s);
    pthread_rwlock_wrlock(lock);
    err = lh_st_delete_locked(st, req->bucket.s, req->key.s, &rep->deleted);
    pthread_rwlock_unlock(lock);
    if (!err && rep->deleted)
        lh_st_publish(st, &lh_ev_storage_deleted, req);
    return err;
}
