/*
 * feed.c — the reading half of a load, on a thread of its own.
 *
 * The version's object is streamed from storaged by lh_tab_source_read
 * (its sha256 checked on every range) through the tabular reader ingestd
 * used, so the rows, columns and values are exactly those the catalog's
 * schema was inferred from; each field becomes its column's type by
 * lh_tab_convert, the same rule that inferred it. Rows are handed to the
 * loading thread (load.c) in batches through a small ring of buffers, so
 * fetching and parsing overlap SQLite's inserts: a load runs at the pace
 * of the slower half instead of the sum of both.
 *
 * Malformed records are skipped: a version only exists with them when
 * ingestd skipped them too (on_error: skip).
 */
#include "actors/query/query_internal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/tabular/source.h"
#include "bus/log.h"

#define LH_QFEED_BATCHES 3               /* one filling, two on their way */
#define LH_QFEED_BATCH_ROWS 4096
#define LH_QFEED_BATCH_TEXT (1u << 20)   /* or this many bytes of text */
#define LH_QFEED_CHUNK (4u << 20)        /* bytes per storage.get */

struct lh_qfeed {
    lh_qload_source src;
    const lh_catalog_version *v;
    const lh_catalog_column *cols; /* the schema's, n of them */
    const lh_tab_type *types;
    size_t n;
    char rid[64];
    pthread_t thread;
    bool running;           /* the thread was started: join it */
    pthread_mutex_t mu;
    pthread_cond_t ready;   /* a batch is full, or the feed ended */
    pthread_cond_t freed;   /* a batch came back, or the loader gave up */
    lh_qbatch *full, *full_tail, *spare;
    lh_qbatch *filling;     /* the reading thread's own */
    bool ended;             /* the reading thread is done (err says how) */
    atomic_bool abandoned;  /* the loader stopped taking batches */
    lh_err *err;
    int64_t rows;
};

static lh_err *lh_feed_err(const lh_qfeed *f, const char *what, const char *detail)
{
    return lh_err_new(LH_EUNPROCESSABLE, NULL,
                      "version %" PRId64 " of '%s' cannot be loaded: %s%s", f->v->version,
                      f->src.dataset->name.s, what, detail ? detail : "");
}

/* ---- batches ---- */

static lh_qbatch *lh_batch_new(size_t n)
{
    lh_qbatch *b = calloc(1, sizeof *b);
    if (b)
        b->cells = calloc(LH_QFEED_BATCH_ROWS * n, sizeof *b->cells);
    if (!b || !b->cells)
        abort();
    lh_buf_init(&b->text);
    return b;
}

static void lh_batch_free(lh_qbatch *b)
{
    lh_buf_free(&b->text);
    free(b->cells);
    free(b);
}

static void lh_free_list(lh_qbatch *b)
{
    while (b) {
        lh_qbatch *next = b->next;
        lh_batch_free(b);
        b = next;
    }
}

/* Hands the filling batch over and takes a spare one (waiting for the
 * loader to give one back). False when the loader has given up. */
static bool lh_hand_over(lh_qfeed *f)
{
    pthread_mutex_lock(&f->mu);
    f->filling->next = NULL;
    if (f->full_tail)
        f->full_tail->next = f->filling;
    else
        f->full = f->filling;
    f->full_tail = f->filling;
    f->filling = NULL;
    pthread_cond_signal(&f->ready);
    while (!f->spare && !atomic_load(&f->abandoned))
        pthread_cond_wait(&f->freed, &f->mu);
    if (f->spare) {
        f->filling = f->spare;
        f->spare = f->spare->next;
        f->filling->next = NULL; /* it is on no list while it fills */
    }
    pthread_mutex_unlock(&f->mu);
    return f->filling != NULL;
}

/* ---- the reading thread ---- */

static lh_err *lh_convert(lh_qfeed *f, const lh_tab_record *rec, lh_qcell *row)
{
    static const lh_tab_field absent = {"", 0, LH_TAB_NULL}; /* a JSONL key not seen yet */
    lh_qbatch *b = f->filling;
    for (size_t i = 0; i < f->n; i++) {
        const lh_tab_field *field = i < rec->n ? &rec->fields[i] : &absent;
        lh_tab_value v;
        if (!lh_tab_convert(field, f->types[i], &v))
            return lh_err_new(LH_EUNPROCESSABLE, NULL, "version %" PRId64 " of '%s' cannot be "
                              "loaded: line %" PRId64 ", column '%s' is not %s", f->v->version,
                              f->src.dataset->name.s, rec->line, f->cols[i].name.s,
                              lh_tab_type_name(f->types[i]));
        row[i].null = v.null;
        if (v.null)
            continue;
        switch (f->types[i]) {
        case LH_TAB_TYPE_INTEGER: row[i].v.i = v.i; break;
        case LH_TAB_TYPE_REAL: row[i].v.r = v.r; break;
        case LH_TAB_TYPE_BOOLEAN: row[i].v.i = v.b; break;
        default: /* a batch ends past 1 MiB of text; a record is at most 16 MiB */
            assert(b->text.len + v.len <= UINT32_MAX);
            row[i].v.s.off = (uint32_t)b->text.len;
            row[i].v.s.len = (uint32_t)v.len;
            lh_buf_append(&b->text, v.s, v.len);
        }
    }
    return NULL;
}

static lh_err *lh_on_record(void *user, const lh_tab_record *rec)
{
    lh_qfeed *f = user;
    if (rec->n > f->n)
        return lh_feed_err(f, "its data has more columns than its schema", NULL);
    lh_qbatch *b = f->filling;
    lh_err *err = lh_convert(f, rec, b->cells + b->rows * f->n);
    if (err)
        return err;
    b->rows++;
    f->rows++;
    bool full = b->rows == LH_QFEED_BATCH_ROWS || b->text.len >= LH_QFEED_BATCH_TEXT;
    if (full && !lh_hand_over(f))
        return lh_err_new(LH_EINTERNAL, NULL, "the load stopped");
    return NULL;
}

static lh_err *lh_skip_bad(void *user, int64_t line, const char *message)
{
    (void)user, (void)line, (void)message;
    return NULL;
}

static lh_err *lh_before_range(void *user)
{
    const lh_qfeed *f = user;
    if (atomic_load(&f->abandoned))
        return lh_err_new(LH_EINTERNAL, NULL, "the load stopped");
    return atomic_load(f->src.stop)
               ? lh_err_new(LH_EUNAVAILABLE, NULL, "queryd is stopping; ask again later")
               : NULL;
}

static lh_err *lh_reader_options(const lh_qfeed *f, lh_tab_options *o)
{
    memset(o, 0, sizeof *o);
    const lh_str *fmt = &f->src.dataset->format;
    if (!fmt->s || !lh_tab_format_parse(fmt->s, fmt->len, &o->format))
        return lh_feed_err(f, "unknown format ", fmt->s ? fmt->s : "(none)");
    const lh_catalog_csv_options *csv = f->v->csv;
    if (o->format == LH_TAB_CSV && csv) {
        o->delimiter = csv->delimiter.s ? csv->delimiter.s[0] : 0;
        o->quote = csv->quote.s ? csv->quote.s[0] : 0;
        o->no_header = !csv->header;
    }
    return NULL;
}

/* The reader's columns are the schema's, by name and order, and the rows
 * are as many as the catalog says. */
static lh_err *lh_check_read(const lh_qfeed *f, const lh_tab_reader *r)
{
    if (lh_tab_reader_n_columns(r) != f->n)
        return lh_feed_err(f, "its data and its schema have different columns", NULL);
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(lh_tab_reader_column(r, i), f->cols[i].name.s))
            return lh_feed_err(f, "its data lacks the schema's column ", f->cols[i].name.s);
    if (f->rows != f->v->rows)
        return lh_feed_err(f, "its data does not have the catalog's row count", NULL);
    return NULL;
}

static lh_err *lh_read(lh_qfeed *f)
{
    const lh_catalog_location *loc = f->v->location;
    lh_tab_options opts;
    lh_err *err = lh_reader_options(f, &opts);
    lh_tab_handler h = {.record = lh_on_record, .bad_record = lh_skip_bad, .user = f};
    lh_tab_reader *reader = NULL;
    if (!err)
        err = lh_tab_reader_create(&opts, &h, &reader);
    lh_tab_source source = {
        .conn = f->src.conn,
        .timeout_ms = f->src.timeout_ms,
        .bucket = loc->bucket.s,
        .key = loc->key.s,
        .sha256 = f->v->sha256.s,
        .chunk = LH_QFEED_CHUNK,
        .before = lh_before_range,
        .user = f,
    };
    if (!err)
        err = lh_tab_source_read(&source, reader);
    if (!err)
        err = lh_check_read(f, reader);
    lh_tab_reader_destroy(reader);
    return err;
}

static void *lh_feed_main(void *arg)
{
    lh_qfeed *f = arg;
    lh_log_set_actor("queryd");
    lh_log_set_request_id(f->rid[0] ? f->rid : NULL); /* storage.get carries it */
    lh_err *err = lh_read(f);
    pthread_mutex_lock(&f->mu);
    if (!err && f->filling && f->filling->rows > 0) { /* the last, partly filled batch */
        assert(!f->filling->next);
        if (f->full_tail)
            f->full_tail->next = f->filling;
        else
            f->full = f->filling;
        f->full_tail = f->filling;
        f->filling = NULL;
    }
    f->err = err;
    f->ended = true;
    pthread_cond_signal(&f->ready);
    pthread_mutex_unlock(&f->mu);
    lh_log_set_request_id(NULL);
    return NULL;
}

/* ---- the loading thread's side ---- */

lh_err *lh_qfeed_start(const lh_qload_source *src, const lh_tab_type *types, size_t n,
                       lh_qfeed **out)
{
    const lh_catalog_version *v = src->dataset->version;
    assert(v && v->location && v->sha256.s && v->schema.n == n);
    lh_qfeed *f = calloc(1, sizeof *f);
    if (!f)
        abort();
    *f = (lh_qfeed){.src = *src, .v = v, .cols = v->schema.v, .types = types, .n = n};
    const char *rid = lh_log_request_id();
    snprintf(f->rid, sizeof f->rid, "%s", rid ? rid : "");
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->ready, NULL);
    pthread_cond_init(&f->freed, NULL);
    f->filling = lh_batch_new(n);
    for (int i = 1; i < LH_QFEED_BATCHES; i++) {
        lh_qbatch *b = lh_batch_new(n);
        b->next = f->spare;
        f->spare = b;
    }
    f->running = pthread_create(&f->thread, NULL, lh_feed_main, f) == 0;
    if (!f->running) {
        lh_qfeed_end(f);
        return lh_err_new(LH_EINTERNAL, NULL, "cannot start a load thread");
    }
    *out = f;
    return NULL;
}

lh_qbatch *lh_qfeed_next(lh_qfeed *f)
{
    pthread_mutex_lock(&f->mu);
    while (!f->full && !f->ended)
        pthread_cond_wait(&f->ready, &f->mu);
    lh_qbatch *b = f->full;
    if (b) {
        f->full = b->next;
        if (!f->full)
            f->full_tail = NULL;
    }
    pthread_mutex_unlock(&f->mu);
    return b;
}

void lh_qfeed_recycle(lh_qfeed *f, lh_qbatch *b)
{
    b->rows = 0;
    lh_buf_reset(&b->text);
    pthread_mutex_lock(&f->mu);
    b->next = f->spare;
    f->spare = b;
    pthread_cond_signal(&f->freed);
    pthread_mutex_unlock(&f->mu);
}

lh_err *lh_qfeed_end(lh_qfeed *f)
{
    pthread_mutex_lock(&f->mu);
    atomic_store(&f->abandoned, true); /* a reader still going stops at once */
    pthread_cond_broadcast(&f->freed);
    pthread_mutex_unlock(&f->mu);
    if (f->running)
        pthread_join(f->thread, NULL);
    lh_err *err = f->err;
    lh_free_list(f->full);
    lh_free_list(f->spare);
    if (f->filling)
        lh_batch_free(f->filling);
    pthread_cond_destroy(&f->freed);
    pthread_cond_destroy(&f->ready);
    pthread_mutex_destroy(&f->mu);
    free(f);
    return err;
}
