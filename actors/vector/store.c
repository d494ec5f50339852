/*
 * store.c — vectord's LevelDB (store.h).
 */
#include "actors/vector/store.h"

#include <stdlib.h>
#include <string.h>

#include <leveldb/c.h>

#include "lib/state/state.h"

struct lh_vec_store {
    lh_state_db kv;
};

lh_err *lh_vec_store_open(const char *dir, lh_vec_store **out)
{
    lh_vec_store *s = calloc(1, sizeof *s);
    if (!s)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    lh_err *err = lh_state_db_open(&s->kv, dir, 16u << 20);
    if (err) {
        free(s);
        return err;
    }
    *out = s;
    return NULL;
}

void lh_vec_store_close(lh_vec_store *s)
{
    if (!s)
        return;
    lh_state_db_close(&s->kv);
    free(s);
}

/* "<kind>/<index>" and, for items, "/<id>". */
static void lh_key(lh_buf *b, char kind, const char *index, const char *id, size_t id_len)
{
    lh_buf_reset(b);
    lh_buf_append(b, &kind, 1);
    lh_buf_append(b, "/", 1);
    lh_buf_append_str(b, index);
    if (id) {
        lh_buf_append(b, "/", 1);
        lh_buf_append(b, id, id_len);
    }
}

static lh_err *lh_write(lh_vec_store *s, leveldb_writebatch_t *batch, const char *what)
{
    char *msg = NULL;
    leveldb_write(s->kv.db, s->kv.sync_write, batch, &msg);
    leveldb_writebatch_destroy(batch);
    return lh_state_db_err(msg, what);
}

static void lh_batch_put_seq(leveldb_writebatch_t *batch, lh_buf *key, const char *index,
                             uint64_t seq)
{
    lh_key(key, 's', index, NULL, 0);
    leveldb_writebatch_put(batch, key->data, key->len, (const char *)&seq, sizeof seq);
}

lh_err *lh_vec_store_create_index(lh_vec_store *s, const lh_vec_params *p)
{
    lh_buf key, val;
    lh_buf_init(&key);
    lh_buf_init(&val);
    leveldb_writebatch_t *batch = leveldb_writebatch_create();
    lh_vec_params_encode(p, &val);
    lh_key(&key, 'c', p->name, NULL, 0);
    leveldb_writebatch_put(batch, key.data, key.len, val.data, val.len);
    lh_batch_put_seq(batch, &key, p->name, 1);
    lh_err *err = lh_write(s, batch, "write index settings");
    lh_buf_free(&key);
    lh_buf_free(&val);
    return err;
}

/* An iterator positioned on the first key with `prefix`. */
static leveldb_iterator_t *lh_seek(lh_vec_store *s, const lh_buf *prefix)
{
    leveldb_iterator_t *it = leveldb_create_iterator(s->kv.db, s->kv.read);
    leveldb_iter_seek(it, prefix->data, prefix->len);
    return it;
}

static bool lh_at_prefix(leveldb_iterator_t *it, const lh_buf *prefix, const char **rest,
                         size_t *rest_len)
{
    if (!leveldb_iter_valid(it))
        return false;
    size_t klen;
    const char *k = leveldb_iter_key(it, &klen);
    if (klen < prefix->len || memcmp(k, prefix->data, prefix->len))
        return false;
    *rest = k + prefix->len;
    *rest_len = klen - prefix->len;
    return true;
}

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

lh_err *lh_vec_store_drop_index(lh_vec_store *s, const char *index, size_t *items)
{
    lh_buf prefix, key;
    lh_buf_init(&prefix);
    lh_buf_init(&key);
    lh_key(&prefix, 'i', index, "", 0);
    leveldb_writebatch_t *batch = leveldb_writebatch_create();
    leveldb_iterator_t *it = lh_seek(s, &prefix);
    const char *rest;
    size_t rest_len, n = 0;
    for (; lh_at_prefix(it, &prefix, &rest, &rest_len); leveldb_iter_next(it), n++) {
        size_t klen;
        const char *k = leveldb_iter_key(it, &klen);
        leveldb_writebatch_delete(batch, k, klen);
    }
    lh_err *err = lh_iter_done(it, NULL, "list items");
    lh_key(&key, 'c', index, NULL, 0);
    leveldb_writebatch_delete(batch, key.data, key.len);
    lh_key(&key, 's', index, NULL, 0);
    leveldb_writebatch_delete(batch, key.data, key.len);
    if (err)
        leveldb_writebatch_destroy(batch);
    else
        err = lh_write(s, batch, "drop index");
    lh_buf_free(&prefix);
    lh_buf_free(&key);
    *items = n;
    return err;
}

lh_err *lh_vec_store_each_index(lh_vec_store *s, lh_vec_params_fn fn, void *user)
{
    lh_buf prefix;
    lh_buf_init(&prefix);
    lh_buf_append(&prefix, "c/", 2);
    leveldb_iterator_t *it = lh_seek(s, &prefix);
    const char *rest;
    size_t rest_len;
    lh_err *err = NULL;
    for (; !err && lh_at_prefix(it, &prefix, &rest, &rest_len); leveldb_iter_next(it)) {
        size_t vlen;
        const char *v = leveldb_iter_value(it, &vlen);
        lh_vec_params p;
        err = lh_vec_params_decode(v, vlen, &p);
        if (err)
            err = lh_err_wrap(err, "index '%.*s'", (int)rest_len, rest);
        else
            err = fn(user, &p);
    }
    lh_buf_free(&prefix);
    return lh_iter_done(it, err, "list indexes");
}

lh_err *lh_vec_store_next_seq(lh_vec_store *s, const char *index, uint64_t *out)
{
    lh_buf key;
    lh_buf_init(&key);
    lh_key(&key, 's', index, NULL, 0);
    size_t vlen = 0;
    char *msg = NULL;
    char *v = leveldb_get(s->kv.db, s->kv.read, key.data, key.len, &vlen, &msg);
    lh_buf_free(&key);
    lh_err *err = lh_state_db_err(msg, "read sequence");
    *out = 1;
    if (!err && v && vlen == sizeof *out)
        memcpy(out, v, sizeof *out);
    else if (!err && v)
        err = lh_err_new(LH_EINTERNAL, NULL, "index '%s': sequence number is damaged", index);
    leveldb_free(v);
    return err;
}

lh_err *lh_vec_store_each_item(lh_vec_store *s, const lh_vec_params *p, lh_vec_record_fn fn,
                               void *user)
{
    lh_buf prefix;
    lh_buf_init(&prefix);
    lh_key(&prefix, 'i', p->name, "", 0);
    float *vec = malloc((size_t)p->dimension * sizeof *vec);
    if (!vec) {
        lh_buf_free(&prefix);
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    }
    leveldb_iterator_t *it = lh_seek(s, &prefix);
    const char *rest;
    size_t rest_len;
    lh_err *err = NULL;
    for (; !err && lh_at_prefix(it, &prefix, &rest, &rest_len); leveldb_iter_next(it)) {
        size_t vlen;
        const char *v = leveldb_iter_value(it, &vlen);
        lh_vec_record r = {.id = rest, .id_len = rest_len};
        err = lh_vec_record_decode(v, vlen, (size_t)p->dimension, vec, &r);
        if (err)
            err = lh_err_wrap(err, "index '%s', item '%.*s'", p->name,
                              (int)(rest_len > 80 ? 80 : rest_len), rest);
        else
            err = fn(user, &r);
    }
    free(vec);
    lh_buf_free(&prefix);
    return lh_iter_done(it, err, "list items");
}

lh_err *lh_vec_store_put_items(lh_vec_store *s, const char *index, const lh_vec_record *r,
                               size_t n, uint64_t next_seq)
{
    lh_buf key, val;
    lh_buf_init(&key);
    lh_buf_init(&val);
    leveldb_writebatch_t *batch = leveldb_writebatch_create();
    for (size_t i = 0; i < n; i++) {
        lh_key(&key, 'i', index, r[i].id, r[i].id_len);
        lh_buf_reset(&val);
        lh_vec_record_encode(&r[i], &val);
        leveldb_writebatch_put(batch, key.data, key.len, val.data, val.len);
    }
    lh_batch_put_seq(batch, &key, index, next_seq);
    lh_err *err = lh_write(s, batch, "write items");
    lh_buf_free(&key);
    lh_buf_free(&val);
    return err;
}

lh_err *lh_vec_store_delete_items(lh_vec_store *s, const char *index, const lh_str *ids,
                                  size_t n)
{
    lh_buf key;
    lh_buf_init(&key);
    leveldb_writebatch_t *batch = leveldb_writebatch_create();
    for (size_t i = 0; i < n; i++) {
        lh_key(&key, 'i', index, ids[i].s, ids[i].len);
        leveldb_writebatch_delete(batch, key.data, key.len);
    }
    lh_err *err = lh_write(s, batch, "delete items");
    lh_buf_free(&key);
    return err;
}

uint64_t lh_vec_store_bytes(lh_vec_store *s, const char *index)
{
    lh_buf start, limit;
    lh_buf_init(&start);
    lh_buf_init(&limit);
    lh_key(&start, 'i', index, "", 0);
    lh_key(&limit, 'i', index, NULL, 0);
    lh_buf_append(&limit, "0", 1); /* '0' follows '/': just past every item key */
    const char *starts[1] = {start.data}, *limits[1] = {limit.data};
    size_t start_lens[1] = {start.len}, limit_lens[1] = {limit.len};
    uint64_t size = 0;
    leveldb_approximate_sizes(s->kv.db, 1, starts, start_lens, limits, limit_lens, &size);
    lh_buf_free(&start);
    lh_buf_free(&limit);
    return size;
}
