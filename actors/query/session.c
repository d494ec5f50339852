/*
 * session.c — one query thread's read-only connection to the cache and
 * the dataset views it shows.
 *
 * A statement names datasets ("sales", "sales@2"); the cache holds
 * tables named "ds:sales:2:<sha>". The bridge is a TEMP VIEW per name on
 * this connection (`CREATE TEMP VIEW "sales" AS SELECT * FROM
 * main."ds:sales:2:..."`), created by us with the authorizer stood aside,
 * and kept while the catalog still backs it: every query first drops
 * the views whose dataset has a newer version, was deleted or was
 * re-created. Views live in this connection's temp schema, so threads
 * never see each other's, and the cache file is never written by them.
 */
#include "actors/query/query_internal.h"
#include "bus/clock.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LH_QSESSION_MMAP_BYTES (1ll << 30) /* reads map the file instead of copying it */

struct lh_qsession {
    sqlite3 *db;
    lh_qguard guard;
    lh_qview *views;
    size_t n, cap;
};

static lh_err *lh_session_err(lh_qsession *s, const char *what)
{
    return lh_err_new(LH_EINTERNAL, NULL, "%s: %s", what, sqlite3_errmsg(s->db));
}

/* Runs our own DDL; the authorizer lets it through whole. */
static lh_err *lh_exec_internal(lh_qsession *s, const char *sql)
{
    s->guard.internal = true;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    s->guard.internal = false;
    return rc == SQLITE_OK ? NULL : lh_session_err(s, sql);
}

lh_err *lh_qsession_open(const char *path, const atomic_bool *stop, lh_qsession **out)
{
    lh_qsession *s = calloc(1, sizeof *s);
    if (!s)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    s->guard.session = s;
    s->guard.stop = stop;
    /* Read-only below the authorizer too; temp views still work. */
    int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;
    lh_err *err = NULL;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK)
        err = lh_err_new(LH_EINTERNAL, NULL, "open %s for queries: %s", path,
                         s->db ? sqlite3_errmsg(s->db) : "out of memory");
    if (!err) {
        sqlite3_busy_timeout(s->db, 30000);
        char pragmas[64];
        snprintf(pragmas, sizeof pragmas, "PRAGMA mmap_size=%lld", LH_QSESSION_MMAP_BYTES);
        err = lh_exec_internal(s, pragmas);
    }
    if (!err)
        err = lh_qguard_install(s->db, &s->guard);
    if (err) {
        lh_qsession_close(s);
        return err;
    }
    *out = s;
    return NULL;
}

void lh_qsession_close(lh_qsession *s)
{
    if (!s)
        return;
    sqlite3_close(s->db);
    free(s->views);
    free(s);
}

sqlite3 *lh_qsession_db(lh_qsession *s) { return s->db; }

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
    char *sql = sqlite3_mprintf("DROP VIEW temp.\"%w\"", s->views[i].name);
    assert(sql);
    lh_err *err = lh_exec_internal(s, sql);
    sqlite3_free(sql);
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
    char *sql = sqlite3_mprintf("CREATE TEMP VIEW \"%w\" AS SELECT * FROM main.\"%w\"", v->name,
                                v->table);
    assert(sql);
    lh_err *err = lh_exec_internal(s, sql);
    sqlite3_free(sql);
    if (!err)
        s->views[s->n++] = *v;
    return err;
}

/* ---- statement limits ---- */

int lh_qsession_prepare(lh_qsession *s, const char *sql, size_t len, sqlite3_stmt **stmt,
                        const char **tail)
{
    assert(len <= INT_MAX);
    s->guard.denied[0] = '\0';
    s->guard.denied_general = false;
    return sqlite3_prepare_v3(s->db, sql, (int)len, 0, stmt, tail);
}

void lh_qsession_begin(lh_qsession *s, int64_t timeout_ms)
{
    s->guard.timed_out = false;
    s->guard.deadline_ns = timeout_ms > 0 ? lh_clock_ns() + timeout_ms * 1000000 : 0;
}

void lh_qsession_end(lh_qsession *s) { s->guard.deadline_ns = 0; }

bool lh_qsession_timed_out(const lh_qsession *s) { return s->guard.timed_out; }

const char *lh_qsession_denial(const lh_qsession *s) { return s->guard.denied; }
