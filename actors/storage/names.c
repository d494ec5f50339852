/*
 * names.c — bucket, key, content type and metadata rules (names.h).
 */
#include "actors/storage/names.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bus/mpscan.h"

#include "schemas/storage.h"

/* ---- buckets ---- */

static bool lh_st_is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

static bool lh_st_has_prefix(const lh_str *s, const char *p)
{
    size_t n = strlen(p);
    return s->len >= n && !memcmp(s->s, p, n);
}

static bool lh_st_has_suffix(const lh_str *s, const char *p)
{
    size_t n = strlen(p);
    return s->len >= n && !memcmp(s->s + s->len - n, p, n);
}

/* Four dot-separated decimal numbers: what S3 refuses as "like an IP address". */
static bool lh_st_looks_like_ipv4(const lh_str *s)
{
    int dots = 0, digits = 0;
    for (size_t i = 0; i < s->len; i++) {
        char c = s->s[i];
        if (c == '.') {
            if (digits == 0)
                return false;
            dots++, digits = 0;
        } else if (c >= '0' && c <= '9') {
            if (++digits > 3)
                return false;
        } else {
            return false;
        }
    }
    return dots == 3 && digits > 0;
}

const char *lh_st_shown(const lh_str *s, char *out, size_t cap)
{
    size_t n = s->len < cap - 4 ? s->len : cap - 4;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s->s[i];
        out[i] = c >= 0x20 && c < 0x7F ? (char)c : '?';
    }
    strcpy(out + n, n < s->len ? "..." : "");
    return out;
}

static lh_err *lh_st_bucket_err(const lh_str *b, const char *rule)
{
    char shown[80];
    return lh_err_new(LH_EBADREQ, "bucket", "bucket name '%s' is not valid: %s",
                      lh_st_shown(b, shown, sizeof shown), rule);
}

/* Names S3 reserves for its own features. */
static lh_err *lh_st_check_reserved(const lh_str *b)
{
    static const char *const prefixes[] = {"xn--", "sthree-", "amzn-s3-demo-"};
    static const char *const suffixes[] = {"-s3alias", "--ol-s3", ".mrap", "--x-s3"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (lh_st_has_prefix(b, prefixes[i]))
            return lh_st_bucket_err(b, "it must not start with a prefix S3 reserves (xn--, "
                                       "sthree-, amzn-s3-demo-)");
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
        if (lh_st_has_suffix(b, suffixes[i]))
            return lh_st_bucket_err(b, "it must not end with a suffix S3 reserves (-s3alias, "
                                       "--ol-s3, .mrap, --x-s3)");
    return NULL;
}

lh_err *lh_st_check_bucket(const lh_str *b)
{
    if (b->len < 3 || b->len > LH_ST_BUCKET_MAX)
        return lh_st_bucket_err(b, "it must be 3 to 63 characters long");
    for (size_t i = 0; i < b->len; i++)
        if (!lh_st_is_lower_alnum(b->s[i]) && b->s[i] != '.' && b->s[i] != '-')
            return lh_st_bucket_err(b, "only lowercase letters, digits, '.' and '-' are allowed");
    if (memmem(b->s, b->len, "..", 2))
        return lh_st_bucket_err(b, "it must not hold two adjacent periods");
    if (!lh_st_is_lower_alnum(b->s[0]) || !lh_st_is_lower_alnum(b->s[b->len - 1]))
        return lh_st_bucket_err(b, "it must start and end with a letter or digit");
    if (lh_st_looks_like_ipv4(b))
        return lh_st_bucket_err(b, "it must not look like an IP address");
    return lh_st_check_reserved(b);
}

/* ---- keys ---- */

/* Length of the valid UTF-8 sequence at s[0..n) (shortest form, no
 * surrogates, at most U+10FFFF) and its code point, or 0 when invalid. */
static size_t lh_st_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
    if (len == 0 || len > n || s[0] > 0xF4)
        return 0;
    uint32_t v = s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

static bool lh_st_is_control(uint32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

static lh_err *lh_st_key_err(const char *field, const lh_str *k, const char *rule)
{
    char shown[128];
    return lh_err_new(LH_EBADREQ, field, "%s '%s' is not valid: %s", field,
                      lh_st_shown(k, shown, sizeof shown), rule);
}

/* Characters: valid UTF-8, no control characters, no backslash. */
static lh_err *lh_st_check_key_chars(const lh_str *k, const char *field)
{
    const unsigned char *s = (const unsigned char *)k->s;
    for (size_t i = 0; i < k->len;) {
        uint32_t cp = 0;
        size_t n = lh_st_utf8_next(s + i, k->len - i, &cp);
        if (n == 0)
            return lh_err_new(LH_EBADREQ, field, "%s is not valid UTF-8 (byte %zu)", field, i);
        if (cp == 0)
            return lh_err_new(LH_EBADREQ, field, "%s must not contain NUL (byte %zu)", field, i);
        if (lh_st_is_control(cp))
            return lh_err_new(LH_EBADREQ, field,
                              "%s must not contain control characters (U+%04X at byte %zu)",
                              field, (unsigned)cp, i);
        if (cp == '\\')
            return lh_st_key_err(field, k, "it must not contain a backslash");
        i += n;
    }
    return NULL;
}

/* Segments between '/': none empty, '.' or '..', none longer than a file name. */
static lh_err *lh_st_check_key_segments(const lh_str *k, const char *field)
{
    if (k->s[0] == '/')
        return lh_st_key_err(field, k, "it must not start with '/'");
    for (size_t at = 0; at <= k->len;) {
        const char *seg = k->s + at;
        const char *slash = memchr(seg, '/', k->len - at);
        size_t n = slash ? (size_t)(slash - seg) : k->len - at;
        if (n == 0)
            return lh_st_key_err(field, k, "it must not hold an empty segment ('//' or a trailing '/')");
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return lh_st_key_err(field, k, "it must not hold a '.' or '..' segment");
        if (n > LH_ST_SEGMENT_MAX)
            return lh_st_key_err(field, k, "each '/'-separated segment is at most 255 bytes");
        at += n + 1;
    }
    return NULL;
}

lh_err *lh_st_check_key(const lh_str *k, const char *field)
{
    if (!k->s || k->len == 0)
        return lh_err_new(LH_EBADREQ, field, "%s must not be empty", field);
    if (k->len > LH_STORAGE_MAX_KEY)
        return lh_err_new(LH_ETOOLARGE, field, "%s is %zu bytes; the limit is %d", field, k->len,
                          LH_STORAGE_MAX_KEY);
    lh_err *err = lh_st_check_key_chars(k, field);
    return err ? err : lh_st_check_key_segments(k, field);
}

/* ---- content type and metadata ---- */

lh_err *lh_st_check_content_type(const lh_str *ct)
{
    for (size_t i = 0; ct->s && i < ct->len; i++) {
        unsigned char c = (unsigned char)ct->s[i];
        if (c < 0x20 || c > 0x7E)
            return lh_err_new(LH_EBADREQ, "content_type",
                              "content_type must be printable ASCII (byte 0x%02X at %zu)", c, i);
    }
    return NULL;
}

/* A map whose keys and values are all strings (read in place). */
static bool lh_st_string_map(const char *p, const char *end)
{
    lh_mp_value v;
    if (!lh_mp_read(&p, end, &v))
        return false;
    if (v.type == LH_MP_NIL)
        return true;
    if (v.type != LH_MP_MAP)
        return false;
    for (size_t i = 0; i < 2 * v.n; i++) {
        lh_mp_value s;
        if (!lh_mp_read(&p, end, &s) || s.type != LH_MP_STR)
            return false;
    }
    return true;
}

lh_err *lh_st_check_metadata(const lh_raw *raw)
{
    if (raw->len == 0 || lh_st_string_map(raw->data, raw->data + raw->len))
        return NULL;
    return lh_err_new(LH_EBADREQ, "metadata",
                      "metadata must be an object of string values, e.g. {\"owner\":\"ana\"}");
}
