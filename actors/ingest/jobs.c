/*
 * jobs.c — ingestd's job table. Queued and running jobs live in memory
 * (under the state's mutex) so status and waiters see their progress; a
 * job's record goes to the store when it is queued, when it starts and
 * when it ends, and a finished job leaves memory: from then on the store
 * answers for it. A job's end is announced exactly once, to every waiter.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/ingest/ingest_internal.h"
#include "bus/clock.h"
#include "bus/events.h"
#include "bus/log.h"

const char *lh_job_state_name(lh_job_state s)
{
    switch (s) {
    case LH_JOB_QUEUED: return "queued";
    case LH_JOB_RUNNING: return "running";
    case LH_JOB_SUCCEEDED: return "succeeded";
    default: return "failed";
    }
}

lh_job *lh_job_new(const lh_job_spec *spec, const char *rid)
{
    lh_job *job = calloc(1, sizeof *job);
    if (!job)
        abort();
    lh_new_id(job->id);
    snprintf(job->rid, sizeof job->rid, "%s", rid ? rid : "");
    job->spec = *spec;
    job->state = LH_JOB_QUEUED;
    atomic_init(&job->cancel, false);
    return job;
}

void lh_job_free(lh_job *job)
{
    if (!job)
        return;
    assert(job->n_waiters == 0);
    for (size_t i = 0; i < job->n_schema; i++)
        free(job->schema[i].name);
    free(job->schema);
    free(job->waiters);
    free(job);
}

/* ---- the reply struct ---- */

static lh_str lh_arena_str(lh_arena *arena, const char *s)
{
    size_t n = strlen(s);
    return (lh_str){lh_arena_strndup(arena, s, n), n};
}

/* "" stays absent from the reply. */
static lh_str lh_arena_opt(lh_arena *arena, const char *s)
{
    return *s ? lh_arena_str(arena, s) : (lh_str){0};
}

static lh_objs lh_job_errors_reply(const lh_job *job, lh_arena *arena)
{
    lh_ingest_row_error *v = lh_arena_alloc(arena, (job->n_errors + 1) * sizeof *v);
    for (size_t i = 0; i < job->n_errors; i++) {
        v[i].line = job->errors[i].line;
        v[i].message = lh_arena_str(arena, job->errors[i].message);
    }
    return (lh_objs){v, job->n_errors};
}

static lh_objs lh_job_schema_reply(const lh_job *job, lh_arena *arena)
{
    if (!job->n_schema)
        return (lh_objs){0}; /* left out of the reply */
    lh_catalog_column *v = lh_arena_alloc(arena, job->n_schema * sizeof *v);
    for (size_t i = 0; i < job->n_schema; i++) {
        v[i].name = lh_arena_str(arena, job->schema[i].name);
        v[i].type = lh_arena_str(arena, lh_tab_type_name(job->schema[i].type));
        v[i].nullable = job->schema[i].nullable;
    }
    return (lh_objs){v, job->n_schema};
}

void lh_job_to_reply(const lh_job *job, lh_arena *arena, lh_ingest_job *out)
{
    memset(out, 0, sizeof *out);
    out->job = lh_arena_str(arena, job->id);
    out->state = lh_arena_str(arena, lh_job_state_name(job->state));
    out->dataset = lh_arena_str(arena, job->spec.dataset);
    out->version = job->version;
    out->rows_read = job->rows_read;
    out->rows_rejected = job->rows_rejected;
    out->rows_embedded = job->rows_embedded;
    out->bytes = job->bytes;
    out->errors = lh_job_errors_reply(job, arena);
    out->error = lh_arena_opt(arena, job->error);
    out->schema = lh_job_schema_reply(job, arena);
    out->started = lh_arena_opt(arena, job->started);
    out->finished = lh_arena_opt(arena, job->finished);
}

/* ---- the table ---- */

lh_job *lh_job_find_locked(lh_ingest_state *st, const char *id, size_t len)
{
    for (size_t i = 0; i < st->n_active; i++)
        if (strlen(st->active[i]->id) == len && !memcmp(st->active[i]->id, id, len))
            return st->active[i];
    return NULL;
}

static void lh_job_insert_locked(lh_ingest_state *st, lh_job *job)
{
    if (st->n_active == st->cap_active) {
        st->cap_active = st->cap_active ? st->cap_active * 2 : 16;
        st->active = realloc(st->active, st->cap_active * sizeof *st->active);
        if (!st->active)
            abort();
    }
    st->active[st->n_active++] = job;
}

static void lh_job_remove(lh_ingest_state *st, lh_job *job)
{
    pthread_mutex_lock(&st->mu);
    for (size_t i = 0; i < st->n_active; i++) {
        if (st->active[i] == job) {
            st->active[i] = st->active[--st->n_active];
            break;
        }
    }
    pthread_mutex_unlock(&st->mu);
}

static void lh_job_add_waiter_locked(lh_job *job, lh_deferred *d)
{
    if (job->n_waiters == job->cap_waiters) {
        job->cap_waiters = job->cap_waiters ? job->cap_waiters * 2 : 4;
        job->waiters = realloc(job->waiters, job->cap_waiters * sizeof *job->waiters);
        if (!job->waiters)
            abort();
    }
    job->waiters[job->n_waiters++] = d;
}

lh_err *lh_job_persist(lh_ingest_state *st, lh_job *job)
{
    lh_arena *arena = lh_arena_create();
    lh_ingest_job rec;
    pthread_mutex_lock(&st->mu);
    lh_job_to_reply(job, arena, &rec);
    pthread_mutex_unlock(&st->mu);
    lh_err *err = lh_ingest_store_put(st->store, &rec);
    lh_arena_destroy(arena);
    return err;
}

lh_err *lh_job_submit(lh_ingest_state *st, lh_job *job, lh_deferred *waiter)
{
    lh_err *err = lh_job_persist(st, job);
    if (err)
        return err;
    pthread_mutex_lock(&st->mu);
    if (st->stopping) {
        pthread_mutex_unlock(&st->mu);
        return lh_err_new(LH_EUNAVAILABLE, NULL, "ingestd is stopping; submit the job again");
    }
    lh_job_insert_locked(st, job);
    if (waiter)
        lh_job_add_waiter_locked(job, waiter);
    lh_runner_enqueue_locked(st, job);
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

bool lh_job_wait_locked(lh_job *job, lh_deferred *d)
{
    if (job->state != LH_JOB_QUEUED && job->state != LH_JOB_RUNNING)
        return false;
    lh_job_add_waiter_locked(job, d);
    return true;
}

void lh_job_add_error(lh_ingest_state *st, lh_job *job, int64_t line, const char *message)
{
    pthread_mutex_lock(&st->mu);
    if (job->n_errors < LH_INGEST_MAX_ERRORS) {
        lh_job_row_error *e = &job->errors[job->n_errors++];
        e->line = line;
        snprintf(e->message, sizeof e->message, "%s", message);
    }
    pthread_mutex_unlock(&st->mu);
}

/* ---- the end of a job ---- */

static void lh_job_finished_event(lh_ingest_state *st, lh_job *job, const lh_ingest_job *rec);

void lh_job_finish(lh_ingest_state *st, lh_job *job, const lh_err *err)
{
    lh_arena *arena = lh_arena_create();
    lh_ingest_job rec;
    pthread_mutex_lock(&st->mu);
    job->state = err ? LH_JOB_FAILED : LH_JOB_SUCCEEDED;
    if (err)
        snprintf(job->error, sizeof job->error, "%s", lh_err_message(err));
    lh_clock_rfc3339(job->finished, sizeof job->finished, 3);
    lh_deferred **waiters = job->waiters;
    size_t n_waiters = job->n_waiters;
    job->waiters = NULL;
    job->n_waiters = job->cap_waiters = 0;
    lh_job_to_reply(job, arena, &rec);
    pthread_mutex_unlock(&st->mu);
    /* Durable before anyone hears of it, and before it leaves the table,
     * so ingest.status always finds it in one place or the other. */
    lh_err *perr = lh_ingest_store_put(st->store, &rec);
    if (perr) {
        lh_error("job %s: %s", job->id, lh_err_message(perr));
        lh_err_free(perr);
    }
    lh_job_progress_event(st, job, "done"); /* before the waiters hear: they may listen */
    lh_job_finished_event(st, job, &rec);
    for (size_t i = 0; i < n_waiters; i++)
        lh_deferred_reply(waiters[i], &rec);
    free(waiters);
    lh_job_remove(st, job);
    if (err)
        lh_warn("job %s (%s) failed: %s", job->id, job->spec.dataset, lh_err_message(err));
    else
        lh_info("job %s: %s version %lld, %lld rows (%lld rejected, %lld embedded)", job->id,
                job->spec.dataset, (long long)rec.version, (long long)rec.rows_read,
                (long long)rec.rows_rejected, (long long)rec.rows_embedded);
    lh_arena_destroy(arena);
    lh_job_free(job);
}

/* ---- events ---- */

static lh_str lh_ev_str(const char *s) { return (lh_str){s, strlen(s)}; }

/* Which object became which version (and index): what lineage reads. */
static void lh_job_finished_event(lh_ingest_state *st, lh_job *job, const lh_ingest_job *rec)
{
    const lh_job_spec *sp = &job->spec;
    lh_ingest_finished_event ev = {
        .job = lh_ev_str(job->id),
        .state = rec->state,
        .dataset = lh_ev_str(sp->dataset),
        .version = rec->version,
        .bucket = lh_ev_str(sp->bucket),
        .key = lh_ev_str(sp->key),
        .sha256 = lh_ev_str(sp->sha256),
        .rows = rec->rows_read,
        .rows_rejected = rec->rows_rejected,
        .rows_embedded = rec->rows_embedded,
        .embed_index = lh_ev_str(sp->embed ? sp->embed_index : ""),
        .model = lh_ev_str(sp->model),
        .error = rec->error,
    };
    lh_event_emit_acked(st->actor, &lh_ev_ingest_finished, &ev);
}

void lh_job_progress_event(lh_ingest_state *st, lh_job *job, const char *phase)
{
    pthread_mutex_lock(&st->mu);
    lh_ingest_progress_event ev = {
        .job = lh_ev_str(job->id),
        .dataset = lh_ev_str(job->spec.dataset),
        .state = lh_ev_str(lh_job_state_name(job->state)),
        .phase = lh_ev_str(phase),
        .rows = job->rows_read,
        .rows_rejected = job->rows_rejected,
        .rows_embedded = job->rows_embedded,
        .bytes = job->bytes,
        .bytes_total = job->spec.size,
        .version = job->version,
    };
    pthread_mutex_unlock(&st->mu);
    /* id and dataset never change once the job exists */
    lh_event_emit(st->actor, &lh_ev_ingest_progress, &ev);
}
