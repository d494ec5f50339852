/*
 * snapshot.h — faiss index snapshots, so a restart need not re-add every
 * vector (HNSW builds are the slow part of vectord).
 *
 * A snapshot is two files in $LH_DATA_DIR/vectord/:
 *   <index>.faiss    the faiss index (lh_fx_write: checksummed, atomic)
 *   <index>.labels   which item each label held: (seq, id) per label, the
 *                    parameters, and the size and hash of the .faiss file
 *                    it belongs with; checksummed and renamed into place.
 * LevelDB stays the truth: a restore (restore.h) trusts a label only when
 * LevelDB still holds that id at that seq, so a snapshot can be late or
 * missing but never wrong. A pair that does not match (a crash between
 * the two renames, damage, other parameters) is refused as a whole.
 */
#ifndef LH_VECTOR_SNAPSHOT_H
#define LH_VECTOR_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "actors/vector/collection.h"
#include "actors/vector/params.h"
#include "bus/err.h"

/* Which item each label of a loaded snapshot held (seq 0: none). */
typedef struct lh_vec_labels {
    size_t n;
    uint64_t *seq;
    const char **id; /* into `data` */
    uint32_t *id_len;
    char *data;      /* the file */
} lh_vec_labels;

/* Writes the collection's snapshot into `dir`. The caller holds the
 * collection's write lock (searches go on meanwhile). */
lh_err *lh_vec_snapshot_write(lh_vec_collection *c, const char *dir);

/* Loads the snapshot of index p from `dir`: the faiss index and its label
 * table. A missing snapshot is a 404; anything wrong with it is a 500
 * saying what. */
lh_err *lh_vec_snapshot_load(const char *dir, const lh_vec_params *p, lh_fx_index **ix,
                             lh_vec_labels *labels);
void lh_vec_labels_free(lh_vec_labels *labels);

/* Removes an index's snapshot files (after a drop). */
void lh_vec_snapshot_remove(const char *dir, const char *index);
/* Bytes the snapshot files take (0 when there are none). */
uint64_t lh_vec_snapshot_bytes(const char *dir, const char *index);

#endif
