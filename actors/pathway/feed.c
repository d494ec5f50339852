/*
 * feed.c — the lineage graph fed by the log: each event that says where
 * an artifact came from (or that one appeared or went) becomes nodes and
 * edges, so lineage is recorded without any actor calling pathwayd.
 *
 *   storaged.written    object:<bucket>/<key>@<sha256> appears
 *   storaged.deleted    every version of that object is marked deleted
 *   catalogd.committed  object -> dataset:<name>@<version>     (commit)
 *   catalogd.deleted    every version of the dataset is marked deleted
 *   ingestd.finished    object -> dataset version               (ingest)
 *                       dataset version -> index:<name>         (embed)
 *   vectord.created     index:<name> appears (again)
 *   vectord.dropped     the index is marked deleted
 *   queryd.ran          each dataset version read -> query:<sha256>
 *   chatd.completed     each index cited -> chat:<event id>     (chat)
 *   pathwayd.recorded   the edges recorded from outside
 *
 * The edge's time and request id are the event's, and its run the ingest
 * job, or the event's id; so the same log always makes the same graph.
 */
#include "actors/pathway/pathway_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bus/events.h"
#include "schemas/catalog.h"
#include "schemas/chat.h"
#include "schemas/ingest.h"
#include "schemas/query.h"
#include "schemas/storage.h"
#include "schemas/vector.h"

typedef struct lh_pw_event {
    lh_pw_graph *g;
    const lh_event_envelope *env;
    lh_arena *arena;
} lh_pw_event;

static lh_str lh_pw_name(lh_arena *arena, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static lh_str lh_pw_name(lh_arena *arena, const char *fmt, ...)
{
    char tmp[LH_PATHWAY_NODE_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return (lh_str){NULL, 0}; /* too long to be a node */
    return (lh_str){lh_arena_strndup(arena, tmp, (size_t)n), (size_t)n};
}

/* The nodes of an object and of a dataset version (NULL s: too long). */
static lh_str lh_pw_object_node(lh_arena *arena, lh_str bucket, lh_str key, lh_str sha256)
{
    return lh_pw_name(arena, "object:%.*s/%.*s@%.*s", (int)bucket.len, bucket.s, (int)key.len,
                      key.s, (int)sha256.len, sha256.s);
}

static lh_str lh_pw_dataset_node(lh_arena *arena, lh_str name, int64_t version)
{
    return lh_pw_name(arena, "dataset:%.*s@%lld", (int)name.len, name.s, (long long)version);
}

/* An edge of this event, if both its ends are nodes. */
static void lh_pw_join(lh_pw_event *ev, lh_str from, lh_str to, const char *step, lh_str run,
                       bool makes_to)
{
    if (!lh_pw_node_valid(from) || !lh_pw_node_valid(to))
        return;
    lh_pathway_edge e = {.from = from, .to = to, .step = {step, strlen(step)},
                         .run = run.s ? run : ev->env->id, .time = ev->env->time,
                         .request_id = ev->env->request_id};
    lh_pw_graph_join(ev->g, &e, makes_to);
}

static void lh_pw_touch(lh_pw_event *ev, lh_str node)
{
    if (lh_pw_node_valid(node))
        lh_pw_graph_touch(ev->g, node, ev->env->time);
}

/* ---- one function per event that matters ---- */

static void lh_pw_written(lh_pw_event *ev, const void *data)
{
    const lh_storage_object_info *o = data;
    lh_pw_touch(ev, lh_pw_object_node(ev->arena, o->bucket, o->key, o->sha256));
}

static void lh_pw_object_deleted(lh_pw_event *ev, const void *data)
{
    const lh_storage_object_request *o = data;
    lh_str prefix = lh_pw_name(ev->arena, "object:%.*s/%.*s@", (int)o->bucket.len, o->bucket.s,
                               (int)o->key.len, o->key.s);
    if (prefix.s)
        lh_pw_graph_delete(ev->g, prefix, true, ev->env->time);
}

static void lh_pw_committed(lh_pw_event *ev, const void *data)
{
    const lh_catalog_committed_event *c = data;
    const lh_catalog_location *loc = c->location;
    if (!loc)
        return;
    lh_pw_join(ev, lh_pw_object_node(ev->arena, loc->bucket, loc->key, c->sha256),
               lh_pw_dataset_node(ev->arena, c->name, c->version), "commit", (lh_str){0}, true);
}

static void lh_pw_dataset_deleted(lh_pw_event *ev, const void *data)
{
    const lh_catalog_delete_reply *d = data;
    lh_str prefix = lh_pw_name(ev->arena, "dataset:%.*s@", (int)d->name.len, d->name.s);
    if (prefix.s)
        lh_pw_graph_delete(ev->g, prefix, true, ev->env->time);
}

static void lh_pw_ingested(lh_pw_event *ev, const void *data)
{
    const lh_ingest_finished_event *f = data;
    if (f->version <= 0)
        return; /* failed: nothing was made */
    lh_str dataset = lh_pw_dataset_node(ev->arena, f->dataset, f->version);
    if (f->bucket.len)
        lh_pw_join(ev, lh_pw_object_node(ev->arena, f->bucket, f->key, f->sha256), dataset,
                   "ingest", f->job, true);
    if (f->embed_index.len)
        lh_pw_join(ev, dataset,
                   lh_pw_name(ev->arena, "index:%.*s", (int)f->embed_index.len, f->embed_index.s),
                   "embed", f->job, false);
}

static void lh_pw_index(lh_pw_event *ev, const void *data, bool dropped)
{
    const lh_vector_index_event *ix = data;
    lh_str node = lh_pw_name(ev->arena, "index:%.*s", (int)ix->index.len, ix->index.s);
    if (!lh_pw_node_valid(node))
        return;
    if (dropped)
        lh_pw_graph_delete(ev->g, node, false, ev->env->time);
    else
        lh_pw_graph_touch(ev->g, node, ev->env->time);
}

static void lh_pw_index_created(lh_pw_event *ev, const void *data) { lh_pw_index(ev, data, false); }
static void lh_pw_index_dropped(lh_pw_event *ev, const void *data) { lh_pw_index(ev, data, true); }

static void lh_pw_queried(lh_pw_event *ev, const void *data)
{
    const lh_query_ran_event *q = data;
    lh_str query = lh_pw_name(ev->arena, "query:%.*s", (int)q->sql_sha256.len, q->sql_sha256.s);
    const lh_query_dataset_ref *ds = q->datasets.v;
    for (size_t i = 0; i < q->datasets.n; i++)
        lh_pw_join(ev, lh_pw_dataset_node(ev->arena, ds[i].name, ds[i].version), query, "query",
                   (lh_str){0}, true);
}

static void lh_pw_chatted(lh_pw_event *ev, const void *data)
{
    const lh_chat_completed_event *c = data;
    lh_str chat = lh_pw_name(ev->arena, "chat:%.*s", (int)ev->env->id.len, ev->env->id.s);
    for (size_t i = 0; i < c->corpora.n; i++)
        lh_pw_join(ev,
                   lh_pw_name(ev->arena, "index:%.*s", (int)c->corpora.v[i].len,
                              c->corpora.v[i].s),
                   chat, "chat", (lh_str){0}, true);
}

static void lh_pw_recorded(lh_pw_event *ev, const void *data)
{
    const lh_pathway_recorded_event *r = data;
    const lh_pathway_edge *e = r->edges.v;
    for (size_t i = 0; i < r->edges.n; i++)
        if (lh_pw_node_valid(e[i].from) && lh_pw_node_valid(e[i].to) && e[i].time.s)
            lh_pw_graph_join(ev->g, &e[i], true);
}

typedef struct lh_pw_rule {
    const lh_event_contract *ev;
    void (*apply)(lh_pw_event *ev, const void *data);
} lh_pw_rule;

static const lh_pw_rule lh_pw_rules[] = {
    {&lh_ev_storage_written, lh_pw_written},
    {&lh_ev_storage_deleted, lh_pw_object_deleted},
    {&lh_ev_catalog_committed, lh_pw_committed},
    {&lh_ev_catalog_deleted, lh_pw_dataset_deleted},
    {&lh_ev_ingest_finished, lh_pw_ingested},
    {&lh_ev_vector_created, lh_pw_index_created},
    {&lh_ev_vector_dropped, lh_pw_index_dropped},
    {&lh_ev_query_ran, lh_pw_queried},
    {&lh_ev_chat_completed, lh_pw_chatted},
    {&lh_ev_pathway_recorded, lh_pw_recorded},
};

/* Whether `type` (`storaged.written`) is the contract's. */
static bool lh_pw_is_type(lh_str type, const lh_event_contract *c)
{
    size_t sl = strlen(c->service), nl = strlen(c->name);
    return type.len == sl + 1 + nl && !memcmp(type.s, c->service, sl) && type.s[sl] == '.' &&
           !memcmp(type.s + sl + 1, c->name, nl);
}

void lh_pw_feed_event(lh_pw_graph *g, const char *msg, size_t len, lh_arena *arena)
{
    lh_event_envelope *env = NULL;
    lh_err *err = lh_schema_decode_reply(&lh_event_envelope_schema, msg, len, arena,
                                         (void **)&env);
    if (err) { /* not an event: nothing to learn */
        lh_err_free(err);
        return;
    }
    for (size_t i = 0; i < sizeof lh_pw_rules / sizeof lh_pw_rules[0]; i++) {
        const lh_event_contract *c = lh_pw_rules[i].ev;
        if (!lh_pw_is_type(env->type, c))
            continue;
        void *data = NULL;
        err = lh_schema_decode_reply(c->schema, env->data.data, env->data.len, arena, &data);
        if (!err) {
            lh_pw_event ev = {g, env, arena};
            lh_pw_rules[i].apply(&ev, data);
        }
        lh_err_free(err); /* an event not as its contract says: passed over */
        return;
    }
}

void lh_pw_feed_apply(void *user, natsMsg **msgs, const uint64_t *seqs, int n, lh_arena *arena)
{
    (void)seqs;
    lh_pw_graph *g = user;
    for (int i = 0; i < n; i++)
        lh_pw_feed_event(g, natsMsg_GetData(msgs[i]), (size_t)natsMsg_GetDataLength(msgs[i]),
                         arena);
}

lh_err *lh_pw_feed_keep(void *user, uint64_t seq) { return lh_pw_graph_keep(user, seq); }
