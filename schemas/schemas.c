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
