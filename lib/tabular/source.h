/*
 * source.h — a dataset's object read from storaged, range by range,
 * through the tabular reader.
 *
 * ingestd reads a source to infer its schema and queryd reads a version
 * to load it: both go through this one loop, so both see the object the
 * same way, with memory bounded by one range whatever the object's size.
 * The object must keep the sha256 it had when the read began: a change
 * in the middle (409) stops the read instead of mixing two files.
 */
#ifndef LH_LIB_TABULAR_SOURCE_H
#define LH_LIB_TABULAR_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/tabular/tabular.h"
#include "bus/conn.h"
#include "bus/err.h"

#define LH_TAB_SOURCE_DEFAULT_CHUNK (1u << 20)

typedef struct lh_tab_source {
    lh_conn *conn;
    int timeout_ms;     /* per storage.get */
    const char *bucket;
    const char *key;
    const char *sha256; /* 64 hex digits the object must have; NULL: not checked */
    size_t chunk;       /* bytes asked per range; 0: LH_TAB_SOURCE_DEFAULT_CHUNK */
    /* Optional: asked before each range; an error stops the read with it. */
    lh_err *(*before)(void *user);
    /* Optional: after each range, with the bytes read so far. */
    void (*after)(void *user, int64_t bytes);
    void *user;
} lh_tab_source;

/* Hands the whole object to `sink`, range by range, in order. */
typedef lh_err *(*lh_tab_source_sink)(void *user, const char *data, size_t len);
lh_err *lh_tab_source_each(const lh_tab_source *src, lh_tab_source_sink sink, void *sink_user);

/* Feeds the whole object to `reader`, then finishes it. */
lh_err *lh_tab_source_read(const lh_tab_source *src, lh_tab_reader *reader);

#endif
