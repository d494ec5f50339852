/*
 * vector.h — vectord, the actor that keeps vector indexes (`vector.*`).
 *
 * State lives under $LH_DATA_DIR/vectord/: LevelDB (db/) is the truth,
 * faiss snapshots (<index>.faiss + <index>.labels) make restarts fast.
 * Settings:
 *   LH_VECTOR_SNAPSHOT_SECONDS     how often changed indexes are snapshotted
 *                                  (default 30; also on shutdown)
 *   LH_VECTOR_REBUILD_MIN_DELETED  tombstones (deleted or replaced vectors)
 *                                  an index must hold, beyond 20% of its
 *                                  labels, before a rebuild (default 1000)
 */
#ifndef LH_ACTOR_VECTOR_H
#define LH_ACTOR_VECTOR_H

#include "bus/actor.h"

extern const lh_actor_def lh_vector_actor;

#endif
