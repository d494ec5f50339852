/*
 * ingest_internal.h — what ingestd's files share: the actor state, the job
 * (its request, its counts and whoever waits for it), the job table and
 * store, the job threads, and the calls to other actors.
 *
 *   ingest_actor.c  endpoints, request checks, lifecycle
 *   jobs.c          the job table: create, find, progress, finish, waiters
 *   jobstore.c      jobs in LevelDB, and recovery after a restart
 *   runner.c        the job threads and their queue
 *   job_run.c       one job: read, infer, Parquet, commit
 *   parquet_pass.c  one job's second read: the rows as a Parquet object
 *   embed_pass.c    one job's second pass: embed and upsert a column
 *   calls.c         storaged, catalogd, embedd, vectord over the bus
 */
#ifndef LH_INGEST_INTERNAL_H
#define LH_INGEST_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/tabular/infer.h"
#include "lib/tabular/tabular.h"
#include "bus/actor.h"
#include "schemas/ingest.h"
#include "schemas/storage.h"

#define LH_INGEST_INLINE_BUCKET "ingest-inline"
#define LH_INGEST_DEFAULT_CHUNK (1024 * 1024)
#define LH_INGEST_DEFAULT_BATCH 64
#define LH_INGEST_DEFAULT_THREADS 2
#define LH_INGEST_DEFAULT_PARQUET_MEMORY "1GB" /* per job; the writer spills past it */
#define LH_INGEST_PROGRESS_ROWS 100000 /* an event at least this often, */
#define LH_INGEST_PROGRESS_MS 1000     /* or this often, whichever first */

typedef enum {
    LH_JOB_QUEUED,
    LH_JOB_RUNNING,
    LH_JOB_SUCCEEDED,
    LH_JOB_FAILED,
} lh_job_state;

const char *lh_job_state_name(lh_job_state s);

typedef struct lh_job_row_error {
    int64_t line;
    char message[256];
} lh_job_row_error;

typedef struct lh_job_column {
    char *name;
    lh_tab_type type;
    bool nullable;
} lh_job_column;

/* What the job was asked to do; fixed once queued. */
typedef struct lh_job_spec {
    char dataset[64];
    char bucket[64];
    char key[LH_STORAGE_MAX_KEY + 1];
    char sha256[65];   /* the source object's, from storage.head */
    int64_t size;      /* its size */
    lh_tab_options opts;
    bool skip_bad;     /* on_error: skip */
    bool embed;
    char embed_column[256];
    char embed_index[65];
    char id_column[256]; /* "" = the row number */
    char model[129];     /* "" = embedd's default */
} lh_job_spec;

typedef struct lh_job {
    char id[23];
    char rid[64];      /* the request id of ingest.file, for logs and calls */
    lh_job_spec spec;
    /* Below: guarded by the state's mutex. */
    lh_job_state state;
    int64_t version, rows_read, rows_rejected, rows_embedded, bytes;
    lh_job_row_error errors[LH_INGEST_MAX_ERRORS];
    size_t n_errors;
    char error[512];
    lh_job_column *schema;
    size_t n_schema;
    char started[32], finished[32];
    lh_deferred **waiters;
    size_t n_waiters, cap_waiters;
    atomic_bool cancel; /* ingestd is stopping: give up at the next chunk */
    struct lh_job *next; /* in the queue */
} lh_job;

typedef struct lh_ingest_store lh_ingest_store;

typedef struct lh_ingest_state {
    lh_actor *actor;
    char dir[PATH_MAX]; /* $LH_DATA_DIR/ingestd */
    char parquet_memory[32]; /* the Parquet writer's memory limit (LH_INGEST_PARQUET_MEMORY) */
    bool keep_source;        /* LH_INGEST_KEEP_SOURCE: the upload stays after the commit */
    lh_ingest_store *store;
    size_t chunk;
    size_t batch;
    int n_threads;
    pthread_mutex_t mu; /* guards the table, the queue and every job's results */
    pthread_cond_t wake;
    lh_job **active;    /* queued and running jobs */
    size_t n_active, cap_active;
    lh_job *head, *tail; /* the queue */
    bool stopping;
    pthread_t *threads;
} lh_ingest_state;


/* ---- jobs.c ---- */

/* Makes a queued job (not yet in the table). */
lh_job *lh_job_new(const lh_job_spec *spec, const char *rid);
void lh_job_free(lh_job *job);
/* The job's state as the reply struct, in `arena`; caller holds st->mu. */
void lh_job_to_reply(const lh_job *job, lh_arena *arena, lh_ingest_job *out);
/* With st->mu held: the active job with this id, or NULL. */
lh_job *lh_job_find_locked(lh_ingest_state *st, const char *id, size_t len);
/* Records the job durably and puts it in the table and the queue. With
 * `waiter`, it is answered when the job ends. */
lh_err *lh_job_submit(lh_ingest_state *st, lh_job *job, lh_deferred *waiter);
/* With st->mu held: registers a waiter if the job is still going; false
 * when it has ended (answer from its state instead). */
bool lh_job_wait_locked(lh_job *job, lh_deferred *d);
/* Writes the job's current state to the store, durably. */
lh_err *lh_job_persist(lh_ingest_state *st, lh_job *job);
/* Adds one row error (kept when fewer than LH_INGEST_MAX_ERRORS are). */
void lh_job_add_error(lh_ingest_state *st, lh_job *job, int64_t line, const char *message);
/* Ends a job: state, durable record, waiters answered, out of the table,
 * freed. `err` NULL means succeeded. */
void lh_job_finish(lh_ingest_state *st, lh_job *job, const lh_err *err);
/* Publishes events.ingestd.progress for the job. */
void lh_job_progress_event(lh_ingest_state *st, lh_job *job, const char *phase);

/* ---- jobstore.c ---- */

lh_err *lh_ingest_store_open(const char *dir, lh_ingest_store **out);
void lh_ingest_store_close(lh_ingest_store *s);
/* Writes the job record (an lh_ingest_job) durably. */
lh_err *lh_ingest_store_put(lh_ingest_store *s, const lh_ingest_job *job);
/* Reads a job record into `arena`; 404 when there is none. */
lh_err *lh_ingest_store_get(lh_ingest_store *s, const char *id, size_t len, lh_arena *arena,
                            lh_ingest_job **out);
/* Fails, durably, every job left queued or running by an earlier process. */
lh_err *lh_ingest_store_recover(lh_ingest_store *s, size_t *interrupted);

/* ---- runner.c ---- */

lh_err *lh_runner_start(lh_ingest_state *st);
/* Fails queued jobs, cancels running ones, and joins the threads. */
void lh_runner_stop(lh_ingest_state *st);
/* With st->mu held: appends to the queue and wakes a thread. */
void lh_runner_enqueue_locked(lh_ingest_state *st, lh_job *job);

/* ---- job_run.c, embed_pass.c ---- */

/* Runs a job to its end (lh_job_finish included). */
void lh_job_run(lh_ingest_state *st, lh_job *job);
/* The Parquet object of a version, once stored. */
typedef struct lh_job_parquet {
    char key[LH_STORAGE_MAX_KEY + 1]; /* in LH_INGEST_TABLE_BUCKET */
    char sha256[65];
    int64_t bytes;
} lh_job_parquet;

/* The rows read again and stored as a Parquet object (parquet_pass.c). */
lh_err *lh_parquet_pass(lh_ingest_state *st, lh_job *job, lh_job_parquet *out);
/* The embedding pass: embeds the spec's column of every good record. */
lh_err *lh_embed_pass(lh_ingest_state *st, lh_job *job);

#define LH_JOB_NO_COLUMN ((size_t)-1)
/* The schema column named `name` (exactly, else ignoring case), or
 * LH_JOB_NO_COLUMN. Only once pass 1 has set the schema. */
size_t lh_job_column_index(const lh_job *job, const char *name);

/* Reads the job's source object by ranges, feeding `reader`; checks the
 * object does not change underneath and stops when the job is cancelled.
 * `on_chunk` (may be NULL) runs after each range. */
lh_err *lh_job_read_source(lh_ingest_state *st, lh_job *job, lh_tab_reader *reader,
                           void (*on_chunk)(void *user), void *user);

/* ---- calls.c ---- */

/* lh_call with ingestd's deadline; `reply` may be NULL when not wanted. */
lh_err *lh_ingest_call(lh_ingest_state *st, const lh_contract *k, const void *req,
                       lh_arena *arena, void **reply);
/* storage.head of bucket/key: size and sha256. */
lh_err *lh_ingest_head(lh_ingest_state *st, const char *bucket, const char *key,
                       int64_t *size, char sha256[65]);

#endif
