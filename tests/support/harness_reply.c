/*
 * harness_reply.c — one request to an actor and its reply as a test reads
 * it: every suite that talks to actors on the bus shares this, so the
 * error convention (ADR-32 headers plus an `{"error":{...}}` body) is
 * decoded in one place.
 */
#include "tests/support/harness.h"

#include <stdlib.h>
#include <string.h>

#include "bus/buf.h"
#include "bus/json.h"

static json_t *lh_test_body(const char *data, size_t len)
{
    if (lh_is_json(data, len))
        return json_loadb(data, len, 0, NULL);
    lh_buf b;
    lh_buf_init(&b);
    lh_err *err = lh_msgpack_to_json(data, len, &b);
    json_t *j = err ? NULL : json_loadb(b.data, b.len, 0, NULL);
    lh_err_free(err);
    lh_buf_free(&b);
    return j;
}

lh_test_reply lh_test_reply_of(natsMsg *m)
{
    lh_test_reply r = {0};
    r.body = lh_test_body(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
    const char *code = NULL;
    if (natsMsgHeader_Get(m, "Nats-Service-Error-Code", &code) == NATS_OK && code) {
        r.code = atoi(code);
        json_t *e = json_object_get(r.body, "error");
        r.field = json_string_value(json_object_get(e, "field"));
        r.message = json_string_value(json_object_get(e, "message"));
    }
    if (!r.body && !r.code)
        r.code = -1, r.message = "the reply is neither JSON nor msgpack";
    return r;
}

lh_test_reply lh_test_request(natsConnection *nc, const char *subject, const void *data,
                              size_t len, const char *request_id, int timeout_ms)
{
    lh_test_reply r = {.code = -1, .message = "no reply"};
    natsMsg *req = NULL, *m = NULL;
    if (natsMsg_Create(&req, subject, NULL, data, (int)len) != NATS_OK)
        return r;
    if (request_id)
        natsMsgHeader_Set(req, "Lh-Request-Id", request_id);
    natsStatus s = natsConnection_RequestMsg(&m, nc, req, timeout_ms);
    natsMsg_Destroy(req);
    if (s != NATS_OK)
        return r;
    r = lh_test_reply_of(m);
    natsMsg_Destroy(m);
    return r;
}
