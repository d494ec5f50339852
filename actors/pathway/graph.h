/*
 * graph.h — pathwayd's lineage graph in LevelDB (internal to
 * actors/pathway/): nodes, edges both ways, edges by time, and the last
 * sequence of the log applied.
 *
 * Changes are written as they come (unsynced) and made durable together
 * by lh_pw_graph_keep, which writes the sequence they reach synced:
 * LevelDB's log is one file written in order, so a synced write makes
 * every write before it durable too. Applying the same events again, in
 * the log's order, from the kept sequence on gives the same graph (an
 * edge is keyed by its two nodes and the last step applied joining them
 * is kept; a node's time is the earliest it was named at; a deletion
 * leaves a mark, even on a node not yet seen), so a crash between changes
 * and keep only means those events are applied again.
 */
#ifndef LH_PATHWAY_GRAPH_H
#define LH_PATHWAY_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "bus/err.h"
#include "bus/schema.h"
#include "schemas/pathway.h"

typedef struct lh_pw_graph lh_pw_graph;

lh_err *lh_pw_graph_open(const char *dir, lh_pw_graph **out);
void lh_pw_graph_close(lh_pw_graph *g); /* accepts NULL */
/* The last sequence of the log kept (0: none). */
uint64_t lh_pw_graph_applied(lh_pw_graph *g);

/* Whether id is a node name, `kind:name` (kind: a lower-case letter then
 * up to 31 of [a-z0-9_-]; name: not empty, no control bytes). */
bool lh_pw_node_valid(lh_str id);

/* ---- changes (any thread; serialized inside) ---- */

/* The node, made at `time` if new; a deleted node made again lives again. */
void lh_pw_graph_touch(lh_pw_graph *g, lh_str id, lh_str time);
/* Marks a node deleted at `time`; with `versions`, every version of an
 * artifact: the nodes `<prefix><version>`, a version holding no '@'
 * (prefix `dataset:sales@` or `object:bucket/key@`). */
void lh_pw_graph_delete(lh_pw_graph *g, lh_str prefix, bool versions, lh_str time);
/* The edge (its nodes made if new), replacing the one between the same
 * two nodes. Its time must be RFC 3339 UTC with milliseconds. A deleted
 * node stays deleted (an answer citing a dropped index does not bring it
 * back), unless the step made `to` (makes_to: a version committed again
 * under a name deleted before). */
void lh_pw_graph_join(lh_pw_graph *g, const lh_pathway_edge *e, bool makes_to);
/* Makes every change so far durable, with `seq` the last applied; the
 * first error any change met since the last keep, if one did. */
lh_err *lh_pw_graph_keep(lh_pw_graph *g, uint64_t seq);

/* ---- reads ---- */

/* The node (in arena); false when the graph does not hold it. */
bool lh_pw_graph_node(lh_pw_graph *g, lh_str id, lh_arena *arena, lh_pathway_node *out);
/* Calls fn with every edge out of (down) or into (up) `id`, in arena;
 * stops when fn returns false. */
typedef bool (*lh_pw_edge_fn)(void *user, const lh_pathway_edge *e);
void lh_pw_graph_edges(lh_pw_graph *g, lh_str id, bool down, lh_arena *arena, lh_pw_edge_fn fn,
                       void *user);
/* Calls fn with every edge made at or after `since` (NULL: all), or from
 * the edge whose time key is `at` (a key fn was given before) on, oldest
 * first, in arena, with its time key, until fn returns false. */
typedef bool (*lh_pw_timed_fn)(void *user, const lh_pathway_edge *e, const char *key,
                               size_t klen);
void lh_pw_graph_by_time(lh_pw_graph *g, const char *since, const char *at, size_t at_len,
                         lh_arena *arena, lh_pw_timed_fn fn, void *user);

#endif
