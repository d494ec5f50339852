/*
 * idmap.c — the id -> label hash table (idmap.h).
 */
#include "actors/vector/idmap.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lh_idmap_entry {
    const char *id; /* NULL: empty slot */
    size_t len;
    uint64_t hash;
    int64_t label;
} lh_idmap_entry;

struct lh_vec_idmap {
    lh_idmap_entry *slots;
    size_t cap; /* a power of two */
    size_t count;
};

#define LH_IDMAP_MIN_CAP 64

uint64_t lh_vec_fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void *lh_calloc_or_die(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) {
        fprintf(stderr, "vectord: out of memory (%zu x %zu bytes)\n", n, size);
        abort();
    }
    return p;
}

lh_vec_idmap *lh_vec_idmap_create(void)
{
    lh_vec_idmap *m = lh_calloc_or_die(1, sizeof *m);
    m->cap = LH_IDMAP_MIN_CAP;
    m->slots = lh_calloc_or_die(m->cap, sizeof *m->slots);
    return m;
}

void lh_vec_idmap_destroy(lh_vec_idmap *m)
{
    if (!m)
        return;
    free(m->slots);
    free(m);
}

/* The slot holding `id`, or the empty slot where it would go. */
static size_t lh_idmap_find(const lh_vec_idmap *m, const char *id, size_t len, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const lh_idmap_entry *e = &m->slots[i];
        if (!e->id || (e->hash == h && e->len == len && !memcmp(e->id, id, len)))
            return i;
    }
}

static void lh_idmap_grow(lh_vec_idmap *m)
{
    lh_idmap_entry *old = m->slots;
    size_t old_cap = m->cap;
    m->cap *= 2;
    m->slots = lh_calloc_or_die(m->cap, sizeof *m->slots);
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].id)
            m->slots[lh_idmap_find(m, old[i].id, old[i].len, old[i].hash)] = old[i];
    free(old);
}

int64_t lh_vec_idmap_get(const lh_vec_idmap *m, const char *id, size_t len)
{
    const lh_idmap_entry *e =
        &m->slots[lh_idmap_find(m, id, len, lh_vec_fnv1a(LH_VEC_FNV_SEED, id, len))];
    return e->id ? e->label : -1;
}

void lh_vec_idmap_put(lh_vec_idmap *m, const char *id, size_t len, int64_t label)
{
    assert(id && label >= 0);
    if ((m->count + 1) * 10 > m->cap * 7)
        lh_idmap_grow(m);
    uint64_t h = lh_vec_fnv1a(LH_VEC_FNV_SEED, id, len);
    lh_idmap_entry *e = &m->slots[lh_idmap_find(m, id, len, h)];
    if (!e->id)
        m->count++;
    *e = (lh_idmap_entry){id, len, h, label};
}

bool lh_vec_idmap_del(lh_vec_idmap *m, const char *id, size_t len)
{
    size_t mask = m->cap - 1;
    size_t i = lh_idmap_find(m, id, len, lh_vec_fnv1a(LH_VEC_FNV_SEED, id, len));
    if (!m->slots[i].id)
        return false;
    /* Backward shift: pull later entries of the probe run into the hole
     * unless that would move one before its home slot. */
    for (size_t j = (i + 1) & mask; m->slots[j].id; j = (j + 1) & mask) {
        size_t home = m->slots[j].hash & mask;
        bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i] = (lh_idmap_entry){0};
    m->count--;
    return true;
}

size_t lh_vec_idmap_count(const lh_vec_idmap *m) { return m->count; }

size_t lh_vec_idmap_memory_bytes(const lh_vec_idmap *m)
{
    return sizeof *m + m->cap * sizeof *m->slots;
}
