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

typedef struct lh_obs_follower {
    lh_obs_followers *f;
    lh_actor *actor;
    lh_deferred *reply;
    lh_buf request; /* msgpack: the handler's arena is gone when the thread runs */
    char rid[72];
} lh_obs_follower;

void lh_obs_followers_init(lh_obs_followers *f)
{
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->idle, NULL);
    f->active = 0;
    atomic_store(&f->stopping, false);
}

void lh_obs_followers_stop(lh_obs_followers *f)
{
    pthread_mutex_lock(&f->mu);
    atomic_store(&f->stopping, true); /* each sees it within LH_OBS_NEXT_MS */
    while (f->active > 0)
        pthread_cond_wait(&f->idle, &f->mu);
    pthread_mutex_unlock(&f->mu);
}

lh_err *lh_obs_followers_take(lh_obs_followers *f)
{
    pthread_mutex_lock(&f->mu);
    lh_err *err = atomic_load(&f->stopping)
                      ? lh_err_new(LH_EUNAVAILABLE, NULL, "observerd is stopping")
                  : f->active >= LH_OBSERVER_MAX_FOLLOWERS
                      ? lh_err_new(LH_EBUSY, NULL, "%d followers already; try again later",
                                   LH_OBSERVER_MAX_FOLLOWERS)
                      : NULL;
    if (!err)
        f->active++;
    pthread_mutex_unlock(&f->mu);
    return err;
}

void lh_obs_followers_release(lh_obs_followers *f)
{
    pthread_mutex_lock(&f->mu);
    if (--f->active == 0)
        pthread_cond_broadcast(&f->idle);
    pthread_mutex_unlock(&f->mu);
}

void lh_obs_followers_fini(lh_obs_followers *f)
{
    pthread_cond_destroy(&f->idle);
    pthread_mutex_destroy(&f->mu);
}

/* Why to stop now, or NULL to go on. */
static lh_err *lh_obs_should_stop(lh_obs_follower *w)
{
    if (lh_deferred_stream_cancelled(w->reply))
        return lh_err_new(LH_ECANCELED, NULL, "the requester stopped following");
    if (atomic_load(&w->f->stopping))
        return lh_err_new(LH_EUNAVAILABLE, NULL, "observerd is stopping");
    return NULL;
}

/* Streams events until told to stop or `limit` are sent; *next the
 * sequence after the last one looked at. */
static lh_err *lh_obs_stream(lh_obs_follower *w, natsSubscription *sub,
                             const lh_observer_events_request *req, int64_t *next)
{
    lh_arena *arena = lh_arena_create();
    int64_t sent = 0, quiet_since = lh_clock_ms();
    lh_err *err = NULL;
    while (!err && !(req->has_limit && sent >= req->limit)) {
        natsMsg *m = NULL;
        natsStatus s = natsSubscription_NextMsg(&m, sub, LH_OBS_NEXT_MS);
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

static lh_err *lh_obs_follow_run(lh_obs_follower *w, lh_arena *arena,
                                 lh_observer_events_reply *rep)
{
    lh_observer_events_request *req = NULL;
    lh_err *err = lh_schema_decode(&lh_observer_events_request_schema, w->request.data,
                                   w->request.len, arena, (void **)&req);
    char subject[256];
    bool none = false;
    jsSubOptions so;
    if (!err)
        err = lh_observer_consumer(req, subject, sizeof subject, &none, &so);
    if (err)
        return err;
    if (none) /* nothing can match: an empty log is all there will be */
        snprintf(subject, sizeof subject, "events.%s", "observerd-none");
    jsCtx *js = NULL;
    natsSubscription *sub = NULL;
    jsErrCode jerr = 0;
    natsStatus s = natsConnection_JetStream(&js, lh_conn_nats(lh_actor_conn(w->actor)), NULL);
    if (s == NATS_OK) /* the log made if it is not there yet: following it waits for events */
        err = lh_events_ensure_stream(lh_actor_conn(w->actor));
    if (!err && s == NATS_OK)
        lh_err_free(lh_observer_resolve_time(js, &so));
    if (!err && s == NATS_OK)
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

static void *lh_obs_follow_main(void *arg)
{
    lh_obs_follower *w = arg;
    lh_log_set_actor(lh_actor_def_of(w->actor)->name);
    lh_log_set_request_id(w->rid);
    lh_arena *arena = lh_arena_create();
    lh_observer_events_reply rep = {0};
    lh_err *err = lh_obs_follow_run(w, arena, &rep);
    if (err)
        lh_deferred_fail(w->reply, err);
    else
        lh_deferred_reply(w->reply, &rep);
    lh_err_free(err);
    lh_arena_destroy(arena);
    lh_buf_free(&w->request);
    lh_obs_followers *f = w->f;
    free(w);
    lh_obs_followers_release(f);
    return NULL;
}

lh_err *lh_obs_follow(lh_obs_followers *f, lh_ctx *ctx, const lh_observer_events_request *req)
{
    lh_err *err = lh_obs_followers_take(f);
    if (err)
        return err;
    lh_obs_follower *w = calloc(1, sizeof *w);
    if (!w)
        abort(); /* out of memory: as lh_buf does, we do not limp on */
    w->f = f;
    w->actor = lh_ctx_actor(ctx);
    snprintf(w->rid, sizeof w->rid, "%s", lh_ctx_request_id(ctx));
    lh_buf_init(&w->request);
    lh_message_encode_given(&lh_observer_events_request_schema, req, &w->request);
    w->reply = lh_ctx_defer(ctx);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (!lh_deferred_stream_begin(w->reply)) {
        err = lh_err_new(LH_EBADREQ, "follow",
                         "follow streams the log: ask with a streamed request (the Lh-Stream "
                         "header; over HTTP, GET /v1/events?follow=true answers as events)");
    } else if (pthread_create(&t, &attr, lh_obs_follow_main, w) == 0) {
        pthread_attr_destroy(&attr);
        return NULL;
    } else {
        err = lh_err_new(LH_EUNAVAILABLE, NULL, "cannot start a thread to follow the log");
    }
    pthread_attr_destroy(&attr);
    lh_deferred_fail(w->reply, err);
    lh_err_free(err);
    lh_buf_free(&w->request);
    free(w);
    lh_obs_followers_release(f);
    return NULL;
}
