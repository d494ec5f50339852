/*
 * cache.c — the vectors cache of cache.h. A key is the provider and model
 * names, each ended by a NUL, then the 32 bytes of the text's sha256; a
 * value is the vector as little-endian float32 (the machines this runs on
 * are little-endian), its length telling the dimension.
 */
#include "actors/embed/cache.h"

#include <leveldb/c.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "lib/state/state.h"

struct lh_embed_cache {
    lh_state_db db;
    leveldb_writeoptions_t *lazy; /* no fsync */
};

lh_err *lh_embed_cache_open(const char *dir, lh_embed_cache **out)
{
    lh_embed_cache *c = calloc(1, sizeof *c);
    if (!c)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    lh_err *err = lh_state_mkdirs(dir);
    if (!err)
        err = lh_state_db_open(&c->db, dir, 0);
    if (err) {
        free(c);
        return lh_err_wrap(err, "open the embedding cache");
    }
    c->lazy = leveldb_writeoptions_create();
    *out = c;
    return NULL;
}

void lh_embed_cache_close(lh_embed_cache *c)
{
    if (!c)
        return;
    leveldb_writeoptions_destroy(c->lazy);
    lh_state_db_close(&c->db);
    free(c);
}

static void lh_cache_key(const char *provider, const char *model, const char *text, size_t len,
                         lh_buf *key)
{
    unsigned char sha[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(text, len, sha, &n, EVP_sha256(), NULL);
    lh_buf_append(key, provider, strlen(provider) + 1);
    lh_buf_append(key, model, strlen(model) + 1);
    lh_buf_append(key, sha, n);
}

bool lh_embed_cache_get(lh_embed_cache *c, const char *provider, const char *model,
                        const char *text, size_t len, lh_arena *arena, float **vec, int *dim)
{
    lh_buf key;
    lh_buf_init(&key);
    lh_cache_key(provider, model, text, len, &key);
    size_t vlen = 0;
    char *msg = NULL;
    char *val = leveldb_get(c->db.db, c->db.read, key.data, key.len, &vlen, &msg);
    lh_buf_free(&key);
    leveldb_free(msg);
    bool hit = val && vlen && vlen % sizeof(float) == 0;
    if (hit) {
        *vec = lh_arena_alloc(arena, vlen);
        memcpy(*vec, val, vlen);
        *dim = (int)(vlen / sizeof(float));
    }
    leveldb_free(val);
    return hit;
}

void lh_embed_cache_put(lh_embed_cache *c, const char *provider, const char *model,
                        const char *text, size_t len, const float *vec, int dim)
{
    lh_buf key;
    lh_buf_init(&key);
    lh_cache_key(provider, model, text, len, &key);
    char *msg = NULL;
    leveldb_put(c->db.db, c->lazy, key.data, key.len, (const char *)vec,
                (size_t)dim * sizeof(float), &msg);
    leveldb_free(msg); /* a write that failed is a later miss, nothing worse */
    lh_buf_free(&key);
}
