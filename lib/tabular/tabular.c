/*
 * tabular.c — the reader's common part (tabular.h): options, the byte
 * order mark, the column table and its naming rule, and the hand-off of
 * good and malformed records to the caller. The bytes-to-records work is
 * in csv.c and jsonl.c.
 */
#include "lib/tabular/tabular_internal.h"

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- columns ---- */

static bool lh_tab_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

static char *lh_tab_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p)
        abort();
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* `base` itself if free, else base_2, base_3, ... (ignoring case). */
static char *lh_tab_unique_name(lh_tab_reader *r, const char *base, size_t len)
{
    if (lh_strmap_get(&r->folded, base, len) == LH_STRMAP_ABSENT)
        return lh_tab_strndup(base, len);
    lh_buf b;
    lh_buf_init(&b);
    for (unsigned k = 2;; k++) {
        lh_buf_reset(&b);
        lh_buf_append(&b, base, len);
        lh_buf_appendf(&b, "_%u", k);
        if (lh_strmap_get(&r->folded, b.data, b.len) == LH_STRMAP_ABSENT)
            break;
    }
    char *name = lh_tab_strndup(b.data, b.len);
    lh_buf_free(&b);
    return name;
}

size_t lh_tab_add_column(lh_tab_reader *r, const char *name, size_t len)
{
    char blank[32];
    if (lh_tab_blank(name, len)) {
        len = (size_t)snprintf(blank, sizeof blank, "c%zu", r->n_names + 1);
        name = blank;
    }
    if (r->n_names == r->cap_names) {
        r->cap_names = r->cap_names ? r->cap_names * 2 : 16;
        r->names = realloc(r->names, r->cap_names * sizeof *r->names);
        if (!r->names)
            abort();
    }
    char *unique = lh_tab_unique_name(r, name, len);
    lh_strmap_put(&r->folded, unique, strlen(unique), r->n_names);
    r->names[r->n_names] = unique;
    return r->n_names++;
}

size_t lh_tab_reader_n_columns(const lh_tab_reader *r) { return r->n_names; }

const char *lh_tab_reader_column(const lh_tab_reader *r, size_t i)
{
    assert(i < r->n_names);
    return r->names[i];
}

/* ---- records ---- */

lh_err *lh_tab_emit(lh_tab_reader *r, int64_t line, const char *data, const lh_tab_fpos *pos,
                    size_t n)
{
    if (n > r->cap_fields) {
        r->cap_fields = n * 2;
        r->fields = realloc(r->fields, r->cap_fields * sizeof *r->fields);
        if (!r->fields)
            abort();
    }
    for (size_t i = 0; i < n; i++) {
        lh_tab_field *f = &r->fields[i];
        f->kind = pos[i].kind;
        f->s = pos[i].kind == LH_TAB_NULL ? "" : data + pos[i].off;
        f->len = pos[i].kind == LH_TAB_NULL ? 0 : pos[i].len;
    }
    r->records++;
    lh_tab_record rec = {.line = line, .index = r->records, .n = n, .fields = r->fields};
    return r->h.record ? r->h.record(r->h.user, &rec) : NULL;
}

lh_err *lh_tab_bad(lh_tab_reader *r, int64_t line, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!r->h.bad_record)
        return lh_err_new(LH_EUNPROCESSABLE, NULL, "line %lld: %s", (long long)line, msg);
    lh_err *err = r->h.bad_record(r->h.user, line, msg);
    if (!err)
        r->bad++;
    return err;
}

lh_err *lh_tab_too_long(const lh_tab_reader *r, int64_t line)
{
    return lh_err_new(LH_ETOOLARGE, NULL,
                      "line %lld: a record is longer than %zu bytes%s", (long long)line,
                      r->o.max_record,
                      r->o.format == LH_TAB_CSV ? " (is a quote left unclosed?)" : "");
}

/* ---- the reader ---- */

static lh_err *lh_tab_check_options(lh_tab_options *o)
{
    if (o->format != LH_TAB_CSV && o->format != LH_TAB_JSONL)
        return lh_err_new(LH_EBADREQ, "format", "unknown format");
    if (!o->delimiter)
        o->delimiter = ',';
    if (!o->quote)
        o->quote = '"';
    if (!o->max_record)
        o->max_record = LH_TAB_DEFAULT_MAX_RECORD;
    if (!o->max_fields)
        o->max_fields = LH_TAB_DEFAULT_MAX_FIELDS;
    if (o->delimiter == '\r' || o->delimiter == '\n')
        return lh_err_new(LH_EBADREQ, "csv.delimiter", "the delimiter cannot be a line break");
    if (o->quote == '\r' || o->quote == '\n')
        return lh_err_new(LH_EBADREQ, "csv.quote", "the quote cannot be a line break");
    if (o->quote == o->delimiter)
        return lh_err_new(LH_EBADREQ, "csv.quote", "the quote and the delimiter must differ");
    return NULL;
}

lh_err *lh_tab_reader_create(const lh_tab_options *opts, const lh_tab_handler *h,
                             lh_tab_reader **out)
{
    lh_tab_options o = *opts;
    lh_err *err = lh_tab_check_options(&o);
    if (err)
        return err;
    lh_tab_reader *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->o = o;
    r->h = *h;
    r->folded.fold_case = true;
    if (o.format == LH_TAB_CSV)
        r->csv = lh_csv_create(&r->o);
    else
        r->jsonl = lh_jsonl_create();
    *out = r;
    return NULL;
}

void lh_tab_reader_destroy(lh_tab_reader *r)
{
    if (!r)
        return;
    lh_csv_destroy(r->csv);
    lh_jsonl_destroy(r->jsonl);
    for (size_t i = 0; i < r->n_names; i++)
        free(r->names[i]);
    free(r->names);
    lh_strmap_free(&r->folded);
    free(r->fields);
    free(r);
}

static lh_err *lh_tab_parse(lh_tab_reader *r, const char *data, size_t len)
{
    if (!len)
        return NULL;
    return r->csv ? lh_csv_feed(r, data, len) : lh_jsonl_feed(r, data, len);
}

/* Eats a UTF-8 BOM at the very start, however the chunks split it; bytes
 * that only looked like its beginning are parsed after all. */
static lh_err *lh_tab_skip_bom(lh_tab_reader *r, const char *data, size_t len, size_t *used)
{
    static const char bom[3] = {'\xEF', '\xBB', '\xBF'};
    *used = 0;
    while (!r->bom_done && *used < len) {
        if (data[*used] != bom[r->bom_seen]) {
            r->bom_done = true;
            return lh_tab_parse(r, bom, (size_t)r->bom_seen);
        }
        (*used)++;
        r->bom_done = ++r->bom_seen == 3;
    }
    return NULL;
}

static lh_err *lh_tab_stopped(void)
{
    return lh_err_new(LH_EINTERNAL, NULL, "the reader has stopped after an error");
}

lh_err *lh_tab_reader_feed(lh_tab_reader *r, const char *data, size_t len)
{
    if (r->stopped)
        return lh_tab_stopped();
    r->bytes += (int64_t)len;
    size_t used = 0;
    lh_err *err = lh_tab_skip_bom(r, data, len, &used);
    if (!err)
        err = lh_tab_parse(r, data + used, len - used);
    r->stopped = err != NULL;
    return err;
}

lh_err *lh_tab_reader_finish(lh_tab_reader *r)
{
    if (r->stopped)
        return lh_tab_stopped();
    lh_err *err = NULL;
    if (!r->bom_done) {
        r->bom_done = true;
        err = lh_tab_parse(r, "\xEF\xBB\xBF", (size_t)r->bom_seen);
    }
    if (!err)
        err = r->csv ? lh_csv_finish(r) : lh_jsonl_finish(r);
    r->stopped = true; /* finished: nothing more may be fed */
    return err;
}

int64_t lh_tab_reader_records(const lh_tab_reader *r) { return r->records; }
int64_t lh_tab_reader_bad_records(const lh_tab_reader *r) { return r->bad; }
int64_t lh_tab_reader_bytes(const lh_tab_reader *r) { return r->bytes; }

/* ---- formats ---- */

bool lh_tab_format_parse(const char *name, size_t len, lh_tab_format *out)
{
    if (len == 3 && !memcmp(name, "csv", 3))
        *out = LH_TAB_CSV;
    else if (len == 5 && !memcmp(name, "jsonl", 5))
        *out = LH_TAB_JSONL;
    else
        return false;
    return true;
}

const char *lh_tab_format_name(lh_tab_format f) { return f == LH_TAB_CSV ? "csv" : "jsonl"; }

static bool lh_tab_ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && !strncasecmp(s + len - n, suffix, n);
}

bool lh_tab_format_from_key(const char *key, size_t len, lh_tab_format *out)
{
    if (lh_tab_ends_with(key, len, ".csv"))
        *out = LH_TAB_CSV;
    else if (lh_tab_ends_with(key, len, ".jsonl") || lh_tab_ends_with(key, len, ".ndjson"))
        *out = LH_TAB_JSONL;
    else
        return false;
    return true;
}
