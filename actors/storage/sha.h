/*
 * sha.h — the running SHA-256 every write computes (OpenSSL's libcrypto,
 * which uses the CPU's SHA extensions where it has them), and the hex
 * form objects carry.
 */
#ifndef LH_STORAGE_SHA_H
#define LH_STORAGE_SHA_H

#include <stdbool.h>
#include <stddef.h>

#include "bus/err.h"
#include "bus/schema.h"

#define LH_ST_SHA_HEX 64

typedef struct lh_st_sha lh_st_sha;

lh_st_sha *lh_st_sha_create(void); /* NULL when out of memory */
void lh_st_sha_destroy(lh_st_sha *h);
void lh_st_sha_reset(lh_st_sha *h);
void lh_st_sha_update(lh_st_sha *h, const void *data, size_t len);
/* The hex digest of what was hashed so far; the hash can go on after. */
void lh_st_sha_hex(const lh_st_sha *h, char out[LH_ST_SHA_HEX + 1]);

/* A client-given digest: 64 hex digits of either case, lowercased into
 * `out`; else a 400 on `field`. */
lh_err *lh_st_sha_parse(const lh_str *hex, const char *field, char out[LH_ST_SHA_HEX + 1]);

#endif
