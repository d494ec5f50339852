/*
 * dataset_upload.c — POST /v1/datasets/{name}?format=csv: a file in one
 * call. The body is streamed into storage (the engine of storage_put.c,
 * any size, bounded memory) as ingest-uploads/<name>/<time>-<random>.<fmt>,
 * then ingested into the dataset, and the job is the answer:
 *
 *   201  the job succeeded; Location: /v1/datasets/{name}?version=N
 *   202  wait=false, or the job still runs at the gateway's deadline;
 *        Location: /v1/ingest/{job} to follow it
 *   422  the job failed (a malformed row...): the error and the job
 *   4xx  options refused before the body is read, or by ingestd after
 *
 * Options are query parameters typed by lh_ingest_upload_query (one
 * schema: checked here at the headers, listed in OpenAPI). An object that
 * did not become a version (the ingest was refused or failed reading it)
 * is deleted again, so failed uploads do not pile up in storage.
 */
#include "gateway/gw.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "bus/clock.h"
#include "bus/json.h"
#include "bus/request.h"
#include "schemas/ingest.h"
#include "schemas/storage.h"

typedef enum {
    LH_GW_UP_FILE, /* ingest.file in flight */
    LH_GW_UP_WAIT, /* ingest.status {wait} in flight */
} lh_gw_up_step;

typedef struct lh_gw_upload {
    char name[64];
    char key[LH_STORAGE_MAX_KEY + 1];
    bool wait;
    lh_gw_up_step step;
    lh_buf ingest;  /* the ingest.file message, made at the headers */
    lh_buf queued;  /* ingest.file's reply as JSON: the 202 body */
    char job[72];
} lh_gw_upload;

static void lh_gw_upload_free(void *state)
{
    lh_gw_upload *u = state;
    if (!u)
        return;
    lh_buf_free(&u->ingest);
    lh_buf_free(&u->queued);
    free(u);
}

static lh_str lh_gw_str(const char *s) { return (lh_str){s, strlen(s)}; }

/* ---- at the headers ---- */

static const char *lh_gw_format_of_type(lh_gw_req *req)
{
    const char *ct = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t n = ct ? strcspn(ct, "; ") : 0;
    if (n == 8 && !strncasecmp(ct, "text/csv", n))
        return "csv";
    static const char *const jsonl[] = {"application/x-ndjson", "application/jsonl",
                                        "application/x-jsonlines"};
    for (size_t i = 0; i < sizeof jsonl / sizeof jsonl[0]; i++)
        if (n == strlen(jsonl[i]) && !strncasecmp(ct, jsonl[i], n))
            return "jsonl";
    return NULL;
}

static lh_err *lh_gw_upload_check(const lh_ingest_upload_query *q, const char *format)
{
    if (!format)
        return lh_err_new(LH_EBADREQ, "format",
                          "give ?format=csv or ?format=jsonl (or a Content-Type of text/csv "
                          "or application/x-ndjson)");
    bool csv_opts = q->delimiter.s || q->quote.s || !q->header;
    if (csv_opts && strcmp(format, "csv"))
        return lh_err_new(LH_EBADREQ, "delimiter",
                          "delimiter, quote and header apply only to format csv");
    bool some = q->embed_column.s || q->embed_index.s || q->embed_id_column.s || q->embed_model.s;
    if (some && (!q->embed_column.s || !q->embed_index.s))
        return lh_err_new(LH_EBADREQ, q->embed_column.s ? "embed_index" : "embed_column",
                          "embedding needs both embed_column and embed_index");
    return NULL;
}

/* <name>/<UTC time>-<random>.<format>: unique without trusting the client. */
static void lh_gw_upload_key(lh_gw_upload *u, const char *format)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = (uint64_t)lh_clock_ns();
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(u->key, sizeof u->key, "%s/%s-%016" PRIx64 ".%s", u->name, stamp, r, format);
}

static void lh_gw_upload_pack_ingest(lh_gw_upload *u, const lh_ingest_upload_query *q,
                                     const char *format)
{
    lh_catalog_location src = {.bucket = lh_gw_str(LH_INGEST_UPLOAD_BUCKET),
                               .key = lh_gw_str(u->key)};
    lh_catalog_csv_options csv = {.delimiter = q->delimiter, .quote = q->quote,
                                  .header = q->header};
    lh_ingest_embed_options embed = {.column = q->embed_column, .index = q->embed_index,
                                     .id_column = q->embed_id_column, .model = q->embed_model};
    lh_ingest_file_request req = {
        .dataset = q->name,
        .source = &src,
        .format = lh_gw_str(format),
        .csv = strcmp(format, "csv") ? NULL : &csv,
        .on_error = q->on_error,
        .embed = q->embed_column.s ? &embed : NULL,
    };
    lh_message_encode(lh_ep_ingest_file.request, &req, &u->ingest);
}

static void lh_gw_upload_pack_begin(const lh_gw_upload *u, const char *format, lh_buf *out)
{
    lh_storage_upload_begin_request req = {
        .bucket = lh_gw_str(LH_INGEST_UPLOAD_BUCKET),
        .key = lh_gw_str(u->key),
        .content_type = lh_gw_str(strcmp(format, "csv") ? "application/x-ndjson" : "text/csv"),
    };
    lh_message_encode(lh_ep_storage_upload_begin.request, &req, out);
}

static lh_err *lh_gw_upload_prepare(lh_gw_upload *u, lh_gw_req *req, lh_arena *arena,
                                    lh_buf *begin)
{
    /* Typed from the URL, then through the decoder, which checks the bounds. */
    lh_buf query;
    lh_buf_init(&query);
    void *given = NULL;
    lh_ingest_upload_query *q = NULL;
    lh_err *err = lh_gw_query_decode(req, &lh_ingest_upload_query_schema, arena, &given);
    if (!err) {
        lh_message_encode_given(&lh_ingest_upload_query_schema, given, &query);
        err = lh_schema_decode(&lh_ingest_upload_query_schema, query.data, query.len, arena,
                               (void **)&q);
    }
    lh_buf_free(&query);
    if (err)
        return err;
    const char *format = q->format.s ? q->format.s : lh_gw_format_of_type(req);
    err = lh_gw_upload_check(q, format);
    if (err)
        return err;
    if (q->name.len >= sizeof u->name)
        return lh_err_new(LH_EBADREQ, "name", "a dataset name has at most 63 characters");
    memcpy(u->name, q->name.s, q->name.len);
    u->wait = q->wait;
    lh_gw_upload_key(u, format);
    lh_gw_upload_pack_ingest(u, q, format);
    lh_gw_upload_pack_begin(u, format, begin);
    return NULL;
}

static lh_err *lh_gw_upload_begin(lh_gw_req *req, void **state, lh_buf *begin)
{
    lh_gw_upload *u = calloc(1, sizeof *u);
    if (!u)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    lh_arena *arena = lh_arena_create();
    lh_err *err = lh_gw_upload_prepare(u, req, arena, begin);
    lh_arena_destroy(arena);
    *state = u;
    return err;
}

/* ---- after the object is stored ---- */

static void lh_gw_upload_committed(lh_gw_put *p, void *state, const char *object, size_t len)
{
    (void)object, (void)len;
    lh_gw_upload *u = state;
    u->step = LH_GW_UP_FILE;
    lh_gw_put_send_next(p, &lh_ep_ingest_file, &u->ingest);
}

/* The object did not become a version: take it away again. */
static void lh_gw_upload_discard(lh_gw_put *p, const lh_gw_upload *u)
{
    lh_storage_object_request req = {.bucket = lh_gw_str(LH_INGEST_UPLOAD_BUCKET),
                                      .key = lh_gw_str(u->key)};
    lh_gw_fire_and_forget(lh_gw_put_gateway(p), &lh_ep_storage_delete, &req,
                          lh_gw_put_request_id(p));
}

static lh_err *lh_gw_upload_read_job(natsMsg *msg, lh_arena *arena, lh_ingest_job **job)
{
    return lh_reply_decode(&lh_ep_ingest_file, natsMsg_GetData(msg),
                           (size_t)natsMsg_GetDataLength(msg), arena, (void **)job);
}

/* ingest.file answered: the job is queued. */
static void lh_gw_upload_queued(lh_gw_put *p, lh_gw_upload *u, natsMsg *msg)
{
    lh_arena *arena = lh_arena_create();
    lh_ingest_job *job = NULL;
    lh_err *err = lh_gw_upload_read_job(msg, arena, &job);
    if (!err && (!job->job.s || job->job.len >= sizeof u->job))
        err = lh_err_new(LH_EINTERNAL, NULL, "ingestd answered without a job id");
    if (!err)
        err = lh_msgpack_to_json(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg),
                                 &u->queued);
    if (err) {
        lh_gw_put_fail_with(p, err, NULL);
        lh_err_free(err);
    } else {
        memcpy(u->job, job->job.s, job->job.len);
        if (u->wait) {
            lh_buf msg_status;
            lh_buf_init(&msg_status);
            lh_ingest_status_request st = {.job = lh_gw_str(u->job), .wait = true};
            lh_message_encode(lh_ep_ingest_status.request, &st, &msg_status);
            u->step = LH_GW_UP_WAIT;
            lh_gw_put_send_next(p, &lh_ep_ingest_status, &msg_status);
            lh_buf_free(&msg_status);
        } else {
            char location[128];
            snprintf(location, sizeof location, "/v1/ingest/%s", u->job);
            lh_gw_put_finish(p, 202, &u->queued, location);
        }
    }
    lh_arena_destroy(arena);
}

/* {"error":{...},"job":{...}}: why the job failed, and the job itself. */
static void lh_gw_upload_failed_body(const lh_ingest_job *job, natsMsg *msg, lh_buf *out)
{
    lh_err *why = lh_err_new(LH_EUNPROCESSABLE, NULL, "ingest failed: %.*s",
                             (int)job->error.len, job->error.s ? job->error.s : "");
    lh_gw_error_json(why, out);
    lh_err_free(why);
    out->len--; /* the closing brace: the job goes in too */
    lh_buf_append_str(out, ",\"job\":");
    lh_err_free(lh_msgpack_to_json(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), out));
    lh_buf_append_str(out, "}");
}

/* ingest.status {wait} answered: the job is done. */
static void lh_gw_upload_done(lh_gw_put *p, lh_gw_upload *u, natsMsg *msg)
{
    lh_arena *arena = lh_arena_create();
    lh_ingest_job *job = NULL;
    lh_buf body;
    lh_buf_init(&body);
    lh_err *err = lh_gw_upload_read_job(msg, arena, &job);
    bool failed = !err && job->state.len == 6 && !memcmp(job->state.s, "failed", 6);
    if (err) {
        lh_gw_put_fail_with(p, err, NULL);
        lh_err_free(err);
    } else if (failed) {
        if (job->version == 0)
            lh_gw_upload_discard(p, u);
        lh_gw_upload_failed_body(job, msg, &body);
        lh_gw_put_finish(p, 422, &body, NULL);
    } else {
        char location[160];
        snprintf(location, sizeof location, "/v1/datasets/%s?version=%" PRId64, u->name,
                 job->version);
        lh_err_free(lh_msgpack_to_json(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg),
                                       &body));
        lh_gw_put_finish(p, 201, &body, location);
    }
    lh_buf_free(&body);
    lh_arena_destroy(arena);
}

static void lh_gw_upload_on_reply(lh_gw_put *p, void *state, lh_err *err, natsMsg *msg)
{
    lh_gw_upload *u = state;
    if (u->step == LH_GW_UP_FILE && err) { /* refused: nothing refers to the object */
        lh_gw_upload_discard(p, u);
        lh_gw_put_fail_with(p, err, msg);
    } else if (u->step == LH_GW_UP_FILE) {
        lh_gw_upload_queued(p, u, msg);
    } else if (err && lh_err_code(err) == LH_ETIMEOUT) { /* still running: follow it */
        char location[128];
        snprintf(location, sizeof location, "/v1/ingest/%s", u->job);
        lh_gw_put_finish(p, 202, &u->queued, location);
    } else if (err) {
        lh_gw_put_fail_with(p, err, msg);
    } else {
        lh_gw_upload_done(p, u, msg);
    }
}

static const lh_gw_put_follow lh_gw_follow_upload = {
    .begin = lh_gw_upload_begin,
    .committed = lh_gw_upload_committed,
    .on_reply = lh_gw_upload_on_reply,
    .free_state = lh_gw_upload_free,
};

static void lh_gw_upload_call(lh_gw_req *req, const char *method, const char *data, size_t *size)
{
    (void)method;
    lh_gw_put_stream_call(req, &lh_gw_follow_upload, data, size);
}

static const lh_gw_stream lh_gw_stream_dataset_upload = {
    .call = lh_gw_upload_call,
    .done = lh_gw_xfer_done,
    .body_type = "text/csv",
    .status = 201,
    .reply_type = "application/json",
    .reply_schema = &lh_ingest_job_schema,
    .query = &lh_ingest_upload_query_schema,
};

const lh_gw_shape lh_gw_shape_dataset_upload = {
    .name = "dataset-upload",
    .stream = &lh_gw_stream_dataset_upload,
};
