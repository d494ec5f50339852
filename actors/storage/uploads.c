/*
 * uploads.c — the table of uploads in progress (uploads.h). A small
 * array searched linearly: uploads in flight number in the tens, and a
 * lookup costs nothing next to the megabyte each part carries.
 */
#include "actors/storage/uploads.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lh_st_uploads {
    pthread_mutex_t mu;
    lh_st_backend *backend;
    lh_st_upload **v;
    size_t n, cap;
};

static char *lh_st_dup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

lh_st_upload *lh_st_upload_new(const char *id, const char *bucket, const char *key,
                               const char *content_type, const char *metadata,
                               size_t metadata_len)
{
    lh_st_upload *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    snprintf(u->id, sizeof u->id, "%s", id);
    snprintf(u->bucket, sizeof u->bucket, "%s", bucket);
    pthread_mutex_init(&u->mu, NULL);
    u->key = lh_st_dup(key, strlen(key));
    u->content_type = content_type ? lh_st_dup(content_type, strlen(content_type)) : NULL;
    u->metadata = metadata_len ? lh_st_dup(metadata, metadata_len) : NULL;
    u->metadata_len = metadata_len;
    u->sha = lh_sha256_create();
    bool ok = u->key && u->sha && (!content_type || u->content_type) &&
              (!metadata_len || u->metadata);
    if (!ok) {
        lh_st_upload_free(u, NULL);
        return NULL;
    }
    u->sha_ready = true;
    return u;
}

void lh_st_upload_free(lh_st_upload *u, lh_st_backend *backend)
{
    if (!u)
        return;
    if (u->writer) {
        assert(backend);
        backend->ops->detach(u->writer);
    }
    lh_sha256_destroy(u->sha);
    free(u->key);
    free(u->content_type);
    free(u->metadata);
    assert(!u->early); /* answered when the upload ended or storaged stopped */
    pthread_mutex_destroy(&u->mu);
    free(u);
}

lh_st_uploads *lh_st_uploads_create(lh_st_backend *backend)
{
    lh_st_uploads *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    pthread_mutex_init(&t->mu, NULL);
    t->backend = backend;
    return t;
}

void lh_st_uploads_destroy(lh_st_uploads *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        lh_st_upload_free(t->v[i], t->backend);
    free(t->v);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

void lh_st_uploads_add(lh_st_uploads *t, lh_st_upload *u)
{
    pthread_mutex_lock(&t->mu);
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        lh_st_upload **v = realloc(t->v, cap * sizeof *v);
        if (!v)
            abort(); /* as lh_buf does: no request recovers from this */
        t->v = v;
        t->cap = cap;
    }
    u->refs++;
    t->v[t->n++] = u;
    pthread_mutex_unlock(&t->mu);
}

lh_st_upload *lh_st_uploads_find(lh_st_uploads *t, const char *id, size_t len)
{
    lh_st_upload *found = NULL;
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->n && !found; i++)
        if (strlen(t->v[i]->id) == len && !memcmp(t->v[i]->id, id, len))
            found = t->v[i];
    if (found)
        found->refs++;
    pthread_mutex_unlock(&t->mu);
    return found;
}

/* With t->mu held: drops one reference, freeing on the last. */
static void lh_st_unref_locked(lh_st_uploads *t, lh_st_upload *u)
{
    assert(u->refs > 0);
    if (--u->refs == 0)
        lh_st_upload_free(u, t->backend);
}

void lh_st_uploads_remove(lh_st_uploads *t, lh_st_upload *u)
{
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i] == u) {
            t->v[i] = t->v[--t->n];
            lh_st_unref_locked(t, u);
            break;
        }
    }
    pthread_mutex_unlock(&t->mu);
}

void lh_st_uploads_release(lh_st_uploads *t, lh_st_upload *u)
{
    pthread_mutex_lock(&t->mu);
    lh_st_unref_locked(t, u);
    pthread_mutex_unlock(&t->mu);
}

lh_st_upload **lh_st_uploads_idle(lh_st_uploads *t, int64_t before, size_t *n)
{
    pthread_mutex_lock(&t->mu);
    lh_st_upload **out = malloc((t->n ? t->n : 1) * sizeof *out);
    size_t k = 0;
    for (size_t i = 0; out && i < t->n; i++) {
        if (atomic_load(&t->v[i]->touched) < before) {
            t->v[i]->refs++;
            out[k++] = t->v[i];
        }
    }
    pthread_mutex_unlock(&t->mu);
    *n = k;
    return out;
}
