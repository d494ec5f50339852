/*
 * sse.c — the readers of sse.h. Every line is gathered in one buffer
 * (lines are short next to the network's time to bring them), so a line
 * cut between pieces and one lying whole in a piece take the same path
 * and reach the callback NUL-terminated.
 */
#include "bus/sse.h"

#include <string.h>

typedef lh_err *(*lh_sse_line_fn)(void *user, const char *line, size_t len);

static lh_err *lh_sse_too_long(size_t max)
{
    return lh_err_new(LH_EUPSTREAM, NULL, "the stream sent a line longer than %zu bytes", max);
}

/* Hands line[0..len) on without its CR (of a CRLF), NUL-terminated. */
static lh_err *lh_sse_line(lh_sse_lines *l, char *line, size_t len, lh_sse_line_fn fn,
                           void *user)
{
    if (len && line[len - 1] == '\r')
        len--;
    if (len > l->max)
        return lh_sse_too_long(l->max);
    char end = line[len];
    line[len] = '\0'; /* over the CR or LF, which is read no more */
    lh_err *err = fn(user, line, len);
    line[len] = end;
    return err;
}

/* A line not ended yet may hold the bound's bytes and the CR of a CRLF. */
static lh_err *lh_sse_unended(const lh_sse_lines *l)
{
    size_t n = l->part.len;
    if (n > l->max && !(n == l->max + 1 && l->part.data[n - 1] == '\r'))
        return lh_sse_too_long(l->max);
    return NULL;
}

/* Splits a piece into lines: fn gets each one ended in it; the rest waits
 * in l->part for the next piece. */
static lh_err *lh_sse_lines_feed(lh_sse_lines *l, const char *data, size_t len,
                                 lh_sse_line_fn fn, void *user)
{
    while (len) {
        const char *nl = memchr(data, '\n', len);
        size_t take = nl ? (size_t)(nl - data) : len;
        if (l->part.len + take > l->max + 1) /* + 1: the CR a CRLF line may hold */
            return lh_sse_too_long(l->max);
        lh_buf_append(&l->part, data, take);
        if (!nl)
            return lh_sse_unended(l);
        lh_buf_reserve(&l->part, 1);
        lh_err *err = lh_sse_line(l, l->part.data, l->part.len, fn, user);
        lh_buf_reset(&l->part);
        if (err)
            return err;
        data += take + 1;
        len -= take + 1;
    }
    return NULL;
}

static void lh_sse_lines_init(lh_sse_lines *l)
{
    lh_buf_init(&l->part);
    l->max = LH_SSE_MAX_LINE;
}

/* ---- NDJSON ---- */

static bool lh_sse_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

static lh_err *lh_ndjson_line(void *user, const char *line, size_t len)
{
    lh_ndjson *r = user;
    return lh_sse_blank(line, len) ? NULL : r->fn(r->user, line, len);
}

void lh_ndjson_init(lh_ndjson *r, lh_ndjson_fn fn, void *user)
{
    *r = (lh_ndjson){.fn = fn, .user = user};
    lh_sse_lines_init(&r->lines);
}

lh_err *lh_ndjson_feed(lh_ndjson *r, const char *data, size_t len)
{
    return lh_sse_lines_feed(&r->lines, data, len, lh_ndjson_line, r);
}

lh_err *lh_ndjson_end(lh_ndjson *r)
{
    lh_sse_lines *l = &r->lines;
    if (!l->part.len)
        return NULL;
    lh_buf_reserve(&l->part, 1);
    lh_err *err = lh_sse_line(l, l->part.data, l->part.len, lh_ndjson_line, r);
    lh_buf_reset(&l->part);
    return err;
}

void lh_ndjson_free(lh_ndjson *r) { lh_buf_free(&r->lines.part); }

/* ---- server-sent events ---- */

static lh_err *lh_sse_dispatch(lh_sse *r)
{
    if (!r->has_data) { /* an event with no data is none, its name forgotten */
        lh_buf_reset(&r->name);
        return NULL;
    }
    lh_sse_event ev = {"message", 7, lh_buf_cstr(&r->data), r->data.len};
    if (r->name.len) {
        ev.name = lh_buf_cstr(&r->name);
        ev.name_len = r->name.len;
    }
    lh_err *err = r->fn(r->user, &ev);
    lh_buf_reset(&r->name);
    lh_buf_reset(&r->data);
    r->has_data = false;
    return err;
}

/* A field line: `name: value` (one space after the colon dropped). */
static lh_err *lh_sse_field(lh_sse *r, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    size_t name_len = colon ? (size_t)(colon - line) : len;
    const char *value = colon ? colon + 1 : line + len;
    size_t value_len = (size_t)(line + len - value);
    if (value_len && *value == ' ') {
        value++;
        value_len--;
    }
    if (name_len == 5 && !memcmp(line, "event", 5)) {
        lh_buf_reset(&r->name);
        lh_buf_append(&r->name, value, value_len);
    } else if (name_len == 4 && !memcmp(line, "data", 4)) {
        if (r->data.len + value_len + 1 > r->lines.max)
            return lh_sse_too_long(r->lines.max);
        if (r->has_data)
            lh_buf_append(&r->data, "\n", 1);
        lh_buf_append(&r->data, value, value_len);
        r->has_data = true;
    }
    return NULL; /* id, retry and the unknown: passed over */
}

static lh_err *lh_sse_line_read(void *user, const char *line, size_t len)
{
    lh_sse *r = user;
    if (!r->started) {
        r->started = true;
        if (len >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3)) { /* a byte-order mark */
            line += 3;
            len -= 3;
        }
    }
    if (!len)
        return lh_sse_dispatch(r);
    if (line[0] == ':')
        return NULL; /* a comment: servers send them to keep a connection open */
    return lh_sse_field(r, line, len);
}

void lh_sse_init(lh_sse *r, lh_sse_fn fn, void *user)
{
    *r = (lh_sse){.fn = fn, .user = user};
    lh_sse_lines_init(&r->lines);
    lh_buf_init(&r->name);
    lh_buf_init(&r->data);
}

lh_err *lh_sse_feed(lh_sse *r, const char *data, size_t len)
{
    return lh_sse_lines_feed(&r->lines, data, len, lh_sse_line_read, r);
}

void lh_sse_free(lh_sse *r)
{
    lh_buf_free(&r->lines.part);
    lh_buf_free(&r->name);
    lh_buf_free(&r->data);
}
