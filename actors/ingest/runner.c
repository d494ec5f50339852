/*
 * runner.c — ingestd's job threads: a FIFO of queued jobs and a few
 * threads that take them in turn, so a long ingest never holds a bus
 * thread. Stopping fails what is still queued and asks running jobs to
 * give up at their next chunk, so waiters hear back before the connection
 * closes.
 */
#include <stdlib.h>

#include "actors/ingest/ingest_internal.h"
#include "bus/log.h"

static void *lh_runner_main(void *arg)
{
    lh_ingest_state *st = arg;
    lh_log_set_actor(lh_actor_def_of(st->actor)->name);
    pthread_mutex_lock(&st->mu);
    for (;;) {
        while (!st->stopping && !st->head)
            pthread_cond_wait(&st->wake, &st->mu);
        if (st->stopping)
            break;
        lh_job *job = st->head;
        st->head = job->next;
        if (!st->head)
            st->tail = NULL;
        job->next = NULL;
        pthread_mutex_unlock(&st->mu);
        lh_job_run(st, job);
        pthread_mutex_lock(&st->mu);
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

void lh_runner_enqueue_locked(lh_ingest_state *st, lh_job *job)
{
    job->next = NULL;
    if (st->tail)
        st->tail->next = job;
    else
        st->head = job;
    st->tail = job;
    pthread_cond_signal(&st->wake);
}

lh_err *lh_runner_start(lh_ingest_state *st)
{
    st->threads = calloc((size_t)st->n_threads, sizeof *st->threads);
    if (!st->threads)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    for (int i = 0; i < st->n_threads; i++) {
        if (pthread_create(&st->threads[i], NULL, lh_runner_main, st) != 0) {
            st->n_threads = i; /* stop joins the ones that did start */
            return lh_err_new(LH_EINTERNAL, NULL, "cannot start job thread %d", i + 1);
        }
    }
    return NULL;
}

void lh_runner_stop(lh_ingest_state *st)
{
    pthread_mutex_lock(&st->mu);
    st->stopping = true;
    lh_job *queued = st->head;
    st->head = st->tail = NULL;
    for (size_t i = 0; i < st->n_active; i++)
        atomic_store(&st->active[i]->cancel, true);
    pthread_cond_broadcast(&st->wake);
    pthread_mutex_unlock(&st->mu);
    lh_err *why = lh_err_new(LH_EUNAVAILABLE, NULL,
                             "interrupted: ingestd stopped before the job started; submit it "
                             "again");
    while (queued) {
        lh_job *next = queued->next;
        lh_job_finish(st, queued, why);
        queued = next;
    }
    lh_err_free(why);
    for (int i = 0; i < st->n_threads; i++)
        pthread_join(st->threads[i], NULL);
    free(st->threads);
    st->threads = NULL;
    st->n_threads = 0;
}
