/*
 * query.h — the messages of queryd (`query.*`): read-only SQL (DuckDB's
 * dialect) over the catalog's datasets, each a table named after it.
 */
#ifndef LH_SCHEMAS_QUERY_H
#define LH_SCHEMAS_QUERY_H

#include "bus/contract.h"
#include "bus/schema.h"

#define LH_QUERY_MAX_SQL 100000
#define LH_QUERY_MAX_PARAMS 1000
#define LH_QUERY_MAX_PARAMS_BYTES (1 << 20)
#define LH_QUERY_DEFAULT_ROWS 1000
#define LH_QUERY_MAX_ROWS 100000
#define LH_QUERY_DEFAULT_TIMEOUT_MS 10000
#define LH_QUERY_MAX_TIMEOUT_MS 300000

#define LH_QUERY_SQL_DOC                                                                    \
    "One read-only SQL statement in DuckDB's dialect (SELECT, WITH ... SELECT, VALUES, "   \
    "FROM-first). Every dataset is a table named after it holding its latest version; a "  \
    "pinned version is the quoted identifier \"name@N\", e.g. SELECT * FROM \"sales@2\". " \
    "Names resolve ignoring case. Anything but a query is refused (403): writes, DDL, "    \
    "ATTACH, COPY, SET, PRAGMA, INSTALL, LOAD, EXPLAIN, DESCRIBE; so are names qualified "  \
    "by a schema (information_schema.tables) and table functions other than range, "      \
    "generate_series and unnest (read_csv, read_parquet, glob, duckdb_settings ...). More " \
    "than one statement is refused (400)."

#define LH_QUERY_SQL_REQUEST(F, T)                                                          \
    F(T, sql, STRING, .required = true, .min = 1, .max = LH_QUERY_MAX_SQL,                  \
      .flags = LH_F_NONBLANK, .doc = LH_QUERY_SQL_DOC)                                      \
    F(T, params, ANY, .max = LH_QUERY_MAX_PARAMS_BYTES,                                     \
      .doc = "Values of the statement's parameters (?, $N, $name) in order of appearance: " \
             "an array of at most 1000 nulls, booleans, numbers and strings, bound by "     \
             "position, never written into the SQL text. Its length must be the "          \
             "statement's parameter count.")                                               \
    F(T, max_rows, INT, .min = 1, .max = LH_QUERY_MAX_ROWS, .def = LH_QUERY_DEFAULT_ROWS,   \
      .doc = "Rows to return at most (the rest are not sent and `truncated` is true).")    \
    F(T, timeout_ms, INT, .min = 1, .max = LH_QUERY_MAX_TIMEOUT_MS,                         \
      .def = LH_QUERY_DEFAULT_TIMEOUT_MS,                                                   \
      .doc = "Running time allowed to the statement, from its execution (fetching a "      \
             "dataset version on first use does not count); past it the query is "         \
             "interrupted with 422. The caller's own bus deadline still applies.")
LH_MESSAGE(lh_query_sql_request, LH_QUERY_SQL_REQUEST,
           "Run one read-only SQL statement over the catalog's datasets.")

#define LH_QUERY_COLUMN(F, T)                                                               \
    F(T, name, STRING, .doc = "Result column name.")                                        \
    F(T, type, STRING,                                                                      \
      .doc = "The column's type: integer (every integer width; beyond int64 values come " \
             "as reals), real (floats, doubles, decimals), boolean, text, blob, or null. A " \
             "dataset column has its catalog type. Dates, times, lists, structs and other " \
             "types come as their text.")
LH_MESSAGE(lh_query_column, LH_QUERY_COLUMN, "One result column.")

#define LH_QUERY_DATASET_REF(F, T)                                                          \
    F(T, name, STRING, .doc = "Dataset name, as the catalog spells it.")                    \
    F(T, version, INT, .doc = "The version the statement read.")
LH_MESSAGE(lh_query_dataset_ref, LH_QUERY_DATASET_REF, "A dataset version a query read.")

#define LH_QUERY_SQL_REPLY(F, T)                                                            \
    F(T, columns, OBJECTS, .sub = &lh_query_column_schema, .doc = "Result columns, in order.") \
    F(T, rows, ANY,                                                                         \
      .doc = "Result rows: arrays of values in column order. Integers, reals and text as "  \
             "such, booleans as true/false, null as null, blobs as bytes.")                \
    F(T, row_count, INT, .doc = "Rows in `rows`.")                                          \
    F(T, truncated, BOOL,                                                                   \
      .doc = "More rows existed: cut at max_rows, or at the result byte bound (16 MiB by " \
             "default, at most the bus's largest message less 256 KiB).")                  \
    F(T, elapsed_ms, FLOAT,                                                                 \
      .doc = "Time queryd spent on the request: names, any first-use fetch, the statement.") \
    F(T, datasets, OBJECTS, .sub = &lh_query_dataset_ref_schema,                            \
      .doc = "The dataset versions the statement read.")
LH_MESSAGE(lh_query_sql_reply, LH_QUERY_SQL_REPLY, "A query's result.")

#define LH_QUERY_RAN_EVENT(F, T)                                                            \
    F(T, sql_sha256, STRING, .doc = "SHA-256 of the statement's text (never the text).")    \
    F(T, datasets, OBJECTS, .sub = &lh_query_dataset_ref_schema,                            \
      .doc = "The dataset versions it read.")                                               \
    F(T, rows, INT, .doc = "Rows it answered.")                                             \
    F(T, truncated, BOOL, .doc = "Whether the answer was cut.")                             \
    F(T, ms, FLOAT, .doc = "Time queryd spent on it.")
LH_MESSAGE(lh_query_ran_event, LH_QUERY_RAN_EVENT, "A statement answered.")

#define LH_QUERY_STATS_REQUEST(F, T)
LH_MESSAGE(lh_query_stats_request, LH_QUERY_STATS_REQUEST, "Ask for queryd's counters.")

#define LH_QUERY_STATS_REPLY(F, T)                                                          \
    F(T, loads, INT,                                                                         \
      .doc = "Dataset versions put into the cache since queryd started (their Parquet "    \
             "object fetched, or written from an older version's CSV or JSON Lines).")     \
    F(T, loaded_rows, INT, .doc = "Rows those versions hold.")                              \
    F(T, cached_versions, INT, .doc = "Parquet files in the on-disk cache.")                \
    F(T, queries, INT, .doc = "query.sql requests answered since start (any outcome).")     \
    F(T, timeouts, INT, .doc = "Of those, interrupted at their timeout_ms.")                \
    F(T, threads, INT, .doc = "Query threads (LH_QUERY_THREADS).")                          \
    F(T, queued, INT, .doc = "Requests waiting for a query thread now.")
LH_MESSAGE(lh_query_stats_reply, LH_QUERY_STATS_REPLY, "queryd's counters.")

/* ---- contracts ---- */

#define LH_QUERY_ENDPOINTS(E, S)                                                            \
    E(S, query_sql, "sql", "query.sql", lh_query_sql_request, lh_query_sql_reply,           \
      "Run one read-only SQL statement over the catalog's datasets: each is a table named " \
      "after it (its latest version), \"name@N\" is version N. A version's Parquet file " \
      "is fetched into queryd's cache on first use. Refused: anything but a query, file "  \
      "readers and the engine's catalog (403), more "                                      \
      "than one statement, syntax errors, unknown tables or columns (400); an unknown "     \
      "version is 404; a statement past its timeout_ms is interrupted (422); a full queue " \
      "is 429.")                                                                            \
    E(S, query_stats, "stats", "query.stats", lh_query_stats_request, lh_query_stats_reply, \
      "queryd's counters: versions loaded and cached, queries answered and timed out, "     \
      "threads and queue.")
#define LH_QUERY_EVENTS(V, S)                                                               \
    V(S, query_ran, "ran", lh_query_ran_event,                                              \
      "A statement was answered: which dataset versions it read, rows, time.")
LH_SERVICE("queryd", LH_QUERY_ENDPOINTS, LH_QUERY_EVENTS)

#endif
