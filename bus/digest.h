/*
 * digest.h — SHA-256 as 64 lowercase hex digits (OpenSSL's EVP, which
 * uses the CPU's SHA extensions where it has them): of one buffer, for
 * names that must say which bytes they stand for (a statement's hash in
 * the log, a text's key in a cache), or running over bytes as they pass
 * (every storaged write; queryd's copies of Parquet objects).
 */
#ifndef LH_DIGEST_H
#define LH_DIGEST_H

#include <stddef.h>

#define LH_SHA256_HEX 64

void lh_sha256_hex(const void *data, size_t len, char out[LH_SHA256_HEX + 1]);

typedef struct lh_sha256 lh_sha256;

lh_sha256 *lh_sha256_create(void); /* NULL when out of memory */
void lh_sha256_destroy(lh_sha256 *h);
void lh_sha256_reset(lh_sha256 *h);
void lh_sha256_update(lh_sha256 *h, const void *data, size_t len);
/* The hex digest of what was hashed so far; the hash can go on after. */
void lh_sha256_running_hex(const lh_sha256 *h, char out[LH_SHA256_HEX + 1]);

#endif
