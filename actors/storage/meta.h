/*
 * meta.h — storaged's source of truth about what exists: one LevelDB at
 * $LH_DATA_DIR/storaged/meta.
 *
 * Keys (bucket names hold no '/', so "o/<bucket>/" names one bucket):
 *   o/<bucket>/<key>   an object's description (lh_storage_object_info
 *                      without bucket and key); the object exists iff this does
 *   i/<bucket>/<key>   intent: the object is being replaced (records.h)
 *   u/<upload id>      an upload in progress (records.h)
 *   m/clean            present while storaged is stopped cleanly
 *
 * Writes that acknowledge something are written with sync=true; upload
 * progress is not (see storage_upload.c for why that is enough).
 */
#ifndef LH_STORAGE_META_H
#define LH_STORAGE_META_H

#include <stdbool.h>
#include <stddef.h>

#include "actors/storage/records.h"
#include "bus/buf.h"
#include "bus/err.h"
#include "schemas/storage.h"

typedef struct lh_st_meta lh_st_meta;

lh_err *lh_st_meta_open(const char *dir, lh_st_meta **out);
void lh_st_meta_close(lh_st_meta *m);

/* ---- objects ---- */

/* The description of bucket/key (bucket and key filled in, all in `a`),
 * or *out NULL when there is no such object. */
lh_err *lh_st_meta_get(lh_st_meta *m, const char *bucket, const char *key, lh_arena *a,
                       lh_storage_object_info **out);
lh_err *lh_st_meta_exists(lh_st_meta *m, const char *bucket, const char *key, size_t key_len,
                          bool *out);
/* Whether any object's key starts with prefix[0..len). */
lh_err *lh_st_meta_any_under(lh_st_meta *m, const char *bucket, const char *prefix, size_t len,
                             bool *out);

/* Writes the description (info->bucket and info->key name the object) and
 * removes its intent and, when upload_id is not NULL, the upload's record:
 * one durable batch. */
lh_err *lh_st_meta_commit(lh_st_meta *m, const lh_storage_object_info *info,
                          const char *upload_id);
/* Durably records that the write `token` is about to replace the object. */
lh_err *lh_st_meta_put_intent(lh_st_meta *m, const lh_storage_object_info *info,
                              const char *token);
lh_err *lh_st_meta_drop_intent(lh_st_meta *m, const char *bucket, const char *key);
/* Durably removes the description (the object stops existing). */
lh_err *lh_st_meta_delete(lh_st_meta *m, const char *bucket, const char *key);

typedef lh_err *(*lh_st_intent_fn)(void *user, const lh_st_intent *intent);
/* Calls fn for each intent, with intent->object's bucket and key filled in. */
lh_err *lh_st_meta_each_intent(lh_st_meta *m, lh_st_intent_fn fn, void *user);

/* ---- listing: an iterator over one bucket's keys, in byte order ---- */

typedef struct lh_st_meta_iter lh_st_meta_iter;

lh_st_meta_iter *lh_st_meta_iter_create(lh_st_meta *m, const char *bucket);
/* Moves to the first key >= key[0..len). */
void lh_st_meta_iter_seek(lh_st_meta_iter *it, const char *key, size_t len);
/* The current key; false past the bucket's last one. */
bool lh_st_meta_iter_key(lh_st_meta_iter *it, const char **key, size_t *len);
/* The current object's description, in `a`. */
lh_err *lh_st_meta_iter_info(lh_st_meta_iter *it, lh_arena *a, lh_storage_object_info **out);
void lh_st_meta_iter_next(lh_st_meta_iter *it);
/* Frees the iterator; returns LevelDB's error, if iterating met one. */
lh_err *lh_st_meta_iter_destroy(lh_st_meta_iter *it);

/* ---- uploads ---- */

lh_err *lh_st_meta_put_upload(lh_st_meta *m, const char *id, const lh_st_upload_record *r,
                              bool sync);
lh_err *lh_st_meta_drop_upload(lh_st_meta *m, const char *id);
typedef lh_err *(*lh_st_upload_fn)(void *user, const char *id, const lh_st_upload_record *r);
lh_err *lh_st_meta_each_upload(lh_st_meta *m, lh_st_upload_fn fn, void *user);

/* ---- clean shutdown ---- */

/* Reads and removes the clean-shutdown mark: *was_clean is false after a crash. */
lh_err *lh_st_meta_take_clean_mark(lh_st_meta *m, bool *was_clean);
lh_err *lh_st_meta_set_clean_mark(lh_st_meta *m);

#endif
