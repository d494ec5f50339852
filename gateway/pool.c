/*
 * pool.c — request states, recycled.
 *
 * Each HTTP request needs a state with a few buffers (path, body, bus
 * message, reply, response). They come from a free list that keeps their
 * memory, so the steady state allocates little beyond what libmicrohttpd
 * and nats.c do. The lock is held for a pointer swap, never for I/O.
 */
#include "gateway/gw.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define LH_GW_POOL_MAX 4096
/* Buffers that grew past this go back to the allocator instead of the pool. */
#define LH_GW_POOL_BUF_MAX (256 * 1024)

struct lh_gw_pool {
    pthread_mutex_t mu;
    lh_gw_req *free;
    size_t n_free;
};

static void lh_gw_req_free(lh_gw_req *req)
{
    lh_buf_free(&req->path);
    lh_buf_free(&req->body);
    lh_buf_free(&req->bus);
    lh_buf_free(&req->out);
    lh_buf_free(&req->reply);
    lh_arena_destroy(req->arena);
    free(req->pings);
    free(req);
}

static void lh_gw_buf_recycle(lh_buf *b)
{
    if (b->cap > LH_GW_POOL_BUF_MAX)
        lh_buf_free(b);
    lh_buf_reset(b);
}

/* Clears a request for reuse, keeping its buffers' memory. */
static void lh_gw_req_clear(lh_gw_req *req)
{
    lh_err_free(req->early);
    lh_err_free(req->reply_err);
    lh_buf path = req->path, body = req->body, bus = req->bus, out = req->out, reply = req->reply;
    lh_gw_ping *pings = req->pings;
    lh_arena *arena = req->arena;
    memset(req, 0, sizeof *req);
    req->path = path, req->body = body, req->bus = bus, req->out = out, req->reply = reply;
    req->pings = pings;
    req->arena = arena;
    if (arena)
        lh_arena_reset(arena);
    lh_gw_buf_recycle(&req->path);
    lh_gw_buf_recycle(&req->body);
    lh_gw_buf_recycle(&req->bus);
    lh_gw_buf_recycle(&req->out);
    lh_gw_buf_recycle(&req->reply);
}

lh_gw_req *lh_gw_pool_get(lh_gw *gw)
{
    struct lh_gw_pool *p = gw->pool;
    pthread_mutex_lock(&p->mu);
    lh_gw_req *req = p->free;
    if (req) {
        p->free = req->next_free;
        p->n_free--;
    }
    pthread_mutex_unlock(&p->mu);
    if (!req) {
        req = calloc(1, sizeof *req);
        if (!req)
            return NULL;
    }
    req->next_free = NULL;
    return req;
}

lh_arena *lh_gw_req_arena(lh_gw_req *req)
{
    if (!req->arena) /* made on first use: most requests decode nothing here */
        req->arena = lh_arena_create();
    return req->arena;
}

void lh_gw_pool_put(lh_gw *gw, lh_gw_req *req)
{
    lh_gw_req_clear(req);
    struct lh_gw_pool *p = gw->pool;
    pthread_mutex_lock(&p->mu);
    bool keep = p->n_free < LH_GW_POOL_MAX;
    if (keep) {
        req->next_free = p->free;
        p->free = req;
        p->n_free++;
    }
    pthread_mutex_unlock(&p->mu);
    if (!keep)
        lh_gw_req_free(req);
}

lh_err *lh_gw_pool_create(lh_gw *gw)
{
    gw->pool = calloc(1, sizeof *gw->pool);
    if (!gw->pool)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    pthread_mutex_init(&gw->pool->mu, NULL);
    return NULL;
}

void lh_gw_pool_free(lh_gw *gw)
{
    struct lh_gw_pool *p = gw->pool;
    if (!p)
        return;
    for (lh_gw_req *r = p->free, *next; r; r = next) {
        next = r->next_free;
        lh_gw_req_free(r);
    }
    pthread_mutex_destroy(&p->mu);
    free(p);
    gw->pool = NULL;
}
