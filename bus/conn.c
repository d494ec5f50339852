/*
 * conn.c — the NATS connection with the reconnect policy every process
 * shares: retry forever with capped, jittered backoff, and say so in the
 * log each time the bus goes away or comes back.
 */
#include "bus/conn.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bus/log.h"

struct lh_conn {
    natsConnection *nc;
    char name[64];
    /* Set by nats.c's closed callback, its last call into us: after it,
     * freeing the struct the callbacks point at is safe. */
    atomic_bool closed;
};

static void lh_on_closed(natsConnection *nc, void *closure)
{
    (void)nc;
    atomic_store(&((lh_conn *)closure)->closed, true);
}

static void lh_on_disconnected(natsConnection *nc, void *closure)
{
    /* nats.c reports a deliberate close as a disconnect too. */
    if (natsConnection_IsClosed(nc) || natsConnection_IsDraining(nc))
        return;
    lh_warn("bus disconnected (%s); reconnecting", (const char *)closure);
}

static void lh_on_reconnected(natsConnection *nc, void *closure)
{
    char url[256] = "";
    natsConnection_GetConnectedUrl(nc, url, sizeof url);
    lh_info("bus reconnected to %s (%s)", url, (const char *)closure);
}

/* Backoff: 100 ms doubling to 2 s per attempt, so an actor is back within
 * about two seconds of nats-server returning, without hammering it. */
static int64_t lh_reconnect_delay(natsConnection *nc, int attempts, void *closure)
{
    (void)nc;
    (void)closure;
    int64_t delay = 100;
    for (int i = 1; i < attempts && delay < 2000; i++)
        delay *= 2;
    return delay > 2000 ? 2000 : delay;
}

lh_err *lh_err_from_nats(natsStatus s, const char *what)
{
    if (s == NATS_OK)
        return NULL;
    if (s == NATS_TIMEOUT)
        return lh_err_new(LH_ETIMEOUT, NULL, "%s: timed out", what);
    if (s == NATS_NO_RESPONDERS)
        return lh_err_new(LH_EUNAVAILABLE, NULL, "%s: no actor is serving it", what);
    if (s == NATS_NO_SERVER || s == NATS_CONNECTION_CLOSED || s == NATS_CONNECTION_DISCONNECTED)
        return lh_err_new(LH_EUNAVAILABLE, NULL, "%s: bus unavailable (%s)", what,
                          natsStatus_GetText(s));
    const char *last = nats_GetLastError(NULL);
    return lh_err_new(LH_EINTERNAL, NULL, "%s: %s%s%s", what, natsStatus_GetText(s),
                      last && *last ? ": " : "", last ? last : "");
}

static natsStatus lh_conn_options(const lh_conn_opts *o, lh_conn *c, natsOptions **out)
{
    natsOptions *opts = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = natsOptions_SetURL(opts, o->url);
    if (s == NATS_OK)
        s = natsOptions_SetName(opts, c->name);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(opts, -1);
    if (s == NATS_OK)
        s = natsOptions_SetCustomReconnectDelay(opts, lh_reconnect_delay, NULL);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectBufSize(opts, 8 * 1024 * 1024);
    if (s == NATS_OK)
        s = natsOptions_SetSendAsap(opts, true);
    if (s == NATS_OK)
        s = natsOptions_SetClosedCB(opts, lh_on_closed, c);
    if (s == NATS_OK)
        s = natsOptions_SetDisconnectedCB(opts, lh_on_disconnected, c->name);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectedCB(opts, lh_on_reconnected, c->name);
    if (s == NATS_OK)
        s = natsOptions_SetMaxPendingMsgs(opts, 1 << 20);
    if (s == NATS_OK && o->wait_for_server)
        s = natsOptions_SetRetryOnFailedConnect(opts, true, lh_on_reconnected, c->name);
    if (s != NATS_OK) {
        natsOptions_Destroy(opts);
        return s;
    }
    *out = opts;
    return NATS_OK;
}

lh_err *lh_conn_create(const lh_conn_opts *o, lh_conn **out)
{
    lh_conn *c = calloc(1, sizeof *c);
    if (!c)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    snprintf(c->name, sizeof c->name, "%s", o->name ? o->name : "lakehouse");
    natsOptions *opts = NULL;
    natsStatus s = lh_conn_options(o, c, &opts);
    if (s == NATS_OK) {
        s = natsConnection_Connect(&c->nc, opts);
        /* With retry-on-failed-connect, "not yet connected" is success. */
        if (s == NATS_NOT_YET_CONNECTED) {
            lh_warn("bus %s not reachable yet; will keep trying", o->url);
            s = NATS_OK;
        }
    }
    natsOptions_Destroy(opts);
    if (s != NATS_OK) {
        free(c);
        return lh_err_wrap(lh_err_from_nats(s, "connect"), "bus %s", o->url);
    }
    *out = c;
    return NULL;
}

void lh_conn_drain(lh_conn *c, int timeout_ms)
{
    if (!c || !c->nc)
        return;
    if (natsConnection_DrainTimeout(c->nc, timeout_ms) != NATS_OK)
        return;
    /* Drain is asynchronous: wait until the connection reports closed. */
    for (int waited = 0; waited < timeout_ms + 1000; waited += 10) {
        if (natsConnection_IsClosed(c->nc))
            return;
        nats_Sleep(10);
    }
}

void lh_conn_destroy(lh_conn *c)
{
    if (!c)
        return;
    if (c->nc) {
        natsConnection_Close(c->nc);
        for (int waited = 0; !atomic_load(&c->closed) && waited < 5000; waited += 5)
            nats_Sleep(5);
        natsConnection_Destroy(c->nc);
    }
    free(c);
}

natsConnection *lh_conn_nats(lh_conn *c) { return c->nc; }
