/*
 * err.h — errors as values.
 *
 * Every fallible function in Lakehouse returns an `lh_err *`: NULL means
 * success, anything else is an owned error carrying an HTTP-like code, a
 * message a person can act on, and optionally the request field at fault.
 * Callers either handle it, pass it up, or wrap it with context
 * (lh_err_wrap). Wrapping keeps the wrapped error as a value, the cause
 * (lh_err_cause), as nats.c keeps its error stack; the message prints the
 * chain like a path: "load index: read snapshot: permission denied". The
 * codes are the ones the bus puts in `Nats-Service-Error-Code` and the
 * gateway turns into HTTP statuses.
 */
#ifndef LH_ERR_H
#define LH_ERR_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    LH_EBADREQ = 400,     /* malformed or invalid input */
    LH_EFORBIDDEN = 403,  /* refused by policy */
    LH_ENOTFOUND = 404,
    LH_EMETHOD = 405,
    LH_ECONFLICT = 409,
    LH_ETOOLARGE = 413,
    LH_EMEDIA = 415,      /* unsupported content type */
    LH_EUNPROCESSABLE = 422,
    LH_EBUSY = 429,
    LH_ECANCELED = 499,   /* the requester went away (nginx's "client closed request") */
    LH_EINTERNAL = 500,
    LH_EUPSTREAM = 502,   /* an outside service (a model provider) failed or refused */
    LH_EUNAVAILABLE = 503,
    LH_ETIMEOUT = 504,
};

typedef struct lh_err lh_err;

/* Creates an error. `field` may be NULL. The message is printf-formatted. */
lh_err *lh_err_new(int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
lh_err *lh_err_newv(int code, const char *field, const char *fmt, va_list ap);

/* Returns a new error saying `context`, with `err` as its cause (owned by
 * it) and err's code and field. Passing NULL returns NULL, so
 * `return lh_err_wrap(f(), "ctx")` is safe. */
lh_err *lh_err_wrap(lh_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* lh_err_wrap with a code of its own and no field: for a failure that
 * means something else one level up (a reply that does not decode is the
 * callee's fault, a 500, not the 400 its decoder said). */
lh_err *lh_err_wrap_as(lh_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int lh_err_code(const lh_err *err);
/* The whole chain, newest context first: "ctx: cause: root cause". */
const char *lh_err_message(const lh_err *err);
/* This error's own text, without its causes. */
const char *lh_err_what(const lh_err *err);
/* The error this one wraps, or NULL. Owned by err. */
const lh_err *lh_err_cause(const lh_err *err);
const char *lh_err_field(const lh_err *err); /* NULL when no field */
/* Frees the error and its causes. */
void lh_err_free(lh_err *err);

/* The short reason phrase for a code ("Bad Request"), for logs and HTTP. */
const char *lh_err_reason(int code);

#ifdef __cplusplus
}
#endif

#endif
