/*
 * mpscan.h — THE msgpack scanner: reading msgpack bytes in place, without
 * allocating, and checking untrusted bytes before anything unpacks them.
 *
 * One header decoder (a switch over the type byte) serves three uses:
 *
 *   lh_mp_check  bounds-checks a whole message before libmsgpackc unpacks
 *                it. libmsgpackc allocates for a container's declared
 *                element count before reading any element, so five hostile
 *                bytes (`dd ff ff ff ff`, an array of 2^32 items) ask it for
 *                tens of gigabytes; every value still to be read costs at
 *                least one byte, so "values pending > bytes left" proves a
 *                message lies about its sizes.
 *   lh_mp_read   a cursor: reads one value's header and scalar where it
 *                lies (vector search filters compare metadata this way on
 *                every candidate, cheaper than unpacking into a zone).
 *   lh_mp_skip   passes one whole value, containers included, by counting.
 *
 * Values whose shape is known only at run time (a query's rows, metadata
 * maps, ANY fields) are read with this cursor and written with value.h.
 */
#ifndef LH_MPSCAN_H
#define LH_MPSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/err.h"

typedef enum {
    LH_MP_NIL,
    LH_MP_BOOL,
    LH_MP_INT,   /* fits int64 */
    LH_MP_UINT,  /* above INT64_MAX */
    LH_MP_FLOAT,
    LH_MP_STR,
    LH_MP_ARRAY, /* n = element count */
    LH_MP_MAP,   /* n = pair count */
    LH_MP_BIN,   /* s, n: the bytes */
    LH_MP_EXT,   /* s, n: the body (the ext type byte is skipped) */
} lh_mp_type;

typedef struct lh_mp_value {
    lh_mp_type type;
    bool b;
    int64_t i;
    uint64_t u;
    double f;
    const char *s; /* STR, BIN, EXT: the bytes */
    size_t n;      /* STR, BIN, EXT: length; ARRAY/MAP: count */
} lh_mp_value;

/* Checks that data[0..len) holds exactly one well-formed msgpack value
 * whose declared sizes fit. Errors are 400 "malformed msgpack: ...". */
lh_err *lh_mp_check(const char *data, size_t len);

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
