/*
 * test_schema.c — the generic codec: every kind decodes, every refusal
 * names its field with the right code, replies encode back to the same
 * values, presence flags say which scalars were given and which are
 * written, and the embed schemas enforce their declared bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "bus/buf.h"
#include "bus/codec.h"
#include "bus/json.h"
#include "bus/schema.h"
#include "schemas/embed.h"

/* A message using every kind, declared the way services declare theirs. */
#define T_ITEM(F, T)                                                    \
    F(T, id, STRING, .required = true, .min = 1, .max = 16, .doc = "id") \
    F(T, score, FLOAT, .min = -1, .max = 1, .doc = "score")
LH_SCHEMA_DECLARE(t_item, T_ITEM)
LH_SCHEMA_DEFINE(t_item, T_ITEM, "item")

#define T_MSG(F, T)                                                                      \
    F(T, name, STRING, .required = true, .max = 8, .flags = LH_F_NONBLANK, .doc = "n")   \
    F(T, metric, STRING, .choices = "cosine|l2|ip", .doc = "m")                          \
    F(T, k, INT, .min = 1, .max = 100, .def = 10, .doc = "k")                            \
    F(T, ratio, FLOAT, .def = 0.5, .doc = "r")                                           \
    F(T, flag, BOOL, .def = 1, .doc = "f")                                               \
    F(T, tags, STRINGS, .max = 3, .item_max = 4, .total_max = 10, .doc = "t")            \
    F(T, vec, FLOATS, .max = 4, .doc = "v")                                              \
    F(T, rows, MATRIX, .max = 3, .item_max = 4, .doc = "m")                              \
    F(T, items, OBJECTS, .max = 2, .sub = &t_item_schema, .doc = "i")                    \
    F(T, meta, ANY, .max = 64, .doc = "a")                                               \
    F(T, blob, BYTES, .max = 8, .doc = "b")                                              \
    F(T, loc, OBJECT, .sub = &t_item_schema, .doc = "o")
LH_SCHEMA_DECLARE(t_msg, T_MSG)
LH_SCHEMA_DEFINE(t_msg, T_MSG, "test message")

/* Scalars with presence flags: three left out of an encoding when unset,
 * one (`always`) written whatever its flag says. */
#define T_PRESENCE(F, T)                                                                    \
    F(T, n, INT, .def = 7, .flags = LH_F_OMIT_UNSET, .doc = "n")                           \
    F(T, x, FLOAT, .def = 0.5, .flags = LH_F_OMIT_UNSET, .doc = "x")                       \
    F(T, b, BOOL, .def = 1, .flags = LH_F_OMIT_UNSET, .doc = "b")                          \
    F(T, always, INT, .doc = "a")
LH_SCHEMA_DECLARE(t_presence, T_PRESENCE)
LH_SCHEMA_DEFINE(t_presence, T_PRESENCE, "presence flags")

typedef struct fixture {
    lh_arena *arena;
    lh_buf mp;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->arena = lh_arena_create();
    lh_buf_init(&f->mp);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    lh_arena_destroy(f->arena);
    lh_buf_free(&f->mp);
    free(f);
    return 0;
}

/* Decodes a JSON text (converted to msgpack first) with `schema`. */
static lh_err *decode_json(fixture *f, const lh_schema *schema, const char *json, void **out)
{
    lh_buf_reset(&f->mp);
    lh_err *err = lh_json_to_msgpack(json, strlen(json), &f->mp);
    assert_null(err);
    return lh_schema_decode(schema, f->mp.data, f->mp.len, f->arena, out);
}

static void expect_refusal(fixture *f, const lh_schema *schema, const char *json, int code,
                           const char *field, const char *words)
{
    void *out = NULL;
    lh_err *err = decode_json(f, schema, json, &out);
    if (!err)
        fail_msg("accepted %s", json);
    if (lh_err_code(err) != code || strstr(lh_err_message(err), words) == NULL)
        fail_msg("%s: got %d '%s', want %d containing '%s'", json, lh_err_code(err),
                 lh_err_message(err), code, words);
    if (field)
        assert_string_equal(lh_err_field(err), field);
    lh_err_free(err);
}

static void test_decodes_every_kind(void **state)
{
    fixture *f = *state;
    t_msg *m = NULL;
    lh_err *err = decode_json(f, &t_msg_schema,
                              "{\"name\":\"abc\",\"metric\":\"l2\",\"k\":7,\"ratio\":0.25,"
                              "\"flag\":false,\"tags\":[\"a\",\"bb\"],\"vec\":[1,2.5],"
                              "\"rows\":[[1,2],[3,4]],\"items\":[{\"id\":\"x\",\"score\":0.5}],"
                              "\"meta\":{\"lang\":\"en\"}}",
                              (void **)&m);
    assert_null(err);
    assert_string_equal(m->name.s, "abc");
    assert_int_equal(m->name.len, 3);
    assert_string_equal(m->metric.s, "l2");
    assert_int_equal(m->k, 7);
    assert_true(m->ratio == 0.25);
    assert_false(m->flag);
    assert_int_equal(m->tags.n, 2);
    assert_string_equal(m->tags.v[1].s, "bb");
    assert_int_equal(m->vec.n, 2);
    assert_true(m->vec.v[1] == 2.5f);
    assert_int_equal(m->rows.rows, 2);
    assert_int_equal(m->rows.cols, 2);
    assert_true(m->rows.v[3] == 4.0f);
    assert_int_equal(m->items.n, 1);
    t_item *it = m->items.v;
    assert_string_equal(it[0].id.s, "x");
    assert_true(m->meta.len > 0);
}

static void test_defaults_apply_when_absent(void **state)
{
    fixture *f = *state;
    t_msg *m = NULL;
    assert_null(decode_json(f, &t_msg_schema, "{\"name\":\"a\",\"k\":null}", (void **)&m));
    assert_int_equal(m->k, 10);
    assert_true(m->ratio == 0.5);
    assert_true(m->flag);
    assert_null(m->metric.s);
    assert_int_equal(m->tags.n, 0);
}

static void test_refusals_name_the_field(void **state)
{
    fixture *f = *state;
    const lh_schema *s = &t_msg_schema;
    expect_refusal(f, s, "{}", 400, "name", "missing required field 'name'");
    expect_refusal(f, s, "{\"name\":\"a\",\"nmae\":1}", 400, "nmae", "unknown field 'nmae'");
    expect_refusal(f, s, "{\"name\":5}", 400, "name", "must be a string");
    expect_refusal(f, s, "{\"name\":\"   \"}", 400, "name", "must not be empty or blank");
    expect_refusal(f, s, "{\"name\":\"123456789\"}", 413, "name", "limit is 8");
    expect_refusal(f, s, "{\"name\":\"a\",\"metric\":\"dot\"}", 400, "metric", "cosine|l2|ip");
    expect_refusal(f, s, "{\"name\":\"a\",\"k\":0}", 400, "k", "between 1 and 100");
    expect_refusal(f, s, "{\"name\":\"a\",\"k\":1.5}", 400, "k", "must be an integer");
    expect_refusal(f, s, "{\"name\":\"a\",\"k\":\"3\"}", 400, "k", "must be an integer");
    expect_refusal(f, s, "{\"name\":\"a\",\"flag\":1}", 400, "flag", "must be a boolean");
    expect_refusal(f, s, "{\"name\":\"a\",\"tags\":[\"a\",\"b\",\"c\",\"d\"]}", 413, "tags",
                   "4 items; the limit is 3");
    expect_refusal(f, s, "{\"name\":\"a\",\"tags\":[\"a\",\"abcde\"]}", 413, "tags[1]",
                   "limit is 4");
    expect_refusal(f, s, "{\"name\":\"a\",\"tags\":[\"abcd\",\"abcd\",\"abcd\"]}", 413, "tags",
                   "more than 10 bytes");
    expect_refusal(f, s, "{\"name\":\"a\",\"tags\":[\"a\",3]}", 400, "tags[1]", "must be a string");
    expect_refusal(f, s, "{\"name\":\"a\",\"vec\":[1,\"x\"]}", 400, "vec", "vec[1]' must be a number");
    expect_refusal(f, s, "{\"name\":\"a\",\"rows\":[[1,2],[3]]}", 400, "rows[1]",
                   "1 columns; row 0 has 2");
    expect_refusal(f, s, "{\"name\":\"a\",\"rows\":[[1,2,3,4,5]]}", 413, "rows[0]", "limit 4");
    expect_refusal(f, s, "{\"name\":\"a\",\"items\":[{\"score\":0}]}", 400, "items[0].id",
                   "missing required field 'items[0].id'");
    expect_refusal(f, s, "{\"name\":\"a\",\"items\":[{\"id\":\"x\",\"score\":2}]}", 400,
                   "items[0].score", "between -1 and 1");
    expect_refusal(f, s, "{\"name\":\"a\",\"items\":[1]}", 400, "items[0]", "must be an object");
    expect_refusal(f, s,
                   "{\"name\":\"a\",\"meta\":{\"x\":\"0123456789012345678901234567890123456789"
                   "0123456789012345678901234567890123456789\"}}",
                   413, "meta", "limit is 64");
}

static void test_bytes_and_nested_object(void **state)
{
    fixture *f = *state;
    t_msg *m = NULL;
    assert_null(decode_json(f, &t_msg_schema,
                            "{\"name\":\"a\",\"blob\":\"hi\",\"loc\":{\"id\":\"z\",\"score\":1}}",
                            (void **)&m));
    assert_int_equal(m->blob.len, 2);
    assert_memory_equal(m->blob.data, "hi", 2);
    t_item *loc = m->loc;
    assert_non_null(loc);
    assert_string_equal(loc->id.s, "z");
    assert_null(decode_json(f, &t_msg_schema, "{\"name\":\"a\"}", (void **)&m));
    assert_null(m->loc);
    assert_null(m->blob.data);
    expect_refusal(f, &t_msg_schema, "{\"name\":\"a\",\"blob\":\"123456789\"}", 413, "blob",
                   "limit is 8");
    expect_refusal(f, &t_msg_schema, "{\"name\":\"a\",\"blob\":3}", 400, "blob",
                   "must be bytes");
    expect_refusal(f, &t_msg_schema, "{\"name\":\"a\",\"loc\":{}}", 400, "loc.id",
                   "missing required field 'loc.id'");
    expect_refusal(f, &t_msg_schema, "{\"name\":\"a\",\"loc\":[1]}", 400, "loc",
                   "must be an object");
    /* Bytes encode as bin, shown in JSON as base64; objects nest. */
    assert_null(decode_json(f, &t_msg_schema,
                            "{\"name\":\"a\",\"blob\":\"hi\",\"loc\":{\"id\":\"z\"}}",
                            (void **)&m));
    lh_buf enc, out;
    lh_buf_init(&enc);
    lh_buf_init(&out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &enc, lh_buf_msgpack_write);
    lh_schema_encode(&t_msg_schema, m, &pk);
    assert_null(lh_msgpack_to_json(enc.data, enc.len, &out));
    assert_non_null(strstr(lh_buf_cstr(&out), "\"blob\":\"aGk=\""));
    assert_non_null(strstr(lh_buf_cstr(&out), "\"loc\":{\"id\":\"z\",\"score\":0.0}"));
    lh_buf_free(&enc);
    lh_buf_free(&out);
}

static void test_bin_vectors_and_non_finite(void **state)
{
    fixture *f = *state;
    /* {"name":"a","vec":bin(float32 x2)} built by hand in msgpack. */
    float v[2] = {0.5f, -2.0f};
    lh_buf_reset(&f->mp);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &f->mp, lh_buf_msgpack_write);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "name", 4);
    msgpack_pack_str_with_body(&pk, "a", 1);
    msgpack_pack_str_with_body(&pk, "vec", 3);
    msgpack_pack_bin_with_body(&pk, v, sizeof v);
    t_msg *m = NULL;
    assert_null(lh_schema_decode(&t_msg_schema, f->mp.data, f->mp.len, f->arena, (void **)&m));
    assert_int_equal(m->vec.n, 2);
    assert_true(m->vec.v[0] == 0.5f && m->vec.v[1] == -2.0f);

    lh_buf_reset(&f->mp);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "name", 4);
    msgpack_pack_str_with_body(&pk, "a", 1);
    msgpack_pack_str_with_body(&pk, "vec", 3);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_double(&pk, NAN);
    lh_err *err = lh_schema_decode(&t_msg_schema, f->mp.data, f->mp.len, f->arena, (void **)&m);
    assert_non_null(err);
    assert_int_equal(lh_err_code(err), 400);
    assert_non_null(strstr(lh_err_message(err), "not a finite"));
    lh_err_free(err);
}

static void test_malformed_msgpack(void **state)
{
    fixture *f = *state;
    void *out;
    const char truncated[] = {(char)0x81, (char)0xa4, 'n', 'a'};
    lh_err *err = lh_schema_decode(&t_msg_schema, truncated, sizeof truncated, f->arena, &out);
    assert_int_equal(lh_err_code(err), 400);
    assert_non_null(strstr(lh_err_message(err), "malformed msgpack"));
    lh_err_free(err);
    const char not_map[] = {(char)0x93, 1, 2, 3};
    err = lh_schema_decode(&t_msg_schema, not_map, sizeof not_map, f->arena, &out);
    assert_int_equal(lh_err_code(err), 400);
    assert_non_null(strstr(lh_err_message(err), "must be a map"));
    lh_err_free(err);
    /* An array claiming 2^32 items in five bytes must be refused before
     * anything allocates for it. */
    const char hostile[] = {(char)0xdd, (char)0xff, (char)0xff, (char)0xff, (char)0xff};
    err = lh_schema_decode(&t_msg_schema, hostile, sizeof hostile, f->arena, &out);
    assert_int_equal(lh_err_code(err), 400);
    assert_non_null(strstr(lh_err_message(err), "truncated"));
    lh_err_free(err);
    const char trailing[] = {(char)0x80, 0x01};
    err = lh_schema_decode(&t_msg_schema, trailing, sizeof trailing, f->arena, &out);
    assert_int_equal(lh_err_code(err), 400);
    assert_non_null(strstr(lh_err_message(err), "trailing"));
    lh_err_free(err);
}

static void test_encode_round_trip(void **state)
{
    fixture *f = *state;
    t_msg *m = NULL;
    const char *json = "{\"name\":\"abc\",\"k\":3,\"ratio\":0.25,\"flag\":true,\"tags\":[\"a\"],"
                       "\"vec\":[1.5],\"rows\":[[1,2]],\"items\":[{\"id\":\"x\",\"score\":0.5}],"
                       "\"meta\":{\"a\":1}}";
    assert_null(decode_json(f, &t_msg_schema, json, (void **)&m));
    lh_buf enc, out;
    lh_buf_init(&enc);
    lh_buf_init(&out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &enc, lh_buf_msgpack_write);
    lh_schema_encode(&t_msg_schema, m, &pk);
    assert_null(lh_msgpack_to_json(enc.data, enc.len, &out));
    assert_string_equal(lh_buf_cstr(&out),
                        "{\"name\":\"abc\",\"k\":3,\"ratio\":0.25,\"flag\":true,\"tags\":[\"a\"],"
                        "\"vec\":[1.5],\"rows\":[[1.0,2.0]],\"items\":[{\"id\":\"x\",\"score\":0.5}],"
                        "\"meta\":{\"a\":1}}");
    lh_buf_free(&enc);
    lh_buf_free(&out);
}

static void test_embed_request_bounds(void **state)
{
    fixture *f = *state;
    const lh_schema *s = &lh_embed_request_schema;
    expect_refusal(f, s, "{\"texts\":[]}", 400, "texts", "at least 1 item");
    expect_refusal(f, s, "{\"texts\":[\"ok\",\" \\t\"]}", 400, "texts[1]", "empty or blank");
    expect_refusal(f, s, "{\"texts\":\"hello\"}", 400, "texts", "must be a [string]");
    expect_refusal(f, s, "{\"text\":[\"hello\"]}", 400, "text", "unknown field");
    /* One text over the per-text bound, named by index. */
    size_t big = LH_EMBED_MAX_TEXT_BYTES + 1;
    char *json = malloc(big + 64);
    int n = sprintf(json, "{\"texts\":[\"a\",\"");
    memset(json + n, 'x', big);
    strcpy(json + n + big, "\"]}");
    expect_refusal(f, s, json, 413, "texts[1]", "limit is 32768");
    free(json);
    /* Too many texts. */
    lh_buf many;
    lh_buf_init(&many);
    lh_buf_append_str(&many, "{\"texts\":[");
    for (int i = 0; i <= LH_EMBED_MAX_TEXTS; i++)
        lh_buf_append_str(&many, i ? ",\"w\"" : "\"w\"");
    lh_buf_append_str(&many, "]}");
    expect_refusal(f, s, lh_buf_cstr(&many), 413, "texts", "the limit is 1024");
    lh_buf_free(&many);
}

/* ---- presence flags ---- */

static void test_decoding_sets_presence_only_for_given_fields(void **state)
{
    fixture *f = *state;
    t_presence *p = NULL;
    assert_null(decode_json(f, &t_presence_schema, "{\"n\":3}", (void **)&p));
    assert_true(p->has_n);
    assert_int_equal(p->n, 3);
    /* Defaults fill the values but say nothing was given. */
    assert_false(p->has_x);
    assert_true(p->x == 0.5);
    assert_false(p->has_b);
    assert_true(p->b);
    assert_false(p->has_always);
    assert_int_equal(p->always, 0);
    /* Given, even as zero or false, is given. */
    assert_null(decode_json(f, &t_presence_schema, "{\"x\":0,\"b\":false,\"always\":0}",
                            (void **)&p));
    assert_false(p->has_n);
    assert_int_equal(p->n, 7);
    assert_true(p->has_x);
    assert_true(p->x == 0);
    assert_true(p->has_b);
    assert_false(p->b);
    assert_true(p->has_always);
}

/* The encoding of `p` as JSON text, in `out`. */
static const char *encode_json(const t_presence *p, lh_buf *enc, lh_buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, enc, lh_buf_msgpack_write);
    lh_schema_encode(&t_presence_schema, p, &pk);
    assert_null(lh_msgpack_to_json(enc->data, enc->len, out));
    return lh_buf_cstr(out);
}

static void test_encoding_leaves_out_unset_flagged_scalars(void **state)
{
    (void)state;
    lh_buf enc, out;
    lh_buf_init(&enc);
    lh_buf_init(&out);
    /* Values without their flags: the flagged ones are still left out. */
    t_presence p = {.n = 5, .x = 1.5, .b = true, .always = 0};
    assert_string_equal(encode_json(&p, &enc, &out), "{\"always\":0}");
    lh_buf_reset(&enc);
    lh_buf_reset(&out);
    /* Set with LH_SET, zero and false are written. */
    t_presence q = {0};
    LH_SET(&q, n, 0);
    LH_SET(&q, b, false);
    assert_true(q.has_n && q.has_b && !q.has_x);
    assert_string_equal(encode_json(&q, &enc, &out), "{\"n\":0,\"b\":false,\"always\":0}");
    lh_buf_free(&enc);
    lh_buf_free(&out);
}

static void test_decoded_presence_survives_a_round_trip(void **state)
{
    fixture *f = *state;
    t_presence *p = NULL;
    assert_null(decode_json(f, &t_presence_schema, "{\"x\":2.5,\"always\":4}", (void **)&p));
    lh_buf enc, out;
    lh_buf_init(&enc);
    lh_buf_init(&out);
    /* n and b took their defaults but were not given: they stay out. */
    assert_string_equal(encode_json(p, &enc, &out), "{\"x\":2.5,\"always\":4}");
    lh_buf_free(&enc);
    lh_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_decodes_every_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults_apply_when_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_name_the_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bin_vectors_and_non_finite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bytes_and_nested_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_msgpack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encode_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_embed_request_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decoding_sets_presence_only_for_given_fields, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_encoding_leaves_out_unset_flagged_scalars, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_decoded_presence_survives_a_round_trip, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
