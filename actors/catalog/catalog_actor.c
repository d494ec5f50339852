/*
 * catalog_actor.c — catalogd: its endpoint table, its lifecycle (open the
 * LevelDB under $LH_DATA_DIR/catalogd) and the write handlers, which take
 * the write lock, apply the change (catalog_apply.c), and publish its
 * event while still holding the lock, so events of one dataset go out in
 * version order. Reads: catalog_read.c.
 */
#include "actors/catalog/catalog.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "actors/catalog/catalog_internal.h"
#include "bus/clock.h"
#include "bus/log.h"
#include "lib/state/state.h"

/* ---- write handlers ---- */

static lh_err *lh_create_handler(lh_ctx *ctx, const void *request, void *reply)
{
    lh_cat_state *st = lh_ctx_state(ctx);
    char now[32];
    lh_clock_rfc3339(now, sizeof now, 3);
    lh_catalog_dataset *d = NULL;
    pthread_mutex_lock(&st->write_mu);
    lh_err *err = lh_cat_apply_create(st->store, request, now, lh_ctx_arena(ctx), &d);
    if (!err)
        lh_cat_publish_created(lh_ctx_actor(ctx), d);
    pthread_mutex_unlock(&st->write_mu);
    if (err)
        return err;
    lh_info("created dataset '%s' (%s)", d->name.s, d->format.s);
    *(lh_catalog_dataset *)reply = *d;
    return NULL;
}

static lh_err *lh_commit_handler(lh_ctx *ctx, const void *request, void *reply)
{
    lh_cat_state *st = lh_ctx_state(ctx);
    char now[32];
    lh_clock_rfc3339(now, sizeof now, 3);
    lh_catalog_dataset *d = NULL;
    pthread_mutex_lock(&st->write_mu);
    lh_err *err = lh_cat_apply_commit(st->store, request, now, lh_ctx_arena(ctx), &d);
    if (!err)
        lh_cat_publish_committed(lh_ctx_actor(ctx), d);
    pthread_mutex_unlock(&st->write_mu);
    if (err)
        return err;
    const lh_catalog_version *v = d->version;
    lh_info("committed version %lld of '%s' (%lld rows)", (long long)v->version, d->name.s,
            (long long)v->rows);
    *(lh_catalog_dataset *)reply = *d;
    return NULL;
}

static lh_err *lh_delete_handler(lh_ctx *ctx, const void *request, void *reply)
{
    lh_cat_state *st = lh_ctx_state(ctx);
    lh_catalog_delete_reply *rep = reply;
    pthread_mutex_lock(&st->write_mu);
    lh_err *err = lh_cat_apply_delete(st->store, request, lh_ctx_arena(ctx), rep);
    if (!err)
        lh_cat_publish_deleted(lh_ctx_actor(ctx), rep);
    pthread_mutex_unlock(&st->write_mu);
    if (!err)
        lh_info("deleted dataset '%s' (%lld version%s)", rep->name.s, (long long)rep->versions,
                rep->versions == 1 ? "" : "s");
    return err;
}

/* ---- lifecycle ---- */

static void lh_catalog_fini(void *state)
{
    lh_cat_state *st = state;
    if (!st)
        return;
    lh_cat_store_close(st->store);
    pthread_mutex_destroy(&st->write_mu);
    free(st);
}

static lh_err *lh_catalog_init(lh_actor *actor, void **state)
{
    lh_cat_state *st = calloc(1, sizeof *st);
    if (!st)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    pthread_mutex_init(&st->write_mu, NULL);
    char dir[PATH_MAX], db[PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s/catalogd", lh_actor_config(actor)->data_dir);
    snprintf(db, sizeof db, "%s/db", dir);
    lh_err *err = lh_state_mkdirs(dir);
    if (!err)
        err = lh_cat_store_open(db, &st->store);
    if (err) {
        lh_catalog_fini(st);
        return err;
    }
    lh_info("catalog open in %s", db);
    *state = st;
    return NULL;
}

static const lh_endpoint_def lh_catalog_endpoints[] = {
    {&lh_ep_catalog_create, lh_create_handler},
    {&lh_ep_catalog_commit, lh_commit_handler},
    {&lh_ep_catalog_get, lh_cat_get_handler},
    {&lh_ep_catalog_list, lh_cat_list_handler},
    {&lh_ep_catalog_delete, lh_delete_handler},
};

const lh_actor_def lh_catalog_actor = {
    .name = "catalogd",
    .version = "0.1.0",
    .description = "Named, versioned datasets: schema, location, rows, bytes and sha256 per "
                   "immutable version, durable before acknowledged.",
    .endpoints = lh_catalog_endpoints,
    .n_endpoints = sizeof lh_catalog_endpoints / sizeof lh_catalog_endpoints[0],
    .init = lh_catalog_init,
    .fini = lh_catalog_fini,
};
