/*
 * result.c — result chunks straight into msgpack (bus/value.h), within
 * the caps.
 *
 * DuckDB hands a result over in chunks of column vectors; rows are packed
 * as they are read, so memory follows what is sent, not the result's
 * size. Two caps end a result early with `truncated`: max_rows, and a
 * byte bound that keeps the reply within one bus message. The bound
 * counts, for each value, the larger of its msgpack size and its JSON
 * size (the gateway and JSON callers get JSON, where a null is 4 bytes
 * and a control character 6), so the reply fits in either encoding.
 *
 * The column types sent as they are: booleans, integers of every width
 * (one beyond int64 goes as a real), reals and decimals (as reals), text,
 * blobs and NULL. Dates, times, lists, structs and the rest reach here
 * already cast to text (run.c).
 */
#include "actors/query/query_internal.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "bus/value.h"

#define LH_QROW_OVERHEAD 5 /* an array header, or "[" "]" and a comma */

typedef struct lh_qcol {
    duckdb_type type;
    duckdb_type internal; /* a decimal's storage type */
    double scale;         /* a decimal's 10^scale */
} lh_qcol;

typedef struct lh_qcollect {
    size_t ncol;
    lh_qcol *cols;
    lh_buf rows;
    lh_vw w;
    size_t cost;
} lh_qcollect;

bool lh_qresult_native(duckdb_type t)
{
    switch (t) {
    case DUCKDB_TYPE_BOOLEAN: case DUCKDB_TYPE_TINYINT: case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER: case DUCKDB_TYPE_BIGINT: case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT: case DUCKDB_TYPE_UINTEGER: case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT: case DUCKDB_TYPE_FLOAT: case DUCKDB_TYPE_DOUBLE:
    case DUCKDB_TYPE_DECIMAL: case DUCKDB_TYPE_VARCHAR: case DUCKDB_TYPE_BLOB:
    case DUCKDB_TYPE_SQLNULL: return true;
    default: return false;
    }
}

const char *lh_qresult_type_name(duckdb_type t)
{
    switch (t) {
    case DUCKDB_TYPE_BOOLEAN: return "boolean";
    case DUCKDB_TYPE_FLOAT: case DUCKDB_TYPE_DOUBLE: case DUCKDB_TYPE_DECIMAL: return "real";
    case DUCKDB_TYPE_BLOB: return "blob";
    case DUCKDB_TYPE_SQLNULL: return "null";
    case DUCKDB_TYPE_VARCHAR: return "text";
    default: return lh_qresult_native(t) ? "integer" : "text";
    }
}

/* ---- one value ---- */

static size_t lh_text_cost(const unsigned char *s, size_t n)
{
    size_t escapes = 0;
    for (size_t i = 0; i < n; i++)
        escapes += s[i] < 0x20 || s[i] == '"' || s[i] == '\\';
    return n + 5 + 5 * escapes; /* msgpack's header at most 5; an escape at most 6 bytes */
}

static size_t lh_pack_int(lh_qcollect *c, int64_t v)
{
    lh_vw_int(&c->w, v);
    return 21;
}

static size_t lh_pack_real(lh_qcollect *c, double v)
{
    if (isfinite(v))
        lh_vw_double(&c->w, v);
    else
        lh_vw_nil(&c->w); /* JSON has no inf or nan */
    return 25;
}

static double lh_hugeint_double(duckdb_hugeint h)
{
    return (double)h.upper * 18446744073709551616.0 + (double)h.lower;
}

static size_t lh_pack_hugeint(lh_qcollect *c, duckdb_hugeint h)
{
    bool fits = (h.upper == 0 && h.lower <= INT64_MAX) || (h.upper == -1 && h.lower > INT64_MAX);
    return fits ? lh_pack_int(c, (int64_t)h.lower) : lh_pack_real(c, lh_hugeint_double(h));
}

static double lh_decimal(const lh_qcol *col, const void *data, idx_t row)
{
    switch (col->internal) {
    case DUCKDB_TYPE_SMALLINT: return ((const int16_t *)data)[row] / col->scale;
    case DUCKDB_TYPE_INTEGER: return ((const int32_t *)data)[row] / col->scale;
    case DUCKDB_TYPE_BIGINT: return (double)((const int64_t *)data)[row] / col->scale;
    default: return lh_hugeint_double(((const duckdb_hugeint *)data)[row]) / col->scale;
    }
}

static size_t lh_pack_string(lh_qcollect *c, duckdb_string_t *s, bool blob)
{
    const char *p = duckdb_string_t_data(s);
    size_t n = duckdb_string_t_length(*s);
    if (blob) {
        lh_vw_bin(&c->w, p, n);
        return 4 * ((n + 2) / 3) + 5; /* base64 in JSON */
    }
    lh_vw_str(&c->w, p, n);
    return lh_text_cost((const unsigned char *)p, n);
}

/* Packs row `row` of a column's vector; returns its cost. */
static size_t lh_pack_value(lh_qcollect *c, const lh_qcol *col, void *data, idx_t row)
{
    switch (col->type) {
    case DUCKDB_TYPE_BOOLEAN: lh_vw_bool(&c->w, ((const bool *)data)[row]); return 6;
    case DUCKDB_TYPE_TINYINT: return lh_pack_int(c, ((const int8_t *)data)[row]);
    case DUCKDB_TYPE_SMALLINT: return lh_pack_int(c, ((const int16_t *)data)[row]);
    case DUCKDB_TYPE_INTEGER: return lh_pack_int(c, ((const int32_t *)data)[row]);
    case DUCKDB_TYPE_BIGINT: return lh_pack_int(c, ((const int64_t *)data)[row]);
    case DUCKDB_TYPE_UTINYINT: return lh_pack_int(c, ((const uint8_t *)data)[row]);
    case DUCKDB_TYPE_USMALLINT: return lh_pack_int(c, ((const uint16_t *)data)[row]);
    case DUCKDB_TYPE_UINTEGER: return lh_pack_int(c, ((const uint32_t *)data)[row]);
    case DUCKDB_TYPE_UBIGINT: {
        uint64_t u = ((const uint64_t *)data)[row];
        return u <= INT64_MAX ? lh_pack_int(c, (int64_t)u) : lh_pack_real(c, (double)u);
    }
    case DUCKDB_TYPE_HUGEINT: return lh_pack_hugeint(c, ((const duckdb_hugeint *)data)[row]);
    case DUCKDB_TYPE_FLOAT: return lh_pack_real(c, ((const float *)data)[row]);
    case DUCKDB_TYPE_DOUBLE: return lh_pack_real(c, ((const double *)data)[row]);
    case DUCKDB_TYPE_DECIMAL: return lh_pack_real(c, lh_decimal(col, data, row));
    case DUCKDB_TYPE_VARCHAR: return lh_pack_string(c, (duckdb_string_t *)data + row, false);
    case DUCKDB_TYPE_BLOB: return lh_pack_string(c, (duckdb_string_t *)data + row, true);
    default: lh_vw_nil(&c->w); return 5; /* SQLNULL; run.c cast any other type */
    }
}

/* ---- rows ---- */

/* Packs row `row` of the chunk unless it would pass the byte bound. */
static bool lh_pack_row(lh_qcollect *c, duckdb_data_chunk chunk, idx_t row, size_t max_bytes)
{
    size_t mark = c->rows.len, cost = LH_QROW_OVERHEAD;
    lh_vw_array(&c->w, c->ncol);
    for (size_t i = 0; i < c->ncol; i++) {
        duckdb_vector v = duckdb_data_chunk_get_vector(chunk, i);
        uint64_t *valid = duckdb_vector_get_validity(v);
        if (valid && !duckdb_validity_row_is_valid(valid, row)) {
            lh_vw_nil(&c->w);
            cost += 5;
        } else {
            cost += lh_pack_value(c, &c->cols[i], duckdb_vector_get_data(v), row);
        }
    }
    if (c->cost + cost > max_bytes) {
        c->rows.len = mark;
        return false;
    }
    c->cost += cost;
    return true;
}

static void lh_read_columns(lh_qcollect *c, duckdb_result *res, lh_arena *a)
{
    c->ncol = (size_t)duckdb_column_count(res);
    c->cols = lh_arena_alloc(a, (c->ncol ? c->ncol : 1) * sizeof *c->cols);
    for (size_t i = 0; i < c->ncol; i++) {
        lh_qcol *col = &c->cols[i];
        col->type = duckdb_column_type(res, i);
        if (col->type == DUCKDB_TYPE_DECIMAL) {
            duckdb_logical_type lt = duckdb_column_logical_type(res, i);
            col->internal = duckdb_decimal_internal_type(lt);
            col->scale = pow(10.0, duckdb_decimal_scale(lt));
            duckdb_destroy_logical_type(&lt);
        }
        const char *name = duckdb_column_name(res, i);
        c->cost += lh_text_cost((const unsigned char *)name, name ? strlen(name) : 0) + 32;
    }
}

/* The array header, then the packed rows, in memory that lives as long
 * as the reply. */
static void lh_fill_rows(lh_qcollect *c, lh_arena *a, lh_query_sql_reply *out)
{
    lh_buf head;
    lh_buf_init(&head);
    lh_vw hw;
    lh_vw_init(&hw, &head);
    lh_vw_array(&hw, (size_t)out->row_count);
    char *raw = lh_arena_alloc(a, head.len + c->rows.len);
    memcpy(raw, head.data, head.len);
    if (c->rows.len)
        memcpy(raw + head.len, c->rows.data, c->rows.len);
    out->rows = (lh_raw){raw, head.len + c->rows.len};
    lh_buf_free(&head);
}

/* Packs a chunk's rows; false once a cap is reached (and `truncated` set). */
static bool lh_pack_chunk(lh_qcollect *c, duckdb_data_chunk chunk, const lh_qlimits *lim,
                          lh_query_sql_reply *out)
{
    idx_t n = duckdb_data_chunk_get_size(chunk);
    for (idx_t r = 0; r < n; r++) {
        if (out->row_count == lim->max_rows || !lh_pack_row(c, chunk, r, lim->max_bytes)) {
            out->truncated = true; /* a row past a cap exists */
            return false;
        }
        out->row_count++;
    }
    return true;
}

lh_err *lh_qresult_collect(duckdb_result *res, const lh_qlimits *lim, lh_arena *a,
                           lh_query_sql_reply *out)
{
    assert(lim->max_rows > 0);
    lh_qcollect c = {0};
    lh_buf_init(&c.rows);
    lh_vw_init(&c.w, &c.rows);
    lh_read_columns(&c, res, a);
    bool more = true;
    while (more) {
        duckdb_data_chunk chunk = duckdb_fetch_chunk(*res);
        if (!chunk)
            break;
        more = lh_pack_chunk(&c, chunk, lim, out);
        duckdb_destroy_data_chunk(&chunk);
    }
    lh_err *err = NULL;
    const char *why = duckdb_result_error(res);
    if (more && why) /* the fetch failed: interrupted, out of memory, a bad cast... */
        err = lh_err_new(LH_EUNPROCESSABLE, "sql", "%s", why);
    else
        lh_fill_rows(&c, a, out);
    lh_buf_free(&c.rows);
    return err;
}
