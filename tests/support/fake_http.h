/*
 * fake_http.h — a small local HTTP server for tests that stand in for an
 * outside service (a model provider): the test's function answers each
 * request, so the real libcurl client code is what is tested. One thread
 * per connection (libmicrohttpd); the function may be called from several
 * at once.
 */
#ifndef LH_TESTS_FAKE_HTTP_H
#define LH_TESTS_FAKE_HTTP_H

#include <stddef.h>

#include "bus/buf.h"

typedef struct lh_fake_http lh_fake_http;

/* One request as the server saw it. */
typedef struct lh_fake_request {
    const char *method, *url;
    const char *body; /* NUL-terminated */
    size_t len;
    void *connection; /* for lh_fake_header */
} lh_fake_request;

/* Answers a request: writes the response body (JSON) to `out` and returns
 * the status. */
typedef unsigned (*lh_fake_fn)(void *user, const lh_fake_request *req, lh_buf *out);

/* Starts on a free loopback port; fails the test when it cannot. */
lh_fake_http *lh_fake_http_start(lh_fake_fn fn, void *user);
int lh_fake_http_port(const lh_fake_http *f);
/* Stops (a client then finds nobody listening) and frees. Accepts NULL. */
void lh_fake_http_stop(lh_fake_http *f);
/* A request header's value, or NULL. */
const char *lh_fake_header(const lh_fake_request *req, const char *name);

#endif
