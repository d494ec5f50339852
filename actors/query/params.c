/*
 * params.c — `params`: checked when the request arrives (a bad value is a
 * 400 before the query takes a thread), bound by position when it runs.
 * Values only ever reach DuckDB through duckdb_bind_*, never the text.
 */
#include "actors/query/query_internal.h"

#include <stdint.h>
#include <string.h>

#include "bus/mpscan.h"

static lh_err *lh_params_err(const char *msg, size_t i)
{
    return lh_err_new(LH_EBADREQ, "params", "params[%zu] %s", i, msg);
}

/* The values of `params` (absent: none), read in place with the scanner. */
typedef struct lh_qparams {
    const char *p, *end;
    size_t n;
} lh_qparams;

static lh_err *lh_qparams_open(const lh_raw *params, lh_qparams *q)
{
    *q = (lh_qparams){params->data, params->data + params->len, 0};
    if (!params->data || params->len == 0)
        return NULL;
    lh_mp_value v;
    /* The request codec already checked it whole: it is well formed. */
    if (!lh_mp_read(&q->p, q->end, &v) || v.type != LH_MP_ARRAY)
        return lh_err_new(LH_EBADREQ, "params", "params must be an array");
    q->n = v.n;
    return NULL;
}

/* The next value; containers are refused (and passed over). */
static lh_err *lh_qparams_next(lh_qparams *q, size_t i, lh_mp_value *v)
{
    const char *at = q->p;
    if (!lh_mp_read(&q->p, q->end, v))
        return lh_err_new(LH_EBADREQ, "params", "params is not a msgpack value");
    switch (v->type) {
    case LH_MP_NIL:
    case LH_MP_BOOL:
    case LH_MP_INT:
    case LH_MP_FLOAT:
    case LH_MP_STR: return NULL;
    case LH_MP_UINT: return lh_params_err("is above the largest integer", i);
    default:
        q->p = at;
        lh_mp_skip(&q->p, q->end);
        return lh_params_err("must be null, a boolean, a number or a string", i);
    }
}

lh_err *lh_qparams_check(const lh_raw *params)
{
    lh_qparams q;
    lh_err *err = lh_qparams_open(params, &q);
    if (!err && q.n > LH_QUERY_MAX_PARAMS)
        err = lh_err_new(LH_EBADREQ, "params", "params holds %zu values; the limit is %d", q.n,
                         LH_QUERY_MAX_PARAMS);
    for (size_t i = 0; !err && i < q.n; i++) {
        lh_mp_value v;
        err = lh_qparams_next(&q, i, &v);
    }
    return err;
}

static duckdb_state lh_bind_one(duckdb_prepared_statement st, idx_t at, const lh_mp_value *v)
{
    switch (v->type) {
    case LH_MP_NIL: return duckdb_bind_null(st, at);
    case LH_MP_BOOL: return duckdb_bind_boolean(st, at, v->b);
    case LH_MP_INT: return duckdb_bind_int64(st, at, v->i);
    case LH_MP_FLOAT: return duckdb_bind_double(st, at, v->f);
    case LH_MP_STR: return duckdb_bind_varchar_length(st, at, v->s, v->n); /* copied */
    default: return DuckDBError; /* lh_qparams_check refused it already */
    }
}

lh_err *lh_qparams_bind(duckdb_prepared_statement stmt, const lh_raw *params)
{
    lh_qparams q;
    lh_err *err = lh_qparams_open(params, &q);
    size_t want = (size_t)duckdb_nparams(stmt);
    if (!err && q.n != want)
        err = lh_err_new(LH_EBADREQ, "params", "the statement has %zu parameter%s and params "
                         "gives %zu value%s", want, want == 1 ? "" : "s", q.n,
                         q.n == 1 ? "" : "s");
    for (size_t i = 0; !err && i < q.n; i++) {
        lh_mp_value v;
        err = lh_qparams_next(&q, i, &v);
        if (!err && lh_bind_one(stmt, (idx_t)i + 1, &v) == DuckDBError)
            err = lh_err_new(LH_EBADREQ, "params", "params[%zu] cannot be bound: %s", i,
                             duckdb_prepare_error(stmt) ? duckdb_prepare_error(stmt)
                                                        : "DuckDB refused it");
    }
    return err;
}
