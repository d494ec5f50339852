/*
 * csv.c — the CSV parser of the reader (rules in tabular.h): a byte state
 * machine that survives any chunk boundary, copying runs of ordinary bytes
 * at once, and the header / field-count checks done per record.
 */
#include "lib/tabular/tabular_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    LH_CSV_FIELD_START, /* before a field's first byte */
    LH_CSV_UNQUOTED,    /* inside an unquoted field */
    LH_CSV_QUOTED,      /* inside quotes */
    LH_CSV_QUOTE_SEEN,  /* a quote inside quotes: doubled, or the closing one */
} lh_csv_state;

struct lh_csv {
    lh_csv_state st;
    bool after_cr;  /* the last byte was a CR: an LF right after it is the same break */
    bool in_record; /* a byte of the current record has been seen */
    bool quoted;    /* the current field began with a quote */
    bool bad;       /* the current record is malformed (why says how) */
    char why[160];
    size_t extra;   /* fields beyond max_fields, not kept */
    int64_t line;   /* the line being read, from 1 */
    int64_t rec_line;
    lh_buf data;    /* the record's field texts, each followed by a NUL */
    size_t field_off;
    lh_tab_fpos *pos;
    size_t n_pos, cap_pos;
    /* Bytes that end a run of ordinary bytes, per state. */
    bool stop_unquoted[256];
    bool stop_quoted[256];
};

lh_csv *lh_csv_create(const lh_tab_options *o)
{
    lh_csv *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->line = 1;
    lh_buf_init(&c->data);
    c->stop_unquoted[(unsigned char)o->delimiter] = true;
    c->stop_unquoted['\r'] = c->stop_unquoted['\n'] = true;
    c->stop_quoted[(unsigned char)o->quote] = true;
    c->stop_quoted['\r'] = c->stop_quoted['\n'] = true;
    return c;
}

void lh_csv_destroy(lh_csv *c)
{
    if (!c)
        return;
    lh_buf_free(&c->data);
    free(c->pos);
    free(c);
}

static lh_err *lh_csv_append(lh_tab_reader *r, const char *s, size_t n)
{
    lh_csv *c = r->csv;
    lh_buf_append(&c->data, s, n);
    return c->data.len > r->o.max_record ? lh_tab_too_long(r, c->rec_line) : NULL;
}

static void lh_csv_begin_record(lh_csv *c)
{
    if (!c->in_record) {
        c->in_record = true;
        c->rec_line = c->line;
    }
}

static void lh_csv_mark_bad(lh_csv *c, const char *why)
{
    if (c->bad)
        return; /* the first problem is the one worth reporting */
    c->bad = true;
    snprintf(c->why, sizeof c->why, "%s", why);
}

static void lh_csv_end_field(lh_tab_reader *r)
{
    lh_csv *c = r->csv;
    size_t len = c->data.len - c->field_off;
    if (c->n_pos == r->o.max_fields) {
        c->extra++; /* only counted: its text is dropped, so memory stays bounded */
        c->data.len = c->field_off;
    } else {
        lh_buf_append(&c->data, "", 1); /* the NUL after each text */
        if (c->n_pos == c->cap_pos) {
            c->cap_pos = c->cap_pos ? c->cap_pos * 2 : 16;
            c->pos = realloc(c->pos, c->cap_pos * sizeof *c->pos);
            if (!c->pos)
                abort();
        }
        lh_tab_kind kind = !c->quoted && len == 0 ? LH_TAB_NULL : LH_TAB_TEXT;
        c->pos[c->n_pos++] = (lh_tab_fpos){c->field_off, len, kind};
    }
    c->field_off = c->data.len;
    c->quoted = false;
}

/* The first record: it names the columns (header), or only counts them. */
static lh_err *lh_csv_columns(lh_tab_reader *r)
{
    lh_csv *c = r->csv;
    if (c->bad)
        return lh_err_new(LH_EUNPROCESSABLE, NULL, "line %lld: %s%s", (long long)c->rec_line,
                          r->o.no_header ? "" : "header: ", c->why);
    if (c->extra)
        return lh_err_new(LH_EUNPROCESSABLE, NULL, "line %lld: more than %zu fields",
                          (long long)c->rec_line, r->o.max_fields);
    for (size_t i = 0; i < c->n_pos; i++) {
        if (r->o.no_header)
            lh_tab_add_column(r, "", 0);
        else
            lh_tab_add_column(r, c->data.data + c->pos[i].off, c->pos[i].len);
    }
    r->have_columns = true;
    return NULL;
}

static lh_err *lh_csv_deliver(lh_tab_reader *r)
{
    lh_csv *c = r->csv;
    if (!r->have_columns) {
        lh_err *err = lh_csv_columns(r);
        if (err || !r->o.no_header)
            return err;
    }
    if (c->bad)
        return lh_tab_bad(r, c->rec_line, "%s", c->why);
    size_t found = c->n_pos + c->extra;
    if (found != r->n_names)
        return lh_tab_bad(r, c->rec_line, "expected %zu field%s, found %zu", r->n_names,
                          r->n_names == 1 ? "" : "s", found);
    return lh_tab_emit(r, c->rec_line, c->data.data, c->pos, c->n_pos);
}

static lh_err *lh_csv_end_record(lh_tab_reader *r)
{
    lh_csv *c = r->csv;
    lh_csv_end_field(r);
    lh_err *err = lh_csv_deliver(r);
    lh_buf_reset(&c->data);
    c->field_off = 0;
    c->n_pos = c->extra = 0;
    c->bad = c->in_record = false;
    c->st = LH_CSV_FIELD_START;
    return err;
}

/* A CR or LF outside quotes: ends the record, or a blank line. */
static lh_err *lh_csv_line_break(lh_tab_reader *r, char ch)
{
    lh_csv *c = r->csv;
    bool blank = !c->in_record;
    c->line++;
    c->after_cr = ch == '\r';
    return blank ? NULL : lh_csv_end_record(r);
}

/* Consumes ordinary bytes from data[*i..) while they are not stops. */
static lh_err *lh_csv_run(lh_tab_reader *r, const bool *stop, const char *data, size_t len,
                          size_t *i)
{
    size_t j = *i;
    while (j < len && !stop[(unsigned char)data[j]])
        j++;
    lh_err *err = j > *i ? lh_csv_append(r, data + *i, j - *i) : NULL;
    *i = j;
    return err;
}

static lh_err *lh_csv_field_start(lh_tab_reader *r, char ch, size_t *i)
{
    lh_csv *c = r->csv;
    if (ch == '\r' || ch == '\n') {
        (*i)++;
        return lh_csv_line_break(r, ch);
    }
    lh_csv_begin_record(c);
    if (ch == r->o.quote) {
        c->quoted = true;
        c->st = LH_CSV_QUOTED;
        (*i)++;
    } else if (ch == r->o.delimiter) {
        lh_csv_end_field(r);
        (*i)++;
    } else {
        c->st = LH_CSV_UNQUOTED; /* the byte is read there */
    }
    return NULL;
}

static lh_err *lh_csv_unquoted(lh_tab_reader *r, const char *data, size_t len, size_t *i)
{
    lh_csv *c = r->csv;
    lh_err *err = lh_csv_run(r, c->stop_unquoted, data, len, i);
    if (err || *i == len)
        return err;
    char ch = data[(*i)++];
    if (ch == r->o.delimiter) {
        lh_csv_end_field(r);
        c->st = LH_CSV_FIELD_START;
        return NULL;
    }
    return lh_csv_line_break(r, ch);
}

static lh_err *lh_csv_quoted(lh_tab_reader *r, const char *data, size_t len, size_t *i)
{
    lh_csv *c = r->csv;
    lh_err *err = lh_csv_run(r, c->stop_quoted, data, len, i);
    if (err || *i == len)
        return err;
    char ch = data[(*i)++];
    if (ch == r->o.quote) {
        c->st = LH_CSV_QUOTE_SEEN;
        return NULL;
    }
    c->line++; /* a line break inside quotes is data, but still a line */
    c->after_cr = ch == '\r';
    return lh_csv_append(r, &ch, 1);
}

static lh_err *lh_csv_quote_seen(lh_tab_reader *r, char ch, size_t *i)
{
    lh_csv *c = r->csv;
    if (ch == r->o.quote) {
        (*i)++;
        c->st = LH_CSV_QUOTED;
        return lh_csv_append(r, &ch, 1);
    }
    if (ch == r->o.delimiter || ch == '\r' || ch == '\n') {
        c->st = LH_CSV_UNQUOTED; /* ends the field like an unquoted one */
        return NULL;
    }
    lh_csv_mark_bad(c, "unexpected character after a closing quote");
    c->st = LH_CSV_UNQUOTED;
    return NULL;
}

lh_err *lh_csv_feed(lh_tab_reader *r, const char *data, size_t len)
{
    lh_csv *c = r->csv;
    lh_err *err = NULL;
    for (size_t i = 0; i < len && !err;) {
        char ch = data[i];
        if (c->after_cr) {
            c->after_cr = false;
            if (ch == '\n') { /* CRLF: one break, already counted */
                i++;
                err = c->st == LH_CSV_QUOTED ? lh_csv_append(r, &ch, 1) : NULL;
                continue;
            }
        }
        switch (c->st) {
        case LH_CSV_FIELD_START: err = lh_csv_field_start(r, ch, &i); break;
        case LH_CSV_UNQUOTED: err = lh_csv_unquoted(r, data, len, &i); break;
        case LH_CSV_QUOTED: err = lh_csv_quoted(r, data, len, &i); break;
        case LH_CSV_QUOTE_SEEN: err = lh_csv_quote_seen(r, ch, &i); break;
        }
    }
    return err;
}

lh_err *lh_csv_finish(lh_tab_reader *r)
{
    lh_csv *c = r->csv;
    if (c->st == LH_CSV_QUOTED)
        lh_csv_mark_bad(c, "a quoted field is not closed before the end of the file");
    if (!c->in_record)
        return NULL;
    return lh_csv_end_record(r);
}
