/*
 * buf.c — byte buffers and arenas. The arena keeps its first block across
 * resets so the steady state of a busy endpoint allocates nothing.
 */
#include "bus/buf.h"

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"

static void *lh_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "lakehouse: out of memory (%zu bytes)\n", n);
        abort();
    }
    return q;
}

void lh_buf_init(lh_buf *b) { memset(b, 0, sizeof *b); }

void lh_buf_free(lh_buf *b)
{
    free(b->data);
    lh_buf_init(b);
}

void lh_buf_reset(lh_buf *b) { b->len = 0; }

void lh_buf_reserve(lh_buf *b, size_t n)
{
    if (b->len + n + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    b->data = lh_xrealloc(b->data, cap);
    b->cap = cap;
}

void lh_buf_append(lh_buf *b, const void *data, size_t n)
{
    lh_buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
}

void lh_buf_append_str(lh_buf *b, const char *s) { lh_buf_append(b, s, strlen(s)); }

void lh_buf_appendf(lh_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        lh_buf_append(b, small, (size_t)n);
        return;
    }
    lh_buf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *lh_buf_cstr(lh_buf *b)
{
    lh_buf_reserve(b, 1);
    b->data[b->len] = '\0';
    return b->data;
}

int lh_buf_msgpack_write(void *data, const char *buf, size_t len)
{
    lh_buf_append((lh_buf *)data, buf, len);
    return 0;
}

/* ---- arena ---- */

typedef struct lh_block {
    struct lh_block *next;
    size_t cap;
    size_t used;
    _Alignas(16) unsigned char mem[];
} lh_block;

struct lh_arena {
    lh_block *head; /* newest block; the first block is last in the chain */
};

#define LH_ARENA_BLOCK (64 * 1024)

static lh_block *lh_block_new(size_t cap, lh_block *next)
{
    lh_block *blk = lh_xrealloc(NULL, sizeof *blk + cap);
    blk->next = next;
    blk->cap = cap;
    blk->used = 0;
    return blk;
}

lh_arena *lh_arena_create(void)
{
    lh_arena *a = lh_xrealloc(NULL, sizeof *a);
    a->head = lh_block_new(LH_ARENA_BLOCK, NULL);
    return a;
}

void lh_arena_destroy(lh_arena *a)
{
    if (!a)
        return;
    for (lh_block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

void lh_arena_reset(lh_arena *a)
{
    while (a->head->next) {
        lh_block *next = a->head->next;
        free(a->head);
        a->head = next;
    }
    a->head->used = 0;
}

void *lh_arena_alloc(lh_arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n) /* overflow */
        abort();
    lh_block *b = a->head;
    if (b->cap - b->used < need) {
        size_t cap = need > LH_ARENA_BLOCK ? need : LH_ARENA_BLOCK;
        b = a->head = lh_block_new(cap, a->head);
    }
    void *p = b->mem + b->used;
    b->used += need;
    assert(((uintptr_t)p & 15) == 0);
    memset(p, 0, n);
    return p;
}

char *lh_arena_strndup(lh_arena *a, const char *s, size_t n)
{
    char *p = lh_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
