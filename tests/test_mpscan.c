/*
 * test_mpscan.c — the one msgpack scanner (bus/mpscan.h) and the value
 * writer (bus/value.h): every type read back as written, containers
 * skipped whole, hostile bytes refused without allocating, and the error
 * messages a caller sees.
 */
#include "tests/support/harness.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "bus/mpscan.h"
#include "bus/value.h"

/* Writes one of every kind into b, as a map of 9 pairs. */
static void write_sample(lh_buf *b)
{
    lh_vw w;
    lh_vw_init(&w, b);
    lh_vw_map(&w, 9);
    lh_vw_cstr(&w, "nil"), lh_vw_nil(&w);
    lh_vw_cstr(&w, "yes"), lh_vw_bool(&w, true);
    lh_vw_cstr(&w, "small"), lh_vw_int(&w, 7);
    lh_vw_cstr(&w, "neg"), lh_vw_int(&w, -40000);
    lh_vw_cstr(&w, "big"), lh_vw_int(&w, INT64_MAX);
    lh_vw_cstr(&w, "pi"), lh_vw_double(&w, 3.25);
    lh_vw_cstr(&w, "text"), lh_vw_str(&w, "h\0i", 3);
    lh_vw_cstr(&w, "bytes"), lh_vw_bin(&w, "\x01\x02", 2);
    lh_vw_cstr(&w, "list"), lh_vw_array(&w, 2), lh_vw_int(&w, 1), lh_vw_cstr(&w, "two");
}

static lh_mp_value read_key_value(const char **p, const char *end, const char *key)
{
    lh_mp_value k, v;
    assert_true(lh_mp_read(p, end, &k));
    assert_int_equal(k.type, LH_MP_STR);
    assert_int_equal(k.n, strlen(key));
    assert_memory_equal(k.s, key, k.n);
    assert_true(lh_mp_read(p, end, &v));
    return v;
}

static void test_every_type_reads_back_as_written(void **state)
{
    (void)state;
    lh_buf b;
    lh_buf_init(&b);
    write_sample(&b);
    assert_null(lh_mp_check(b.data, b.len));
    const char *p = b.data, *end = b.data + b.len;
    lh_mp_value m;
    assert_true(lh_mp_read(&p, end, &m));
    assert_int_equal(m.type, LH_MP_MAP);
    assert_int_equal(m.n, 9);
    assert_int_equal(read_key_value(&p, end, "nil").type, LH_MP_NIL);
    lh_mp_value v = read_key_value(&p, end, "yes");
    assert_true(v.type == LH_MP_BOOL && v.b);
    v = read_key_value(&p, end, "small");
    assert_true(v.type == LH_MP_INT && v.i == 7);
    v = read_key_value(&p, end, "neg");
    assert_true(v.type == LH_MP_INT && v.i == -40000);
    v = read_key_value(&p, end, "big");
    assert_true(v.type == LH_MP_INT && v.i == INT64_MAX);
    v = read_key_value(&p, end, "pi");
    assert_true(v.type == LH_MP_FLOAT && v.f == 3.25);
    v = read_key_value(&p, end, "text");
    assert_true(v.type == LH_MP_STR && v.n == 3 && !memcmp(v.s, "h\0i", 3));
    v = read_key_value(&p, end, "bytes");
    assert_true(v.type == LH_MP_BIN && v.n == 2 && v.s[1] == 2);
    v = read_key_value(&p, end, "list");
    assert_true(v.type == LH_MP_ARRAY && v.n == 2);
    assert_true(lh_mp_skip(&p, end) && lh_mp_skip(&p, end));
    assert_ptr_equal(p, end);
    lh_buf_free(&b);
}

static void test_skip_passes_a_whole_container(void **state)
{
    (void)state;
    lh_buf b;
    lh_buf_init(&b);
    write_sample(&b);
    lh_vw w;
    lh_vw_init(&w, &b);
    lh_vw_int(&w, 99); /* a value after the map */
    const char *p = b.data, *end = b.data + b.len;
    assert_true(lh_mp_skip(&p, end));
    lh_mp_value v;
    assert_true(lh_mp_read(&p, end, &v));
    assert_true(v.type == LH_MP_INT && v.i == 99);
    lh_buf_free(&b);
}

static void test_unsigned_above_int64_and_float32(void **state)
{
    (void)state;
    const char u64[] = "\xcf\xff\xff\xff\xff\xff\xff\xff\xff";
    const char f32[] = "\xca\x3f\xc0\x00\x00"; /* 1.5f */
    const char *p = u64;
    lh_mp_value v;
    assert_true(lh_mp_read(&p, u64 + 9, &v));
    assert_true(v.type == LH_MP_UINT && v.u == UINT64_MAX);
    p = f32;
    assert_true(lh_mp_read(&p, f32 + 5, &v));
    assert_true(v.type == LH_MP_FLOAT && v.f == 1.5);
    lh_mp_value i = {.type = LH_MP_INT, .i = 3}, f = {.type = LH_MP_FLOAT, .f = 3.0};
    assert_true(lh_mp_scalar_equal(&i, &f)); /* numbers compare by value */
}

static void assert_refused(const char *bytes, size_t len, const char *says)
{
    lh_err *err = lh_mp_check(bytes, len);
    assert_non_null(err);
    assert_int_equal(lh_err_code(err), 400);
    if (!strstr(lh_err_message(err), says))
        fail_msg("'%s' does not say '%s'", lh_err_message(err), says);
    lh_err_free(err);
}

static void test_hostile_bytes_are_refused(void **state)
{
    (void)state;
    assert_refused("", 0, "empty message");
    assert_refused("\xdd\xff\xff\xff\xff", 5, "declares"); /* 2^32 items in 0 bytes */
    assert_refused("\xdf\xff\xff\xff\xff", 5, "declares");
    assert_refused("\xc1", 1, "invalid type byte 0xc1");
    assert_refused("\xd9\x10" "abc", 5, "truncated");     /* str8 of 16 with 3 bytes */
    assert_refused("\xc6\xff\xff\xff\xff", 5, "truncated"); /* bin32 of 4 GiB */
    assert_refused("\xdc\x00", 2, "truncated");             /* array16 header cut short */
    assert_refused("\x01\x02", 2, "trailing bytes");
    const char *p = "\x92\x01", *end = p + 2; /* an array of 2 holding 1 */
    assert_false(lh_mp_skip(&p, end));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type_reads_back_as_written),
        cmocka_unit_test(test_skip_passes_a_whole_container),
        cmocka_unit_test(test_unsigned_above_int64_and_float32),
        cmocka_unit_test(test_hostile_bytes_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
