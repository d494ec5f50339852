/*
 * store.h — catalogd's source of truth: one LevelDB at
 * $LH_DATA_DIR/catalogd/db. Records are the msgpack of the reply schemas
 * (lh_catalog_dataset without `version`/`versions`, lh_catalog_version with
 * its schema), written and read back by the one schema codec.
 *
 * Keys, with <key> the dataset's lowercase name (names.h):
 *   d/<key>                  the dataset, including `latest`
 *   v/<key>/<20-digit n>     version n (decimal, zero-padded: sorts by n)
 *
 * Every write is one WriteBatch with sync=true: when a call here returns,
 * the change survives a crash, and a commit is never half there.
 */
#ifndef LH_CATALOG_STORE_H
#define LH_CATALOG_STORE_H

#include <stdint.h>

#include "bus/buf.h"
#include "bus/err.h"
#include "schemas/catalog.h"

typedef struct lh_cat_store lh_cat_store;
typedef struct lh_cat_read lh_cat_read;

/* Opens (creating) the database in `dir`. */
lh_err *lh_cat_store_open(const char *dir, lh_cat_store **out);
void lh_cat_store_close(lh_cat_store *s);

/* ---- writes (each one durable batch) ---- */

/* Writes a new dataset record. */
lh_err *lh_cat_store_create(lh_cat_store *s, const char *key, const lh_catalog_dataset *d);
/* Writes version v and the dataset record (whose `latest` is v's number). */
lh_err *lh_cat_store_commit(lh_cat_store *s, const char *key, const lh_catalog_dataset *d,
                            const lh_catalog_version *v);
/* Removes the dataset and every version it has. */
lh_err *lh_cat_store_delete(lh_cat_store *s, const char *key);

/* ---- reads, from one consistent snapshot ---- */

lh_cat_read *lh_cat_read_begin(lh_cat_store *s);
void lh_cat_read_end(lh_cat_read *r);

/* The dataset under `key`, decoded into `a`; *out is NULL when absent. */
lh_err *lh_cat_read_dataset(lh_cat_read *r, const char *key, lh_arena *a,
                            lh_catalog_dataset **out);
/* Version n of the dataset, decoded into `a`; *out is NULL when absent. */
lh_err *lh_cat_read_version(lh_cat_read *r, const char *key, int64_t n, lh_arena *a,
                            lh_catalog_version **out);

/* Calls fn for each version of a dataset, oldest first. The version lives
 * in a scratch arena until fn returns (a history can be long; only what fn
 * copies is kept). */
typedef lh_err *(*lh_cat_version_fn)(void *user, const lh_catalog_version *v);
lh_err *lh_cat_read_versions(lh_cat_read *r, const char *key, lh_cat_version_fn fn, void *user);

/* Calls fn for each dataset whose key starts with `key_prefix`, by key;
 * each is decoded into `a` and stays there. */
typedef lh_err *(*lh_cat_dataset_fn)(void *user, lh_catalog_dataset *d);
lh_err *lh_cat_read_datasets(lh_cat_read *r, const char *key_prefix, lh_arena *a,
                             lh_cat_dataset_fn fn, void *user);

#endif
