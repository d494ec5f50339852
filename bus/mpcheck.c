/*
 * mpcheck.c — the allocation-free msgpack walk. Every value still to be
 * read costs at least one byte, so "values pending > bytes left" proves a
 * message lies about its sizes.
 */
#include "bus/mpcheck.h"

#include <stdint.h>

static uint64_t lh_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Header and payload sizes of the value starting with type byte `t`, and
 * how many nested values it adds. Returns 0 for a byte that is no type. */
static int lh_mp_shape(unsigned char t, const unsigned char *p, size_t avail, uint64_t *skip,
                       uint64_t *children)
{
    *skip = 0;
    *children = 0;
    if (t <= 0x7f || t >= 0xe0 || (t >= 0xc2 && t <= 0xc3) || t == 0xc0)
        return 1;
    if ((t & 0xe0) == 0xa0) { *skip = t & 0x1f; return 1; }         /* fixstr */
    if ((t & 0xf0) == 0x90) { *children = t & 0x0f; return 1; }     /* fixarray */
    if ((t & 0xf0) == 0x80) { *children = 2u * (t & 0x0f); return 1; } /* fixmap */
    static const struct { unsigned char t; int len_bytes; int fixed; int kind; } tab[] = {
        {0xc4, 1, 0, 0}, {0xc5, 2, 0, 0}, {0xc6, 4, 0, 0},  /* bin */
        {0xc7, 1, 1, 0}, {0xc8, 2, 1, 0}, {0xc9, 4, 1, 0},  /* ext: +1 type byte */
        {0xca, 0, 4, 0}, {0xcb, 0, 8, 0},                   /* float */
        {0xcc, 0, 1, 0}, {0xcd, 0, 2, 0}, {0xce, 0, 4, 0}, {0xcf, 0, 8, 0},
        {0xd0, 0, 1, 0}, {0xd1, 0, 2, 0}, {0xd2, 0, 4, 0}, {0xd3, 0, 8, 0},
        {0xd4, 0, 2, 0}, {0xd5, 0, 3, 0}, {0xd6, 0, 5, 0}, {0xd7, 0, 9, 0}, {0xd8, 0, 17, 0},
        {0xd9, 1, 0, 0}, {0xda, 2, 0, 0}, {0xdb, 4, 0, 0},  /* str */
        {0xdc, 2, 0, 1}, {0xdd, 4, 0, 1},                   /* array */
        {0xde, 2, 0, 2}, {0xdf, 4, 0, 2},                   /* map */
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        if (tab[i].t != t)
            continue;
        if (avail < (size_t)tab[i].len_bytes)
            return -1;
        uint64_t n = lh_be(p, tab[i].len_bytes);
        if (tab[i].kind == 1)
            *children = n;
        else if (tab[i].kind == 2)
            *children = 2 * n;
        else
            *skip = tab[i].len_bytes ? n + (uint64_t)tab[i].fixed : (uint64_t)tab[i].fixed;
        return 1 + tab[i].len_bytes;
    }
    return 0; /* 0xc1 is never used */
}

lh_err *lh_mp_check(const char *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t pos = 0;
    uint64_t pending = 1;
    if (len == 0)
        return lh_err_new(LH_EBADREQ, NULL, "malformed msgpack: empty message");
    while (pending > 0) {
        if (pos >= len)
            return lh_err_new(LH_EBADREQ, NULL, "malformed msgpack: truncated message");
        unsigned char t = p[pos++];
        pending--;
        uint64_t skip, children;
        int hdr = lh_mp_shape(t, p + pos, len - pos, &skip, &children);
        if (hdr < 0)
            return lh_err_new(LH_EBADREQ, NULL, "malformed msgpack: truncated message");
        if (hdr == 0)
            return lh_err_new(LH_EBADREQ, NULL, "malformed msgpack: invalid type byte 0x%02x",
                              t);
        pos += (size_t)hdr - 1;
        if (skip > len - pos)
            return lh_err_new(LH_EBADREQ, NULL, "malformed msgpack: truncated message");
        pos += skip;
        pending += children;
        if (pending > len - pos)
            return lh_err_new(LH_EBADREQ, NULL,
                              "malformed msgpack: truncated message (declares %llu more "
                              "items than its %zu remaining bytes can hold)",
                              (unsigned long long)pending, len - pos);
    }
    if (pos != len)
        return lh_err_new(LH_EBADREQ, NULL, "malformed msgpack: trailing bytes after the value (%zu)",
                          len - pos);
    return NULL;
}
