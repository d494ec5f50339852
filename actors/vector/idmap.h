/*
 * idmap.h — item id -> faiss label, for one collection.
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstone slots to age the table). Keys are not copied: each entry
 * points at the id bytes the collection owns for that label, so a put
 * must pass the bytes that will live as long as the entry.
 */
#ifndef LH_VECTOR_IDMAP_H
#define LH_VECTOR_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lh_vec_idmap lh_vec_idmap;

lh_vec_idmap *lh_vec_idmap_create(void);
void lh_vec_idmap_destroy(lh_vec_idmap *m);

/* The label of `id`, or -1. */
int64_t lh_vec_idmap_get(const lh_vec_idmap *m, const char *id, size_t len);
/* Inserts or updates (then the entry's key pointer becomes `id`). */
void lh_vec_idmap_put(lh_vec_idmap *m, const char *id, size_t len, int64_t label);
/* Removes `id`; false when it was absent. */
bool lh_vec_idmap_del(lh_vec_idmap *m, const char *id, size_t len);
size_t lh_vec_idmap_count(const lh_vec_idmap *m);
size_t lh_vec_idmap_memory_bytes(const lh_vec_idmap *m);

/* FNV-1a, 64-bit: also used to checksum snapshot files. */
uint64_t lh_vec_fnv1a(uint64_t h, const void *data, size_t n);
#define LH_VEC_FNV_SEED 0xcbf29ce484222325ull

#endif
