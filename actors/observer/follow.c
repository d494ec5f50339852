/*
 * follow.c — following the log: an ordered consumer from where the
 * requester asked, every matching event sent as a chunk of a streamed
 * reply (bus/stream.h) as it arrives, a keepalive when nothing happens,
 * until the requester goes away (499), observerd stops (503), or the
 * `limit` asked for is reached (the reply then says where to go on).
 */
#include "actors/observer/follow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/observer/history.h"
#include "bus/clock.h"
#include "bus/events.h"
#include "bus/log.h"

#define LH_OBS_NEXT_MS 1000

/* Why to stop now, or NULL to go on. */
static lh_err *lh_obs_should_stop(lh_obs_job *w)
{
    if (lh_deferred_stream_cancelled(w->reply))
        return lh_err_new(LH_ECANCELED, NULL, "the requester stopped following");
    if (atomic_load(&w->f->stopping))
        return lh_err_new(LH_EUNAVAILABLE, NULL, "observerd is stopping");
    return NULL;
}

/* Streams events until told to stop or `limit` are sent; *next the
 * sequence after the last one looked at. */
static lh_err *lh_obs_stream(lh_obs_job *w, natsSubscription *sub,
                             const lh_observer_events_request *req, int64_t *next)
{
    lh_arena *arena = lh_arena_create();
    int64_t sent = 0, quiet_since = lh_clock_ms();
    lh_err *err = NULL;
    while (!err && !(req->has_limit && sent >= req->limit)) {
        natsMsg *m = NULL;
        natsStatus s = NATS_TIMEOUT;
        if (sub)
            s = natsSubscription_NextMsg(&m, sub, LH_OBS_NEXT_MS);
        else /* nothing can match: wait as a quiet log would */
            nats_Sleep(LH_OBS_NEXT_MS);
        if (s == NATS_OK) {
            lh_observer_event ev = {0};
            uint64_t left;
            if (lh_observer_take(m, arena, &ev, &left) && lh_observer_wanted(req, &ev)) {
                err = lh_deferred_stream_send(w->reply, &lh_observer_event_schema, &ev);
                sent++;
                quiet_since = lh_clock_ms();
            }
            if (ev.seq)
                *next = ev.seq + 1;
            lh_arena_reset(arena);
        } else if (s != NATS_TIMEOUT) {
            err = lh_err_from_nats(s, "follow the log");
        } else if (lh_clock_ms() - quiet_since >= LH_OBSERVER_KEEPALIVE_MS) {
            err = lh_deferred_stream_keepalive(w->reply);
            quiet_since = lh_clock_ms();
        }
        natsMsg_Destroy(m);
        if (!err)
            err = lh_obs_should_stop(w);
    }
    lh_arena_destroy(arena);
    return err;
}

static lh_err *lh_obs_follow_run(lh_obs_job *w, void *request, lh_arena *arena, void *reply)
{
    const lh_observer_events_request *req = request;
    lh_observer_events_reply *rep = reply;
    (void)arena;
    char subject[256];
    bool none = false;
    jsSubOptions so;
    lh_err *err = lh_observer_consumer(req, subject, sizeof subject, &none, &so);
    if (err)
        return err;
    jsCtx *js = NULL;
    natsSubscription *sub = NULL;
    jsErrCode jerr = 0;
    natsStatus s = natsConnection_JetStream(&js, lh_conn_nats(lh_actor_conn(w->actor)), NULL);
    if (s == NATS_OK) /* the log made if it is not there yet: following it waits for events */
        err = lh_events_ensure_stream(lh_actor_conn(w->actor));
    if (!err && s == NATS_OK)
        lh_observer_resolve_time(js, &so);
    if (!err && s == NATS_OK && !none) /* none can match: only keepalives until it ends */
        s = js_SubscribeSync(&sub, js, subject, NULL, &so, &jerr);
    int64_t next = req->has_since_seq ? req->since_seq : 1;
    if (!err && s == NATS_OK)
        err = lh_obs_stream(w, sub, req, &next);
    else if (!err)
        err = lh_err_wrap_as(lh_err_from_nats(s, "the log"), LH_EUNAVAILABLE, "cannot follow the log");
    if (sub)
        natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    jsCtx_Destroy(js);
    rep->next_seq = next;
    rep->more = true; /* a log followed always may hold more */
    return err;
}

lh_err *lh_obs_follow(lh_obs_followers *f, lh_ctx *ctx, const lh_observer_events_request *req)
{
    return lh_obs_job_start(f, ctx, &lh_ep_observer_events, req, lh_obs_follow_run, "follow");
}
