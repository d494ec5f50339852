/*
 * catalog.h — the messages of catalogd (`catalog.*`): named, versioned
 * datasets. A version points at an object in storage with its schema.
 */
#ifndef LH_SCHEMAS_CATALOG_H
#define LH_SCHEMAS_CATALOG_H

#include "bus/contract.h"
#include "bus/schema.h"

#define LH_CATALOG_MAX_COLUMNS 1024

#define LH_CATALOG_NAME_DOC                                                                \
    "Dataset name, usable as a SQL table name: a letter or '_' then letters, digits or " \
    "'_', at most 63 characters; not an SQL keyword reserved by SQLite nor starting with "  \
    "'sqlite_'. Unique ignoring case (\"Sales\" and \"sales\" are one dataset). A few "     \
    "words DuckDB reserves beyond SQLite's (pivot, qualify, show...) are allowed and are " \
    "written quoted in SQL: SELECT * FROM \"pivot\"."

#define LH_CATALOG_LOCATION(F, T)                                                          \
    F(T, bucket, STRING, .required = true, .min = 3, .max = 63, .doc = "Bucket.")         \
    F(T, key, STRING, .required = true, .min = 1, .max = 1024, .doc = "Key.")
LH_MESSAGE(lh_catalog_location, LH_CATALOG_LOCATION, "Where a version's data lives.")

#define LH_CATALOG_PARQUET(F, T)                                                           \
    F(T, location, OBJECT, .required = true, .sub = &lh_catalog_location_schema,           \
      .doc = "The Parquet object.")                                                        \
    F(T, sha256, STRING, .required = true, .min = 64, .max = 64,                           \
      .doc = "Its SHA-256: 64 hex digits.")                                                \
    F(T, bytes, INT, .required = true, .min = 0, .max = 9e15, .doc = "Its size.")
LH_MESSAGE(lh_catalog_parquet, LH_CATALOG_PARQUET,
           "A version's rows as a Parquet object, with the version's schema and row count: "
           "what queryd reads.")

#define LH_CATALOG_COLUMN(F, T)                                                            \
    F(T, name, STRING, .required = true, .min = 1, .max = 255,                            \
      .doc = "Column name: unique in the version ignoring case, no control characters.")  \
    F(T, type, STRING, .required = true, .choices = "integer|real|boolean|text",           \
      .doc = "Column type.")                                                               \
    F(T, nullable, BOOL, .def = 1, .doc = "Whether the column holds nulls.")
LH_MESSAGE(lh_catalog_column, LH_CATALOG_COLUMN, "One column of a dataset.")

#define LH_CATALOG_CSV_OPTIONS(F, T)                                                        \
    F(T, delimiter, STRING, .min = 1, .max = 1, .doc = "Field delimiter; default ','.")   \
    F(T, header, BOOL, .def = 1,                                                           \
      .doc = "First record is the header (else the columns are c1, c2, ...). Blank names " \
             "become c<N>; a name repeated (ignoring case) gets _2, _3, ...")              \
    F(T, quote, STRING, .min = 1, .max = 1, .doc = "Quote character; default '\"'.")
LH_MESSAGE(lh_catalog_csv_options, LH_CATALOG_CSV_OPTIONS, "How to read CSV.")

#define LH_CATALOG_CREATE_REQUEST(F, T)                                                    \
    F(T, name, STRING, .required = true, .doc = LH_CATALOG_NAME_DOC)                      \
    F(T, format, STRING, .required = true, .choices = "csv|jsonl", .doc = "Data format.") \
    F(T, description, STRING, .max = 4096, .doc = "What the dataset holds.")              \
    F(T, tags, STRINGS, .max = 32, .item_max = 64, .doc = "Free-form tags.")
LH_MESSAGE(lh_catalog_create_request, LH_CATALOG_CREATE_REQUEST,
           "Create a dataset with no versions yet.")

#define LH_CATALOG_COMMIT_REQUEST(F, T)                                                    \
    F(T, name, STRING, .required = true, .doc = LH_CATALOG_NAME_DOC)                      \
    F(T, location, OBJECT, .required = true, .sub = &lh_catalog_location_schema,           \
      .doc = "The object holding this version's data.")                                  \
    F(T, schema, OBJECTS, .required = true, .min = 1, .max = LH_CATALOG_MAX_COLUMNS,       \
      .sub = &lh_catalog_column_schema, .doc = "Columns, in order.")                       \
    F(T, rows, INT, .required = true, .min = 0, .max = 9e15, .doc = "Row count.")          \
    F(T, bytes, INT, .required = true, .min = 0, .max = 9e15, .doc = "Size of the data.")  \
    F(T, sha256, STRING, .required = true, .min = 64, .max = 64,                           \
      .doc = "SHA-256 of the data object: 64 hex digits (either case; kept lowercase).")   \
    F(T, csv, OBJECT, .sub = &lh_catalog_csv_options_schema,                               \
      .doc = "How the CSV is read (so readers such as queryd read it the same way); "      \
             "absent for JSON Lines.")                                                    \
    F(T, parquet, OBJECT, .sub = &lh_catalog_parquet_schema,                               \
      .doc = "The same rows as Parquet, typed by `schema` (ingestd writes it); queryd "    \
             "reads it instead of the data object.")                                      \
    F(T, source_kept, BOOL, .def = 1,                                                      \
      .doc = "false when the data object is deleted once the version is committed (only " \
             "with `parquet`, which then holds the version's only copy).")
LH_MESSAGE(lh_catalog_commit_request, LH_CATALOG_COMMIT_REQUEST,
           "Record a new version of a dataset.")

#define LH_CATALOG_VERSION(F, T)                                                           \
    F(T, version, INT, .doc = "Version number, from 1.")                                   \
    F(T, location, OBJECT, .sub = &lh_catalog_location_schema, .doc = "Data object.")     \
    F(T, schema, OBJECTS, .sub = &lh_catalog_column_schema, .flags = LH_F_OMIT_UNSET,      \
      .doc = "Columns, in order (in the version asked for or committed; left out of "    \
              "`versions` histories and of catalog.list).")                               \
    F(T, rows, INT, .doc = "Row count.")                                                   \
    F(T, bytes, INT, .doc = "Size of the data.")                                           \
    F(T, sha256, STRING, .doc = "SHA-256 of the data object.")                             \
    F(T, committed, STRING, .doc = "Commit time, RFC 3339 UTC.")                           \
    F(T, csv, OBJECT, .sub = &lh_catalog_csv_options_schema,                               \
      .doc = "How to read the CSV (absent for JSON Lines, and in histories and listings).") \
    F(T, parquet, OBJECT, .sub = &lh_catalog_parquet_schema,                               \
      .doc = "The rows as Parquet (absent for versions committed without it).")           \
    F(T, source_kept, BOOL, .def = 1,                                                      \
      .doc = "false when the data object (`location`) was deleted after the commit: "      \
             "`parquet` is then the version's only copy.")
LH_MESSAGE(lh_catalog_version, LH_CATALOG_VERSION, "One version of a dataset.")

#define LH_CATALOG_DATASET(F, T)                                                           \
    F(T, name, STRING, .doc = "Dataset name.")                                             \
    F(T, format, STRING, .doc = "csv or jsonl.")                                           \
    F(T, description, STRING, .doc = "Description.")                                       \
    F(T, tags, STRINGS, .doc = "Tags.")                                                    \
    F(T, created, STRING, .doc = "Creation time, RFC 3339 UTC.")                           \
    F(T, latest, INT, .doc = "Latest version number; 0 before the first commit.")          \
    F(T, version, OBJECT, .sub = &lh_catalog_version_schema,                               \
      .doc = "The version asked for (latest by default; the new one after a commit), "    \
              "absent before the first commit.")                                          \
    F(T, versions, OBJECTS, .sub = &lh_catalog_version_schema, .flags = LH_F_OMIT_UNSET,   \
      .doc = "Version history, oldest first (catalog.get only).")
LH_MESSAGE(lh_catalog_dataset, LH_CATALOG_DATASET, "A dataset and its versions.")

#define LH_CATALOG_NAME_REQUEST(F, T)                                                      \
    F(T, name, STRING, .required = true, .doc = LH_CATALOG_NAME_DOC)
LH_MESSAGE(lh_catalog_name_request, LH_CATALOG_NAME_REQUEST, "Name one dataset.")

#define LH_CATALOG_GET_REQUEST(F, T)                                                       \
    F(T, name, STRING, .required = true, .doc = LH_CATALOG_NAME_DOC)                      \
    F(T, version, INT, .min = 0, .max = 9e15, .doc = "Version to describe; 0 = latest.")
LH_MESSAGE(lh_catalog_get_request, LH_CATALOG_GET_REQUEST,
           "Describe a dataset at a version (latest by default).")

#define LH_CATALOG_LIST_REQUEST(F, T)                                                      \
    F(T, prefix, STRING, .max = 63, .doc = "Only names starting with this (ignoring case).")
LH_MESSAGE(lh_catalog_list_request, LH_CATALOG_LIST_REQUEST, "List datasets.")

#define LH_CATALOG_LIST_REPLY(F, T)                                                        \
    F(T, datasets, OBJECTS, .sub = &lh_catalog_dataset_schema,                             \
      .doc = "Datasets by name, each with its latest version (without its schema).")
LH_MESSAGE(lh_catalog_list_reply, LH_CATALOG_LIST_REPLY, "Datasets.")

#define LH_CATALOG_DELETE_REPLY(F, T)                                                      \
    F(T, name, STRING, .doc = "The dataset deleted.")                                      \
    F(T, versions, INT, .doc = "How many versions it had.")
LH_MESSAGE(lh_catalog_delete_reply, LH_CATALOG_DELETE_REPLY, "What was deleted.")

/* ---- events ---- */

#define LH_CATALOG_CREATED_EVENT(F, T)                                                     \
    F(T, name, STRING, .doc = "Dataset name.")                                             \
    F(T, format, STRING, .doc = "Its data format.")
LH_MESSAGE(lh_catalog_created_event, LH_CATALOG_CREATED_EVENT, "A dataset was created.")

#define LH_CATALOG_COMMITTED_EVENT(F, T)                                                   \
    F(T, name, STRING, .doc = "Dataset name.")                                             \
    F(T, version, INT, .doc = "The version committed.")                                    \
    F(T, location, OBJECT, .sub = &lh_catalog_location_schema, .doc = "Its data object.")  \
    F(T, rows, INT, .doc = "Rows.")                                                        \
    F(T, bytes, INT, .doc = "Bytes of the data object.")                                   \
    F(T, sha256, STRING, .doc = "sha256 of the data object.")
LH_MESSAGE(lh_catalog_committed_event, LH_CATALOG_COMMITTED_EVENT,
           "A dataset version was committed.")

/* ---- contracts ---- */

#define LH_CATALOG_ENDPOINTS(E, S)                                                         \
    E(S, catalog_create, "create", "catalog.create", lh_catalog_create_request,            \
      lh_catalog_dataset,                                                                  \
      "Create a dataset with no versions yet (409 if the name is taken, ignoring case).")  \
    E(S, catalog_commit, "commit", "catalog.commit", lh_catalog_commit_request,            \
      lh_catalog_dataset,                                                                  \
      "Record the next version of a dataset (its data object, schema, rows, bytes, "       \
      "sha256); answered once durable, then announced on events.catalogd.committed.")      \
    E(S, catalog_get, "get", "catalog.get", lh_catalog_get_request, lh_catalog_dataset,    \
      "A dataset at a version (latest by default), with its schema and version history.")  \
    E(S, catalog_list, "list", "catalog.list", lh_catalog_list_request,                    \
      lh_catalog_list_reply, "Datasets by name, each with its latest version.")            \
    E(S, catalog_delete, "delete", "catalog.delete", lh_catalog_name_request,              \
      lh_catalog_delete_reply,                                                             \
      "Delete a dataset and its version history (the data objects stay in storage).")

#define LH_CATALOG_EVENTS(V, S)                                                            \
    V(S, catalog_created, "created", lh_catalog_created_event,                             \
      "A dataset was created; durable when published.")                                    \
    V(S, catalog_committed, "committed", lh_catalog_committed_event,                       \
      "A dataset version was committed; durable when published.")                          \
    V(S, catalog_deleted, "deleted", lh_catalog_delete_reply,                              \
      "A dataset and its version history were deleted; durable when published.")
LH_SERVICE("catalogd", LH_CATALOG_ENDPOINTS, LH_CATALOG_EVENTS)

#endif
