/*
 * jobs.c — observerd's long requests (follow.h): at most 64 at once,
 * each deferred and answered from a thread of its own, so a follower or
 * a long replay holds no bus thread; stop tells them to end and waits.
 */
#include "actors/observer/follow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/log.h"

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

static lh_err *lh_obs_followers_take(lh_obs_followers *f)
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

static void lh_obs_followers_release(lh_obs_followers *f)
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

static void lh_obs_job_free(lh_obs_job *job)
{
    lh_obs_followers *f = job->f;
    lh_buf_free(&job->request);
    free(job);
    lh_obs_followers_release(f);
}

static void *lh_obs_job_main(void *arg)
{
    lh_obs_job *job = arg;
    lh_log_set_actor(lh_actor_def_of(job->actor)->name);
    lh_log_set_request_id(job->rid);
    lh_arena *arena = lh_arena_create();
    void *request = NULL;
    lh_err *err = lh_schema_decode(job->contract->request, job->request.data, job->request.len,
                                   arena, &request);
    void *reply = lh_arena_alloc(arena, job->contract->reply->size);
    if (!err)
        err = job->run(job, request, arena, reply);
    if (err)
        lh_deferred_fail(job->reply, err);
    else
        lh_deferred_reply(job->reply, reply);
    lh_err_free(err);
    lh_arena_destroy(arena);
    lh_obs_job_free(job);
    return NULL;
}

lh_err *lh_obs_job_start(lh_obs_followers *f, lh_ctx *ctx, const lh_contract *k,
                         const void *request, lh_err *(*run)(lh_obs_job *, void *, lh_arena *,
                                                             void *),
                         const char *stream_field)
{
    lh_err *err = lh_obs_followers_take(f);
    if (err)
        return err;
    lh_obs_job *job = calloc(1, sizeof *job);
    if (!job)
        abort(); /* out of memory: as lh_buf does, we do not limp on */
    *job = (lh_obs_job){.f = f, .actor = lh_ctx_actor(ctx), .contract = k, .run = run};
    snprintf(job->rid, sizeof job->rid, "%s", lh_ctx_request_id(ctx));
    lh_buf_init(&job->request);
    lh_message_encode_given(k->request, request, &job->request);
    job->reply = lh_ctx_defer(ctx);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (stream_field && !lh_deferred_stream_begin(job->reply))
        err = lh_err_new(LH_EBADREQ, stream_field,
                         "%s streams its answer: ask with a streamed request (the Lh-Stream "
                         "header; over HTTP the gateway answers as events)", stream_field);
    else if (pthread_create(&t, &attr, lh_obs_job_main, job) != 0)
        err = lh_err_new(LH_EUNAVAILABLE, NULL, "cannot start a thread for %s", k->subject);
    pthread_attr_destroy(&attr);
    if (err) { /* deferred already: answered here */
        lh_deferred_fail(job->reply, err);
        lh_err_free(err);
        lh_obs_job_free(job);
    }
    return NULL;
}
