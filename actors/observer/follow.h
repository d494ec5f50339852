/*
 * follow.h — observer.events with `follow`: the log streamed to one
 * requester, on a thread of its own, as it grows (internal to
 * actors/observer/).
 */
#ifndef LH_OBSERVER_FOLLOW_H
#define LH_OBSERVER_FOLLOW_H

#include <pthread.h>
#include <stdatomic.h>

#include "bus/actor.h"
#include "schemas/observer.h"

/* At most this many followers at once (more is 429). */
#define LH_OBSERVER_MAX_FOLLOWERS 64
/* A follower with nothing to say says it is there this often. */
#define LH_OBSERVER_KEEPALIVE_MS 10000

typedef struct lh_obs_followers {
    pthread_mutex_t mu;
    pthread_cond_t idle;
    int active;
    atomic_bool stopping;
} lh_obs_followers;

void lh_obs_followers_init(lh_obs_followers *f);
/* Tells every follower to stop and waits for them. */
void lh_obs_followers_stop(lh_obs_followers *f);
void lh_obs_followers_fini(lh_obs_followers *f);

/* Takes a follower's slot (a replay takes one too), or says why there is
 * none; lh_obs_followers_release gives it back. */
lh_err *lh_obs_followers_take(lh_obs_followers *f);
void lh_obs_followers_release(lh_obs_followers *f);

/* Defers the request and follows the log for it on a new thread; an
 * error (nothing started) when it cannot. */
lh_err *lh_obs_follow(lh_obs_followers *f, lh_ctx *ctx, const lh_observer_events_request *req);

/* Defers observer.replay and runs it on a new thread (replay.c). */
lh_err *lh_obs_replay(lh_obs_followers *f, lh_ctx *ctx, const lh_observer_replay_request *req);

#endif
