/*
 * query_internal.h — what queryd's files share.
 *
 *   query_actor.c  endpoints, settings, lifecycle, query.stats
 *   pool.c         the query threads, their queue and deferred replies
 *   run.c          one query.sql: names, prepare, checks, bind, step
 *   resolve.c      a name SQLite could not find -> a dataset version's view
 *   cache.c        the on-disk cache: one table per version, loaded once
 *   load.c         one version -> a typed table (the inserting half)
 *   feed.c         one version's object -> batches of typed rows (the reading half)
 *   session.c      a query thread's connection and the views it shows
 *   guard.c        the authorizer, read-only checks and the timeout
 *   params.c       checking and binding `params`
 *   result.c       result rows -> msgpack within the row and byte caps
 */
#ifndef LH_QUERY_INTERNAL_H
#define LH_QUERY_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "lib/tabular/infer.h"
#include "bus/actor.h"
#include "schemas/catalog.h"
#include "schemas/query.h"

#define LH_QUERY_DEFAULT_THREADS 4
#define LH_QUERY_DEFAULT_QUEUE 256
#define LH_QUERY_DEFAULT_RESULT_BYTES (16u << 20)
#define LH_QUERY_PAYLOAD_HEADROOM (256u << 10) /* the reply's other fields, headers */
#define LH_QUERY_MAX_VALUE_BYTES (16 << 20)    /* one value (SQLITE_LIMIT_LENGTH) */
#define LH_QUERY_MAX_REFS 64                   /* datasets one statement may name */
#define LH_QUERY_TABLE_MAX 160                 /* "ds:<name>:<version>:<sha16>" and NUL */
#define LH_QUERY_VIEW_MAX 96                   /* "<name>@<version>" as written, and NUL */


/* ---- cache.c ---- */

typedef struct lh_qcache lh_qcache;

/* One version, as the cache keys it: the same name and number with
 * another sha256 (a dataset deleted and created again) is another table. */
typedef struct lh_qversion_id {
    const char *name; /* the catalog's spelling; compared ignoring case */
    int64_t version;
    const char *sha256;
} lh_qversion_id;

/* Creates `table` in `db` (inside the cache's transaction) and fills it. */
typedef lh_err *(*lh_qfill_fn)(void *user, sqlite3 *db, const char *table, int64_t *rows);

lh_err *lh_qcache_open(const char *path, lh_qcache **out);
void lh_qcache_close(lh_qcache *c);
/* The table holding `id`, loading it with `fill` when it is not cached.
 * However many threads ask at once, one loads and the others wait. */
lh_err *lh_qcache_acquire(lh_qcache *c, const lh_qversion_id *id, lh_qfill_fn fill, void *user,
                          char table[LH_QUERY_TABLE_MAX]);
void lh_qcache_counts(lh_qcache *c, int64_t *loads, int64_t *rows, int64_t *cached);

/* ---- load.c and feed.c ---- */

typedef struct lh_qload_source {
    const lh_catalog_dataset *dataset; /* its format, and `version` with schema and location */
    lh_conn *conn;
    int timeout_ms;                    /* per storage.get */
    const atomic_bool *stop;           /* queryd is stopping: give up */
} lh_qload_source;

/* Creates `table` in `db` and fills it with the version's rows. */
lh_err *lh_qload_table(sqlite3 *db, const char *table, const lh_qload_source *src,
                       int64_t *rows);

/* One value of a batch, already of its column's type. */
typedef struct lh_qcell {
    union {
        int64_t i; /* integer, boolean (0/1) */
        double r;
        struct {
            uint32_t off, len; /* text, in the batch's `text` */
        } s;
    } v;
    bool null;
} lh_qcell;

typedef struct lh_qbatch {
    struct lh_qbatch *next;
    size_t rows;
    lh_qcell *cells; /* rows x columns */
    lh_buf text;
} lh_qbatch;

/* A thread reading a version's object into batches of typed rows. */
typedef struct lh_qfeed lh_qfeed;

lh_err *lh_qfeed_start(const lh_qload_source *src, const lh_tab_type *types, size_t n,
                       lh_qfeed **out);
/* The next batch, waiting for it; NULL once the feed has ended. */
lh_qbatch *lh_qfeed_next(lh_qfeed *f);
/* Gives a batch back once its rows are inserted. */
void lh_qfeed_recycle(lh_qfeed *f, lh_qbatch *b);
/* Stops the reading if it still runs, waits for the thread and frees the
 * feed; returns why the reading failed (NULL when every row was read and
 * the columns and count are the catalog's). */
lh_err *lh_qfeed_end(lh_qfeed *f);

/* ---- session.c ---- */

typedef struct lh_qsession lh_qsession;

/* A temp view on one connection: a dataset name as a statement wrote it,
 * showing the cache table of the version it stands for. */
typedef struct lh_qview {
    char name[LH_QUERY_VIEW_MAX];
    char dataset[64];  /* the catalog's spelling */
    char created[40];  /* the dataset's creation time: tells a re-created one apart */
    char sha256[65];
    char table[LH_QUERY_TABLE_MAX];
    int64_t version;
    bool pinned;       /* "name@N" */
    bool used;         /* read by the statement being prepared */
} lh_qview;

lh_err *lh_qsession_open(const char *path, const atomic_bool *stop, lh_qsession **out);
void lh_qsession_close(lh_qsession *s);
sqlite3 *lh_qsession_db(lh_qsession *s);
/* Drops the views the catalog no longer backs (a newer latest version, a
 * deleted or re-created dataset) and clears every `used` mark. */
lh_err *lh_qsession_refresh(lh_qsession *s, const lh_catalog_list_reply *cat);
lh_err *lh_qsession_add_view(lh_qsession *s, const lh_qview *v);
lh_qview *lh_qsession_find_view(lh_qsession *s, const char *name); /* ignoring case */
lh_qview *lh_qsession_views(lh_qsession *s, size_t *n);
/* sqlite3_prepare_v3 under the authorizer, its last refusal cleared. */
int lh_qsession_prepare(lh_qsession *s, const char *sql, size_t len, sqlite3_stmt **stmt,
                        const char **tail);
/* The deadline of the statement about to run; lh_qsession_end clears it. */
void lh_qsession_begin(lh_qsession *s, int64_t timeout_ms);
void lh_qsession_end(lh_qsession *s);
bool lh_qsession_timed_out(const lh_qsession *s);
const char *lh_qsession_denial(const lh_qsession *s); /* why the authorizer refused, or "" */

/* ---- guard.c ---- */

typedef struct lh_qguard {
    lh_qsession *session;
    bool internal;          /* our own view DDL: allowed whole */
    char denied[256];       /* why the statement being prepared was refused */
    bool denied_general;    /* ... by a write to sqlite_master: a later reason is better */
    int64_t deadline_ns;    /* 0: none */
    bool timed_out;
    const atomic_bool *stop;
} lh_qguard;

/* Locks the connection down (no extensions, defensive, value limit) and
 * installs the authorizer and the progress handler. */
lh_err *lh_qguard_install(sqlite3 *db, lh_qguard *g);
/* After a successful prepare: one statement, read-only, returning rows. */
lh_err *lh_qguard_check(sqlite3_stmt *stmt, const char *tail, const char *end);
/* SQLite refuses some writes to a view before it asks the authorizer
 * ("cannot modify sales because it is a view"); these are still refused
 * writes, so they answer 403 like the others. */
bool lh_qguard_is_view_write(const char *sqlite_message);

/* ---- params.c ---- */

/* `params` is absent or an array of at most LH_QUERY_MAX_PARAMS scalars. */
lh_err *lh_qparams_check(const lh_raw *params);
/* Binds them by position; their count must be the statement's. */
lh_err *lh_qparams_bind(sqlite3_stmt *stmt, const lh_raw *params);

/* ---- result.c ---- */

typedef struct lh_qlimits {
    int64_t max_rows;
    size_t max_bytes; /* bound on the encoded result (see result.c) */
} lh_qlimits;

/* Steps `stmt` to the end or a limit and fills columns, rows, row_count
 * and truncated. Returns SQLITE_DONE, or the step's error code. */
int lh_qresult_collect(sqlite3_stmt *stmt, const lh_qlimits *lim, lh_arena *a,
                       lh_query_sql_reply *out);

/* ---- the actor ---- */

typedef struct lh_qjob lh_qjob;

typedef struct lh_query_state {
    lh_actor *actor;
    char cache_path[PATH_MAX];
    lh_qcache *cache;
    size_t max_result_bytes;
    int n_threads;
    size_t max_queue;
    /* The pool; the queue fields are guarded by mu. */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    lh_qjob *head, *tail;
    size_t queued;
    bool stopping;
    atomic_bool stop; /* seen by running statements and loads */
    pthread_t *threads;
    lh_qsession **sessions; /* one per thread */
    int started;            /* threads running */
    atomic_int_fast64_t queries, timeouts;
} lh_query_state;

/* ---- resolve.c ---- */

/* The bus timeout for calls to catalogd and storaged. */
int lh_qcall_timeout(const lh_query_state *st);
lh_err *lh_qcatalog_list(lh_query_state *st, lh_arena *a, lh_catalog_list_reply **out);
/* The dataset of that name, ignoring case, or NULL. */
const lh_catalog_dataset *lh_qcatalog_find(const lh_catalog_list_reply *cat, const char *name);
/* `missing` is a table name SQLite could not find. When it names a dataset
 * (or "name@N"), loads that version if needed, shows it as a view under
 * that name and sets *resolved; otherwise leaves *resolved false. */
lh_err *lh_qresolve(lh_query_state *st, lh_qsession *s, const lh_catalog_list_reply *cat,
                    const char *missing, bool *resolved);

/* ---- run.c ---- */

lh_err *lh_query_run(lh_query_state *st, lh_qsession *s, const lh_query_sql_request *req,
                     lh_arena *a, lh_query_sql_reply *reply);

/* ---- pool.c ---- */

lh_err *lh_qpool_start(lh_query_state *st);
void lh_qpool_stop(lh_query_state *st);
/* Copies the request, defers the reply and queues it (429 when full). */
lh_err *lh_qpool_submit(lh_query_state *st, lh_ctx *ctx, const lh_query_sql_request *req);
size_t lh_qpool_queued(lh_query_state *st);

#endif
