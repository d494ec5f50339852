/*
 * load.c — one dataset version into a typed table of the cache: the
 * inserting half of a load. The table gets the catalog's columns with
 * SQL types (booleans as BOOLEAN holding 0/1, a name result.c reads back);
 * rows arrive already typed from the reading thread (feed.c) and go in
 * through one prepared INSERT, bound by type, inside the cache's
 * transaction (cache.c), so a failure anywhere leaves no table behind.
 */
#include "actors/query/query_internal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct lh_qloader {
    sqlite3 *db;
    sqlite3_stmt *insert;
    const lh_catalog_dataset *d;
    const lh_catalog_version *v; /* d->version */
    const lh_catalog_column *cols;
    lh_tab_type *types;
    size_t n;
} lh_qloader;

static const char *lh_sql_type(lh_tab_type t)
{
    switch (t) {
    case LH_TAB_TYPE_INTEGER: return "INTEGER";
    case LH_TAB_TYPE_REAL: return "REAL";
    case LH_TAB_TYPE_BOOLEAN: return "BOOLEAN";
    default: return "TEXT";
    }
}

static void lh_append_ident(lh_buf *b, const char *s, size_t n)
{
    lh_buf_append(b, "\"", 1);
    for (size_t i = 0; i < n; i++)
        lh_buf_append(b, s[i] == '"' ? "\"\"" : s + i, s[i] == '"' ? 2 : 1);
    lh_buf_append(b, "\"", 1);
}

static lh_err *lh_parse_types(lh_qloader *l)
{
    l->cols = l->v->schema.v;
    l->n = l->v->schema.n;
    if (l->n == 0 || l->n > LH_CATALOG_MAX_COLUMNS)
        return lh_err_new(LH_EUNPROCESSABLE, NULL, "version %" PRId64 " of '%s' has no columns",
                          l->v->version, l->d->name.s);
    l->types = calloc(l->n, sizeof *l->types);
    if (!l->types)
        abort();
    for (size_t i = 0; i < l->n; i++)
        if (!lh_tab_type_parse(l->cols[i].type.s, l->cols[i].type.len, &l->types[i]))
            return lh_err_new(LH_EUNPROCESSABLE, NULL, "column '%s' of '%s' has an unknown "
                              "type '%s'", l->cols[i].name.s, l->d->name.s, l->cols[i].type.s);
    return NULL;
}

static lh_err *lh_run_sql(lh_qloader *l, lh_buf *sql, const char *what, sqlite3_stmt **keep)
{
    int rc = keep ? sqlite3_prepare_v3(l->db, lh_buf_cstr(sql), (int)sql->len,
                                       SQLITE_PREPARE_PERSISTENT, keep, NULL)
                  : sqlite3_exec(l->db, lh_buf_cstr(sql), NULL, NULL, NULL);
    lh_err *err = rc == SQLITE_OK ? NULL
                                  : lh_err_new(LH_EINTERNAL, NULL, "%s: %s", what,
                                               sqlite3_errmsg(l->db));
    lh_buf_free(sql);
    return err;
}

static lh_err *lh_create_table(lh_qloader *l, const char *table)
{
    lh_buf sql;
    lh_buf_init(&sql);
    lh_buf_append_str(&sql, "CREATE TABLE main.");
    lh_append_ident(&sql, table, strlen(table));
    for (size_t i = 0; i < l->n; i++) {
        lh_buf_append_str(&sql, i ? ", " : "(");
        lh_append_ident(&sql, l->cols[i].name.s, l->cols[i].name.len);
        lh_buf_appendf(&sql, " %s", lh_sql_type(l->types[i]));
    }
    lh_buf_append_str(&sql, ")");
    return lh_run_sql(l, &sql, "create the table", NULL);
}

static lh_err *lh_prepare_insert(lh_qloader *l, const char *table)
{
    lh_buf sql;
    lh_buf_init(&sql);
    lh_buf_append_str(&sql, "INSERT INTO main.");
    lh_append_ident(&sql, table, strlen(table));
    lh_buf_append_str(&sql, " VALUES (");
    for (size_t i = 0; i < l->n; i++)
        lh_buf_append_str(&sql, i ? ", ?" : "?");
    lh_buf_append_str(&sql, ")");
    return lh_run_sql(l, &sql, "prepare the insert", &l->insert);
}

/* ---- rows ---- */

static int lh_bind_cell(lh_qloader *l, int at, lh_tab_type t, const lh_qcell *c,
                        const lh_qbatch *b)
{
    if (c->null)
        return sqlite3_bind_null(l->insert, at);
    switch (t) {
    case LH_TAB_TYPE_REAL: return sqlite3_bind_double(l->insert, at, c->v.r);
    case LH_TAB_TYPE_INTEGER:
    case LH_TAB_TYPE_BOOLEAN: return sqlite3_bind_int64(l->insert, at, c->v.i);
    default: /* the batch outlives the row's insert */
        return sqlite3_bind_text64(l->insert, at, b->text.data + c->v.s.off, c->v.s.len,
                                   SQLITE_STATIC, SQLITE_UTF8);
    }
}

static lh_err *lh_insert_batch(lh_qloader *l, const lh_qbatch *b)
{
    for (size_t r = 0; r < b->rows; r++) {
        const lh_qcell *row = b->cells + r * l->n;
        for (size_t i = 0; i < l->n; i++)
            if (lh_bind_cell(l, (int)i + 1, l->types[i], &row[i], b) != SQLITE_OK)
                return lh_err_new(LH_EINTERNAL, NULL, "bind: %s", sqlite3_errmsg(l->db));
        int rc = sqlite3_step(l->insert);
        sqlite3_reset(l->insert);
        if (rc != SQLITE_DONE)
            return lh_err_new(LH_EINTERNAL, NULL, "insert: %s", sqlite3_errmsg(l->db));
    }
    return NULL;
}

/* Inserts what the feed reads; an insert failure stops the reading. */
static lh_err *lh_insert_all(lh_qloader *l, const lh_qload_source *src, int64_t *rows)
{
    lh_qfeed *feed = NULL;
    lh_err *err = lh_qfeed_start(src, l->types, l->n, &feed);
    if (err)
        return err;
    lh_qbatch *b;
    while (!err && (b = lh_qfeed_next(feed))) {
        err = lh_insert_batch(l, b);
        *rows += (int64_t)b->rows;
        lh_qfeed_recycle(feed, b);
    }
    lh_err *read_err = lh_qfeed_end(feed);
    if (err) {
        lh_err_free(read_err); /* "the load stopped": ours is the cause */
        return err;
    }
    return read_err;
}

lh_err *lh_qload_table(sqlite3 *db, const char *table, const lh_qload_source *src,
                       int64_t *rows)
{
    const lh_catalog_dataset *d = src->dataset;
    const lh_catalog_version *v = d->version;
    assert(d->name.s && v && v->location && v->sha256.s);
    lh_qloader l = {.db = db, .d = d, .v = v};
    *rows = 0;
    lh_err *err = lh_parse_types(&l);
    if (!err)
        err = lh_create_table(&l, table);
    if (!err)
        err = lh_prepare_insert(&l, table);
    if (!err)
        err = lh_insert_all(&l, src, rows);
    sqlite3_finalize(l.insert);
    free(l.types);
    return err;
}
