/*
 * query.h — queryd, the actor that answers read-only SQL over the
 * catalog's datasets (`query.*`).
 *
 * Each dataset is a table named after it (its latest version); "name@N"
 * is version N. The engine is DuckDB; a version is a Parquet file in an
 * on-disk cache ($LH_DATA_DIR/queryd/cache, reused by restarts), fetched
 * on first use from storaged (the Parquet object ingestd wrote) or, for a
 * version committed before Parquet, written from its CSV or JSON Lines
 * through the tabular reader ingestd used. Statements run on a few query
 * threads, each with its own connection; only queries pass (DuckDB's own
 * parse tree decides), file access is confined to the cache by the
 * engine, and each answer has a row cap, a byte bound and a timeout.
 *
 * Settings:
 *   LH_QUERY_THREADS            statements run at once (default 4)
 *   LH_QUERY_QUEUE              requests waiting for a thread before 429 (default 256)
 *   LH_QUERY_MAX_RESULT_BYTES   result bound (default 16 MiB; at most the bus's
 *                               largest message less 256 KiB)
 *   LH_QUERY_MEMORY             DuckDB's memory limit (default 2GB; spills past it)
 *   LH_QUERY_ENGINE_THREADS     DuckDB's worker threads (default: the cores)
 */
#ifndef LH_ACTOR_QUERY_H
#define LH_ACTOR_QUERY_H

#include "bus/actor.h"

extern const lh_actor_def lh_query_actor;

#endif
