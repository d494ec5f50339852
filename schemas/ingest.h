/*
 * ingest.h — the messages of ingestd (`ingest.*`): a CSV or JSON Lines
 * file in storage (or inline) becomes a dataset version, optionally with
 * one text column embedded into a vector index.
 */
#ifndef LH_SCHEMAS_INGEST_H
#define LH_SCHEMAS_INGEST_H

#include "bus/contract.h"
#include "bus/schema.h"
#include "schemas/catalog.h"

#define LH_INGEST_MAX_INLINE (4 * 1024 * 1024)
#define LH_INGEST_MAX_ERRORS 20 /* first errors kept per job */
/* Where `lakehouse ingest` and POST /v1/datasets/{name} put the files they upload. */
#define LH_INGEST_UPLOAD_BUCKET "ingest-uploads"
/* Where ingestd stores each version's rows as Parquet: <dataset>/<job>.parquet. */
#define LH_INGEST_TABLE_BUCKET "datasets"


#define LH_INGEST_EMBED_OPTIONS(F, T)                                                      \
    F(T, column, STRING, .required = true, .min = 1, .max = 255,                           \
      .doc = "The text column to embed.")                                                  \
    F(T, index, STRING, .required = true, .min = 1, .max = 64,                             \
      .doc = "Vector index to upsert into (created when missing, cosine, hnsw, recording " \
             "the model).")                                                                \
    F(T, id_column, STRING, .max = 255,                                                    \
      .doc = "Column giving item ids; default the row's position among the accepted rows " \
             "(\"1\", \"2\", ...). Rows whose id is empty are not embedded (noted in errors).") \
    F(T, model, STRING, .max = 128,                                                        \
      .doc = "Embedding model; default the index's recorded model, else embedd's. A job "  \
             "whose model differs from the index's recorded one fails.")
LH_MESSAGE(lh_ingest_embed_options, LH_INGEST_EMBED_OPTIONS,
           "Which column to embed, into which index.")

#define LH_INGEST_FILE_REQUEST(F, T)                                                       \
    F(T, dataset, STRING, .required = true, .doc = LH_CATALOG_NAME_DOC)                   \
    F(T, source, OBJECT, .sub = &lh_catalog_location_schema,                               \
      .doc = "The object to ingest (exactly one of source and content).")                \
    F(T, content, BYTES, .max = LH_INGEST_MAX_INLINE,                                      \
      .doc = "Small inline data, at most 4 MiB (stored first as ingest-inline/<dataset>/" \
             "<job>.<format>, then ingested); needs `format`.")                           \
    F(T, format, STRING, .choices = "csv|jsonl",                                           \
      .doc = "Data format; when absent, the key's extension: .csv, .jsonl or .ndjson.")   \
    F(T, csv, OBJECT, .sub = &lh_catalog_csv_options_schema, .doc = "CSV options.")        \
    F(T, on_error, STRING, .choices = "fail|skip",                                         \
      .doc = "A bad row fails the job (default) or is counted and skipped.")              \
    F(T, embed, OBJECT, .sub = &lh_ingest_embed_options_schema,                            \
      .doc = "Embed one text column into a vector index.")                                \
    F(T, wait, BOOL,                                                                       \
      .doc = "Reply only when the job is done (the caller's request deadline still applies).")
LH_MESSAGE(lh_ingest_file_request, LH_INGEST_FILE_REQUEST,
           "Ingest a CSV or JSON Lines file into a dataset version.")

#define LH_INGEST_STATUS_REQUEST(F, T)                                                     \
    F(T, job, STRING, .required = true, .min = 1, .max = 64, .doc = "Job id.")            \
    F(T, wait, BOOL, .doc = "Reply only when the job is done.")
LH_MESSAGE(lh_ingest_status_request, LH_INGEST_STATUS_REQUEST, "Ask about a job.")

#define LH_INGEST_ROW_ERROR(F, T)                                                          \
    F(T, line, INT, .doc = "Line number in the file, from 1.")                             \
    F(T, message, STRING, .doc = "What is wrong with it.")
LH_MESSAGE(lh_ingest_row_error, LH_INGEST_ROW_ERROR, "One rejected row.")

#define LH_INGEST_JOB(F, T)                                                                \
    F(T, job, STRING, .doc = "Job id.")                                                    \
    F(T, state, STRING, .doc = "queued, running, succeeded or failed.")                    \
    F(T, dataset, STRING, .doc = "Dataset name.")                                          \
    F(T, version, INT, .doc = "Dataset version committed (0 until it is).")                \
    F(T, rows_read, INT, .doc = "Rows accepted (so far, while running).")                  \
    F(T, rows_rejected, INT, .doc = "Rows skipped (on_error: skip).")                      \
    F(T, rows_embedded, INT,                                                               \
      .doc = "Rows embedded and upserted (rows with an empty text are skipped).")          \
    F(T, bytes, INT, .doc = "Bytes of the source read (its size once read whole).")       \
    F(T, errors, OBJECTS, .sub = &lh_ingest_row_error_schema,                              \
      .doc = "The first row errors (at most 20), with line numbers: malformed rows, and "  \
             "rows not embedded for want of an id.")                                       \
    F(T, error, STRING,                                                                    \
      .doc = "Why the job failed. A job that was queued or running when ingestd stopped "  \
             "fails with \"interrupted: ...\". A failure while embedding comes after the " \
             "version is committed (`version` says which).")                              \
    F(T, schema, OBJECTS, .sub = &lh_catalog_column_schema, .flags = LH_F_OMIT_UNSET,      \
      .doc = "Inferred columns (once the file is read).")                                \
    F(T, started, STRING, .doc = "Start time, RFC 3339 UTC.")                              \
    F(T, finished, STRING, .doc = "End time, RFC 3339 UTC.")
LH_MESSAGE(lh_ingest_job, LH_INGEST_JOB, "An ingest job's state and counts.")

/* POST /v1/datasets/{name}: the body is the file; these come from the URL. */
#define LH_INGEST_UPLOAD_QUERY(F, T)                                                       \
    F(T, name, STRING, .required = true, .doc = LH_CATALOG_NAME_DOC)                      \
    F(T, format, STRING, .choices = "csv|jsonl",                                           \
      .doc = "Data format; when absent, the Content-Type: text/csv, or "                   \
             "application/x-ndjson (also application/jsonl, application/x-jsonlines).")   \
    F(T, on_error, STRING, .choices = "fail|skip",                                         \
      .doc = "A bad row fails the job (default) or is counted and skipped.")              \
    F(T, delimiter, STRING, .min = 1, .max = 1, .doc = "CSV field delimiter; default ','.") \
    F(T, quote, STRING, .min = 1, .max = 1, .doc = "CSV quote character; default '\"'.")    \
    F(T, header, BOOL, .def = 1, .doc = "CSV: the first record is the header.")            \
    F(T, embed_column, STRING, .min = 1, .max = 255,                                       \
      .doc = "Embed this text column (with embed_index).")                                \
    F(T, embed_index, STRING, .min = 1, .max = 64, .doc = "Vector index to upsert into.") \
    F(T, embed_id_column, STRING, .max = 255, .doc = "Column giving item ids.")           \
    F(T, embed_model, STRING, .max = 128, .doc = "Embedding model.")                       \
    F(T, wait, BOOL, .def = 1,                                                             \
      .doc = "Answer when the job is done (201 with the job, Location: the version); "    \
             "false, or a job still running at the gateway's deadline: 202 with the job " \
             "id (Location: /v1/ingest/{job}).")
LH_MESSAGE(lh_ingest_upload_query, LH_INGEST_UPLOAD_QUERY,
           "The options of a one-call upload, as query parameters.")

/* ---- events ---- */

#define LH_INGEST_PROGRESS_EVENT(F, T)                                                     \
    F(T, job, STRING, .doc = "Job id.")                                                    \
    F(T, dataset, STRING, .doc = "The dataset it writes.")                                 \
    F(T, state, STRING, .doc = "`queued`, `running`, `succeeded` or `failed`.")            \
    F(T, phase, STRING, .doc = "`read`, `parquet`, `embed` or `done`.")                               \
    F(T, rows, INT, .doc = "Rows read so far.")                                            \
    F(T, rows_rejected, INT, .doc = "Rows rejected so far.")                               \
    F(T, rows_embedded, INT, .doc = "Rows embedded so far.")                               \
    F(T, bytes, INT, .doc = "Bytes read so far.")                                          \
    F(T, bytes_total, INT, .doc = "Bytes of the source.")                                  \
    F(T, version, INT, .doc = "The version committed (0 before).")
LH_MESSAGE(lh_ingest_progress_event, LH_INGEST_PROGRESS_EVENT, "An ingest job's progress.")

#define LH_INGEST_FINISHED_EVENT(F, T)                                                     \
    F(T, job, STRING, .doc = "Job id.")                                                    \
    F(T, state, STRING, .doc = "`succeeded` or `failed`.")                                 \
    F(T, dataset, STRING, .doc = "The dataset it wrote.")                                  \
    F(T, version, INT, .doc = "The version committed (0 when it failed).")                 \
    F(T, bucket, STRING, .doc = "The source object's bucket.")                             \
    F(T, key, STRING, .doc = "The source object's key.")                                   \
    F(T, sha256, STRING, .doc = "The source object's SHA-256, as read.")                   \
    F(T, rows, INT, .doc = "Rows read.")                                                   \
    F(T, rows_rejected, INT, .doc = "Rows rejected.")                                      \
    F(T, rows_embedded, INT, .doc = "Rows embedded.")                                      \
    F(T, embed_index, STRING, .doc = "The vector index its text column went to, if any.")  \
    F(T, model, STRING, .doc = "The embedding model asked for (empty: embedd's default).") \
    F(T, error, STRING, .doc = "Why it failed.")
LH_MESSAGE(lh_ingest_finished_event, LH_INGEST_FINISHED_EVENT,
           "An ingest job's outcome: which object became which dataset version (and index).")

/* ---- contracts ---- */

#define LH_INGEST_ENDPOINTS(E, S)                                                          \
    E(S, ingest_file, "file", "ingest.file", lh_ingest_file_request, lh_ingest_job,        \
      "Start an ingest job: a CSV or JSON Lines object in storage (or inline content) "    \
      "becomes the next version of a dataset, optionally with a text column embedded "     \
      "into a vector index. Answers with the queued job, or with `wait`, the finished "    \
      "one.")                                                                              \
    E(S, ingest_status, "status", "ingest.status", lh_ingest_status_request, lh_ingest_job,\
      "A job's state, counts, first row errors and (once done) schema and version; with "  \
      "`wait`, answered when the job is done.")

#define LH_INGEST_EVENTS(V, S)                                                             \
    V(S, ingest_progress, "progress", lh_ingest_progress_event,                            \
      "A job started, moved on, or finished (phase `done`).")                              \
    V(S, ingest_finished, "finished", lh_ingest_finished_event,                            \
      "A job ended: its source, its dataset version, its index; acknowledged by the log.")
LH_SERVICE("ingestd", LH_INGEST_ENDPOINTS, LH_INGEST_EVENTS)

#endif
