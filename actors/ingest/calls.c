/*
 * calls.c — ingestd's requests to other actors: lh_call on a contract with
 * ingestd's deadline (the thread's request id goes along).
 */
#include <stdio.h>
#include <string.h>

#include "actors/ingest/ingest_internal.h"
#include "bus/request.h"

lh_err *lh_ingest_call(lh_ingest_state *st, const lh_contract *k, const void *req,
                       lh_arena *arena, void **reply)
{
    const lh_config *cfg = lh_actor_config(st->actor);
    return lh_call(lh_actor_conn(st->actor), k, req, arena, reply, cfg->request_timeout_ms);
}

static lh_str lh_cstr(const char *s) { return (lh_str){s, strlen(s)}; }

lh_err *lh_ingest_head(lh_ingest_state *st, const char *bucket, const char *key,
                       int64_t *size, char sha256[65])
{
    lh_storage_object_request req = {.bucket = lh_cstr(bucket), .key = lh_cstr(key)};
    lh_arena *arena = lh_arena_create();
    lh_storage_object_info *info = NULL;
    lh_err *err = lh_ingest_call(st, &lh_ep_storage_head, &req, arena, (void **)&info);
    if (!err && (!info->sha256.s || info->sha256.len != 64))
        err = lh_err_new(LH_EINTERNAL, NULL, "storage.head gave no sha256 for %s/%s", bucket,
                         key);
    if (!err) {
        *size = info->size;
        memcpy(sha256, info->sha256.s, 64);
        sha256[64] = '\0';
    }
    lh_arena_destroy(arena);
    return err;
}
