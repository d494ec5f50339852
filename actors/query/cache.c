/*
 * cache.c — queryd's on-disk cache: one SQLite database holding a table
 * per loaded dataset version, and `lh:loaded`, the record of which table
 * holds which version (name, version, sha256) since when.
 *
 * It is a cache: storaged and catalogd are the truth, so it runs with WAL
 * and synchronous=NORMAL (a power cut may lose the last loads, never
 * corrupt the file, and a lost load is loaded again). A version's table
 * and its record are written in one transaction, so a crash never leaves
 * a half-loaded table that a restart would trust. One writer connection
 * does every load; the query threads read through their own connections.
 *
 * Internal names hold ':', which a dataset name cannot, so no dataset can
 * be shadowed by (or resolve to) one of the cache's own tables.
 */
#include "actors/query/query_internal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bus/clock.h"
#include "bus/log.h"

#define LH_QCACHE_TOUCH_EVERY_S 60 /* last_used is written at most this often */

typedef enum { LH_QV_LOADING, LH_QV_READY } lh_qentry_state;

typedef struct lh_qentry {
    struct lh_qentry *next;
    char name[64];
    int64_t version;
    char sha256[65];
    char table[LH_QUERY_TABLE_MAX];
    lh_qentry_state state;
    int64_t touched_s; /* when last_used was last written */
} lh_qentry;

struct lh_qcache {
    sqlite3 *db;              /* the writer */
    pthread_mutex_t write_mu; /* one load (one writer transaction) at a time */
    pthread_mutex_t mu;       /* entries and counters */
    pthread_cond_t changed;   /* an entry finished loading (or failed) */
    lh_qentry *entries;
    int64_t loads, rows, cached;
};

static const char lh_qcache_schema[] =
    "CREATE TABLE IF NOT EXISTS \"lh:loaded\"("
    " name TEXT NOT NULL COLLATE NOCASE, version INTEGER NOT NULL, sha256 TEXT NOT NULL,"
    " rows INTEGER NOT NULL, tbl TEXT NOT NULL UNIQUE, loaded_at TEXT NOT NULL,"
    " last_used TEXT NOT NULL, PRIMARY KEY (name, version, sha256))";

static lh_err *lh_sqlite_err(sqlite3 *db, const char *what)
{
    return lh_err_new(LH_EINTERNAL, NULL, "%s: %s", what, sqlite3_errmsg(db));
}

static lh_err *lh_exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? NULL
                                                                 : lh_sqlite_err(db, sql);
}

/* "ds:<name lowercased>:<version>:<first 16 hex digits of the sha256>". */
static void lh_table_name(const lh_qversion_id *id, char out[LH_QUERY_TABLE_MAX])
{
    char lower[64];
    size_t n = strlen(id->name);
    assert(n < sizeof lower);
    for (size_t i = 0; i <= n; i++)
        lower[i] = (char)(id->name[i] >= 'A' && id->name[i] <= 'Z' ? id->name[i] + 32
                                                                    : id->name[i]);
    snprintf(out, LH_QUERY_TABLE_MAX, "ds:%s:%" PRId64 ":%.16s", lower, id->version, id->sha256);
}

static lh_qentry *lh_entry_new(const char *name, int64_t version, const char *sha,
                               const char *table)
{
    lh_qentry *e = calloc(1, sizeof *e);
    if (!e)
        abort();
    snprintf(e->name, sizeof e->name, "%s", name);
    e->version = version;
    snprintf(e->sha256, sizeof e->sha256, "%s", sha);
    snprintf(e->table, sizeof e->table, "%s", table);
    return e;
}

static lh_qentry *lh_entry_find(lh_qcache *c, const lh_qversion_id *id)
{
    for (lh_qentry *e = c->entries; e; e = e->next)
        if (e->version == id->version && !strcasecmp(e->name, id->name) &&
            !strcmp(e->sha256, id->sha256))
            return e;
    return NULL;
}

static void lh_entry_unlink(lh_qcache *c, lh_qentry *gone)
{
    for (lh_qentry **p = &c->entries; *p; p = &(*p)->next) {
        if (*p == gone) {
            *p = gone->next;
            return;
        }
    }
}

/* ---- opening ---- */

static lh_err *lh_read_entries(lh_qcache *c)
{
    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT name, version, sha256, tbl FROM \"lh:loaded\"";
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return lh_sqlite_err(c->db, "read the cache's records");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        lh_qentry *e = lh_entry_new((const char *)sqlite3_column_text(st, 0),
                                    sqlite3_column_int64(st, 1),
                                    (const char *)sqlite3_column_text(st, 2),
                                    (const char *)sqlite3_column_text(st, 3));
        e->state = LH_QV_READY;
        e->next = c->entries;
        c->entries = e;
        c->cached++;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? NULL : lh_sqlite_err(c->db, "read the cache's records");
}

static lh_err *lh_configure_writer(sqlite3 *db)
{
    sqlite3_busy_timeout(db, 30000);
    sqlite3_stmt *st = NULL;
    bool wal = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL) == SQLITE_OK &&
               sqlite3_step(st) == SQLITE_ROW &&
               !strcasecmp((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    if (!wal)
        return lh_sqlite_err(db, "put the cache in WAL mode");
    /* A load is one big transaction: a large page cache keeps it from
     * spilling into the WAL before it commits. */
    lh_err *err = lh_exec(db, "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-262144");
    return err ? err : lh_exec(db, lh_qcache_schema);
}

lh_err *lh_qcache_open(const char *path, lh_qcache **out)
{
    lh_qcache *c = calloc(1, sizeof *c);
    if (!c)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    pthread_mutex_init(&c->write_mu, NULL);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->changed, NULL);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    lh_err *err = NULL;
    if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK)
        err = lh_err_new(LH_EINTERNAL, NULL, "open the query cache %s: %s", path,
                         c->db ? sqlite3_errmsg(c->db) : "out of memory");
    if (!err)
        err = lh_configure_writer(c->db);
    if (!err)
        err = lh_read_entries(c);
    if (err) {
        lh_qcache_close(c);
        return lh_err_wrap(err, "query cache %s", path);
    }
    *out = c;
    return NULL;
}

void lh_qcache_close(lh_qcache *c)
{
    if (!c)
        return;
    while (c->entries) {
        lh_qentry *e = c->entries;
        assert(e->state == LH_QV_READY); /* no load outlives the query threads */
        c->entries = e->next;
        free(e);
    }
    sqlite3_close(c->db);
    pthread_cond_destroy(&c->changed);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->write_mu);
    free(c);
}

/* ---- loading ---- */

static lh_err *lh_record_load(sqlite3 *db, const lh_qentry *e, int64_t rows)
{
    char now[32];
    lh_clock_rfc3339(now, sizeof now, 0);
    sqlite3_stmt *st = NULL;
    const char *sql = "INSERT INTO \"lh:loaded\"(name, version, sha256, rows, tbl, loaded_at,"
                      " last_used) VALUES (?, ?, ?, ?, ?, ?, ?)";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return lh_sqlite_err(db, "record a load");
    sqlite3_bind_text(st, 1, e->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, e->version);
    sqlite3_bind_text(st, 3, e->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, rows);
    sqlite3_bind_text(st, 5, e->table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? NULL : lh_sqlite_err(db, "record a load");
}

/* The table and its record in one transaction, or neither. */
static lh_err *lh_load_entry(lh_qcache *c, const lh_qentry *e, lh_qfill_fn fill, void *user,
                             int64_t *rows)
{
    pthread_mutex_lock(&c->write_mu);
    lh_err *err = lh_exec(c->db, "BEGIN IMMEDIATE");
    if (!err) {
        err = fill(user, c->db, e->table, rows);
        if (!err)
            err = lh_record_load(c->db, e, *rows);
        if (!err)
            err = lh_exec(c->db, "COMMIT");
        if (err && !sqlite3_get_autocommit(c->db))
            sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    }
    pthread_mutex_unlock(&c->write_mu);
    return err;
}

/* Writes last_used now and then, skipped while a load holds the writer:
 * the date only guides a later eviction, so it need not be exact. */
static void lh_touch(lh_qcache *c, const char *table)
{
    if (pthread_mutex_trylock(&c->write_mu) != 0)
        return;
    char now[32];
    lh_clock_rfc3339(now, sizeof now, 0);
    sqlite3_stmt *st = NULL;
    const char *sql = "UPDATE \"lh:loaded\" SET last_used = ? WHERE tbl = ?";
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, table, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            lh_warn("query cache: last_used of %s not written: %s", table,
                    sqlite3_errmsg(c->db));
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&c->write_mu);
}

/* Waits while another thread loads `id`. Returns the ready entry, or NULL
 * when there is none (never loaded, or the other load failed). */
static lh_qentry *lh_wait_ready_locked(lh_qcache *c, const lh_qversion_id *id)
{
    lh_qentry *e;
    while ((e = lh_entry_find(c, id)) && e->state == LH_QV_LOADING)
        pthread_cond_wait(&c->changed, &c->mu);
    return e;
}

static lh_err *lh_load_new_locked(lh_qcache *c, const lh_qversion_id *id, lh_qfill_fn fill,
                                  void *user, char table[LH_QUERY_TABLE_MAX])
{
    char name[LH_QUERY_TABLE_MAX];
    lh_table_name(id, name);
    lh_qentry *e = lh_entry_new(id->name, id->version, id->sha256, name);
    e->state = LH_QV_LOADING; /* others asking for it now wait on `changed` */
    e->next = c->entries;
    c->entries = e;
    pthread_mutex_unlock(&c->mu);
    int64_t rows = 0, t0 = lh_clock_ns();
    lh_err *err = lh_load_entry(c, e, fill, user, &rows);
    pthread_mutex_lock(&c->mu);
    if (err) {
        lh_entry_unlink(c, e);
        free(e);
    } else {
        e->state = LH_QV_READY;
        e->touched_s = time(NULL);
        c->loads++;
        c->rows += rows;
        c->cached++;
        memcpy(table, e->table, LH_QUERY_TABLE_MAX);
        lh_info("loaded version %" PRId64 " of '%s' (%" PRId64 " rows) in %.0f ms", id->version,
                id->name, rows, (double)(lh_clock_ns() - t0) / 1e6);
    }
    pthread_cond_broadcast(&c->changed);
    return err;
}

lh_err *lh_qcache_acquire(lh_qcache *c, const lh_qversion_id *id, lh_qfill_fn fill, void *user,
                          char table[LH_QUERY_TABLE_MAX])
{
    assert(id->name && id->sha256 && id->version > 0);
    pthread_mutex_lock(&c->mu);
    lh_qentry *e = lh_wait_ready_locked(c, id);
    if (!e) {
        lh_err *err = lh_load_new_locked(c, id, fill, user, table);
        pthread_mutex_unlock(&c->mu);
        return err;
    }
    memcpy(table, e->table, LH_QUERY_TABLE_MAX);
    int64_t now = time(NULL);
    bool touch = now - e->touched_s >= LH_QCACHE_TOUCH_EVERY_S;
    if (touch)
        e->touched_s = now;
    pthread_mutex_unlock(&c->mu);
    if (touch)
        lh_touch(c, table);
    return NULL;
}

void lh_qcache_counts(lh_qcache *c, int64_t *loads, int64_t *rows, int64_t *cached)
{
    pthread_mutex_lock(&c->mu);
    *loads = c->loads;
    *rows = c->rows;
    *cached = c->cached;
    pthread_mutex_unlock(&c->mu);
}
