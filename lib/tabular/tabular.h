/*
 * tabular.h — reading CSV and JSON Lines as a stream of records.
 *
 * The one reader of tabular files in Lakehouse: ingestd infers schemas
 * with it and queryd loads dataset versions with it, so both see exactly
 * the same rows, columns and values. The caller feeds bytes in chunks of
 * any size (a record may span any number of chunks) and gets one callback
 * per record; memory is bounded by the largest record, never the file.
 *
 * CSV follows RFC 4180: fields separated by a delimiter (default ','),
 * optionally quoted (default '"'), a doubled quote inside quotes is one
 * quote, delimiters and line breaks inside quotes are data; records end
 * with CRLF, LF or a lone CR. Also:
 *   - a UTF-8 byte order mark at the start is skipped (both formats);
 *   - an empty unquoted field is null; an empty quoted field ("") is the
 *     empty string;
 *   - a blank line (no bytes between two line breaks) is skipped;
 *   - a quote inside an unquoted field is an ordinary character, but any
 *     character after a closing quote other than the delimiter or a line
 *     break makes the record malformed;
 *   - with a header (the default) the first record names the columns:
 *     a blank name becomes c<N> (N its 1-based position) and a name equal
 *     (ignoring ASCII case, as SQL does) to an earlier one gets _2, _3, ...;
 *     without one the columns are c1, c2, ... from the first record;
 *   - a record with a different number of fields than the columns is
 *     malformed ("ragged").
 *
 * JSON Lines: one JSON object per line (LF or CRLF); blank lines are
 * skipped. Columns are the union of the objects' keys in first-seen order
 * (named by the same rule as a CSV header); a key absent from an object is
 * null there. Nested arrays and objects are kept as compact JSON text. A
 * line that is not one valid JSON object (or repeats a key) is malformed.
 *
 * A malformed record goes to the handler's bad_record callback with its
 * line number (the line it starts on, from 1), which skips it or stops
 * the reader. A record longer than max_record bytes stops the reader
 * (413): without a bound an unclosed quote would swallow the whole file.
 */
#ifndef LH_LIB_TABULAR_H
#define LH_LIB_TABULAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/err.h"

#define LH_TAB_DEFAULT_MAX_RECORD (16u << 20) /* bytes of one record or line */
#define LH_TAB_DEFAULT_MAX_FIELDS 4096        /* fields of a record, keys of a file */

typedef enum { LH_TAB_CSV, LH_TAB_JSONL } lh_tab_format;

typedef struct lh_tab_options {
    lh_tab_format format;
    char delimiter;    /* CSV; 0 means ',' */
    char quote;        /* CSV; 0 means '"' */
    bool no_header;    /* CSV: the first record is data, columns are c1, c2, ... */
    size_t max_record; /* 0 means LH_TAB_DEFAULT_MAX_RECORD */
    size_t max_fields; /* 0 means LH_TAB_DEFAULT_MAX_FIELDS */
} lh_tab_options;

/* What a field is, lexically; its type is decided by infer.h. */
typedef enum {
    LH_TAB_NULL,    /* CSV: an empty unquoted field; JSON: null, or the key is absent */
    LH_TAB_TEXT,    /* CSV: any other field; its type comes from its text */
    LH_TAB_STRING,  /* JSON string: text, whatever it looks like */
    LH_TAB_INTEGER, /* JSON integer */
    LH_TAB_REAL,    /* JSON number with a fraction or exponent */
    LH_TAB_BOOLEAN, /* JSON true or false */
    LH_TAB_NESTED,  /* JSON array or object, as compact JSON text */
} lh_tab_kind;

typedef struct lh_tab_field {
    const char *s; /* the text ("" for null), NUL-terminated; CSV data may hold NULs */
    size_t len;
    lh_tab_kind kind;
} lh_tab_field;

typedef struct lh_tab_record {
    int64_t line;  /* where the record starts, from 1 */
    int64_t index; /* its position among the good records, from 1 */
    /* One field per column known when the record was read; a JSONL record
     * read before later keys appeared has fewer: the rest are null. */
    size_t n;
    const lh_tab_field *fields;
} lh_tab_record;

typedef struct lh_tab_handler {
    /* A good record; valid until the callback returns. An error stops the
     * reader and is returned by feed/finish. */
    lh_err *(*record)(void *user, const lh_tab_record *rec);
    /* A malformed record: return NULL to skip it, or an error to stop.
     * When NULL, the reader stops with a 422 naming the line. */
    lh_err *(*bad_record)(void *user, int64_t line, const char *message);
    void *user;
} lh_tab_handler;

typedef struct lh_tab_reader lh_tab_reader;

/* Refuses (400) a delimiter or quote that is a line break, or equal. */
lh_err *lh_tab_reader_create(const lh_tab_options *opts, const lh_tab_handler *h,
                             lh_tab_reader **out);
void lh_tab_reader_destroy(lh_tab_reader *r);

/* Reads the next `len` bytes of the file. After an error the reader is
 * stopped and every later call returns an error. */
lh_err *lh_tab_reader_feed(lh_tab_reader *r, const char *data, size_t len);
/* The end of the file: reads a last record that has no line break. */
lh_err *lh_tab_reader_finish(lh_tab_reader *r);

/* The columns known so far (all of them once finished). */
size_t lh_tab_reader_n_columns(const lh_tab_reader *r);
const char *lh_tab_reader_column(const lh_tab_reader *r, size_t i);

int64_t lh_tab_reader_records(const lh_tab_reader *r);     /* good records */
int64_t lh_tab_reader_bad_records(const lh_tab_reader *r); /* skipped ones */
int64_t lh_tab_reader_bytes(const lh_tab_reader *r);       /* bytes fed */

/* "csv" or "jsonl" -> format; false for anything else. */
bool lh_tab_format_parse(const char *name, size_t len, lh_tab_format *out);
const char *lh_tab_format_name(lh_tab_format f);
/* The format a key's extension names (.csv, .jsonl, .ndjson; any case);
 * false when it names none. */
bool lh_tab_format_from_key(const char *key, size_t len, lh_tab_format *out);

#endif
