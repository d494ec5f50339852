/*
 * filter.c — compiling and matching metadata equality filters (filter.h).
 */
#include "actors/vector/filter.h"

#include <string.h>

#define LH_MALFORMED "malformed filter: "

static lh_err *lh_filter_term(const char **p, const char *end, const char *field,
                              lh_vec_term *t)
{
    lh_mp_value key;
    if (!lh_mp_read(p, end, &key) || key.type != LH_MP_STR)
        return lh_err_new(LH_EBADREQ, field, LH_MALFORMED "'%s' keys must be strings", field);
    t->key = key.s;
    t->key_len = key.n;
    if (!lh_mp_read(p, end, &t->value))
        return lh_err_new(LH_EBADREQ, field, LH_MALFORMED "'%s' is truncated", field);
    lh_mp_type ty = t->value.type;
    if (ty == LH_MP_ARRAY || ty == LH_MP_MAP || ty == LH_MP_BIN || ty == LH_MP_EXT || ty == LH_MP_NIL)
        return lh_err_new(LH_EBADREQ, field,
                          LH_MALFORMED "'%s.%.*s' must be a string, number or boolean", field,
                          (int)(key.n > 64 ? 64 : key.n), key.s);
    return NULL;
}

lh_err *lh_vec_filter_compile(const char *data, size_t len, const char *field, lh_arena *arena,
                              lh_vec_filter *out)
{
    memset(out, 0, sizeof *out);
    if (len == 0)
        return NULL;
    const char *p = data, *end = data + len;
    lh_mp_value top;
    if (!lh_mp_read(&p, end, &top) || top.type != LH_MP_MAP)
        return lh_err_new(LH_EBADREQ, field,
                          LH_MALFORMED "'%s' must be a map (JSON object) of key to value", field);
    if (top.n > (size_t)(end - p))
        return lh_err_new(LH_EBADREQ, field, LH_MALFORMED "'%s' is truncated", field);
    out->terms = lh_arena_alloc(arena, top.n * sizeof *out->terms + 1);
    for (size_t i = 0; i < top.n; i++) {
        lh_err *err = lh_filter_term(&p, end, field, &out->terms[i]);
        if (err)
            return err;
    }
    out->n = top.n;
    return NULL;
}

/* Finds `key` among the top-level pairs of the metadata map. */
static bool lh_meta_lookup(const char *meta, size_t len, const char *key, size_t key_len,
                           lh_mp_value *val)
{
    const char *p = meta, *end = meta + len;
    lh_mp_value top;
    if (!lh_mp_read(&p, end, &top) || top.type != LH_MP_MAP)
        return false;
    for (size_t i = 0; i < top.n; i++) {
        const char *key_at = p;
        lh_mp_value k;
        if (!lh_mp_read(&p, end, &k))
            return false;
        if (k.type == LH_MP_STR && k.n == key_len && !memcmp(k.s, key, key_len))
            return lh_mp_read(&p, end, val);
        p = key_at; /* skip the key whole (it may be a container), then its value */
        if (!lh_mp_skip(&p, end) || !lh_mp_skip(&p, end))
            return false;
    }
    return false;
}

bool lh_vec_filter_match(const lh_vec_filter *f, const char *meta, size_t len)
{
    for (size_t i = 0; i < f->n; i++) {
        lh_mp_value v;
        if (!lh_meta_lookup(meta, len, f->terms[i].key, f->terms[i].key_len, &v) ||
            !lh_mp_scalar_equal(&v, &f->terms[i].value))
            return false;
    }
    return true;
}

bool lh_vec_is_map(const char *data, size_t len)
{
    const char *p = data, *end = data + len;
    lh_mp_value v;
    return lh_mp_read(&p, end, &v) && v.type == LH_MP_MAP;
}
