/*
 * conn.h — the NATS connection every actor and tool holds.
 *
 * Connects to LH_NATS_URL, retries a failed first connect, reconnects
 * forever with capped backoff and jitter, and logs each disconnect and
 * reconnect. Publishes are sent as soon as they are made (SendAsap), since
 * a buffered reply costs a request about a millisecond.
 */
#ifndef LH_CONN_H
#define LH_CONN_H

#include <stdbool.h>

#include <nats/nats.h>

#include "bus/err.h"

typedef struct lh_conn lh_conn;

typedef struct lh_conn_opts {
    const char *url;        /* required */
    const char *name;       /* connection name shown by the server */
    bool wait_for_server;   /* keep retrying the first connect (actors) or fail at once (CLI) */
} lh_conn_opts;

lh_err *lh_conn_create(const lh_conn_opts *opts, lh_conn **out);
/* Drains subscriptions (in-flight callbacks finish), then closes. */
void lh_conn_drain(lh_conn *c, int timeout_ms);
void lh_conn_destroy(lh_conn *c);
natsConnection *lh_conn_nats(lh_conn *c);

/* Maps a nats.c status to an error value (timeouts 504, no responders 503). */
lh_err *lh_err_from_nats(natsStatus s, const char *what);

#endif
