/*
 * sql.c — POST /v1/sql, which is query.sql as it is, but for the bus
 * deadline. queryd interrupts a query at its own `timeout_ms` (up to five
 * minutes) and says so; the gateway's usual deadline (LH_REQUEST_TIMEOUT_MS)
 * would cut a long query short with a bare 504 while queryd works on. So
 * the deadline here is the query's timeout plus the usual one, and the
 * client hears queryd's own answer.
 */
#include "gateway/gw.h"

#include "schemas/query.h"

/* The request's timeout_ms, or queryd's default when the request does not
 * decode (queryd refuses it itself, with a message naming the field). */
static int64_t lh_gw_sql_timeout(lh_gw_req *req, const lh_buf *msg)
{
    lh_query_sql_request *q = NULL;
    lh_err *err = lh_schema_decode(lh_ep_query_sql.request, msg->data, msg->len,
                                   lh_gw_req_arena(req), (void **)&q);
    int64_t ms = err ? LH_QUERY_DEFAULT_TIMEOUT_MS : q->timeout_ms;
    lh_err_free(err);
    return ms;
}

static lh_err *lh_gw_sql_request(lh_gw_req *req, lh_buf *out)
{
    lh_err *err = lh_gw_body_to_msgpack(req, out);
    if (!err)
        req->timeout_ms = (int)(lh_gw_sql_timeout(req, out) + req->gw->config.request_timeout_ms);
    return err;
}

const lh_gw_shape lh_gw_shape_sql = {
    .name = "sql",
    .request = lh_gw_sql_request,
    .reply = lh_gw_reply_json,
};
