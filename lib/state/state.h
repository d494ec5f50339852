/*
 * state.h — what every stateful actor shares: its directory under
 * $LH_DATA_DIR and a LevelDB whose writes are synced before they are
 * acknowledged (the design's "durable before acknowledged").
 */
#ifndef LH_LIB_STATE_H
#define LH_LIB_STATE_H

#include <stddef.h>

#include <leveldb/c.h>

#include "bus/err.h"

/* mkdir -p (mode 0755). */
lh_err *lh_state_mkdirs(const char *path);

typedef struct lh_state_db {
    leveldb_t *db;
    leveldb_options_t *options;
    leveldb_readoptions_t *read;
    leveldb_writeoptions_t *sync_write; /* sync = 1 */
} lh_state_db;

/* Opens (creating) the LevelDB at dir; write_buffer 0 keeps LevelDB's
 * default. On failure everything is released and *db zeroed. */
lh_err *lh_state_db_open(lh_state_db *db, const char *dir, size_t write_buffer);
void lh_state_db_close(lh_state_db *db);
/* Turns LevelDB's malloc'd error string into an lh_err (NULL stays NULL). */
lh_err *lh_state_db_err(char *msg, const char *what);

#endif
