/*
 * query_internal.h — what queryd's files share.
 *
 *   query_actor.c  endpoints, settings, lifecycle, query.stats
 *   engine.c       the DuckDB database: settings, containment, lock
 *   pool.c         the query threads, their queue, deferred replies, the
 *                  watch that interrupts statements past their timeout
 *   run.c          one query.sql: names, prepare, checks, bind, fetch
 *   guard.c        the statement's parse tree: reads only, its table names
 *   resolve.c      a dataset name -> its version's Parquet file -> a view
 *   cache.c        the on-disk cache: one Parquet file per version
 *   fetch.c        a version's Parquet object from storaged into the cache
 *   load.c         a version without one (committed before Parquet): its
 *                  CSV or JSON Lines rows written as Parquet
 *   session.c      a query thread's connection, its views, its deadline
 *   params.c       checking and binding `params`
 *   result.c       result chunks -> msgpack within the row and byte caps
 */
#ifndef LH_QUERY_INTERNAL_H
#define LH_QUERY_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <duckdb.h>

#include "lib/tabular/infer.h"
#include "bus/actor.h"
#include "schemas/catalog.h"
#include "schemas/query.h"

#define LH_QUERY_DEFAULT_THREADS 4
#define LH_QUERY_DEFAULT_QUEUE 256
#define LH_QUERY_DEFAULT_RESULT_BYTES (16u << 20)
#define LH_QUERY_DEFAULT_MEMORY "2GB"
#define LH_QUERY_PAYLOAD_HEADROOM (256u << 10) /* the reply's other fields, headers */
#define LH_QUERY_MAX_REFS 64                   /* datasets one statement may name */
#define LH_QUERY_KEY_MAX 160                   /* a cache file's name, without ".parquet" */
#define LH_QUERY_VIEW_MAX 96                   /* "<name>@<version>" as written, and NUL */

/* ---- engine.c ---- */

typedef struct lh_qengine_spec {
    const char *cache_dir; /* the only directory statements may read */
    const char *tmp_dir;   /* DuckDB's spill directory */
    const char *memory_limit;
    int threads; /* DuckDB's worker threads; 0: its default (the cores) */
} lh_qengine_spec;

/* Opens the in-memory database every query thread connects to: no
 * extension installed or loaded at run time, file access only under the
 * cache, then the configuration locked. */
lh_err *lh_qengine_open(const lh_qengine_spec *spec, duckdb_database *out);

/* ---- cache.c ---- */

typedef struct lh_qcache lh_qcache;

/* Writes the version's Parquet file at `path` (a temporary name the
 * cache renames once it is complete) and the rows it holds. */
typedef lh_err *(*lh_qfill_fn)(void *user, const char *path, int64_t *rows);

lh_err *lh_qcache_open(const char *dir, lh_qcache **out);
void lh_qcache_close(lh_qcache *c);
const char *lh_qcache_dir(const lh_qcache *c);
/* The file holding `key`, written with `fill` when it is not cached.
 * However many threads ask at once, one writes it and the others wait. */
lh_err *lh_qcache_acquire(lh_qcache *c, const char *key, lh_qfill_fn fill, void *user,
                          char path[PATH_MAX]);
void lh_qcache_counts(lh_qcache *c, int64_t *loads, int64_t *rows, int64_t *cached);

/* ---- fetch.c and load.c ---- */

typedef struct lh_qload_source {
    const lh_catalog_dataset *dataset; /* its format, and `version` with schema and location */
    lh_conn *conn;
    int timeout_ms;                    /* per storage.get */
    const atomic_bool *stop;           /* queryd is stopping: give up */
    const char *tmp_dir;               /* the Parquet writer's spill directory */
    const char *data_dir;              /* $LH_DATA_DIR: storaged's local files, if here */
} lh_qload_source;

/* The version's Parquet object at `path` (its sha256 checked): storaged's
 * local file hard-linked when it can be, else copied through the bus. */
lh_err *lh_qfetch_parquet(const lh_qload_source *src, const char *path, int64_t *rows);
/* The version's CSV or JSON Lines rows, written to `path` as Parquet. */
lh_err *lh_qload_parquet(const lh_qload_source *src, const char *path, int64_t *rows);

/* ---- session.c ---- */

typedef struct lh_qsession lh_qsession;

/* A temp view on one connection: a dataset name as a statement wrote it,
 * showing the Parquet file of the version it stands for. */
typedef struct lh_qview {
    char name[LH_QUERY_VIEW_MAX];
    char dataset[64];  /* the catalog's spelling */
    char created[40];  /* the dataset's creation time: tells a re-created one apart */
    char sha256[65];   /* of the version's data object */
    char path[PATH_MAX];
    int64_t version;
    bool pinned;       /* "name@N" */
    bool used;         /* named by the statement being run */
} lh_qview;

lh_err *lh_qsession_open(duckdb_database db, lh_qsession **out);
void lh_qsession_close(lh_qsession *s);
duckdb_connection lh_qsession_conn(lh_qsession *s);
/* Drops the views the catalog no longer backs (a newer latest version, a
 * deleted or re-created dataset) and clears every `used` mark. */
lh_err *lh_qsession_refresh(lh_qsession *s, const lh_catalog_list_reply *cat);
lh_err *lh_qsession_add_view(lh_qsession *s, const lh_qview *v);
lh_qview *lh_qsession_find_view(lh_qsession *s, const char *name); /* ignoring case */
lh_qview *lh_qsession_views(lh_qsession *s, size_t *n);
/* The statement about to run may be interrupted from now until
 * lh_qsession_end, at its deadline or when queryd stops. */
void lh_qsession_begin(lh_qsession *s, int64_t timeout_ms);
void lh_qsession_end(lh_qsession *s);
bool lh_qsession_timed_out(lh_qsession *s);
/* Interrupts the running statement if its deadline has passed (or always,
 * when `stopping`); returns its deadline (0: none running). */
int64_t lh_qsession_watch(lh_qsession *s, int64_t now_ns, bool stopping);

/* ---- guard.c ---- */

typedef struct lh_qrefs {
    char names[LH_QUERY_MAX_REFS][LH_QUERY_VIEW_MAX]; /* tables named, each once */
    size_t n;
    char ctes[LH_QUERY_MAX_REFS][LH_QUERY_VIEW_MAX];  /* names WITH defines */
    size_t n_ctes;
} lh_qrefs;

/* One statement that only reads, by DuckDB's own parser: 400 for syntax
 * errors and more than one statement, 403 for anything but a query,
 * schema-qualified names (the engine's catalog) and table functions
 * other than range, generate_series and unnest. Fills the table names. */
lh_err *lh_qguard_parse(lh_qsession *s, const char *sql, size_t len, lh_qrefs *refs);
bool lh_qrefs_is_cte(const lh_qrefs *r, const char *name);
/* `sql` up to its end: trailing ';', blanks and comments left out, so the
 * statement can be wrapped in another. */
size_t lh_qguard_statement_len(const char *sql, size_t len);

/* ---- params.c ---- */

/* `params` is absent or an array of at most LH_QUERY_MAX_PARAMS scalars. */
lh_err *lh_qparams_check(const lh_raw *params);
/* Binds them by position; their count must be the statement's. */
lh_err *lh_qparams_bind(duckdb_prepared_statement stmt, const lh_raw *params);

/* ---- result.c ---- */

typedef struct lh_qlimits {
    int64_t max_rows;
    size_t max_bytes; /* bound on the encoded result (see result.c) */
} lh_qlimits;

/* Whether result.c sends a column of this type as it is; any other is
 * cast to text first (run.c wraps the statement). */
bool lh_qresult_native(duckdb_type t);
/* The reply's type name of a column ("integer", "real", ...). */
const char *lh_qresult_type_name(duckdb_type t);
/* Fetches `res` to the end or a limit and fills rows, row_count and
 * truncated. An error is the fetch's (interrupted, out of memory...). */
lh_err *lh_qresult_collect(duckdb_result *res, const lh_qlimits *lim, lh_arena *a,
                           lh_query_sql_reply *out);

/* ---- the actor ---- */

typedef struct lh_qjob lh_qjob;

typedef struct lh_query_state {
    lh_actor *actor;
    char dir[PATH_MAX];     /* $LH_DATA_DIR/queryd */
    char tmp_dir[PATH_MAX]; /* DuckDB's spill directory */
    lh_qcache *cache;
    duckdb_database db;
    size_t max_result_bytes;
    int n_threads;
    size_t max_queue;
    /* The pool; the queue fields are guarded by mu. */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    lh_qjob *head, *tail;
    size_t queued;
    bool stopping;
    atomic_bool stop; /* seen by loads */
    pthread_t *threads;
    lh_qsession **sessions; /* one per thread */
    int started;            /* threads running */
    /* The watch: interrupts statements past their deadline. */
    pthread_t watch;
    bool watching;
    bool watch_quit; /* under mu: the query threads have ended */
    pthread_cond_t watch_wake;
    atomic_int_fast64_t queries, timeouts;
} lh_query_state;

/* ---- resolve.c ---- */

/* The bus timeout for calls to catalogd and storaged. */
int lh_qcall_timeout(const lh_query_state *st);
lh_err *lh_qcatalog_list(lh_query_state *st, lh_arena *a, lh_catalog_list_reply **out);
/* The dataset of that name, ignoring case, or NULL. */
const lh_catalog_dataset *lh_qcatalog_find(const lh_catalog_list_reply *cat, const char *name);
/* Every name in `refs` that is a dataset ("sales": its latest version) or
 * a pinned version ("sales@2") is shown as a view of its version's
 * Parquet file, fetched or written into the cache first if needed. Any
 * other name is left to the engine unless it is no CTE either (400). */
lh_err *lh_qresolve_all(lh_query_state *st, lh_qsession *s, const lh_catalog_list_reply *cat,
                        const lh_qrefs *refs);

/* ---- run.c ---- */

lh_err *lh_query_run(lh_query_state *st, lh_qsession *s, const lh_query_sql_request *req,
                     lh_arena *a, lh_query_sql_reply *reply);

/* ---- pool.c ---- */

lh_err *lh_qpool_start(lh_query_state *st);
void lh_qpool_stop(lh_query_state *st);
/* Copies the request, defers the reply and queues it (429 when full). */
lh_err *lh_qpool_submit(lh_query_state *st, lh_ctx *ctx, const lh_query_sql_request *req);
size_t lh_qpool_queued(lh_query_state *st);
/* Wakes the watch: a statement with a deadline began. */
void lh_qpool_watch_poke(lh_query_state *st);

#endif
