/*
 * session.c — one query thread's DuckDB connection, the dataset views it
 * shows, and the deadline of the statement it runs.
 *
 * A statement names datasets ("sales", "sales@2"); the cache holds their
 * versions as Parquet files. The bridge is a TEMP VIEW per name on this
 * connection (`CREATE TEMP VIEW "sales" AS SELECT * FROM
 * read_parquet('<cache>/<key>.parquet')`), created by us, never by a
 * statement (guard.c lets only queries through), and kept while the
 * catalog still backs it: every query first drops the views whose
 * dataset has a newer version, was deleted or was re-created. Temp views
 * belong to this connection, so threads never see each other's.
 *
 * The deadline: pool.c's watch calls lh_qsession_watch, which interrupts
 * the connection (duckdb_interrupt) once the running statement is past
 * it. `mu` makes an interrupt reach only the statement it was meant for.
 */
#include "actors/query/query_internal.h"
#include "bus/clock.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/parquet/parquet.h"

struct lh_qsession {
    duckdb_connection conn;
    lh_qview *views;
    size_t n, cap;
    pthread_mutex_t mu;  /* the three below, between this thread and the watch */
    int64_t deadline_ns; /* of the running statement; 0: none runs */
    bool timed_out;
};

static lh_err *lh_exec(lh_qsession *s, const char *sql)
{
    duckdb_result r;
    lh_err *err = NULL;
    if (duckdb_query(s->conn, sql, &r) == DuckDBError)
        err = lh_err_new(LH_EINTERNAL, NULL, "%s: %s", sql, duckdb_result_error(&r));
    duckdb_destroy_result(&r);
    return err;
}

lh_err *lh_qsession_open(duckdb_database db, lh_qsession **out)
{
    lh_qsession *s = calloc(1, sizeof *s);
    if (!s)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    pthread_mutex_init(&s->mu, NULL);
    if (duckdb_connect(db, &s->conn) == DuckDBError) {
        lh_qsession_close(s);
        return lh_err_new(LH_EINTERNAL, NULL, "DuckDB: cannot connect a query thread");
    }
    *out = s;
    return NULL;
}

void lh_qsession_close(lh_qsession *s)
{
    if (!s)
        return;
    if (s->conn)
        duckdb_disconnect(&s->conn);
    pthread_mutex_destroy(&s->mu);
    free(s->views);
    free(s);
}

duckdb_connection lh_qsession_conn(lh_qsession *s) { return s->conn; }

lh_qview *lh_qsession_views(lh_qsession *s, size_t *n)
{
    *n = s->n;
    return s->views;
}

lh_qview *lh_qsession_find_view(lh_qsession *s, const char *name)
{
    for (size_t i = 0; name && i < s->n; i++)
        if (!strcasecmp(s->views[i].name, name))
            return &s->views[i];
    return NULL;
}

/* ---- views ---- */

static lh_err *lh_drop_view(lh_qsession *s, size_t i)
{
    lh_buf sql;
    lh_buf_init(&sql);
    lh_buf_append_str(&sql, "DROP VIEW IF EXISTS temp.main.");
    lh_parquet_quote(&sql, s->views[i].name, strlen(s->views[i].name), '"');
    lh_err *err = lh_exec(s, lh_buf_cstr(&sql));
    lh_buf_free(&sql);
    s->views[i] = s->views[--s->n];
    return err;
}

/* Versions never change once committed, so a view stays right while its
 * dataset is the same one (same creation time) and, for the latest, while
 * the latest is still the version it shows. */
static bool lh_view_current(const lh_qview *v, const lh_catalog_list_reply *cat)
{
    const lh_catalog_dataset *d = lh_qcatalog_find(cat, v->dataset);
    if (!d || !d->created.s || strcmp(d->created.s, v->created))
        return false;
    if (v->pinned)
        return v->version <= d->latest;
    const lh_catalog_version *latest = d->version;
    return latest && latest->version == v->version && latest->sha256.s &&
           !strcmp(latest->sha256.s, v->sha256);
}

lh_err *lh_qsession_refresh(lh_qsession *s, const lh_catalog_list_reply *cat)
{
    lh_err *err = NULL;
    for (size_t i = s->n; i-- > 0 && !err;) {
        s->views[i].used = false;
        if (!lh_view_current(&s->views[i], cat))
            err = lh_drop_view(s, i);
    }
    return err;
}

lh_err *lh_qsession_add_view(lh_qsession *s, const lh_qview *v)
{
    assert(!lh_qsession_find_view(s, v->name));
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->views = realloc(s->views, s->cap * sizeof *s->views);
        if (!s->views)
            abort();
    }
    lh_buf sql;
    lh_buf_init(&sql);
    lh_buf_append_str(&sql, "CREATE OR REPLACE TEMP VIEW ");
    lh_parquet_quote(&sql, v->name, strlen(v->name), '"');
    lh_buf_append_str(&sql, " AS SELECT * FROM read_parquet(");
    lh_parquet_quote(&sql, v->path, strlen(v->path), '\'');
    lh_buf_append_str(&sql, ")");
    lh_err *err = lh_exec(s, lh_buf_cstr(&sql));
    lh_buf_free(&sql);
    if (!err)
        s->views[s->n++] = *v;
    return err;
}

/* ---- the deadline ---- */

void lh_qsession_begin(lh_qsession *s, int64_t timeout_ms)
{
    assert(timeout_ms > 0);
    pthread_mutex_lock(&s->mu);
    s->timed_out = false;
    s->deadline_ns = lh_clock_ns() + timeout_ms * 1000000;
    pthread_mutex_unlock(&s->mu);
}

void lh_qsession_end(lh_qsession *s)
{
    pthread_mutex_lock(&s->mu);
    s->deadline_ns = 0;
    pthread_mutex_unlock(&s->mu);
}

bool lh_qsession_timed_out(lh_qsession *s)
{
    pthread_mutex_lock(&s->mu);
    bool t = s->timed_out;
    pthread_mutex_unlock(&s->mu);
    return t;
}

int64_t lh_qsession_watch(lh_qsession *s, int64_t now_ns, bool stopping)
{
    pthread_mutex_lock(&s->mu);
    int64_t deadline = s->deadline_ns;
    if (deadline && (stopping || now_ns >= deadline)) {
        s->timed_out = !stopping;
        duckdb_interrupt(s->conn);
    }
    pthread_mutex_unlock(&s->mu);
    return deadline;
}
