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
 * how many nested values it adds. Returns the header length (type byte
 * included), -1 when the header itself is cut short, 0 for a byte that is
 * no type. A switch, not a table scan: this runs once per value, and a
 * vector reply is hundreds of values. */
static int lh_mp_shape(unsigned char t, const unsigned char *p, size_t avail, uint64_t *skip,
                       uint64_t *children)
{
    *skip = 0;
    *children = 0;
    if (t <= 0x7f || t >= 0xe0)
        return 1;                                                     /* fixint */
    if ((t & 0xe0) == 0xa0) { *skip = t & 0x1f; return 1; }           /* fixstr */
    if ((t & 0xf0) == 0x90) { *children = t & 0x0f; return 1; }       /* fixarray */
    if ((t & 0xf0) == 0x80) { *children = 2u * (t & 0x0f); return 1; } /* fixmap */
    int len_bytes = 0;
    uint64_t fixed = 0;
    int kind = 0; /* 0 payload, 1 array, 2 map */
    switch (t) {
    case 0xc0: case 0xc2: case 0xc3: return 1;                        /* nil, bool */
    case 0xc4: case 0xd9: len_bytes = 1; break;                       /* bin8, str8 */
    case 0xc5: case 0xda: len_bytes = 2; break;
    case 0xc6: case 0xdb: len_bytes = 4; break;
    case 0xc7: len_bytes = 1; fixed = 1; break;                       /* ext: + type */
    case 0xc8: len_bytes = 2; fixed = 1; break;
    case 0xc9: len_bytes = 4; fixed = 1; break;
    case 0xcc: case 0xd0: fixed = 1; break;
    case 0xcd: case 0xd1: case 0xd4: fixed = 2; break;
    case 0xd5: fixed = 3; break;
    case 0xca: case 0xce: case 0xd2: fixed = 4; break;
    case 0xd6: fixed = 5; break;
    case 0xcb: case 0xcf: case 0xd3: fixed = 8; break;
    case 0xd7: fixed = 9; break;
    case 0xd8: fixed = 17; break;
    case 0xdc: len_bytes = 2; kind = 1; break;
    case 0xdd: len_bytes = 4; kind = 1; break;
    case 0xde: len_bytes = 2; kind = 2; break;
    case 0xdf: len_bytes = 4; kind = 2; break;
    default: return 0;                                                /* 0xc1 */
    }
    if (avail < (size_t)len_bytes)
        return -1;
    uint64_t n = lh_be(p, len_bytes);
    if (kind == 1)
        *children = n;
    else if (kind == 2)
        *children = 2 * n;
    else
        *skip = (len_bytes ? n : 0) + fixed;
    return 1 + len_bytes;
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
