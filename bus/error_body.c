/*
 * error_body.c — error replies' bodies through their schema (see
 * error_body.h).
 */
#include "bus/error_body.h"

#include <string.h>

#include "bus/json.h"
#include "bus/request.h"

LH_SCHEMA_DEFINE(lh_error_detail, LH_ERROR_DETAIL, "What went wrong.")
LH_SCHEMA_DEFINE(lh_error_body, LH_ERROR_BODY, "The body of an error reply.")

void lh_error_body_encode(const lh_err *err, lh_buf *out)
{
    int code = lh_err_code(err);
    const char *msg = lh_err_message(err);
    const char *field = lh_err_field(err);
    lh_error_detail detail = {
        .code = code >= 400 && code <= 599 ? code : LH_EINTERNAL,
        .message = {msg, strlen(msg)},
        .field = {field, field ? strlen(field) : 0},
    };
    lh_error_body body = {.error = &detail};
    lh_message_encode(&lh_error_body_schema, &body, out);
}

void lh_error_body_json(const lh_err *err, lh_buf *out)
{
    lh_buf mp;
    lh_buf_init(&mp);
    lh_error_body_encode(err, &mp);
    lh_err *bad = lh_msgpack_to_json(mp.data, mp.len, out);
    lh_err_free(bad); /* encoded here: it reads back */
    lh_buf_free(&mp);
}

bool lh_error_body_is(const char *data, size_t len)
{
    if (!len)
        return false;
    lh_arena *arena = lh_arena_create();
    void *body = NULL;
    lh_err *err = lh_schema_decode_reply(&lh_error_body_schema, data, len, arena, &body);
    bool is = err == NULL;
    lh_arena_destroy(arena);
    lh_err_free(err);
    return is;
}
