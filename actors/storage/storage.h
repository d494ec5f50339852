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

#include <stdbool.h>
#include <stddef.h>

#include "bus/actor.h"

extern const lh_actor_def lh_storage_actor;

#define LH_STORAGE_DIR "storaged"         /* storaged's folder in $LH_DATA_DIR */
#define LH_STORAGE_LOCAL_OBJECTS "objects" /* the local backend's committed objects in it */

/* Where the local backend keeps the committed object bucket/key of the
 * storaged whose data directory is `data_dir` (false when the path does
 * not fit). A process on the same machine may hard-link it instead of
 * copying its bytes (queryd's cache does): a committed file is never
 * changed in place; a replacement is a new file renamed over the name.
 * Whatever links it must still check the bytes' sha256. */
bool lh_storage_local_path(const char *data_dir, const char *bucket, const char *key,
                           char *out, size_t cap);

#endif
