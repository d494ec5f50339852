/*
 * record.h — one item as vectord stores it: the source of truth in
 * LevelDB, and what a collection is built from.
 *
 * `seq` is the index's write sequence number at the item's last upsert.
 * It tells a snapshot's label apart from a later write of the same id, so
 * a restore can trust a snapshot vector only when (id, seq) still match.
 */
#ifndef LH_VECTOR_RECORD_H
#define LH_VECTOR_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/buf.h"
#include "bus/err.h"

typedef struct lh_vec_record {
    const char *id;
    size_t id_len;
    uint64_t seq;
    const float *vector; /* as indexed: unit length for cosine */
    size_t dimension;
    const char *metadata; /* msgpack map bytes; len 0 = none */
    size_t metadata_len;
    const char *text;
    size_t text_len;
    bool has_text;
} lh_vec_record;

/* Appends the stored form of r (everything but the id, which is the key). */
void lh_vec_record_encode(const lh_vec_record *r, lh_buf *out);
/* Reads a stored value of an index of `dimension`: the vector is copied
 * to vec_out (dimension floats), metadata and text point into `data`, and
 * the id is left alone. A damaged value or another dimension is a 500. */
lh_err *lh_vec_record_decode(const char *data, size_t len, size_t dimension, float *vec_out,
                             lh_vec_record *r);

#endif
