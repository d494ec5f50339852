/*
 * error_body.h — the body of an error reply, declared once as a schema:
 * {"error":{"code":N,"message":"...","field":"..."}} (ADR-32 puts the code
 * and message in headers too). Every actor's error replies are encoded
 * here, and the gateway recognises a callee's error body here, so the
 * shape exists in one place.
 */
#ifndef LH_ERROR_BODY_H
#define LH_ERROR_BODY_H

#include <stdbool.h>
#include <stddef.h>

#include "bus/buf.h"
#include "bus/err.h"
#include "bus/schema.h"

#define LH_ERROR_DETAIL(F, T)                                                               \
    F(T, code, INT, .required = true, .doc = "The HTTP-like status: 400, 404, 503, ...")     \
    F(T, message, STRING, .required = true, .doc = "What went wrong, for a person.")        \
    F(T, field, STRING, .doc = "The request field at fault, when there is one.")
LH_SCHEMA_DECLARE(lh_error_detail, LH_ERROR_DETAIL)

#define LH_ERROR_BODY(F, T)                                                                 \
    F(T, error, OBJECT, .required = true, .sub = &lh_error_detail_schema, .doc = "The error.")
LH_SCHEMA_DECLARE(lh_error_body, LH_ERROR_BODY)

/* Appends the msgpack error body of `err` (code clamped to 400..599). */
void lh_error_body_encode(const lh_err *err, lh_buf *out);
/* Appends its JSON form. */
void lh_error_body_json(const lh_err *err, lh_buf *out);
/* True when data[0..len) is an error body (msgpack). */
bool lh_error_body_is(const char *data, size_t len);

#endif
