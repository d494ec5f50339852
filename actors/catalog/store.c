/*
 * store.c — catalogd's LevelDB (store.h).
 */
#include "actors/catalog/store.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <leveldb/c.h>

#include "lib/state/state.h"
#include "bus/request.h"

struct lh_cat_store {
    lh_state_db kv;
};

struct lh_cat_read {
    lh_cat_store *s;
    const leveldb_snapshot_t *snap;
    leveldb_readoptions_t *options;
};

lh_err *lh_cat_store_open(const char *dir, lh_cat_store **out)
{
    lh_cat_store *s = calloc(1, sizeof *s);
    if (!s)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    lh_err *err = lh_state_db_open(&s->kv, dir, 0);
    if (err) {
        free(s);
        return err;
    }
    *out = s;
    return NULL;
}

void lh_cat_store_close(lh_cat_store *s)
{
    if (!s)
        return;
    lh_state_db_close(&s->kv);
    free(s);
}

/* ---- keys and records ---- */

static void lh_dataset_key(lh_buf *b, const char *key)
{
    lh_buf_reset(b);
    lh_buf_appendf(b, "d/%s", key);
}

static void lh_versions_prefix(lh_buf *b, const char *key)
{
    lh_buf_reset(b);
    lh_buf_appendf(b, "v/%s/", key);
}

static void lh_version_key(lh_buf *b, const char *key, int64_t n)
{
    assert(n > 0);
    lh_buf_reset(b);
    lh_buf_appendf(b, "v/%s/%020" PRId64, key, n);
}

static void lh_encode(const lh_schema *schema, const void *value, lh_buf *out)
{
    lh_message_encode(schema, value, out);
}

/* A stored record that does not decode is damage, not bad input: 500. */
static lh_err *lh_decode(const lh_schema *schema, const char *data, size_t len, lh_arena *a,
                         const char *key, size_t key_len, void **out)
{
    lh_err *err = lh_schema_decode(schema, data, len, a, out);
    if (!err)
        return NULL;
    lh_err *damaged = lh_err_new(LH_EINTERNAL, NULL, "stored record '%.*s' is damaged: %s",
                                 (int)key_len, key, lh_err_message(err));
    lh_err_free(err);
    *out = NULL;
    return damaged;
}

/* ---- writes ---- */

static lh_err *lh_write(lh_cat_store *s, leveldb_writebatch_t *batch, const char *what)
{
    char *msg = NULL;
    leveldb_write(s->kv.db, s->kv.sync_write, batch, &msg);
    leveldb_writebatch_destroy(batch);
    return lh_state_db_err(msg, what);
}

static void lh_batch_put(leveldb_writebatch_t *batch, const lh_buf *key, const lh_schema *schema,
                         const void *value)
{
    lh_buf val;
    lh_buf_init(&val);
    lh_encode(schema, value, &val);
    leveldb_writebatch_put(batch, key->data, key->len, val.data, val.len);
    lh_buf_free(&val);
}

lh_err *lh_cat_store_create(lh_cat_store *s, const char *key, const lh_catalog_dataset *d)
{
    assert(!d->version && !d->versions.v);
    lh_buf k;
    lh_buf_init(&k);
    leveldb_writebatch_t *batch = leveldb_writebatch_create();
    lh_dataset_key(&k, key);
    lh_batch_put(batch, &k, &lh_catalog_dataset_schema, d);
    lh_buf_free(&k);
    return lh_write(s, batch, "write dataset");
}

lh_err *lh_cat_store_commit(lh_cat_store *s, const char *key, const lh_catalog_dataset *d,
                            const lh_catalog_version *v)
{
    assert(d->latest == v->version && !d->version && !d->versions.v);
    lh_buf k;
    lh_buf_init(&k);
    leveldb_writebatch_t *batch = leveldb_writebatch_create();
    lh_version_key(&k, key, v->version);
    lh_batch_put(batch, &k, &lh_catalog_version_schema, v);
    lh_dataset_key(&k, key);
    lh_batch_put(batch, &k, &lh_catalog_dataset_schema, d);
    lh_buf_free(&k);
    return lh_write(s, batch, "commit version");
}

/* An iterator on the first key at or after `prefix`. */
static leveldb_iterator_t *lh_seek(leveldb_t *db, const leveldb_readoptions_t *ro,
                                   const lh_buf *prefix)
{
    leveldb_iterator_t *it = leveldb_create_iterator(db, ro);
    leveldb_iter_seek(it, prefix->data, prefix->len);
    return it;
}

static bool lh_at_prefix(leveldb_iterator_t *it, const lh_buf *prefix)
{
    if (!leveldb_iter_valid(it))
        return false;
    size_t klen;
    const char *k = leveldb_iter_key(it, &klen);
    return klen >= prefix->len && !memcmp(k, prefix->data, prefix->len);
}

/* Destroys the iterator; its error, unless `err` already holds one. */
static lh_err *lh_iter_done(leveldb_iterator_t *it, lh_err *err, const char *what)
{
    char *msg = NULL;
    leveldb_iter_get_error(it, &msg);
    leveldb_iter_destroy(it);
    lh_err *ierr = lh_state_db_err(msg, what);
    if (err) {
        lh_err_free(ierr);
        return err;
    }
    return ierr;
}

lh_err *lh_cat_store_delete(lh_cat_store *s, const char *key)
{
    lh_buf k;
    lh_buf_init(&k);
    leveldb_writebatch_t *batch = leveldb_writebatch_create();
    lh_versions_prefix(&k, key);
    leveldb_iterator_t *it = lh_seek(s->kv.db, s->kv.read, &k);
    for (; lh_at_prefix(it, &k); leveldb_iter_next(it)) {
        size_t klen;
        const char *vk = leveldb_iter_key(it, &klen);
        leveldb_writebatch_delete(batch, vk, klen);
    }
    lh_err *err = lh_iter_done(it, NULL, "list versions");
    lh_dataset_key(&k, key);
    leveldb_writebatch_delete(batch, k.data, k.len);
    lh_buf_free(&k);
    if (err) {
        leveldb_writebatch_destroy(batch);
        return err;
    }
    return lh_write(s, batch, "delete dataset");
}

/* ---- reads ---- */

lh_cat_read *lh_cat_read_begin(lh_cat_store *s)
{
    lh_cat_read *r = calloc(1, sizeof *r);
    assert(r);
    r->s = s;
    r->snap = leveldb_create_snapshot(s->kv.db);
    r->options = leveldb_readoptions_create();
    leveldb_readoptions_set_snapshot(r->options, r->snap);
    return r;
}

void lh_cat_read_end(lh_cat_read *r)
{
    if (!r)
        return;
    leveldb_readoptions_destroy(r->options);
    leveldb_release_snapshot(r->s->kv.db, r->snap);
    free(r);
}

/* Reads and decodes one record; *out NULL when the key is absent. */
static lh_err *lh_get(lh_cat_read *r, const lh_buf *key, const lh_schema *schema, lh_arena *a,
                      void **out)
{
    *out = NULL;
    char *msg = NULL;
    size_t len = 0;
    char *val = leveldb_get(r->s->kv.db, r->options, key->data, key->len, &len, &msg);
    if (msg)
        return lh_state_db_err(msg, "read");
    if (!val)
        return NULL;
    lh_err *err = lh_decode(schema, val, len, a, key->data, key->len, out);
    leveldb_free(val);
    return err;
}

lh_err *lh_cat_read_dataset(lh_cat_read *r, const char *key, lh_arena *a,
                            lh_catalog_dataset **out)
{
    lh_buf k;
    lh_buf_init(&k);
    lh_dataset_key(&k, key);
    lh_err *err = lh_get(r, &k, &lh_catalog_dataset_schema, a, (void **)out);
    lh_buf_free(&k);
    return err;
}

lh_err *lh_cat_read_version(lh_cat_read *r, const char *key, int64_t n, lh_arena *a,
                            lh_catalog_version **out)
{
    lh_buf k;
    lh_buf_init(&k);
    lh_version_key(&k, key, n);
    lh_err *err = lh_get(r, &k, &lh_catalog_version_schema, a, (void **)out);
    lh_buf_free(&k);
    return err;
}

/* Decodes the iterator's current record into `a`. */
static lh_err *lh_iter_decode(leveldb_iterator_t *it, const lh_schema *schema, lh_arena *a,
                              void **out)
{
    size_t klen, vlen;
    const char *k = leveldb_iter_key(it, &klen);
    const char *v = leveldb_iter_value(it, &vlen);
    return lh_decode(schema, v, vlen, a, k, klen, out);
}

lh_err *lh_cat_read_versions(lh_cat_read *r, const char *key, lh_cat_version_fn fn, void *user)
{
    lh_buf prefix;
    lh_buf_init(&prefix);
    lh_versions_prefix(&prefix, key);
    lh_arena *scratch = lh_arena_create();
    leveldb_iterator_t *it = lh_seek(r->s->kv.db, r->options, &prefix);
    lh_err *err = NULL;
    for (; !err && lh_at_prefix(it, &prefix); leveldb_iter_next(it)) {
        void *v = NULL;
        err = lh_iter_decode(it, &lh_catalog_version_schema, scratch, &v);
        if (!err)
            err = fn(user, v);
        lh_arena_reset(scratch);
    }
    err = lh_iter_done(it, err, "list versions");
    lh_arena_destroy(scratch);
    lh_buf_free(&prefix);
    return err;
}

lh_err *lh_cat_read_datasets(lh_cat_read *r, const char *key_prefix, lh_arena *a,
                             lh_cat_dataset_fn fn, void *user)
{
    lh_buf prefix;
    lh_buf_init(&prefix);
    lh_dataset_key(&prefix, key_prefix);
    leveldb_iterator_t *it = lh_seek(r->s->kv.db, r->options, &prefix);
    lh_err *err = NULL;
    for (; !err && lh_at_prefix(it, &prefix); leveldb_iter_next(it)) {
        void *d = NULL;
        err = lh_iter_decode(it, &lh_catalog_dataset_schema, a, &d);
        if (!err)
            err = fn(user, d);
    }
    err = lh_iter_done(it, err, "list datasets");
    lh_buf_free(&prefix);
    return err;
}
