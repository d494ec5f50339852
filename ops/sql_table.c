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

#include <msgpack.h>

#include "bus/buf.h"
#include "bus/json.h"

typedef struct lh_sql_reply {
    const msgpack_object *columns; /* array of {name, type} */
    const msgpack_object *rows;    /* array of arrays */
    bool truncated;
    double elapsed_ms;
} lh_sql_reply;

static const msgpack_object *lh_sql_get(const msgpack_object *map, const char *key)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t n = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && !memcmp(k->via.str.ptr, key, n))
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

static bool lh_sql_read(const msgpack_object *root, lh_sql_reply *r)
{
    r->columns = lh_sql_get(root, "columns");
    r->rows = lh_sql_get(root, "rows");
    const msgpack_object *t = lh_sql_get(root, "truncated");
    const msgpack_object *e = lh_sql_get(root, "elapsed_ms");
    r->truncated = t && t->type == MSGPACK_OBJECT_BOOLEAN && t->via.boolean;
    r->elapsed_ms = e && (e->type == MSGPACK_OBJECT_FLOAT64 || e->type == MSGPACK_OBJECT_FLOAT32)
                        ? e->via.f64
                        : 0;
    if (!r->columns || r->columns->type != MSGPACK_OBJECT_ARRAY || !r->rows ||
        r->rows->type != MSGPACK_OBJECT_ARRAY)
        return false;
    for (uint32_t i = 0; i < r->rows->via.array.size; i++)
        if (r->rows->via.array.ptr[i].type != MSGPACK_OBJECT_ARRAY)
            return false;
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

/* The cell's text in `out` (reset first); true when it is a number. */
static bool lh_sql_cell(const msgpack_object *v, lh_buf *out)
{
    lh_buf_reset(out);
    switch (v->type) {
    case MSGPACK_OBJECT_NIL: lh_buf_append_str(out, "NULL"); return false;
    case MSGPACK_OBJECT_BOOLEAN: lh_buf_append_str(out, v->via.boolean ? "true" : "false"); return false;
    case MSGPACK_OBJECT_STR: lh_sql_text(out, v->via.str.ptr, v->via.str.size); return false;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: lh_msgpack_obj_to_json(v, out); return true;
    default: lh_msgpack_obj_to_json(v, out); return false;
    }
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

static void lh_sql_column_name(const lh_sql_reply *r, uint32_t c, lh_buf *out)
{
    const msgpack_object *name = lh_sql_get(&r->columns->via.array.ptr[c], "name");
    lh_buf_reset(out);
    if (name && name->type == MSGPACK_OBJECT_STR)
        lh_sql_text(out, name->via.str.ptr, name->via.str.size);
}

static void lh_sql_measure(const lh_sql_reply *r, size_t *width, lh_buf *cell)
{
    uint32_t nc = r->columns->via.array.size;
    for (uint32_t c = 0; c < nc; c++) {
        lh_sql_column_name(r, c, cell);
        width[c] = lh_sql_width(cell->data, cell->len);
    }
    for (uint32_t i = 0; i < r->rows->via.array.size; i++) {
        const msgpack_object_array *row = &r->rows->via.array.ptr[i].via.array;
        for (uint32_t c = 0; c < nc && c < row->size; c++) {
            lh_sql_cell(&row->ptr[c], cell);
            size_t w = lh_sql_width(cell->data, cell->len);
            if (w > width[c])
                width[c] = w;
        }
    }
}

static void lh_sql_header(const lh_sql_reply *r, const size_t *width, lh_buf *cell, FILE *out)
{
    uint32_t nc = r->columns->via.array.size;
    for (uint32_t c = 0; c < nc; c++) {
        lh_sql_column_name(r, c, cell);
        fputs(c ? " | " : " ", out);
        lh_sql_put(out, cell, width[c], false, c + 1 == nc);
    }
    fputc('\n', out);
    for (uint32_t c = 0; c < nc; c++) {
        fputs(c ? "-+-" : "-", out);
        for (size_t i = 0; i < width[c]; i++)
            fputc('-', out);
    }
    fputs(nc ? "-\n" : "\n", out);
}

static void lh_sql_body(const lh_sql_reply *r, const size_t *width, lh_buf *cell, FILE *out)
{
    uint32_t nc = r->columns->via.array.size;
    for (uint32_t i = 0; i < r->rows->via.array.size; i++) {
        const msgpack_object_array *row = &r->rows->via.array.ptr[i].via.array;
        for (uint32_t c = 0; c < nc; c++) {
            bool right = c < row->size ? lh_sql_cell(&row->ptr[c], cell) : (lh_buf_reset(cell), false);
            fputs(c ? " | " : " ", out);
            lh_sql_put(out, cell, width[c], right, c + 1 == nc);
        }
        fputc('\n', out);
    }
}

bool lh_sql_table_print(const char *reply, size_t len, FILE *out)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    lh_sql_reply r = {0};
    bool ok = msgpack_unpack_next(&u, reply, len, NULL) == MSGPACK_UNPACK_SUCCESS &&
              lh_sql_read(&u.data, &r);
    if (ok) {
        size_t *width = calloc(r.columns->via.array.size + 1, sizeof *width);
        lh_buf cell;
        lh_buf_init(&cell);
        lh_sql_measure(&r, width, &cell);
        lh_sql_header(&r, width, &cell, out);
        lh_sql_body(&r, width, &cell, out);
        uint32_t n = r.rows->via.array.size;
        fprintf(out, "(%" PRIu32 " row%s%s, %.1f ms)\n", n, n == 1 ? "" : "s",
                r.truncated ? "; truncated: more rows matched (see --max-rows)" : "",
                r.elapsed_ms);
        lh_buf_free(&cell);
        free(width);
    }
    msgpack_unpacked_destroy(&u);
    return ok;
}
