/*
 * vector.h — the messages of vectord (`vector.*`): named vector indexes
 * (faiss HNSW or flat) holding items {id, vector, metadata, text}, with
 * upsert, delete and k-nearest search filtered by metadata equality.
 */
#ifndef LH_SCHEMAS_VECTOR_H
#define LH_SCHEMAS_VECTOR_H

#include "bus/contract.h"
#include "bus/schema.h"

/* Bounds; the docs and the 400/413 messages quote them. Index names are
 * checked by vectord itself (a bad name is a 400, whatever its length). */
#define LH_VECTOR_MAX_INDEX_NAME 64
#define LH_VECTOR_MAX_DIMENSION 4096
#define LH_VECTOR_MAX_ITEMS 10000   /* items per upsert, ids per delete */
#define LH_VECTOR_MAX_ID_BYTES 256
#define LH_VECTOR_MAX_METADATA_BYTES 16384
#define LH_VECTOR_MAX_TEXT_BYTES 65536
#define LH_VECTOR_MAX_QUERIES 1000  /* rows of one batch search */
#define LH_VECTOR_MAX_K 1000
#define LH_VECTOR_MAX_EF 4096
#define LH_VECTOR_MAX_FILTER_BYTES 4096
#define LH_VECTOR_MAX_HITS 100000   /* queries x k of one search: bounds the reply */
#define LH_VECTOR_MAX_MODEL 128     /* bytes of an embedding model name (embed.request's bound) */

#define LH_VECTOR_INDEX_DOC                                                                 \
    "Index name: 1 to 64 bytes of letters, digits, `_`, `-` and `.`."

/* ---- vector.create ---- */

#define LH_VECTOR_CREATE_REQUEST(F, T)                                                      \
    F(T, index, STRING, .required = true, .doc = LH_VECTOR_INDEX_DOC)                       \
    F(T, dimension, INT, .required = true, .min = 1, .max = LH_VECTOR_MAX_DIMENSION,        \
      .doc = "Length of every vector in the index.")                                        \
    F(T, metric, STRING, .choices = "cosine|l2|ip",                                         \
      .doc = "Similarity: `cosine` (default; vectors are normalized on the way in), `l2` "  \
             "(Euclidean distance) or `ip` (inner product).")                               \
    F(T, kind, STRING, .choices = "hnsw|flat",                                              \
      .doc = "Index structure: `hnsw` (default; approximate, fast) or `flat` (exact scan).")\
    F(T, m, INT, .min = 4, .max = 128, .def = 32,                                           \
      .doc = "HNSW: neighbours per node. More is better recall, more memory.")              \
    F(T, ef_construction, INT, .min = 8, .max = LH_VECTOR_MAX_EF, .def = 200,               \
      .doc = "HNSW: search breadth while building. More is a better graph, slower adds.")   \
    F(T, ef_search, INT, .min = 1, .max = LH_VECTOR_MAX_EF, .def = 64,                      \
      .doc = "HNSW: default search breadth (at least k is used). More is better recall, "   \
             "slower searches.")                                                            \
    F(T, model, STRING, .max = LH_VECTOR_MAX_MODEL,                                         \
      .doc = "The embedding model that makes the index's vectors (e.g. `hash2-384`), "      \
             "recorded so `text` searches embed with it even after embedd's default "       \
             "changes. Without it, they use embedd's default model.")
LH_MESSAGE(lh_vector_create_request, LH_VECTOR_CREATE_REQUEST, "Create an empty vector index.")

/* What create, stats and list say about an index. */
#define LH_VECTOR_INDEX_INFO(F, T)                                                          \
    F(T, index, STRING, .doc = "Index name.")                                               \
    F(T, dimension, INT, .doc = "Length of every vector.")                                  \
    F(T, metric, STRING, .doc = "`cosine`, `l2` or `ip`.")                                  \
    F(T, kind, STRING, .doc = "`hnsw` or `flat`.")                                          \
    F(T, m, INT, .doc = "HNSW neighbours per node.")                                        \
    F(T, ef_construction, INT, .doc = "HNSW build-time search breadth.")                    \
    F(T, ef_search, INT, .doc = "HNSW default search breadth.")                             \
    F(T, model, STRING,                                                                     \
      .doc = "The embedding model recorded at create, when one was; `text` searches use it.")\
    F(T, count, INT, .doc = "Items in the index.")                                          \
    F(T, deleted, INT,                                                                      \
      .doc = "Deleted or replaced vectors still held by the index (tombstones), until the " \
             "next rebuild.")                                                               \
    F(T, bytes_on_disk, INT, .doc = "Approximate bytes on disk: items and snapshot.")      \
    F(T, bytes_in_memory, INT, .doc = "Approximate bytes in memory: index and items.")
LH_MESSAGE(lh_vector_index_info, LH_VECTOR_INDEX_INFO,
           "An index: its parameters, size and footprint.")

/* ---- vector.list, vector.stats, vector.drop ---- */

#define LH_VECTOR_LIST_REQUEST(F, T)
LH_MESSAGE(lh_vector_list_request, LH_VECTOR_LIST_REQUEST, "List every vector index.")

#define LH_VECTOR_LIST_REPLY(F, T)                                                          \
    F(T, indexes, OBJECTS, .sub = &lh_vector_index_info_schema,                             \
      .doc = "Every index, by name.")
LH_MESSAGE(lh_vector_list_reply, LH_VECTOR_LIST_REPLY, "Every vector index.")

#define LH_VECTOR_NAME_REQUEST(F, T)                                                        \
    F(T, index, STRING, .required = true, .doc = LH_VECTOR_INDEX_DOC)
LH_MESSAGE(lh_vector_name_request, LH_VECTOR_NAME_REQUEST, "Names one vector index.")

#define LH_VECTOR_DROP_REPLY(F, T)                                                          \
    F(T, index, STRING, .doc = "The index that was dropped.")                               \
    F(T, dropped, INT, .doc = "Items it held.")
LH_MESSAGE(lh_vector_drop_reply, LH_VECTOR_DROP_REPLY, "What a drop removed.")

/* ---- vector.upsert ---- */

#define LH_VECTOR_ITEM(F, T)                                                                \
    F(T, id, STRING, .required = true, .max = LH_VECTOR_MAX_ID_BYTES,                       \
      .flags = LH_F_NONBLANK,                                                               \
      .doc = "Item id, 1 to 256 bytes, unique in the index. An existing id is replaced.")   \
    F(T, vector, FLOATS, .required = true, .max = LH_VECTOR_MAX_DIMENSION,                  \
      .doc = "The vector: `dimension` finite numbers (array, or msgpack bin of "            \
             "little-endian float32). Not all zeros for cosine.")                           \
    F(T, metadata, ANY, .max = LH_VECTOR_MAX_METADATA_BYTES,                                \
      .doc = "A map (JSON object) of anything, at most 16 KiB encoded; searches filter on " \
             "its top-level keys.")                                                         \
    F(T, text, STRING, .max = LH_VECTOR_MAX_TEXT_BYTES,                                     \
      .doc = "The text the vector stands for, at most 64 KiB; returned with hits.")
LH_MESSAGE(lh_vector_item, LH_VECTOR_ITEM, "One item of a vector index.")

#define LH_VECTOR_UPSERT_REQUEST(F, T)                                                      \
    F(T, index, STRING, .required = true, .doc = LH_VECTOR_INDEX_DOC)                       \
    F(T, items, OBJECTS, .required = true, .min = 1, .max = LH_VECTOR_MAX_ITEMS,            \
      .sub = &lh_vector_item_schema,                                                        \
      .doc = "Items to insert or replace (by id), at most 10,000. Durable when answered.")
LH_MESSAGE(lh_vector_upsert_request, LH_VECTOR_UPSERT_REQUEST,
           "Insert or replace items (by id); acknowledged once durable.")

#define LH_VECTOR_UPSERT_REPLY(F, T)                                                        \
    F(T, upserted, INT, .doc = "Items written.")                                            \
    F(T, replaced, INT, .doc = "Of those, how many replaced an item with the same id.")     \
    F(T, count, INT, .doc = "Items in the index afterwards.")
LH_MESSAGE(lh_vector_upsert_reply, LH_VECTOR_UPSERT_REPLY, "What an upsert wrote.")

/* ---- vector.delete ---- */

#define LH_VECTOR_DELETE_REQUEST(F, T)                                                      \
    F(T, index, STRING, .required = true, .doc = LH_VECTOR_INDEX_DOC)                       \
    F(T, ids, STRINGS, .required = true, .min = 1, .max = LH_VECTOR_MAX_ITEMS,              \
      .item_max = LH_VECTOR_MAX_ID_BYTES, .flags = LH_F_NONBLANK,                           \
      .doc = "Ids to delete, at most 10,000. Unknown ids are counted, not refused.")
LH_MESSAGE(lh_vector_delete_request, LH_VECTOR_DELETE_REQUEST,
           "Delete items by id; acknowledged once durable.")

#define LH_VECTOR_DELETE_REPLY(F, T)                                                        \
    F(T, deleted, INT, .doc = "Items deleted.")                                             \
    F(T, not_found, INT, .doc = "Ids the index did not hold.")                              \
    F(T, count, INT, .doc = "Items in the index afterwards.")
LH_MESSAGE(lh_vector_delete_reply, LH_VECTOR_DELETE_REPLY, "What a delete removed.")

/* ---- vector.search ---- */

#define LH_VECTOR_SEARCH_REQUEST(F, T)                                                      \
    F(T, index, STRING, .required = true, .doc = LH_VECTOR_INDEX_DOC)                       \
    F(T, vector, FLOATS, .max = LH_VECTOR_MAX_DIMENSION,                                    \
      .doc = "One query vector. Exactly one of `vector`, `vectors` and `text` is given.")   \
    F(T, vectors, MATRIX, .max = LH_VECTOR_MAX_QUERIES, .item_max = LH_VECTOR_MAX_DIMENSION,\
      .doc = "A batch of query vectors (at most 1,000, and rows x k at most 100,000); the " \
             "reply has `results`, one per row.")                                           \
    F(T, text, STRING, .max = LH_VECTOR_MAX_TEXT_BYTES, .flags = LH_F_NONBLANK,             \
      .doc = "A query text; vectord embeds it with `embed.request`, with the index's "      \
             "recorded `model` when it has one (the embedder's dimension must match the "   \
             "index: 422 when it does not).")                                               \
    F(T, k, INT, .min = 1, .max = LH_VECTOR_MAX_K, .def = 10,                               \
      .doc = "Hits per query, 1 to 1,000 (fewer when fewer items match).")                  \
    F(T, ef_search, INT, .min = 1, .max = LH_VECTOR_MAX_EF,                                 \
      .doc = "HNSW search breadth for this search (default: the index's; at least k).")     \
    F(T, filter, ANY, .max = LH_VECTOR_MAX_FILTER_BYTES,                                    \
      .doc = "Metadata equality: a map of key to string, number or boolean; a hit's "       \
             "metadata must hold every pair. Still returns k hits when k items match.")     \
    F(T, include_vectors, BOOL, .def = 0, .doc = "Return each hit's stored vector.")        \
    F(T, mode, STRING, .choices = "vector|keyword",                                         \
      .doc = "`vector` (default): nearest vectors. `keyword`: BM25 over the items' text "   \
             "(porter-stemmed words), for a `text` query; its words are matched "           \
             "as words, whatever syntax they hold; hits carry a `snippet`.")                 \
    F(T, text_hits, INT, .min = 0, .max = LH_VECTOR_MAX_K, .flags = LH_F_OMIT_UNSET,        \
      .doc = "How many of the best hits (of each query) carry their `text` (default: "      \
             "all). Texts are most of a reply's bytes; a caller that shows few asks for few.")\
    F(T, snippet_hits, INT, .min = 0, .max = LH_VECTOR_MAX_K, .flags = LH_F_OMIT_UNSET,     \
      .doc = "Keyword mode: how many of the best hits carry a snippet (default: all). "     \
             "Snippets cost more than ranking; a caller that shows only a few asks for few.")
LH_MESSAGE(lh_vector_search_request, LH_VECTOR_SEARCH_REQUEST,
           "The k nearest items to a vector, a batch of vectors, or a text.")

#define LH_VECTOR_HIT(F, T)                                                                 \
    F(T, id, STRING, .doc = "Item id.")                                                     \
    F(T, score, FLOAT,                                                                      \
      .doc = "Closeness to the query, by the index's metric: cosine -> cosine similarity "  \
             "(-1..1, higher is closer); ip -> inner product (higher is closer); l2 -> "    \
             "Euclidean distance (not squared; lower is closer). Keyword mode: BM25 "       \
             "(higher is closer). Hits are best first.")     \
    F(T, metadata, ANY, .doc = "The item's metadata, when it has any.")                     \
    F(T, text, STRING, .doc = "The item's text, when it has one.")                          \
    F(T, vector, FLOATS, .flags = LH_F_OMIT_UNSET,                                          \
      .doc = "The stored vector (unit length for cosine), only with `include_vectors`.")  \
    F(T, snippet, STRING,                                                                   \
      .doc = "Keyword mode: the text around the matched words, which stand between [ and ].")
LH_MESSAGE(lh_vector_hit, LH_VECTOR_HIT, "One search hit.")

#define LH_VECTOR_HITS(F, T)                                                                \
    F(T, hits, OBJECTS, .sub = &lh_vector_hit_schema, .doc = "Hits of one query, best first.")
LH_MESSAGE(lh_vector_hits, LH_VECTOR_HITS, "The hits of one query of a batch.")

#define LH_VECTOR_SEARCH_REPLY(F, T)                                                        \
    F(T, hits, OBJECTS, .sub = &lh_vector_hit_schema, .flags = LH_F_OMIT_UNSET,             \
      .doc = "Hits of a `vector` or `text` query, best first (absent for a batch).")        \
    F(T, results, OBJECTS, .sub = &lh_vector_hits_schema, .flags = LH_F_OMIT_UNSET,         \
      .doc = "For a `vectors` batch: one entry per query row, in order (absent otherwise).")
LH_MESSAGE(lh_vector_search_reply, LH_VECTOR_SEARCH_REPLY,
           "Search hits, best first: `hits` for one query, `results` for a batch.")

/* ---- events ---- */

#define LH_VECTOR_ITEMS_EVENT(F, T)                                                         \
    F(T, index, STRING, .doc = "Index name.")                                               \
    F(T, items, INT, .doc = "How many items the write changed.")
LH_MESSAGE(lh_vector_items_event, LH_VECTOR_ITEMS_EVENT,
           "Items written to or removed from an index (counts, not vectors).")

/* ---- contracts ---- */

#define LH_VECTOR_ENDPOINTS(E, S)                                                           \
    E(S, vector_create, "create", "vector.create", lh_vector_create_request,                \
      lh_vector_index_info, "Create an empty index (409 if the name is taken).")            \
    E(S, vector_list, "list", "vector.list", lh_vector_list_request, lh_vector_list_reply,  \
      "List every index with its parameters and size.")                                     \
    E(S, vector_stats, "stats", "vector.stats", lh_vector_name_request,                     \
      lh_vector_index_info,                                                                 \
      "An index's parameters, item and tombstone counts, bytes on disk and in memory.")     \
    E(S, vector_drop, "drop", "vector.drop", lh_vector_name_request, lh_vector_drop_reply,  \
      "Delete an index and everything in it.")                                              \
    E(S, vector_upsert, "upsert", "vector.upsert", lh_vector_upsert_request,                \
      lh_vector_upsert_reply, "Insert or replace items by id; answered once they are durable.") \
    E(S, vector_delete, "delete", "vector.delete", lh_vector_delete_request,                \
      lh_vector_delete_reply, "Delete items by id; answered once durable.")                 \
    E(S, vector_search, "search", "vector.search", lh_vector_search_request,                \
      lh_vector_search_reply,                                                               \
      "The k nearest items to a vector, a batch of vectors or a text, filtered by metadata.")

#define LH_VECTOR_INDEX_EVENT(F, T)                                                         \
    F(T, index, STRING, .doc = "Index name.")                                               \
    F(T, kind, STRING, .doc = "`hnsw` or `flat`.")                                          \
    F(T, metric, STRING, .doc = "`cosine`, `l2` or `ip`.")                                  \
    F(T, dimension, INT, .flags = LH_F_OMIT_UNSET, .doc = "Vector dimension (created).")     \
    F(T, model, STRING, .doc = "The embedding model recorded for its texts, if any.")       \
    F(T, items, INT, .flags = LH_F_OMIT_UNSET, .doc = "Items it held (dropped).")
LH_MESSAGE(lh_vector_index_event, LH_VECTOR_INDEX_EVENT, "An index made or dropped.")

#define LH_VECTOR_EVENTS(V, S)                                                              \
    V(S, vector_upserted, "upserted", lh_vector_items_event,                                \
      "Items were inserted or replaced; durable when published.")                           \
    V(S, vector_deleted, "deleted", lh_vector_items_event,                                  \
      "Items were deleted; durable when published.")                                        \
    V(S, vector_created, "created", lh_vector_index_event, "An index was created.")        \
    V(S, vector_dropped, "dropped", lh_vector_index_event,                                  \
      "An index was dropped, with every item in it.")
LH_SERVICE("vectord", LH_VECTOR_ENDPOINTS, LH_VECTOR_EVENTS)

#endif
