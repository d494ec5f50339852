/*
 * names.h — what catalogd accepts as a dataset name, a column list and a
 * checksum. Dataset names become SQL table names (queryd shows each as a
 * view under its name), so the rules are those of SQL identifiers, with
 * SQLite's keyword list (see names.c for why, and DuckDB's extra words): an
 * identifier that needs no quoting, not a keyword, not in the `sqlite_`
 * namespace, and unique without regard to ASCII case.
 */
#ifndef LH_CATALOG_NAMES_H
#define LH_CATALOG_NAMES_H

#include "bus/err.h"
#include "bus/schema.h"

#define LH_CAT_NAME_MAX 63

/* Checks a dataset name and writes its lowercase form to `key`: the form
 * stored keys use, so "Sales" and "sales" are one dataset. Errors are
 * 400s naming `field` and the rule broken. */
lh_err *lh_cat_check_name(const lh_str *name, const char *field, char key[LH_CAT_NAME_MAX + 1]);

/* Checks 64 hexadecimal digits (either case) and writes them lowercase. */
lh_err *lh_cat_check_sha256(const lh_str *hex, const char *field, char out[65]);

/* Refuses a column list whose names repeat (ignoring ASCII case, as SQLite
 * compares column names) or hold control characters. `field` is the list's
 * name; errors name the item, e.g. "schema[3].name". */
lh_err *lh_cat_check_columns(const lh_objs *columns, const char *field);

/* Lowercases ASCII letters of s[0..n) into out (n + 1 bytes, NUL-terminated). */
void lh_cat_ascii_lower(const char *s, size_t n, char *out);

#endif
