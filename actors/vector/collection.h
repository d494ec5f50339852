/*
 * collection.h — one open index in memory: its faiss index, the item
 * behind each faiss label, the id -> label map and the tombstones.
 *
 * faiss labels are positions: every vector added gets the next one, and
 * HNSW cannot remove. So a replaced or deleted item leaves a tombstone (a
 * dead label) that searches skip, until a rebuild (compact.c) copies the
 * live vectors into a fresh index and the labels are renumbered.
 *
 * Locking. `rw` is writer-preferring: searches and reads take it shared;
 * applying a write or swapping in a rebuilt index takes it exclusive, for
 * as long as the in-memory change takes and no longer. The write lock
 * (lh_vec_collection_lock_writes) orders every mutation end to end —
 * durable LevelDB write, then memory — so LevelDB and memory see writes in
 * the same order; snapshots hold it too, which stops writers but not
 * searches.
 */
#ifndef LH_VECTOR_COLLECTION_H
#define LH_VECTOR_COLLECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actors/vector/faiss_shim.h"
#include "actors/vector/filter.h"
#include "actors/vector/params.h"
#include "actors/vector/record.h"
#include "bus/buf.h"
#include "bus/err.h"
#include "schemas/vector.h"

typedef struct lh_vec_collection lh_vec_collection;

/* The item behind one label. Dead slots keep only seq 0 and no blob. */
typedef struct lh_vec_slot {
    uint64_t seq;
    char *blob; /* id, then metadata, then text */
    uint32_t id_len, meta_len, text_len;
    bool alive, has_text;
} lh_vec_slot;

/* Takes ownership of `ix` (NULL: a new empty index), whose labels start
 * out dead until revived. The collection starts with one reference. */
lh_err *lh_vec_collection_create(const lh_vec_params *p, lh_fx_index *ix,
                                 lh_vec_collection **out);
void lh_vec_collection_ref(lh_vec_collection *c);
void lh_vec_collection_unref(lh_vec_collection *c); /* destroys at zero */

const lh_vec_params *lh_vec_collection_params(const lh_vec_collection *c);

/* ---- the write path (caller holds the write lock) ---- */

void lh_vec_collection_lock_writes(lh_vec_collection *c);
void lh_vec_collection_unlock_writes(lh_vec_collection *c);
/* Set by drop; writers that find it set answer 404. */
bool lh_vec_collection_dropped(const lh_vec_collection *c);
void lh_vec_collection_mark_dropped(lh_vec_collection *c);
/* The next write sequence number, and moving it on. */
uint64_t lh_vec_collection_next_seq(const lh_vec_collection *c);
void lh_vec_collection_set_next_seq(lh_vec_collection *c, uint64_t seq);

/* Adds records in order (their vectors as indexed); an id already held is
 * replaced (its old label becomes a tombstone). *replaced may be NULL. */
lh_err *lh_vec_collection_add(lh_vec_collection *c, const lh_vec_record *r, size_t n,
                              size_t *replaced);
/* Makes a snapshot label live again with its record (restore only). */
void lh_vec_collection_revive(lh_vec_collection *c, int64_t label, const lh_vec_record *r);
/* Deletes ids; returns how many the collection held. */
size_t lh_vec_collection_delete(lh_vec_collection *c, const lh_str *ids, size_t n);

/* ---- reads (take the shared lock themselves) ---- */

typedef struct lh_vec_query {
    const float *vector; /* dimension floats, normalized for cosine */
    size_t k;
    int ef_search;       /* <= 0: the index default */
    const lh_vec_filter *filter; /* NULL or empty: none */
    bool include_vectors;
} lh_vec_query;

/* The k best hits, best first, copied into `arena`. */
lh_err *lh_vec_collection_search(lh_vec_collection *c, const lh_vec_query *q, lh_arena *arena,
                                 lh_vector_hit **hits, size_t *n);

/* The k best keyword (BM25) matches of `text`, best first, that pass
 * `filter`, the first `snippets` of them with their snippet, copied into
 * `arena`. */
lh_err *lh_vec_collection_keyword(lh_vec_collection *c, const lh_str *text,
                                  const lh_vec_filter *filter, size_t k, size_t snippets,
                                  lh_arena *arena, lh_vector_hit **hits, size_t *n);

typedef struct lh_vec_counts {
    size_t live;
    size_t tombstones;
    size_t labels;
    size_t memory_bytes;
} lh_vec_counts;
lh_vec_counts lh_vec_collection_counts(lh_vec_collection *c);

/* Calls fn with the index and the label table while nothing can change
 * them: the caller holds the write lock, so this takes no further lock
 * and concurrent searches go on. */
typedef lh_err *(*lh_vec_view_fn)(void *user, const lh_fx_index *ix, const lh_vec_slot *slots,
                                  size_t n);
lh_err *lh_vec_collection_view(lh_vec_collection *c, lh_vec_view_fn fn, void *user);

/* ---- rebuilds (compact.c) ---- */

/* Under the shared lock: the live labels (malloc'd, ascending), their
 * vectors (malloc'd, row-major) and the label count they were taken at. */
lh_err *lh_vec_collection_copy_live(lh_vec_collection *c, int64_t **labels, float **vectors,
                                    size_t *n, size_t *label_count);
/* Caller holds the write lock. Swaps in `fresh`, built from the vectors of
 * `labels` (as copy_live gave them; fresh label i = labels[i]); labels
 * added since `label_count` are carried over, writes meanwhile honoured. */
lh_err *lh_vec_collection_swap(lh_vec_collection *c, lh_fx_index *fresh, const int64_t *labels,
                               size_t n, size_t label_count);

/* Changed since the last snapshot (labels added or renumbered). */
bool lh_vec_collection_dirty(const lh_vec_collection *c);
void lh_vec_collection_set_dirty(lh_vec_collection *c, bool dirty);
/* A rebuild is due: tombstones > min_deleted and > 20% of labels. */
bool lh_vec_collection_wants_rebuild(lh_vec_collection *c, size_t min_deleted);

#endif
