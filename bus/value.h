/*
 * value.h — THE writer of values whose shape is known only at run time: a
 * query's rows, a row's columns as metadata, a body's fields copied around
 * path parameters. Messages with a schema are never written this way (the
 * schema codec writes them); these are the values inside them (ANY fields)
 * and the few maps built field by field. Read them back with mpscan.h.
 *
 * A thin layer over msgpack-c's packer, inline because a result set writes
 * one call per cell; msgpack-c itself stays a detail of bus/.
 */
#ifndef LH_VALUE_H
#define LH_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#include "bus/buf.h"

typedef struct lh_vw {
    msgpack_packer pk;
} lh_vw;

/* Writes into `out`, appending. */
static inline void lh_vw_init(lh_vw *w, lh_buf *out)
{
    msgpack_packer_init(&w->pk, out, lh_buf_msgpack_write);
}

/* A map of `pairs` key-value pairs (keys then values follow) or an array. */
static inline void lh_vw_map(lh_vw *w, size_t pairs) { msgpack_pack_map(&w->pk, pairs); }
static inline void lh_vw_array(lh_vw *w, size_t n) { msgpack_pack_array(&w->pk, n); }

static inline void lh_vw_str(lh_vw *w, const char *s, size_t n)
{
    msgpack_pack_str_with_body(&w->pk, n ? s : "", n);
}

static inline void lh_vw_cstr(lh_vw *w, const char *s) { lh_vw_str(w, s, strlen(s)); }
static inline void lh_vw_int(lh_vw *w, int64_t v) { msgpack_pack_int64(&w->pk, v); }
static inline void lh_vw_double(lh_vw *w, double v) { msgpack_pack_double(&w->pk, v); }
static inline void lh_vw_nil(lh_vw *w) { msgpack_pack_nil(&w->pk); }

static inline void lh_vw_bool(lh_vw *w, bool v)
{
    if (v)
        msgpack_pack_true(&w->pk);
    else
        msgpack_pack_false(&w->pk);
}

static inline void lh_vw_bin(lh_vw *w, const void *p, size_t n)
{
    msgpack_pack_bin_with_body(&w->pk, n ? p : "", n);
}

/* A value that is already msgpack (`n` bytes of one whole value), as is. */
static inline void lh_vw_raw(lh_vw *w, const char *mp, size_t n)
{
    lh_buf_append((lh_buf *)w->pk.data, mp, n);
}

#endif
