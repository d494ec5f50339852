/*
 * mpscan.c — the one msgpack scanner (see mpscan.h). One function decodes a
 * type byte and its length bytes into a header; the check, the cursor and
 * the skip all walk with it. Numbers on the wire are big-endian; every
 * read is bounds-checked.
 */
#include "bus/mpscan.h"

#include <string.h>

/* A value's header: its type, the bytes of the header (type byte, length
 * bytes and an ext's type byte), the bytes of its body after the header,
 * and the elements a container declares (pairs for a map). */
typedef struct lh_mp_head {
    lh_mp_type type;
    unsigned char tag; /* the type byte */
    size_t hdr;
    uint64_t body;
    uint64_t count;
} lh_mp_head;

static uint64_t lh_be(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* The fixed-width forms: 0xca..0xd8 (numbers and fixext). */
static inline bool lh_mp_fixed(unsigned char t, lh_mp_head *h)
{
    static const unsigned char width[] = {4, 8, 1, 2, 4, 8, 1, 2, 4, 8, 1, 2, 4, 8, 16};
    if (t < 0xca || t > 0xd8)
        return false;
    h->body = width[t - 0xca];
    h->type = t <= 0xcb ? LH_MP_FLOAT : t <= 0xcf ? LH_MP_UINT : t <= 0xd3 ? LH_MP_INT : LH_MP_EXT;
    h->hdr = h->type == LH_MP_EXT ? 2 : 1; /* a fixext's type byte */
    return true;
}

/* The sized forms: str, bin, ext, array and map with 1, 2 or 4 length bytes. */
static int lh_mp_sized(unsigned char t, lh_mp_head *h, size_t *len_bytes)
{
    switch (t) {
    case 0xc4: case 0xc5: case 0xc6: h->type = LH_MP_BIN; *len_bytes = 1u << (t - 0xc4); return 1;
    case 0xc7: case 0xc8: case 0xc9: h->type = LH_MP_EXT; *len_bytes = 1u << (t - 0xc7); return 1;
    case 0xd9: case 0xda: case 0xdb: h->type = LH_MP_STR; *len_bytes = 1u << (t - 0xd9); return 1;
    case 0xdc: case 0xdd: h->type = LH_MP_ARRAY; *len_bytes = t == 0xdc ? 2 : 4; return 1;
    case 0xde: case 0xdf: h->type = LH_MP_MAP; *len_bytes = t == 0xde ? 2 : 4; return 1;
    default: return 0;
    }
}

/* Decodes the header at p[0..avail), avail >= 1. Returns 1, 0 for a byte
 * that is no type (0xc1), or -1 when the header itself is cut short. A
 * branch per range, not a table scan, and no memory cleared: this runs
 * once per value, and a vector reply is hundreds of values. */
static inline int lh_mp_head_at(const unsigned char *p, size_t avail, lh_mp_head *h)
{
    unsigned char t = p[0];
    h->tag = t;
    h->hdr = 1;
    h->body = 0;
    h->count = 0;
    if (t <= 0x7f || t >= 0xe0) { h->type = LH_MP_INT; return 1; }              /* fixint */
    if (lh_mp_fixed(t, h))                                                      /* numbers */
        return 1;
    if (t <= 0x8f) { h->type = LH_MP_MAP; h->count = t & 0x0f; return 1; }      /* fixmap */
    if (t <= 0x9f) { h->type = LH_MP_ARRAY; h->count = t & 0x0f; return 1; }    /* fixarray */
    if (t <= 0xbf) { h->type = LH_MP_STR; h->body = t & 0x1f; return 1; }       /* fixstr */
    if (t == 0xc0) { h->type = LH_MP_NIL; return 1; }
    if (t == 0xc2 || t == 0xc3) { h->type = LH_MP_BOOL; return 1; }
    size_t len_bytes;
    if (!lh_mp_sized(t, h, &len_bytes))
        return 0;
    if (avail < 1 + len_bytes)
        return -1;
    uint64_t n = lh_be(p + 1, len_bytes);
    h->hdr = 1 + len_bytes + (h->type == LH_MP_EXT);
    if (h->type == LH_MP_ARRAY || h->type == LH_MP_MAP)
        h->count = n;
    else
        h->body = n;
    return 1;
}

static uint64_t lh_mp_children(const lh_mp_head *h)
{
    return h->type == LH_MP_ARRAY ? h->count : h->type == LH_MP_MAP ? 2 * h->count : 0;
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
        lh_mp_head h;
        int r = lh_mp_head_at(p + pos, len - pos, &h);
        if (r == 0)
            return lh_err_new(LH_EBADREQ, NULL, "malformed msgpack: invalid type byte 0x%02x",
                              h.tag);
        if (r < 0 || h.hdr > len - pos || h.body > len - pos - h.hdr)
            return lh_err_new(LH_EBADREQ, NULL, "malformed msgpack: truncated message");
        pos += h.hdr + (size_t)h.body;
        pending = pending - 1 + lh_mp_children(&h);
        if (pending > len - pos)
            return lh_err_new(LH_EBADREQ, NULL,
                              "malformed msgpack: truncated message (declares %llu more "
                              "items than its %zu remaining bytes can hold)",
                              (unsigned long long)pending, len - pos);
    }
    if (pos != len)
        return lh_err_new(LH_EBADREQ, NULL,
                          "malformed msgpack: trailing bytes after the value (%zu)", len - pos);
    return NULL;
}

/* A number's value from its body bytes. */
static void lh_mp_number(const lh_mp_head *h, const unsigned char *body, lh_mp_value *v)
{
    unsigned char t = h->tag;
    if (t <= 0x7f || t >= 0xe0) {
        v->type = LH_MP_INT;
        v->i = (int64_t)(int8_t)t; /* positive fixints are below 0x80 */
        return;
    }
    uint64_t u = lh_be(body, (size_t)h->body);
    if (h->type == LH_MP_FLOAT) {
        if (h->body == 4) {
            uint32_t b32 = (uint32_t)u;
            float f;
            memcpy(&f, &b32, sizeof f);
            v->f = f;
        } else {
            memcpy(&v->f, &u, sizeof v->f);
        }
    } else if (h->type == LH_MP_UINT) {
        if (u > INT64_MAX)
            v->u = u;
        else
            v->type = LH_MP_INT, v->i = (int64_t)u;
    } else {
        int shift = (int)(64 - 8 * h->body);
        v->i = shift ? (int64_t)(u << shift) >> shift : (int64_t)u; /* sign-extend */
    }
}

bool lh_mp_read(const char **p, const char *end, lh_mp_value *v)
{
    if (*p >= end)
        return false;
    const unsigned char *at = (const unsigned char *)*p;
    size_t avail = (size_t)(end - *p);
    lh_mp_head h;
    if (lh_mp_head_at(at, avail, &h) <= 0 || h.hdr > avail || h.body > avail - h.hdr)
        return false;
    memset(v, 0, sizeof *v);
    v->type = h.type;
    const unsigned char *body = at + h.hdr;
    switch (h.type) {
    case LH_MP_BOOL: v->b = h.tag == 0xc3; break;
    case LH_MP_INT:
    case LH_MP_UINT:
    case LH_MP_FLOAT: lh_mp_number(&h, body, v); break;
    case LH_MP_STR:
    case LH_MP_BIN:
    case LH_MP_EXT: v->s = (const char *)body; v->n = (size_t)h.body; break;
    case LH_MP_ARRAY:
    case LH_MP_MAP: v->n = (size_t)h.count; break;
    case LH_MP_NIL: break;
    }
    *p += h.hdr + (size_t)h.body;
    return true;
}

bool lh_mp_skip(const char **p, const char *end)
{
    uint64_t pending = 1;
    while (pending > 0) {
        lh_mp_value v;
        if (!lh_mp_read(p, end, &v))
            return false;
        pending--;
        if (v.type == LH_MP_ARRAY)
            pending += v.n;
        else if (v.type == LH_MP_MAP)
            pending += 2 * (uint64_t)v.n;
        if (pending > (uint64_t)(end - *p))
            return false; /* each element takes at least one byte */
    }
    return true;
}

static bool lh_mp_is_number(const lh_mp_value *v)
{
    return v->type == LH_MP_INT || v->type == LH_MP_UINT || v->type == LH_MP_FLOAT;
}

static double lh_mp_as_double(const lh_mp_value *v)
{
    return v->type == LH_MP_INT ? (double)v->i : v->type == LH_MP_UINT ? (double)v->u : v->f;
}

bool lh_mp_scalar_equal(const lh_mp_value *a, const lh_mp_value *b)
{
    if (lh_mp_is_number(a) && lh_mp_is_number(b)) {
        if (a->type == LH_MP_FLOAT || b->type == LH_MP_FLOAT)
            return lh_mp_as_double(a) == lh_mp_as_double(b);
        if (a->type != b->type)
            return false; /* one is above INT64_MAX, the other is not */
        return a->type == LH_MP_INT ? a->i == b->i : a->u == b->u;
    }
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case LH_MP_NIL: return true;
    case LH_MP_BOOL: return a->b == b->b;
    case LH_MP_STR: return a->n == b->n && !memcmp(a->s, b->s, a->n);
    default: return false;
    }
}
