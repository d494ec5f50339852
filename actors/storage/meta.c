/*
 * meta.c — storaged's LevelDB (meta.h). Records are encoded and decoded
 * by the schema codec, through the tables in schemas/storage.h and
 * records.h.
 */
#include "actors/storage/meta.h"
#include "bus/request.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leveldb/c.h>

#define LH_ST_CLEAN_KEY "m/clean"

struct lh_st_meta {
    leveldb_t *db;
    leveldb_options_t *options;
    leveldb_readoptions_t *read;
    leveldb_writeoptions_t *sync_write;
    leveldb_writeoptions_t *lazy_write;
};

struct lh_st_meta_iter {
    leveldb_iterator_t *it;
    lh_buf prefix; /* "o/<bucket>/" */
    lh_buf seek;
};

/* LevelDB's malloc'd error string as an lh_err (NULL stays NULL). */
static lh_err *lh_st_ldb_err(char *msg, const char *what)
{
    if (!msg)
        return NULL;
    lh_err *err = lh_err_new(LH_EINTERNAL, NULL, "%s: %s", what, msg);
    leveldb_free(msg);
    return err;
}

lh_err *lh_st_meta_open(const char *dir, lh_st_meta **out)
{
    lh_st_meta *m = calloc(1, sizeof *m);
    if (!m)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    m->options = leveldb_options_create();
    leveldb_options_set_create_if_missing(m->options, 1);
    m->read = leveldb_readoptions_create();
    m->sync_write = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(m->sync_write, 1);
    m->lazy_write = leveldb_writeoptions_create();
    char *msg = NULL;
    m->db = leveldb_open(m->options, dir, &msg);
    if (!m->db) {
        lh_err *err = lh_st_ldb_err(msg, dir);
        lh_st_meta_close(m);
        return lh_err_wrap(err ? err : lh_err_new(LH_EINTERNAL, NULL, "cannot open"),
                           "open LevelDB");
    }
    *out = m;
    return NULL;
}

void lh_st_meta_close(lh_st_meta *m)
{
    if (!m)
        return;
    if (m->db)
        leveldb_close(m->db);
    leveldb_writeoptions_destroy(m->lazy_write);
    leveldb_writeoptions_destroy(m->sync_write);
    leveldb_readoptions_destroy(m->read);
    leveldb_options_destroy(m->options);
    free(m);
}

/* ---- keys and values ---- */

/* "<kind>/<bucket>/<key>" */
static void lh_st_key(lh_buf *b, char kind, const char *bucket, const char *key, size_t key_len)
{
    lh_buf_reset(b);
    lh_buf_appendf(b, "%c/%s/", kind, bucket);
    lh_buf_append(b, key, key_len);
}

static void lh_st_encode(const lh_schema *s, const void *value, lh_buf *out)
{
    lh_message_encode(s, value, out);
}

/* The description as stored: without bucket and key, which the LevelDB
 * key already holds. */
static void lh_st_encode_info(const lh_storage_object_info *info, lh_buf *out)
{
    lh_storage_object_info bare = *info;
    bare.bucket = (lh_str){0};
    bare.key = (lh_str){0};
    lh_st_encode(&lh_storage_object_info_schema, &bare, out);
}

static lh_err *lh_st_decode_info(const char *v, size_t vlen, const char *bucket, size_t blen,
                                 const char *key, size_t klen, lh_arena *a,
                                 lh_storage_object_info **out)
{
    void *p = NULL;
    lh_err *err = lh_schema_decode(&lh_storage_object_info_schema, v, vlen, a, &p);
    if (err)
        return lh_err_wrap(err, "description of '%.*s' is damaged", (int)klen, key);
    lh_storage_object_info *info = p;
    info->bucket = (lh_str){lh_arena_strndup(a, bucket, blen), blen};
    info->key = (lh_str){lh_arena_strndup(a, key, klen), klen};
    *out = info;
    return NULL;
}

static lh_err *lh_st_write(lh_st_meta *m, leveldb_writebatch_t *batch, bool sync, const char *what)
{
    char *msg = NULL;
    leveldb_write(m->db, sync ? m->sync_write : m->lazy_write, batch, &msg);
    leveldb_writebatch_destroy(batch);
    return lh_st_ldb_err(msg, what);
}

/* ---- objects ---- */

lh_err *lh_st_meta_get(lh_st_meta *m, const char *bucket, const char *key, lh_arena *a,
                       lh_storage_object_info **out)
{
    lh_buf k;
    lh_buf_init(&k);
    lh_st_key(&k, 'o', bucket, key, strlen(key));
    size_t vlen = 0;
    char *msg = NULL;
    char *v = leveldb_get(m->db, m->read, k.data, k.len, &vlen, &msg);
    lh_buf_free(&k);
    lh_err *err = lh_st_ldb_err(msg, "read description");
    *out = NULL;
    if (!err && v)
        err = lh_st_decode_info(v, vlen, bucket, strlen(bucket), key, strlen(key), a, out);
    leveldb_free(v);
    return err;
}

lh_err *lh_st_meta_exists(lh_st_meta *m, const char *bucket, const char *key, size_t key_len,
                          bool *out)
{
    lh_buf k;
    lh_buf_init(&k);
    lh_st_key(&k, 'o', bucket, key, key_len);
    size_t vlen = 0;
    char *msg = NULL;
    char *v = leveldb_get(m->db, m->read, k.data, k.len, &vlen, &msg);
    lh_buf_free(&k);
    *out = v != NULL;
    leveldb_free(v);
    return lh_st_ldb_err(msg, "read description");
}

lh_err *lh_st_meta_any_under(lh_st_meta *m, const char *bucket, const char *prefix, size_t len,
                             bool *out)
{
    lh_st_meta_iter *it = lh_st_meta_iter_create(m, bucket);
    lh_st_meta_iter_seek(it, prefix, len);
    const char *k;
    size_t klen;
    *out = lh_st_meta_iter_key(it, &k, &klen) && klen >= len && !memcmp(k, prefix, len);
    return lh_st_meta_iter_destroy(it);
}

lh_err *lh_st_meta_commit(lh_st_meta *m, const lh_storage_object_info *info,
                          const char *upload_id)
{
    lh_buf k, v;
    lh_buf_init(&k);
    lh_buf_init(&v);
    leveldb_writebatch_t *batch = leveldb_writebatch_create();
    lh_st_key(&k, 'o', info->bucket.s, info->key.s, info->key.len);
    lh_st_encode_info(info, &v);
    leveldb_writebatch_put(batch, k.data, k.len, v.data, v.len);
    lh_st_key(&k, 'i', info->bucket.s, info->key.s, info->key.len);
    leveldb_writebatch_delete(batch, k.data, k.len);
    if (upload_id) {
        lh_buf_reset(&k);
        lh_buf_appendf(&k, "u/%s", upload_id);
        leveldb_writebatch_delete(batch, k.data, k.len);
    }
    lh_err *err = lh_st_write(m, batch, true, "write description");
    lh_buf_free(&k);
    lh_buf_free(&v);
    return err;
}

lh_err *lh_st_meta_put_intent(lh_st_meta *m, const lh_storage_object_info *info,
                              const char *token)
{
    lh_storage_object_info bare = *info;
    bare.bucket = (lh_str){0};
    bare.key = (lh_str){0};
    lh_st_intent intent = {.token = {token, strlen(token)}, .object = &bare};
    lh_buf k, v;
    lh_buf_init(&k);
    lh_buf_init(&v);
    lh_st_key(&k, 'i', info->bucket.s, info->key.s, info->key.len);
    lh_st_encode(&lh_st_intent_schema, &intent, &v);
    leveldb_writebatch_t *batch = leveldb_writebatch_create();
    leveldb_writebatch_put(batch, k.data, k.len, v.data, v.len);
    lh_err *err = lh_st_write(m, batch, true, "write intent");
    lh_buf_free(&k);
    lh_buf_free(&v);
    return err;
}

static lh_err *lh_st_meta_drop(lh_st_meta *m, char kind, const char *bucket, const char *key,
                               bool sync)
{
    lh_buf k;
    lh_buf_init(&k);
    if (bucket)
        lh_st_key(&k, kind, bucket, key, strlen(key));
    else
        lh_buf_appendf(&k, "%c/%s", kind, key);
    leveldb_writebatch_t *batch = leveldb_writebatch_create();
    leveldb_writebatch_delete(batch, k.data, k.len);
    lh_buf_free(&k);
    return lh_st_write(m, batch, sync, "delete record");
}

lh_err *lh_st_meta_drop_intent(lh_st_meta *m, const char *bucket, const char *key)
{
    return lh_st_meta_drop(m, 'i', bucket, key, true);
}

lh_err *lh_st_meta_delete(lh_st_meta *m, const char *bucket, const char *key)
{
    return lh_st_meta_drop(m, 'o', bucket, key, true);
}

/* ---- scanning a key range ---- */

typedef lh_err *(*lh_st_entry_fn)(void *user, const char *rest, size_t rest_len, const char *v,
                                  size_t vlen, lh_arena *a);

/* Calls fn for every record whose key starts with `prefix`, with the rest
 * of the key; each call gets a fresh arena. */
static lh_err *lh_st_scan(lh_st_meta *m, const char *prefix, lh_st_entry_fn fn, void *user)
{
    size_t plen = strlen(prefix);
    leveldb_iterator_t *it = leveldb_create_iterator(m->db, m->read);
    lh_arena *a = lh_arena_create();
    lh_err *err = NULL;
    for (leveldb_iter_seek(it, prefix, plen); !err && leveldb_iter_valid(it);
         leveldb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = leveldb_iter_key(it, &klen);
        if (klen < plen || memcmp(k, prefix, plen))
            break;
        const char *v = leveldb_iter_value(it, &vlen);
        err = fn(user, k + plen, klen - plen, v, vlen, a);
        lh_arena_reset(a);
    }
    char *msg = NULL;
    leveldb_iter_get_error(it, &msg);
    leveldb_iter_destroy(it);
    lh_arena_destroy(a);
    lh_err *ierr = lh_st_ldb_err(msg, "scan records");
    if (err) {
        lh_err_free(ierr);
        return err;
    }
    return ierr;
}

typedef struct lh_st_scan_cb {
    lh_st_intent_fn intent;
    lh_st_upload_fn upload;
    void *user;
} lh_st_scan_cb;

static lh_err *lh_st_intent_entry(void *user, const char *rest, size_t rest_len, const char *v,
                                  size_t vlen, lh_arena *a)
{
    lh_st_scan_cb *cb = user;
    const char *slash = memchr(rest, '/', rest_len);
    void *p = NULL;
    lh_err *err = slash ? lh_schema_decode(&lh_st_intent_schema, v, vlen, a, &p)
                        : lh_err_new(LH_EINTERNAL, NULL, "malformed intent key");
    if (err)
        return lh_err_wrap(err, "intent '%.*s'", (int)rest_len, rest);
    lh_st_intent *in = p;
    size_t blen = (size_t)(slash - rest), klen = rest_len - blen - 1;
    lh_storage_object_info *info = in->object; /* OBJECT fields are void * */
    info->bucket = (lh_str){lh_arena_strndup(a, rest, blen), blen};
    info->key = (lh_str){lh_arena_strndup(a, slash + 1, klen), klen};
    return cb->intent(cb->user, in);
}

lh_err *lh_st_meta_each_intent(lh_st_meta *m, lh_st_intent_fn fn, void *user)
{
    lh_st_scan_cb cb = {.intent = fn, .user = user};
    return lh_st_scan(m, "i/", lh_st_intent_entry, &cb);
}

/* ---- listing ---- */

lh_st_meta_iter *lh_st_meta_iter_create(lh_st_meta *m, const char *bucket)
{
    lh_st_meta_iter *it = calloc(1, sizeof *it);
    if (!it)
        abort(); /* as lh_buf does: no request recovers from this */
    lh_buf_init(&it->prefix);
    lh_buf_init(&it->seek);
    lh_st_key(&it->prefix, 'o', bucket, "", 0);
    it->it = leveldb_create_iterator(m->db, m->read);
    leveldb_iter_seek(it->it, it->prefix.data, it->prefix.len);
    return it;
}

void lh_st_meta_iter_seek(lh_st_meta_iter *it, const char *key, size_t len)
{
    lh_buf_reset(&it->seek);
    lh_buf_append(&it->seek, it->prefix.data, it->prefix.len);
    lh_buf_append(&it->seek, key, len);
    leveldb_iter_seek(it->it, it->seek.data, it->seek.len);
}

bool lh_st_meta_iter_key(lh_st_meta_iter *it, const char **key, size_t *len)
{
    if (!leveldb_iter_valid(it->it))
        return false;
    size_t klen;
    const char *k = leveldb_iter_key(it->it, &klen);
    if (klen < it->prefix.len || memcmp(k, it->prefix.data, it->prefix.len))
        return false;
    *key = k + it->prefix.len;
    *len = klen - it->prefix.len;
    return true;
}

lh_err *lh_st_meta_iter_info(lh_st_meta_iter *it, lh_arena *a, lh_storage_object_info **out)
{
    const char *key;
    size_t klen, vlen;
    bool valid = lh_st_meta_iter_key(it, &key, &klen);
    assert(valid);
    (void)valid;
    const char *v = leveldb_iter_value(it->it, &vlen);
    /* prefix is "o/<bucket>/": the bucket sits between the slashes */
    return lh_st_decode_info(v, vlen, it->prefix.data + 2, it->prefix.len - 3, key, klen, a, out);
}

void lh_st_meta_iter_next(lh_st_meta_iter *it) { leveldb_iter_next(it->it); }

lh_err *lh_st_meta_iter_destroy(lh_st_meta_iter *it)
{
    char *msg = NULL;
    leveldb_iter_get_error(it->it, &msg);
    leveldb_iter_destroy(it->it);
    lh_buf_free(&it->prefix);
    lh_buf_free(&it->seek);
    free(it);
    return lh_st_ldb_err(msg, "list descriptions");
}

/* ---- uploads ---- */

lh_err *lh_st_meta_put_upload(lh_st_meta *m, const char *id, const lh_st_upload_record *r,
                              bool sync)
{
    lh_buf k, v;
    lh_buf_init(&k);
    lh_buf_init(&v);
    lh_buf_appendf(&k, "u/%s", id);
    lh_st_encode(&lh_st_upload_record_schema, r, &v);
    leveldb_writebatch_t *batch = leveldb_writebatch_create();
    leveldb_writebatch_put(batch, k.data, k.len, v.data, v.len);
    lh_err *err = lh_st_write(m, batch, sync, "write upload");
    lh_buf_free(&k);
    lh_buf_free(&v);
    return err;
}

lh_err *lh_st_meta_drop_upload(lh_st_meta *m, const char *id)
{
    return lh_st_meta_drop(m, 'u', NULL, id, false);
}

static lh_err *lh_st_upload_entry(void *user, const char *rest, size_t rest_len, const char *v,
                                  size_t vlen, lh_arena *a)
{
    lh_st_scan_cb *cb = user;
    void *p = NULL;
    lh_err *err = lh_schema_decode(&lh_st_upload_record_schema, v, vlen, a, &p);
    if (err)
        return lh_err_wrap(err, "upload '%.*s'", (int)rest_len, rest);
    char id[128];
    snprintf(id, sizeof id, "%.*s", (int)(rest_len < 127 ? rest_len : 127), rest);
    return cb->upload(cb->user, id, p);
}

lh_err *lh_st_meta_each_upload(lh_st_meta *m, lh_st_upload_fn fn, void *user)
{
    lh_st_scan_cb cb = {.upload = fn, .user = user};
    return lh_st_scan(m, "u/", lh_st_upload_entry, &cb);
}

/* ---- clean shutdown ---- */

lh_err *lh_st_meta_take_clean_mark(lh_st_meta *m, bool *was_clean)
{
    size_t vlen = 0;
    char *msg = NULL;
    char *v = leveldb_get(m->db, m->read, LH_ST_CLEAN_KEY, strlen(LH_ST_CLEAN_KEY), &vlen, &msg);
    *was_clean = v != NULL;
    leveldb_free(v);
    lh_err *err = lh_st_ldb_err(msg, "read clean mark");
    if (err || !*was_clean)
        return err;
    return lh_st_meta_drop(m, 'm', NULL, "clean", true);
}

lh_err *lh_st_meta_set_clean_mark(lh_st_meta *m)
{
    leveldb_writebatch_t *batch = leveldb_writebatch_create();
    leveldb_writebatch_put(batch, LH_ST_CLEAN_KEY, strlen(LH_ST_CLEAN_KEY), "1", 1);
    return lh_st_write(m, batch, true, "write clean mark");
}
