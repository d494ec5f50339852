/*
 * follow.h — observerd's long requests, each on a thread of its own
 * (jobs.c: the slots, the thread, the deferred reply): observer.events
 * with `follow`, the log streamed as it grows (follow.c), and
 * observer.replay (replay.c). Internal to actors/observer/.
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

/* One long request on its thread: its deferred reply and a copy of its
 * request (msgpack; the handler's arena is gone when the thread runs). */
typedef struct lh_obs_job lh_obs_job;
struct lh_obs_job {
    lh_obs_followers *f;
    lh_actor *actor;
    lh_deferred *reply;
    lh_buf request;
    const lh_contract *contract;
    /* Fills `reply` (a zeroed struct of the contract's reply, in arena)
     * or says why not; the reply (or the error) is then sent. */
    lh_err *(*run)(lh_obs_job *job, void *request, lh_arena *arena, void *reply);
    char rid[72];
};

/* Takes a slot (429 when all 64 are taken, 503 when stopping), defers
 * the request, and runs job->run for it on a new thread. `stream`: the
 * reply must be a stream (400 naming `stream_field` when the requester
 * did not ask for one). An error means nothing started. */
lh_err *lh_obs_job_start(lh_obs_followers *f, lh_ctx *ctx, const lh_contract *k,
                         const void *request, lh_err *(*run)(lh_obs_job *, void *, lh_arena *,
                                                             void *),
                         const char *stream_field);

/* Defers the request and follows the log for it on a new thread; an
 * error (nothing started) when it cannot. */
lh_err *lh_obs_follow(lh_obs_followers *f, lh_ctx *ctx, const lh_observer_events_request *req);

/* Defers observer.replay and runs it on a new thread (replay.c). */
lh_err *lh_obs_replay(lh_obs_followers *f, lh_ctx *ctx, const lh_observer_replay_request *req);

#endif
