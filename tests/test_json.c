/*
 * test_json.c — the JSON <-> msgpack bridge (bus/json.c).
 *
 * Round trips for every JSON value kind, the float formatter against the
 * printf + strtod loop it replaces (over hundreds of thousands of values),
 * the msgpack-only kinds (bin, ext, non-string keys), and every refusal:
 * each must be a 400 with a message that says what was wrong and must leave
 * the output buffer as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/json.h"

#include "bus/codec.h"

/* ---- helpers ---- */

static char *json_via_msgpack(const char *json)
{
    lh_buf mp, out;
    lh_buf_init(&mp);
    lh_buf_init(&out);
    lh_err *err = lh_json_to_msgpack(json, strlen(json), &mp);
    if (err)
        fail_msg("lh_json_to_msgpack(%s): %s", json, lh_err_message(err));
    err = lh_msgpack_to_json(mp.data, mp.len, &out);
    if (err)
        fail_msg("lh_msgpack_to_json: %s", lh_err_message(err));
    char *text = strdup(lh_buf_cstr(&out));
    lh_buf_free(&mp);
    lh_buf_free(&out);
    return text;
}

static void assert_round_trip(const char *json, const char *expected)
{
    char *text = json_via_msgpack(json);
    assert_string_equal(text, expected);
    free(text);
}

static void assert_message_has(const lh_err *err, const char *needle)
{
    assert_non_null(err);
    assert_int_equal(lh_err_code(err), 400);
    if (!strstr(lh_err_message(err), needle))
        fail_msg("message \"%s\" lacks \"%s\"", lh_err_message(err), needle);
}

/* The refusal must also leave what was already in the buffer untouched. */
static void assert_json_refused(const char *json, size_t len, const char *needle)
{
    lh_buf out;
    lh_buf_init(&out);
    lh_buf_append_str(&out, "keep");
    lh_err *err = lh_json_to_msgpack(json, len, &out);
    assert_message_has(err, needle);
    assert_int_equal(out.len, 4);
    assert_memory_equal(out.data, "keep", 4);
    lh_err_free(err);
    lh_buf_free(&out);
}

/* For literals: the length includes any embedded NUL. */
#define assert_literal_refused(lit, needle) assert_json_refused(lit, sizeof(lit) - 1, needle)

static void assert_msgpack_refused(const char *data, size_t len, const char *needle)
{
    lh_buf out;
    lh_buf_init(&out);
    lh_buf_append_str(&out, "keep");
    lh_err *err = lh_msgpack_to_json(data, len, &out);
    assert_message_has(err, needle);
    assert_int_equal(out.len, 4);
    lh_err_free(err);
    lh_buf_free(&out);
}

typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} packed;

static void packed_init(packed *p)
{
    msgpack_sbuffer_init(&p->sb);
    msgpack_packer_init(&p->pk, &p->sb, msgpack_sbuffer_write);
}

/* Converts what was packed to JSON and frees the packing. */
static char *packed_to_json(packed *p)
{
    lh_buf out;
    lh_buf_init(&out);
    lh_err *err = lh_msgpack_to_json(p->sb.data, p->sb.size, &out);
    if (err)
        fail_msg("lh_msgpack_to_json: %s", lh_err_message(err));
    char *text = strdup(lh_buf_cstr(&out));
    lh_buf_free(&out);
    msgpack_sbuffer_destroy(&p->sb);
    return text;
}

static void assert_packed_json(packed *p, const char *expected)
{
    char *text = packed_to_json(p);
    assert_string_equal(text, expected);
    free(text);
}

/* Nested JSON objects {"a":{"a":...{}}} with `depth` objects in all. */
static char *nested_objects(int depth)
{
    size_t size = (size_t)depth * 6 + 1;
    char *s = malloc(size);
    assert_non_null(s);
    s[0] = '\0';
    for (int i = 0; i < depth - 1; i++)
        strcat(s, "{\"a\":");
    strcat(s, "{}");
    for (int i = 0; i < depth - 1; i++)
        strcat(s, "}");
    return s;
}

static uint64_t rng_next(uint64_t *state)
{
    /* xorshift64*: deterministic, so a failure reproduces */
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 2685821657736338717ULL;
}

/* ---- detection ---- */

static void test_is_json(void **state)
{
    (void)state;
    assert_true(lh_is_json("{}", 2));
    assert_true(lh_is_json(" \t\r\n{\"a\":1}", 12));
    assert_false(lh_is_json("", 0));
    assert_false(lh_is_json(NULL, 0));
    assert_false(lh_is_json("  \n ", 4));
    assert_false(lh_is_json("[1]", 3));
    assert_false(lh_is_json("\v{", 2));    /* not JSON whitespace */
    assert_false(lh_is_json("\x81\xa1" "a", 3)); /* msgpack fixmap */
    assert_false(lh_is_json("  x{", 4));
    assert_false(lh_is_json("{", 0));      /* the length is what counts */
}

/* ---- JSON -> msgpack -> JSON ---- */

static void test_round_trip_nested(void **state)
{
    (void)state;
    const char *doc = "{\"a\":{\"b\":[1,2,{\"c\":[]}],\"d\":{}},\"e\":[[],[[]]],"
                      "\"t\":true,\"f\":false,\"n\":null,\"s\":\"\"}";
    assert_round_trip(doc, doc);
    assert_round_trip("  {\n \"a\" : [ 1 , 2 ] \n}\n ", "{\"a\":[1,2]}");
}

static void test_round_trip_keeps_key_order(void **state)
{
    (void)state;
    const char *doc = "{\"z\":1,\"a\":2,\"m\":3,\"b\":4,\"y\":5,\"c\":6,\"x\":7,\"d\":8}";
    assert_round_trip(doc, doc);
}

static void test_round_trip_unicode(void **state)
{
    (void)state;
    const char *doc = "{\"\xc3\xa9t\xc3\xa9\":\"\xe6\x97\xa5\xe6\x9c\xac \xe2\x9c\x93 "
                      "\xf0\x9f\x98\x80\"}";
    assert_round_trip(doc, doc);
    /* \u escapes (a surrogate pair included) come back as plain UTF-8 */
    assert_round_trip("{\"s\":\"\\u00e9\\ud83d\\ude00\"}",
                      "{\"s\":\"\xc3\xa9\xf0\x9f\x98\x80\"}");
}

static void test_round_trip_escapes(void **state)
{
    (void)state;
    const char *doc = "{\"q\\\"k\":\"q\\\" b\\\\ n\\n t\\t r\\r b\\b f\\f \\u0001 \\u001f\"}";
    assert_round_trip(doc, doc);
    assert_round_trip("{\"s\":\"a\\/b\"}", "{\"s\":\"a/b\"}");
    /* NUL inside a string survives: lengths are used, never strlen */
    assert_round_trip("{\"s\":\"a\\u0000b\"}", "{\"s\":\"a\\u0000b\"}");
}

static void test_round_trip_integers(void **state)
{
    (void)state;
    const char *doc = "{\"max\":9223372036854775807,\"min\":-9223372036854775808,"
                      "\"neg\":-1,\"zero\":0,\"small\":127,\"big\":4294967296,"
                      "\"negbig\":-4294967297}";
    assert_round_trip(doc, doc);
}

static void test_integers_keep_their_msgpack_kind(void **state)
{
    (void)state;
    const char *doc = "{\"max\":9223372036854775807,\"min\":-9223372036854775808,\"r\":3.0}";
    lh_buf mp;
    lh_buf_init(&mp);
    assert_null(lh_json_to_msgpack(doc, strlen(doc), &mp));
    msgpack_unpacked msg;
    msgpack_unpacked_init(&msg);
    size_t used = 0;
    assert_int_equal(msgpack_unpack_next(&msg, mp.data, mp.len, &used), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(used, mp.len);
    msgpack_object_map map = msg.data.via.map;
    assert_int_equal(map.size, 3);
    assert_int_equal(map.ptr[0].val.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_true(map.ptr[0].val.via.u64 == (uint64_t)INT64_MAX);
    assert_int_equal(map.ptr[1].val.type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
    assert_true(map.ptr[1].val.via.i64 == INT64_MIN);
    assert_int_equal(map.ptr[2].val.type, MSGPACK_OBJECT_FLOAT64); /* a real stays real */
    assert_true(map.ptr[2].val.via.f64 == 3.0);
    msgpack_unpacked_destroy(&msg);
    lh_buf_free(&mp);
}

static void test_round_trip_reals(void **state)
{
    (void)state;
    assert_round_trip("{\"a\":0.1,\"b\":-2.5,\"c\":1e-5,\"d\":3.0,\"e\":1E2,\"f\":-0.0}",
                      "{\"a\":0.1,\"b\":-2.5,\"c\":1e-05,\"d\":3.0,\"e\":100.0,\"f\":-0.0}");
    assert_round_trip("{\"max\":1.7976931348623157e308,\"tiny\":5e-324,\"third\":0.3333333333333333}",
                      "{\"max\":1.7976931348623157e+308,\"tiny\":5e-324,"
                      "\"third\":0.3333333333333333}");
}

static void test_appends_after_existing_content(void **state)
{
    (void)state;
    lh_buf out;
    lh_buf_init(&out);
    lh_buf_append_str(&out, "xy");
    assert_null(lh_json_to_msgpack("{\"a\":1}", 7, &out));
    assert_int_equal(out.len, 2 + 4); /* fixmap(1) fixstr(1) 'a' fixint(1) */
    assert_memory_equal(out.data, "xy\x81\xa1" "a\x01", 6);
    assert_null(lh_msgpack_to_json(out.data + 2, 4, &out));
    assert_string_equal(lh_buf_cstr(&out) + 6, "{\"a\":1}");
    lh_buf_free(&out);
}

/* ---- floats ---- */

static char *float_text(double v, bool single)
{
    msgpack_object obj = {.type = single ? MSGPACK_OBJECT_FLOAT32 : MSGPACK_OBJECT_FLOAT64};
    obj.via.f64 = single ? (double)(float)v : v;
    lh_buf out;
    lh_buf_init(&out);
    lh_msgpack_obj_to_json(&obj, &out);
    char *text = strdup(lh_buf_cstr(&out));
    lh_buf_free(&out);
    return text;
}

static void assert_float_text(double v, bool single, const char *expected)
{
    char *text = float_text(v, single);
    assert_string_equal(text, expected);
    free(text);
}

/* The printf + strtod loop the formatter must agree with. */
static void reference_text(double v, bool single, char *text, size_t size)
{
    bool subnormal = single ? fpclassify((float)v) == FP_SUBNORMAL
                            : fpclassify(v) == FP_SUBNORMAL;
    int p_lo = subnormal ? 1 : single ? 6 : 15;
    int p_hi = single ? 9 : 17;
    for (int p = p_lo; p <= p_hi; p++) {
        snprintf(text, size, "%.*g", p, v);
        if (single ? strtof(text, NULL) == (float)v : strtod(text, NULL) == v) {
            if (strspn(text, "-0123456789") == strlen(text)) /* still a float in JSON */
                strncat(text, ".0", size - strlen(text) - 1);
            return;
        }
    }
    fail_msg("no precision reads %a back", v);
}

static void assert_matches_reference(double v, bool single)
{
    char expected[64];
    reference_text(v, single, expected, sizeof expected);
    char *text = float_text(v, single);
    if (strcmp(text, expected) != 0)
        fail_msg("%s %a: got %s, want %s", single ? "float32" : "float64", v, text, expected);
    if (single ? strtof(text, NULL) != (float)v : strtod(text, NULL) != v)
        fail_msg("%s does not read back as %a", text, v);
    free(text);
}

static void test_float32_shortest(void **state)
{
    (void)state;
    assert_float_text(0.1f, true, "0.1");
    assert_float_text(1.0f, true, "1.0");
    assert_float_text(-0.5f, true, "-0.5");
    assert_float_text(0.0f, true, "0.0");
    assert_float_text(-0.0f, true, "-0.0");
    assert_float_text(3.0f, true, "3.0");
    assert_float_text(1e-5f, true, "1e-05");
    assert_float_text(100000.0f, true, "100000.0");
    assert_float_text(1e6f, true, "1e+06");
    assert_float_text(16777216.0f, true, "16777216.0");
    assert_float_text(1.0f / 3.0f, true, "0.33333334");
    assert_float_text(FLT_MAX, true, "3.4028235e+38");
    assert_float_text(FLT_TRUE_MIN, true, "1e-45");
    /* the float32 0.1 printed as a double would be 0.10000000149011612 */
    assert_float_text(0.1f, false, "0.10000000149011612");
}

static void test_float64_shortest(void **state)
{
    (void)state;
    assert_float_text(0.1, false, "0.1");
    assert_float_text(0.1 + 0.2, false, "0.30000000000000004");
    assert_float_text(1e21, false, "1e+21");
    assert_float_text(123456789012345.0, false, "123456789012345.0");
    assert_float_text(DBL_MIN, false, "2.2250738585072014e-308");
    assert_float_text(DBL_MAX, false, "1.7976931348623157e+308");
    assert_float_text(-1.5e-7, false, "-1.5e-07");
}

static void test_float32_matches_printf_loop(void **state)
{
    (void)state;
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 200000; i++) { /* any bit pattern: every exponent */
        uint32_t bits = (uint32_t)rng_next(&rng);
        float f;
        memcpy(&f, &bits, sizeof f);
        if (isfinite(f))
            assert_matches_reference(f, true);
    }
    for (int i = 0; i < 100000; i++) { /* embedding-like components */
        float f = (float)((double)rng_next(&rng) / (double)UINT64_MAX * 2.0 - 1.0);
        assert_matches_reference(f, true);
    }
    for (int i = 0; i < 20000; i++) {
        assert_matches_reference((float)i, true);
        assert_matches_reference((float)i / 1000.0f, true);
    }
    for (int e = -149; e <= 127; e++) { /* powers of two: the narrow intervals */
        assert_matches_reference(ldexpf(1.0f, e), true);
        assert_matches_reference(nextafterf(ldexpf(1.0f, e), 0.0f), true);
    }
    for (int e = -45; e <= 38; e++)
        assert_matches_reference((float)pow(10.0, e), true);
}

static void test_float64_matches_printf_loop(void **state)
{
    (void)state;
    uint64_t rng = 0x0123456789abcdefULL;
    for (int i = 0; i < 100000; i++) {
        uint64_t bits = rng_next(&rng);
        double d;
        memcpy(&d, &bits, sizeof d);
        if (isfinite(d))
            assert_matches_reference(d, false);
    }
    for (int i = 0; i < 100000; i++)
        assert_matches_reference((double)rng_next(&rng) / (double)UINT64_MAX * 2.0 - 1.0, false);
    for (int e = -1074; e <= 1023; e++)
        assert_matches_reference(ldexp(1.0, e), false);
    for (int e = -300; e <= 300; e++)
        assert_matches_reference(pow(10.0, e), false);
}

static void test_non_finite_floats_are_null(void **state)
{
    (void)state;
    packed p;
    packed_init(&p);
    msgpack_pack_array(&p.pk, 6);
    msgpack_pack_float(&p.pk, NAN);
    msgpack_pack_float(&p.pk, INFINITY);
    msgpack_pack_float(&p.pk, -INFINITY);
    msgpack_pack_double(&p.pk, NAN);
    msgpack_pack_double(&p.pk, -INFINITY);
    msgpack_pack_float(&p.pk, 2.5f);
    assert_packed_json(&p, "[null,null,null,null,null,2.5]");
}

static void test_float32_vector(void **state)
{
    (void)state;
    packed p;
    packed_init(&p);
    msgpack_pack_map(&p.pk, 1);
    msgpack_pack_str_with_body(&p.pk, "v", 1);
    msgpack_pack_array(&p.pk, 4);
    msgpack_pack_float(&p.pk, 0.25f);
    msgpack_pack_float(&p.pk, -0.1f);
    msgpack_pack_float(&p.pk, 0.0123f);
    msgpack_pack_float(&p.pk, 7.0f);
    assert_packed_json(&p, "{\"v\":[0.25,-0.1,0.0123,7.0]}");
}

/* ---- msgpack-only kinds ---- */

static void test_bin_is_base64(void **state)
{
    (void)state;
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"\"\"", "\"Zg==\"", "\"Zm8=\"", "\"Zm9v\"",
                                        "\"Zm9vYg==\"", "\"Zm9vYmE=\"", "\"Zm9vYmFy\""};
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) { /* RFC 4648 vectors */
        packed p;
        packed_init(&p);
        msgpack_pack_bin_with_body(&p.pk, plain[i], strlen(plain[i]));
        assert_packed_json(&p, coded[i]);
    }
    packed p; /* the two characters beyond alphanumerics */
    packed_init(&p);
    msgpack_pack_bin_with_body(&p.pk, "\xfb\xff\x00", 3);
    assert_packed_json(&p, "\"+/8A\"");
}

static void test_ext_and_nil_are_null(void **state)
{
    (void)state;
    packed p;
    packed_init(&p);
    msgpack_pack_array(&p.pk, 3);
    msgpack_pack_ext_with_body(&p.pk, "abcd", 4, 7);
    msgpack_pack_nil(&p.pk);
    msgpack_pack_true(&p.pk);
    assert_packed_json(&p, "[null,null,true]");
}

static void test_non_string_keys_become_strings(void **state)
{
    (void)state;
    packed p;
    packed_init(&p);
    msgpack_pack_map(&p.pk, 8);
    msgpack_pack_int(&p.pk, 1);
    msgpack_pack_str_with_body(&p.pk, "a", 1);
    msgpack_pack_int(&p.pk, -2);
    msgpack_pack_str_with_body(&p.pk, "b", 1);
    msgpack_pack_true(&p.pk);
    msgpack_pack_int(&p.pk, 3);
    msgpack_pack_nil(&p.pk);
    msgpack_pack_int(&p.pk, 4);
    msgpack_pack_double(&p.pk, 1.5);
    msgpack_pack_int(&p.pk, 5);
    msgpack_pack_array(&p.pk, 2);
    msgpack_pack_int(&p.pk, 1);
    msgpack_pack_str_with_body(&p.pk, "x", 1);
    msgpack_pack_int(&p.pk, 6);
    msgpack_pack_bin_with_body(&p.pk, "ab", 2);
    msgpack_pack_int(&p.pk, 7);
    msgpack_pack_str_with_body(&p.pk, "q\"", 2);
    msgpack_pack_int(&p.pk, 8);
    assert_packed_json(&p, "{\"1\":\"a\",\"-2\":\"b\",\"true\":3,\"null\":4,\"1.5\":5,"
                           "\"[1,\\\"x\\\"]\":6,\"YWI=\":7,\"q\\\"\":8}");
}

static void test_uint64_beyond_int64(void **state)
{
    (void)state;
    packed p;
    packed_init(&p);
    msgpack_pack_array(&p.pk, 2);
    msgpack_pack_uint64(&p.pk, UINT64_MAX);
    msgpack_pack_int64(&p.pk, INT64_MIN);
    assert_packed_json(&p, "[18446744073709551615,-9223372036854775808]");
}

static void test_write_depth_is_bounded(void **state)
{
    (void)state;
    /* hand-built, so deeper than any unpacker would allow */
    enum { LEVELS = 70 };
    msgpack_object chain[LEVELS + 1];
    for (int i = 0; i < LEVELS; i++) {
        chain[i].type = MSGPACK_OBJECT_ARRAY;
        chain[i].via.array.size = 1;
        chain[i].via.array.ptr = &chain[i + 1];
    }
    chain[LEVELS].type = MSGPACK_OBJECT_POSITIVE_INTEGER;
    chain[LEVELS].via.u64 = 7;
    lh_buf out;
    lh_buf_init(&out);
    lh_msgpack_obj_to_json(&chain[0], &out);
    char expected[64 * 2 + 8] = "";
    memset(expected, '[', 64);
    strcpy(expected + 64, "null");
    memset(expected + 68, ']', 64);
    expected[132] = '\0';
    assert_string_equal(lh_buf_cstr(&out), expected);
    lh_buf_free(&out);
}

static void test_append_string(void **state)
{
    (void)state;
    lh_buf out;
    lh_buf_init(&out);
    lh_json_append_string(&out, "a\0b\x7f\xff\xc3\xa9\"\\\x1b", 10);
    /* DEL and high bytes (even invalid UTF-8) pass through; NUL and ESC are \u */
    assert_string_equal(lh_buf_cstr(&out),
                        "\"a\\u0000b\x7f\xff\xc3\xa9\\\"\\\\\\u001b\"");
    lh_buf_reset(&out);
    lh_json_append_string(&out, NULL, 0);
    assert_string_equal(lh_buf_cstr(&out), "\"\"");
    lh_buf_free(&out);
}

/* ---- JSON refusals ---- */

static void test_refuses_malformed_json(void **state)
{
    (void)state;
    lh_buf out;
    lh_buf_init(&out);
    lh_err *err = lh_json_to_msgpack("{\"a\": tru}", 10, &out);
        assert_string_equal(lh_err_message(err),
                        "malformed JSON at line 1, column 9: invalid token near 'tru'");
    lh_err_free(err);
    err = lh_json_to_msgpack("{\"a\":1,\n \"b\":}", 14, &out);
    assert_message_has(err, "malformed JSON at line 2, column 6:");
    lh_err_free(err);
    assert_int_equal(out.len, 0);
    lh_buf_free(&out);

    assert_literal_refused("{\"a\":1,", "malformed JSON at line 1");
    assert_literal_refused("", "malformed JSON");
    assert_json_refused(NULL, 0, "malformed JSON");
    assert_literal_refused("{\"a\":\"\xff\"}", "malformed JSON");         /* bad UTF-8 */
    assert_literal_refused("{\"a\":NaN}", "malformed JSON");
    assert_literal_refused("{\"a\":1e400}", "malformed JSON");
    assert_literal_refused("{\"a\":9223372036854775808}", "too big integer");
    assert_literal_refused("{\"a\\u0000\":1}", "malformed JSON");         /* NUL in a key */
}

static void test_refuses_non_object(void **state)
{
    (void)state;
    assert_literal_refused("[1,2]", "request body must be a JSON object");
    assert_literal_refused("\"s\"", "request body must be a JSON object");
    assert_literal_refused("42", "request body must be a JSON object");
    assert_literal_refused("null", "request body must be a JSON object");
}

static void test_refuses_trailing_garbage(void **state)
{
    (void)state;
    assert_literal_refused("{} x", "end of file expected");
    assert_literal_refused("{}{}", "malformed JSON at line 1, column 3");
    assert_literal_refused("{\"a\":1}\0", "malformed JSON");
}

static void test_refuses_duplicate_keys(void **state)
{
    (void)state;
    assert_literal_refused("{\"a\":1,\"a\":2}", "duplicate");
    assert_literal_refused("{\"o\":{\"k\":1,\"k\":1}}", "duplicate");
}

static void test_refuses_too_deep(void **state)
{
    (void)state;
    /* 32 levels is the most libmsgpackc can unpack: accepted and decodable */
    char *ok = nested_objects(32);
    char *text = json_via_msgpack(ok);
    assert_string_equal(text, ok);
    free(text);
    free(ok);

    char *deep = nested_objects(33);
    assert_json_refused(deep, strlen(deep), "JSON nested deeper than 32 levels");
    free(deep);
    char arrays[80] = "{\"a\":"; /* an object holding 32 nested arrays */
    memset(arrays + 5, '[', 32);
    strcpy(arrays + 37, "1");
    memset(arrays + 38, ']', 32);
    strcpy(arrays + 70, "}");
    assert_json_refused(arrays, strlen(arrays), "nested deeper");
}

/* ---- msgpack refusals ---- */

static void test_refuses_truncated_msgpack(void **state)
{
    (void)state;
    packed p;
    packed_init(&p);
    msgpack_pack_map(&p.pk, 2);
    msgpack_pack_str_with_body(&p.pk, "a", 1);
    msgpack_pack_array(&p.pk, 3);
    msgpack_pack_int(&p.pk, 300);
    msgpack_pack_double(&p.pk, 2.5);
    msgpack_pack_str_with_body(&p.pk, "xyz", 3);
    msgpack_pack_str_with_body(&p.pk, "b", 1);
    msgpack_pack_bin_with_body(&p.pk, "\x01\x02", 2);
    assert_msgpack_refused(p.sb.data, 0, "malformed msgpack: empty");
    for (size_t cut = 1; cut < p.sb.size; cut++)
        assert_msgpack_refused(p.sb.data, cut, "malformed msgpack: truncated");
    char *text = packed_to_json(&p);
    assert_string_equal(text, "{\"a\":[300,2.5,\"xyz\"],\"b\":\"AQI=\"}");
    free(text);
}

static void test_refuses_bad_msgpack(void **state)
{
    (void)state;
    assert_msgpack_refused("\x81\xa1" "a\x01\xc0", 5, "malformed msgpack: trailing bytes");
    assert_msgpack_refused("\xc1", 1, "malformed msgpack");
    char deep[33];
    memset(deep, '\x91', 32); /* 33 nested one-element arrays */
    deep[32] = '\x90';
    assert_msgpack_refused(deep, 33, "malformed msgpack");

    lh_buf out; /* and 32 levels are fine */
    lh_buf_init(&out);
    assert_null(lh_msgpack_to_json(deep + 1, 32, &out));
    assert_int_equal(out.len, 64);
    lh_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_json),
        cmocka_unit_test(test_round_trip_nested),
        cmocka_unit_test(test_round_trip_keeps_key_order),
        cmocka_unit_test(test_round_trip_unicode),
        cmocka_unit_test(test_round_trip_escapes),
        cmocka_unit_test(test_round_trip_integers),
        cmocka_unit_test(test_integers_keep_their_msgpack_kind),
        cmocka_unit_test(test_round_trip_reals),
        cmocka_unit_test(test_appends_after_existing_content),
        cmocka_unit_test(test_float32_shortest),
        cmocka_unit_test(test_float64_shortest),
        cmocka_unit_test(test_float32_matches_printf_loop),
        cmocka_unit_test(test_float64_matches_printf_loop),
        cmocka_unit_test(test_non_finite_floats_are_null),
        cmocka_unit_test(test_float32_vector),
        cmocka_unit_test(test_bin_is_base64),
        cmocka_unit_test(test_ext_and_nil_are_null),
        cmocka_unit_test(test_non_string_keys_become_strings),
        cmocka_unit_test(test_uint64_beyond_int64),
        cmocka_unit_test(test_write_depth_is_bounded),
        cmocka_unit_test(test_append_string),
        cmocka_unit_test(test_refuses_malformed_json),
        cmocka_unit_test(test_refuses_non_object),
        cmocka_unit_test(test_refuses_trailing_garbage),
        cmocka_unit_test(test_refuses_duplicate_keys),
        cmocka_unit_test(test_refuses_too_deep),
        cmocka_unit_test(test_refuses_truncated_msgpack),
        cmocka_unit_test(test_refuses_bad_msgpack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
