/*
 * pathway_internal.h — what pathwayd's files share (internal to
 * actors/pathway/): the log read into the graph (feed.c), a node's
 * lineage (trace.c), and the graph's runs as OpenLineage (openlineage.c).
 */
#ifndef LH_PATHWAY_INTERNAL_H
#define LH_PATHWAY_INTERNAL_H

#include <nats/nats.h>

#include "actors/pathway/graph.h"
#include "bus/err.h"
#include "schemas/pathway.h"

/* Applies one message of the log (an event envelope) to the graph;
 * anything else is passed over. */
void lh_pw_feed_event(lh_pw_graph *g, const char *msg, size_t len, lh_arena *arena);
/* The log reader's apply and keep (bus/log_reader.h); user is the graph. */
void lh_pw_feed_apply(void *user, natsMsg **msgs, const uint64_t *seqs, int n, lh_arena *arena);
lh_err *lh_pw_feed_keep(void *user, uint64_t seq);

/* At most this many nodes in a trace. */
#define LH_PW_MAX_NODES 10000

/* The trace of req->node (which must be a node of the graph), in arena. */
void lh_pw_trace(lh_pw_graph *g, const lh_pathway_trace_request *req, lh_arena *arena,
                 lh_pathway_trace_reply *rep);
/* A trace in Marquez's shape. */
void lh_pw_marquez(const lh_pathway_trace_reply *trace, lh_arena *arena,
                   lh_pathway_lineage_reply *rep);
/* The runs made at or after `since` (normalized RFC 3339, or NULL), or
 * from the time key `at` on (a cursor's, lh_pw_cursor_key). */
void lh_pw_openlineage(lh_pw_graph *g, const char *since, const char *at, size_t at_len,
                       int64_t limit, lh_arena *arena, lh_pathway_openlineage_reply *rep);
/* The time key of a page's cursor, in arena; false for one that is not. */
bool lh_pw_cursor_key(lh_str cursor, lh_arena *arena, const char **key, size_t *klen);

#endif
