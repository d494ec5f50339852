/*
 * params.c — `params`: checked when the request arrives (a bad value is a
 * 400 before the query takes a thread), bound by position when it runs.
 * Values only ever reach SQLite through sqlite3_bind_*, never the text.
 */
#include "actors/query/query_internal.h"

#include <stdint.h>
#include <string.h>

#include <msgpack.h>

static lh_err *lh_params_err(const char *msg, size_t i)
{
    return lh_err_new(LH_EBADREQ, "params", "params[%zu] %s", i, msg);
}

static lh_err *lh_check_scalar(const msgpack_object *o, size_t i)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
    case MSGPACK_OBJECT_BOOLEAN:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
    case MSGPACK_OBJECT_STR: return NULL;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return o->via.u64 > INT64_MAX ? lh_params_err("is above the largest integer", i) : NULL;
    default: return lh_params_err("must be null, a boolean, a number or a string", i);
    }
}

/* Unpacks `params` (absent: an empty array) into `u`. */
static lh_err *lh_unpack_params(const lh_raw *params, msgpack_unpacked *u)
{
    msgpack_unpacked_init(u);
    if (!params->data || params->len == 0)
        return NULL;
    size_t off = 0;
    /* The request codec already unpacked it whole: it is well formed. */
    if (msgpack_unpack_next(u, params->data, params->len, &off) != MSGPACK_UNPACK_SUCCESS)
        return lh_err_new(LH_EBADREQ, "params", "params is not a msgpack value");
    if (u->data.type != MSGPACK_OBJECT_ARRAY)
        return lh_err_new(LH_EBADREQ, "params", "params must be an array");
    return NULL;
}

static size_t lh_count(const msgpack_unpacked *u)
{
    return u->data.type == MSGPACK_OBJECT_ARRAY ? u->data.via.array.size : 0;
}

lh_err *lh_qparams_check(const lh_raw *params)
{
    msgpack_unpacked u;
    lh_err *err = lh_unpack_params(params, &u);
    size_t n = lh_count(&u);
    if (!err && n > LH_QUERY_MAX_PARAMS)
        err = lh_err_new(LH_EBADREQ, "params", "params holds %zu values; the limit is %d", n,
                         LH_QUERY_MAX_PARAMS);
    for (size_t i = 0; !err && i < n; i++)
        err = lh_check_scalar(&u.data.via.array.ptr[i], i);
    msgpack_unpacked_destroy(&u);
    return err;
}

static int lh_bind_one(sqlite3_stmt *st, int at, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return sqlite3_bind_null(st, at);
    case MSGPACK_OBJECT_BOOLEAN: return sqlite3_bind_int(st, at, o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return sqlite3_bind_int64(st, at, (int64_t)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return sqlite3_bind_int64(st, at, o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return sqlite3_bind_double(st, at, o->via.f64);
    case MSGPACK_OBJECT_STR: /* copied: the unpacked object goes before the statement runs */
        return sqlite3_bind_text64(st, at, o->via.str.ptr, o->via.str.size, SQLITE_TRANSIENT,
                                   SQLITE_UTF8);
    default: return SQLITE_MISUSE; /* lh_qparams_check refused it already */
    }
}

lh_err *lh_qparams_bind(sqlite3_stmt *stmt, const lh_raw *params)
{
    msgpack_unpacked u;
    lh_err *err = lh_unpack_params(params, &u);
    size_t n = lh_count(&u);
    int want = sqlite3_bind_parameter_count(stmt);
    if (!err && n != (size_t)want)
        err = lh_err_new(LH_EBADREQ, "params", "the statement has %d parameter%s and params "
                         "gives %zu value%s", want, want == 1 ? "" : "s", n, n == 1 ? "" : "s");
    for (size_t i = 0; !err && i < n; i++)
        if (lh_bind_one(stmt, (int)i + 1, &u.data.via.array.ptr[i]) != SQLITE_OK)
            err = lh_err_new(LH_EBADREQ, "params", "params[%zu] cannot be bound: %s", i,
                             sqlite3_errmsg(sqlite3_db_handle(stmt)));
    msgpack_unpacked_destroy(&u);
    return err;
}
