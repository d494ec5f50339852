/*
 * schemas.c — the one place the field tables are instantiated. Each
 * service's header declares its messages (struct + list); this file turns
 * every list into its lh_schema table.
 */
#include "schemas/embed.h"

LH_SCHEMA_DEFINE(lh_embed_request, LH_EMBED_REQUEST,
                 "Embed texts into vectors with the configured provider.")
LH_SCHEMA_DEFINE(lh_embed_reply, LH_EMBED_REPLY, "The vectors for an embed.request.")

#include "schemas/vector.h"

LH_SCHEMA_DEFINE(lh_vector_create_request, LH_VECTOR_CREATE_REQUEST,
                 "Create an empty vector index.")
LH_SCHEMA_DEFINE(lh_vector_index_info, LH_VECTOR_INDEX_INFO,
                 "An index: its parameters, size and footprint.")
LH_SCHEMA_DEFINE(lh_vector_list_request, LH_VECTOR_LIST_REQUEST, "List every vector index.")
LH_SCHEMA_DEFINE(lh_vector_list_reply, LH_VECTOR_LIST_REPLY, "Every vector index.")
LH_SCHEMA_DEFINE(lh_vector_name_request, LH_VECTOR_NAME_REQUEST, "Names one vector index.")
LH_SCHEMA_DEFINE(lh_vector_drop_reply, LH_VECTOR_DROP_REPLY, "What a drop removed.")
LH_SCHEMA_DEFINE(lh_vector_item, LH_VECTOR_ITEM, "One item of a vector index.")
LH_SCHEMA_DEFINE(lh_vector_upsert_request, LH_VECTOR_UPSERT_REQUEST,
                 "Insert or replace items (by id); acknowledged once durable.")
LH_SCHEMA_DEFINE(lh_vector_upsert_reply, LH_VECTOR_UPSERT_REPLY, "What an upsert wrote.")
LH_SCHEMA_DEFINE(lh_vector_delete_request, LH_VECTOR_DELETE_REQUEST,
                 "Delete items by id; acknowledged once durable.")
LH_SCHEMA_DEFINE(lh_vector_delete_reply, LH_VECTOR_DELETE_REPLY, "What a delete removed.")
LH_SCHEMA_DEFINE(lh_vector_search_request, LH_VECTOR_SEARCH_REQUEST,
                 "The k nearest items to a vector, a batch of vectors, or a text.")
LH_SCHEMA_DEFINE(lh_vector_hit, LH_VECTOR_HIT, "One search hit.")
LH_SCHEMA_DEFINE(lh_vector_hits, LH_VECTOR_HITS, "The hits of one query of a batch.")
LH_SCHEMA_DEFINE(lh_vector_search_reply, LH_VECTOR_SEARCH_REPLY,
                 "Search hits, best first: `hits` for one query, `results` for a batch.")

#include "schemas/storage.h"

LH_SCHEMA_DEFINE(lh_storage_object_info, LH_STORAGE_OBJECT_INFO, "An object's description.")
LH_SCHEMA_DEFINE(lh_storage_put_request, LH_STORAGE_PUT_REQUEST,
                 "Write a whole object that fits one bus message.")
LH_SCHEMA_DEFINE(lh_storage_object_request, LH_STORAGE_OBJECT_REQUEST, "Name one object.")
LH_SCHEMA_DEFINE(lh_storage_get_request, LH_STORAGE_GET_REQUEST, "Read a range of an object.")
LH_SCHEMA_DEFINE(lh_storage_get_reply, LH_STORAGE_GET_REPLY, "A range of an object.")
LH_SCHEMA_DEFINE(lh_storage_list_request, LH_STORAGE_LIST_REQUEST,
                 "List a bucket's objects, one page at a time.")
LH_SCHEMA_DEFINE(lh_storage_list_reply, LH_STORAGE_LIST_REPLY, "One page of a listing.")
LH_SCHEMA_DEFINE(lh_storage_delete_reply, LH_STORAGE_DELETE_REPLY, "Whether it was there.")
LH_SCHEMA_DEFINE(lh_storage_upload_begin_request, LH_STORAGE_UPLOAD_BEGIN_REQUEST,
                 "Start an upload of an object of any size.")
LH_SCHEMA_DEFINE(lh_storage_upload_ref, LH_STORAGE_UPLOAD_REF, "Name one upload.")
LH_SCHEMA_DEFINE(lh_storage_upload_part_request, LH_STORAGE_UPLOAD_PART_REQUEST,
                 "Append the next part of an upload.")
LH_SCHEMA_DEFINE(lh_storage_upload_reply, LH_STORAGE_UPLOAD_REPLY, "An upload's progress.")
LH_SCHEMA_DEFINE(lh_storage_upload_commit_request, LH_STORAGE_UPLOAD_COMMIT_REQUEST,
                 "Finish an upload: the object appears whole, or not at all.")

#include "schemas/catalog.h"

LH_SCHEMA_DEFINE(lh_catalog_csv_options, LH_CATALOG_CSV_OPTIONS, "How to read CSV.")
LH_SCHEMA_DEFINE(lh_catalog_location, LH_CATALOG_LOCATION, "Where a version's data lives.")
LH_SCHEMA_DEFINE(lh_catalog_column, LH_CATALOG_COLUMN, "One column of a dataset.")
LH_SCHEMA_DEFINE(lh_catalog_create_request, LH_CATALOG_CREATE_REQUEST,
                 "Create a dataset with no versions yet.")
LH_SCHEMA_DEFINE(lh_catalog_commit_request, LH_CATALOG_COMMIT_REQUEST,
                 "Record a new version of a dataset.")
LH_SCHEMA_DEFINE(lh_catalog_version, LH_CATALOG_VERSION, "One version of a dataset.")
LH_SCHEMA_DEFINE(lh_catalog_dataset, LH_CATALOG_DATASET, "A dataset and its versions.")
LH_SCHEMA_DEFINE(lh_catalog_name_request, LH_CATALOG_NAME_REQUEST, "Name one dataset.")
LH_SCHEMA_DEFINE(lh_catalog_get_request, LH_CATALOG_GET_REQUEST,
                 "Describe a dataset at a version (latest by default).")
LH_SCHEMA_DEFINE(lh_catalog_list_request, LH_CATALOG_LIST_REQUEST, "List datasets.")
LH_SCHEMA_DEFINE(lh_catalog_list_reply, LH_CATALOG_LIST_REPLY, "Datasets.")
LH_SCHEMA_DEFINE(lh_catalog_delete_reply, LH_CATALOG_DELETE_REPLY, "What was deleted.")

#include "schemas/ingest.h"

LH_SCHEMA_DEFINE(lh_ingest_embed_options, LH_INGEST_EMBED_OPTIONS,
                 "Which column to embed, into which index.")
LH_SCHEMA_DEFINE(lh_ingest_upload_query, LH_INGEST_UPLOAD_QUERY,
                 "The options of a one-call upload, as query parameters.")
LH_SCHEMA_DEFINE(lh_ingest_file_request, LH_INGEST_FILE_REQUEST,
                 "Ingest a CSV or JSON Lines file into a dataset version.")
LH_SCHEMA_DEFINE(lh_ingest_status_request, LH_INGEST_STATUS_REQUEST, "Ask about a job.")
LH_SCHEMA_DEFINE(lh_ingest_row_error, LH_INGEST_ROW_ERROR, "One rejected row.")
LH_SCHEMA_DEFINE(lh_ingest_job, LH_INGEST_JOB, "An ingest job's state and counts.")

#include "schemas/query.h"

LH_SCHEMA_DEFINE(lh_query_sql_request, LH_QUERY_SQL_REQUEST,
                 "Run one read-only SQL statement over the catalog's datasets.")
LH_SCHEMA_DEFINE(lh_query_column, LH_QUERY_COLUMN, "One result column.")
LH_SCHEMA_DEFINE(lh_query_dataset_ref, LH_QUERY_DATASET_REF, "A dataset version a query read.")
LH_SCHEMA_DEFINE(lh_query_sql_reply, LH_QUERY_SQL_REPLY, "A query's result.")
LH_SCHEMA_DEFINE(lh_query_stats_request, LH_QUERY_STATS_REQUEST, "Ask for queryd's counters.")
LH_SCHEMA_DEFINE(lh_query_stats_reply, LH_QUERY_STATS_REPLY, "queryd's counters.")
