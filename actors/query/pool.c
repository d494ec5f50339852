/*
 * pool.c — the query threads. query.sql hands its request to a FIFO and
 * defers the reply, so a statement that runs for seconds holds a query
 * thread, never a bus thread, and other queries keep being answered
 * whatever --workers says. Each thread owns one session (connection and
 * views), so no connection is ever shared. A full queue answers 429.
 *
 * The watch, a thread of its own, sleeps until the nearest deadline of a
 * running statement and interrupts the statements past theirs.
 *
 * Stopping fails what is still queued (503), interrupts running
 * statements, and loads see `stop` at their next range, so every
 * deferred reply is sent before the connection drains.
 */
#include "actors/query/query_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/clock.h"
#include "bus/digest.h"
#include "bus/events.h"
#include "bus/log.h"

struct lh_qjob {
    lh_qjob *next;
    lh_deferred *reply;
    lh_arena *arena; /* the copied request, then the reply */
    lh_query_sql_request req;
    char rid[64];
};

typedef struct lh_qthread_arg {
    lh_query_state *st;
    lh_qsession *session;
} lh_qthread_arg;

/* ---- one job ---- */

static void lh_job_free(lh_qjob *job)
{
    lh_arena_destroy(job->arena);
    free(job);
}

static void lh_job_run(lh_query_state *st, lh_qsession *s, lh_qjob *job)
{
    lh_log_set_request_id(job->rid); /* logs and calls to catalogd/storaged carry it */
    lh_query_sql_reply reply = {0};
    lh_err *err = lh_query_run(st, s, &job->req, job->arena, &reply);
    atomic_fetch_add(&st->queries, 1);
    if (err) {
        lh_debug("query refused: %d %s", lh_err_code(err), lh_err_message(err));
        lh_deferred_fail(job->reply, err);
        lh_err_free(err);
    } else {
        lh_deferred_reply(job->reply, &reply);
        char sha[65];
        lh_sha256_hex(job->req.sql.s, job->req.sql.len, sha);
        lh_query_ran_event ev = {.sql_sha256 = {sha, 64}, .datasets = reply.datasets,
                                 .rows = reply.row_count, .truncated = reply.truncated,
                                 .ms = reply.elapsed_ms};
        lh_event_emit(st->actor, &lh_ev_query_ran, &ev);
    }
    lh_log_set_request_id(NULL);
    lh_job_free(job);
}

static lh_qjob *lh_take_locked(lh_query_state *st)
{
    lh_qjob *job = st->head;
    st->head = job->next;
    if (!st->head)
        st->tail = NULL;
    st->queued--;
    return job;
}

static void *lh_thread_main(void *arg)
{
    lh_qthread_arg *t = arg;
    lh_query_state *st = t->st;
    lh_log_set_actor(lh_actor_def_of(st->actor)->name);
    pthread_mutex_lock(&st->mu);
    for (;;) {
        while (!st->stopping && !st->head)
            pthread_cond_wait(&st->wake, &st->mu);
        if (st->stopping)
            break;
        lh_qjob *job = lh_take_locked(st);
        pthread_mutex_unlock(&st->mu);
        lh_job_run(st, t->session, job);
        pthread_mutex_lock(&st->mu);
    }
    pthread_mutex_unlock(&st->mu);
    free(t);
    return NULL;
}

/* ---- the watch ---- */

#define LH_QWATCH_IDLE_NS 1000000000ll /* asleep at most this long with nothing running */
#define LH_QWATCH_AGAIN_NS 10000000ll  /* an interrupt sent; again after this if still running */

static void lh_wait_until(lh_query_state *st, int64_t wake_ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t delta = wake_ns - lh_clock_ns();
    if (delta <= 0)
        return;
    ts.tv_sec += delta / 1000000000;
    ts.tv_nsec += delta % 1000000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&st->watch_wake, &st->mu, &ts);
}

/* An interrupt that reaches a connection just before its statement
 * starts is lost (DuckDB clears it when a statement begins), so one past
 * its deadline, or any while stopping, is interrupted again and again
 * until its thread ends it. */
static void *lh_watch_main(void *arg)
{
    lh_query_state *st = arg;
    pthread_mutex_lock(&st->mu);
    while (!st->watch_quit) {
        bool stopping = st->stopping;
        pthread_mutex_unlock(&st->mu);
        int64_t now = lh_clock_ns(), wake = now + LH_QWATCH_IDLE_NS;
        for (int i = 0; i < st->n_threads; i++) {
            int64_t deadline = lh_qsession_watch(st->sessions[i], now, stopping);
            int64_t next = !deadline ? wake : deadline > now && !stopping ? deadline
                                                                           : now + LH_QWATCH_AGAIN_NS;
            if (next < wake)
                wake = next;
        }
        pthread_mutex_lock(&st->mu);
        if (!st->watch_quit)
            lh_wait_until(st, wake);
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

void lh_qpool_watch_poke(lh_query_state *st)
{
    pthread_mutex_lock(&st->mu);
    pthread_cond_signal(&st->watch_wake);
    pthread_mutex_unlock(&st->mu);
}

/* ---- start and stop ---- */

static lh_err *lh_start_thread(lh_query_state *st, int i)
{
    lh_qthread_arg *t = malloc(sizeof *t);
    if (!t)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    *t = (lh_qthread_arg){st, st->sessions[i]};
    if (pthread_create(&st->threads[i], NULL, lh_thread_main, t) != 0) {
        free(t);
        return lh_err_new(LH_EINTERNAL, NULL, "cannot start query thread %d", i + 1);
    }
    st->started++;
    return NULL;
}

lh_err *lh_qpool_start(lh_query_state *st)
{
    st->threads = calloc((size_t)st->n_threads, sizeof *st->threads);
    st->sessions = calloc((size_t)st->n_threads, sizeof *st->sessions);
    if (!st->threads || !st->sessions)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    lh_err *err = NULL;
    for (int i = 0; i < st->n_threads && !err; i++)
        err = lh_qsession_open(st->db, &st->sessions[i]);
    if (!err && pthread_create(&st->watch, NULL, lh_watch_main, st) != 0)
        err = lh_err_new(LH_EINTERNAL, NULL, "cannot start the query watch");
    st->watching = !err;
    for (int i = 0; i < st->n_threads && !err; i++)
        err = lh_start_thread(st, i);
    return err; /* stop joins the threads that did start */
}

void lh_qpool_stop(lh_query_state *st)
{
    pthread_mutex_lock(&st->mu);
    st->stopping = true;
    atomic_store(&st->stop, true);
    lh_qjob *queued = st->head;
    st->head = st->tail = NULL;
    st->queued = 0;
    pthread_cond_broadcast(&st->wake);
    pthread_mutex_unlock(&st->mu);
    lh_err *why = lh_err_new(LH_EUNAVAILABLE, NULL, "queryd stopped before the query ran; "
                             "ask again");
    while (queued) {
        lh_qjob *next = queued->next;
        lh_deferred_fail(queued->reply, why);
        lh_job_free(queued);
        queued = next;
    }
    lh_err_free(why);
    lh_qpool_watch_poke(st); /* it interrupts what runs, until the threads end */
    for (int i = 0; i < st->started; i++)
        pthread_join(st->threads[i], NULL);
    pthread_mutex_lock(&st->mu);
    st->watch_quit = true;
    pthread_cond_signal(&st->watch_wake);
    pthread_mutex_unlock(&st->mu);
    if (st->watching)
        pthread_join(st->watch, NULL);
    st->watching = false;
    for (int i = 0; st->sessions && i < st->n_threads; i++)
        lh_qsession_close(st->sessions[i]);
    free(st->threads);
    free(st->sessions);
    st->threads = NULL;
    st->sessions = NULL;
    st->started = 0;
}

/* ---- submitting ---- */

static lh_qjob *lh_job_copy(lh_ctx *ctx, const lh_query_sql_request *req)
{
    lh_qjob *job = calloc(1, sizeof *job);
    if (!job)
        abort();
    job->arena = lh_arena_create();
    job->req = *req;
    job->req.sql.s = lh_arena_strndup(job->arena, req->sql.s, req->sql.len);
    if (req->params.data)
        job->req.params.data = lh_arena_strndup(job->arena, req->params.data, req->params.len);
    snprintf(job->rid, sizeof job->rid, "%s", lh_ctx_request_id(ctx));
    return job;
}

lh_err *lh_qpool_submit(lh_query_state *st, lh_ctx *ctx, const lh_query_sql_request *req)
{
    pthread_mutex_lock(&st->mu);
    lh_err *err = NULL;
    if (st->stopping)
        err = lh_err_new(LH_EUNAVAILABLE, NULL, "queryd is stopping; ask again later");
    else if (st->queued >= st->max_queue)
        err = lh_err_new(LH_EBUSY, NULL, "queryd is busy: %zu queries are waiting; ask again "
                         "later", st->queued);
    if (err) {
        pthread_mutex_unlock(&st->mu);
        return err;
    }
    lh_qjob *job = lh_job_copy(ctx, req);
    job->reply = lh_ctx_defer(ctx);
    if (st->tail)
        st->tail->next = job;
    else
        st->head = job;
    st->tail = job;
    st->queued++;
    pthread_cond_signal(&st->wake);
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

size_t lh_qpool_queued(lh_query_state *st)
{
    pthread_mutex_lock(&st->mu);
    size_t n = st->queued;
    pthread_mutex_unlock(&st->mu);
    return n;
}
