/*
 * local_file.h — a file that only grows, for the local backend's writes.
 *
 * Appends go straight to the disk (O_DIRECT) when the file system allows
 * it, and through the page cache otherwise (tmpfs, or
 * LH_STORAGE_DIRECT_IO=0). Direct writes skip the kernel's copy of every
 * byte into the page cache, which on a small machine costs as much CPU as
 * the rest of an upload's path together, and leave the final fsync little
 * to do. Either way the file holds exactly the bytes appended.
 */
#ifndef LH_STORAGE_LOCAL_FILE_H
#define LH_STORAGE_LOCAL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/err.h"

typedef struct lh_st_file lh_st_file;

/* Creates `path` (it must not exist), or with `resume` reopens it cut back
 * to `size` bytes (404 when it is missing or shorter). */
lh_err *lh_st_file_open(const char *path, bool resume, uint64_t size, lh_st_file **out);
/* Appends all of data, or nothing. */
lh_err *lh_st_file_append(lh_st_file *f, const char *data, size_t len);
/* Reads back len bytes at offset (all of them exist). */
lh_err *lh_st_file_read(lh_st_file *f, uint64_t offset, char *buf, size_t len);
/* Makes the bytes and the file's size durable. */
lh_err *lh_st_file_sync(lh_st_file *f);
uint64_t lh_st_file_size(const lh_st_file *f);
bool lh_st_file_direct(const lh_st_file *f);
void lh_st_file_close(lh_st_file *f);

#endif
