/*
 * schema.c — the one generic codec. Decoding walks a request map against a
 * field table and fills the struct the table describes; every refusal
 * names the field (and the item index inside arrays) so a caller can fix
 * the request without reading our source. Encoding is the reverse walk.
 */
#include "bus/schema.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bus/buf.h"
#include "bus/codec.h"
#include "bus/mpscan.h"

#define LH_PATH_MAX 160

/* How a decode goes: everything in the arena, except that bytes (bin)
 * may point into the input when the caller keeps it; unknown keys refused
 * (requests) or passed over (replies, so a newer callee may say more). */
typedef struct lh_dec {
    lh_arena *arena;
    bool borrow_bytes;
    bool skip_unknown;
} lh_dec;

static lh_err *lh_decode_map(const lh_schema *s, const msgpack_object *obj, const lh_dec *d,
                             const char *path, void *out);

const char *lh_kind_name(lh_kind k)
{
    switch (k) {
    case LH_K_STRING: return "string";
    case LH_K_INT: return "integer";
    case LH_K_FLOAT: return "number";
    case LH_K_BOOL: return "boolean";
    case LH_K_STRINGS: return "[string]";
    case LH_K_FLOATS: return "[number]";
    case LH_K_MATRIX: return "[[number]]";
    case LH_K_OBJECTS: return "[object]";
    case LH_K_ANY: return "any";
    case LH_K_BYTES: return "bytes";
    case LH_K_OBJECT: return "object";
    }
    return "?";
}

static void lh_field_path(char *out, const char *path, const char *name)
{
    int n = path && *path ? snprintf(out, LH_PATH_MAX, "%s.%s", path, name)
                          : snprintf(out, LH_PATH_MAX, "%s", name);
    (void)n;
}

static lh_err *lh_wrong_type(const char *path, const lh_field *f)
{
    return lh_err_new(LH_EBADREQ, path, "field '%s' must be %s %s", path,
                      f->kind == LH_K_INT ? "an" : "a", lh_kind_name(f->kind));
}

/* "path[i]"; a path cut at the bound is still a useful name. */
static void lh_index_path(char *out, const char *path, size_t i)
{
    int n = snprintf(out, LH_PATH_MAX, "%s[%zu]", path, i);
    (void)n;
}

static bool lh_has_bound(double v) { return v != 0; }

static bool lh_obj_number(const msgpack_object *o, double *out)
{
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: *out = (double)o->via.u64; return true;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: *out = (double)o->via.i64; return true;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: *out = o->via.f64; return true;
    default: return false;
    }
}

static bool lh_is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' && s[i] != '\f' &&
            s[i] != '\v')
            return false;
    return true;
}

static bool lh_in_choices(const char *choices, const char *s, size_t n)
{
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !memcmp(p, s, n))
            return true;
        p += len + (bar ? 1 : 0);
    }
    return false;
}

static lh_err *lh_decode_string(const lh_field *f, const msgpack_object *o, const char *path,
                                const lh_dec *d, lh_str *out)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return lh_wrong_type(path, f);
    size_t n = o->via.str.size;
    if (lh_has_bound(f->max) && n > f->max)
        return lh_err_new(LH_ETOOLARGE, path, "field '%s' is %zu bytes; the limit is %.0f", path,
                          n, f->max);
    if (n < f->min)
        return lh_err_new(LH_EBADREQ, path, "field '%s' must be at least %.0f bytes", path,
                          f->min);
    if ((f->flags & LH_F_NONBLANK) && lh_is_blank(o->via.str.ptr, n))
        return lh_err_new(LH_EBADREQ, path, "field '%s' must not be empty or blank", path);
    if (f->choices && !lh_in_choices(f->choices, o->via.str.ptr, n))
        return lh_err_new(LH_EBADREQ, path, "field '%s' must be one of %s", path, f->choices);
    out->s = lh_arena_strndup(d->arena, o->via.str.ptr, n);
    out->len = n;
    return NULL;
}

static lh_err *lh_decode_number(const lh_field *f, const msgpack_object *o, const char *path,
                                void *dst)
{
    double v;
    if (!lh_obj_number(o, &v))
        return lh_wrong_type(path, f);
    if (f->kind == LH_K_INT) {
        bool integral = o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
                        o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
                        (isfinite(v) && v == floor(v) && fabs(v) < 9e15);
        if (!integral || (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 > INT64_MAX))
            return lh_wrong_type(path, f);
    } else if (!isfinite(v)) {
        return lh_err_new(LH_EBADREQ, path, "field '%s' must be a finite number", path);
    }
    if ((lh_has_bound(f->min) || lh_has_bound(f->max)) && (v < f->min || v > f->max))
        return lh_err_new(LH_EBADREQ, path, "field '%s' must be between %g and %g", path, f->min,
                          f->max);
    if (f->kind == LH_K_INT)
        *(int64_t *)dst = o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (int64_t)o->via.u64
                          : o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? o->via.i64
                                                                       : (int64_t)v;
    else
        *(double *)dst = v;
    return NULL;
}

static lh_err *lh_check_count(const lh_field *f, size_t n, const char *path)
{
    if (lh_has_bound(f->max) && n > f->max)
        return lh_err_new(LH_ETOOLARGE, path, "field '%s' has %zu items; the limit is %.0f", path,
                          n, f->max);
    if (n < f->min)
        return lh_err_new(LH_EBADREQ, path, "field '%s' needs at least %.0f item%s", path,
                          f->min, f->min == 1 ? "" : "s");
    return NULL;
}

static lh_err *lh_decode_strings(const lh_field *f, const msgpack_object *o, const char *path,
                                 const lh_dec *d, lh_strs *out)
{
    bool one = o->type == MSGPACK_OBJECT_STR && (f->flags & LH_F_ONE_OR_MANY);
    if (o->type != MSGPACK_OBJECT_ARRAY && !one)
        return lh_wrong_type(path, f);
    size_t n = one ? 1 : o->via.array.size;
    lh_err *err = lh_check_count(f, n, path);
    if (err)
        return err;
    out->v = lh_arena_alloc(d->arena, n * sizeof *out->v + 1);
    out->n = n;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const msgpack_object *it = one ? o : &o->via.array.ptr[i];
        char ipath[LH_PATH_MAX];
        lh_index_path(ipath, path, i);
        if (it->type != MSGPACK_OBJECT_STR)
            return lh_err_new(LH_EBADREQ, ipath, "field '%s' must be a string", ipath);
        size_t len = it->via.str.size;
        if (lh_has_bound(f->item_max) && len > f->item_max)
            return lh_err_new(LH_ETOOLARGE, ipath, "field '%s' is %zu bytes; the limit is %.0f",
                              ipath, len, f->item_max);
        total += len;
        if (lh_has_bound(f->total_max) && total > f->total_max)
            return lh_err_new(LH_ETOOLARGE, path,
                              "field '%s' totals more than %.0f bytes (limit reached at %s)",
                              path, f->total_max, ipath);
        if ((f->flags & LH_F_NONBLANK) && lh_is_blank(it->via.str.ptr, len))
            return lh_err_new(LH_EBADREQ, ipath, "field '%s' must not be empty or blank", ipath);
        out->v[i].s = lh_arena_strndup(d->arena, it->via.str.ptr, len);
        out->v[i].len = len;
    }
    return NULL;
}

/* One vector: an array of numbers or a bin of little-endian float32. */
static lh_err *lh_decode_vector(const msgpack_object *o, const char *path, const lh_dec *d,
                                float **out, size_t *n)
{
    if (o->type == MSGPACK_OBJECT_BIN) {
        if (o->via.bin.size % 4)
            return lh_err_new(LH_EBADREQ, path,
                              "field '%s' is a bin of %u bytes, not a whole number of float32",
                              path, o->via.bin.size);
        *n = o->via.bin.size / 4;
        *out = lh_arena_alloc(d->arena, *n * sizeof(float) + 1);
        memcpy(*out, o->via.bin.ptr, o->via.bin.size); /* x86-64 and arm64 are little-endian */
    } else if (o->type == MSGPACK_OBJECT_ARRAY) {
        *n = o->via.array.size;
        *out = lh_arena_alloc(d->arena, *n * sizeof(float) + 1);
        for (size_t i = 0; i < *n; i++) {
            double v;
            if (!lh_obj_number(&o->via.array.ptr[i], &v))
                return lh_err_new(LH_EBADREQ, path, "field '%s[%zu]' must be a number", path, i);
            (*out)[i] = (float)v;
        }
    } else {
        return lh_err_new(LH_EBADREQ, path, "field '%s' must be an array of numbers or a bin",
                          path);
    }
    for (size_t i = 0; i < *n; i++)
        if (!isfinite((*out)[i]))
            return lh_err_new(LH_EBADREQ, path, "field '%s[%zu]' is not a finite float32", path,
                              i);
    return NULL;
}

static lh_err *lh_decode_matrix(const lh_field *f, const msgpack_object *o, const char *path,
                                const lh_dec *d, lh_matrix *out)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return lh_wrong_type(path, f);
    size_t rows = o->via.array.size;
    lh_err *err = lh_check_count(f, rows, path);
    for (size_t r = 0; !err && r < rows; r++) {
        char rpath[LH_PATH_MAX];
        lh_index_path(rpath, path, r);
        float *row;
        size_t cols;
        err = lh_decode_vector(&o->via.array.ptr[r], rpath, d, &row, &cols);
        if (err)
            break;
        if (r == 0) {
            if (lh_has_bound(f->item_max) && cols > f->item_max)
                return lh_err_new(LH_ETOOLARGE, rpath, "field '%s' has %zu columns; limit %.0f",
                                  rpath, cols, f->item_max);
            out->cols = cols;
            out->v = lh_arena_alloc(d->arena, rows * cols * sizeof(float) + 1);
        } else if (cols != out->cols) {
            return lh_err_new(LH_EBADREQ, rpath, "field '%s' has %zu columns; row 0 has %zu",
                              rpath, cols, out->cols);
        }
        memcpy(out->v + r * out->cols, row, cols * sizeof(float));
    }
    out->rows = err ? 0 : rows;
    return err;
}

static lh_err *lh_decode_objects(const lh_field *f, const msgpack_object *o, const char *path,
                                 const lh_dec *d, lh_objs *out)
{
    assert(f->sub);
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return lh_wrong_type(path, f);
    size_t n = o->via.array.size;
    lh_err *err = lh_check_count(f, n, path);
    if (err)
        return err;
    out->v = lh_arena_alloc(d->arena, n * f->sub->size + 1);
    out->n = n;
    for (size_t i = 0; i < n; i++) {
        char ipath[LH_PATH_MAX];
        lh_index_path(ipath, path, i);
        err = lh_decode_map(f->sub, &o->via.array.ptr[i], d, ipath,
                                   (char *)out->v + i * f->sub->size);
        if (err)
            return err;
    }
    return NULL;
}

static lh_err *lh_decode_any(const lh_field *f, const msgpack_object *o, const char *path,
                             const lh_dec *d, lh_raw *out)
{
    lh_buf b;
    lh_buf_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, lh_buf_msgpack_write);
    msgpack_pack_object(&pk, *o);
    lh_err *err = NULL;
    if (lh_has_bound(f->max) && b.len > f->max)
        err = lh_err_new(LH_ETOOLARGE, path, "field '%s' is %zu bytes encoded; the limit is %.0f",
                         path, b.len, f->max);
    else {
        out->data = lh_arena_strndup(d->arena, b.data, b.len);
        out->len = b.len;
    }
    lh_buf_free(&b);
    return err;
}

static lh_err *lh_decode_bytes(const lh_field *f, const msgpack_object *o, const char *path,
                               const lh_dec *d, lh_bytes *out)
{
    const char *p;
    size_t n;
    if (o->type == MSGPACK_OBJECT_BIN) {
        p = o->via.bin.ptr;
        n = o->via.bin.size;
    } else if (o->type == MSGPACK_OBJECT_STR) {
        p = o->via.str.ptr;
        n = o->via.str.size;
    } else {
        return lh_err_new(LH_EBADREQ, path, "field '%s' must be bytes (msgpack bin or a string)",
                          path);
    }
    if (lh_has_bound(f->max) && n > f->max)
        return lh_err_new(LH_ETOOLARGE, path, "field '%s' is %zu bytes; the limit is %.0f", path,
                          n, f->max);
    out->data = d->borrow_bytes ? p : lh_arena_strndup(d->arena, p, n);
    out->len = n;
    return NULL;
}

static lh_err *lh_decode_field(const lh_field *f, const msgpack_object *o, const char *path,
                               const lh_dec *d, char *base)
{
    void *dst = base + f->offset;
    switch (f->kind) {
    case LH_K_STRING: return lh_decode_string(f, o, path, d, dst);
    case LH_K_INT:
    case LH_K_FLOAT: return lh_decode_number(f, o, path, dst);
    case LH_K_BOOL:
        if (o->type != MSGPACK_OBJECT_BOOLEAN)
            return lh_wrong_type(path, f);
        *(bool *)dst = o->via.boolean;
        return NULL;
    case LH_K_STRINGS: return lh_decode_strings(f, o, path, d, dst);
    case LH_K_FLOATS: {
        lh_floats *fl = dst;
        lh_err *err = lh_decode_vector(o, path, d, &fl->v, &fl->n);
        return err ? err : lh_check_count(f, fl->n, path);
    }
    case LH_K_MATRIX: return lh_decode_matrix(f, o, path, d, dst);
    case LH_K_OBJECTS: return lh_decode_objects(f, o, path, d, dst);
    case LH_K_ANY: return lh_decode_any(f, o, path, d, dst);
    case LH_K_BYTES: return lh_decode_bytes(f, o, path, d, dst);
    case LH_K_OBJECT: {
        assert(f->sub);
        void *sub = lh_arena_alloc(d->arena, f->sub->size);
        lh_err *err = lh_decode_map(f->sub, o, d, path, sub);
        *(void **)dst = err ? NULL : sub;
        return err;
    }
    }
    return lh_err_new(LH_EINTERNAL, path, "field '%s' has an unknown kind", path);
}

static void lh_apply_default(const lh_field *f, char *base)
{
    void *dst = base + f->offset;
    if (f->kind == LH_K_INT)
        *(int64_t *)dst = (int64_t)f->def;
    else if (f->kind == LH_K_FLOAT)
        *(double *)dst = f->def;
    else if (f->kind == LH_K_BOOL)
        *(bool *)dst = f->def != 0;
}

void lh_schema_init(const lh_schema *s, void *value)
{
    memset(value, 0, s->size);
    for (size_t i = 0; i < s->n_fields; i++)
        lh_apply_default(&s->fields[i], value);
}

void *lh_field_member(const lh_field *f, void *base) { return (char *)base + f->offset; }

void lh_field_set_given(const lh_field *f, void *base)
{
    if (f->has_offset)
        *(bool *)((char *)base + f->has_offset - 1) = true;
}

static const lh_field *lh_find_field(const lh_schema *s, const char *key, size_t n)
{
    for (size_t i = 0; i < s->n_fields; i++)
        if (strlen(s->fields[i].name) == n && !memcmp(s->fields[i].name, key, n))
            return &s->fields[i];
    return NULL;
}

static lh_err *lh_decode_map(const lh_schema *s, const msgpack_object *obj, const lh_dec *d,
                             const char *path, void *out)
{
    if (obj->type != MSGPACK_OBJECT_MAP)
        return path ? lh_err_new(LH_EBADREQ, path, "field '%s' must be an object", path)
                    : lh_err_new(LH_EBADREQ, NULL, "request must be a map (JSON object)");
    /* Which fields were given, to find the missing required ones. 64 is
     * far above any message's field count; asserted so it stays true. */
    assert(s->n_fields <= 64);
    uint64_t seen = 0;
    for (size_t i = 0; i < s->n_fields; i++)
        lh_apply_default(&s->fields[i], out);
    for (uint32_t i = 0; i < obj->via.map.size; i++) {
        const msgpack_object_kv *kv = &obj->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR)
            return lh_err_new(LH_EBADREQ, path, "%s%smap keys must be strings", path ? path : "",
                              path ? ": " : "");
        char fpath[LH_PATH_MAX];
        char key[96];
        snprintf(key, sizeof key, "%.*s", (int)(kv->key.via.str.size > 80 ? 80 : kv->key.via.str.size),
                 kv->key.via.str.ptr);
        lh_field_path(fpath, path, key);
        const lh_field *f = lh_find_field(s, kv->key.via.str.ptr, kv->key.via.str.size);
        if (!f && d->skip_unknown)
            continue;
        if (!f)
            return lh_err_new(LH_EBADREQ, fpath, "unknown field '%s'", fpath);
        if (kv->val.type == MSGPACK_OBJECT_NIL && !f->required)
            continue; /* null means absent for optional fields */
        lh_err *err = lh_decode_field(f, &kv->val, fpath, d, out);
        if (err)
            return err;
        lh_field_set_given(f, out);
        seen |= 1ull << (f - s->fields);
    }
    for (size_t i = 0; i < s->n_fields; i++) {
        if (s->fields[i].required && !(seen & (1ull << i))) {
            char fpath[LH_PATH_MAX];
            lh_field_path(fpath, path, s->fields[i].name);
            return lh_err_new(LH_EBADREQ, fpath, "missing required field '%s'", fpath);
        }
    }
    return NULL;
}

lh_err *lh_schema_decode_obj(const lh_schema *s, const msgpack_object *obj, lh_arena *a,
                             const char *path, void *out)
{
    lh_dec d = {a, false, false};
    return lh_decode_map(s, obj, &d, path, out);
}

static lh_err *lh_decode_message(const lh_schema *s, const char *data, size_t len,
                                 const lh_dec *d, void **out)
{
    void *value = lh_arena_alloc(d->arena, s->size);
    *out = value;
    if (len == 0) {
        msgpack_object empty = {.type = MSGPACK_OBJECT_MAP};
        return lh_decode_map(s, &empty, d, NULL, value);
    }
    lh_err *bad = lh_mp_check(data, len);
    if (bad)
        return bad;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack_next(&up, data, len, &off);
    lh_err *err;
    if (r != MSGPACK_UNPACK_SUCCESS && r != MSGPACK_UNPACK_EXTRA_BYTES)
        err = lh_err_new(LH_EBADREQ, NULL, "malformed msgpack: %s",
                         r == MSGPACK_UNPACK_CONTINUE ? "truncated message" : "parse error");
    else if (off != len)
        err = lh_err_new(LH_EBADREQ, NULL, "malformed msgpack: %zu trailing bytes", len - off);
    else
        err = lh_decode_map(s, &up.data, d, NULL, value);
    msgpack_unpacked_destroy(&up);
    return err;
}

lh_err *lh_schema_decode(const lh_schema *s, const char *data, size_t len, lh_arena *a,
                         void **out)
{
    lh_dec d = {a, false, false};
    return lh_decode_message(s, data, len, &d, out);
}

lh_err *lh_schema_decode_reply(const lh_schema *s, const char *data, size_t len, lh_arena *a,
                               void **out)
{
    lh_dec d = {a, false, true};
    return lh_decode_message(s, data, len, &d, out);
}

lh_err *lh_schema_decode_reply_in_place(const lh_schema *s, const char *data, size_t len,
                                        lh_arena *a, void **out)
{
    lh_dec d = {a, true, true};
    return lh_decode_message(s, data, len, &d, out);
}

/* ---- encoding ---- */

static void lh_pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void lh_pack_floats(msgpack_packer *pk, const float *v, size_t n)
{
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        msgpack_pack_float(pk, v[i]);
}

static bool lh_field_present(const lh_field *f, const char *base, bool given_only)
{
    /* Unset strings and opaque values are absent from a reply; lists and
     * scalars are written even when empty or zero ([] says "none") unless
     * the field is marked LH_F_OMIT_UNSET and the handler left it unset. */
    const void *src = base + f->offset;
    bool omit = given_only || (f->flags & LH_F_OMIT_UNSET);
    switch (f->kind) {
    case LH_K_STRING: return ((const lh_str *)src)->s != NULL;
    case LH_K_ANY: return ((const lh_raw *)src)->len > 0;
    case LH_K_BYTES: return ((const lh_bytes *)src)->data != NULL;
    case LH_K_OBJECT: return *(void *const *)src != NULL;
    case LH_K_STRINGS: return !omit || ((const lh_strs *)src)->v != NULL;
    case LH_K_FLOATS: return !omit || ((const lh_floats *)src)->v != NULL;
    case LH_K_MATRIX: return !omit || ((const lh_matrix *)src)->v != NULL;
    case LH_K_OBJECTS: return !omit || ((const lh_objs *)src)->v != NULL;
    case LH_K_INT:
    case LH_K_FLOAT:
    case LH_K_BOOL:
        assert(f->has_offset);
        return !omit || *(const bool *)(base + f->has_offset - 1);
    }
    return true;
}

static void lh_schema_encode_fields(const lh_schema *s, const char *base, size_t n_fields,
                                    size_t extra, bool given_only, msgpack_packer *pk);

/* Strings are written with exactly their length: a slice need not end in
 * a NUL (path parameters point into the URL). */
static void lh_encode_field(const lh_field *f, const char *base, bool given_only,
                            msgpack_packer *pk)
{
    const void *src = base + f->offset;
    switch (f->kind) {
    case LH_K_STRING: {
        const lh_str *s = src;
        lh_pack_str(pk, s->s, s->len);
        break;
    }
    case LH_K_INT: msgpack_pack_int64(pk, *(const int64_t *)src); break;
    case LH_K_FLOAT: msgpack_pack_double(pk, *(const double *)src); break;
    case LH_K_BOOL:
        if (*(const bool *)src)
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
        break;
    case LH_K_STRINGS: {
        const lh_strs *ss = src;
        msgpack_pack_array(pk, ss->n);
        for (size_t i = 0; i < ss->n; i++)
            lh_pack_str(pk, ss->v[i].s, ss->v[i].len);
        break;
    }
    case LH_K_FLOATS: lh_pack_floats(pk, ((const lh_floats *)src)->v, ((const lh_floats *)src)->n); break;
    case LH_K_MATRIX: {
        const lh_matrix *m = src;
        msgpack_pack_array(pk, m->rows);
        for (size_t r = 0; r < m->rows; r++)
            lh_pack_floats(pk, m->v + r * m->cols, m->cols);
        break;
    }
    case LH_K_OBJECTS: {
        const lh_objs *os = src;
        msgpack_pack_array(pk, os->n);
        for (size_t i = 0; i < os->n; i++)
            lh_schema_encode_fields(f->sub, (const char *)os->v + i * f->sub->size,
                                    f->sub->n_fields, 0, given_only, pk);
        break;
    }
    case LH_K_ANY: {
        const lh_raw *raw = src;
        msgpack_pack_str_body(pk, raw->data, raw->len); /* already msgpack: copy bytes */
        break;
    }
    case LH_K_BYTES: {
        const lh_bytes *b = src;
        msgpack_pack_bin_with_body(pk, b->data, b->len);
        break;
    }
    case LH_K_OBJECT:
        lh_schema_encode_fields(f->sub, *(void *const *)src, f->sub->n_fields, 0, given_only, pk);
        break;
    }
}

static void lh_schema_encode_fields(const lh_schema *s, const char *base, size_t n_fields,
                                    size_t extra, bool given_only, msgpack_packer *pk)
{
    size_t n = extra;
    for (size_t i = 0; i < n_fields; i++)
        n += lh_field_present(&s->fields[i], base, given_only);
    msgpack_pack_map(pk, n);
    for (size_t i = 0; i < n_fields; i++) {
        const lh_field *f = &s->fields[i];
        if (!lh_field_present(f, base, given_only))
            continue;
        lh_pack_str(pk, f->name, strlen(f->name));
        lh_encode_field(f, base, given_only, pk);
    }
}

void lh_schema_encode(const lh_schema *s, const void *value, msgpack_packer *pk)
{
    lh_schema_encode_fields(s, value, s->n_fields, 0, false, pk);
}

void lh_schema_encode_given(const lh_schema *s, const void *value, msgpack_packer *pk)
{
    lh_schema_encode_fields(s, value, s->n_fields, 0, true, pk);
}

void lh_schema_encode_head(const lh_schema *s, const void *value, msgpack_packer *pk)
{
    assert(s->n_fields > 0);
    const lh_field *tail = &s->fields[s->n_fields - 1];
    assert(tail->kind == LH_K_BYTES);
    lh_schema_encode_fields(s, value, s->n_fields - 1, 1, false, pk);
    lh_pack_str(pk, tail->name, strlen(tail->name));
    msgpack_pack_bin(pk, ((const lh_bytes *)((const char *)value + tail->offset))->len);
}

/* ---- into buffers ---- */

void lh_message_encode(const lh_schema *schema, const void *value, lh_buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, lh_buf_msgpack_write);
    lh_schema_encode(schema, value, &pk);
}

void lh_message_encode_given(const lh_schema *schema, const void *value, lh_buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, lh_buf_msgpack_write);
    lh_schema_encode_given(schema, value, &pk);
}

void lh_message_encode_head(const lh_schema *schema, const void *value, lh_buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, lh_buf_msgpack_write);
    lh_schema_encode_head(schema, value, &pk);
}
