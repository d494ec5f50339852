/*
 * query.h — queryd, the actor that answers read-only SQL over the
 * catalog's datasets (`query.*`).
 *
 * Each dataset is a table named after it (its latest version); "name@N"
 * is version N. A version is loaded on first use from storaged, through
 * the same tabular reader ingestd used, into a typed table of an on-disk
 * SQLite cache ($LH_DATA_DIR/queryd/cache.db) that restarts reuse.
 * Statements run on a few query threads, each with its own read-only
 * connection, under an authorizer that allows only reads, a row cap, a
 * result byte bound and a timeout.
 *
 * Settings:
 *   LH_QUERY_THREADS            statements run at once (default 4)
 *   LH_QUERY_QUEUE              requests waiting for a thread before 429 (default 256)
 *   LH_QUERY_MAX_RESULT_BYTES   result bound (default 16 MiB; at most the bus's
 *                               largest message less 256 KiB)
 */
#ifndef LH_ACTOR_QUERY_H
#define LH_ACTOR_QUERY_H

#include "bus/actor.h"

extern const lh_actor_def lh_query_actor;

#endif
