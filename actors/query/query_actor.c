/*
 * query_actor.c — queryd: its endpoint table, settings and lifecycle
 * (the cache under $LH_DATA_DIR/queryd/cache, the DuckDB database, the
 * query threads), query.sql's checks before a request is queued, and
 * query.stats.
 */
#include "actors/query/query.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/query/query_internal.h"
#include "lib/state/state.h"
#include "bus/log.h"

/* ---- handlers ---- */

static lh_err *lh_sql_handler(lh_ctx *ctx, const void *request, void *reply)
{
    (void)reply; /* answered later, by a query thread */
    const lh_query_sql_request *req = request;
    if (memchr(req->sql.s, '\0', req->sql.len))
        return lh_err_new(LH_EBADREQ, "sql", "sql must not hold NUL bytes");
    lh_err *err = lh_qparams_check(&req->params);
    return err ? err : lh_qpool_submit(lh_ctx_state(ctx), ctx, req);
}

static lh_err *lh_stats_handler(lh_ctx *ctx, const void *request, void *reply)
{
    (void)request;
    lh_query_state *st = lh_ctx_state(ctx);
    lh_query_stats_reply *r = reply;
    lh_qcache_counts(st->cache, &r->loads, &r->loaded_rows, &r->cached_versions);
    r->queries = atomic_load(&st->queries);
    r->timeouts = atomic_load(&st->timeouts);
    r->threads = st->n_threads;
    r->queued = (int64_t)lh_qpool_queued(st);
    return NULL;
}

/* ---- lifecycle ---- */

static void lh_query_fini(void *state)
{
    lh_query_state *st = state;
    if (!st)
        return;
    if (st->db)
        duckdb_close(&st->db);
    lh_qcache_close(st->cache);
    pthread_cond_destroy(&st->watch_wake);
    pthread_cond_destroy(&st->wake);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

/* $LH_DATA_DIR/queryd/cache (the Parquet files) and .../tmp (spills). */
static lh_err *lh_open_storage(lh_query_state *st)
{
    char cache[PATH_MAX + 8];
    snprintf(st->dir, sizeof st->dir, "%s/queryd", lh_actor_config(st->actor)->data_dir);
    snprintf(cache, sizeof cache, "%s/cache", st->dir);
    snprintf(st->tmp_dir, sizeof st->tmp_dir, "%s/tmp", st->dir);
    lh_err *err = lh_state_mkdirs(cache);
    if (!err)
        err = lh_state_mkdirs(st->tmp_dir);
    if (!err)
        err = lh_qcache_open(cache, &st->cache);
    return err;
}

static lh_err *lh_open_engine(lh_query_state *st)
{
    const char *memory = getenv("LH_QUERY_MEMORY");
    lh_qengine_spec spec = {
        .cache_dir = lh_qcache_dir(st->cache),
        .tmp_dir = st->tmp_dir,
        .memory_limit = memory && *memory ? memory : LH_QUERY_DEFAULT_MEMORY,
        .threads = (int)lh_config_env_int("LH_QUERY_ENGINE_THREADS", 0, 0, 256),
    };
    return lh_err_wrap(lh_qengine_open(&spec, &st->db), "queryd's DuckDB database");
}

static lh_err *lh_query_init(lh_actor *actor, void **state)
{
    lh_query_state *st = calloc(1, sizeof *st);
    if (!st)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    st->actor = actor;
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->wake, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* the watch's deadlines are monotonic */
    pthread_cond_init(&st->watch_wake, &attr);
    pthread_condattr_destroy(&attr);
    st->n_threads = (int)lh_config_env_int("LH_QUERY_THREADS", LH_QUERY_DEFAULT_THREADS, 1, 64);
    st->max_queue = (size_t)lh_config_env_int("LH_QUERY_QUEUE", LH_QUERY_DEFAULT_QUEUE, 1, 1 << 20);
    st->max_result_bytes = (size_t)lh_config_env_int("LH_QUERY_MAX_RESULT_BYTES",
                                               LH_QUERY_DEFAULT_RESULT_BYTES, 1024, 1l << 30);
    lh_err *err = lh_open_storage(st);
    if (!err)
        err = lh_open_engine(st);
    if (err) {
        lh_query_fini(st);
        return err;
    }
    int64_t loads, rows, cached;
    lh_qcache_counts(st->cache, &loads, &rows, &cached);
    lh_info("query cache %s: %lld version%s; %d query thread%s", lh_qcache_dir(st->cache),
            (long long)cached, cached == 1 ? "" : "s", st->n_threads,
            st->n_threads == 1 ? "" : "s");
    *state = st;
    return NULL;
}

static lh_err *lh_query_start(lh_actor *actor, void *state)
{
    (void)actor;
    return lh_qpool_start(state);
}

static void lh_query_stop(lh_actor *actor, void *state)
{
    (void)actor;
    lh_qpool_stop(state);
}

static const lh_endpoint_def lh_query_endpoints[] = {
    {&lh_ep_query_sql, lh_sql_handler},
    {&lh_ep_query_stats, lh_stats_handler},
};

const lh_actor_def lh_query_actor = {
    .name = "queryd",
    .version = "0.1.0",
    .description = "Read-only SQL (DuckDB) over the catalog's datasets, each version a "
                   "Parquet file in an on-disk cache filled on first use; row, byte and time "
                   "limits.",
    .endpoints = lh_query_endpoints,
    .n_endpoints = sizeof lh_query_endpoints / sizeof lh_query_endpoints[0],
    .init = lh_query_init,
    .start = lh_query_start,
    .stop = lh_query_stop,
    .fini = lh_query_fini,
};
