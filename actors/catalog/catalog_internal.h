/*
 * catalog_internal.h — what catalogd's files share: the actor state, the
 * state changes (one function per change, applied from its message, so a
 * replicated catalogd can later apply the same messages from a JetStream
 * log), the events, and the read handlers.
 */
#ifndef LH_CATALOG_INTERNAL_H
#define LH_CATALOG_INTERNAL_H

#include <pthread.h>

#include "actors/catalog/store.h"
#include "bus/actor.h"
#include "schemas/catalog.h"

typedef struct lh_cat_state {
    lh_cat_store *store;
    /* One writer at a time: a commit reads `latest` and writes latest + 1,
     * and a delete must not interleave with it. Reads take a snapshot and
     * never wait for this. */
    pthread_mutex_t write_mu;
} lh_cat_state;

/* ---- state changes (catalog_apply.c); callers hold write_mu ---- */

/* Each validates its message (400/404/409 naming the field), writes the
 * change durably, and gives back the new state allocated in `a`. `now` is
 * the RFC 3339 time to record, an input so that applying the same message
 * again gives the same record. */
lh_err *lh_cat_apply_create(lh_cat_store *s, const lh_catalog_create_request *req,
                            const char *now, lh_arena *a, lh_catalog_dataset **out);
/* *out is the dataset with `version` set to the new version (with its schema). */
lh_err *lh_cat_apply_commit(lh_cat_store *s, const lh_catalog_commit_request *req,
                            const char *now, lh_arena *a, lh_catalog_dataset **out);
lh_err *lh_cat_apply_delete(lh_cat_store *s, const lh_catalog_name_request *req, lh_arena *a,
                            lh_catalog_delete_reply *out);

/* ---- events (catalog_events.c): events.catalogd.<event> ---- */

void lh_cat_publish_created(lh_actor *actor, const lh_catalog_dataset *d);
/* d->version is the version committed. */
void lh_cat_publish_committed(lh_actor *actor, const lh_catalog_dataset *d);
void lh_cat_publish_deleted(lh_actor *actor, const lh_catalog_delete_reply *d);

/* ---- read handlers (catalog_read.c) ---- */

lh_err *lh_cat_get_handler(lh_ctx *ctx, const void *request, void *reply);
lh_err *lh_cat_list_handler(lh_ctx *ctx, const void *request, void *reply);

#endif
