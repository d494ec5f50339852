/*
 * storage_commit.c — the one path by which bytes become an object, and
 * the checks every write makes first.
 *
 * Order of a commit, and what a crash at each point leaves:
 *   1. fsync the written bytes            crash: a stray temp file, swept at start
 *   2. (replacing) intent, durably         crash: intent + temp file: undone at start
 *   3. rename into place, fsync folder     crash: intent, temp gone: finished at start
 *   4. description (+ intent, upload
 *      record removed), durably            done
 * Without an object to replace, a crash between 3 and 4 leaves bytes that
 * no description claims: invisible, and removed at the next start.
 */
#include "actors/storage/storage_internal.h"

#include <stdio.h>
#include <string.h>

#include "actors/storage/names.h"
#include "bus/log.h"

lh_err *lh_st_append_hashed(lh_st_state *st, lh_st_writer *w, lh_sha256 *sha, const char *data,
                            size_t len)
{
    lh_err *err = st->backend->ops->append(w, data, len);
    lh_sha256_update(sha, data, len);
    return err;
}

pthread_rwlock_t *lh_st_key_lock(lh_st_state *st, const char *bucket, const char *key)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = bucket; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    h = (h ^ '/') * 16777619u;
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return &st->key_locks[h % LH_ST_KEY_LOCKS];
}

lh_err *lh_st_check_names(const lh_str *bucket, const lh_str *key)
{
    lh_err *err = lh_st_check_bucket(bucket);
    return err ? err : lh_st_check_key(key, "key");
}

lh_err *lh_st_check_clash(lh_st_state *st, const char *bucket, const char *key)
{
    bool found = false;
    lh_err *err = NULL;
    for (const char *slash = key; !err && (slash = strchr(slash, '/')); slash++) {
        err = lh_st_meta_exists(st->meta, bucket, key, (size_t)(slash - key), &found);
        if (!err && found)
            return lh_err_new(LH_ECONFLICT, "key",
                              "'%.*s' is an object in bucket '%s', so it cannot also be a "
                              "folder holding '%s'",
                              (int)(slash - key), key, bucket, key);
    }
    char folder[LH_STORAGE_MAX_KEY + 2];
    int n = snprintf(folder, sizeof folder, "%s/", key);
    if (!err)
        err = lh_st_meta_any_under(st->meta, bucket, folder, (size_t)n, &found);
    if (!err && found)
        return lh_err_new(LH_ECONFLICT, "key",
                          "'%s' is a folder of other objects in bucket '%s', so it cannot also "
                          "be an object",
                          key, bucket);
    return err;
}

/* Step 4 failed after the rename: say so; the intent (if any) lets the
 * next start finish the job. A new object's bytes are removed again so
 * nothing undescribed stays behind. */
static lh_err *lh_st_describe_failed(lh_st_state *st, const lh_storage_object_info *info,
                                     bool replaced, lh_err *err)
{
    lh_error("%s/%s was stored but its description was not written: %s", info->bucket.s,
             info->key.s, lh_err_message(err));
    if (!replaced)
        lh_err_free(st->backend->ops->remove(st->backend, info->bucket.s, info->key.s));
    return err;
}

/* Steps 2-4, with the key's lock held for writing. */
static lh_err *lh_st_replace_locked(lh_st_state *st, lh_st_writer *w, const char *token,
                                    const lh_storage_object_info *info, const char *upload_id)
{
    const lh_st_backend_ops *ops = st->backend->ops;
    const char *bucket = info->bucket.s, *key = info->key.s;
    bool replaced = false;
    lh_err *err = lh_st_check_clash(st, bucket, key);
    if (!err)
        err = lh_st_meta_exists(st->meta, bucket, key, info->key.len, &replaced);
    if (!err && replaced)
        err = lh_st_meta_put_intent(st->meta, info, token);
    if (!err) {
        err = ops->commit(w, bucket, key);
        if (err && replaced)
            lh_err_free(lh_st_meta_drop_intent(st->meta, bucket, key));
    }
    if (err) {
        ops->abort(w);
        return err;
    }
    err = lh_st_meta_commit(st->meta, info, upload_id);
    return err ? lh_st_describe_failed(st, info, replaced, err) : NULL;
}

lh_err *lh_st_commit(lh_st_state *st, lh_st_writer *w, const char *token,
                     const lh_storage_object_info *info, const char *upload_id)
{
    lh_err *err = st->backend->ops->sync(w); /* the slow part, before any lock */
    if (err) {
        st->backend->ops->abort(w);
        return err;
    }
    pthread_rwlock_t *lock = lh_st_key_lock(st, info->bucket.s, info->key.s);
    pthread_rwlock_wrlock(lock);
    err = lh_st_replace_locked(st, w, token, info, upload_id);
    pthread_rwlock_unlock(lock);
    return err;
}
