/*
 * ingest_actor.c — ingestd: its endpoint table, the checks that turn an
 * ingest.file request into a job spec (everything a user can get wrong is
 * refused here, before a job exists), ingest.status, and the lifecycle.
 */
#include "actors/ingest/ingest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "actors/ingest/ingest_internal.h"
#include "bus/log.h"
#include "lib/state/state.h"
#include "schemas/catalog.h"
#include "schemas/vector.h"

/* ---- small helpers ---- */

static bool lh_str_eq(lh_str s, const char *c)
{
    return s.s && s.len == strlen(c) && !memcmp(s.s, c, s.len);
}

static void lh_copy(char *dst, size_t cap, lh_str s)
{
    snprintf(dst, cap, "%.*s", s.s ? (int)s.len : 0, s.s ? s.s : "");
}

/* The same error, naming the request field at fault. */
static lh_err *lh_with_field(lh_err *err, const char *field)
{
    if (!err)
        return NULL;
    lh_err *named = lh_err_new(lh_err_code(err), field, "%s", lh_err_message(err));
    lh_err_free(err);
    return named;
}

/* ---- ingest.file: the checks ---- */

static lh_err *lh_spec_format(const lh_ingest_file_request *r, lh_job_spec *s)
{
    if (r->format.s) {
        lh_tab_format_parse(r->format.s, r->format.len, &s->opts.format); /* schema's choices */
        return NULL;
    }
    if (!r->source)
        return lh_err_new(LH_EBADREQ, "format", "format is required with content (there is "
                          "no key to tell it from): csv or jsonl");
    if (!lh_tab_format_from_key(s->key, strlen(s->key), &s->opts.format))
        return lh_err_new(LH_EBADREQ, "format", "cannot tell the format from the key '%s' "
                          "(.csv, .jsonl or .ndjson); give format: csv or jsonl", s->key);
    return NULL;
}

static lh_err *lh_spec_csv(const lh_ingest_file_request *r, lh_job_spec *s)
{
    const lh_catalog_csv_options *csv = r->csv;
    if (csv && s->opts.format != LH_TAB_CSV)
        return lh_err_new(LH_EBADREQ, "csv", "csv options apply only to format csv");
    if (csv) {
        s->opts.delimiter = csv->delimiter.s ? csv->delimiter.s[0] : 0;
        s->opts.quote = csv->quote.s ? csv->quote.s[0] : 0;
        s->opts.no_header = !csv->header;
    }
    lh_tab_handler none = {0};
    lh_tab_reader *probe = NULL; /* the reader checks its options itself */
    lh_err *err = lh_tab_reader_create(&s->opts, &none, &probe);
    lh_tab_reader_destroy(probe);
    return err;
}

static bool lh_index_name_ok(lh_str name)
{
    if (name.len < 1 || name.len > LH_VECTOR_MAX_INDEX_NAME)
        return false;
    for (size_t i = 0; i < name.len; i++) {
        char c = name.s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

static lh_err *lh_spec_embed(const lh_ingest_file_request *r, lh_job_spec *s)
{
    const lh_ingest_embed_options *e = r->embed;
    if (!e)
        return NULL;
    if (!lh_index_name_ok(e->index))
        return lh_err_new(LH_EBADREQ, "embed.index", "embed.index must be 1 to 64 bytes of "
                          "letters, digits, '_', '-' and '.'");
    s->embed = true;
    lh_copy(s->embed_column, sizeof s->embed_column, e->column);
    lh_copy(s->embed_index, sizeof s->embed_index, e->index);
    lh_copy(s->id_column, sizeof s->id_column, e->id_column);
    lh_copy(s->model, sizeof s->model, e->model);
    return NULL;
}

static lh_err *lh_spec_from_request(const lh_ingest_file_request *r, lh_job_spec *s)
{
    memset(s, 0, sizeof *s);
    if (!r->source == !r->content.data)
        return lh_err_new(LH_EBADREQ, "source", "give exactly one of source (an object in "
                          "storage) and content (the data inline)");
    if (r->dataset.len >= sizeof s->dataset)
        return lh_err_new(LH_EBADREQ, "dataset", "dataset names are at most 63 characters");
    lh_copy(s->dataset, sizeof s->dataset, r->dataset);
    const lh_catalog_location *src = r->source;
    if (src) {
        lh_copy(s->bucket, sizeof s->bucket, src->bucket);
        lh_copy(s->key, sizeof s->key, src->key);
    }
    s->skip_bad = lh_str_eq(r->on_error, "skip");
    lh_err *err = lh_spec_format(r, s);
    if (!err)
        err = lh_spec_csv(r, s);
    if (!err)
        err = lh_spec_embed(r, s);
    return err;
}

/* The dataset's name is valid, and if it exists its format is this one. */
static lh_err *lh_check_dataset(lh_ingest_state *st, const lh_job_spec *s)
{
    lh_catalog_get_request req = {.name = {s->dataset, strlen(s->dataset)}};
    lh_arena *arena = lh_arena_create();
    lh_catalog_dataset *d = NULL;
    lh_err *err = lh_ingest_call(st, &lh_ep_catalog_get, &req, arena, (void **)&d);
    const char *want = lh_tab_format_name(s->opts.format);
    if (err && lh_err_code(err) == LH_ENOTFOUND) {
        lh_err_free(err); /* created by the job */
        err = NULL;
    } else if (err && lh_err_code(err) == LH_EBADREQ) {
        err = lh_with_field(err, "dataset");
    } else if (!err && d->format.s && !lh_str_eq(d->format, want)) {
        err = lh_err_new(LH_ECONFLICT, "format", "dataset '%s' holds %.*s; this file is %s",
                         s->dataset, (int)d->format.len, d->format.s, want);
    }
    lh_arena_destroy(arena);
    return err;
}

/* Inline content becomes an object of its own: ingest-inline/<dataset>/<job>.<format>. */
static lh_err *lh_store_inline(lh_ingest_state *st, const lh_ingest_file_request *r,
                               lh_job *job)
{
    lh_job_spec *s = &job->spec;
    const char *fmt = lh_tab_format_name(s->opts.format);
    snprintf(s->bucket, sizeof s->bucket, "%s", LH_INGEST_INLINE_BUCKET);
    snprintf(s->key, sizeof s->key, "%s/%s.%s", s->dataset, job->id, fmt);
    const char *type = s->opts.format == LH_TAB_CSV ? "text/csv" : "application/x-ndjson";
    lh_storage_put_request req = {
        .bucket = {s->bucket, strlen(s->bucket)},
        .key = {s->key, strlen(s->key)},
        .data = r->content,
        .content_type = {type, strlen(type)},
    };
    return lh_ingest_call(st, &lh_ep_storage_put, &req, NULL, NULL);
}

static lh_err *lh_locate_source(lh_ingest_state *st, const lh_ingest_file_request *r,
                                lh_job *job)
{
    lh_job_spec *s = &job->spec;
    lh_err *err = r->content.data ? lh_store_inline(st, r, job) : NULL;
    if (!err)
        err = lh_ingest_head(st, s->bucket, s->key, &s->size, s->sha256);
    int code = err ? lh_err_code(err) : 0;
    return code == LH_ENOTFOUND || code == LH_EBADREQ
               ? lh_with_field(err, r->content.data ? "content" : "source")
               : err;
}

/* ---- handlers ---- */

static lh_err *lh_file_handler(lh_ctx *ctx, const void *request, void *reply)
{
    const lh_ingest_file_request *r = request;
    lh_ingest_state *st = lh_ctx_state(ctx);
    lh_job_spec spec;
    lh_err *err = lh_spec_from_request(r, &spec);
    if (!err)
        err = lh_check_dataset(st, &spec);
    if (err)
        return err;
    lh_job *job = lh_job_new(&spec, lh_ctx_request_id(ctx));
    err = lh_locate_source(st, r, job);
    if (err) {
        lh_job_free(job);
        return err;
    }
    lh_job_to_reply(job, lh_ctx_arena(ctx), reply); /* before the job belongs to its thread */
    lh_deferred *waiter = r->wait ? lh_ctx_defer(ctx) : NULL;
    err = lh_job_submit(st, job, waiter);
    if (err) {
        lh_job_free(job);
        if (!waiter)
            return err;
        lh_deferred_fail(waiter, err);
        lh_err_free(err);
        return NULL;
    }
    lh_info("job %s: %s/%s into '%s' (%s)", job->id, spec.bucket, spec.key, spec.dataset,
            lh_tab_format_name(spec.opts.format));
    return NULL;
}

static lh_err *lh_status_handler(lh_ctx *ctx, const void *request, void *reply)
{
    const lh_ingest_status_request *r = request;
    lh_ingest_state *st = lh_ctx_state(ctx);
    pthread_mutex_lock(&st->mu);
    lh_job *job = lh_job_find_locked(st, r->job.s, r->job.len);
    bool deferred = false;
    if (job && r->wait && (job->state == LH_JOB_QUEUED || job->state == LH_JOB_RUNNING))
        deferred = lh_job_wait_locked(job, lh_ctx_defer(ctx));
    else if (job)
        lh_job_to_reply(job, lh_ctx_arena(ctx), reply);
    pthread_mutex_unlock(&st->mu);
    if (job || deferred)
        return NULL;
    lh_ingest_job *rec = NULL;
    lh_err *err = lh_ingest_store_get(st->store, r->job.s, r->job.len, lh_ctx_arena(ctx), &rec);
    if (!err)
        *(lh_ingest_job *)reply = *rec;
    return err;
}

/* ---- lifecycle ---- */

static lh_err *lh_open_store(lh_ingest_state *st)
{
    char db[PATH_MAX + 8];
    snprintf(db, sizeof db, "%s/db", st->dir);
    lh_err *err = lh_state_mkdirs(st->dir);
    if (!err)
        err = lh_ingest_store_open(db, &st->store);
    size_t interrupted = 0;
    if (!err)
        err = lh_ingest_store_recover(st->store, &interrupted);
    if (interrupted)
        lh_warn("%zu job%s left unfinished by the last run marked failed (interrupted)",
                interrupted, interrupted == 1 ? "" : "s");
    return err;
}

static void lh_ingest_fini(void *state);

static lh_err *lh_ingest_init(lh_actor *actor, void **state)
{
    lh_ingest_state *st = calloc(1, sizeof *st);
    if (!st)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    st->actor = actor;
    snprintf(st->dir, sizeof st->dir, "%s/ingestd", lh_actor_config(actor)->data_dir);
    st->chunk = (size_t)lh_config_env_int("LH_INGEST_CHUNK_BYTES", LH_INGEST_DEFAULT_CHUNK, 1,
                                    LH_STORAGE_MAX_GET);
    st->batch = (size_t)lh_config_env_int("LH_INGEST_EMBED_BATCH", LH_INGEST_DEFAULT_BATCH, 1, 1024);
    st->n_threads = (int)lh_config_env_int("LH_INGEST_JOB_THREADS", LH_INGEST_DEFAULT_THREADS, 1, 64);
    st->keep_source = lh_config_env_int("LH_INGEST_KEEP_SOURCE", 1, 0, 1) == 1;
    const char *memory = getenv("LH_INGEST_PARQUET_MEMORY");
    snprintf(st->parquet_memory, sizeof st->parquet_memory, "%s",
             memory && *memory ? memory : LH_INGEST_DEFAULT_PARQUET_MEMORY);
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->wake, NULL);
    lh_err *err = lh_open_store(st);
    if (err) {
        lh_ingest_fini(st);
        return err;
    }
    lh_info("jobs in %s/db; %d job thread%s, %zu-byte ranges", st->dir, st->n_threads,
            st->n_threads == 1 ? "" : "s", st->chunk);
    *state = st;
    return NULL;
}

static lh_err *lh_ingest_start(lh_actor *actor, void *state)
{
    (void)actor;
    return lh_runner_start(state);
}

static void lh_ingest_stop(lh_actor *actor, void *state)
{
    (void)actor;
    lh_runner_stop(state);
}

static void lh_ingest_fini(void *state)
{
    lh_ingest_state *st = state;
    if (!st)
        return;
    lh_ingest_store_close(st->store);
    free(st->active);
    pthread_cond_destroy(&st->wake);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

static const lh_endpoint_def lh_ingest_endpoints[] = {
    {&lh_ep_ingest_file, lh_file_handler},
    {&lh_ep_ingest_status, lh_status_handler},
};

const lh_actor_def lh_ingest_actor = {
    .name = "ingestd",
    .version = "0.1.0",
    .description = "CSV and JSON Lines into dataset versions: streamed from storage, schema "
                   "inferred, committed to the catalog, optionally embedded and indexed.",
    .endpoints = lh_ingest_endpoints,
    .n_endpoints = sizeof lh_ingest_endpoints / sizeof lh_ingest_endpoints[0],
    .init = lh_ingest_init,
    .start = lh_ingest_start,
    .stop = lh_ingest_stop,
    .fini = lh_ingest_fini,
};
