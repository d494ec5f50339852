/*
 * sse.h — reading a streamed HTTP body as it arrives, in pieces cut
 * anywhere (inside a line, inside a UTF-8 character): newline-delimited
 * JSON (Ollama's stream) and server-sent events (OpenAI's and
 * Anthropic's). A line ends at LF or CRLF. Both readers keep at most one
 * unfinished line (and, for events, one event's data), each bounded, so a
 * hostile server cannot grow memory without bound. Callbacks return NULL
 * to go on, or an error to stop: the feed returns that error as is.
 */
#ifndef LH_SSE_H
#define LH_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include "bus/buf.h"
#include "bus/err.h"

/* The longest line (and event data) read; longer is a 502. */
#define LH_SSE_MAX_LINE ((size_t)1 << 20)

/* The unfinished line both readers carry from one piece to the next. */
typedef struct lh_sse_lines {
    lh_buf part;
    size_t max; /* LH_SSE_MAX_LINE unless a test says less */
} lh_sse_lines;

/* ---- NDJSON: one JSON document a line ---- */

/* Gets each line that is not blank, without its line end, NUL-terminated. */
typedef lh_err *(*lh_ndjson_fn)(void *user, const char *line, size_t len);

typedef struct lh_ndjson {
    lh_sse_lines lines;
    lh_ndjson_fn fn;
    void *user;
} lh_ndjson;

void lh_ndjson_init(lh_ndjson *r, lh_ndjson_fn fn, void *user);
/* Reads the next piece of the body. */
lh_err *lh_ndjson_feed(lh_ndjson *r, const char *data, size_t len);
/* At the body's end: a last line without its newline is still a line. */
lh_err *lh_ndjson_end(lh_ndjson *r);
void lh_ndjson_free(lh_ndjson *r);

/* ---- server-sent events ---- */

/* One event: its `event:` name ("message" when none was given) and its
 * `data:` lines joined with "\n"; both NUL-terminated. */
typedef struct lh_sse_event {
    const char *name;
    size_t name_len;
    const char *data;
    size_t data_len;
} lh_sse_event;

typedef lh_err *(*lh_sse_fn)(void *user, const lh_sse_event *ev);

typedef struct lh_sse {
    lh_sse_lines lines;
    lh_buf name, data;
    bool has_data, started; /* started: the first line (a BOM may lead it) is past */
    lh_sse_fn fn;
    void *user;
} lh_sse;

/* As the SSE spec reads a stream: a blank line dispatches the event
 * gathered so far (none when it has no data line), a line starting with
 * ':' is a comment, one space after a field's colon is dropped, fields
 * other than `event` and `data` are passed over. An event not ended by a
 * blank line when the body ends is dropped, as the spec says. */
void lh_sse_init(lh_sse *r, lh_sse_fn fn, void *user);
lh_err *lh_sse_feed(lh_sse *r, const char *data, size_t len);
void lh_sse_free(lh_sse *r);

#endif
