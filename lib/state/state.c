/*
 * state.c — actor state directories and synced LevelDB handles.
 */
#include "lib/state/state.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

lh_err *lh_state_mkdirs(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return lh_err_new(LH_EINTERNAL, NULL, "mkdir %s: %s", tmp, strerror(errno));
        *p = saved;
        if (!saved)
            return NULL;
    }
}

lh_err *lh_state_db_err(char *msg, const char *what)
{
    if (!msg)
        return NULL;
    lh_err *err = lh_err_new(LH_EINTERNAL, NULL, "%s: %s", what, msg);
    leveldb_free(msg);
    return err;
}

lh_err *lh_state_db_open(lh_state_db *db, const char *dir, size_t write_buffer)
{
    memset(db, 0, sizeof *db);
    db->options = leveldb_options_create();
    leveldb_options_set_create_if_missing(db->options, 1);
    if (write_buffer)
        leveldb_options_set_write_buffer_size(db->options, write_buffer);
    db->read = leveldb_readoptions_create();
    db->sync_write = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(db->sync_write, 1);
    char *msg = NULL;
    db->db = leveldb_open(db->options, dir, &msg);
    if (db->db)
        return NULL;
    lh_err *err = lh_state_db_err(msg, dir);
    lh_state_db_close(db);
    return lh_err_wrap(err ? err : lh_err_new(LH_EINTERNAL, NULL, "cannot open %s", dir),
                       "open LevelDB");
}

void lh_state_db_close(lh_state_db *db)
{
    if (db->db)
        leveldb_close(db->db);
    if (db->sync_write)
        leveldb_writeoptions_destroy(db->sync_write);
    if (db->read)
        leveldb_readoptions_destroy(db->read);
    if (db->options)
        leveldb_options_destroy(db->options);
    memset(db, 0, sizeof *db);
}
