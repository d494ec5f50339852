/*
 * http_client.h — one HTTP request to an outside service (a model
 * provider), through libcurl: the transport every provider module shares,
 * so timeouts, size bounds and error wording are the same everywhere.
 * Secrets given in headers are never logged or put into errors.
 */
#ifndef LH_HTTP_CLIENT_H
#define LH_HTTP_CLIENT_H

#include <stddef.h>

#include "bus/buf.h"
#include "bus/err.h"

typedef struct lh_http_call {
    const char *method;             /* "POST" */
    const char *url;
    const char *const *headers;     /* NULL-terminated "Name: value", or NULL */
    const char *body;
    size_t body_len;
    int timeout_ms;                 /* the whole exchange */
    size_t max_response;            /* bytes; a larger response is an error */
} lh_http_call;

/* Performs the call; the response body is appended to `out` and its
 * status stored in *status. An error only when no response came (connect,
 * timeout, too large): 503 or 504, naming the host, never the headers. */
lh_err *lh_http_perform(const lh_http_call *call, lh_buf *out, long *status);

#endif
