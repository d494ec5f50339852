/*
 * catalog_events.c — what catalogd tells observers, on
 * events.catalogd.{created,committed,deleted}. Published only after the
 * change is durable, so an event never announces something a crash could
 * take back. Payloads are msgpack maps:
 *   created    {name, format}
 *   committed  {name, version, location: {bucket, key}, rows, bytes, sha256}
 *   deleted    {name, versions}
 */
#include "actors/catalog/catalog_internal.h"

#include <assert.h>
#include <string.h>

#include "bus/events.h"

static void lh_pack_key(msgpack_packer *pk, const char *k)
{
    msgpack_pack_str_with_body(pk, k, strlen(k));
}

static void lh_pack_lstr(msgpack_packer *pk, const char *k, const lh_str *v)
{
    lh_pack_key(pk, k);
    msgpack_pack_str_with_body(pk, v->s, v->len);
}

static void lh_pack_int(msgpack_packer *pk, const char *k, int64_t v)
{
    lh_pack_key(pk, k);
    msgpack_pack_int64(pk, v);
}

static void lh_publish(lh_actor *actor, const char *event, const lh_buf *b)
{
    lh_event_publish(lh_actor_conn(actor), lh_actor_def_of(actor)->name, event, b->data, b->len);
}

void lh_cat_publish_created(lh_actor *actor, const lh_catalog_dataset *d)
{
    lh_buf b;
    lh_buf_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, lh_buf_msgpack_write);
    msgpack_pack_map(&pk, 2);
    lh_pack_lstr(&pk, "name", &d->name);
    lh_pack_lstr(&pk, "format", &d->format);
    lh_publish(actor, "created", &b);
    lh_buf_free(&b);
}

void lh_cat_publish_committed(lh_actor *actor, const lh_catalog_dataset *d)
{
    const lh_catalog_version *v = d->version;
    assert(v && v->location);
    const lh_catalog_location *loc = v->location;
    lh_buf b;
    lh_buf_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, lh_buf_msgpack_write);
    msgpack_pack_map(&pk, 6);
    lh_pack_lstr(&pk, "name", &d->name);
    lh_pack_int(&pk, "version", v->version);
    lh_pack_key(&pk, "location");
    msgpack_pack_map(&pk, 2);
    lh_pack_lstr(&pk, "bucket", &loc->bucket);
    lh_pack_lstr(&pk, "key", &loc->key);
    lh_pack_int(&pk, "rows", v->rows);
    lh_pack_int(&pk, "bytes", v->bytes);
    lh_pack_lstr(&pk, "sha256", &v->sha256);
    lh_publish(actor, "committed", &b);
    lh_buf_free(&b);
}

void lh_cat_publish_deleted(lh_actor *actor, const lh_catalog_delete_reply *d)
{
    lh_buf b;
    lh_buf_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, lh_buf_msgpack_write);
    msgpack_pack_map(&pk, 2);
    lh_pack_lstr(&pk, "name", &d->name);
    lh_pack_int(&pk, "versions", d->versions);
    lh_publish(actor, "deleted", &b);
    lh_buf_free(&b);
}
