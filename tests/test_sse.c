/*
 * test_sse.c — the streamed-body readers of bus/sse.c alone: a body cut
 * into pieces at every byte position (and byte by byte) reads as the same
 * lines and events as the body whole; CRLF and LF; SSE's comments, its
 * multi-line data, its one dropped space, its events with no data; NDJSON's
 * blank lines and unterminated last line; the line-length bound; a
 * callback's error stopping the feed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/sse.h"

/* ---- what a reader saw, as one transcript ---- */

typedef struct seen {
    lh_buf text;  /* "name|data\n" per event, "line\n" per NDJSON line */
    int stop_at;  /* the callback's call at which it errs; 0: never */
    int calls;
} seen;

static lh_err *see_event(void *user, const lh_sse_event *ev)
{
    seen *s = user;
    assert_int_equal(strlen(ev->name), ev->name_len); /* NUL-terminated */
    assert_int_equal(strlen(ev->data), ev->data_len);
    lh_buf_appendf(&s->text, "%s|%s\n", ev->name, ev->data);
    if (++s->calls == s->stop_at)
        return lh_err_new(499, NULL, "stop here");
    return NULL;
}

static lh_err *see_line(void *user, const char *line, size_t len)
{
    seen *s = user;
    assert_int_equal(strlen(line), len);
    lh_buf_appendf(&s->text, "%s\n", line);
    if (++s->calls == s->stop_at)
        return lh_err_new(499, NULL, "stop here");
    return NULL;
}

/* Reads `body` as SSE in pieces cut at `cuts` (ascending, then 0). */
static char *sse_read(const char *body, const size_t *cuts, lh_err **err)
{
    seen s = {0};
    lh_buf_init(&s.text);
    lh_sse r;
    lh_sse_init(&r, see_event, &s);
    size_t at = 0, len = strlen(body);
    *err = NULL;
    for (size_t i = 0; !*err && at < len; i++) {
        size_t to = cuts && cuts[i] ? cuts[i] : len;
        *err = lh_sse_feed(&r, body + at, to - at);
        at = to;
    }
    lh_sse_free(&r);
    char *out = strdup(lh_buf_cstr(&s.text));
    lh_buf_free(&s.text);
    return out;
}

static char *ndjson_read(const char *body, const size_t *cuts, lh_err **err)
{
    seen s = {0};
    lh_buf_init(&s.text);
    lh_ndjson r;
    lh_ndjson_init(&r, see_line, &s);
    size_t at = 0, len = strlen(body);
    *err = NULL;
    for (size_t i = 0; !*err && at < len; i++) {
        size_t to = cuts && cuts[i] ? cuts[i] : len;
        *err = lh_ndjson_feed(&r, body + at, to - at);
        at = to;
    }
    if (!*err)
        *err = lh_ndjson_end(&r);
    lh_ndjson_free(&r);
    char *out = strdup(lh_buf_cstr(&s.text));
    lh_buf_free(&s.text);
    return out;
}

typedef char *(*reader)(const char *body, const size_t *cuts, lh_err **err);

/* Every cut into two pieces, every cut into three around it, and byte by
 * byte all read as `want`. */
static void reads_the_same_however_cut(reader read, const char *body, const char *want)
{
    lh_err *err;
    size_t len = strlen(body);
    char *whole = read(body, NULL, &err);
    assert_null(err);
    assert_string_equal(whole, want);
    free(whole);
    for (size_t cut = 1; cut < len; cut++) {
        size_t two[] = {cut, 0}, three[] = {cut, cut + 1 < len ? cut + 1 : 0, 0};
        char *a = read(body, two, &err);
        assert_null(err);
        char *b = read(body, three, &err);
        assert_null(err);
        if (strcmp(a, want) || strcmp(b, want))
            fail_msg("cut at %zu: got\n%s\nand\n%s\nwanted\n%s", cut, a, b, want);
        free(a);
        free(b);
    }
    size_t *bytes = calloc(len + 1, sizeof *bytes);
    for (size_t i = 0; i < len; i++)
        bytes[i] = i + 1;
    bytes[len - 1] = 0;
    char *each = read(body, bytes, &err);
    assert_null(err);
    assert_string_equal(each, want);
    free(each);
    free(bytes);
}

/* ---- SSE ---- */

static void test_sse_events_however_cut(void **state)
{
    (void)state;
    /* OpenAI's shape, with a UTF-8 character ("é", two bytes) a cut may split */
    reads_the_same_however_cut(
        sse_read,
        "data: {\"c\":\"caf\xC3\xA9\"}\n\n"
        "data: {\"c\":\"!\"}\n\n"
        "data: [DONE]\n\n",
        "message|{\"c\":\"caf\xC3\xA9\"}\nmessage|{\"c\":\"!\"}\nmessage|[DONE]\n");
    /* Anthropic's: named events */
    reads_the_same_however_cut(sse_read,
                               "event: message_start\ndata: {\"a\":1}\n\n"
                               "event: ping\ndata: {}\n\n",
                               "message_start|{\"a\":1}\nping|{}\n");
}

static void test_sse_crlf_and_lf(void **state)
{
    (void)state;
    reads_the_same_however_cut(sse_read,
                               "event: a\r\ndata: one\r\n\r\n"
                               "data: two\n\r\n",
                               "a|one\nmessage|two\n");
}

static void test_sse_comments_fields_and_spaces(void **state)
{
    (void)state;
    reads_the_same_however_cut(sse_read,
                               ": a comment, to keep the connection open\n"
                               "id: 7\nretry: 100\n"
                               "data:no space\n\n"
                               "data:  two spaces\n\n"
                               "data\n\n"        /* a field with no colon: empty data */
                               "event: only\n\n" /* no data: no event, the name forgotten */
                               "data: x\n\n",
                               "message|no space\nmessage| two spaces\nmessage|\nmessage|x\n");
}

static void test_sse_multi_line_data(void **state)
{
    (void)state;
    reads_the_same_however_cut(sse_read,
                               "event: e\ndata: one\ndata:\ndata: three\n\n",
                               "e|one\n\nthree\n");
}

static void test_sse_byte_order_mark_and_unended_event(void **state)
{
    (void)state;
    lh_err *err;
    /* a leading BOM is not part of the first field's name; an event the
     * body does not end with a blank line is dropped, as the spec says */
    char *got = sse_read("\xEF\xBB\xBF" "data: a\n\ndata: b\n", NULL, &err);
    assert_null(err);
    assert_string_equal(got, "message|a\n");
    free(got);
}

static void test_sse_callback_error_stops(void **state)
{
    (void)state;
    seen s = {.stop_at = 1};
    lh_buf_init(&s.text);
    lh_sse r;
    lh_sse_init(&r, see_event, &s);
    static const char body[] = "data: 1\n\ndata: 2\n\n";
    lh_err *err = lh_sse_feed(&r, body, sizeof body - 1);
    assert_non_null(err);
    assert_int_equal(lh_err_code(err), 499); /* its own error, as is */
    assert_string_equal(lh_buf_cstr(&s.text), "message|1\n");
    lh_err_free(err);
    lh_sse_free(&r);
    lh_buf_free(&s.text);
}

/* ---- the bound ---- */

static lh_err *feed_line(bool sse, size_t max, size_t n, const char *end, size_t piece,
                         int *calls)
{
    seen s = {0};
    lh_buf_init(&s.text);
    lh_buf body;
    lh_buf_init(&body);
    lh_buf_append_str(&body, sse ? "data: " : "");
    while (body.len < n)
        lh_buf_append(&body, "x", 1);
    lh_buf_append_str(&body, end);
    lh_sse r;
    lh_ndjson nd;
    lh_sse_init(&r, see_event, &s);
    lh_ndjson_init(&nd, see_line, &s);
    r.lines.max = nd.lines.max = max;
    lh_err *err = NULL;
    for (size_t at = 0; !err && at < body.len; at += piece) {
        size_t len = body.len - at < piece ? body.len - at : piece;
        err = sse ? lh_sse_feed(&r, body.data + at, len) : lh_ndjson_feed(&nd, body.data + at, len);
    }
    *calls = s.calls;
    lh_sse_free(&r);
    lh_ndjson_free(&nd);
    lh_buf_free(&body);
    lh_buf_free(&s.text);
    return err;
}

static void test_the_line_length_bound(void **state)
{
    (void)state;
    int calls;
    /* at the bound: read, however it comes (CRLF's CR not counted) */
    for (size_t piece = 1; piece <= 64; piece *= 4) {
        assert_null(feed_line(true, 64, 64, "\r\n\n", piece, &calls));
        assert_int_equal(calls, 1);
        assert_null(feed_line(false, 64, 64, "\n", piece, &calls));
        assert_int_equal(calls, 1);
    }
    /* one over: a 502, saying why, whether the line ended or not */
    for (size_t piece = 1; piece <= 256; piece *= 4) {
        static const char *const ends[] = {"\n\n", "\r\n\r\n", ""};
        for (size_t e = 0; e < 3; e++) {
            for (int sse = 0; sse < 2; sse++) {
                lh_err *err = feed_line(sse, 64, 65, ends[e], piece, &calls);
                if (!err)
                    fail_msg("a line of 65 bytes (bound 64, pieces of %zu) was read", piece);
                assert_int_equal(lh_err_code(err), 502);
                assert_non_null(strstr(lh_err_message(err), "longer than 64 bytes"));
                assert_int_equal(calls, 0);
                lh_err_free(err);
            }
        }
    }
    /* the real bound: 1 MiB */
    assert_null(feed_line(false, LH_SSE_MAX_LINE, LH_SSE_MAX_LINE, "\n", 16384, &calls));
    lh_err *err = feed_line(false, LH_SSE_MAX_LINE, LH_SSE_MAX_LINE + 1, "", 16384, &calls);
    assert_non_null(err);
    lh_err_free(err);
}

static void test_sse_data_is_bounded_too(void **state)
{
    (void)state;
    /* many short data lines: each within the bound, the event over it */
    seen s = {0};
    lh_buf_init(&s.text);
    lh_sse r;
    lh_sse_init(&r, see_event, &s);
    r.lines.max = 64;
    lh_err *err = NULL;
    for (int i = 0; i < 100 && !err; i++)
        err = lh_sse_feed(&r, "data: 0123456789\n", 17);
    assert_non_null(err);
    assert_int_equal(lh_err_code(err), 502);
    assert_int_equal(s.calls, 0);
    lh_err_free(err);
    lh_sse_free(&r);
    lh_buf_free(&s.text);
}

/* ---- NDJSON ---- */

static void test_ndjson_lines_however_cut(void **state)
{
    (void)state;
    reads_the_same_however_cut(ndjson_read,
                               "{\"message\":{\"content\":\"caf\xC3\xA9\"},\"done\":false}\n"
                               "\n   \n"
                               "{\"done\":true}\r\n",
                               "{\"message\":{\"content\":\"caf\xC3\xA9\"},\"done\":false}\n"
                               "{\"done\":true}\n");
    /* a last line without its newline is still read, at the end */
    reads_the_same_however_cut(ndjson_read, "{\"a\":1}\n{\"b\":2}", "{\"a\":1}\n{\"b\":2}\n");
}

static void test_ndjson_callback_error_stops(void **state)
{
    (void)state;
    seen s = {.stop_at = 1};
    lh_buf_init(&s.text);
    lh_ndjson r;
    lh_ndjson_init(&r, see_line, &s);
    lh_err *err = lh_ndjson_feed(&r, "1\n2\n3\n", 6);
    assert_non_null(err);
    assert_int_equal(lh_err_code(err), 499);
    assert_int_equal(s.calls, 1);
    lh_err_free(err);
    lh_ndjson_free(&r);
    lh_buf_free(&s.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sse_events_however_cut),
        cmocka_unit_test(test_sse_crlf_and_lf),
        cmocka_unit_test(test_sse_comments_fields_and_spaces),
        cmocka_unit_test(test_sse_multi_line_data),
        cmocka_unit_test(test_sse_byte_order_mark_and_unended_event),
        cmocka_unit_test(test_sse_callback_error_stops),
        cmocka_unit_test(test_the_line_length_bound),
        cmocka_unit_test(test_sse_data_is_bounded_too),
        cmocka_unit_test(test_ndjson_lines_however_cut),
        cmocka_unit_test(test_ndjson_callback_error_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
