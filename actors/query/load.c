/*
 * load.c — a version committed before datasets were stored as Parquet
 * (its only object is the CSV or JSON Lines upload): its rows, typed by
 * the reading thread (feed.c) exactly as ingestd inferred them, written
 * into a Parquet file of the cache (lib/parquet). The reading and the
 * writing overlap; a failure in either leaves no file (cache.c).
 */
#include "actors/query/query_internal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/parquet/parquet.h"

typedef struct lh_qloader {
    const lh_catalog_dataset *d;
    const lh_catalog_version *v; /* d->version */
    lh_parquet_column *cols;
    lh_tab_type *types;
    size_t n;
    lh_parquet_writer *w;
} lh_qloader;

static lh_err *lh_parse_types(lh_qloader *l)
{
    const lh_catalog_column *cols = l->v->schema.v;
    l->n = l->v->schema.n;
    if (l->n == 0 || l->n > LH_CATALOG_MAX_COLUMNS)
        return lh_err_new(LH_EUNPROCESSABLE, NULL, "version %" PRId64 " of '%s' has no columns",
                          l->v->version, l->d->name.s);
    l->types = calloc(l->n, sizeof *l->types);
    l->cols = calloc(l->n, sizeof *l->cols);
    if (!l->types || !l->cols)
        abort();
    for (size_t i = 0; i < l->n; i++) {
        if (!lh_tab_type_parse(cols[i].type.s, cols[i].type.len, &l->types[i]))
            return lh_err_new(LH_EUNPROCESSABLE, NULL, "column '%s' of '%s' has an unknown "
                              "type '%s'", cols[i].name.s, l->d->name.s, cols[i].type.s);
        l->cols[i] = (lh_parquet_column){cols[i].name.s, cols[i].name.len, l->types[i]};
    }
    return NULL;
}

/* ---- rows ---- */

static lh_err *lh_put_cell(lh_qloader *l, lh_tab_type t, const lh_qcell *c, const lh_qbatch *b)
{
    if (c->null)
        return lh_parquet_put_null(l->w);
    switch (t) {
    case LH_TAB_TYPE_REAL: return lh_parquet_put_real(l->w, c->v.r);
    case LH_TAB_TYPE_INTEGER: return lh_parquet_put_int(l->w, c->v.i);
    case LH_TAB_TYPE_BOOLEAN: return lh_parquet_put_bool(l->w, c->v.i != 0);
    default: return lh_parquet_put_text(l->w, b->text.data + c->v.s.off, c->v.s.len);
    }
}

static lh_err *lh_write_batch(lh_qloader *l, const lh_qbatch *b)
{
    lh_err *err = NULL;
    for (size_t r = 0; r < b->rows && !err; r++) {
        const lh_qcell *row = b->cells + r * l->n;
        for (size_t i = 0; i < l->n && !err; i++)
            err = lh_put_cell(l, l->types[i], &row[i], b);
        if (!err)
            err = lh_parquet_end_row(l->w);
    }
    return err;
}

/* Writes what the feed reads; a write failure stops the reading. */
static lh_err *lh_write_all(lh_qloader *l, const lh_qload_source *src)
{
    lh_qfeed *feed = NULL;
    lh_err *err = lh_qfeed_start(src, l->types, l->n, &feed);
    if (err)
        return err;
    lh_qbatch *b;
    while (!err && (b = lh_qfeed_next(feed))) {
        err = lh_write_batch(l, b);
        lh_qfeed_recycle(feed, b);
    }
    lh_err *read_err = lh_qfeed_end(feed);
    if (err) {
        lh_err_free(read_err); /* "the load stopped": ours is the cause */
        return err;
    }
    return read_err;
}

lh_err *lh_qload_parquet(const lh_qload_source *src, const char *path, int64_t *rows)
{
    const lh_catalog_dataset *d = src->dataset;
    const lh_catalog_version *v = d->version;
    assert(d->name.s && v && v->location && v->sha256.s);
    lh_qloader l = {.d = d, .v = v};
    *rows = 0;
    lh_err *err = lh_parse_types(&l);
    if (!err) {
        lh_parquet_spec spec = {.columns = l.cols, .n = l.n, .tmp_dir = src->tmp_dir,
                                .memory_limit = "1GB", .threads = 1};
        err = lh_parquet_writer_create(&spec, &l.w);
    }
    if (!err)
        err = lh_write_all(&l, src);
    if (!err)
        err = lh_parquet_writer_finish(l.w, path, rows);
    lh_parquet_writer_destroy(l.w);
    free(l.types);
    free(l.cols);
    return err;
}
