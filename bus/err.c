/*
 * err.c — the error value. Messages are bounded so an error can never be
 * the thing that runs a process out of memory; wrapping keeps the newest
 * context first.
 */
#include "bus/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LH_ERR_MSG_MAX 1024
#define LH_ERR_FIELD_MAX 128

struct lh_err {
    int code;
    char field[LH_ERR_FIELD_MAX];
    char message[LH_ERR_MSG_MAX];
};

/* Allocation failure while reporting an error must still report something. */
static lh_err lh_err_oom = {LH_EINTERNAL, "", "out of memory"};

lh_err *lh_err_newv(int code, const char *field, const char *fmt, va_list ap)
{
    lh_err *err = calloc(1, sizeof *err);
    if (!err)
        return &lh_err_oom;
    err->code = code;
    if (field)
        snprintf(err->field, sizeof err->field, "%s", field);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    return err;
}

lh_err *lh_err_new(int code, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lh_err *err = lh_err_newv(code, field, fmt, ap);
    va_end(ap);
    return err;
}

lh_err *lh_err_wrap(lh_err *err, const char *fmt, ...)
{
    if (!err || err == &lh_err_oom)
        return err;
    char context[LH_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(context, sizeof context, fmt, ap);
    va_end(ap);
    /* Room for both parts; the result is cut to the message bound. */
    char joined[2 * LH_ERR_MSG_MAX + 2];
    snprintf(joined, sizeof joined, "%s: %s", context, err->message);
    joined[sizeof err->message - 1] = '\0';
    memcpy(err->message, joined, sizeof err->message);
    return err;
}

int lh_err_code(const lh_err *err) { return err ? err->code : 0; }

const char *lh_err_message(const lh_err *err) { return err ? err->message : ""; }

const char *lh_err_field(const lh_err *err)
{
    return err && err->field[0] ? err->field : NULL;
}

void lh_err_free(lh_err *err)
{
    if (err != &lh_err_oom)
        free(err);
}

const char *lh_err_reason(int code)
{
    switch (code) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Error";
    }
}
