/*
 * mpscan.c — an allocation-free msgpack cursor (see mpscan.h). Numbers on
 * the wire are big-endian; every read is bounds-checked against `end`.
 */
#include "actors/vector/mpscan.h"

#include <string.h>

static uint64_t lh_be(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Reads an n-byte big-endian length or number after the type byte. */
static bool lh_take(const char **p, const char *end, size_t n, uint64_t *out)
{
    if ((size_t)(end - *p) < n)
        return false;
    *out = lh_be((const unsigned char *)*p, n);
    *p += n;
    return true;
}

static bool lh_take_bytes(const char **p, const char *end, uint64_t n, lh_mp_value *v)
{
    if ((uint64_t)(end - *p) < n)
        return false;
    v->s = *p;
    v->n = (size_t)n;
    *p += n;
    return true;
}

static bool lh_read_float(const char **p, const char *end, size_t width, lh_mp_value *v)
{
    uint64_t bits;
    if (!lh_take(p, end, width, &bits))
        return false;
    v->type = LH_MP_FLOAT;
    if (width == 4) {
        uint32_t b32 = (uint32_t)bits;
        float f;
        memcpy(&f, &b32, sizeof f);
        v->f = f;
    } else {
        memcpy(&v->f, &bits, sizeof v->f);
    }
    return true;
}

static bool lh_read_uint(const char **p, const char *end, size_t width, lh_mp_value *v)
{
    uint64_t u;
    if (!lh_take(p, end, width, &u))
        return false;
    if (u > INT64_MAX) {
        v->type = LH_MP_UINT;
        v->u = u;
    } else {
        v->type = LH_MP_INT;
        v->i = (int64_t)u;
    }
    return true;
}

static bool lh_read_int(const char **p, const char *end, size_t width, lh_mp_value *v)
{
    uint64_t u;
    if (!lh_take(p, end, width, &u))
        return false;
    int shift = (int)(64 - 8 * width);
    v->type = LH_MP_INT;
    v->i = shift ? (int64_t)(u << shift) >> shift : (int64_t)u; /* sign-extend */
    return true;
}

/* str, bin and ext bodies: `width` length bytes, `extra` type bytes, then the body. */
static bool lh_read_sized(const char **p, const char *end, size_t width, size_t extra,
                          lh_mp_type type, lh_mp_value *v)
{
    uint64_t n;
    if (!lh_take(p, end, width, &n) || (size_t)(end - *p) < extra)
        return false;
    *p += extra;
    v->type = type;
    return lh_take_bytes(p, end, n, v);
}

static bool lh_read_count(const char **p, const char *end, size_t width, lh_mp_type type,
                          lh_mp_value *v)
{
    uint64_t n;
    if (!lh_take(p, end, width, &n))
        return false;
    v->type = type;
    v->n = (size_t)n;
    return true;
}

static bool lh_read_fixext(const char **p, const char *end, size_t body, lh_mp_value *v)
{
    if ((size_t)(end - *p) < body + 1)
        return false;
    v->type = LH_MP_OTHER;
    v->s = *p + 1;
    v->n = body;
    *p += body + 1;
    return true;
}

/* The type bytes 0xc0..0xdf. */
static bool lh_read_tagged(unsigned char t, const char **p, const char *end, lh_mp_value *v)
{
    switch (t) {
    case 0xc0: v->type = LH_MP_NIL; return true;
    case 0xc2: case 0xc3: v->type = LH_MP_BOOL; v->b = t == 0xc3; return true;
    case 0xc4: return lh_read_sized(p, end, 1, 0, LH_MP_OTHER, v);
    case 0xc5: return lh_read_sized(p, end, 2, 0, LH_MP_OTHER, v);
    case 0xc6: return lh_read_sized(p, end, 4, 0, LH_MP_OTHER, v);
    case 0xc7: return lh_read_sized(p, end, 1, 1, LH_MP_OTHER, v);
    case 0xc8: return lh_read_sized(p, end, 2, 1, LH_MP_OTHER, v);
    case 0xc9: return lh_read_sized(p, end, 4, 1, LH_MP_OTHER, v);
    case 0xca: return lh_read_float(p, end, 4, v);
    case 0xcb: return lh_read_float(p, end, 8, v);
    case 0xcc: return lh_read_uint(p, end, 1, v);
    case 0xcd: return lh_read_uint(p, end, 2, v);
    case 0xce: return lh_read_uint(p, end, 4, v);
    case 0xcf: return lh_read_uint(p, end, 8, v);
    case 0xd0: return lh_read_int(p, end, 1, v);
    case 0xd1: return lh_read_int(p, end, 2, v);
    case 0xd2: return lh_read_int(p, end, 4, v);
    case 0xd3: return lh_read_int(p, end, 8, v);
    case 0xd4: return lh_read_fixext(p, end, 1, v);
    case 0xd5: return lh_read_fixext(p, end, 2, v);
    case 0xd6: return lh_read_fixext(p, end, 4, v);
    case 0xd7: return lh_read_fixext(p, end, 8, v);
    case 0xd8: return lh_read_fixext(p, end, 16, v);
    case 0xd9: return lh_read_sized(p, end, 1, 0, LH_MP_STR, v);
    case 0xda: return lh_read_sized(p, end, 2, 0, LH_MP_STR, v);
    case 0xdb: return lh_read_sized(p, end, 4, 0, LH_MP_STR, v);
    case 0xdc: return lh_read_count(p, end, 2, LH_MP_ARRAY, v);
    case 0xdd: return lh_read_count(p, end, 4, LH_MP_ARRAY, v);
    case 0xde: return lh_read_count(p, end, 2, LH_MP_MAP, v);
    case 0xdf: return lh_read_count(p, end, 4, LH_MP_MAP, v);
    default: return false; /* 0xc1 is never used */
    }
}

bool lh_mp_read(const char **p, const char *end, lh_mp_value *v)
{
    if (*p >= end)
        return false;
    unsigned char t = (unsigned char)**p;
    (*p)++;
    memset(v, 0, sizeof *v);
    if (t <= 0x7f) {
        v->type = LH_MP_INT;
        v->i = t;
        return true;
    }
    if (t >= 0xe0) {
        v->type = LH_MP_INT;
        v->i = (int64_t)(int8_t)t;
        return true;
    }
    if (t <= 0x8f) {
        v->type = LH_MP_MAP;
        v->n = t & 0x0f;
        return true;
    }
    if (t <= 0x9f) {
        v->type = LH_MP_ARRAY;
        v->n = t & 0x0f;
        return true;
    }
    if (t <= 0xbf) {
        v->type = LH_MP_STR;
        return lh_take_bytes(p, end, t & 0x1f, v);
    }
    return lh_read_tagged(t, p, end, v);
}

bool lh_mp_skip(const char **p, const char *end)
{
    /* Values still to pass; a container adds its elements. Each element
     * takes at least one byte, so a count beyond the bytes left is a lie. */
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
            return false;
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
