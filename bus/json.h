/*
 * json.h — the JSON <-> msgpack bridge.
 *
 * Every actor works on msgpack internally; a request whose first non-blank
 * byte is '{' is JSON and is converted on the way in, and the reply is
 * converted back on the way out. The gateway uses the same two functions,
 * so there is one mapping between the two encodings in the whole system:
 *
 *   JSON object/array/string/true/false/null <-> msgpack map/array/str/bool/nil
 *   JSON integer (fits int64)                <-> msgpack int / uint
 *   JSON real                                 -> msgpack float64
 *   msgpack float32/float64                   -> JSON number (shortest text
 *                                                that reads back the same value
 *                                                at that precision)
 *   msgpack bin                               -> JSON string, base64
 *   msgpack ext                               -> JSON null
 *   non-finite floats                         -> JSON null (JSON has no NaN)
 */
#ifndef LH_JSON_H
#define LH_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "bus/buf.h"
#include "bus/err.h"
#include "bus/schema.h"

/* True when the first non-blank byte is '{' (a msgpack map never is). */
bool lh_is_json(const char *data, size_t len);

/* Parses a JSON document and appends its msgpack form to `out`. The
 * top-level value must be an object. Errors are 400 with the position:
 * "malformed JSON at line 1, column 9: ..." */
lh_err *lh_json_to_msgpack(const char *json, size_t len, lh_buf *out);

/* Reads a JSON object an outside service sent through `schema` as a reply
 * (unknown keys passed over) into *out, allocated in `arena`: the two
 * steps every client of a JSON service takes. Errors as the two give. */
lh_err *lh_json_decode_reply(const char *json, size_t len, const lh_schema *schema,
                             lh_arena *arena, void **out);


/* Decodes one msgpack value from `data` and appends its JSON form to
 * `out`. Errors are 400 "malformed msgpack ...". */
lh_err *lh_msgpack_to_json(const char *data, size_t len, lh_buf *out);

/* Appends a number as the bridge writes floats: the shortest text that
 * reads back as the same value at float32 (`single`) or float64
 * precision, integral values with ".0"; null when not finite. */
void lh_json_append_float(lh_buf *out, double v, bool single);
/* Appends bytes as a quoted base64 string (how the bridge writes bin). */
void lh_json_append_base64(lh_buf *out, const void *data, size_t n);
/* Appends `s` as a quoted, escaped JSON string. */
void lh_json_append_string(lh_buf *out, const char *s, size_t len);

#endif
