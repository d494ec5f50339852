/*
 * err.c — the error value. Messages are bounded so an error can never be
 * the thing that runs a process out of memory. Wrapping links a new error
 * to its cause and renders the chain once, newest context first, so
 * reading the message costs nothing.
 */
#include "bus/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LH_ERR_MSG_MAX 1024
#define LH_ERR_FIELD_MAX 128

#define LH_ERR_WHAT_MAX 256

struct lh_err {
    int code;
    char field[LH_ERR_FIELD_MAX];
    char what[LH_ERR_WHAT_MAX];     /* this level's text */
    char message[LH_ERR_MSG_MAX];   /* the chain: what, then the cause's message */
    lh_err *cause;
};

/* Allocation failure while reporting an error must still report something. */
static lh_err lh_err_oom = {LH_EINTERNAL, "", "out of memory", "out of memory", NULL};

lh_err *lh_err_newv(int code, const char *field, const char *fmt, va_list ap)
{
    lh_err *err = calloc(1, sizeof *err);
    if (!err)
        return &lh_err_oom;
    err->code = code;
    if (field)
        snprintf(err->field, sizeof err->field, "%s", field);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    snprintf(err->what, sizeof err->what, "%s", err->message);
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

static lh_err *lh_err_wrapv(lh_err *err, int code, const char *field, const char *fmt,
                            va_list ap)
{
    if (!err || err == &lh_err_oom)
        return err;
    lh_err *outer = calloc(1, sizeof *outer);
    if (!outer)
        return err; /* the cause alone still says what failed */
    vsnprintf(outer->what, sizeof outer->what, fmt, ap);
    outer->code = code;
    if (field)
        snprintf(outer->field, sizeof outer->field, "%s", field);
    outer->cause = err;
    /* Both parts, cut to the message bound. */
    char joined[LH_ERR_WHAT_MAX + LH_ERR_MSG_MAX + 2];
    snprintf(joined, sizeof joined, "%s: %s", outer->what, err->message);
    snprintf(outer->message, sizeof outer->message, "%s", joined);
    return outer;
}

lh_err *lh_err_wrap(lh_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lh_err *outer = err ? lh_err_wrapv(err, err->code, lh_err_field(err), fmt, ap) : NULL;
    va_end(ap);
    return outer;
}

lh_err *lh_err_wrap_as(lh_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lh_err *outer = err ? lh_err_wrapv(err, code, NULL, fmt, ap) : NULL;
    va_end(ap);
    return outer;
}

int lh_err_code(const lh_err *err) { return err ? err->code : 0; }

const char *lh_err_message(const lh_err *err) { return err ? err->message : ""; }

const char *lh_err_what(const lh_err *err) { return err ? err->what : ""; }

const lh_err *lh_err_cause(const lh_err *err) { return err ? err->cause : NULL; }

const char *lh_err_field(const lh_err *err)
{
    return err && err->field[0] ? err->field : NULL;
}

void lh_err_free(lh_err *err)
{
    while (err && err != &lh_err_oom) {
        lh_err *cause = err->cause;
        free(err);
        err = cause;
    }
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
    case 499: return "Client Closed Request";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Error";
    }
}
