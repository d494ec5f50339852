/*
 * infer.h — column types from the values of a whole file, and values as
 * their column's type.
 *
 * Types are the catalog's: integer, real, boolean, text, each nullable or
 * not. One value's type (lh_tab_classify):
 *   - JSON values keep their JSON type: integer, real, true/false; strings
 *     and nested values are text, whatever they hold;
 *   - CSV text is an integer when it reads as a decimal int64 with no
 *     leading zeros ("0", "-12"; "007" and 20-digit numbers are text, so
 *     nothing is lost), a real when it is a finite decimal number with a
 *     fraction or exponent ("1.5", "-.5", "2e10"; not "inf" or "nan"), a
 *     boolean when it is true or false in any case, and text otherwise;
 *   - nulls (empty unquoted CSV fields, JSON null, absent keys) have none.
 * A column's type (lh_tab_infer): the one type of its values, except that
 * integer and real together widen to real, and any other mix widens to
 * text; a column with no typed values is text. It is nullable when it
 * holds a null; an empty quoted CSV field ("") counts as a null in a
 * column that ends up integer, real or boolean, and as the empty string
 * in a text column.
 */
#ifndef LH_LIB_TABULAR_INFER_H
#define LH_LIB_TABULAR_INFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/tabular/tabular.h"

typedef enum {
    LH_TAB_TYPE_INTEGER,
    LH_TAB_TYPE_REAL,
    LH_TAB_TYPE_BOOLEAN,
    LH_TAB_TYPE_TEXT,
} lh_tab_type;

/* "integer", "real", "boolean", "text": the catalog's names. */
const char *lh_tab_type_name(lh_tab_type t);
bool lh_tab_type_parse(const char *name, size_t len, lh_tab_type *out);

typedef struct lh_tab_value {
    bool null;
    lh_tab_type type; /* when not null */
    int64_t i;        /* integer */
    double r;         /* real (also set for integers) */
    bool b;           /* boolean */
    const char *s;    /* the text form (points into the field) */
    size_t len;
} lh_tab_value;

/* One value's own type (see above). An empty quoted CSV field is text "". */
void lh_tab_classify(const lh_tab_field *f, lh_tab_value *out);

/* The value of `f` in a column of type `t`: null, or a value of type `t`
 * (an integer in a real column becomes a real; in a text column every
 * value is its text; "" in a non-text column is null). False when the
 * value does not fit the type, which can only happen if the file is not
 * the one the type was inferred from. */
bool lh_tab_convert(const lh_tab_field *f, lh_tab_type t, lh_tab_value *out);

typedef struct lh_tab_infer lh_tab_infer;

lh_tab_infer *lh_tab_infer_create(void);
void lh_tab_infer_destroy(lh_tab_infer *inf);
/* Takes one good record into account. */
void lh_tab_infer_record(lh_tab_infer *inf, const lh_tab_record *rec);
/* The type of column i after every record so far (columns past those any
 * record had are text and nullable). */
void lh_tab_infer_column(const lh_tab_infer *inf, size_t i, lh_tab_type *type, bool *nullable);

#endif
