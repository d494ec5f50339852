/*
 * load.c — a version committed before datasets were stored as Parquet
 * (its only object is the CSV or JSON Lines upload): the object streamed
 * from storaged (lh_tab_source_read, its sha256 checked on every range)
 * through the tabular reader ingestd used, each record typed exactly as
 * ingestd inferred it and written into a Parquet file of the cache
 * (lib/parquet). Malformed records are skipped: a version only exists
 * with them when ingestd skipped them too (on_error: skip). A failure
 * leaves no file (cache.c).
 */
#include "actors/query/query_internal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/parquet/parquet.h"
#include "lib/tabular/source.h"

typedef struct lh_qloader {
    const lh_qload_source *src;
    const lh_catalog_dataset *d;
    const lh_catalog_version *v; /* d->version */
    lh_parquet_column *cols;
    size_t n;
    lh_parquet_writer *w;
} lh_qloader;

static lh_err *lh_load_err(const lh_qloader *l, lh_err *cause)
{
    if (!cause || lh_err_code(cause) == LH_EUNAVAILABLE)
        return cause;
    lh_err *err = lh_err_new(LH_EUNPROCESSABLE, NULL, "version %" PRId64 " of '%s' cannot be "
                             "loaded: %s", l->v->version, l->d->name.s, lh_err_message(cause));
    lh_err_free(cause);
    return err;
}

static lh_err *lh_parse_types(lh_qloader *l)
{
    const lh_catalog_column *cols = l->v->schema.v;
    l->n = l->v->schema.n;
    if (l->n == 0 || l->n > LH_CATALOG_MAX_COLUMNS)
        return lh_err_new(LH_EUNPROCESSABLE, NULL, "it has no columns");
    l->cols = calloc(l->n, sizeof *l->cols);
    if (!l->cols)
        abort();
    for (size_t i = 0; i < l->n; i++) {
        l->cols[i] = (lh_parquet_column){cols[i].name.s, cols[i].name.len, 0};
        if (!lh_tab_type_parse(cols[i].type.s, cols[i].type.len, &l->cols[i].type))
            return lh_err_new(LH_EUNPROCESSABLE, NULL, "column '%s' has an unknown type '%s'",
                              cols[i].name.s, cols[i].type.s);
    }
    return NULL;
}

static lh_err *lh_reader_options(const lh_qloader *l, lh_tab_options *o)
{
    memset(o, 0, sizeof *o);
    const lh_str *fmt = &l->d->format;
    if (!fmt->s || !lh_tab_format_parse(fmt->s, fmt->len, &o->format))
        return lh_err_new(LH_EUNPROCESSABLE, NULL, "unknown format %s", fmt->s ? fmt->s : "");
    const lh_catalog_csv_options *csv = l->v->csv;
    if (o->format == LH_TAB_CSV && csv) {
        o->delimiter = csv->delimiter.s ? csv->delimiter.s[0] : 0;
        o->quote = csv->quote.s ? csv->quote.s[0] : 0;
        o->no_header = !csv->header;
    }
    return NULL;
}

/* The reader's columns are the schema's, by name and order, and the rows
 * are as many as the catalog says. */
static lh_err *lh_check_read(const lh_qloader *l, const lh_tab_reader *r)
{
    if (lh_tab_reader_n_columns(r) != l->n)
        return lh_err_new(LH_EUNPROCESSABLE, NULL, "its data and its schema have different "
                          "columns");
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(lh_tab_reader_column(r, i), l->cols[i].name))
            return lh_err_new(LH_EUNPROCESSABLE, NULL, "its data lacks the schema's column %s",
                              l->cols[i].name);
    if (lh_parquet_rows(l->w) != l->v->rows)
        return lh_err_new(LH_EUNPROCESSABLE, NULL, "its data does not have the catalog's row "
                          "count");
    return NULL;
}

static lh_err *lh_before_range(void *user)
{
    const lh_qloader *l = user;
    return atomic_load(l->src->stop)
               ? lh_err_new(LH_EUNAVAILABLE, NULL, "queryd is stopping; ask again later")
               : NULL;
}

static lh_err *lh_read(lh_qloader *l)
{
    const lh_catalog_location *loc = l->v->location;
    lh_tab_options opts;
    lh_err *err = lh_reader_options(l, &opts);
    lh_tab_handler h = lh_parquet_handler(l->w);
    lh_tab_reader *reader = NULL;
    if (!err)
        err = lh_tab_reader_create(&opts, &h, &reader);
    lh_tab_source source = {
        .conn = l->src->conn,
        .timeout_ms = l->src->timeout_ms,
        .bucket = loc->bucket.s,
        .key = loc->key.s,
        .sha256 = l->v->sha256.s,
        .chunk = 4u << 20,
        .before = lh_before_range,
        .user = l,
    };
    if (!err)
        err = lh_tab_source_read(&source, reader);
    if (!err)
        err = lh_check_read(l, reader);
    lh_tab_reader_destroy(reader);
    return err;
}

lh_err *lh_qload_parquet(const lh_qload_source *src, const char *path, int64_t *rows)
{
    const lh_catalog_dataset *d = src->dataset;
    const lh_catalog_version *v = d->version;
    assert(d->name.s && v && v->location && v->sha256.s);
    lh_qloader l = {.src = src, .d = d, .v = v};
    *rows = 0;
    lh_err *err = lh_parse_types(&l);
    if (!err) {
        lh_parquet_spec spec = {.columns = l.cols, .n = l.n, .tmp_dir = src->tmp_dir,
                                .memory_limit = "1GB", .threads = 1};
        err = lh_parquet_writer_create(&spec, &l.w);
    }
    if (!err)
        err = lh_read(&l);
    if (!err)
        err = lh_parquet_writer_finish(l.w, path, rows);
    lh_parquet_writer_destroy(l.w);
    free(l.cols);
    return lh_load_err(&l, err);
}
