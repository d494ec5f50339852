/*
 * mpcheck.h — a bounds check for untrusted msgpack, run before unpacking.
 *
 * libmsgpackc allocates for a container's declared element count before
 * reading any element, so five hostile bytes (`dd ff ff ff ff`, an array
 * of 2^32 items) ask it for tens of gigabytes. lh_mp_check walks the bytes
 * without allocating and refuses any message whose declared items cannot
 * fit in the bytes that follow, which bounds what unpacking may allocate
 * by the message size.
 */
#ifndef LH_MPCHECK_H
#define LH_MPCHECK_H

#include <stddef.h>

#include "bus/err.h"

/* Checks that data[0..len) holds exactly one well-formed msgpack value
 * whose declared sizes fit. Errors are 400 "malformed msgpack: ...". */
lh_err *lh_mp_check(const char *data, size_t len);

#endif
