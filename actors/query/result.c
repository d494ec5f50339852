/*
 * result.c — result rows straight into msgpack (bus/value.h), within the caps.
 *
 * Rows are packed as they are stepped, so memory follows the result's
 * size, not a copy of it. Two caps end a result early with `truncated`:
 * max_rows, and a byte bound that keeps the reply within one bus
 * message. The bound counts, for each value, the larger of its msgpack
 * size and its JSON size (the gateway and JSON callers get JSON, where a
 * null is 4 bytes and a control character 6), so the reply fits in
 * either encoding. Booleans are stored as 0/1 and go out as true/false
 * when the column is a dataset's boolean column.
 */
#include "actors/query/query_internal.h"

#include <assert.h>
#include <string.h>
#include <strings.h>

#include "bus/value.h"

#define LH_QROW_OVERHEAD 5 /* an array header, or "[" "]" and a comma */

typedef struct lh_qcollect {
    sqlite3_stmt *stmt;
    int ncol;
    const char **declared; /* "integer", "real", "boolean", "text" or NULL */
    int *first_type;       /* SQLite type of the first non-null value; 0: none yet */
    lh_buf rows;
    lh_vw w;
    size_t cost;
} lh_qcollect;

static const char *lh_declared_type(const char *decl)
{
    static const char *const types[] = {"integer", "real", "boolean", "text"};
    for (size_t i = 0; decl && i < sizeof types / sizeof types[0]; i++)
        if (!strcasecmp(decl, types[i]))
            return types[i];
    return NULL;
}

static const char *lh_value_type(int sqlite_type)
{
    switch (sqlite_type) {
    case SQLITE_INTEGER: return "integer";
    case SQLITE_FLOAT: return "real";
    case SQLITE_TEXT: return "text";
    case SQLITE_BLOB: return "blob";
    default: return "null";
    }
}

/* ---- one value ---- */

static size_t lh_text_cost(const unsigned char *s, size_t n)
{
    size_t escapes = 0;
    for (size_t i = 0; i < n; i++)
        escapes += s[i] < 0x20 || s[i] == '"' || s[i] == '\\';
    return n + 5 + 5 * escapes; /* msgpack's header at most 5; an escape at most 6 bytes */
}

static size_t lh_pack_text(lh_qcollect *c, int i)
{
    const unsigned char *s = sqlite3_column_text(c->stmt, i);
    size_t n = (size_t)sqlite3_column_bytes(c->stmt, i);
    lh_vw_str(&c->w, (const char *)s, n);
    return lh_text_cost(s, n);
}

static size_t lh_pack_blob(lh_qcollect *c, int i)
{
    const void *p = sqlite3_column_blob(c->stmt, i);
    size_t n = (size_t)sqlite3_column_bytes(c->stmt, i);
    lh_vw_bin(&c->w, p, n);
    return 4 * ((n + 2) / 3) + 5; /* base64 in JSON */
}

/* Packs column i of the current row; returns its cost. */
static size_t lh_pack_value(lh_qcollect *c, int i)
{
    int t = sqlite3_column_type(c->stmt, i);
    if (t != SQLITE_NULL && !c->first_type[i])
        c->first_type[i] = t;
    switch (t) {
    case SQLITE_INTEGER:
        if (c->declared[i] && !strcmp(c->declared[i], "boolean")) {
            lh_vw_bool(&c->w, sqlite3_column_int64(c->stmt, i) != 0);
            return 6;
        }
        lh_vw_int(&c->w, sqlite3_column_int64(c->stmt, i));
        return 21;
    case SQLITE_FLOAT: lh_vw_double(&c->w, sqlite3_column_double(c->stmt, i)); return 25;
    case SQLITE_TEXT: return lh_pack_text(c, i);
    case SQLITE_BLOB: return lh_pack_blob(c, i);
    default: lh_vw_nil(&c->w); return 5;
    }
}

/* ---- rows ---- */

/* Packs the current row unless it would pass the byte bound. */
static bool lh_pack_row(lh_qcollect *c, size_t max_bytes)
{
    size_t mark = c->rows.len, cost = LH_QROW_OVERHEAD;
    lh_vw_array(&c->w, (size_t)c->ncol);
    for (int i = 0; i < c->ncol; i++)
        cost += lh_pack_value(c, i);
    if (c->cost + cost > max_bytes) {
        c->rows.len = mark;
        return false;
    }
    c->cost += cost;
    return true;
}

static size_t lh_columns_cost(sqlite3_stmt *stmt, int ncol)
{
    size_t cost = 0;
    for (int i = 0; i < ncol; i++) {
        const char *name = sqlite3_column_name(stmt, i);
        cost += lh_text_cost((const unsigned char *)name, name ? strlen(name) : 0) + 32;
    }
    return cost;
}

static void lh_fill_columns(lh_qcollect *c, lh_arena *a, lh_query_sql_reply *out)
{
    lh_query_column *cols = lh_arena_alloc(a, (size_t)(c->ncol ? c->ncol : 1) * sizeof *cols);
    for (int i = 0; i < c->ncol; i++) {
        const char *name = sqlite3_column_name(c->stmt, i);
        name = name ? name : "";
        cols[i].name = (lh_str){lh_arena_strndup(a, name, strlen(name)), strlen(name)};
        const char *type = c->declared[i] ? c->declared[i] : lh_value_type(c->first_type[i]);
        cols[i].type = (lh_str){type, strlen(type)}; /* static strings */
    }
    out->columns = (lh_objs){cols, (size_t)c->ncol};
}

/* The array header, then the packed rows, in memory that lives as long
 * as the reply. */
static void lh_fill_rows(lh_qcollect *c, lh_arena *a, lh_query_sql_reply *out)
{
    lh_buf head;
    lh_buf_init(&head);
    lh_vw hw;
    lh_vw_init(&hw, &head);
    lh_vw_array(&hw, (size_t)out->row_count);
    char *raw = lh_arena_alloc(a, head.len + c->rows.len);
    memcpy(raw, head.data, head.len);
    if (c->rows.len)
        memcpy(raw + head.len, c->rows.data, c->rows.len);
    out->rows = (lh_raw){raw, head.len + c->rows.len};
    lh_buf_free(&head);
}

int lh_qresult_collect(sqlite3_stmt *stmt, const lh_qlimits *lim, lh_arena *a,
                       lh_query_sql_reply *out)
{
    assert(lim->max_rows > 0);
    lh_qcollect c = {.stmt = stmt, .ncol = sqlite3_column_count(stmt)};
    size_t n = (size_t)(c.ncol ? c.ncol : 1);
    c.declared = lh_arena_alloc(a, n * sizeof *c.declared);
    c.first_type = lh_arena_alloc(a, n * sizeof *c.first_type);
    for (int i = 0; i < c.ncol; i++)
        c.declared[i] = lh_declared_type(sqlite3_column_decltype(stmt, i));
    lh_buf_init(&c.rows);
    lh_vw_init(&c.w, &c.rows);
    c.cost = lh_columns_cost(stmt, c.ncol);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (out->row_count == lim->max_rows || !lh_pack_row(&c, lim->max_bytes)) {
            out->truncated = true; /* a row past a cap exists */
            rc = SQLITE_DONE;
            break;
        }
        out->row_count++;
    }
    lh_fill_columns(&c, a, out);
    lh_fill_rows(&c, a, out);
    lh_buf_free(&c.rows);
    return rc;
}
