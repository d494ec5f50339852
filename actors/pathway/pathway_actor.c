/*
 * pathway_actor.c — pathwayd: its endpoint table and lifecycle. The graph
 * (graph.c) lives under $LH_DATA_DIR/pathwayd and is fed by the durable
 * consumer `pathwayd` (feed.c) and by nothing else: it is the log made
 * into lineage, so removing the directory and starting again rebuilds it
 * from the log.
 */
#include "actors/pathway/pathway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/pathway/pathway_internal.h"
#include "bus/buf.h"
#include "bus/clock.h"
#include "bus/events.h"
#include "bus/log_reader.h"
#include "schemas/pathway.h"

/* How long pathway.record waits for the graph to read its edges back. */
#define LH_PATHWAY_RECORD_WAIT_MS 5000

typedef struct lh_pathway_state {
    lh_pw_graph *graph;
    lh_log_reader *reader;
} lh_pathway_state;

static lh_err *lh_pathway_bad_node(const char *field, lh_str id)
{
    return lh_err_new(LH_EBADREQ, field,
                      "'%.*s' is not a node: `kind:name`, kind a lower-case word (dataset, "
                      "object, index, ...), name not empty", (int)(id.len > 200 ? 200 : id.len),
                      id.s);
}

/* A time as the graph keeps it (RFC 3339, UTC, ms), in arena; or 400. */
static lh_err *lh_pathway_time(const char *field, lh_str in, lh_arena *arena, lh_str *out)
{
    int64_t ns = 0;
    if (!lh_clock_parse_rfc3339(in.s, in.len, &ns))
        return lh_err_new(LH_EBADREQ, field, "'%.*s' is not an RFC 3339 time "
                          "(2026-12-03T10:00:00Z)", (int)(in.len > 64 ? 64 : in.len), in.s);
    char t[LH_RFC3339_MAX];
    lh_clock_format_rfc3339(ns, t, sizeof t, 3);
    *out = (lh_str){lh_arena_strndup(arena, t, strlen(t)), strlen(t)};
    return NULL;
}

/* Checks the edges and fills in what the log must carry: time, run. */
static lh_err *lh_pathway_complete(lh_ctx *ctx, lh_objs edges_in)
{
    lh_arena *arena = lh_ctx_arena(ctx);
    lh_pathway_edge *edges = edges_in.v;
    char run[23], now[LH_RFC3339_MAX], field[64];
    lh_new_id(run); /* one request, one run */
    lh_clock_rfc3339(now, sizeof now, 3);
    for (size_t i = 0; i < edges_in.n; i++) {
        lh_pathway_edge *e = &edges[i];
        snprintf(field, sizeof field, "edges[%zu].from", i);
        if (!lh_pw_node_valid(e->from))
            return lh_pathway_bad_node(field, e->from);
        snprintf(field, sizeof field, "edges[%zu].to", i);
        if (!lh_pw_node_valid(e->to))
            return lh_pathway_bad_node(field, e->to);
        snprintf(field, sizeof field, "edges[%zu].time", i);
        lh_err *err = e->time.s ? lh_pathway_time(field, e->time, arena, &e->time) : NULL;
        if (err)
            return err;
        if (!e->time.s)
            e->time = (lh_str){lh_arena_strndup(arena, now, strlen(now)), strlen(now)};
        if (!e->run.s || !e->run.len)
            e->run = (lh_str){lh_arena_strndup(arena, run, strlen(run)), strlen(run)};
        const char *rid = lh_ctx_request_id(ctx);
        if (!e->request_id.s && rid)
            e->request_id = (lh_str){rid, strlen(rid)};
    }
    return NULL;
}

/* Edges go into the log, and into the graph only from there (as every
 * other edge does), so the graph is the log's whatever the timing; the
 * reply waits until the reader has come round to them. */
static lh_err *lh_pathway_record(lh_ctx *ctx, const void *request, void *reply)
{
    const lh_pathway_record_request *req = request;
    lh_pathway_state *st = lh_ctx_state(ctx);
    lh_actor *a = lh_ctx_actor(ctx);
    if (!lh_actor_config(a)->events)
        return lh_err_new(LH_EUNAVAILABLE, NULL,
                          "LH_EVENTS=off: there is no log to record the edges into");
    lh_err *err = lh_pathway_complete(ctx, req->edges);
    if (err)
        return err;
    lh_pathway_recorded_event ev = {.edges = req->edges};
    if (!lh_event_emit_acked(a, &lh_ev_pathway_recorded, &ev))
        return lh_err_new(LH_EUNAVAILABLE, NULL, "the log did not take the edges in time; "
                          "they are queued and will be recorded when it does");
    uint64_t tail = lh_events_last_seq(lh_actor_conn(a));
    int64_t until = lh_clock_ms() + LH_PATHWAY_RECORD_WAIT_MS;
    while (lh_log_reader_applied(st->reader) < tail && lh_clock_ms() < until)
        nats_Sleep(2);
    ((lh_pathway_record_reply *)reply)->recorded = (int64_t)req->edges.n;
    return NULL;
}

/* The trace of a node the graph holds: 400 for a name that is not a
 * node, 404 for one it does not hold. */
static lh_err *lh_pathway_traced(lh_ctx *ctx, const lh_pathway_trace_request *req,
                                 lh_pathway_trace_reply *out)
{
    lh_pathway_state *st = lh_ctx_state(ctx);
    if (!lh_pw_node_valid(req->node))
        return lh_pathway_bad_node("node", req->node);
    lh_pathway_node n;
    if (!lh_pw_graph_node(st->graph, req->node, lh_ctx_arena(ctx), &n))
        return lh_err_new(LH_ENOTFOUND, "node", "no node '%.*s' in the lineage graph",
                          (int)(req->node.len > 200 ? 200 : req->node.len), req->node.s);
    lh_pw_trace(st->graph, req, lh_ctx_arena(ctx), out);
    return NULL;
}

static lh_err *lh_pathway_trace_handler(lh_ctx *ctx, const void *request, void *reply)
{
    return lh_pathway_traced(ctx, request, reply);
}

static lh_err *lh_pathway_lineage_handler(lh_ctx *ctx, const void *request, void *reply)
{
    lh_pathway_trace_reply trace;
    lh_err *err = lh_pathway_traced(ctx, request, &trace);
    if (!err)
        lh_pw_marquez(&trace, lh_ctx_arena(ctx), reply);
    return err;
}

static lh_err *lh_pathway_openlineage_handler(lh_ctx *ctx, const void *request, void *reply)
{
    const lh_pathway_openlineage_request *req = request;
    lh_pathway_state *st = lh_ctx_state(ctx);
    lh_str since = {0};
    const char *at = NULL;
    size_t at_len = 0;
    if (req->cursor.s && !lh_pw_cursor_key(req->cursor, lh_ctx_arena(ctx), &at, &at_len))
        return lh_err_new(LH_EBADREQ, "cursor", "not a cursor this export gave (next_cursor)");
    lh_err *err = req->since.s && !at ? lh_pathway_time("since", req->since, lh_ctx_arena(ctx),
                                                         &since)
                                      : NULL;
    if (err)
        return err;
    lh_pw_openlineage(st->graph, since.s, at, at_len, req->has_limit ? req->limit : 100,
                      lh_ctx_arena(ctx), reply);
    return NULL;
}

static lh_err *lh_pathway_init(lh_actor *actor, void **state)
{
    lh_pathway_state *st = calloc(1, sizeof *st);
    if (!st)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/pathwayd", lh_actor_config(actor)->data_dir);
    lh_err *err = lh_pw_graph_open(dir, &st->graph);
    if (!err) {
        lh_log_reader_opts o = {.durable = "pathwayd",
                                .applied_seq = lh_pw_graph_applied(st->graph),
                                .apply = lh_pw_feed_apply, .keep = lh_pw_feed_keep,
                                .user = st->graph};
        err = lh_log_reader_start(actor, &o, &st->reader);
    }
    if (err) {
        lh_pw_graph_close(st->graph);
        free(st);
        return err;
    }
    *state = st;
    return NULL;
}

static void lh_pathway_stop(lh_actor *actor, void *state)
{
    (void)actor;
    lh_pathway_state *st = state;
    if (!st)
        return;
    lh_log_reader_stop(st->reader); /* before the connection drains: acks go out */
    st->reader = NULL;
}

static void lh_pathway_fini(void *state)
{
    lh_pathway_state *st = state;
    if (!st)
        return;
    lh_log_reader_stop(st->reader);
    lh_pw_graph_close(st->graph);
    free(st);
}

/* How far into the log the graph is: its trace endpoint's $SRV.STATS data. */
static void lh_pathway_stats_data(lh_actor *actor, void *state, const lh_contract *k,
                                  lh_buf *out)
{
    (void)actor;
    lh_pathway_state *st = state;
    if (k == &lh_ep_pathway_trace && st)
        lh_buf_appendf(out, "\"applied_seq\":%llu",
                       (unsigned long long)lh_pw_graph_applied(st->graph));
}

static const lh_endpoint_def lh_pathway_endpoints[] = {
    {&lh_ep_pathway_record, lh_pathway_record},
    {&lh_ep_pathway_trace, lh_pathway_trace_handler},
    {&lh_ep_pathway_lineage, lh_pathway_lineage_handler},
    {&lh_ep_pathway_openlineage, lh_pathway_openlineage_handler},
};

const lh_actor_def lh_pathway_actor = {
    .name = "pathwayd",
    .version = "0.1.0",
    .description = "Keeps the lineage graph, made from the platform's log: which object "
                   "became which dataset version, which version fed which index or query; "
                   "traced up and down, exported as OpenLineage.",
    .endpoints = lh_pathway_endpoints,
    .n_endpoints = sizeof lh_pathway_endpoints / sizeof lh_pathway_endpoints[0],
    .init = lh_pathway_init,
    .stop = lh_pathway_stop,
    .fini = lh_pathway_fini,
    .stats_data = lh_pathway_stats_data,
};
