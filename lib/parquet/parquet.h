/*
 * parquet.h — typed rows into a Parquet file, written by DuckDB.
 *
 * A dataset version is stored as Parquet (ingestd writes it at commit;
 * queryd writes one for versions committed before that). Both hand over
 * rows already of the catalog's types (integer, real, boolean, text);
 * DuckDB's appender gathers them in a private in-memory database, which
 * spills to `tmp_dir` past `memory_limit`, and COPY writes the file with
 * zstd. Nothing here reads SQL from outside: the only statements are the
 * table's definition and the COPY, both built from quoted names.
 */
#ifndef LH_LIB_PARQUET_H
#define LH_LIB_PARQUET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/tabular/infer.h"
#include "lib/tabular/tabular.h"
#include "bus/buf.h"
#include "bus/err.h"

typedef struct lh_parquet_column {
    const char *name;
    size_t len;
    lh_tab_type type;
} lh_parquet_column;

typedef struct lh_parquet_spec {
    const lh_parquet_column *columns;
    size_t n;
    const char *tmp_dir;      /* where DuckDB may spill; created if missing */
    const char *memory_limit; /* DuckDB's spelling ("512MB"); NULL: its default */
    int threads;              /* 0: DuckDB's default */
} lh_parquet_spec;

typedef struct lh_parquet_writer lh_parquet_writer;

lh_err *lh_parquet_writer_create(const lh_parquet_spec *spec, lh_parquet_writer **out);
/* Values of the current row, one per column in order, then end_row. */
lh_err *lh_parquet_put_null(lh_parquet_writer *w);
lh_err *lh_parquet_put_int(lh_parquet_writer *w, int64_t v);
lh_err *lh_parquet_put_real(lh_parquet_writer *w, double v);
lh_err *lh_parquet_put_bool(lh_parquet_writer *w, bool v);
lh_err *lh_parquet_put_text(lh_parquet_writer *w, const char *s, size_t len);
lh_err *lh_parquet_end_row(lh_parquet_writer *w);
/* Appends a record of the tabular reader as one row: each field becomes
 * its column's type by lh_tab_convert, the rule that inferred the type
 * (missing trailing fields are nulls). A field that does not fit, or more
 * fields than columns, is a 422 naming the line and the column. */
lh_err *lh_parquet_put_record(lh_parquet_writer *w, const lh_tab_record *rec);
/* A reader handler appending every good record (put_record) and passing
 * over malformed ones: a version only holds rows ingestd kept. */
lh_tab_handler lh_parquet_handler(lh_parquet_writer *w);
int64_t lh_parquet_rows(const lh_parquet_writer *w);

/* Writes every row appended to `path` (replacing it); *rows gets their count. */
lh_err *lh_parquet_writer_finish(lh_parquet_writer *w, const char *path, int64_t *rows);
void lh_parquet_writer_destroy(lh_parquet_writer *w);

/* Appends `s` to `out` as a quoted SQL identifier or string literal. */
void lh_parquet_quote(lh_buf *out, const char *s, size_t len, char quote);

#endif
