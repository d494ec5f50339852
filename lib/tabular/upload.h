/*
 * upload.h — a local file written to storaged as one object, through the
 * upload protocol (storage.upload.begin, parts, commit with the sha256
 * computed on the way), so an object of any size appears whole or not at
 * all. The counterpart of source.h: ingestd reads its source with one and
 * stores a version's Parquet file with the other.
 */
#ifndef LH_LIB_TABULAR_UPLOAD_H
#define LH_LIB_TABULAR_UPLOAD_H

#include <stdint.h>

#include "bus/conn.h"
#include "bus/digest.h"
#include "bus/err.h"

typedef struct lh_tab_upload {
    lh_conn *conn;
    int timeout_ms; /* per call */
    const char *bucket;
    const char *key;
    const char *content_type; /* NULL: none */
} lh_tab_upload;

/* Uploads the file at `path`; its size and sha256 as stored come back.
 * On failure the upload is aborted, leaving nothing behind. */
lh_err *lh_tab_upload_file(const lh_tab_upload *up, const char *path, int64_t *size,
                           char sha256[LH_SHA256_HEX + 1]);

#endif
