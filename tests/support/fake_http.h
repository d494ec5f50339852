/*
 * fake_http.h — a small local HTTP server for tests that stand in for an
 * outside service (a model provider): the test's function answers each
 * request, so the real libcurl client code is what is tested. One thread
 * per connection (libmicrohttpd); the function may be called from several
 * at once. An answer is JSON written whole, or a stream: pieces of a
 * chosen type sent one by one, each after its delay, ended cleanly or by
 * cutting the connection, as a streaming model provider answers.
 */
#ifndef LH_TESTS_FAKE_HTTP_H
#define LH_TESTS_FAKE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "bus/buf.h"

typedef struct lh_fake_http lh_fake_http;

/* One request as the server saw it. */
typedef struct lh_fake_request {
    const char *method, *url;
    const char *body; /* NUL-terminated */
    size_t len;
    void *connection; /* for lh_fake_header */
    void *answer;     /* for lh_fake_stream and lh_fake_piece */
} lh_fake_request;

/* Answers a request: writes the response body (JSON) to `out` and returns
 * the status; or, having called lh_fake_stream, returns the status of the
 * stream its lh_fake_piece calls make (`out` unused). */
typedef unsigned (*lh_fake_fn)(void *user, const lh_fake_request *req, lh_buf *out);

/* Starts on a free loopback port; fails the test when it cannot. */
lh_fake_http *lh_fake_http_start(lh_fake_fn fn, void *user);
int lh_fake_http_port(const lh_fake_http *f);
/* Stops (a client then finds nobody listening) and frees. Accepts NULL. */
void lh_fake_http_stop(lh_fake_http *f);
/* A request header's value, or NULL. */
const char *lh_fake_header(const lh_fake_request *req, const char *name);

/* ---- streamed answers (in the answering function) ---- */

/* Answers with a stream of `content_type` (chunked) instead of `out`. */
void lh_fake_stream(const lh_fake_request *req, const char *content_type);
/* Adds a piece (copied; not empty), sent `delay_ms` after the one before. */
void lh_fake_piece(const lh_fake_request *req, int delay_ms, const char *data, size_t len);
/* lh_fake_piece of a C string. */
void lh_fake_piece_s(const lh_fake_request *req, int delay_ms, const char *s);
/* Ends the stream, after its last piece, by cutting the connection (no
 * last chunk) instead of ending it cleanly. */
void lh_fake_cut(const lh_fake_request *req);

/* How the last streamed answer went, once its connection was over. */
typedef struct lh_fake_outcome {
    size_t pieces, sent; /* pieces it had; pieces handed to the socket whole */
    bool completed;      /* the server sent it all and the exchange ended cleanly */
} lh_fake_outcome;

/* Waits (boundedly, up to timeout_ms) for the last streamed answer's
 * connection to be over; false when it is not by then. */
bool lh_fake_http_last_stream(lh_fake_http *f, int timeout_ms, lh_fake_outcome *out);
/* Pieces of every streamed answer handed to the socket so far: read in a
 * client's callback, it tells whether a piece came before the stream's
 * end without timing anything. */
size_t lh_fake_http_pieces_sent(lh_fake_http *f);

#endif
