/*
 * value.c — the value writer (see value.h) over msgpack-c's packer, made
 * on each call: it is two pointers, and the buffer is the writer's state.
 */
#include "bus/value.h"

#include <string.h>

#include "bus/codec.h"

#define LH_VW_PACKER(w)                                                                     \
    msgpack_packer pk;                                                                      \
    msgpack_packer_init(&pk, (w)->out, lh_buf_msgpack_write)

void lh_vw_init(lh_vw *w, lh_buf *out) { w->out = out; }

void lh_vw_map(lh_vw *w, size_t pairs)
{
    LH_VW_PACKER(w);
    msgpack_pack_map(&pk, pairs);
}

void lh_vw_array(lh_vw *w, size_t n)
{
    LH_VW_PACKER(w);
    msgpack_pack_array(&pk, n);
}

void lh_vw_str(lh_vw *w, const char *s, size_t n)
{
    LH_VW_PACKER(w);
    msgpack_pack_str_with_body(&pk, n ? s : "", n);
}

void lh_vw_cstr(lh_vw *w, const char *s) { lh_vw_str(w, s, strlen(s)); }

void lh_vw_int(lh_vw *w, int64_t v)
{
    LH_VW_PACKER(w);
    msgpack_pack_int64(&pk, v);
}

void lh_vw_double(lh_vw *w, double v)
{
    LH_VW_PACKER(w);
    msgpack_pack_double(&pk, v);
}

void lh_vw_float(lh_vw *w, float v)
{
    LH_VW_PACKER(w);
    msgpack_pack_float(&pk, v);
}

void lh_vw_bool(lh_vw *w, bool v)
{
    LH_VW_PACKER(w);
    if (v)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
}

void lh_vw_nil(lh_vw *w)
{
    LH_VW_PACKER(w);
    msgpack_pack_nil(&pk);
}

void lh_vw_bin(lh_vw *w, const void *p, size_t n)
{
    LH_VW_PACKER(w);
    msgpack_pack_bin_with_body(&pk, n ? p : "", n);
}

void lh_vw_raw(lh_vw *w, const char *mp, size_t n) { lh_buf_append(w->out, mp, n); }
