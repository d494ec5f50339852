/*
 * store.h — vectord's source of truth: one LevelDB at
 * $LH_DATA_DIR/vectord/db holding every index's settings, its write
 * sequence and its items. Every write is one WriteBatch written with
 * sync=true, so when a call here returns the change survives a crash and
 * the caller may acknowledge it.
 *
 * Keys (index names cannot hold '/'; ids are any bytes):
 *   c/<index>        settings (params.h)
 *   s/<index>        next write sequence number, u64
 *   i/<index>/<id>   an item (record.h)
 */
#ifndef LH_VECTOR_STORE_H
#define LH_VECTOR_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "actors/vector/params.h"
#include "actors/vector/record.h"
#include "bus/err.h"
#include "bus/schema.h"

typedef struct lh_vec_store lh_vec_store;

/* Opens (creating) the database in `dir`. */
lh_err *lh_vec_store_open(const char *dir, lh_vec_store **out);
void lh_vec_store_close(lh_vec_store *s);

/* Records a new index (settings and sequence 1). */
lh_err *lh_vec_store_create_index(lh_vec_store *s, const lh_vec_params *p);
/* Removes an index and all its items; *items gets how many it held. */
lh_err *lh_vec_store_drop_index(lh_vec_store *s, const char *index, size_t *items);

typedef lh_err *(*lh_vec_params_fn)(void *user, const lh_vec_params *p);
/* Calls fn for each stored index, by name. */
lh_err *lh_vec_store_each_index(lh_vec_store *s, lh_vec_params_fn fn, void *user);

/* The next sequence number of an index (1 for a fresh one). */
lh_err *lh_vec_store_next_seq(lh_vec_store *s, const char *index, uint64_t *out);

typedef lh_err *(*lh_vec_record_fn)(void *user, const lh_vec_record *r);
/* Calls fn for each item of an index, in id order. The record (and its
 * vector, a buffer reused between calls) lives until fn returns. */
lh_err *lh_vec_store_each_item(lh_vec_store *s, const lh_vec_params *p, lh_vec_record_fn fn,
                               void *user);

/* Writes items (replacing those with the same id) and the index's next
 * sequence number, durably, in one batch. */
lh_err *lh_vec_store_put_items(lh_vec_store *s, const char *index, const lh_vec_record *r,
                               size_t n, uint64_t next_seq);
/* Deletes items by id, durably, in one batch (absent ids are no-ops). */
lh_err *lh_vec_store_delete_items(lh_vec_store *s, const char *index, const lh_str *ids,
                                  size_t n);

/* Approximate bytes the index's items take on disk. */
uint64_t lh_vec_store_bytes(lh_vec_store *s, const char *index);

#endif
