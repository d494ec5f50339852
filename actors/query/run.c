/*
 * run.c — one query.sql on one query thread: the catalog's datasets now,
 * the statement checked and its names shown as views (guard.c,
 * resolve.c), prepared, bound, executed within its deadline, fetched
 * within its caps, and the reply.
 */
#include "actors/query/query_internal.h"
#include "bus/clock.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include <nats/nats.h>

/* ---- prepare ---- */

static lh_err *lh_prepare_one(lh_qsession *s, const char *sql, duckdb_prepared_statement *ps)
{
    if (duckdb_prepare(lh_qsession_conn(s), sql, ps) != DuckDBError)
        return NULL;
    const char *why = duckdb_prepare_error(*ps);
    return lh_err_new(LH_EBADREQ, "sql", "%s", why ? why : "the statement cannot be prepared");
}

static bool lh_all_native(duckdb_result *res)
{
    idx_t n = duckdb_column_count(res);
    for (idx_t i = 0; i < n; i++)
        if (!lh_qresult_native(duckdb_column_type(res, i)))
            return false;
    return true;
}

/* The statement with every column result.c cannot send as it is cast to
 * text: `SELECT c1, CAST(c2 AS VARCHAR) ... FROM (<statement>) q(c1, c2 ...)`.
 * Parameters keep their places, so binding is unchanged. */
static void lh_wrap(duckdb_result *res, const lh_str *sql, lh_buf *out)
{
    idx_t n = duckdb_column_count(res);
    lh_buf_append_str(out, "SELECT ");
    for (idx_t i = 0; i < n; i++) {
        bool cast = !lh_qresult_native(duckdb_column_type(res, i));
        lh_buf_appendf(out, "%s%sc%llu%s", i ? ", " : "", cast ? "CAST(" : "",
                       (unsigned long long)i, cast ? " AS VARCHAR)" : "");
    }
    lh_buf_append_str(out, " FROM (\n");
    lh_buf_append(out, sql->s, lh_qguard_statement_len(sql->s, sql->len));
    lh_buf_append_str(out, "\n) AS lh_q(");
    for (idx_t i = 0; i < n; i++)
        lh_buf_appendf(out, "%sc%llu", i ? ", " : "", (unsigned long long)i);
    lh_buf_append_str(out, ")");
}

/* The reply's columns: the names and types of the statement as written
 * (its types are known once its parameters are bound: from its result). */
static void lh_fill_columns(duckdb_result *res, lh_arena *a, lh_query_sql_reply *out)
{
    size_t n = (size_t)duckdb_column_count(res);
    lh_query_column *cols = lh_arena_alloc(a, (n ? n : 1) * sizeof *cols);
    for (size_t i = 0; i < n; i++) {
        const char *name = duckdb_column_name(res, i);
        name = name ? name : "";
        cols[i].name = (lh_str){lh_arena_strndup(a, name, strlen(name)), strlen(name)};
        const char *type = lh_qresult_type_name(duckdb_column_type(res, i));
        cols[i].type = (lh_str){type, strlen(type)}; /* static strings */
    }
    out->columns = (lh_objs){cols, n};
}

/* Prepares the statement once it is known to be a query. */
static lh_err *lh_prepare(lh_qsession *s, const lh_str *sql, duckdb_prepared_statement *out)
{
    lh_err *err = lh_prepare_one(s, sql->s, out);
    if (!err && duckdb_prepared_statement_type(*out) != DUCKDB_STATEMENT_TYPE_SELECT)
        err = lh_err_new(LH_EFORBIDDEN, "sql", "queries are read-only: only SELECT statements "
                         "are run");
    return err;
}

/* ---- run ---- */

/* The reply's byte bound: the setting, within one bus message. */
static size_t lh_max_bytes(lh_query_state *st)
{
    int64_t payload = natsConnection_GetMaxPayload(lh_conn_nats(lh_actor_conn(st->actor)));
    size_t cap = st->max_result_bytes;
    if (payload > (int64_t)LH_QUERY_PAYLOAD_HEADROOM * 2 &&
        (size_t)payload - LH_QUERY_PAYLOAD_HEADROOM < cap)
        cap = (size_t)payload - LH_QUERY_PAYLOAD_HEADROOM;
    return cap;
}

/* An execution or fetch that failed, as the caller should hear it. */
static lh_err *lh_run_error(lh_query_state *st, lh_qsession *s, const lh_query_sql_request *req,
                            lh_err *cause)
{
    if (lh_qsession_timed_out(s)) {
        atomic_fetch_add(&st->timeouts, 1);
        lh_err_free(cause);
        return lh_err_new(LH_EUNPROCESSABLE, "timeout_ms", "query timed out after %lld ms "
                          "(timeout_ms)", (long long)req->timeout_ms);
    }
    if (atomic_load(&st->stop)) {
        lh_err_free(cause);
        return lh_err_new(LH_EUNAVAILABLE, NULL, "queryd is stopping; ask again later");
    }
    lh_err *err = lh_err_new(LH_EUNPROCESSABLE, "sql", "the query failed: %s",
                             lh_err_message(cause));
    lh_err_free(cause);
    return err;
}

static lh_err *lh_start(duckdb_prepared_statement ps, const lh_raw *params, duckdb_result *res)
{
    lh_err *err = lh_qparams_bind(ps, params);
    if (!err && duckdb_execute_prepared_streaming(ps, res) == DuckDBError) {
        err = lh_err_new(LH_EUNPROCESSABLE, "sql", "%s", duckdb_result_error(res));
        duckdb_destroy_result(res); /* it held the message */
    }
    return err;
}

/* Runs the statement; when a column is of a type result.c does not send
 * as it is, runs it again wrapped (lh_wrap). Streaming results compute
 * little before the first fetch, so the first run costs little. */
static lh_err *lh_start_sendable(lh_qsession *s, duckdb_prepared_statement ps,
                                 const lh_query_sql_request *req, lh_arena *a,
                                 lh_query_sql_reply *reply, duckdb_result *res,
                                 duckdb_prepared_statement *wrapped)
{
    lh_err *err = lh_start(ps, &req->params, res);
    if (err)
        return err;
    lh_fill_columns(res, a, reply);
    if (lh_all_native(res))
        return NULL;
    lh_buf sql;
    lh_buf_init(&sql);
    lh_wrap(res, &req->sql, &sql);
    duckdb_destroy_result(res);
    err = lh_prepare_one(s, lh_buf_cstr(&sql), wrapped);
    lh_buf_free(&sql);
    return err ? err : lh_start(*wrapped, &req->params, res);
}

static lh_err *lh_execute(lh_query_state *st, lh_qsession *s, duckdb_prepared_statement ps,
                          const lh_query_sql_request *req, lh_arena *a, lh_query_sql_reply *reply)
{
    lh_qlimits lim = {.max_rows = req->max_rows, .max_bytes = lh_max_bytes(st)};
    duckdb_result res;
    duckdb_prepared_statement wrapped = NULL;
    lh_qsession_begin(s, req->timeout_ms);
    lh_qpool_watch_poke(st);
    lh_err *err = NULL;
    if (atomic_load(&st->stop)) {
        err = lh_err_new(LH_EUNAVAILABLE, NULL, "queryd is stopping");
    } else if (!(err = lh_start_sendable(s, ps, req, a, reply, &res, &wrapped))) {
        err = lh_qresult_collect(&res, &lim, a, reply);
        duckdb_destroy_result(&res);
    }
    lh_qsession_end(s);
    duckdb_destroy_prepare(&wrapped);
    if (err && lh_err_code(err) != LH_EUNPROCESSABLE)
        return err; /* params, or a wrapped statement DuckDB refused */
    return err ? lh_run_error(st, s, req, err) : NULL;
}

/* The dataset versions the statement read, each once even when named
 * both ways ("sales" and "sales@3"). */
static void lh_fill_datasets(lh_qsession *s, lh_arena *a, lh_query_sql_reply *reply)
{
    size_t n;
    lh_qview *v = lh_qsession_views(s, &n);
    lh_query_dataset_ref *refs = lh_arena_alloc(a, (n ? n : 1) * sizeof *refs);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < k && !seen; j++)
            seen = refs[j].version == v[i].version && !strcmp(refs[j].name.s, v[i].dataset);
        if (!v[i].used || seen)
            continue;
        size_t len = strlen(v[i].dataset);
        refs[k].name = (lh_str){lh_arena_strndup(a, v[i].dataset, len), len};
        refs[k++].version = v[i].version;
    }
    reply->datasets = (lh_objs){refs, k};
}

lh_err *lh_query_run(lh_query_state *st, lh_qsession *s, const lh_query_sql_request *req,
                     lh_arena *a, lh_query_sql_reply *reply)
{
    int64_t t0 = lh_clock_ns();
    lh_qrefs *refs = lh_arena_alloc(a, sizeof *refs);
    lh_err *err = lh_qguard_parse(s, req->sql.s, req->sql.len, refs);
    lh_catalog_list_reply *cat = NULL;
    if (!err)
        err = lh_qcatalog_list(st, a, &cat);
    if (!err)
        err = lh_qsession_refresh(s, cat);
    if (!err)
        err = lh_qresolve_all(st, s, cat, refs);
    duckdb_prepared_statement ps = NULL;
    if (!err)
        err = lh_prepare(s, &req->sql, &ps);
    if (!err)
        err = lh_execute(st, s, ps, req, a, reply);
    duckdb_destroy_prepare(&ps);
    if (err)
        return err;
    lh_fill_datasets(s, a, reply);
    reply->elapsed_ms = (double)(lh_clock_ns() - t0) / 1e6;
    return NULL;
}
