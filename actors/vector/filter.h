/*
 * filter.h — metadata equality filters for vector.search.
 *
 * A filter is a map of key -> scalar (string, number or boolean); an item
 * passes when its metadata map holds every key with an equal value.
 * Compiled once per search; matched against each candidate's raw msgpack
 * metadata in place (mpscan.h) from inside the index's keep callback.
 */
#ifndef LH_VECTOR_FILTER_H
#define LH_VECTOR_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "bus/mpscan.h"
#include "bus/buf.h"
#include "bus/err.h"

typedef struct lh_vec_term {
    const char *key;
    size_t key_len;
    lh_mp_value value;
} lh_vec_term;

typedef struct lh_vec_filter {
    lh_vec_term *terms; /* in the arena; point into the filter's bytes */
    size_t n;
} lh_vec_filter;

/* Compiles the msgpack filter (data, len) into *out, allocating in `arena`.
 * The bytes must outlive the filter. A filter that is not a map of
 * string keys to scalars is a 400 naming `field`. */
lh_err *lh_vec_filter_compile(const char *data, size_t len, const char *field, lh_arena *arena,
                              lh_vec_filter *out);

/* True when the metadata (msgpack map bytes; len 0 = none) holds every term. */
bool lh_vec_filter_match(const lh_vec_filter *f, const char *meta, size_t len);

/* True when data holds one msgpack map: what item metadata must be. */
bool lh_vec_is_map(const char *data, size_t len);

#endif
