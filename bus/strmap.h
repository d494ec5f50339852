/*
 * strmap.h — a small string -> index map (open addressing), exact or
 * ignoring ASCII case: column names in the tabular readers, node names in
 * pathwayd's traces. Keys are copied; a zeroed lh_strmap is an empty map.
 */
#ifndef LH_BUS_STRMAP_H
#define LH_BUS_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lh_strmap_entry {
    char *key; /* owned; NULL = free slot */
    size_t len;
    uint64_t hash;
    size_t value;
} lh_strmap_entry;

typedef struct lh_strmap {
    lh_strmap_entry *v;
    size_t cap, n;
    bool fold_case;
} lh_strmap;

#define LH_STRMAP_ABSENT ((size_t)-1)

/* The value of key, or LH_STRMAP_ABSENT. */
size_t lh_strmap_get(const lh_strmap *m, const char *key, size_t len);
/* Inserts or updates. */
void lh_strmap_put(lh_strmap *m, const char *key, size_t len, size_t value);
void lh_strmap_free(lh_strmap *m);

#endif
