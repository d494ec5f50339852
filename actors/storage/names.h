/*
 * names.h — what a bucket name and an object key may be.
 *
 * Buckets follow S3's rules. Keys become paths in the local backend, so
 * on top of S3's "1..1024 bytes of UTF-8" a key must not be able to name
 * anything outside its bucket or alias another key: no NUL or control
 * characters, no leading '/', no empty, '.' or '..' segment, no
 * backslash, no segment longer than a file name may be. Each refusal is a
 * 400 naming the rule broken.
 */
#ifndef LH_STORAGE_NAMES_H
#define LH_STORAGE_NAMES_H

#include "bus/err.h"
#include "bus/schema.h"

#define LH_ST_BUCKET_MAX 63
#define LH_ST_SEGMENT_MAX 255

/* NULL when `bucket` is a valid bucket name; else a 400 on field "bucket". */
lh_err *lh_st_check_bucket(const lh_str *bucket);
/* NULL when `key` is a valid key; else a 400 (413 when too long) on `field`. */
lh_err *lh_st_check_key(const lh_str *key, const char *field);
/* NULL when `ct` may be sent back as an HTTP header value (visible ASCII
 * and spaces); else a 400 on field "content_type". */
lh_err *lh_st_check_content_type(const lh_str *ct);
/* NULL when `raw` (msgpack) is a map of strings to strings; else a 400 on
 * field "metadata". Empty (absent) is fine. */
lh_err *lh_st_check_metadata(const lh_raw *raw);

/* `s` as messages show it, in out[0..cap): error messages travel in a
 * NATS header and an HTTP body, so anything but printable ASCII becomes
 * '?', and a long name is cut with "...". Returns out. */
const char *lh_st_shown(const lh_str *s, char *out, size_t cap);

#endif
