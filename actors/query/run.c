/*
 * run.c — one query.sql on one query thread: the catalog's datasets now,
 * the statement prepared (loading and showing the datasets it names, see
 * resolve.c), checked, bound, stepped within its limits, and the reply.
 */
#include "actors/query/query_internal.h"
#include "bus/clock.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include <nats/nats.h>

/* ---- prepare ---- */

static const char *lh_missing_table(const char *sqlite_message)
{
    static const char prefix[] = "no such table: ";
    return strncmp(sqlite_message, prefix, sizeof prefix - 1) ? NULL
                                                              : sqlite_message + sizeof prefix - 1;
}

/* A failed prepare as the caller should hear it. */
static lh_err *lh_prepare_error(lh_qsession *s, int rc)
{
    const char *msg = sqlite3_errmsg(lh_qsession_db(s));
    if (lh_qsession_denial(s)[0]) /* functions are refused with SQLITE_ERROR */
        return lh_err_new(LH_EFORBIDDEN, "sql", "%s", lh_qsession_denial(s));
    if (lh_qguard_is_view_write(msg))
        return lh_err_new(LH_EFORBIDDEN, "sql", "queries are read-only: %s", msg);
    if (rc == SQLITE_INTERRUPT) /* the progress handler saw queryd stopping */
        return lh_err_new(LH_EUNAVAILABLE, NULL, "queryd is stopping; ask again later");
    if ((rc & 0xff) == SQLITE_ERROR)
        return lh_err_new(LH_EBADREQ, "sql", "%s", msg);
    return lh_err_new(LH_EINTERNAL, NULL, "prepare: %s", msg);
}

/* Prepares `sql`; each "no such table" that names a dataset is resolved
 * and the statement prepared again (at most once per dataset named). */
static lh_err *lh_prepare(lh_query_state *st, lh_qsession *s, const lh_catalog_list_reply *cat,
                          const lh_str *sql, sqlite3_stmt **stmt)
{
    for (int round = 0;; round++) {
        const char *tail = NULL;
        int rc = lh_qsession_prepare(s, sql->s, sql->len, stmt, &tail);
        if (rc == SQLITE_OK)
            return lh_qguard_check(*stmt, tail, sql->s + sql->len);
        const char *missing = lh_missing_table(sqlite3_errmsg(lh_qsession_db(s)));
        if (!missing || round == LH_QUERY_MAX_REFS)
            return lh_prepare_error(s, rc);
        char name[LH_QUERY_VIEW_MAX + 8];
        snprintf(name, sizeof name, "%s", missing); /* errmsg changes with the next call */
        bool resolved = false;
        lh_err *err = lh_qresolve(st, s, cat, name, &resolved);
        if (err || !resolved)
            return err ? err : lh_err_new(LH_EBADREQ, "sql", "no such table: %s", name);
    }
}

/* ---- run ---- */

static lh_err *lh_step_error(lh_qsession *s, int rc, const lh_query_sql_request *req)
{
    if (rc == SQLITE_INTERRUPT && lh_qsession_timed_out(s))
        return lh_err_new(LH_EUNPROCESSABLE, "timeout_ms",
                          "query timed out after %lld ms (timeout_ms)", (long long)req->timeout_ms);
    if (rc == SQLITE_INTERRUPT)
        return lh_err_new(LH_EUNAVAILABLE, NULL, "queryd is stopping; ask again later");
    if (rc == SQLITE_NOMEM)
        return lh_err_new(LH_EUNAVAILABLE, NULL, "the query ran out of memory");
    return lh_err_new(LH_EUNPROCESSABLE, "sql", "the query failed: %s",
                      sqlite3_errmsg(lh_qsession_db(s)));
}

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

static lh_err *lh_execute(lh_query_state *st, lh_qsession *s, sqlite3_stmt *stmt,
                          const lh_query_sql_request *req, lh_arena *a, lh_query_sql_reply *reply)
{
    lh_err *err = lh_qparams_bind(stmt, &req->params);
    if (err)
        return err;
    lh_qlimits lim = {.max_rows = req->max_rows, .max_bytes = lh_max_bytes(st)};
    lh_qsession_begin(s, req->timeout_ms);
    int rc = lh_qresult_collect(stmt, &lim, a, reply);
    lh_qsession_end(s);
    if (rc == SQLITE_INTERRUPT && lh_qsession_timed_out(s))
        atomic_fetch_add(&st->timeouts, 1);
    return rc == SQLITE_DONE ? NULL : lh_step_error(s, rc, req);
}

/* The dataset versions the statement read (the authorizer marked them),
 * each once even when named both ways ("sales" and "sales@3"). */
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
    lh_catalog_list_reply *cat = NULL;
    lh_err *err = lh_qcatalog_list(st, a, &cat);
    if (!err)
        err = lh_qsession_refresh(s, cat);
    sqlite3_stmt *stmt = NULL;
    if (!err)
        err = lh_prepare(st, s, cat, &req->sql, &stmt);
    if (!err)
        err = lh_execute(st, s, stmt, req, a, reply);
    sqlite3_finalize(stmt);
    if (err)
        return err;
    lh_fill_datasets(s, a, reply);
    reply->elapsed_ms = (double)(lh_clock_ns() - t0) / 1e6;
    return NULL;
}
