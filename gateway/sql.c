/*
 * sql.c — POST /v1/sql, which is query.sql as it is, but for the bus
 * deadline. queryd interrupts a query at its own `timeout_ms` (up to five
 * minutes) and says so; the gateway's usual deadline (LH_REQUEST_TIMEOUT_MS)
 * would cut a long query short with a bare 504 while queryd works on. So
 * the deadline here is the query's timeout plus the usual one, and the
 * client hears queryd's own answer.
 */
#include "gateway/gw.h"

#include <string.h>

#include <msgpack.h>

#include "schemas/query.h"

/* The request's timeout_ms, or queryd's default when absent or not an
 * integer (queryd refuses the latter itself, with a message). */
static int64_t lh_gw_sql_timeout(const lh_buf *msg)
{
    int64_t ms = LH_QUERY_DEFAULT_TIMEOUT_MS;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, msg->data, msg->len, NULL) == MSGPACK_UNPACK_SUCCESS &&
        u.data.type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < u.data.via.map.size; i++) {
            const msgpack_object_kv *kv = &u.data.via.map.ptr[i];
            if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 10 &&
                !memcmp(kv->key.via.str.ptr, "timeout_ms", 10) &&
                kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                kv->val.via.u64 <= LH_QUERY_MAX_TIMEOUT_MS)
                ms = (int64_t)kv->val.via.u64;
        }
    }
    msgpack_unpacked_destroy(&u);
    return ms;
}

static lh_err *lh_gw_sql_request(lh_gw_req *req, lh_buf *out)
{
    lh_err *err = lh_gw_body_to_msgpack(req, out);
    if (!err)
        req->timeout_ms = (int)(lh_gw_sql_timeout(out) + req->gw->config.request_timeout_ms);
    return err;
}

const lh_gw_shape lh_gw_shape_sql = {
    .name = "sql",
    .request = lh_gw_sql_request,
    .reply = lh_gw_reply_json,
};
