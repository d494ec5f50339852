/*
 * compact.h — rebuilding an index without its tombstones.
 *
 * HNSW cannot remove vectors, so deletes and replacements leave dead
 * labels that every search must step over. When they pile up, the live
 * vectors are copied out (shared lock: searches go on), a fresh index is
 * built from them with no lock held, and it is swapped in under the
 * write lock, carrying over whatever was written meanwhile.
 */
#ifndef LH_VECTOR_COMPACT_H
#define LH_VECTOR_COMPACT_H

#include <stdatomic.h>

#include "actors/vector/collection.h"
#include "bus/err.h"

/* Rebuilds c. Gives up (NULL, nothing changed) when *stop becomes true or
 * the index is dropped meanwhile. */
lh_err *lh_vec_compact(lh_vec_collection *c, const atomic_bool *stop);

#endif
