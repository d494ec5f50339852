/*
 * http_client.h — one HTTP request to an outside service (a model
 * provider), through libcurl, its answer read whole or streamed: the
 * transport every provider module shares, so timeouts, retries, size
 * bounds and error wording are the same everywhere.
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
    int idle_ms;                    /* > 0: also ended by this long without a byte */
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

/* An outside JSON service (a model provider): where it is, how errors
 * name it, its key and the header that carries it. What every provider
 * module keeps, made and freed in one place. */
typedef struct lh_http_service {
    char who[80];     /* "provider 'groq'" */
    char *url;
    char *key;        /* never shown: scrubbed from what the server says; NULL when none */
    char *key_header; /* key_format with the key, e.g. "Authorization: Bearer KEY"; or NULL */
    int timeout_ms;   /* every attempt of one request together */
} lh_http_service;

/* Takes `url` (malloc'd, as lh_http_url makes it); copies `key` (may be
 * NULL or empty: none) and makes its header from `key_format` (one %s).
 * Aborts when out of memory. */
void lh_http_service_init(lh_http_service *s, const char *who, char *url, const char *key,
                          const char *key_format, int timeout_ms);
void lh_http_service_free(lh_http_service *s);

/* POSTs the JSON body with the key's header and `extra_header` (may be
 * NULL), within the service's time or `time_left_ms` if that is less;
 * retries connection errors, 429 and 5xx (529 too) up to three times with
 * jittered exponential backoff inside that time; decodes a 2xx answer
 * through `schema` (unknown keys passed over) into *out. Anything else is
 * 502 with the server's own message (its `error.message`, or `error` when
 * that is a string), the key scrubbed, or the transport's 503/504. */
lh_err *lh_http_service_post(const lh_http_service *s, const char *extra_header,
                             int time_left_ms, const lh_buf *body, const lh_schema *schema,
                             lh_arena *arena, void **out);

/* Stars over every copy of the service's key in `text` (servers quote the
 * key they were given): for any text of the server's that an error shows. */
void lh_http_service_scrub(const lh_http_service *s, char *text);

/* Takes the next piece of a streamed body, as it arrives (cut anywhere):
 * NULL to go on, or an error to stop the transfer. */
typedef lh_err *(*lh_http_piece_fn)(void *user, const char *data, size_t len);
/* Asked (with its own user) about once a second while a stream runs or
 * waits: NULL to go on, or an error to stop it (the requester went away,
 * the actor stops). */
typedef lh_err *(*lh_http_check_fn)(void *user);

/* The longest a stream may run, however it keeps talking. */
#define LH_HTTP_STREAM_MAX_MS (30 * 60 * 1000)

/* POSTs the JSON body as lh_http_service_post does (the key, the
 * retries of connection errors, 429 and 5xx), asking for `type`
 * ("text/event-stream"), and hands a 2xx answer's body to `fn` piece by
 * piece as libcurl brings it. The time left bounds each silence, not the
 * whole: a stream may run as long as it keeps talking (up to
 * LH_HTTP_STREAM_MAX_MS). `check` (may be NULL) is asked about once a
 * second, with check_user. No attempt is made again once a piece has been handed on.
 * Returns NULL when the body ended cleanly (whether it said all it
 * should is for fn's reader to tell), else:
 *   - fn's or check's own error, when it stopped the transfer;
 *   - 502 for a 2xx whose Content-Type does not begin with `type`, naming
 *     the type that came and the start of the body;
 *   - 502 "the stream from ... ended before its end" for a transfer cut
 *     after a piece (504 when it ran out of time);
 *   - the refusal lh_http_service_post gives for any other status, and its
 *     transport's 503/504; never the key. */
lh_err *lh_http_service_stream(const lh_http_service *s, const char *extra_header,
                               int time_left_ms, const lh_buf *body, const char *type,
                               lh_http_piece_fn fn, void *user, lh_http_check_fn check,
                               void *check_user);

#endif
