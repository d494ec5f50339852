/*
 * trace.c — a node's lineage: breadth first from the node, up its
 * in-edges to its sources and down its out-edges to what was made from
 * it, each at most `depth` steps away, each node and edge once; then the
 * same in Marquez's shape (each node with its in- and out-edges).
 */
#include "actors/pathway/pathway_internal.h"

#include <ctype.h>
#include <string.h>

#include "bus/buf.h"
#include "bus/strmap.h"

/* What a trace holds while it walks: nodes and edges met, as growing
 * arrays in the arena with maps to find them. */
typedef struct lh_pw_walker {
    lh_pw_graph *g;
    lh_arena *arena;
    lh_strmap seen_nodes, seen_edges;
    lh_str *nodes;
    size_t n_nodes, cap_nodes;
    lh_pathway_edge *edges;
    size_t n_edges, cap_edges;
    bool down, truncated;
    lh_buf key;
} lh_pw_walker;

static void *lh_pw_grow(lh_arena *arena, void *old, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return old;
    size_t fresh = *cap ? *cap * 2 : 64;
    void *v = lh_arena_alloc(arena, fresh * size);
    if (n)
        memcpy(v, old, n * size);
    *cap = fresh;
    return v;
}

static void lh_pw_add_node(lh_pw_walker *w, lh_str id)
{
    if (lh_strmap_get(&w->seen_nodes, id.s, id.len) != LH_STRMAP_ABSENT)
        return;
    if (w->n_nodes == LH_PW_MAX_NODES) {
        w->truncated = true;
        return;
    }
    w->nodes = lh_pw_grow(w->arena, w->nodes, w->n_nodes, &w->cap_nodes, sizeof *w->nodes);
    lh_strmap_put(&w->seen_nodes, id.s, id.len, w->n_nodes);
    w->nodes[w->n_nodes++] = id;
}

static bool lh_pw_visit_edge(void *user, const lh_pathway_edge *e)
{
    lh_pw_walker *w = user;
    lh_buf_reset(&w->key);
    lh_buf_append(&w->key, e->from.s, e->from.len);
    lh_buf_append(&w->key, "", 1);
    lh_buf_append(&w->key, e->to.s, e->to.len);
    if (lh_strmap_get(&w->seen_edges, w->key.data, w->key.len) == LH_STRMAP_ABSENT) {
        lh_strmap_put(&w->seen_edges, w->key.data, w->key.len, w->n_edges);
        w->edges = lh_pw_grow(w->arena, w->edges, w->n_edges, &w->cap_edges, sizeof *w->edges);
        w->edges[w->n_edges++] = *e;
    }
    lh_pw_add_node(w, w->down ? e->to : e->from);
    return !w->truncated;
}

/* Expands from `start` one way, depth rounds. */
static void lh_pw_walk_one_way(lh_pw_walker *w, lh_str start, bool down, int64_t depth)
{
    w->down = down;
    /* the round's nodes: start, then each round's newcomers */
    lh_str *round = lh_arena_alloc(w->arena, sizeof *round);
    round[0] = start;
    size_t n_round = 1;
    for (int64_t d = 0; d < depth && n_round && !w->truncated; d++) {
        size_t before = w->n_nodes;
        for (size_t i = 0; i < n_round && !w->truncated; i++)
            lh_pw_graph_edges(w->g, round[i], down, w->arena, lh_pw_visit_edge, w);
        n_round = w->n_nodes - before; /* the newcomers, copied: nodes moves as it grows */
        round = lh_arena_alloc(w->arena, (n_round + 1) * sizeof *round);
        memcpy(round, w->nodes + before, n_round * sizeof *round);
    }
}

void lh_pw_trace(lh_pw_graph *g, const lh_pathway_trace_request *req, lh_arena *arena,
                 lh_pathway_trace_reply *rep)
{
    lh_pw_walker w = {.g = g, .arena = arena};
    lh_buf_init(&w.key);
    lh_str dir = req->direction.s ? req->direction : (lh_str){"both", 4};
    int64_t depth = req->has_depth ? req->depth : 5;
    lh_pw_add_node(&w, req->node);
    if (dir.s[0] != 'd') /* up or both */
        lh_pw_walk_one_way(&w, req->node, false, depth);
    if (dir.s[0] != 'u') /* down or both */
        lh_pw_walk_one_way(&w, req->node, true, depth);
    lh_pathway_node *nodes = lh_arena_alloc(arena, (w.n_nodes + 1) * sizeof *nodes);
    size_t n = 0;
    for (size_t i = 0; i < w.n_nodes; i++)
        if (lh_pw_graph_node(g, w.nodes[i], arena, &nodes[n]))
            n++;
    *rep = (lh_pathway_trace_reply){.node = req->node, .nodes = {nodes, n},
                                    .edges = {w.edges, w.n_edges}, .truncated = w.truncated};
    lh_strmap_free(&w.seen_nodes);
    lh_strmap_free(&w.seen_edges);
    lh_buf_free(&w.key);
}

/* ---- Marquez's shape ---- */

static lh_str lh_pw_upper(lh_arena *arena, lh_str kind)
{
    char *s = lh_arena_alloc(arena, kind.len + 1);
    for (size_t i = 0; i < kind.len; i++)
        s[i] = (char)toupper((unsigned char)kind.s[i]);
    s[kind.len] = '\0';
    return (lh_str){s, kind.len};
}

void lh_pw_marquez(const lh_pathway_trace_reply *trace, lh_arena *arena,
                   lh_pathway_lineage_reply *rep)
{
    const lh_pathway_node *nodes = trace->nodes.v;
    const lh_pathway_edge *edges = trace->edges.v;
    size_t n = trace->nodes.n;
    lh_pathway_marquez_node *out = lh_arena_alloc(arena, (n + 1) * sizeof *out);
    lh_strmap at = {0};
    for (size_t i = 0; i < n; i++) {
        lh_pathway_node *data = lh_arena_alloc(arena, sizeof *data);
        *data = nodes[i];
        out[i] = (lh_pathway_marquez_node){.id = nodes[i].id,
                                           .type = lh_pw_upper(arena, nodes[i].kind),
                                           .data = data};
        lh_strmap_put(&at, nodes[i].id.s, nodes[i].id.len, i);
    }
    /* two passes: count each node's edges, then fill them */
    size_t *n_in = lh_arena_alloc(arena, (n + 1) * sizeof *n_in);
    size_t *n_out = lh_arena_alloc(arena, (n + 1) * sizeof *n_out);
    memset(n_in, 0, (n + 1) * sizeof *n_in);
    memset(n_out, 0, (n + 1) * sizeof *n_out);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; pass == 1 && i < n; i++) {
            out[i].inEdges.v = lh_arena_alloc(arena, (n_in[i] + 1) *
                                                         sizeof(lh_pathway_marquez_edge));
            out[i].outEdges.v = lh_arena_alloc(arena, (n_out[i] + 1) *
                                                          sizeof(lh_pathway_marquez_edge));
        }
        for (size_t k = 0; k < trace->edges.n; k++) {
            size_t f = lh_strmap_get(&at, edges[k].from.s, edges[k].from.len);
            size_t t = lh_strmap_get(&at, edges[k].to.s, edges[k].to.len);
            if (f == LH_STRMAP_ABSENT || t == LH_STRMAP_ABSENT)
                continue;
            lh_pathway_marquez_edge e = {.origin = edges[k].from, .destination = edges[k].to};
            if (pass == 0) {
                n_out[f]++;
                n_in[t]++;
            } else {
                ((lh_pathway_marquez_edge *)out[f].outEdges.v)[out[f].outEdges.n++] = e;
                ((lh_pathway_marquez_edge *)out[t].inEdges.v)[out[t].inEdges.n++] = e;
            }
        }
    }
    lh_strmap_free(&at);
    rep->graph = (lh_objs){out, n};
}
