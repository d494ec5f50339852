/*
 * names.c — dataset name, column and checksum rules (names.h). The
 * keyword list is SQLite's own (sqlite3_keyword_check), the rule since
 * queryd ran on SQLite; it stays now that queryd runs DuckDB, because a
 * stricter rule would strand datasets already named. DuckDB reserves 25
 * words SQLite does not (pivot, qualify, show, summarize, lateral ...):
 * a dataset so named is queried quoted, SELECT * FROM "pivot".
 */
#include "actors/catalog/names.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "schemas/catalog.h"

static bool lh_is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool lh_is_digit(char c) { return c >= '0' && c <= '9'; }
static char lh_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

void lh_cat_ascii_lower(const char *s, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = lh_lower(s[i]);
    out[n] = '\0';
}

static lh_err *lh_check_identifier(const lh_str *name, const char *field)
{
    if (!name->s || name->len == 0)
        return lh_err_new(LH_EBADREQ, field, "field '%s': a dataset name must not be empty",
                          field);
    if (name->len > LH_CAT_NAME_MAX)
        return lh_err_new(LH_EBADREQ, field,
                          "field '%s': a dataset name is at most %d characters (this one has %zu)",
                          field, LH_CAT_NAME_MAX, name->len);
    if (!lh_is_letter(name->s[0]) && name->s[0] != '_')
        return lh_err_new(LH_EBADREQ, field,
                          "field '%s': a dataset name must start with a letter or '_' (it is "
                          "used as an SQL table name)",
                          field);
    for (size_t i = 1; i < name->len; i++) {
        char c = name->s[i];
        if (!lh_is_letter(c) && !lh_is_digit(c) && c != '_')
            return lh_err_new(LH_EBADREQ, field,
                              "field '%s': a dataset name may hold only letters, digits and '_' "
                              "(character %zu is not one; it is used as an SQL table name)",
                              field, i + 1);
    }
    return NULL;
}

lh_err *lh_cat_check_name(const lh_str *name, const char *field, char key[LH_CAT_NAME_MAX + 1])
{
    lh_err *err = lh_check_identifier(name, field);
    if (err)
        return err;
    int n = (int)name->len;
    if (sqlite3_keyword_check(name->s, n))
        return lh_err_new(LH_EBADREQ, field,
                          "field '%s': '%.*s' is an SQL keyword reserved by SQLite and cannot "
                          "name a dataset; choose another name",
                          field, n, name->s);
    lh_cat_ascii_lower(name->s, name->len, key);
    if (!strncmp(key, "sqlite_", 7))
        return lh_err_new(LH_EBADREQ, field,
                          "field '%s': names starting with 'sqlite_' are reserved by SQLite",
                          field);
    return NULL;
}

static int lh_hex_value(char c)
{
    if (lh_is_digit(c))
        return c - '0';
    c = lh_lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

lh_err *lh_cat_check_sha256(const lh_str *hex, const char *field, char out[65])
{
    if (!hex->s || hex->len != 64)
        return lh_err_new(LH_EBADREQ, field, "field '%s' must be 64 hexadecimal digits", field);
    for (size_t i = 0; i < 64; i++) {
        if (lh_hex_value(hex->s[i]) < 0)
            return lh_err_new(LH_EBADREQ, field,
                              "field '%s' must be 64 hexadecimal digits (character %zu is not "
                              "one)",
                              field, i + 1);
        out[i] = lh_lower(hex->s[i]);
    }
    out[64] = '\0';
    return NULL;
}

static bool lh_same_ignoring_case(const lh_str *a, const lh_str *b)
{
    if (a->len != b->len)
        return false;
    for (size_t i = 0; i < a->len; i++)
        if (lh_lower(a->s[i]) != lh_lower(b->s[i]))
            return false;
    return true;
}

static lh_err *lh_check_column_name(const lh_str *name, const char *item)
{
    for (size_t i = 0; i < name->len; i++) {
        unsigned char c = (unsigned char)name->s[i];
        if (c < 0x20 || c == 0x7f)
            return lh_err_new(LH_EBADREQ, item,
                              "field '%s' holds a control character (byte %zu)", item, i + 1);
    }
    return NULL;
}

lh_err *lh_cat_check_columns(const lh_objs *columns, const char *field)
{
    const lh_catalog_column *cols = columns->v;
    /* Quadratic, but over at most LH_CATALOG_MAX_COLUMNS short names. */
    for (size_t j = 0; j < columns->n; j++) {
        char item[96];
        snprintf(item, sizeof item, "%s[%zu].name", field, j);
        lh_err *err = lh_check_column_name(&cols[j].name, item);
        if (err)
            return err;
        for (size_t i = 0; i < j; i++)
            if (lh_same_ignoring_case(&cols[i].name, &cols[j].name))
                return lh_err_new(LH_EBADREQ, item,
                                  "field '%s': column '%.*s' appears twice (also %s[%zu]; "
                                  "column names are compared ignoring case)",
                                  item, (int)cols[j].name.len, cols[j].name.s, field, i);
    }
    return NULL;
}
