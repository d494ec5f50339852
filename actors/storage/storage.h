/*
 * storage.h — storaged, the actor that keeps objects in buckets
 * (`storage.*`).
 *
 * Objects live in a backend (backend.h; the local directory backend is
 * the one built so far) and their descriptions (size, sha256, content
 * type, user metadata, modification time) in LevelDB at
 * $LH_DATA_DIR/storaged/meta. An object exists when its description does:
 * bytes without one are invisible and are swept after a crash.
 *
 * Settings:
 *   LH_STORAGE_UPLOAD_IDLE_SECONDS  an upload with no new part for this
 *                                   long is aborted (default 3600)
 *   LH_STORAGE_DIRECT_IO            0 writes through the page cache instead
 *                                   of O_DIRECT (local_file.h; default on
 *                                   where the file system supports it)
 *
 * Run one storaged per data directory (LevelDB's lock enforces it): the
 * uploads in progress live in its memory, so every part of an upload must
 * reach the same process. --workers N is fine.
 */
#ifndef LH_ACTOR_STORAGE_H
#define LH_ACTOR_STORAGE_H

#include "bus/actor.h"

extern const lh_actor_def lh_storage_actor;

#endif
