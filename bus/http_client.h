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
#include "bus/schema.h"

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
 * status stored in *status. An error only when no usable response came:
 * 503 (no connection) or 504 (timeout), or 502 for a response over
 * max_response; naming the host, never the headers. */
lh_err *lh_http_perform(const lh_http_call *call, lh_buf *out, long *status);

/* `base` (or `fallback` when it is NULL or empty) joined with `path`, a
 * trailing slash of the base dropped: a malloc'd URL, or NULL when there
 * is neither. Aborts when out of memory. */
char *lh_http_url(const char *base, const char *fallback, const char *path);

/* An exchange with an outside JSON service (a model provider). */
typedef struct lh_http_exchange {
    const char *service;        /* how errors name it: "provider 'openai'" */
    const char *url;
    const char *const *headers; /* NULL-terminated; Content-Type: application/json is added */
    const char *secret;         /* never shown: scrubbed from what the server says */
    int timeout_ms;             /* every attempt together */
} lh_http_exchange;

/* POSTs the JSON body, retrying connection errors, 429 and 5xx (529 too)
 * up to three times with jittered exponential backoff inside the time;
 * decodes a 2xx answer through `schema` (unknown keys passed over) into
 * *out. Anything else is 502 with the server's own message (its
 * `error.message`, or `error` when that is a string), the secret
 * scrubbed, or the transport's 503/504. */
lh_err *lh_http_exchange_json(const lh_http_exchange *x, const lh_buf *body,
                              const lh_schema *schema, lh_arena *arena, void **out);

#endif
