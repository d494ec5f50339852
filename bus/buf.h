/*
 * buf.h — growable byte buffers and per-request arenas.
 *
 * lh_buf is the one output buffer every encoder writes into (msgpack through
 * bus/codec.h, JSON via lh_buf_append*). lh_arena is a bump
 * allocator reset between requests: decoded messages live in it, so a
 * handler never frees what the codec gave it.
 */
#ifndef LH_BUF_H
#define LH_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct lh_buf {
    char *data;
    size_t len;
    size_t cap;
} lh_buf;

void lh_buf_init(lh_buf *b);
void lh_buf_free(lh_buf *b);
void lh_buf_reset(lh_buf *b); /* len = 0, keeps the allocation */
/* Makes room for n more bytes. Aborts on allocation failure: out-of-memory
 * in an encoder is not a condition a request can recover from. */
void lh_buf_reserve(lh_buf *b, size_t n);
void lh_buf_append(lh_buf *b, const void *data, size_t n);
void lh_buf_append_str(lh_buf *b, const char *s);
void lh_buf_appendf(lh_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Ensures data[len] == '\0' without counting it in len. */
const char *lh_buf_cstr(lh_buf *b);

typedef struct lh_arena lh_arena;

lh_arena *lh_arena_create(void);
void lh_arena_destroy(lh_arena *a);
void lh_arena_reset(lh_arena *a);        /* frees all but the first block */
void *lh_arena_alloc(lh_arena *a, size_t n); /* zeroed, 16-byte aligned */
char *lh_arena_strndup(lh_arena *a, const char *s, size_t n);

#endif
