/*
 * digest.h — SHA-256 of a buffer as 64 lowercase hex digits (OpenSSL's
 * EVP), for names that must say which bytes they stand for: a statement's
 * hash in the log, a text's key in a cache.
 */
#ifndef LH_DIGEST_H
#define LH_DIGEST_H

#include <stddef.h>

void lh_sha256_hex(const void *data, size_t len, char out[65]);

#endif
