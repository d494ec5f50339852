/*
 * mpscan.h — reading msgpack bytes in place, without allocating.
 *
 * Search filters compare metadata on every candidate a search visits, so
 * unpacking each item's metadata into a msgpack zone would cost more than
 * the distance computation. This cursor reads scalars where they lie and
 * skips containers by counting, never recursing.
 */
#ifndef LH_VECTOR_MPSCAN_H
#define LH_VECTOR_MPSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    LH_MP_NIL,
    LH_MP_BOOL,
    LH_MP_INT,   /* fits int64 */
    LH_MP_UINT,  /* above INT64_MAX */
    LH_MP_FLOAT,
    LH_MP_STR,
    LH_MP_ARRAY, /* n = element count */
    LH_MP_MAP,   /* n = pair count */
    LH_MP_OTHER, /* bin, ext */
} lh_mp_type;

typedef struct lh_mp_value {
    lh_mp_type type;
    bool b;
    int64_t i;
    uint64_t u;
    double f;
    const char *s; /* STR: the bytes */
    size_t n;      /* STR: length; ARRAY/MAP: count */
} lh_mp_value;

/* Reads the value header at *p (< end) and advances *p past it: past the
 * whole value for scalars, strings, bin and ext; only past the header for
 * arrays and maps (their elements follow). False when truncated. */
bool lh_mp_read(const char **p, const char *end, lh_mp_value *v);

/* Advances *p past one whole value, containers included. False when
 * truncated. */
bool lh_mp_skip(const char **p, const char *end);

/* Scalar equality: strings by bytes, booleans, numbers by value (an
 * integer equals a float of the same value). Containers never equal. */
bool lh_mp_scalar_equal(const lh_mp_value *a, const lh_mp_value *b);

#endif
