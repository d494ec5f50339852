/*
 * source.c — the read loop of source.h: storage.get by ranges, each
 * checked (same object, the offset asked, progress before the end), handed
 * to a sink: the reader, or (queryd's Parquet objects) a file.
 */
#include "lib/tabular/source.h"

#include <string.h>

#include "bus/buf.h"
#include "bus/request.h"
#include "schemas/storage.h"

static lh_err *lh_tab_check_range(const lh_tab_source *src, const lh_storage_get_reply *rep,
                                  int64_t offset)
{
    const lh_storage_object_info *o = rep->object;
    if (src->sha256 && o && o->sha256.s &&
        (o->sha256.len != 64 || memcmp(o->sha256.s, src->sha256, 64)))
        return lh_err_new(LH_ECONFLICT, NULL, "the object %s/%s changed while it was being read",
                          src->bucket, src->key);
    if (rep->offset != offset)
        return lh_err_new(LH_EINTERNAL, NULL, "storage.get answered offset %lld for %lld",
                          (long long)rep->offset, (long long)offset);
    if (!rep->eof && rep->data.len == 0)
        return lh_err_new(LH_EINTERNAL, NULL, "storage.get answered no bytes before the end");
    return NULL;
}

lh_err *lh_tab_source_each(const lh_tab_source *src, lh_tab_source_sink sink, void *sink_user)
{
    lh_arena *arena = lh_arena_create();
    lh_err *err = NULL;
    int64_t offset = 0;
    size_t chunk = src->chunk ? src->chunk : LH_TAB_SOURCE_DEFAULT_CHUNK;
    for (bool eof = false; !eof && !err; lh_arena_reset(arena)) {
        if (src->before && (err = src->before(src->user)))
            break;
        lh_storage_get_request req = {
            .bucket = {src->bucket, strlen(src->bucket)},
            .key = {src->key, strlen(src->key)},
            .offset = offset,
            .length = (int64_t)chunk,
        };
        lh_storage_get_reply *rep = NULL;
        err = lh_call(src->conn, &lh_ep_storage_get, &req, arena, (void **)&rep, src->timeout_ms);
        if (!err)
            err = lh_tab_check_range(src, rep, offset);
        if (!err)
            err = sink(sink_user, rep->data.data ? rep->data.data : "", rep->data.len);
        if (err)
            break;
        offset += (int64_t)rep->data.len;
        eof = rep->eof;
        if (src->after)
            src->after(src->user, offset);
    }
    lh_arena_destroy(arena);
    return err;
}

static lh_err *lh_feed_reader(void *user, const char *data, size_t len)
{
    return lh_tab_reader_feed(user, data, len);
}

lh_err *lh_tab_source_read(const lh_tab_source *src, lh_tab_reader *reader)
{
    lh_err *err = lh_tab_source_each(src, lh_feed_reader, reader);
    return err ? err : lh_tab_reader_finish(reader);
}
