/*
 * codec.h — the msgpack-c level of the codec, for bus/ (and the tests of
 * bus/) only: everything else encodes and decodes messages through
 * schema.h's buffer-level calls, writes run-time values with value.h and
 * reads them with mpscan.h, and never sees a msgpack-c type. Keeping
 * msgpack-c behind this header is what lets the codec change without
 * touching an actor.
 */
#ifndef LH_CODEC_H
#define LH_CODEC_H

#include <msgpack.h>

#include "bus/buf.h"
#include "bus/err.h"
#include "bus/schema.h"

/* msgpack-c's packer write callback; `data` is an lh_buf *. */
int lh_buf_msgpack_write(void *data, const char *buf, size_t len);

/* lh_schema_decode from an already unpacked object. `path` prefixes field
 * names in errors (e.g. "items[3]"), NULL at the top. */
lh_err *lh_schema_decode_obj(const lh_schema *s, const msgpack_object *obj, lh_arena *arena,
                             const char *path, void *out);

/* The encoders of schema.h's lh_message_encode*, onto a packer. */
void lh_schema_encode(const lh_schema *s, const void *value, msgpack_packer *pk);
void lh_schema_encode_given(const lh_schema *s, const void *value, msgpack_packer *pk);
void lh_schema_encode_head(const lh_schema *s, const void *value, msgpack_packer *pk);

/* Appends the JSON text of an unpacked msgpack object to `out`. */
void lh_msgpack_obj_to_json(const msgpack_object *obj, lh_buf *out);

#endif
