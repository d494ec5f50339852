/*
 * value.h — THE writer of values whose shape is known only at run time: a
 * query's rows, a row's columns as metadata, a body's fields copied around
 * path parameters. Messages with a schema are never written this way (the
 * schema codec writes them); these are the values inside them (ANY fields)
 * and the few maps built field by field. Read them back with mpscan.h.
 *
 * msgpack-c stays behind bus/: a writer is only the buffer it appends to.
 */
#ifndef LH_VALUE_H
#define LH_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/buf.h"

typedef struct lh_vw {
    lh_buf *out;
} lh_vw;

/* Writes into `out`, appending. */
void lh_vw_init(lh_vw *w, lh_buf *out);

/* A map of `pairs` key-value pairs (keys then values follow) or an array. */
void lh_vw_map(lh_vw *w, size_t pairs);
void lh_vw_array(lh_vw *w, size_t n);
void lh_vw_str(lh_vw *w, const char *s, size_t n);
void lh_vw_cstr(lh_vw *w, const char *s);
void lh_vw_int(lh_vw *w, int64_t v);
void lh_vw_double(lh_vw *w, double v);
void lh_vw_float(lh_vw *w, float v);
void lh_vw_bool(lh_vw *w, bool v);
void lh_vw_nil(lh_vw *w);
void lh_vw_bin(lh_vw *w, const void *p, size_t n);
/* A value that is already msgpack (`n` bytes of one whole value), as is. */
void lh_vw_raw(lh_vw *w, const char *mp, size_t n);

#endif
