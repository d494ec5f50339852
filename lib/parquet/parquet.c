/*
 * parquet.c — the writer of parquet.h: a private DuckDB database per
 * file, one table, then COPY ... TO. Rows are written straight into the
 * vectors of a data chunk (one value costs a store, not a call through
 * the appender's value path) and the chunk is appended whole when full.
 */
#include "lib/parquet/parquet.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <duckdb.h>

#include "bus/buf.h"

typedef struct lh_pq_col {
    duckdb_vector vec;
    void *data;
    uint64_t *validity; /* writable; every row valid until one is set null */
} lh_pq_col;

struct lh_parquet_writer {
    duckdb_database db;
    duckdb_connection conn;
    duckdb_appender app;
    int64_t rows;
    size_t n;
    lh_tab_type *types;
    char **names; /* for errors */
    duckdb_data_chunk chunk;
    lh_pq_col *cols;
    idx_t row, cap; /* the row being filled in the chunk; its capacity */
    size_t col;     /* the next column of that row */
};

void lh_parquet_quote(lh_buf *out, const char *s, size_t len, char quote)
{
    lh_buf_append(out, &quote, 1);
    for (size_t i = 0; i < len; i++) {
        lh_buf_append(out, s + i, 1);
        if (s[i] == quote)
            lh_buf_append(out, &quote, 1);
    }
    lh_buf_append(out, &quote, 1);
}

static const char *lh_duck_type(lh_tab_type t)
{
    switch (t) {
    case LH_TAB_TYPE_INTEGER: return "BIGINT";
    case LH_TAB_TYPE_REAL: return "DOUBLE";
    case LH_TAB_TYPE_BOOLEAN: return "BOOLEAN";
    default: return "VARCHAR";
    }
}

static lh_err *lh_exec(lh_parquet_writer *w, const char *sql)
{
    duckdb_result r;
    lh_err *err = NULL;
    if (duckdb_query(w->conn, sql, &r) == DuckDBError)
        err = lh_err_new(LH_EINTERNAL, NULL, "parquet writer: %s", duckdb_result_error(&r));
    duckdb_destroy_result(&r);
    return err;
}

static lh_err *lh_open(lh_parquet_writer *w, const lh_parquet_spec *spec)
{
    duckdb_config cfg;
    if (duckdb_create_config(&cfg) == DuckDBError)
        return lh_err_new(LH_EINTERNAL, NULL, "parquet writer: no DuckDB configuration");
    char threads[16];
    snprintf(threads, sizeof threads, "%d", spec->threads);
    duckdb_set_config(cfg, "autoinstall_known_extensions", "false");
    duckdb_set_config(cfg, "autoload_known_extensions", "false");
    if (spec->tmp_dir)
        duckdb_set_config(cfg, "temp_directory", spec->tmp_dir);
    if (spec->memory_limit)
        duckdb_set_config(cfg, "memory_limit", spec->memory_limit);
    if (spec->threads > 0)
        duckdb_set_config(cfg, "threads", threads);
    char *why = NULL;
    lh_err *err = NULL;
    if (duckdb_open_ext(NULL, &w->db, cfg, &why) == DuckDBError)
        err = lh_err_new(LH_EINTERNAL, NULL, "parquet writer: %s", why ? why : "cannot open");
    else if (duckdb_connect(w->db, &w->conn) == DuckDBError)
        err = lh_err_new(LH_EINTERNAL, NULL, "parquet writer: cannot connect");
    duckdb_free(why);
    duckdb_destroy_config(&cfg);
    return err;
}

static lh_err *lh_create_table(lh_parquet_writer *w, const lh_parquet_spec *spec)
{
    lh_buf sql;
    lh_buf_init(&sql);
    lh_buf_append_str(&sql, "CREATE TABLE t (");
    for (size_t i = 0; i < spec->n; i++) {
        if (i)
            lh_buf_append_str(&sql, ", ");
        lh_parquet_quote(&sql, spec->columns[i].name, spec->columns[i].len, '"');
        lh_buf_appendf(&sql, " %s", lh_duck_type(spec->columns[i].type));
    }
    lh_buf_append_str(&sql, ")");
    lh_err *err = lh_exec(w, lh_buf_cstr(&sql));
    lh_buf_free(&sql);
    if (!err && duckdb_appender_create(w->conn, NULL, "t", &w->app) == DuckDBError)
        err = lh_err_new(LH_EINTERNAL, NULL, "parquet writer: %s",
                         duckdb_appender_error(w->app));
    return err;
}

static duckdb_type lh_duck_type_id(lh_tab_type t)
{
    switch (t) {
    case LH_TAB_TYPE_INTEGER: return DUCKDB_TYPE_BIGINT;
    case LH_TAB_TYPE_REAL: return DUCKDB_TYPE_DOUBLE;
    case LH_TAB_TYPE_BOOLEAN: return DUCKDB_TYPE_BOOLEAN;
    default: return DUCKDB_TYPE_VARCHAR;
    }
}

/* The chunk's vectors, fetched again after each reset. */
static void lh_bind_vectors(lh_parquet_writer *w)
{
    for (size_t i = 0; i < w->n; i++) {
        lh_pq_col *c = &w->cols[i];
        c->vec = duckdb_data_chunk_get_vector(w->chunk, i);
        c->data = duckdb_vector_get_data(c->vec);
        duckdb_vector_ensure_validity_writable(c->vec);
        c->validity = duckdb_vector_get_validity(c->vec);
    }
}

static void lh_create_chunk(lh_parquet_writer *w)
{
    duckdb_logical_type *types = calloc(w->n, sizeof *types);
    w->cols = calloc(w->n, sizeof *w->cols);
    if (!types || !w->cols)
        abort();
    for (size_t i = 0; i < w->n; i++)
        types[i] = duckdb_create_logical_type(lh_duck_type_id(w->types[i]));
    w->chunk = duckdb_create_data_chunk(types, w->n);
    for (size_t i = 0; i < w->n; i++)
        duckdb_destroy_logical_type(&types[i]);
    free(types);
    w->cap = duckdb_vector_size();
    lh_bind_vectors(w);
}

/* Appends the rows of the chunk and starts it again. */
static lh_err *lh_flush(lh_parquet_writer *w)
{
    if (w->row == 0)
        return NULL;
    duckdb_data_chunk_set_size(w->chunk, w->row);
    lh_err *err = NULL;
    if (duckdb_append_data_chunk(w->app, w->chunk) == DuckDBError)
        err = lh_err_new(LH_EINTERNAL, NULL, "parquet writer: %s",
                         duckdb_appender_error(w->app));
    duckdb_data_chunk_reset(w->chunk);
    lh_bind_vectors(w);
    w->row = 0;
    return err;
}

lh_err *lh_parquet_writer_create(const lh_parquet_spec *spec, lh_parquet_writer **out)
{
    assert(spec->n > 0);
    *out = NULL;
    lh_parquet_writer *w = calloc(1, sizeof *w);
    if (!w)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    w->n = spec->n;
    w->types = calloc(spec->n, sizeof *w->types);
    w->names = calloc(spec->n, sizeof *w->names);
    if (!w->types || !w->names)
        abort();
    for (size_t i = 0; i < spec->n; i++) {
        w->types[i] = spec->columns[i].type;
        w->names[i] = strndup(spec->columns[i].name, spec->columns[i].len);
        if (!w->names[i])
            abort();
    }
    lh_err *err = lh_open(w, spec);
    if (!err)
        err = lh_create_table(w, spec);
    if (!err)
        lh_create_chunk(w);
    if (err) {
        lh_parquet_writer_destroy(w);
        return err;
    }
    *out = w;
    return NULL;
}

/* The column the next value goes to, marked valid; NULL past the last. */
static lh_pq_col *lh_next(lh_parquet_writer *w)
{
    if (w->col >= w->n)
        return NULL;
    lh_pq_col *c = &w->cols[w->col++];
    duckdb_validity_set_row_valid(c->validity, w->row);
    return c;
}

static lh_err *lh_too_many(void)
{
    return lh_err_new(LH_EINTERNAL, NULL, "parquet writer: more values than columns in a row");
}

lh_err *lh_parquet_put_null(lh_parquet_writer *w)
{
    lh_pq_col *c = lh_next(w);
    if (!c)
        return lh_too_many();
    duckdb_validity_set_row_invalid(c->validity, w->row);
    return NULL;
}

lh_err *lh_parquet_put_int(lh_parquet_writer *w, int64_t v)
{
    lh_pq_col *c = lh_next(w);
    if (!c)
        return lh_too_many();
    assert(w->types[w->col - 1] == LH_TAB_TYPE_INTEGER);
    ((int64_t *)c->data)[w->row] = v;
    return NULL;
}

lh_err *lh_parquet_put_real(lh_parquet_writer *w, double v)
{
    lh_pq_col *c = lh_next(w);
    if (!c)
        return lh_too_many();
    assert(w->types[w->col - 1] == LH_TAB_TYPE_REAL);
    ((double *)c->data)[w->row] = v;
    return NULL;
}

lh_err *lh_parquet_put_bool(lh_parquet_writer *w, bool v)
{
    lh_pq_col *c = lh_next(w);
    if (!c)
        return lh_too_many();
    assert(w->types[w->col - 1] == LH_TAB_TYPE_BOOLEAN);
    ((bool *)c->data)[w->row] = v;
    return NULL;
}

lh_err *lh_parquet_put_text(lh_parquet_writer *w, const char *s, size_t len)
{
    lh_pq_col *c = lh_next(w);
    if (!c)
        return lh_too_many();
    assert(w->types[w->col - 1] == LH_TAB_TYPE_TEXT);
    duckdb_vector_assign_string_element_len(c->vec, w->row, s, len); /* copied */
    return NULL;
}

lh_err *lh_parquet_end_row(lh_parquet_writer *w)
{
    if (w->col != w->n)
        return lh_err_new(LH_EINTERNAL, NULL, "parquet writer: a row of %zu values for %zu "
                          "columns", w->col, w->n);
    w->col = 0;
    w->rows++;
    return ++w->row == w->cap ? lh_flush(w) : NULL;
}

static lh_err *lh_put_value(lh_parquet_writer *w, lh_tab_type t, const lh_tab_value *v)
{
    if (v->null)
        return lh_parquet_put_null(w);
    switch (t) {
    case LH_TAB_TYPE_INTEGER: return lh_parquet_put_int(w, v->i);
    case LH_TAB_TYPE_REAL: return lh_parquet_put_real(w, v->r);
    case LH_TAB_TYPE_BOOLEAN: return lh_parquet_put_bool(w, v->b);
    default: return lh_parquet_put_text(w, v->s, v->len);
    }
}

lh_err *lh_parquet_put_record(lh_parquet_writer *w, const lh_tab_record *rec)
{
    static const lh_tab_field absent = {"", 0, LH_TAB_NULL}; /* a JSONL key not seen yet */
    if (rec->n > w->n)
        return lh_err_new(LH_EUNPROCESSABLE, NULL, "line %lld has %zu fields; the schema has "
                          "%zu columns", (long long)rec->line, rec->n, w->n);
    lh_err *err = NULL;
    for (size_t i = 0; i < w->n && !err; i++) {
        lh_tab_value v;
        if (!lh_tab_convert(i < rec->n ? &rec->fields[i] : &absent, w->types[i], &v))
            return lh_err_new(LH_EUNPROCESSABLE, NULL, "line %lld, column '%s' is not %s",
                              (long long)rec->line, w->names[i], lh_tab_type_name(w->types[i]));
        err = lh_put_value(w, w->types[i], &v);
    }
    return err ? err : lh_parquet_end_row(w);
}

static lh_err *lh_on_record(void *user, const lh_tab_record *rec)
{
    return lh_parquet_put_record(user, rec);
}

static lh_err *lh_skip_bad(void *user, int64_t line, const char *message)
{
    (void)user, (void)line, (void)message;
    return NULL;
}

lh_tab_handler lh_parquet_handler(lh_parquet_writer *w)
{
    return (lh_tab_handler){.record = lh_on_record, .bad_record = lh_skip_bad, .user = w};
}

int64_t lh_parquet_rows(const lh_parquet_writer *w)
{
    return w->rows;
}

lh_err *lh_parquet_writer_finish(lh_parquet_writer *w, const char *path, int64_t *rows)
{
    lh_err *err = lh_flush(w);
    if (!err && duckdb_appender_close(w->app) == DuckDBError)
        err = lh_err_new(LH_EINTERNAL, NULL, "parquet writer: %s",
                         duckdb_appender_error(w->app));
    if (err)
        return err;
    lh_buf sql;
    lh_buf_init(&sql);
    lh_buf_append_str(&sql, "COPY t TO ");
    lh_parquet_quote(&sql, path, strlen(path), '\'');
    lh_buf_append_str(&sql, " (FORMAT parquet, COMPRESSION zstd)");
    err = lh_exec(w, lh_buf_cstr(&sql));
    lh_buf_free(&sql);
    if (!err && rows)
        *rows = w->rows;
    return err;
}

void lh_parquet_writer_destroy(lh_parquet_writer *w)
{
    if (!w)
        return;
    if (w->chunk)
        duckdb_destroy_data_chunk(&w->chunk);
    free(w->cols);
    if (w->app)
        duckdb_appender_destroy(&w->app);
    if (w->conn)
        duckdb_disconnect(&w->conn);
    if (w->db)
        duckdb_close(&w->db);
    for (size_t i = 0; w->names && i < w->n; i++)
        free(w->names[i]);
    free(w->names);
    free(w->types);
    free(w);
}
