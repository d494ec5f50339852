/*
 * tabular_internal.h — what the reader's files share (not for callers):
 * the reader itself, its column table, and the two format parsers
 * (csv.c, jsonl.c) that turn bytes into records for tabular.c to name,
 * check and hand to the caller.
 */
#ifndef LH_LIB_TABULAR_INTERNAL_H
#define LH_LIB_TABULAR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/tabular/tabular.h"
#include "bus/buf.h"
#include "bus/strmap.h"

/* Where one field's text sits in a record's byte buffer (offsets, since
 * the buffer moves as it grows). */
typedef struct lh_tab_fpos {
    size_t off, len;
    lh_tab_kind kind;
} lh_tab_fpos;

typedef struct lh_csv lh_csv;
typedef struct lh_jsonl lh_jsonl;

struct lh_tab_reader {
    lh_tab_options o;
    lh_tab_handler h;
    bool stopped;    /* an error was returned: every later call fails */
    int bom_seen;    /* bytes of a UTF-8 BOM matched so far */
    bool bom_done;   /* past the point where a BOM could be */
    bool have_columns; /* CSV: the header (or first record) has been read */
    char **names;    /* column names, unique ignoring case */
    size_t n_names, cap_names;
    lh_strmap folded; /* names, ignoring case -> index */
    int64_t records, bad, bytes;
    lh_tab_field *fields; /* the record being handed out */
    size_t cap_fields;
    lh_csv *csv;
    lh_jsonl *jsonl;
};

/* ---- tabular.c, for the parsers ---- */

/* Adds a column for `name` (blank: c<N>; taken: name_2, _3, ...). */
size_t lh_tab_add_column(lh_tab_reader *r, const char *name, size_t len);
/* Hands a good record to the caller: fields point into `data`. */
lh_err *lh_tab_emit(lh_tab_reader *r, int64_t line, const char *data, const lh_tab_fpos *pos,
                    size_t n);
/* A malformed record: skipped (NULL) or the error that stops the reader. */
lh_err *lh_tab_bad(lh_tab_reader *r, int64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A record over max_record: always stops the reader (413). */
lh_err *lh_tab_too_long(const lh_tab_reader *r, int64_t line);

/* ---- csv.c ---- */

lh_csv *lh_csv_create(const lh_tab_options *o);
void lh_csv_destroy(lh_csv *c);
lh_err *lh_csv_feed(lh_tab_reader *r, const char *data, size_t len);
lh_err *lh_csv_finish(lh_tab_reader *r);

/* ---- jsonl.c ---- */

lh_jsonl *lh_jsonl_create(void);
void lh_jsonl_destroy(lh_jsonl *j);
lh_err *lh_jsonl_feed(lh_tab_reader *r, const char *data, size_t len);
lh_err *lh_jsonl_finish(lh_tab_reader *r);

#endif
