/*
 * pathway.h — the messages of pathwayd (`pathway.*`): the lineage graph,
 * made from the platform's log. Nodes are artifacts named `kind:name`
 * (`object:bucket/key@sha256`, `dataset:name@version`, `index:name`,
 * `query:sha256`, `chat:id`); an edge says that `from` went into `to` by
 * a step of a run.
 */
#ifndef LH_SCHEMAS_PATHWAY_H
#define LH_SCHEMAS_PATHWAY_H

#include "bus/contract.h"
#include "bus/schema.h"

/* An object's node holds its bucket, a key of up to 1024 bytes and a sha256. */
#define LH_PATHWAY_NODE_MAX 1200
#define LH_PATHWAY_MAX_CURSOR (2 * (1 + 64 + 2 * (LH_PATHWAY_NODE_MAX + 1)))
#define LH_PATHWAY_MAX_DEPTH 50
#define LH_PATHWAY_MAX_RECORD 1000
#define LH_PATHWAY_MAX_RUNS 1000

/* ---- the graph's parts ---- */

#define LH_PATHWAY_NODE(F, T)                                                               \
    F(T, id, STRING, .doc = "`kind:name`.")                                                 \
    F(T, kind, STRING, .doc = "`object`, `dataset`, `index`, `query`, `chat`, or a kind "   \
                               "recorded from outside.")                                    \
    F(T, time, STRING, .doc = "When the log first told of it.")                             \
    F(T, deleted, STRING,                                                                   \
      .doc = "When it was deleted or dropped (absent while it exists).")
LH_MESSAGE(lh_pathway_node, LH_PATHWAY_NODE, "An artifact.")

#define LH_PATHWAY_EDGE(F, T)                                                               \
    F(T, from, STRING, .required = true, .min = 3, .max = LH_PATHWAY_NODE_MAX,              \
      .doc = "What went in: a node, `kind:name`.")                                          \
    F(T, to, STRING, .required = true, .min = 3, .max = LH_PATHWAY_NODE_MAX,                \
      .doc = "What came out of it: a node.")                                                \
    F(T, step, STRING, .required = true, .min = 1, .max = 64, .flags = LH_F_NONBLANK,       \
      .doc = "What was done: `ingest`, `commit`, `embed`, `query`, `chat`, or a step "      \
             "outside the platform.")                                                       \
    F(T, run, STRING, .max = 128,                                                           \
      .doc = "Which run of the step (an ingest job's id, an event's id); the latest, when " \
             "the same two nodes were joined again.")                                       \
    F(T, time, STRING, .max = 64, .doc = "When, RFC 3339 (recording: default now).")       \
    F(T, request_id, STRING, .max = 64, .doc = "The request that caused it, when one did.")
LH_MESSAGE(lh_pathway_edge, LH_PATHWAY_EDGE, "One step from an artifact to another.")

/* ---- pathway.record ---- */

#define LH_PATHWAY_RECORD_REQUEST(F, T)                                                     \
    F(T, edges, OBJECTS, .required = true, .min = 1, .max = LH_PATHWAY_MAX_RECORD,          \
      .sub = &lh_pathway_edge_schema,                                                       \
      .doc = "The edges, 1 to 1000; nodes are made as they are named.")
LH_MESSAGE(lh_pathway_record_request, LH_PATHWAY_RECORD_REQUEST,
           "Add edges for steps taken outside the platform.")

#define LH_PATHWAY_RECORD_REPLY(F, T)                                                       \
    F(T, recorded, INT, .doc = "Edges recorded.")
LH_MESSAGE(lh_pathway_record_reply, LH_PATHWAY_RECORD_REPLY, "Edges recorded.")

/* ---- pathway.trace and pathway.lineage ---- */

#define LH_PATHWAY_TRACE_REQUEST(F, T)                                                      \
    F(T, node, STRING, .required = true, .min = 3, .max = LH_PATHWAY_NODE_MAX,              \
      .doc = "Where to start: `dataset:sales@2`.")                                          \
    F(T, direction, STRING, .choices = "up|down|both",                                      \
      .doc = "`up` to its sources, `down` to what was made from it, `both` (the default).") \
    F(T, depth, INT, .min = 1, .max = LH_PATHWAY_MAX_DEPTH, .def = 5,                       \
      .doc = "How many steps away, 1 to 50 (default 5).")
LH_MESSAGE(lh_pathway_trace_request, LH_PATHWAY_TRACE_REQUEST,
           "Follow the lineage of a node.")

#define LH_PATHWAY_TRACE_REPLY(F, T)                                                        \
    F(T, node, STRING, .doc = "Where it started.")                                          \
    F(T, nodes, OBJECTS, .sub = &lh_pathway_node_schema,                                    \
      .doc = "The nodes reached, nearest first, the start first of all.")                   \
    F(T, edges, OBJECTS, .sub = &lh_pathway_edge_schema, .doc = "The edges followed.")      \
    F(T, truncated, BOOL, .doc = "Whether it stopped at 10,000 nodes before its depth.")
LH_MESSAGE(lh_pathway_trace_reply, LH_PATHWAY_TRACE_REPLY, "A node's lineage.")

#define LH_PATHWAY_MARQUEZ_EDGE(F, T)                                                       \
    F(T, origin, STRING, .doc = "The node it leaves.")                                      \
    F(T, destination, STRING, .doc = "The node it reaches.")
LH_MESSAGE(lh_pathway_marquez_edge, LH_PATHWAY_MARQUEZ_EDGE, "An edge, as Marquez gives it.")

#define LH_PATHWAY_MARQUEZ_NODE(F, T)                                                       \
    F(T, id, STRING, .doc = "`kind:name`.")                                                 \
    F(T, type, STRING, .doc = "Its kind in capitals: `DATASET`, `OBJECT`, `INDEX`, ...")   \
    F(T, data, OBJECT, .sub = &lh_pathway_node_schema, .doc = "The node.")                  \
    F(T, inEdges, OBJECTS, .sub = &lh_pathway_marquez_edge_schema,                          \
      .doc = "Edges into it, among those traced.")                                          \
    F(T, outEdges, OBJECTS, .sub = &lh_pathway_marquez_edge_schema,                         \
      .doc = "Edges out of it, among those traced.")
LH_MESSAGE(lh_pathway_marquez_node, LH_PATHWAY_MARQUEZ_NODE, "A node, as Marquez gives it.")

#define LH_PATHWAY_LINEAGE_REPLY(F, T)                                                      \
    F(T, graph, OBJECTS, .sub = &lh_pathway_marquez_node_schema,                            \
      .doc = "The nodes traced, each with its edges.")
LH_MESSAGE(lh_pathway_lineage_reply, LH_PATHWAY_LINEAGE_REPLY,
           "A node's lineage in Marquez's graph shape.")

/* ---- pathway.openlineage ---- */

#define LH_PATHWAY_OPENLINEAGE_REQUEST(F, T)                                                \
    F(T, since, STRING, .max = 64,                                                          \
      .doc = "Runs whose edges were made at or after this RFC 3339 time (default: all).")   \
    F(T, cursor, STRING, .max = LH_PATHWAY_MAX_CURSOR,                                      \
      .doc = "Go on where a page stopped: its `next_cursor` (then since is not needed).")   \
    F(T, limit, INT, .min = 1, .max = LH_PATHWAY_MAX_RUNS, .def = 100,                      \
      .doc = "At most this many runs (1 to 1000, default 100), two events each.")
LH_MESSAGE(lh_pathway_openlineage_request, LH_PATHWAY_OPENLINEAGE_REQUEST,
           "Export lineage as OpenLineage run events.")

#define LH_OPENLINEAGE_RUN(F, T) F(T, runId, STRING, .doc = "A UUID, the same for a run's two events.")
LH_MESSAGE(lh_openlineage_run, LH_OPENLINEAGE_RUN, "An OpenLineage run.")

#define LH_OPENLINEAGE_NAMED(F, T)                                                          \
    F(T, namespace, STRING, .doc = "`lakehouse` for jobs; `lakehouse.<kind>` for datasets.")\
    F(T, name, STRING, .doc = "The step, or the node's name without its kind.")
LH_MESSAGE(lh_openlineage_named, LH_OPENLINEAGE_NAMED, "An OpenLineage job or dataset.")

#define LH_OPENLINEAGE_RUN_EVENT(F, T)                                                      \
    F(T, eventType, STRING, .doc = "`START` or `COMPLETE`.")                                \
    F(T, eventTime, STRING, .doc = "When the run's edges were made.")                       \
    F(T, run, OBJECT, .sub = &lh_openlineage_run_schema, .doc = "The run.")                 \
    F(T, job, OBJECT, .sub = &lh_openlineage_named_schema, .doc = "The step, as a job.")    \
    F(T, inputs, OBJECTS, .sub = &lh_openlineage_named_schema, .doc = "What went in.")     \
    F(T, outputs, OBJECTS, .sub = &lh_openlineage_named_schema, .doc = "What came out.")   \
    F(T, producer, STRING, .doc = "This lakehouse's URI.")                                  \
    F(T, schemaURL, STRING, .doc = "The OpenLineage 2-0-2 RunEvent schema.")
LH_MESSAGE(lh_openlineage_run_event, LH_OPENLINEAGE_RUN_EVENT,
           "An OpenLineage 2-0-2 RunEvent.")

#define LH_PATHWAY_OPENLINEAGE_REPLY(F, T)                                                  \
    F(T, events, OBJECTS, .sub = &lh_openlineage_run_event_schema,                          \
      .doc = "START then COMPLETE for each run, runs oldest first.")                        \
    F(T, more, BOOL, .doc = "Whether later runs exist.")                                    \
    F(T, next_cursor, STRING,                                                               \
      .doc = "When there are more: the `cursor` of the next page (a run whose edges "       \
             "straddle the two is in both, with the same runId).")
LH_MESSAGE(lh_pathway_openlineage_reply, LH_PATHWAY_OPENLINEAGE_REPLY,
           "Lineage as OpenLineage run events.")

/* ---- events ---- */

#define LH_PATHWAY_RECORDED_EVENT(F, T)                                                     \
    F(T, edges, OBJECTS, .sub = &lh_pathway_edge_schema, .doc = "The edges recorded.")
LH_MESSAGE(lh_pathway_recorded_event, LH_PATHWAY_RECORDED_EVENT,
           "Edges recorded from outside.")

/* ---- contracts ---- */

#define LH_PATHWAY_ENDPOINTS(E, S)                                                          \
    E(S, pathway_record, "record", "pathway.record", lh_pathway_record_request,             \
      lh_pathway_record_reply,                                                              \
      "Add edges for steps outside the platform; answered once the log holds them (so a "   \
      "graph rebuilt from the log has them too). 400 for a node that is not `kind:name`.") \
    E(S, pathway_trace, "trace", "pathway.trace", lh_pathway_trace_request,                 \
      lh_pathway_trace_reply,                                                               \
      "The nodes and edges up to `depth` steps from a node: its sources (up), what was "    \
      "made from it (down), or both. 404 for a node the graph does not hold.")              \
    E(S, pathway_lineage, "lineage", "pathway.lineage", lh_pathway_trace_request,           \
      lh_pathway_lineage_reply,                                                             \
      "pathway.trace in Marquez's graph shape: each node with its inEdges and outEdges.")   \
    E(S, pathway_openlineage, "openlineage", "pathway.openlineage",                         \
      lh_pathway_openlineage_request, lh_pathway_openlineage_reply,                         \
      "The graph's runs as OpenLineage 2-0-2 RunEvents (START and COMPLETE, with inputs "   \
      "and outputs), oldest first, for a Marquez server to ingest.")

#define LH_PATHWAY_EVENTS(V, S)                                                             \
    V(S, pathway_recorded, "recorded", lh_pathway_recorded_event,                           \
      "Edges were recorded from outside; durable when published.")
LH_SERVICE("pathwayd", LH_PATHWAY_ENDPOINTS, LH_PATHWAY_EVENTS)

#endif
