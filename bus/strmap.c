/*
 * strmap.c — the string map of strmap.h: FNV-1a, linear probing, grown
 * at half full.
 */
#include "bus/strmap.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static uint64_t lh_strmap_hash(const char *s, size_t n, bool fold)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        h = (h ^ (fold ? (unsigned char)tolower(c) : c)) * 1099511628211u;
    }
    return h;
}

static bool lh_strmap_key_eq(const lh_strmap_entry *e, const char *s, size_t n, bool fold)
{
    if (e->len != n)
        return false;
    return fold ? !strncasecmp(e->key, s, n) : !memcmp(e->key, s, n);
}

/* The slot holding `key`, or the free slot where it would go. */
static lh_strmap_entry *lh_strmap_slot(const lh_strmap *m, const char *key, size_t len,
                                         uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        lh_strmap_entry *e = &m->v[i];
        if (!e->key || (e->hash == h && lh_strmap_key_eq(e, key, len, m->fold_case)))
            return e;
    }
}

size_t lh_strmap_get(const lh_strmap *m, const char *key, size_t len)
{
    if (!m->cap)
        return LH_STRMAP_ABSENT;
    lh_strmap_entry *e = lh_strmap_slot(m, key, len, lh_strmap_hash(key, len, m->fold_case));
    return e->key ? e->value : LH_STRMAP_ABSENT;
}

static void lh_strmap_grow(lh_strmap *m)
{
    lh_strmap old = *m;
    m->cap = old.cap ? old.cap * 2 : 64;
    m->v = calloc(m->cap, sizeof *m->v);
    if (!m->v)
        abort(); /* as lh_buf: out of memory is not recoverable here */
    for (size_t i = 0; i < old.cap; i++)
        if (old.v[i].key)
            *lh_strmap_slot(m, old.v[i].key, old.v[i].len, old.v[i].hash) = old.v[i];
    free(old.v);
}

void lh_strmap_put(lh_strmap *m, const char *key, size_t len, size_t value)
{
    if ((m->n + 1) * 2 > m->cap)
        lh_strmap_grow(m);
    uint64_t h = lh_strmap_hash(key, len, m->fold_case);
    lh_strmap_entry *e = lh_strmap_slot(m, key, len, h);
    if (!e->key) {
        e->key = malloc(len + 1);
        if (!e->key)
            abort();
        memcpy(e->key, key, len);
        e->key[len] = '\0';
        e->len = len;
        e->hash = h;
        m->n++;
    }
    e->value = value;
}

void lh_strmap_free(lh_strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->v[i].key);
    free(m->v);
    m->v = NULL;
    m->cap = m->n = 0;
}
