/*
 * backend.h — where object bytes live, behind a table of functions.
 *
 * storaged keeps descriptions (metadata) itself and asks a backend only to
 * hold bytes: read a range of an object, write a new object invisibly and
 * then make it the object in one step, delete one. The local directory
 * backend (backend_local.c) is the one built so far; an S3 backend fits
 * the same table (a write is a multipart upload, commit completes it).
 *
 * Writes are named by a token (an upload id, or a fresh id for a single
 * put) so that an unfinished write can be found again after a restart,
 * and so that recovery can ask whether a write was already committed.
 */
#ifndef LH_STORAGE_BACKEND_H
#define LH_STORAGE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/err.h"

typedef struct lh_st_backend lh_st_backend;
typedef struct lh_st_reader lh_st_reader;
typedef struct lh_st_writer lh_st_writer;

typedef lh_err *(*lh_st_token_fn)(void *user, const char *token);
/* Sets *keep to false for bytes no description claims: they are deleted. */
typedef lh_err *(*lh_st_object_fn)(void *user, const char *bucket, const char *key, bool *keep);

typedef struct lh_st_backend_ops {
    const char *name;

    /* ---- reading ---- */
    /* Opens an object; *size gets its size. 404 when there is none. */
    lh_err *(*open)(lh_st_backend *b, const char *bucket, const char *key, lh_st_reader **out,
                    uint64_t *size);
    /* Reads up to `len` bytes at `offset`; *n is short only at the end. */
    lh_err *(*read)(lh_st_reader *r, uint64_t offset, char *buf, size_t len, size_t *n);
    void (*close)(lh_st_reader *r);

    /* ---- writing: nothing is visible until commit ---- */
    lh_err *(*write_begin)(lh_st_backend *b, const char *token, lh_st_writer **out);
    /* Reopens the unfinished write `token` after a restart, cut back to
     * its first `size` bytes (what was acknowledged). 404 when it is gone
     * or holds fewer bytes. */
    lh_err *(*write_resume)(lh_st_backend *b, const char *token, uint64_t size,
                            lh_st_writer **out);
    /* Appends all of data, or nothing (a failed append is undone). */
    lh_err *(*append)(lh_st_writer *w, const char *data, size_t len);
    /* Reads back bytes already written (to recognise a resent part, or to
     * rebuild a running hash after a restart). */
    lh_err *(*read_written)(lh_st_writer *w, uint64_t offset, char *buf, size_t len);
    /* Makes the written bytes durable; the slow half of a commit, done
     * before any lock is taken. */
    lh_err *(*sync)(lh_st_writer *w);
    /* Makes the bytes the object bucket/key, replacing any previous one in
     * one step, durably. On success the writer is freed; on failure it is
     * left for abort. A name that clashes with another object's path is 409. */
    lh_err *(*commit)(lh_st_writer *w, const char *bucket, const char *key);
    /* Discards the write and frees the writer. */
    void (*abort)(lh_st_writer *w);
    /* Frees the writer and keeps its bytes, to resume after a restart. */
    void (*detach)(lh_st_writer *w);

    /* ---- deleting ---- */
    /* Deletes an object's bytes (absent is fine). */
    lh_err *(*remove)(lh_st_backend *b, const char *bucket, const char *key);

    /* ---- recovery (at start, before any request) ---- */
    /* True while the write `token` exists uncommitted. */
    bool (*pending)(lh_st_backend *b, const char *token);
    /* Discards the uncommitted write `token`, if any. */
    void (*discard)(lh_st_backend *b, const char *token);
    /* Calls fn for every uncommitted write. */
    lh_err *(*each_pending)(lh_st_backend *b, lh_st_token_fn fn, void *user);
    /* Calls fn for every stored object, whether described or not (a stray
     * file outside any bucket comes with key ""), and deletes what fn does
     * not keep; empty folders are removed on the way. */
    lh_err *(*each_object)(lh_st_backend *b, lh_st_object_fn fn, void *user);

    void (*destroy)(lh_st_backend *b);
} lh_st_backend_ops;

/* Every backend's state starts with this. */
struct lh_st_backend {
    const lh_st_backend_ops *ops;
};

/* The local directory backend: objects at <root>/objects/<bucket>/<key>,
 * uncommitted writes at <root>/tmp/<token> (the same file system, so a
 * commit is a rename). */
lh_err *lh_st_local_backend_create(const char *root, lh_st_backend **out);

#endif
