/*
 * parquet_pass.c — a job's version as Parquet: the source read again
 * (pass 2) through the same reader, each good record typed by the schema
 * pass 1 inferred (lib/parquet, lh_tab_convert: the rule that inferred
 * it), written to a file under $LH_DATA_DIR/ingestd/tmp and stored in
 * storaged as datasets/<dataset>/<sha256>.parquet. Malformed records
 * were counted (or failed the job) in pass 1; here they are passed over.
 * The commit (job_run.c) records the object beside the source, and
 * queryd reads it instead of the source.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actors/ingest/ingest_internal.h"
#include "lib/parquet/parquet.h"
#include "lib/state/state.h"
#include "lib/tabular/upload.h"
#include "bus/clock.h"
#include "bus/log.h"

static lh_err *lh_write_file(lh_ingest_state *st, lh_job *job, const char *tmp_dir,
                             const char *path, int64_t *copy_ns)
{
    lh_parquet_column *cols = calloc(job->n_schema, sizeof *cols);
    if (!cols)
        abort();
    for (size_t i = 0; i < job->n_schema; i++)
        cols[i] = (lh_parquet_column){job->schema[i].name, strlen(job->schema[i].name),
                                      job->schema[i].type};
    lh_parquet_spec spec = {.columns = cols, .n = job->n_schema, .tmp_dir = tmp_dir,
                            .memory_limit = st->parquet_memory};
    lh_parquet_writer *w = NULL;
    lh_err *err = lh_parquet_writer_create(&spec, &w);
    lh_tab_reader *reader = NULL;
    lh_tab_handler h = err ? (lh_tab_handler){0} : lh_parquet_handler(w);
    if (!err)
        err = lh_tab_reader_create(&job->spec.opts, &h, &reader);
    if (!err)
        err = lh_job_read_source(st, job, reader, NULL, NULL);
    int64_t rows = 0, t0 = lh_clock_ns();
    if (!err)
        err = lh_parquet_writer_finish(w, path, &rows);
    *copy_ns = lh_clock_ns() - t0;
    if (!err && rows != job->rows_read) /* the source is checked by sha256: cannot happen */
        err = lh_err_new(LH_EINTERNAL, NULL, "the second read gave %" PRId64 " rows, the "
                         "first %" PRId64, rows, job->rows_read);
    lh_tab_reader_destroy(reader);
    lh_parquet_writer_destroy(w);
    free(cols);
    return err;
}

lh_err *lh_parquet_pass(lh_ingest_state *st, lh_job *job, lh_job_parquet *out)
{
    char tmp_dir[PATH_MAX], path[PATH_MAX + 64];
    snprintf(tmp_dir, sizeof tmp_dir, "%s/tmp", st->dir);
    snprintf(path, sizeof path, "%s/%s.parquet", tmp_dir, job->id);
    lh_job_progress_event(st, job, "parquet");
    int64_t t0 = lh_clock_ns(), copy_ns = 0;
    lh_err *err = lh_state_mkdirs(tmp_dir);
    if (!err)
        err = lh_write_file(st, job, tmp_dir, path, &copy_ns);
    int64_t t1 = lh_clock_ns();
    char sha[LH_SHA256_HEX + 1], key[LH_STORAGE_MAX_KEY + 1];
    snprintf(key, sizeof key, "%s/%s.parquet", job->spec.dataset, job->id);
    lh_tab_upload up = {
        .conn = lh_actor_conn(st->actor),
        .timeout_ms = lh_actor_config(st->actor)->request_timeout_ms,
        .bucket = LH_INGEST_TABLE_BUCKET,
        .key = key,
        .content_type = "application/vnd.apache.parquet",
    };
    if (!err)
        err = lh_tab_upload_file(&up, path, &out->bytes, sha);
    unlink(path);
    if (!err)
        lh_info("job %s: rows read again and appended in %.0f ms, Parquet written in %.0f ms, "
                "stored (%" PRId64 " bytes) in %.0f ms", job->id,
                (double)(t1 - t0 - copy_ns) / 1e6, (double)copy_ns / 1e6, out->bytes,
                (double)(lh_clock_ns() - t1) / 1e6);
    if (!err) {
        snprintf(out->key, sizeof out->key, "%s", key);
        memcpy(out->sha256, sha, sizeof out->sha256);
    }
    return lh_err_wrap(err, "write the version as Parquet");
}
