/*
 * request.c — synchronous actor-to-actor calls and reading error replies.
 */
#include "bus/request.h"

#include <stdlib.h>
#include <string.h>

#include "bus/log.h"

lh_err *lh_reply_error(natsMsg *msg, const char *subject)
{
    if (natsMsg_IsNoResponders(msg))
        return lh_err_new(LH_EUNAVAILABLE, NULL, "no actor is serving %s", subject);
    const char *code = NULL;
    if (natsMsgHeader_Get(msg, LH_HDR_ERROR_CODE, &code) != NATS_OK || !code)
        return NULL;
    const char *text = NULL;
    natsMsgHeader_Get(msg, LH_HDR_ERROR, &text);
    long n = strtol(code, NULL, 10);
    if (n < 400 || n > 599)
        n = LH_EINTERNAL;
    return lh_err_new((int)n, NULL, "%s", text && *text ? text : "error with no message");
}

lh_err *lh_request(lh_conn *c, const char *subject, const char *data, size_t len,
                   const char *request_id, int timeout_ms, lh_buf *reply)
{
    natsMsg *req = NULL;
    natsMsg *rep = NULL;
    const char *rid = request_id ? request_id : lh_log_request_id();
    natsStatus s = natsMsg_Create(&req, subject, NULL, data, (int)len);
    if (s == NATS_OK && rid)
        s = natsMsgHeader_Set(req, LH_HDR_REQUEST_ID, rid);
    if (s == NATS_OK)
        s = natsConnection_RequestMsg(&rep, lh_conn_nats(c), req, timeout_ms);
    natsMsg_Destroy(req);
    if (s != NATS_OK)
        return lh_err_from_nats(s, subject);
    lh_err *err = lh_reply_error(rep, subject);
    if (!err)
        lh_buf_append(reply, natsMsg_GetData(rep), (size_t)natsMsg_GetDataLength(rep));
    natsMsg_Destroy(rep);
    return err;
}

lh_err *lh_reply_decode(const lh_contract *k, const char *data, size_t len, lh_arena *arena,
                        void **out)
{
    return lh_err_wrap_as(lh_schema_decode_reply(k->reply, data, len, arena, out),
                          LH_EINTERNAL, "%s gave an unreadable reply", k->subject);
}

lh_err *lh_call(lh_conn *c, const lh_contract *k, const void *req, lh_arena *arena, void **reply,
                int timeout_ms)
{
    lh_buf body, out;
    lh_buf_init(&body);
    lh_buf_init(&out);
    lh_message_encode(k->request, req, &body);
    lh_err *err = lh_request(c, k->subject, body.data, body.len, NULL, timeout_ms, &out);
    if (err)
        err = lh_err_wrap(err, "%s", k->subject);
    else if (reply)
        err = lh_reply_decode(k, out.data, out.len, arena, reply);
    lh_buf_free(&body);
    lh_buf_free(&out);
    return err;
}
