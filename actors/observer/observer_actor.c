/*
 * observer_actor.c — observerd: its endpoint table and lifecycle. What
 * happened, read back from the log (history.c); what the log says in
 * numbers, kept by a durable consumer (tally.c) under
 * $LH_DATA_DIR/observerd, beside every actor's own $SRV.STATS.
 */
#include "actors/observer/observer.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/observer/follow.h"
#include "actors/observer/history.h"
#include "actors/observer/tally.h"
#include "bus/discovery_client.h"
#include "bus/events.h"
#include "bus/json.h"
#include "schemas/observer.h"

/* How long observer.stats listens for the actors' $SRV.STATS. */
#define LH_OBSERVER_GATHER_MS 250

typedef struct lh_observer_state {
    lh_obs_tally *tally;
    lh_obs_followers followers;
} lh_observer_state;

static lh_err *lh_observer_events_handler(lh_ctx *ctx, const void *request, void *reply)
{
    const lh_observer_events_request *req = request;
    lh_observer_state *st = lh_ctx_state(ctx);
    if (req->follow)
        return lh_obs_follow(&st->followers, ctx, req);
    return lh_observer_history(lh_actor_conn(lh_ctx_actor(ctx)), req, lh_ctx_arena(ctx), reply);
}

static bool lh_observer_collect(void *user, json_t *doc)
{
    json_array_append(user, doc);
    return true;
}

/* Every instance's $SRV.STATS document, by "<name>.<id>", as one msgpack
 * map in arena. */
static lh_raw lh_observer_services(lh_conn *c, lh_arena *arena)
{
    json_t *docs = json_array(), *by_id = json_object();
    lh_err *err = lh_discovery_gather(c, LH_DISCOVERY_STATS, NULL, LH_OBSERVER_GATHER_MS,
                                      lh_observer_collect, docs);
    lh_err_free(err); /* none gathered: an empty map says so */
    size_t i;
    json_t *doc;
    json_array_foreach(docs, i, doc) {
        char key[128];
        snprintf(key, sizeof key, "%s.%s", json_string_value(json_object_get(doc, "name")),
                 json_string_value(json_object_get(doc, "id")));
        json_object_set(by_id, key, doc);
    }
    char *text = json_dumps(by_id, JSON_COMPACT);
    json_decref(docs);
    json_decref(by_id);
    lh_buf mp;
    lh_buf_init(&mp);
    err = text ? lh_json_to_msgpack(text, strlen(text), &mp) : NULL;
    free(text);
    lh_raw raw = {0};
    if (!err && mp.len) {
        char *copy = lh_arena_alloc(arena, mp.len);
        memcpy(copy, mp.data, mp.len);
        raw = (lh_raw){copy, mp.len};
    }
    lh_err_free(err);
    lh_buf_free(&mp);
    return raw;
}

static lh_err *lh_observer_stats_handler(lh_ctx *ctx, const void *request, void *reply)
{
    (void)request;
    lh_obs_tally *t = ((lh_observer_state *)lh_ctx_state(ctx))->tally;
    lh_observer_stats_reply *rep = reply;
    lh_conn *c = lh_actor_conn(lh_ctx_actor(ctx));
    lh_obs_tally_read(t, lh_ctx_arena(ctx), rep);
    uint64_t last = lh_events_last_seq(c);
    rep->log_seq = (int64_t)last;
    rep->lag = last > (uint64_t)rep->counted_seq ? (int64_t)(last - (uint64_t)rep->counted_seq) : 0;
    rep->services = lh_observer_services(c, lh_ctx_arena(ctx));
    return NULL;
}

static lh_err *lh_observer_replay_handler(lh_ctx *ctx, const void *request, void *reply)
{
    (void)reply; /* deferred: the replay answers when it is done */
    lh_observer_state *st = lh_ctx_state(ctx);
    return lh_obs_replay(&st->followers, ctx, request);
}

static lh_err *lh_observer_init(lh_actor *actor, void **state)
{
    lh_observer_state *st = calloc(1, sizeof *st);
    if (!st)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/observerd", lh_actor_config(actor)->data_dir);
    lh_err *err = lh_obs_tally_start(actor, dir, &st->tally);
    if (err) {
        free(st);
        return err;
    }
    lh_obs_followers_init(&st->followers);
    *state = st;
    return NULL;
}

static void lh_observer_stop(lh_actor *actor, void *state)
{
    (void)actor;
    lh_observer_state *st = state;
    lh_obs_followers_stop(&st->followers);
    lh_obs_tally_stop_reading(st->tally); /* before the connection drains: acks go out */
}

static void lh_observer_fini(void *state)
{
    lh_observer_state *st = state;
    if (!st)
        return;
    lh_obs_tally_stop(st->tally);
    lh_obs_followers_fini(&st->followers);
    free(st);
}

static const lh_endpoint_def lh_observer_endpoints[] = {
    {&lh_ep_observer_events, lh_observer_events_handler},
    {&lh_ep_observer_stats, lh_observer_stats_handler},
    {&lh_ep_observer_replay, lh_observer_replay_handler},
};

const lh_actor_def lh_observer_actor = {
    .name = "observerd",
    .version = "0.1.0",
    .description = "Reads the platform's log (the JetStream stream EVENTS) back: what "
                   "happened, from a sequence number or a time, by actor, type or request; "
                   "and what it says in numbers, counted once by a durable consumer.",
    .endpoints = lh_observer_endpoints,
    .n_endpoints = sizeof lh_observer_endpoints / sizeof lh_observer_endpoints[0],
    .init = lh_observer_init,
    .stop = lh_observer_stop,
    .fini = lh_observer_fini,
};
