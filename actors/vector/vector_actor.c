/*
 * vector_actor.c — vectord: its endpoint table, its lifecycle (open every
 * index at init, snapshot on the way out) and the index-level handlers
 * (create, list, stats, drop). Item handlers: vector_write.c and
 * vector_search.c.
 */
#include "actors/vector/vector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "actors/vector/restore.h"
#include "actors/vector/snapshot.h"
#include "actors/vector/vector_internal.h"
#include "bus/events.h"
#include "bus/log.h"
#include "lib/state/state.h"
#include "schemas/vector.h"

#define LH_VEC_DEFAULT_SNAPSHOT_SECONDS 30
#define LH_VEC_DEFAULT_REBUILD_MIN_DELETED 1000

/* ---- index-level handlers ---- */

static lh_str lh_arena_str(lh_ctx *ctx, const char *s)
{
    size_t n = strlen(s);
    return (lh_str){lh_arena_strndup(lh_ctx_arena(ctx), s, n), n};
}

static void lh_fill_info(lh_ctx *ctx, lh_vec_state *st, lh_vec_collection *c,
                         lh_vector_index_info *info)
{
    const lh_vec_params *p = lh_vec_collection_params(c);
    lh_vec_counts k = lh_vec_collection_counts(c);
    info->index = lh_arena_str(ctx, p->name);
    info->dimension = p->dimension;
    info->metric = lh_arena_str(ctx, lh_vec_metric_name(p->metric));
    info->kind = lh_arena_str(ctx, lh_vec_kind_name(p->kind));
    info->m = p->m;
    info->ef_construction = p->ef_construction;
    info->ef_search = p->ef_search;
    if (*p->model)
        info->model = lh_arena_str(ctx, p->model);
    info->count = (int64_t)k.live;
    info->deleted = (int64_t)k.tombstones;
    info->bytes_on_disk =
        (int64_t)(lh_vec_store_bytes(st->store, p->name) + lh_vec_snapshot_bytes(st->dir, p->name));
    info->bytes_in_memory = (int64_t)k.memory_bytes;
}

static lh_err *lh_create_locked(lh_vec_state *st, const lh_vec_params *p, lh_vec_collection **out)
{
    bool found;
    size_t at = lh_vec_state_position(st, p->name, &found);
    if (found)
        return lh_err_new(LH_ECONFLICT, "index", "index '%s' already exists", p->name);
    lh_vec_collection *c = NULL;
    lh_err *err = lh_vec_collection_create(p, NULL, &c);
    if (!err)
        err = lh_vec_store_create_index(st->store, p);
    if (!err)
        err = lh_vec_state_insert(st, at, c);
    if (err) {
        lh_vec_collection_unref(c);
        return err;
    }
    lh_vec_collection_ref(c);
    *out = c;
    return NULL;
}

static lh_err *lh_create_handler(lh_ctx *ctx, const void *request, void *response)
{
    lh_vec_state *st = lh_ctx_state(ctx);
    lh_vec_params p;
    lh_err *err = lh_vec_params_from_request(request, &p);
    if (err)
        return err;
    lh_vec_collection *c = NULL;
    pthread_mutex_lock(&st->mu);
    err = lh_create_locked(st, &p, &c);
    pthread_mutex_unlock(&st->mu);
    if (err)
        return err;
    lh_info("created index '%s' (%s, %s, dimension %d, model %s)", p.name,
            lh_vec_kind_name(p.kind), lh_vec_metric_name(p.metric), p.dimension,
            *p.model ? p.model : "none recorded");
    const char *kind = lh_vec_kind_name(p.kind), *metric = lh_vec_metric_name(p.metric);
    lh_vector_index_event ev = {.index = {p.name, strlen(p.name)},
                                .kind = {kind, strlen(kind)},
                                .metric = {metric, strlen(metric)},
                                .model = *p.model ? (lh_str){p.model, strlen(p.model)} : (lh_str){0}};
    LH_SET(&ev, dimension, p.dimension);
    lh_event_emit_acked(lh_ctx_actor(ctx), &lh_ev_vector_created, &ev); /* lineage's node */
    lh_fill_info(ctx, st, c, response);
    lh_vec_collection_unref(c);
    return NULL;
}

static lh_err *lh_list_handler(lh_ctx *ctx, const void *request, void *response)
{
    (void)request;
    lh_vec_state *st = lh_ctx_state(ctx);
    lh_vector_list_reply *rep = response;
    size_t n = 0;
    lh_vec_collection **cols = lh_vec_state_all(st, &n);
    lh_vector_index_info *infos = lh_ctx_alloc(ctx, (n ? n : 1) * sizeof *infos);
    for (size_t i = 0; i < n; i++)
        lh_fill_info(ctx, st, cols[i], &infos[i]);
    lh_vec_state_release(cols, n);
    rep->indexes = (lh_objs){infos, n};
    return NULL;
}

static lh_err *lh_stats_handler(lh_ctx *ctx, const void *request, void *response)
{
    const lh_vector_name_request *req = request;
    lh_vec_state *st = lh_ctx_state(ctx);
    lh_vec_collection *c = NULL;
    lh_err *err = lh_vec_state_find(st, &req->index, "index", &c);
    if (err)
        return err;
    lh_fill_info(ctx, st, c, response);
    lh_vec_collection_unref(c);
    return NULL;
}

/* Deletes the index's data; with st->mu held, so no create can reuse the
 * name until its keys are gone. */
static lh_err *lh_drop_locked(lh_vec_state *st, const char *name, size_t *items)
{
    bool found;
    size_t at = lh_vec_state_position(st, name, &found);
    if (!found)
        return lh_err_new(LH_ENOTFOUND, "index", "no index named '%s'", name);
    lh_vec_collection *c = st->cols[at];
    lh_vec_collection_lock_writes(c);
    lh_err *err = lh_vec_store_drop_index(st->store, name, items);
    if (!err) {
        lh_vec_collection_mark_dropped(c);
        lh_vec_snapshot_remove(st->dir, name);
    }
    lh_vec_collection_unlock_writes(c);
    if (!err)
        lh_vec_state_remove(st, at);
    return err;
}

static lh_err *lh_drop_handler(lh_ctx *ctx, const void *request, void *response)
{
    const lh_vector_name_request *req = request;
    lh_vector_drop_reply *rep = response;
    lh_vec_state *st = lh_ctx_state(ctx);
    lh_err *err = lh_vec_check_name(&req->index, "index");
    if (err)
        return err;
    char name[LH_VECTOR_MAX_INDEX_NAME + 1];
    snprintf(name, sizeof name, "%.*s", (int)req->index.len, req->index.s);
    size_t items = 0;
    pthread_mutex_lock(&st->mu);
    err = lh_drop_locked(st, name, &items);
    pthread_mutex_unlock(&st->mu);
    if (err)
        return err;
    lh_info("dropped index '%s' (%zu items)", name, items);
    lh_vector_index_event ev = {.index = {name, strlen(name)}};
    LH_SET(&ev, items, (int64_t)items);
    lh_event_emit_acked(lh_ctx_actor(ctx), &lh_ev_vector_dropped, &ev);
    rep->index = lh_arena_str(ctx, name);
    rep->dropped = (int64_t)items;
    return NULL;
}

/* ---- lifecycle ---- */

static lh_err *lh_open_index(void *user, const lh_vec_params *p)
{
    lh_vec_state *st = user;
    lh_vec_collection *c = NULL;
    lh_err *err = lh_vec_restore(st->store, p, st->dir, &c);
    if (err)
        return err;
    bool found;
    size_t at = lh_vec_state_position(st, p->name, &found);
    err = lh_vec_state_insert(st, at, c);
    if (err)
        lh_vec_collection_unref(c);
    return err;
}

static lh_vec_collection **lh_all_for_background(void *user, size_t *n)
{
    return lh_vec_state_all(user, n);
}

static void lh_vector_free(lh_vec_state *st)
{
    for (size_t i = 0; i < st->n_cols; i++)
        lh_vec_collection_unref(st->cols[i]);
    free(st->cols);
    lh_vec_store_close(st->store);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

static lh_err *lh_vector_open(lh_vec_state *st, const lh_config *cfg)
{
    snprintf(st->dir, sizeof st->dir, "%s/vectord", cfg->data_dir);
    char db[PATH_MAX + 8];
    snprintf(db, sizeof db, "%s/db", st->dir);
    lh_err *err = lh_state_mkdirs(st->dir);
    if (!err)
        err = lh_vec_store_open(db, &st->store);
    if (!err)
        err = lh_vec_store_each_index(st->store, lh_open_index, st);
    if (err)
        return err;
    lh_vec_bg_config bg = {
        .dir = st->dir,
        .snapshot_seconds =
            (int)lh_config_env_int("LH_VECTOR_SNAPSHOT_SECONDS",
                                   LH_VEC_DEFAULT_SNAPSHOT_SECONDS, 1, INT32_MAX),
        .rebuild_min_deleted = st->rebuild_min_deleted,
        .all = lh_all_for_background,
        .user = st,
    };
    return lh_vec_background_start(&bg, &st->bg);
}

static lh_err *lh_vector_init(lh_actor *actor, void **state)
{
    lh_vec_state *st = calloc(1, sizeof *st);
    if (!st)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    st->actor = actor;
    pthread_mutex_init(&st->mu, NULL);
    st->rebuild_min_deleted = (size_t)lh_config_env_int("LH_VECTOR_REBUILD_MIN_DELETED",
                                                        LH_VEC_DEFAULT_REBUILD_MIN_DELETED, 0,
                                                        INT64_MAX);
    lh_err *err = lh_vector_open(st, lh_actor_config(actor));
    if (err) {
        lh_vector_free(st);
        return err;
    }
    lh_info("%zu index%s open in %s (distance kernels: %s)", st->n_cols,
            st->n_cols == 1 ? "" : "es", st->dir, lh_fx_simd_name());
    *state = st;
    return NULL;
}

/* Before in-flight requests finish: no more rebuilds or periodic snapshots. */
static void lh_vector_stop(lh_actor *actor, void *state)
{
    (void)actor;
    lh_vec_state *st = state;
    pthread_mutex_lock(&st->mu);
    lh_vec_background *bg = st->bg;
    st->bg = NULL;
    pthread_mutex_unlock(&st->mu);
    lh_vec_background_stop(bg);
}

/* After every request is done: snapshot what changed, then close. */
static void lh_vector_fini(void *state)
{
    lh_vec_state *st = state;
    if (!st)
        return;
    lh_vec_background_stop(st->bg); /* when stop was not called */
    st->bg = NULL;
    for (size_t i = 0; i < st->n_cols; i++)
        lh_vec_snapshot_if_dirty(st->cols[i], st->dir);
    lh_vector_free(st);
}

static const lh_endpoint_def lh_vector_endpoints[] = {
    {&lh_ep_vector_create, lh_create_handler},
    {&lh_ep_vector_list, lh_list_handler},
    {&lh_ep_vector_stats, lh_stats_handler},
    {&lh_ep_vector_drop, lh_drop_handler},
    {&lh_ep_vector_upsert, lh_vec_upsert_handler},
    {&lh_ep_vector_delete, lh_vec_delete_handler},
    {&lh_ep_vector_search, lh_vec_search_handler},
};

const lh_actor_def lh_vector_actor = {
    .name = "vectord",
    .version = "0.1.0",
    .description = "Persistent vector indexes (faiss HNSW or flat; cosine, l2, ip) with string "
                   "ids, metadata filters and durable writes.",
    .endpoints = lh_vector_endpoints,
    .n_endpoints = sizeof lh_vector_endpoints / sizeof lh_vector_endpoints[0],
    .init = lh_vector_init,
    .stop = lh_vector_stop,
    .fini = lh_vector_fini,
};
