/*
 * tally.c — the counts of tally.h.
 *
 * Exactly once, the way a consumer of an at-least-once log gets it: the
 * durable consumer `observerd` (bus/log_reader.h) may deliver a message
 * again (a crash after the counts were kept but before the
 * acknowledgement), so the counts are kept with the last stream sequence
 * they include, in one synced LevelDB write per batch, and the reader
 * skips what is at or below it. A restarted observerd resumes where its
 * consumer stands, so nothing in between is missed.
 */
#include "actors/observer/tally.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/events.h"
#include "bus/log_reader.h"
#include "lib/state/state.h"

#define LH_OBS_MAX_TYPES 512
#define LH_OBS_DURABLE "observerd"
static const char lh_obs_key[] = "tally";

/* Time buckets, ms (the last bucket, past them all, is +Inf). */
static const double lh_obs_bounds[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50,
                                       100, 250, 500, 1000, 2500, 5000, 10000};
#define LH_OBS_N_BUCKETS (sizeof lh_obs_bounds / sizeof lh_obs_bounds[0] + 1)

typedef struct lh_obs_count {
    char actor[64], type[128], last_time[40];
    int64_t count, ms_count;
    double ms_sum;
    int64_t buckets[LH_OBS_N_BUCKETS];
} lh_obs_count;

struct lh_obs_tally {
    lh_state_db db;
    lh_log_reader *reader;
    pthread_mutex_t mu; /* the counts */
    lh_obs_count counts[LH_OBS_MAX_TYPES];
    size_t n;
    uint64_t counted_seq;
};

/* What an event may say of its own time (queryd.ran's `ms`). */
#define LH_OBS_TIMED(F, T) F(T, ms, FLOAT, .flags = LH_F_OMIT_UNSET, .doc = "How long it took.")
LH_SCHEMA_DECLARE(lh_obs_timed, LH_OBS_TIMED)
LH_SCHEMA_DEFINE(lh_obs_timed, LH_OBS_TIMED, "An event's own time.")

/* ---- counting (mu held) ---- */

static lh_obs_count *lh_obs_slot(lh_obs_tally *t, lh_str actor, lh_str type)
{
    for (size_t i = 0; i < t->n; i++)
        if (strlen(t->counts[i].type) == type.len && !memcmp(t->counts[i].type, type.s, type.len))
            return &t->counts[i];
    if (t->n == LH_OBS_MAX_TYPES)
        return NULL;
    lh_obs_count *c = &t->counts[t->n++];
    memset(c, 0, sizeof *c);
    snprintf(c->actor, sizeof c->actor, "%.*s", (int)actor.len, actor.s);
    snprintf(c->type, sizeof c->type, "%.*s", (int)type.len, type.s);
    return c;
}

static void lh_obs_count_ms(lh_obs_count *c, double ms)
{
    size_t b = 0;
    while (b < LH_OBS_N_BUCKETS - 1 && ms > lh_obs_bounds[b])
        b++;
    c->buckets[b]++;
    c->ms_count++;
    c->ms_sum += ms;
}

static void lh_obs_count_msg(lh_obs_tally *t, natsMsg *m, lh_arena *arena)
{
    lh_event_envelope *env = NULL;
    lh_err *err = lh_schema_decode_reply(&lh_event_envelope_schema, natsMsg_GetData(m),
                                         (size_t)natsMsg_GetDataLength(m), arena, (void **)&env);
    if (err) { /* not an event: nothing to count */
        lh_err_free(err);
        return;
    }
    lh_obs_timed *timed = NULL;
    err = lh_schema_decode_reply(&lh_obs_timed_schema, env->data.data, env->data.len, arena,
                                 (void **)&timed);
    lh_obs_count *c = lh_obs_slot(t, env->actor, env->type);
    if (c) {
        c->count++;
        snprintf(c->last_time, sizeof c->last_time, "%.*s", (int)env->time.len, env->time.s);
        if (!err && timed->has_ms && timed->ms >= 0)
            lh_obs_count_ms(c, timed->ms);
    }
    lh_err_free(err);
}

/* ---- the counts as a message (kept, and answered) ---- */

static void lh_obs_to_reply(lh_obs_tally *t, lh_arena *arena, lh_observer_stats_reply *rep)
{
    lh_observer_type_stats *types = lh_arena_alloc(arena, (t->n + 1) * sizeof *types);
    for (size_t i = 0; i < t->n; i++) {
        const lh_obs_count *c = &t->counts[i];
        lh_observer_bucket *b = lh_arena_alloc(arena, LH_OBS_N_BUCKETS * sizeof *b);
        for (size_t k = 0; k < LH_OBS_N_BUCKETS; k++) {
            b[k] = (lh_observer_bucket){.count = c->buckets[k]};
            if (k < LH_OBS_N_BUCKETS - 1)
                LH_SET(&b[k], le_ms, lh_obs_bounds[k]);
        }
        types[i] = (lh_observer_type_stats){
            .actor = {lh_arena_strndup(arena, c->actor, strlen(c->actor)), strlen(c->actor)},
            .type = {lh_arena_strndup(arena, c->type, strlen(c->type)), strlen(c->type)},
            .count = c->count,
            .last_time = {lh_arena_strndup(arena, c->last_time, strlen(c->last_time)),
                          strlen(c->last_time)},
            .ms_count = c->ms_count,
            .ms_sum = c->ms_sum,
            .ms_buckets = {b, c->ms_count ? LH_OBS_N_BUCKETS : 0},
        };
    }
    rep->types = (lh_objs){types, t->n};
    rep->counted_seq = (int64_t)t->counted_seq;
}

static void lh_obs_from_reply(lh_obs_tally *t, const lh_observer_stats_reply *rep)
{
    const lh_observer_type_stats *types = rep->types.v;
    for (size_t i = 0; i < rep->types.n && t->n < LH_OBS_MAX_TYPES; i++) {
        lh_obs_count *c = lh_obs_slot(t, types[i].actor, types[i].type);
        c->count = types[i].count;
        c->ms_count = types[i].ms_count;
        c->ms_sum = types[i].ms_sum;
        snprintf(c->last_time, sizeof c->last_time, "%.*s", (int)types[i].last_time.len,
                 types[i].last_time.s ? types[i].last_time.s : "");
        const lh_observer_bucket *b = types[i].ms_buckets.v;
        for (size_t k = 0; k < types[i].ms_buckets.n && k < LH_OBS_N_BUCKETS; k++)
            c->buckets[k] = b[k].count;
    }
    t->counted_seq = (uint64_t)rep->counted_seq;
}

/* Keeps the counts and the sequence they reach, synced (mu held). */
static lh_err *lh_obs_keep(lh_obs_tally *t)
{
    lh_arena *arena = lh_arena_create();
    lh_observer_stats_reply rep = {0};
    lh_obs_to_reply(t, arena, &rep);
    lh_buf out;
    lh_buf_init(&out);
    lh_message_encode(&lh_observer_stats_reply_schema, &rep, &out);
    char *msg = NULL;
    leveldb_put(t->db.db, t->db.sync_write, lh_obs_key, sizeof lh_obs_key - 1, out.data, out.len,
                &msg);
    lh_buf_free(&out);
    lh_arena_destroy(arena);
    return msg ? lh_state_db_err(msg, "keep the counts") : NULL;
}

static lh_err *lh_obs_restore(lh_obs_tally *t)
{
    size_t len = 0;
    char *msg = NULL;
    char *v = leveldb_get(t->db.db, t->db.read, lh_obs_key, sizeof lh_obs_key - 1, &len, &msg);
    if (msg)
        return lh_state_db_err(msg, "read the counts");
    if (!v)
        return NULL; /* nothing counted yet */
    lh_arena *arena = lh_arena_create();
    lh_observer_stats_reply *rep = NULL;
    lh_err *err = lh_schema_decode_reply(&lh_observer_stats_reply_schema, v, len, arena,
                                         (void **)&rep);
    if (!err)
        lh_obs_from_reply(t, rep);
    leveldb_free(v);
    lh_arena_destroy(arena);
    return err ? lh_err_wrap(err, "the kept counts") : NULL;
}

/* ---- the reader ---- */

/* Counts a batch of new events (log_reader.h). */
static void lh_obs_apply(void *user, natsMsg **msgs, const uint64_t *seqs, int n,
                         lh_arena *arena)
{
    lh_obs_tally *t = user;
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < n; i++)
        lh_obs_count_msg(t, msgs[i], arena);
    t->counted_seq = seqs[n - 1];
    pthread_mutex_unlock(&t->mu);
}

/* Keeps the counts with the sequence they reach (log_reader.h). */
static lh_err *lh_obs_keep_counts(void *user, uint64_t seq)
{
    lh_obs_tally *t = user;
    pthread_mutex_lock(&t->mu);
    assert(seq == t->counted_seq);
    lh_err *err = lh_obs_keep(t);
    pthread_mutex_unlock(&t->mu);
    return err;
}

lh_err *lh_obs_tally_start(lh_actor *a, const char *dir, lh_obs_tally **out)
{
    lh_obs_tally *t = calloc(1, sizeof *t);
    if (!t)
        abort(); /* out of memory: as lh_buf does, we do not limp on */
    pthread_mutex_init(&t->mu, NULL);
    lh_err *err = lh_state_mkdirs(dir);
    if (!err)
        err = lh_state_db_open(&t->db, dir, 0);
    if (!err)
        err = lh_obs_restore(t);
    if (!err) {
        lh_log_reader_opts o = {.durable = LH_OBS_DURABLE, .applied_seq = t->counted_seq,
                                .apply = lh_obs_apply, .keep = lh_obs_keep_counts, .user = t};
        err = lh_log_reader_start(a, &o, &t->reader);
    }
    if (err) {
        if (t->db.db)
            lh_state_db_close(&t->db);
        pthread_mutex_destroy(&t->mu);
        free(t);
        return err;
    }
    *out = t;
    return NULL;
}

void lh_obs_tally_stop_reading(lh_obs_tally *t)
{
    lh_log_reader_stop(t->reader);
    t->reader = NULL;
}

void lh_obs_tally_stop(lh_obs_tally *t)
{
    if (!t)
        return;
    lh_log_reader_stop(t->reader);
    lh_state_db_close(&t->db);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

void lh_obs_tally_read(lh_obs_tally *t, lh_arena *arena, lh_observer_stats_reply *rep)
{
    pthread_mutex_lock(&t->mu);
    lh_obs_to_reply(t, arena, rep);
    pthread_mutex_unlock(&t->mu);
}
