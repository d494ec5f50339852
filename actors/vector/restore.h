/*
 * restore.h — bringing an index back at start: its snapshot plus what
 * LevelDB holds beyond it, or everything from LevelDB when the snapshot is
 * missing, damaged or made for other settings.
 */
#ifndef LH_VECTOR_RESTORE_H
#define LH_VECTOR_RESTORE_H

#include "actors/vector/collection.h"
#include "actors/vector/params.h"
#include "actors/vector/store.h"
#include "bus/err.h"

/* Opens index p: the collection (one reference) holding exactly the items
 * LevelDB holds, its sequence number set. Snapshots are read from `dir`. */
lh_err *lh_vec_restore(lh_vec_store *store, const lh_vec_params *p, const char *dir,
                       lh_vec_collection **out);

#endif
