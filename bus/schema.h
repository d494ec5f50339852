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
 *   LH_MESSAGE(lh_foo_request, LH_FOO_REQUEST, "...doc...")    in schemas/foo.h
 *
 * LH_MESSAGE is written once, in the service's header: everywhere it
 * declares the struct and its table; in schemas/schemas.c (which defines
 * LH_SCHEMAS_INSTANTIATE before any include) it also defines the table.
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
 *
 * Presence. INT, FLOAT and BOOL fields have a companion `bool has_<name>`:
 * the decoder sets it when the field was given (a default fills the value
 * but leaves has_ false); the encoder leaves a scalar out when its field
 * is flagged LH_F_OMIT_UNSET and has_ is false. Other kinds are absent
 * when unset (NULL pointer), as the encoder notes below say.
 */
#ifndef LH_SCHEMA_H
#define LH_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bus/buf.h"
#include "bus/err.h"

typedef struct lh_str { const char *s; size_t len; } lh_str;      /* s NULL when absent */
/* Same bytes (an absent string equals an empty one). */
static inline bool lh_str_equal(lh_str a, lh_str b)
{
    return a.len == b.len && (!a.len || !memcmp(a.s, b.s, a.len));
}
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
    /* Encoding: a list left unset (NULL), or a scalar whose has_ is false,
     * is left out of the message instead of written as [] or 0. */
    LH_F_OMIT_UNSET = 1 << 1,
    /* STRINGS: a single string is taken as a list of one (OpenAI's `input`). */
    LH_F_ONE_OR_MANY = 1 << 2,
};

typedef struct lh_schema lh_schema;

typedef struct lh_field {
    const char *name;
    lh_kind kind;
    size_t offset;
    size_t has_offset;     /* INT, FLOAT, BOOL: offset of has_<name> + 1; 0 for others */
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

/* Scalars carry a presence flag; see "Presence" above. */
#define LH__HAS_STRING(T, N)
#define LH__HAS_INT(T, N) bool has_##N;
#define LH__HAS_FLOAT(T, N) bool has_##N;
#define LH__HAS_BOOL(T, N) bool has_##N;
#define LH__HAS_STRINGS(T, N)
#define LH__HAS_FLOATS(T, N)
#define LH__HAS_MATRIX(T, N)
#define LH__HAS_OBJECTS(T, N)
#define LH__HAS_ANY(T, N)
#define LH__HAS_BYTES(T, N)
#define LH__HAS_OBJECT(T, N)
#define LH__HASOFF_STRING(T, N) 0
#define LH__HASOFF_INT(T, N) offsetof(T, has_##N) + 1
#define LH__HASOFF_FLOAT(T, N) offsetof(T, has_##N) + 1
#define LH__HASOFF_BOOL(T, N) offsetof(T, has_##N) + 1
#define LH__HASOFF_STRINGS(T, N) 0
#define LH__HASOFF_FLOATS(T, N) 0
#define LH__HASOFF_MATRIX(T, N) 0
#define LH__HASOFF_OBJECTS(T, N) 0
#define LH__HASOFF_ANY(T, N) 0
#define LH__HASOFF_BYTES(T, N) 0
#define LH__HASOFF_OBJECT(T, N) 0

#define LH__MEMBER(T, N, K, ...) lh_ctype_##K N; LH__HAS_##K(T, N)
#define LH__FIELD(T, N, K, ...)                                                   \
    {.name = #N, .kind = LH_K_##K, .offset = offsetof(T, N),                    \
     .has_offset = LH__HASOFF_##K(T, N), __VA_ARGS__},

#define LH_SCHEMA_DECLARE(T, LIST)            \
    typedef struct T {                        \
        LIST(LH__MEMBER, T) char lh__end;     \
    } T;                                      \
    extern const lh_schema T##_schema;

#define LH_SCHEMA_DEFINE(T, LIST, DOC)                                   \
    static const lh_field T##_fields[] = {LIST(LH__FIELD, T)};           \
    const lh_schema T##_schema = {#T, DOC, sizeof(T), T##_fields,        \
                                  sizeof T##_fields / sizeof T##_fields[0]};

/* One message, declared once (see the top of this file). */
#ifdef LH_SCHEMAS_INSTANTIATE
#define LH_MESSAGE(T, LIST, DOC) LH_SCHEMA_DECLARE(T, LIST) LH_SCHEMA_DEFINE(T, LIST, DOC)
#else
#define LH_MESSAGE(T, LIST, DOC) LH_SCHEMA_DECLARE(T, LIST)
#endif

/* Sets a scalar field and marks it present: LH_SET(reply, rows, 10). */
#define LH_SET(P, N, V) ((P)->N = (V), (P)->has_##N = true)

typedef struct lh_arena lh_arena;

/* Decodes the msgpack map at data[0..len) into a zeroed struct allocated
 * in `arena` (*out). Empty input decodes as an empty map. Unknown keys,
 * missing required fields, wrong types and bounds are refused. */
lh_err *lh_schema_decode(const lh_schema *s, const char *data, size_t len, lh_arena *arena,
                         void **out);
/* Decodes a reply: the same, except that unknown keys are passed over, so
 * a callee that has learned to say more (a newer version, mid-upgrade)
 * does not break its callers. */
lh_err *lh_schema_decode_reply(const lh_schema *s, const char *data, size_t len,
                               lh_arena *arena, void **out);
/* lh_schema_decode_reply, but BYTES fields point into data[0..len), which
 * the caller keeps for as long as it uses them: a large bin is read where
 * it lies. */
lh_err *lh_schema_decode_reply_in_place(const lh_schema *s, const char *data, size_t len,
                                        lh_arena *arena, void **out);
/* Appends `value`, a struct of `schema`, as a msgpack map to `out`: absent
 * strings (s == NULL) and empty ANY values are left out; numbers and
 * bools are written unless flagged LH_F_OMIT_UNSET and not marked present. */
void lh_message_encode(const lh_schema *schema, const void *value, lh_buf *out);
/* The same, but only what was given: scalars whose has_ is set, strings
 * and lists that are set, at every depth. Defaults are left to the
 * receiver. */
void lh_message_encode_given(const lh_schema *schema, const void *value, lh_buf *out);
/* The same as lh_message_encode, except the schema's last field, which
 * must be BYTES: only its bin header (of the field's len) is written, and
 * the caller sends that many bytes right after. A large body then goes
 * into the message without being copied through the encoder. */
void lh_message_encode_head(const lh_schema *schema, const void *value, lh_buf *out);

/* Zeroes `value` (s->size bytes) and fills the defaults, as decoding an
 * empty message does. */
void lh_schema_init(const lh_schema *s, void *value);
/* The member of `base` that field `f` describes (of the kind's C type). */
void *lh_field_member(const lh_field *f, void *base);
/* Marks a scalar field given (its has_); no-op for other kinds. */
void lh_field_set_given(const lh_field *f, void *base);

/* The kind's name as the docs print it ("string", "[float]", ...). */
const char *lh_kind_name(lh_kind k);

#endif
