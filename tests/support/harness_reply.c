/*
 * harness_reply.c — one request to an actor and its reply as a test reads
 * it: every suite that talks to actors on the bus shares this, so the
 * error convention (ADR-32 headers plus an `{"error":{...}}` body) is
 * decoded in one place, and the typed call, which names a contract and
 * holds every success reply to the contract's reply schema, is written
 * once.
 */
#include "tests/support/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/buf.h"
#include "bus/codec.h"
#include "bus/json.h"
#include "bus/schema.h"

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

/* The reply message to one request, or NULL when none came. */
static natsMsg *lh_test_exchange(natsConnection *nc, const char *subject, const void *data,
                                 size_t len, const char *request_id, int timeout_ms)
{
    natsMsg *req = NULL, *m = NULL;
    if (natsMsg_Create(&req, subject, NULL, data, (int)len) != NATS_OK)
        return NULL;
    if (request_id)
        natsMsgHeader_Set(req, "Lh-Request-Id", request_id);
    natsStatus s = natsConnection_RequestMsg(&m, nc, req, timeout_ms);
    natsMsg_Destroy(req);
    return s == NATS_OK ? m : NULL;
}

lh_test_reply lh_test_request(natsConnection *nc, const char *subject, const void *data,
                              size_t len, const char *request_id, int timeout_ms)
{
    lh_test_reply r = {.code = -1, .message = "no reply", .subject = subject};
    natsMsg *m = lh_test_exchange(nc, subject, data, len, request_id, timeout_ms);
    if (!m)
        return r;
    r = lh_test_reply_of(m);
    r.subject = subject;
    natsMsg_Destroy(m);
    return r;
}

/* ---- typed calls ---- */

/* Why a success reply does not fit its contract, or NULL when it does.
 * The text lives until this thread's next call. */
static const char *lh_test_misfit(const lh_contract *k, natsMsg *m)
{
    static _Thread_local char why[512];
    const char *data = natsMsg_GetData(m);
    size_t len = (size_t)natsMsg_GetDataLength(m);
    lh_buf packed;
    lh_buf_init(&packed);
    lh_err *err = NULL;
    if (lh_is_json(data, len)) {
        err = lh_json_to_msgpack(data, len, &packed);
        data = packed.data, len = packed.len;
    }
    lh_arena *arena = lh_arena_create();
    void *value = NULL;
    if (!err)
        err = lh_schema_decode(k->reply, data, len, arena, &value);
    if (err)
        snprintf(why, sizeof why, "the reply of %s does not fit %s: %s", k->subject,
                 k->reply->name, lh_err_message(err));
    lh_err_free(err);
    lh_arena_destroy(arena);
    lh_buf_free(&packed);
    return err ? why : NULL;
}

lh_test_reply lh_test_call_msg(natsConnection *nc, const lh_contract *k, const void *body,
                               size_t len, const char *request_id, natsMsg **msg)
{
    lh_test_reply r = {.code = -1, .message = "no reply", .subject = k->subject};
    natsMsg *m = lh_test_exchange(nc, k->subject, body, len, request_id,
                                  LH_TEST_CALL_TIMEOUT_MS);
    if (msg)
        *msg = m;
    if (!m)
        return r;
    r = lh_test_reply_of(m);
    r.subject = k->subject;
    const char *misfit = r.code == 0 ? lh_test_misfit(k, m) : NULL;
    if (misfit)
        r.code = -1, r.message = misfit;
    if (!msg)
        natsMsg_Destroy(m);
    return r;
}

lh_test_reply lh_test_call(natsConnection *nc, const lh_contract *k, const void *body,
                           size_t len)
{
    return lh_test_call_msg(nc, k, body, len, NULL, NULL);
}

lh_test_reply lh_test_call_s(natsConnection *nc, const lh_contract *k, const char *json)
{
    return lh_test_call_msg(nc, k, json, strlen(json), NULL, NULL);
}

lh_test_reply lh_test_call_j(natsConnection *nc, const lh_contract *k, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    lh_test_reply r = lh_test_call_s(nc, k, text ? text : "");
    free(text);
    return r;
}

json_t *lh_test_ok(lh_test_reply r)
{
    if (r.code)
        fail_msg("%s refused: %d %s", r.subject ? r.subject : "request", r.code,
                 r.message ? r.message : "(no message)");
    return r.body;
}

void lh_test_expect(lh_test_reply r, int code, const char *field, const char *words)
{
    const char *what = r.subject ? r.subject : "request";
    if (r.code != code)
        fail_msg("%s: expected %d, got %d (%s)", what, code, r.code,
                 r.message ? r.message : "success");
    if (field && (!r.field || strcmp(r.field, field)))
        fail_msg("%s: expected field '%s', got '%s' (%s)", what, field,
                 r.field ? r.field : "(none)", r.message);
    if (words && (!r.message || !strstr(r.message, words)))
        fail_msg("%s: error '%s' lacks '%s'", what, r.message, words);
    json_decref(r.body);
}
