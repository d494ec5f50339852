/*
 * catalog_events.c — what catalogd tells observers, on the event contracts
 * of schemas/catalog.h (events.catalogd.{created,committed,deleted}).
 * Published only after the change is durable, so an event never announces
 * something a crash could take back.
 */
#include "actors/catalog/catalog_internal.h"

#include <assert.h>

#include "bus/events.h"

void lh_cat_publish_created(lh_actor *actor, const lh_catalog_dataset *d)
{
    lh_catalog_created_event ev = {.name = d->name, .format = d->format};
    lh_event_emit_acked(actor, &lh_ev_catalog_created, &ev);
}

void lh_cat_publish_committed(lh_actor *actor, const lh_catalog_dataset *d)
{
    const lh_catalog_version *v = d->version;
    assert(v && v->location);
    lh_catalog_committed_event ev = {
        .name = d->name,
        .version = v->version,
        .location = v->location,
        .rows = v->rows,
        .bytes = v->bytes,
        .sha256 = v->sha256,
    };
    lh_event_emit_acked(actor, &lh_ev_catalog_committed, &ev);
}

void lh_cat_publish_deleted(lh_actor *actor, const lh_catalog_delete_reply *d)
{
    lh_event_emit_acked(actor, &lh_ev_catalog_deleted, d);
}
