/*
 * jsonl.c — the JSON Lines parser of the reader (rules in tabular.h). A
 * line is collected (copied only when it spans chunks), parsed with
 * jansson, and its keys mapped to columns in first-seen order; nested
 * values become compact JSON text.
 */
#include "lib/tabular/tabular_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

struct lh_jsonl {
    lh_buf line;    /* a line spanning chunks, so far */
    int64_t line_no; /* the number of the line being collected, from 1 */
    lh_strmap keys; /* key, exactly -> column */
    lh_buf data;    /* the record's texts, NUL-separated */
    lh_tab_fpos *pos; /* one per column */
    size_t cap_pos;
};

lh_jsonl *lh_jsonl_create(void)
{
    lh_jsonl *j = calloc(1, sizeof *j);
    if (!j)
        abort();
    j->line_no = 1;
    return j;
}

void lh_jsonl_destroy(lh_jsonl *j)
{
    if (!j)
        return;
    lh_buf_free(&j->line);
    lh_buf_free(&j->data);
    lh_strmap_free(&j->keys);
    free(j->pos);
    free(j);
}

static const char *lh_json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    default: return "an object";
    }
}

/* The shortest text that reads back as the same double. */
static int lh_format_real(double d, char *out, size_t cap)
{
    for (int prec = 15; prec <= 17; prec++) {
        int n = snprintf(out, cap, "%.*g", prec, d);
        if (strtod(out, NULL) == d || prec == 17)
            return n;
    }
    return 0; /* unreachable */
}

/* Appends one value's text to j->data and says what it is. */
static lh_tab_fpos lh_jsonl_value(lh_jsonl *j, json_t *v)
{
    lh_tab_fpos p = {.off = j->data.len};
    char num[64];
    switch (json_typeof(v)) {
    case JSON_NULL: p.kind = LH_TAB_NULL; return p;
    case JSON_STRING:
        p.kind = LH_TAB_STRING;
        lh_buf_append(&j->data, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        p.kind = LH_TAB_INTEGER;
        lh_buf_appendf(&j->data, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        p.kind = LH_TAB_REAL;
        lh_buf_append(&j->data, num, (size_t)lh_format_real(json_real_value(v), num, sizeof num));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        p.kind = LH_TAB_BOOLEAN;
        lh_buf_append_str(&j->data, json_is_true(v) ? "true" : "false");
        break;
    default: {
        p.kind = LH_TAB_NESTED;
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!text)
            abort(); /* jansson fails here only when out of memory */
        lh_buf_append_str(&j->data, text);
        free(text);
    }
    }
    p.len = j->data.len - p.off;
    lh_buf_append(&j->data, "", 1);
    return p;
}

/* Keys of `obj` that are not columns yet. */
static size_t lh_jsonl_new_keys(const lh_jsonl *j, json_t *obj)
{
    size_t fresh = 0;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
        fresh += lh_strmap_get(&j->keys, key, strlen(key)) == LH_STRMAP_ABSENT;
    return fresh;
}

static void lh_jsonl_reserve(lh_jsonl *j, size_t n)
{
    if (n <= j->cap_pos)
        return;
    j->cap_pos = n * 2;
    j->pos = realloc(j->pos, j->cap_pos * sizeof *j->pos);
    if (!j->pos)
        abort();
}

static lh_err *lh_jsonl_object(lh_tab_reader *r, json_t *obj)
{
    lh_jsonl *j = r->jsonl;
    size_t fresh = lh_jsonl_new_keys(j, obj);
    if (r->n_names + fresh > r->o.max_fields)
        return lh_tab_bad(r, j->line_no, "more than %zu distinct keys in the file",
                          r->o.max_fields);
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        size_t len = strlen(key);
        if (lh_strmap_get(&j->keys, key, len) == LH_STRMAP_ABSENT)
            lh_strmap_put(&j->keys, key, len, lh_tab_add_column(r, key, len));
    }
    lh_jsonl_reserve(j, r->n_names);
    for (size_t i = 0; i < r->n_names; i++)
        j->pos[i] = (lh_tab_fpos){.kind = LH_TAB_NULL};
    lh_buf_reset(&j->data);
    json_object_foreach(obj, key, v)
        j->pos[lh_strmap_get(&j->keys, key, strlen(key))] = lh_jsonl_value(j, v);
    lh_buf_append(&j->data, "", 1); /* so an object of nulls still has a buffer */
    return lh_tab_emit(r, j->line_no, j->data.data, j->pos, r->n_names);
}

static bool lh_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

static lh_err *lh_jsonl_line(lh_tab_reader *r, const char *s, size_t n)
{
    lh_jsonl *j = r->jsonl;
    if (n > r->o.max_record)
        return lh_tab_too_long(r, j->line_no);
    if (n && s[n - 1] == '\r')
        n--;
    if (lh_blank(s, n))
        return NULL;
    json_error_t e;
    json_t *v = json_loadb(s, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    if (!v)
        return lh_tab_bad(r, j->line_no, "column %d: %s", e.column, e.text);
    lh_err *err = json_is_object(v)
                      ? lh_jsonl_object(r, v)
                      : lh_tab_bad(r, j->line_no, "expected a JSON object, found %s",
                                   lh_json_type_name(v));
    json_decref(v);
    return err;
}

lh_err *lh_jsonl_feed(lh_tab_reader *r, const char *data, size_t len)
{
    lh_jsonl *j = r->jsonl;
    lh_err *err = NULL;
    while (len && !err) {
        const char *nl = memchr(data, '\n', len);
        size_t take = nl ? (size_t)(nl - data) : len;
        if (!nl) {
            lh_buf_append(&j->line, data, take);
            return j->line.len > r->o.max_record ? lh_tab_too_long(r, j->line_no) : NULL;
        }
        if (j->line.len) { /* the line began in an earlier chunk */
            lh_buf_append(&j->line, data, take);
            err = lh_jsonl_line(r, j->line.data, j->line.len);
            lh_buf_reset(&j->line);
        } else {
            err = lh_jsonl_line(r, data, take);
        }
        j->line_no++;
        data += take + 1;
        len -= take + 1;
    }
    return err;
}

lh_err *lh_jsonl_finish(lh_tab_reader *r)
{
    lh_jsonl *j = r->jsonl;
    if (!j->line.len)
        return NULL;
    lh_err *err = lh_jsonl_line(r, j->line.data, j->line.len);
    lh_buf_reset(&j->line);
    return err;
}
