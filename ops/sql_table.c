/*
 * sql_table.c — see sql_table.h. Two passes over the rows: the first
 * measures each column (in characters, not bytes, so UTF-8 text lines
 * up), the second prints. Cells are formatted into one scratch buffer, so
 * a 100,000-row result costs no allocation per cell.
 */
#include "ops/sql_table.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bus/buf.h"
#include "bus/json.h"
#include "bus/mpscan.h"
#include "bus/request.h"
#include "schemas/query.h"

/* The reply, decoded through query.sql's contract; its rows (a value of
 * run-time shape: an array of arrays) are read in place with the scanner. */
typedef struct lh_sql_reply {
    const lh_query_sql_reply *q;
    size_t n_rows;
    const char *rows, *end; /* just past the rows' array header */
} lh_sql_reply;

/* Checks the rows are an array of arrays and finds where they start. */
static bool lh_sql_open(const lh_query_sql_reply *q, lh_sql_reply *r)
{
    r->q = q;
    r->rows = q->rows.data;
    r->end = q->rows.data + q->rows.len;
    lh_mp_value v;
    if (!q->rows.data || !lh_mp_read(&r->rows, r->end, &v) || v.type != LH_MP_ARRAY)
        return false;
    r->n_rows = v.n;
    const char *p = r->rows;
    for (size_t i = 0; i < r->n_rows; i++) {
        lh_mp_value row;
        const char *at = p;
        if (!lh_mp_read(&p, r->end, &row) || row.type != LH_MP_ARRAY)
            return false;
        p = at;
        if (!lh_mp_skip(&p, r->end))
            return false;
    }
    return true;
}

/* ---- cells ---- */

/* Line breaks and tabs inside text would break the table: shown escaped. */
static void lh_sql_text(lh_buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\n' || c == '\r' || c == '\t')
            lh_buf_append_str(out, c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t");
        else
            lh_buf_append(out, &c, 1);
    }
}

/* The text of the cell at *p in `out` (reset first), *p moved past it;
 * true when it is a number. Blobs are shown as base64, as in JSON. */
static bool lh_sql_cell(const char **p, const char *end, lh_buf *out)
{
    lh_buf_reset(out);
    const char *at = *p;
    lh_mp_value v;
    if (!lh_mp_read(p, end, &v))
        return false; /* checked by lh_sql_open */
    switch (v.type) {
    case LH_MP_NIL: lh_buf_append_str(out, "NULL"); return false;
    case LH_MP_BOOL: lh_buf_append_str(out, v.b ? "true" : "false"); return false;
    case LH_MP_STR: lh_sql_text(out, v.s, v.n); return false;
    case LH_MP_INT: lh_buf_appendf(out, "%" PRId64, v.i); return true;
    case LH_MP_UINT: lh_buf_appendf(out, "%" PRIu64, v.u); return true;
    case LH_MP_FLOAT: lh_json_append_float(out, v.f, false); return true;
    case LH_MP_BIN: lh_json_append_base64(out, v.s, v.n); return false;
    default: /* no SQL value is a container; shown as a marker */
        *p = at;
        lh_mp_skip(p, end);
        lh_buf_append_str(out, "?");
        return false;
    }
}

/* The number of cells of the row at *p, *p moved past its header. */
static size_t lh_sql_row(const char **p, const char *end)
{
    lh_mp_value row;
    return lh_mp_read(p, end, &row) ? row.n : 0;
}

static size_t lh_sql_width(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += ((unsigned char)s[i] & 0xC0) != 0x80; /* count UTF-8 lead bytes only */
    return w;
}

static void lh_sql_pad(FILE *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fputc(' ', out);
}

/* The last column is not padded on the right: no trailing blanks. */
static void lh_sql_put(FILE *out, const lh_buf *cell, size_t width, bool right, bool last)
{
    size_t pad = width - lh_sql_width(cell->data, cell->len);
    if (right)
        lh_sql_pad(out, pad);
    fwrite(cell->data, 1, cell->len, out);
    if (!right && !last)
        lh_sql_pad(out, pad);
}

/* ---- the table ---- */

static void lh_sql_column_name(const lh_sql_reply *r, size_t c, lh_buf *out)
{
    const lh_query_column *col = (const lh_query_column *)r->q->columns.v + c;
    lh_buf_reset(out);
    if (col->name.s)
        lh_sql_text(out, col->name.s, col->name.len);
}

static void lh_sql_measure(const lh_sql_reply *r, size_t *width, lh_buf *cell)
{
    size_t nc = r->q->columns.n;
    for (size_t c = 0; c < nc; c++) {
        lh_sql_column_name(r, c, cell);
        width[c] = lh_sql_width(cell->data, cell->len);
    }
    const char *p = r->rows;
    for (size_t i = 0; i < r->n_rows; i++) {
        size_t cells = lh_sql_row(&p, r->end);
        for (size_t c = 0; c < cells; c++) {
            lh_sql_cell(&p, r->end, cell);
            size_t w = lh_sql_width(cell->data, cell->len);
            if (c < nc && w > width[c])
                width[c] = w;
        }
    }
}

static void lh_sql_header(const lh_sql_reply *r, const size_t *width, lh_buf *cell, FILE *out)
{
    size_t nc = r->q->columns.n;
    for (size_t c = 0; c < nc; c++) {
        lh_sql_column_name(r, c, cell);
        fputs(c ? " | " : " ", out);
        lh_sql_put(out, cell, width[c], false, c + 1 == nc);
    }
    fputc('\n', out);
    for (size_t c = 0; c < nc; c++) {
        fputs(c ? "-+-" : "-", out);
        for (size_t i = 0; i < width[c]; i++)
            fputc('-', out);
    }
    fputs(nc ? "-\n" : "\n", out);
}

static void lh_sql_body(const lh_sql_reply *r, const size_t *width, lh_buf *cell, FILE *out)
{
    size_t nc = r->q->columns.n;
    const char *p = r->rows;
    for (size_t i = 0; i < r->n_rows; i++) {
        size_t cells = lh_sql_row(&p, r->end);
        for (size_t c = 0; c < nc || c < cells; c++) {
            bool right = c < cells ? lh_sql_cell(&p, r->end, cell) : (lh_buf_reset(cell), false);
            if (c >= nc)
                continue; /* more cells than columns: not shown */
            fputs(c ? " | " : " ", out);
            lh_sql_put(out, cell, width[c], right, c + 1 == nc);
        }
        fputc('\n', out);
    }
}

bool lh_sql_table_print(const char *reply, size_t len, FILE *out)
{
    lh_arena *arena = lh_arena_create();
    lh_query_sql_reply *q = NULL;
    lh_err *err = lh_reply_decode(&lh_ep_query_sql, reply, len, arena, (void **)&q);
    lh_sql_reply r = {0};
    bool ok = !err && lh_sql_open(q, &r);
    if (ok) {
        size_t *width = calloc(q->columns.n + 1, sizeof *width);
        lh_buf cell;
        lh_buf_init(&cell);
        lh_sql_measure(&r, width, &cell);
        lh_sql_header(&r, width, &cell, out);
        lh_sql_body(&r, width, &cell, out);
        size_t n = r.n_rows;
        fprintf(out, "(%zu row%s%s, %.1f ms)\n", n, n == 1 ? "" : "s",
                q->truncated ? "; truncated: more rows matched (see --max-rows)" : "",
                q->elapsed_ms);
        lh_buf_free(&cell);
        free(width);
    }
    lh_err_free(err);
    lh_arena_destroy(arena);
    return ok;
}
