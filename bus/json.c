/*
 * json.c — the JSON <-> msgpack bridge (the mapping is in json.h).
 *
 * JSON -> msgpack goes through jansson: requests are small, and jansson's
 * parser reports line and column for the error message. msgpack -> JSON is
 * written by hand straight into the output buffer because it runs on every
 * JSON reply, and replies carry embedding vectors: floats are formatted with
 * exact 128-bit integer arithmetic rather than printf + strtod, falling back
 * to printf only for magnitudes that arithmetic cannot hold.
 */
#include "bus/json.h"

#include <assert.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "bus/mpscan.h"

/* libmsgpackc's unpacker has a fixed stack of 32 containers
 * (MSGPACK_EMBED_STACK_SIZE, compiled into the library): anything deeper
 * could be packed but never decoded by an actor, so it is refused here with
 * a message that says why. */
#define LH_JSON_MAX_DEPTH 32
/* Guards hand-built msgpack objects; unpacked ones are never this deep. */
#define LH_JSON_WRITE_MAX_DEPTH 64

/* ------------------------------------------------------------------ */
/* Detection                                                          */
/* ------------------------------------------------------------------ */

bool lh_is_json(const char *data, size_t len)
{
    assert(data || len == 0);
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            return c == '{';
    }
    return false;
}

/* ------------------------------------------------------------------ */
/* JSON -> msgpack                                                    */
/* ------------------------------------------------------------------ */

static lh_err *lh_pack_json(msgpack_packer *pk, json_t *v, int depth);

static lh_err *lh_pack_object(msgpack_packer *pk, json_t *obj, int depth)
{
    const char *key;
    size_t key_len;
    json_t *val;
    msgpack_pack_map(pk, json_object_size(obj));
    /* jansson iterates in insertion order, so replies keep the caller's order */
    json_object_keylen_foreach(obj, key, key_len, val) {
        msgpack_pack_str(pk, key_len);
        msgpack_pack_str_body(pk, key, key_len);
        lh_err *err = lh_pack_json(pk, val, depth + 1);
        if (err)
            return err;
    }
    return NULL;
}

static lh_err *lh_pack_array(msgpack_packer *pk, json_t *arr, int depth)
{
    size_t i;
    json_t *val;
    msgpack_pack_array(pk, json_array_size(arr));
    json_array_foreach(arr, i, val) {
        lh_err *err = lh_pack_json(pk, val, depth + 1);
        if (err)
            return err;
    }
    return NULL;
}

static lh_err *lh_pack_json(msgpack_packer *pk, json_t *v, int depth)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
    case JSON_ARRAY:
        if (depth > LH_JSON_MAX_DEPTH)
            return lh_err_new(LH_EBADREQ, NULL, "JSON nested deeper than %d levels",
                              LH_JSON_MAX_DEPTH);
        return json_is_object(v) ? lh_pack_object(pk, v, depth)
                                 : lh_pack_array(pk, v, depth);
    case JSON_STRING: {
        /* lengths, not strlen: JSON strings may hold \u0000 */
        size_t n = json_string_length(v);
        msgpack_pack_str(pk, n);
        msgpack_pack_str_body(pk, json_string_value(v), n);
        return NULL;
    }
    case JSON_INTEGER:
        msgpack_pack_int64(pk, (int64_t)json_integer_value(v));
        return NULL;
    case JSON_REAL:
        msgpack_pack_double(pk, json_real_value(v));
        return NULL;
    case JSON_TRUE:
        msgpack_pack_true(pk);
        return NULL;
    case JSON_FALSE:
        msgpack_pack_false(pk);
        return NULL;
    case JSON_NULL:
        msgpack_pack_nil(pk);
        return NULL;
    }
    assert(!"unknown jansson type");
    return lh_err_new(LH_EINTERNAL, NULL, "unknown JSON value type");
}

lh_err *lh_json_to_msgpack(const char *json, size_t len, lh_buf *out)
{
    assert(out && (json || len == 0));
    json_error_t jerr;
    /* DECODE_ANY so a top-level array gets the clearer message below */
    json_t *root = json_loadb(json ? json : "", len,
                              JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!root)
        return lh_err_new(LH_EBADREQ, NULL, "malformed JSON at line %d, column %d: %s",
                          jerr.line, jerr.column, jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return lh_err_new(LH_EBADREQ, NULL, "request body must be a JSON object");
    }
    size_t start = out->len;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, lh_buf_msgpack_write);
    lh_err *err = lh_pack_json(&pk, root, 1);
    json_decref(root);
    if (err)
        out->len = start; /* a refused document leaves no partial output */
    return err;
}

/* ------------------------------------------------------------------ */
/* Output helpers                                                     */
/* ------------------------------------------------------------------ */

/* Room for n bytes at the end of `out`; the caller advances out->len. */
static char *lh_room(lh_buf *out, size_t n)
{
    lh_buf_reserve(out, n);
    return out->data + out->len;
}

/* Writes the decimal digits of v ending just before `end`; returns the start. */
static char *lh_u64_digits_before(char *end, uint64_t v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

static void lh_write_u64(lh_buf *out, uint64_t v, bool negative)
{
    char text[24];
    char *end = text + sizeof text;
    char *p = lh_u64_digits_before(end, v);
    if (negative)
        *--p = '-';
    lh_buf_append(out, p, (size_t)(end - p));
}

static void lh_write_i64(lh_buf *out, int64_t v)
{
    /* unsigned negation so INT64_MIN has a magnitude */
    lh_write_u64(out, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, v < 0);
}

/* ------------------------------------------------------------------ */
/* Strings and bin                                                    */
/* ------------------------------------------------------------------ */

static bool lh_needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

static void lh_write_escape(lh_buf *out, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char short_form = 0;
    switch (c) {
    case '"': short_form = '"'; break;
    case '\\': short_form = '\\'; break;
    case '\b': short_form = 'b'; break;
    case '\f': short_form = 'f'; break;
    case '\n': short_form = 'n'; break;
    case '\r': short_form = 'r'; break;
    case '\t': short_form = 't'; break;
    default: break;
    }
    if (short_form) {
        char esc[2] = {'\\', short_form};
        lh_buf_append(out, esc, 2);
        return;
    }
    char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
    lh_buf_append(out, esc, 6);
}

void lh_json_append_string(lh_buf *out, const char *s, size_t len)
{
    assert(out && (s || len == 0));
    lh_buf_reserve(out, len + 2);
    lh_buf_append(out, "\"", 1);
    size_t run = 0; /* start of the bytes not yet copied */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!lh_needs_escape(c))
            continue; /* UTF-8 and other high bytes pass through as they are */
        lh_buf_append(out, s + run, i - run);
        lh_write_escape(out, c);
        run = i + 1;
    }
    if (len > run)
        lh_buf_append(out, s + run, len - run);
    lh_buf_append(out, "\"", 1);
}

void lh_json_append_base64(lh_buf *out, const void *data, size_t n)
{
    const unsigned char *p = data;
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *w = lh_room(out, 4 * ((n + 2) / 3) + 2);
    char *start = w;
    *w++ = '"';
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *w++ = alphabet[v >> 18];
        *w++ = alphabet[(v >> 12) & 63];
        *w++ = alphabet[(v >> 6) & 63];
        *w++ = alphabet[v & 63];
    }
    if (n - i > 0) {
        uint32_t v = (uint32_t)p[i] << 16 | (n - i > 1 ? (uint32_t)p[i + 1] << 8 : 0);
        *w++ = alphabet[v >> 18];
        *w++ = alphabet[(v >> 12) & 63];
        *w++ = n - i > 1 ? alphabet[(v >> 6) & 63] : '=';
        *w++ = '=';
    }
    *w++ = '"';
    out->len += (size_t)(w - start);
}

/* ------------------------------------------------------------------ */
/* Floats: the shortest %g text that reads back as the same value     */
/* ------------------------------------------------------------------ */

/*
 * The text is what the loop "for P in 6..9 (float32) or 15..17 (float64):
 * print %.Pg, stop when strtod reads it back exactly" would produce, but it
 * is computed in integers: the value is mant * 2^exp2 exactly, its P-digit
 * rounding is an integer division, and "reads back" means the decimal lies
 * within the value's rounding interval, which is an integer comparison.
 * Magnitudes whose scaled terms overflow 128 bits take the printf loop.
 */

typedef unsigned __int128 lh_u128;

typedef struct {
    uint64_t mant;     /* value = mant * 2^exp2, mant > 0 */
    int exp2;
    bool narrow_below; /* the next value down is half as far as the next up */
    bool subnormal;
} lh_binary_fp;

typedef struct {
    uint64_t digits; /* `precision` significant digits */
    int exp10;       /* decimal exponent of the leading digit */
    int precision;   /* the %g precision: it decides fixed vs exponent form */
} lh_decimal;

static const uint64_t lh_pow10[20] = {
    1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
    100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL,
    1000000000000ULL, 10000000000000ULL, 100000000000000ULL,
    1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,
    1000000000000000000ULL, 10000000000000000000ULL,
};

static lh_binary_fp lh_float32_parts(float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint32_t frac = bits & 0x7fffffu;
    int biased = (int)((bits >> 23) & 0xff);
    if (biased == 0)
        return (lh_binary_fp){frac, -149, false, true};
    return (lh_binary_fp){frac | 0x800000u, biased - 150, frac == 0 && biased > 1, false};
}

static lh_binary_fp lh_float64_parts(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint64_t frac = bits & 0xfffffffffffffULL;
    int biased = (int)((bits >> 52) & 0x7ff);
    if (biased == 0)
        return (lh_binary_fp){frac, -1074, false, true};
    return (lh_binary_fp){frac | (1ULL << 52), biased - 1075, frac == 0 && biased > 1, false};
}

static int lh_bitlen128(lh_u128 x)
{
    uint64_t hi = (uint64_t)(x >> 64), lo = (uint64_t)x;
    if (hi)
        return 128 - __builtin_clzll(hi);
    return lo ? 64 - __builtin_clzll(lo) : 0;
}

/* x *= 10^k; false when the product might not fit in 128 bits. */
static bool lh_mul_pow10(lh_u128 *x, int k)
{
    assert(k >= 0);
    while (k > 0) {
        int step = k > 19 ? 19 : k;
        if (lh_bitlen128(*x) + lh_bitlen128(lh_pow10[step]) > 128)
            return false;
        *x *= lh_pow10[step];
        k -= step;
    }
    return true;
}

/* x <<= k; false when the result might not fit in 128 bits. */
static bool lh_shl128(lh_u128 *x, int k)
{
    assert(k >= 0 && *x > 0);
    if (lh_bitlen128(*x) + k > 128)
        return false;
    *x <<= k;
    return true;
}

/* *n = f * 10^s rounded half-to-even (as glibc's printf rounds). */
static bool lh_round_scaled(const lh_binary_fp *f, int s, uint64_t *n)
{
    lh_u128 num = f->mant, den = 1;
    if (!lh_mul_pow10(s >= 0 ? &num : &den, abs(s)))
        return false;
    if (!lh_shl128(f->exp2 >= 0 ? &num : &den, abs(f->exp2)))
        return false;
    lh_u128 q, r;
    if ((den & (den - 1)) == 0) { /* the common case: a shift, not a division */
        int shift = lh_bitlen128(den) - 1;
        q = num >> shift;
        r = num & (den - 1);
    } else {
        q = num / den;
        r = num % den;
    }
    if (r > den - r || (r == den - r && (q & 1)))
        q++;
    if (q >> 64)
        return false;
    *n = (uint64_t)q;
    return true;
}

/* *yes = whether n * 10^e10 rounds (to nearest, ties to even) back to f. */
static bool lh_reads_back(const lh_binary_fp *f, uint64_t n, int e10, bool *yes)
{
    /* f's rounding interval in units of 2^(exp2 - 2); ties go to even mant */
    uint64_t hi = 4 * f->mant + 2;
    uint64_t lo = 4 * f->mant - (f->narrow_below ? 1 : 2);
    /* compare n * 10^e10 * 2^e2 with the bounds, negative powers moved over */
    int e2 = 2 - f->exp2;
    lh_u128 scaled = n, unit = 1;
    if (!lh_mul_pow10(e10 >= 0 ? &scaled : &unit, abs(e10)) ||
        !lh_shl128(e2 >= 0 ? &scaled : &unit, abs(e2)) ||
        lh_bitlen128(unit) + lh_bitlen128(hi) > 128)
        return false;
    lh_u128 lo_scaled = lo * unit, hi_scaled = hi * unit;
    bool ties_in = (f->mant & 1) == 0;
    *yes = (scaled > lo_scaled || (scaled == lo_scaled && ties_in)) &&
           (scaled < hi_scaled || (scaled == hi_scaled && ties_in));
    return true;
}

/* floor(e * log10(2)), possibly one off: callers correct it. */
static int lh_log10_pow2_guess(int e)
{
    return (int)floor(e * 0.30102999566398120);
}

/* *n = f rounded to p significant digits, *exp10 = exponent of its first. */
static bool lh_round_to_digits(const lh_binary_fp *f, int p, int *exp10, uint64_t *n)
{
    for (int tries = 0; tries < 3; tries++) {
        if (!lh_round_scaled(f, p - 1 - *exp10, n))
            return false;
        if (*n >= lh_pow10[p])
            ++*exp10; /* the guess was low, or rounding carried into a new digit */
        else if (*n < lh_pow10[p - 1])
            --*exp10;
        else
            return true;
    }
    return false;
}

static bool lh_shortest_exact(const lh_binary_fp *f, int p_lo, int p_hi, lh_decimal *out)
{
    int exp10 = lh_log10_pow2_guess(f->exp2 + 63 - __builtin_clzll(f->mant));
    for (int p = p_lo; p <= p_hi; p++) {
        uint64_t n;
        bool yes;
        if (!lh_round_to_digits(f, p, &exp10, &n) || !lh_reads_back(f, n, exp10 - p + 1, &yes))
            return false;
        if (yes) {
            *out = (lh_decimal){n, exp10, p};
            return true;
        }
    }
    assert(!"the maximum precision always reads back");
    return false;
}

/* "d.ddde-XX": at least two exponent digits, as printf writes them. */
static char *lh_put_exponent_form(char *w, const char *dig, int nd, int exp10)
{
    *w++ = dig[0];
    if (nd > 1) {
        *w++ = '.';
        memcpy(w, dig + 1, (size_t)nd - 1);
        w += nd - 1;
    }
    *w++ = 'e';
    *w++ = exp10 < 0 ? '-' : '+';
    int mag = abs(exp10);
    if (mag < 10)
        *w++ = '0';
    char buf[8];
    char *p = lh_u64_digits_before(buf + sizeof buf, (uint64_t)mag);
    memcpy(w, p, (size_t)(buf + sizeof buf - p));
    return w + (buf + sizeof buf - p);
}

/* "ddd.dd", "ddd00" or "0.000ddd". */
static char *lh_put_fixed_form(char *w, const char *dig, int nd, int exp10)
{
    if (exp10 < 0) {
        *w++ = '0';
        *w++ = '.';
        for (int i = 0; i < -exp10 - 1; i++)
            *w++ = '0';
        memcpy(w, dig, (size_t)nd);
        return w + nd;
    }
    for (int i = 0; i <= exp10; i++)
        *w++ = i < nd ? dig[i] : '0';
    if (nd > exp10 + 1) {
        *w++ = '.';
        memcpy(w, dig + exp10 + 1, (size_t)(nd - exp10 - 1));
        w += nd - exp10 - 1;
    }
    return w;
}

/* Renders d as %g would: trailing zeros dropped, exponent form when
 * exp10 < -4 or exp10 >= precision. `text` holds at least 32 bytes. */
static size_t lh_format_decimal(const lh_decimal *d, bool negative, char *text)
{
    uint64_t digits = d->digits;
    int nd = d->precision;
    while (nd > 1 && digits % 10 == 0) {
        digits /= 10;
        nd--;
    }
    char dig[20];
    lh_u64_digits_before(dig + nd, digits);
    char *w = text;
    if (negative)
        *w++ = '-';
    if (d->exp10 < -4 || d->exp10 >= d->precision)
        w = lh_put_exponent_form(w, dig, nd, d->exp10);
    else
        w = lh_put_fixed_form(w, dig, nd, d->exp10);
    assert(w - text < 32);
    *w = '\0';
    return (size_t)(w - text);
}

/* Parses printf's "%.*e" text ("-1.2345e-06") into a decimal of precision p. */
static lh_decimal lh_parse_e_format(const char *s, int p)
{
    lh_decimal d = {0, 0, p};
    const char *c = s;
    for (; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9')
            d.digits = d.digits * 10 + (uint64_t)(*c - '0');
    assert(*c == 'e');
    d.exp10 = atoi(c + 1);
    return d;
}

/* The printf loop, for magnitudes the exact path cannot hold. */
static size_t lh_format_shortest_printf(double v, bool single, int p_lo, int p_hi, char *text)
{
    size_t len = 0;
    for (int p = p_lo; p <= p_hi; p++) {
        char e_form[48];
        snprintf(e_form, sizeof e_form, "%.*e", p - 1, v);
        lh_decimal d = lh_parse_e_format(e_form, p);
        len = lh_format_decimal(&d, signbit(v), text);
        bool same = single ? strtof(text, NULL) == (float)v : strtod(text, NULL) == v;
        if (same)
            break;
    }
    return len;
}

/* `v` must be finite; a float32 arrives widened to double (exactly). */
static size_t lh_format_shortest(double v, bool single, char *text)
{
    if (v == 0) { /* common in sparse vectors: no printf on this path */
        size_t n = signbit(v) ? 2 : 1;
        memcpy(text, "-0", 2);
        if (n == 1)
            text[0] = '0';
        return n;
    }
    lh_binary_fp f = single ? lh_float32_parts((float)v) : lh_float64_parts(v);
    /* below 6 (or 15) digits %.Pg gives the same digits; subnormals are
     * less precise, so there shorter really is shorter */
    int p_lo = f.subnormal ? 1 : single ? 6 : 15;
    int p_hi = single ? 9 : 17;
    lh_decimal d;
    if (lh_shortest_exact(&f, p_lo, p_hi, &d))
        return lh_format_decimal(&d, signbit(v), text);
    return lh_format_shortest_printf(v, single, p_lo, p_hi, text);
}

void lh_json_append_float(lh_buf *out, double v, bool single)
{
    if (!isfinite(v)) {
        lh_buf_append(out, "null", 4); /* JSON has no NaN or infinity */
        return;
    }
    char *w = lh_room(out, 34);
    size_t n = lh_format_shortest(v, single, w);
    /* A float reads back as a float: "1" would come back an integer (the
     * sum of a real column, a score of exactly 1), so integral text gets
     * ".0". An exponent already marks it ("1e+20"). */
    size_t digits = 0;
    while (digits < n && (w[digits] == '-' || (w[digits] >= '0' && w[digits] <= '9')))
        digits++;
    if (digits == n) {
        memcpy(w + n, ".0", 2);
        n += 2;
    }
    out->len += n;
}

/* ------------------------------------------------------------------ */
/* msgpack -> JSON                                                    */
/* ------------------------------------------------------------------ */

static void lh_write_value(const msgpack_object *obj, lh_buf *out, int depth);

/* JSON keys are strings: other msgpack keys become their JSON text, quoted. */
static void lh_write_key(const msgpack_object *key, lh_buf *out, int depth)
{
    if (key->type == MSGPACK_OBJECT_STR) {
        lh_json_append_string(out, key->via.str.ptr, key->via.str.size);
        return;
    }
    if (key->type == MSGPACK_OBJECT_BIN) { /* already a JSON string */
        lh_json_append_base64(out, (const unsigned char *)key->via.bin.ptr, key->via.bin.size);
        return;
    }
    lh_buf text;
    lh_buf_init(&text);
    lh_write_value(key, &text, depth + 1);
    lh_json_append_string(out, text.data, text.len);
    lh_buf_free(&text);
}

static void lh_write_map(const msgpack_object_map *map, lh_buf *out, int depth)
{
    lh_buf_append(out, "{", 1);
    for (uint32_t i = 0; i < map->size; i++) {
        if (i)
            lh_buf_append(out, ",", 1);
        lh_write_key(&map->ptr[i].key, out, depth);
        lh_buf_append(out, ":", 1);
        lh_write_value(&map->ptr[i].val, out, depth + 1);
    }
    lh_buf_append(out, "}", 1);
}

static void lh_write_array(const msgpack_object_array *arr, lh_buf *out, int depth)
{
    lh_buf_append(out, "[", 1);
    for (uint32_t i = 0; i < arr->size; i++) {
        if (i)
            lh_buf_append(out, ",", 1);
        lh_write_value(&arr->ptr[i], out, depth + 1);
    }
    lh_buf_append(out, "]", 1);
}

static void lh_write_value(const msgpack_object *obj, lh_buf *out, int depth)
{
    switch (obj->type) {
    case MSGPACK_OBJECT_BOOLEAN:
        lh_buf_append_str(out, obj->via.boolean ? "true" : "false");
        return;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        lh_write_u64(out, obj->via.u64, false);
        return;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        lh_write_i64(out, obj->via.i64);
        return;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        lh_json_append_float(out, obj->via.f64, obj->type == MSGPACK_OBJECT_FLOAT32);
        return;
    case MSGPACK_OBJECT_STR:
        lh_json_append_string(out, obj->via.str.ptr, obj->via.str.size);
        return;
    case MSGPACK_OBJECT_BIN:
        lh_json_append_base64(out, (const unsigned char *)obj->via.bin.ptr, obj->via.bin.size);
        return;
    case MSGPACK_OBJECT_ARRAY:
    case MSGPACK_OBJECT_MAP:
        if (depth > LH_JSON_WRITE_MAX_DEPTH)
            break;
        if (obj->type == MSGPACK_OBJECT_MAP)
            lh_write_map(&obj->via.map, out, depth);
        else
            lh_write_array(&obj->via.array, out, depth);
        return;
    case MSGPACK_OBJECT_NIL:
    case MSGPACK_OBJECT_EXT:
        break;
    }
    lh_buf_append(out, "null", 4);
}

void lh_msgpack_obj_to_json(const msgpack_object *obj, lh_buf *out)
{
    assert(obj && out);
    lh_write_value(obj, out, 1);
}

static lh_err *lh_unpack_error(msgpack_unpack_return ret, size_t used, size_t len)
{
    switch (ret) {
    case MSGPACK_UNPACK_SUCCESS:
    case MSGPACK_UNPACK_EXTRA_BYTES:
        if (used == len)
            return NULL;
        return lh_err_new(LH_EBADREQ, NULL,
                          "malformed msgpack: trailing bytes after the value (%zu)", len - used);
    case MSGPACK_UNPACK_CONTINUE:
        return lh_err_new(LH_EBADREQ, NULL, len ? "malformed msgpack: truncated value"
                                                : "malformed msgpack: empty message");
    case MSGPACK_UNPACK_PARSE_ERROR:
        return lh_err_new(LH_EBADREQ, NULL, "malformed msgpack: invalid type byte");
    case MSGPACK_UNPACK_NOMEM_ERROR:
        /* libmsgpackc reports its 32-level nesting limit as out of memory */
        return lh_err_new(LH_EBADREQ, NULL,
                          "malformed msgpack: nested deeper than 32 levels or too large");
    }
    return lh_err_new(LH_EBADREQ, NULL, "malformed msgpack: unpack error %d", (int)ret);
}

lh_err *lh_json_decode_reply(const char *json, size_t len, const lh_schema *schema,
                             lh_arena *arena, void **out)
{
    lh_buf mp;
    lh_buf_init(&mp);
    lh_err *err = lh_json_to_msgpack(json ? json : "", json ? len : 0, &mp);
    if (!err)
        err = lh_schema_decode_reply(schema, mp.data, mp.len, arena, out);
    lh_buf_free(&mp);
    return err;
}

lh_err *lh_msgpack_to_json(const char *data, size_t len, lh_buf *out)
{
    assert(out && (data || len == 0));
    lh_err *bad = lh_mp_check(data, len);
    if (bad)
        return bad;
    msgpack_unpacked msg;
    msgpack_unpacked_init(&msg);
    size_t used = 0;
    msgpack_unpack_return ret = msgpack_unpack_next(&msg, data, len, &used);
    lh_err *err = lh_unpack_error(ret, used, len);
    if (!err)
        lh_msgpack_obj_to_json(&msg.data, out);
    msgpack_unpacked_destroy(&msg);
    return err;
}
