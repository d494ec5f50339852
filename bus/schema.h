/*
 * schema.h — messages declared once, as data.
 *
 * A message is a list macro of fields; from that one list LH_SCHEMA makes
 * the C struct and a field table (name, kind, required, limits, default,
 * doc). One generic codec (schema.c) uses the table to decode a msgpack
 * request into the struct — refusing bad input with a 400/413 that names
 * the field — and to encode a reply struct into msgpack. The docs
 * generator and the gateway's OpenAPI document read the same tables, so
 * code, docs and validation cannot drift.
 *
 *   #define LH_FOO_REQUEST(F, T) \
 *       F(T, name,  STRING, .required = true, .max = 64, .doc = "...") \
 *       F(T, limit, INT,    .min = 1, .max = 1000, .def = 10, .doc = "...")
 *   LH_SCHEMA_DECLARE(lh_foo_request, LH_FOO_REQUEST)   in schemas/foo.h
 *   LH_SCHEMA_DEFINE(lh_foo_request, LH_FOO_REQUEST, "...doc...")
 *                                                      in schemas/schemas.c
 *
 * Field kinds and their C types:
 *   STRING   lh_str      .min/.max bound the length in bytes
 *   INT      int64_t     .min/.max bound the value; .def when absent
 *   FLOAT    double      .min/.max bound the value; .def when absent
 *   BOOL     bool        .def when absent (0 or 1)
 *   STRINGS  lh_strs     .min/.max bound the count; .item_max bytes per item;
 *                        .total_max bytes over all items
 *   FLOATS   lh_floats   array of numbers or bin of little-endian float32;
 *                        .min/.max bound the count
 *   MATRIX   lh_matrix   array of rows (arrays or bins), all the same length;
 *                        .min/.max bound the rows, .item_max the columns
 *   OBJECTS  lh_objs     array of maps decoded with .sub; .min/.max count
 *   OBJECT   void *      one map decoded with .sub (a pointer to its struct,
 *                        NULL when absent)
 *   ANY      lh_raw      any value, kept as its msgpack bytes; .max bytes
 *   BYTES    lh_bytes    msgpack bin, or a string (its UTF-8 bytes, as JSON
 *                        requests send them); .max bytes;
 *                        encoded as bin (JSON shows bin as base64)
 *
 * Size bounds (.max on counts/lengths, .item_max, .total_max) answer 413;
 * everything else answers 400.
 */
#ifndef LH_SCHEMA_H
#define LH_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "bus/buf.h"
#include "bus/err.h"

typedef struct lh_str { const char *s; size_t len; } lh_str;      /* s NULL when absent */
typedef struct lh_strs { lh_str *v; size_t n; } lh_strs;
typedef struct lh_floats { float *v; size_t n; } lh_floats;
typedef struct lh_matrix { float *v; size_t rows, cols; } lh_matrix; /* row-major */
typedef struct lh_objs { void *v; size_t n; } lh_objs;          /* n structs of .sub */
typedef struct lh_raw { const char *data; size_t len; } lh_raw;  /* msgpack bytes */
typedef struct lh_bytes { const char *data; size_t len; } lh_bytes; /* data NULL when absent */

typedef enum {
    LH_K_STRING,
    LH_K_INT,
    LH_K_FLOAT,
    LH_K_BOOL,
    LH_K_STRINGS,
    LH_K_FLOATS,
    LH_K_MATRIX,
    LH_K_OBJECTS,
    LH_K_ANY,
    LH_K_BYTES,
    LH_K_OBJECT,
} lh_kind;

typedef lh_str lh_ctype_STRING;
typedef int64_t lh_ctype_INT;
typedef double lh_ctype_FLOAT;
typedef bool lh_ctype_BOOL;
typedef lh_strs lh_ctype_STRINGS;
typedef lh_floats lh_ctype_FLOATS;
typedef lh_matrix lh_ctype_MATRIX;
typedef lh_objs lh_ctype_OBJECTS;
typedef lh_raw lh_ctype_ANY;
typedef lh_bytes lh_ctype_BYTES;
typedef void *lh_ctype_OBJECT;

/* Field flags. */
enum {
    LH_F_NONBLANK = 1 << 0,   /* strings (and STRINGS items) must hold a non-space byte */
    LH_F_OMIT_UNSET = 1 << 1, /* replies: a list the handler left unset (NULL) is left out */
};

typedef struct lh_schema lh_schema;

typedef struct lh_field {
    const char *name;
    lh_kind kind;
    size_t offset;
    bool required;
    double min, max;       /* 0,0 = unbounded; see the kinds above */
    double item_max;       /* per item (bytes, or columns) */
    double total_max;      /* bytes over all items */
    double def;            /* default for INT, FLOAT, BOOL */
    const char *choices;   /* STRING: allowed values, "a|b|c" */
    unsigned flags;
    const lh_schema *sub;  /* OBJECTS, OBJECT: the item schema */
    const char *doc;
} lh_field;

struct lh_schema {
    const char *name; /* the C type name, e.g. "lh_embed_request" */
    const char *doc;
    size_t size;      /* sizeof the struct */
    const lh_field *fields;
    size_t n_fields;
};

#define LH__MEMBER(T, N, K, ...) lh_ctype_##K N;
#define LH__FIELD(T, N, K, ...) {.name = #N, .kind = LH_K_##K, .offset = offsetof(T, N), __VA_ARGS__},

#define LH_SCHEMA_DECLARE(T, LIST)            \
    typedef struct T {                        \
        LIST(LH__MEMBER, T) char lh__end;     \
    } T;                                      \
    extern const lh_schema T##_schema;

#define LH_SCHEMA_DEFINE(T, LIST, DOC)                                   \
    static const lh_field T##_fields[] = {LIST(LH__FIELD, T)};           \
    const lh_schema T##_schema = {#T, DOC, sizeof(T), T##_fields,        \
                                  sizeof T##_fields / sizeof T##_fields[0]};

typedef struct lh_arena lh_arena;

/* Decodes the msgpack map at data[0..len) into a zeroed struct allocated
 * in `arena` (*out). Empty input decodes as an empty map. Unknown keys,
 * missing required fields, wrong types and bounds are refused. */
lh_err *lh_schema_decode(const lh_schema *s, const char *data, size_t len, lh_arena *arena,
                         void **out);
/* Same, from an already unpacked object. `path` prefixes field names in
 * errors (e.g. "items[3]"), NULL at the top. */
lh_err *lh_schema_decode_obj(const lh_schema *s, const msgpack_object *obj, lh_arena *arena,
                             const char *path, void *out);

/* Encodes a struct as a msgpack map: absent strings (s == NULL) and empty
 * ANY values are left out; numbers and bools are always written. */
void lh_schema_encode(const lh_schema *s, const void *value, msgpack_packer *pk);

/* The kind's name as the docs print it ("string", "[float]", ...). */
const char *lh_kind_name(lh_kind k);

#endif
