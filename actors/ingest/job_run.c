/*
 * job_run.c — one ingest job: read the source object by ranges through
 * the reader (pass 1), counting rows, keeping the first row errors and
 * inferring the schema over the whole file; then the rows as a Parquet
 * object (parquet_pass.c); then create the dataset if needed and commit
 * a version recording both objects (the source dropped after the commit
 * when LH_INGEST_KEEP_SOURCE=0); then, when asked, the embedding pass
 * (embed_pass.c).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "actors/ingest/ingest_internal.h"
#include "bus/clock.h"
#include "lib/tabular/source.h"
#include "bus/log.h"
#include "schemas/catalog.h"

/* ---- reading the source ---- */

static lh_err *lh_cancelled(void)
{
    return lh_err_new(LH_EUNAVAILABLE, NULL,
                      "interrupted: ingestd stopped before the job finished; submit it again");
}

typedef struct lh_read_ctx {
    lh_job *job;
    void (*on_chunk)(void *user);
    void *user;
} lh_read_ctx;

static lh_err *lh_read_before(void *user)
{
    lh_read_ctx *c = user;
    return atomic_load(&c->job->cancel) ? lh_cancelled() : NULL;
}

static void lh_read_after(void *user, int64_t bytes)
{
    (void)bytes;
    lh_read_ctx *c = user;
    if (c->on_chunk)
        c->on_chunk(c->user);
}

lh_err *lh_job_read_source(lh_ingest_state *st, lh_job *job, lh_tab_reader *reader,
                           void (*on_chunk)(void *user), void *user)
{
    lh_read_ctx c = {.job = job, .on_chunk = on_chunk, .user = user};
    lh_tab_source src = {
        .conn = lh_actor_conn(st->actor),
        .timeout_ms = lh_actor_config(st->actor)->request_timeout_ms,
        .bucket = job->spec.bucket,
        .key = job->spec.key,
        .sha256 = job->spec.sha256,
        .chunk = st->chunk,
        .before = lh_read_before,
        .after = lh_read_after,
        .user = &c,
    };
    return lh_tab_source_read(&src, reader);
}

/* ---- pass 1 ---- */

typedef struct lh_pass1 {
    lh_ingest_state *st;
    lh_job *job;
    lh_tab_reader *reader;
    lh_tab_infer *inf;
    int64_t rejected;
    int64_t event_rows, event_ms; /* at the last progress event */
} lh_pass1;

static lh_err *lh_pass1_record(void *user, const lh_tab_record *rec)
{
    lh_pass1 *p = user;
    lh_tab_infer_record(p->inf, rec);
    return NULL;
}

static lh_err *lh_pass1_bad(void *user, int64_t line, const char *message)
{
    lh_pass1 *p = user;
    lh_job_add_error(p->st, p->job, line, message);
    if (!p->job->spec.skip_bad)
        return lh_err_new(LH_EUNPROCESSABLE, NULL,
                          "line %lld: %s (on_error: skip would skip such rows)", (long long)line,
                          message);
    p->rejected++;
    return NULL;
}

static void lh_pass1_chunk(void *user)
{
    lh_pass1 *p = user;
    int64_t rows = lh_tab_reader_records(p->reader);
    pthread_mutex_lock(&p->st->mu);
    p->job->rows_read = rows;
    p->job->rows_rejected = p->rejected;
    p->job->bytes = lh_tab_reader_bytes(p->reader);
    pthread_mutex_unlock(&p->st->mu);
    int64_t now = lh_clock_ms();
    if (rows - p->event_rows >= LH_INGEST_PROGRESS_ROWS || now - p->event_ms >= LH_INGEST_PROGRESS_MS) {
        p->event_rows = rows;
        p->event_ms = now;
        lh_job_progress_event(p->st, p->job, "read");
    }
}

/* What makes a column name unusable in the catalog, or NULL. */
static const char *lh_bad_name(const char *name)
{
    if (strlen(name) > 255)
        return "is longer than 255 bytes";
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return "holds a control character";
    return NULL;
}

/* The schema from the reader's columns and the inferred types. */
static lh_err *lh_pass1_schema(lh_pass1 *p)
{
    size_t n = lh_tab_reader_n_columns(p->reader);
    if (n == 0)
        return lh_err_new(LH_EUNPROCESSABLE, NULL, "the file has no columns (is it empty?)");
    if (n > LH_CATALOG_MAX_COLUMNS)
        return lh_err_new(LH_EUNPROCESSABLE, NULL, "the file has %zu columns; at most %d fit a "
                          "dataset", n, LH_CATALOG_MAX_COLUMNS);
    lh_job_column *cols = calloc(n, sizeof *cols);
    if (!cols)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *name = lh_tab_reader_column(p->reader, i);
        cols[i].name = strndup(name, 255); /* checked below */
        lh_tab_infer_column(p->inf, i, &cols[i].type, &cols[i].nullable);
        const char *why = lh_bad_name(name);
        if (why) {
            for (size_t k = 0; k <= i; k++)
                free(cols[k].name);
            free(cols);
            return lh_err_new(LH_EUNPROCESSABLE, NULL, "column %zu's name %s", i + 1, why);
        }
    }
    pthread_mutex_lock(&p->st->mu);
    p->job->schema = cols;
    p->job->n_schema = n;
    pthread_mutex_unlock(&p->st->mu);
    return NULL;
}

size_t lh_job_column_index(const lh_job *job, const char *name)
{
    for (size_t i = 0; i < job->n_schema; i++)
        if (!strcmp(job->schema[i].name, name))
            return i;
    for (size_t i = 0; i < job->n_schema; i++)
        if (!strcasecmp(job->schema[i].name, name))
            return i;
    return LH_JOB_NO_COLUMN;
}

static lh_err *lh_check_embed_columns(const lh_job *job)
{
    const lh_job_spec *s = &job->spec;
    if (!s->embed)
        return NULL;
    if (lh_job_column_index(job, s->embed_column) == LH_JOB_NO_COLUMN)
        return lh_err_new(LH_EBADREQ, "embed.column", "embed.column '%s' is not a column of "
                          "the file", s->embed_column);
    if (*s->id_column && lh_job_column_index(job, s->id_column) == LH_JOB_NO_COLUMN)
        return lh_err_new(LH_EBADREQ, "embed.id_column", "embed.id_column '%s' is not a column "
                          "of the file", s->id_column);
    return NULL;
}

static lh_err *lh_read_and_infer(lh_ingest_state *st, lh_job *job)
{
    lh_pass1 p = {.st = st, .job = job, .inf = lh_tab_infer_create(), .event_ms = lh_clock_ms()};
    lh_tab_handler h = {.record = lh_pass1_record, .bad_record = lh_pass1_bad, .user = &p};
    lh_err *err = lh_tab_reader_create(&job->spec.opts, &h, &p.reader);
    if (!err)
        err = lh_job_read_source(st, job, p.reader, lh_pass1_chunk, &p);
    if (!err) {
        lh_pass1_chunk(&p);
        err = lh_pass1_schema(&p);
    }
    if (!err)
        err = lh_check_embed_columns(job);
    lh_tab_reader_destroy(p.reader);
    lh_tab_infer_destroy(p.inf);
    return err;
}

/* ---- the catalog ---- */

static lh_err *lh_ensure_dataset(lh_ingest_state *st, const lh_job *job)
{
    lh_catalog_create_request req = {
        .name = {job->spec.dataset, strlen(job->spec.dataset)},
        .format = {lh_tab_format_name(job->spec.opts.format),
                   strlen(lh_tab_format_name(job->spec.opts.format))},
    };
    lh_err *err = lh_ingest_call(st, &lh_ep_catalog_create, &req, NULL, NULL);
    if (err && lh_err_code(err) == LH_ECONFLICT) { /* it exists: what we want */
        lh_err_free(err);
        err = NULL;
    }
    return err;
}

static lh_err *lh_commit(lh_ingest_state *st, lh_job *job, const lh_job_parquet *pq)
{
    lh_err *err = lh_ensure_dataset(st, job);
    if (err)
        return err;
    lh_arena *arena = lh_arena_create();
    lh_catalog_column *cols = lh_arena_alloc(arena, job->n_schema * sizeof *cols);
    for (size_t i = 0; i < job->n_schema; i++) {
        const char *type = lh_tab_type_name(job->schema[i].type);
        cols[i].name = (lh_str){job->schema[i].name, strlen(job->schema[i].name)};
        cols[i].type = (lh_str){type, strlen(type)};
        cols[i].nullable = job->schema[i].nullable;
    }
    lh_catalog_location loc = {.bucket = {job->spec.bucket, strlen(job->spec.bucket)},
                               .key = {job->spec.key, strlen(job->spec.key)}};
    /* The options as the reader applied them, defaults spelled out, so a
     * later reader (queryd) needs no knowledge of ours. */
    const lh_tab_options *o = &job->spec.opts;
    char delim[2] = {o->delimiter ? o->delimiter : ',', 0}, quote[2] = {o->quote ? o->quote : '"', 0};
    lh_catalog_csv_options csv = {.delimiter = {delim, 1}, .quote = {quote, 1},
                                  .header = !o->no_header};
    lh_catalog_location pq_loc = {.bucket = {LH_INGEST_TABLE_BUCKET,
                                             strlen(LH_INGEST_TABLE_BUCKET)},
                                  .key = {pq->key, strlen(pq->key)}};
    lh_catalog_parquet parquet = {.location = &pq_loc, .sha256 = {pq->sha256, 64},
                                  .bytes = pq->bytes};
    lh_catalog_commit_request req = {
        .parquet = &parquet,
        .source_kept = st->keep_source,
        .csv = o->format == LH_TAB_CSV ? &csv : NULL,
        .name = {job->spec.dataset, strlen(job->spec.dataset)},
        .location = &loc,
        .schema = {cols, job->n_schema},
        .rows = job->rows_read,
        .bytes = job->spec.size,
        .sha256 = {job->spec.sha256, 64},
    };
    lh_catalog_dataset *d = NULL;
    err = lh_ingest_call(st, &lh_ep_catalog_commit, &req, arena, (void **)&d);
    if (!err) {
        pthread_mutex_lock(&st->mu);
        const lh_catalog_version *v = d->version;
        job->version = v ? v->version : d->latest;
        pthread_mutex_unlock(&st->mu);
    }
    lh_arena_destroy(arena);
    return err;
}

/* The source once its rows are committed as Parquet: its deletion
 * failing leaves an object behind, not a wrong version, so it is logged. */
static void lh_drop_source(lh_ingest_state *st, const lh_job *job)
{
    lh_storage_object_request req = {.bucket = {job->spec.bucket, strlen(job->spec.bucket)},
                                      .key = {job->spec.key, strlen(job->spec.key)}};
    lh_arena *a = lh_arena_create();
    lh_err *err = lh_ingest_call(st, &lh_ep_storage_delete, &req, a, NULL);
    if (err)
        lh_warn("job %s: the source %s/%s stays: %s", job->id, job->spec.bucket, job->spec.key,
                lh_err_message(err));
    lh_err_free(err);
    lh_arena_destroy(a);
}

/* ---- the job ---- */

static void lh_job_start(lh_ingest_state *st, lh_job *job)
{
    pthread_mutex_lock(&st->mu);
    job->state = LH_JOB_RUNNING;
    lh_clock_rfc3339(job->started, sizeof job->started, 3);
    pthread_mutex_unlock(&st->mu);
    lh_err *err = lh_job_persist(st, job);
    if (err) { /* the job can still run; only a crash now would lose its "running" mark */
        lh_warn("job %s: %s", job->id, lh_err_message(err));
        lh_err_free(err);
    }
    lh_job_progress_event(st, job, "read");
}

void lh_job_run(lh_ingest_state *st, lh_job *job)
{
    lh_log_set_request_id(job->rid[0] ? job->rid : NULL);
    lh_job_start(st, job);
    lh_job_parquet pq = {0};
    lh_err *err = lh_read_and_infer(st, job);
    if (!err)
        err = lh_parquet_pass(st, job, &pq);
    if (!err)
        err = lh_commit(st, job, &pq);
    if (!err && !st->keep_source)
        lh_drop_source(st, job);
    if (!err && job->spec.embed)
        err = lh_err_wrap(lh_embed_pass(st, job), "embed column '%s' (version %lld is "
                          "committed)", job->spec.embed_column, (long long)job->version);
    lh_job_finish(st, job, err);
    lh_err_free(err);
    lh_log_set_request_id(NULL);
}
