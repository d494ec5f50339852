/*
 * sha.h — the hex SHA-256 objects carry: the running hash every write
 * computes is bus/digest.h's; a digest given by a client is checked here.
 */
#ifndef LH_STORAGE_SHA_H
#define LH_STORAGE_SHA_H

#include <stdbool.h>
#include <stddef.h>

#include "bus/digest.h"
#include "bus/err.h"
#include "bus/schema.h"

#define LH_ST_SHA_HEX LH_SHA256_HEX

/* A client-given digest: 64 hex digits of either case, lowercased into
 * `out`; else a 400 on `field`. */
lh_err *lh_st_sha_parse(const lh_str *hex, const char *field, char out[LH_ST_SHA_HEX + 1]);

#endif
