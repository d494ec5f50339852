/*
 * infer.c — value classification and column type inference (infer.h).
 * Classification is the hot loop of an ingest, so a column already known
 * to be text skips it, and the number grammar is checked by hand before
 * strtod/strtoll are trusted with the conversion.
 */
#include "lib/tabular/infer.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *lh_tab_type_name(lh_tab_type t)
{
    switch (t) {
    case LH_TAB_TYPE_INTEGER: return "integer";
    case LH_TAB_TYPE_REAL: return "real";
    case LH_TAB_TYPE_BOOLEAN: return "boolean";
    default: return "text";
    }
}

bool lh_tab_type_parse(const char *name, size_t len, lh_tab_type *out)
{
    for (lh_tab_type t = LH_TAB_TYPE_INTEGER; t <= LH_TAB_TYPE_TEXT; t++) {
        const char *n = lh_tab_type_name(t);
        if (strlen(n) == len && !memcmp(n, name, len)) {
            *out = t;
            return true;
        }
    }
    return false;
}

/* ---- one value ---- */

static size_t lh_digits(const char *s, size_t n, size_t i)
{
    size_t j = i;
    while (j < n && s[j] >= '0' && s[j] <= '9')
        j++;
    return j - i;
}

/* -?(0|[1-9][0-9]*) fitting int64. */
static bool lh_parse_integer(const char *s, size_t n, int64_t *out)
{
    size_t i = n && s[0] == '-';
    size_t d = lh_digits(s, n, i);
    if (d == 0 || i + d != n || (d > 1 && s[i] == '0') || d > 19)
        return false;
    errno = 0;
    long long v = strtoll(s, NULL, 10); /* s is NUL-terminated after n */
    if (errno == ERANGE)
        return false;
    *out = v;
    return true;
}

/* -?(0|[1-9][0-9]*)?(\.[0-9]*)?([eE][+-]?[0-9]+)? with a digit in the
 * mantissa and a fraction or exponent, finite. */
static bool lh_parse_real(const char *s, size_t n, double *out)
{
    size_t i = n && s[0] == '-';
    size_t whole = lh_digits(s, n, i);
    if (whole > 1 && s[i] == '0')
        return false;
    i += whole;
    size_t frac = 0;
    bool dot = i < n && s[i] == '.';
    if (dot) {
        frac = lh_digits(s, n, i + 1);
        i += 1 + frac;
    }
    if (whole + frac == 0)
        return false;
    bool exp = i < n && (s[i] == 'e' || s[i] == 'E');
    if (exp) {
        i += 1 + (i + 1 < n && (s[i + 1] == '+' || s[i + 1] == '-'));
        size_t e = lh_digits(s, n, i);
        if (e == 0)
            return false;
        i += e;
    }
    if (i != n || (!dot && !exp))
        return false;
    double v = strtod(s, NULL);
    if (!isfinite(v))
        return false;
    *out = v;
    return true;
}

static bool lh_parse_boolean(const char *s, size_t n, bool *out)
{
    if (n == 4 && !strncasecmp(s, "true", 4))
        *out = true;
    else if (n == 5 && !strncasecmp(s, "false", 5))
        *out = false;
    else
        return false;
    return true;
}

static void lh_classify_text(const lh_tab_field *f, lh_tab_value *v)
{
    v->type = LH_TAB_TYPE_TEXT;
    if (f->len == 0 || f->len > 400)
        return; /* no number or boolean is that long */
    char c = f->s[0];
    if ((c >= '0' && c <= '9') || c == '-' || c == '.') {
        if (lh_parse_integer(f->s, f->len, &v->i)) {
            v->type = LH_TAB_TYPE_INTEGER;
            v->r = (double)v->i;
        } else if (lh_parse_real(f->s, f->len, &v->r)) {
            v->type = LH_TAB_TYPE_REAL;
        }
    } else if (lh_parse_boolean(f->s, f->len, &v->b)) {
        v->type = LH_TAB_TYPE_BOOLEAN;
    }
}

void lh_tab_classify(const lh_tab_field *f, lh_tab_value *v)
{
    memset(v, 0, sizeof *v);
    v->s = f->s;
    v->len = f->len;
    switch (f->kind) {
    case LH_TAB_NULL: v->null = true; return;
    case LH_TAB_TEXT: lh_classify_text(f, v); return;
    case LH_TAB_INTEGER:
        /* jansson wrote it, so it parses */
        v->type = lh_parse_integer(f->s, f->len, &v->i) ? LH_TAB_TYPE_INTEGER : LH_TAB_TYPE_TEXT;
        v->r = (double)v->i;
        return;
    case LH_TAB_REAL:
        v->type = LH_TAB_TYPE_REAL;
        v->r = strtod(f->s, NULL);
        return;
    case LH_TAB_BOOLEAN:
        v->type = LH_TAB_TYPE_BOOLEAN;
        v->b = f->s[0] == 't';
        return;
    default: v->type = LH_TAB_TYPE_TEXT; return; /* STRING, NESTED */
    }
}

bool lh_tab_convert(const lh_tab_field *f, lh_tab_type t, lh_tab_value *out)
{
    lh_tab_classify(f, out);
    if (out->null)
        return true;
    if (t == LH_TAB_TYPE_TEXT) {
        out->type = LH_TAB_TYPE_TEXT;
        return true;
    }
    if (f->kind == LH_TAB_TEXT && f->len == 0) { /* "" where text is not expected */
        out->null = true;
        return true;
    }
    if (out->type == LH_TAB_TYPE_INTEGER && t == LH_TAB_TYPE_REAL)
        out->type = LH_TAB_TYPE_REAL;
    return out->type == t;
}

/* ---- columns ---- */

enum {
    LH_SEEN_INTEGER = 1 << 0,
    LH_SEEN_REAL = 1 << 1,
    LH_SEEN_BOOLEAN = 1 << 2,
    LH_SEEN_TEXT = 1 << 3,
};

typedef struct lh_tab_column_stats {
    unsigned seen;
    int64_t nulls;   /* null values */
    int64_t empties; /* empty quoted CSV fields */
    int64_t present; /* records that had this column */
} lh_tab_column_stats;

struct lh_tab_infer {
    lh_tab_column_stats *cols;
    size_t n, cap;
    int64_t records;
};

lh_tab_infer *lh_tab_infer_create(void)
{
    lh_tab_infer *inf = calloc(1, sizeof *inf);
    if (!inf)
        abort();
    return inf;
}

void lh_tab_infer_destroy(lh_tab_infer *inf)
{
    if (!inf)
        return;
    free(inf->cols);
    free(inf);
}

static void lh_tab_infer_grow(lh_tab_infer *inf, size_t n)
{
    if (n > inf->cap) {
        size_t cap = inf->cap ? inf->cap : 16;
        while (cap < n)
            cap *= 2;
        inf->cols = realloc(inf->cols, cap * sizeof *inf->cols);
        if (!inf->cols)
            abort();
        memset(inf->cols + inf->cap, 0, (cap - inf->cap) * sizeof *inf->cols);
        inf->cap = cap;
    }
    if (n > inf->n)
        inf->n = n;
}

static void lh_tab_infer_value(lh_tab_column_stats *c, const lh_tab_field *f)
{
    c->present++;
    if (f->kind == LH_TAB_NULL) {
        c->nulls++;
        return;
    }
    if (f->kind == LH_TAB_TEXT && f->len == 0) {
        c->empties++;
        return;
    }
    if (c->seen & LH_SEEN_TEXT)
        return; /* nothing can change a text column: skip the parsing */
    lh_tab_value v;
    lh_tab_classify(f, &v);
    c->seen |= 1u << v.type; /* LH_SEEN_* follow lh_tab_type's order */
}

void lh_tab_infer_record(lh_tab_infer *inf, const lh_tab_record *rec)
{
    lh_tab_infer_grow(inf, rec->n);
    inf->records++;
    for (size_t i = 0; i < rec->n; i++)
        lh_tab_infer_value(&inf->cols[i], &rec->fields[i]);
}

static lh_tab_type lh_tab_widen(unsigned seen)
{
    if (seen & LH_SEEN_TEXT || !seen)
        return LH_TAB_TYPE_TEXT;
    if (seen == LH_SEEN_BOOLEAN)
        return LH_TAB_TYPE_BOOLEAN;
    if (seen & LH_SEEN_BOOLEAN)
        return LH_TAB_TYPE_TEXT; /* booleans with numbers */
    return seen & LH_SEEN_REAL ? LH_TAB_TYPE_REAL : LH_TAB_TYPE_INTEGER;
}

void lh_tab_infer_column(const lh_tab_infer *inf, size_t i, lh_tab_type *type, bool *nullable)
{
    _Static_assert(LH_SEEN_REAL == 1u << LH_TAB_TYPE_REAL, "flags follow the type order");
    _Static_assert(LH_SEEN_TEXT == 1u << LH_TAB_TYPE_TEXT, "flags follow the type order");
    if (i >= inf->n) {
        *type = LH_TAB_TYPE_TEXT;
        *nullable = true;
        return;
    }
    const lh_tab_column_stats *c = &inf->cols[i];
    *type = lh_tab_widen(c->seen);
    int64_t nulls = c->nulls + (inf->records - c->present);
    if (*type != LH_TAB_TYPE_TEXT)
        nulls += c->empties;
    *nullable = nulls > 0 || inf->records == 0;
}
