/*
 * storage_list.c — storage.list: one page of a bucket's keys in byte
 * order, straight off a LevelDB iterator over the descriptions.
 *
 * With a delimiter, keys holding it after the prefix roll up into one
 * common prefix (S3's CommonPrefixes); the iterator then jumps past every
 * key under that prefix, so a folder of a million objects costs one step.
 * `after` is exclusive and may be an object key or a common prefix (the
 * `next` of the previous page): prefixes that sort at or before it are
 * skipped, as S3 does with its marker.
 */
#include "actors/storage/storage_internal.h"

#include <string.h>

#include "actors/storage/names.h"

typedef struct lh_st_page {
    lh_ctx *ctx;
    const lh_storage_list_request *req;
    lh_storage_list_reply *rep;
    lh_storage_object_info *objects;
    lh_str *prefixes;
    size_t n_objects, n_prefixes;
    const char *last; /* the last key or prefix taken */
    size_t last_len;
} lh_st_page;

/* memcmp order, a shorter string first when one is a prefix of the other. */
static int lh_st_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/* Moves the iterator to the first key that does not start with p[0..len). */
static void lh_st_seek_past(lh_st_meta_iter *it, const char *p, size_t len, lh_buf *scratch)
{
    lh_buf_reset(scratch);
    lh_buf_append(scratch, p, len);
    while (scratch->len > 0 && (unsigned char)scratch->data[scratch->len - 1] == 0xFF)
        scratch->len--; /* no successor at this position: carry left */
    if (scratch->len == 0) { /* every key starts with 0xFF...: nothing after */
        lh_st_meta_iter_seek(it, "\xFF\xFF\xFF\xFF", 4);
        while (lh_st_meta_iter_key(it, &p, &len))
            lh_st_meta_iter_next(it);
        return;
    }
    scratch->data[scratch->len - 1]++;
    lh_st_meta_iter_seek(it, scratch->data, scratch->len);
}

/* True (and the reply marked truncated) when the page has no room for
 * the entry at hand. */
static bool lh_st_page_full(lh_st_page *pg)
{
    if (pg->n_objects + pg->n_prefixes < (size_t)pg->req->limit)
        return false;
    pg->rep->truncated = true;
    return true;
}

static void lh_st_take_prefix(lh_st_page *pg, const char *key, size_t len)
{
    lh_str s = lh_st_str(pg->ctx, key, len);
    pg->prefixes[pg->n_prefixes++] = s;
    pg->last = s.s;
    pg->last_len = len;
}

static lh_err *lh_st_take_object(lh_st_page *pg, lh_st_meta_iter *it)
{
    lh_storage_object_info *info = NULL;
    lh_err *err = lh_st_meta_iter_info(it, lh_ctx_arena(pg->ctx), &info);
    if (err)
        return err;
    pg->objects[pg->n_objects++] = *info;
    pg->last = info->key.s;
    pg->last_len = info->key.len;
    return NULL;
}

/* Where the page starts: just after `after` when it is past the prefix. */
static void lh_st_page_start(lh_st_meta_iter *it, const lh_storage_list_request *req)
{
    const lh_str *prefix = &req->prefix, *after = &req->after;
    if (after->s && lh_st_cmp(after->s, after->len, prefix->s ? prefix->s : "", prefix->len) >= 0) {
        lh_st_meta_iter_seek(it, after->s, after->len);
        const char *k;
        size_t klen;
        if (lh_st_meta_iter_key(it, &k, &klen) && !lh_st_cmp(k, klen, after->s, after->len))
            lh_st_meta_iter_next(it);
    } else {
        lh_st_meta_iter_seek(it, prefix->s ? prefix->s : "", prefix->len);
    }
}

/* One key: rolled into a prefix, taken as an object, or the end of the
 * page. Returns false to stop. */
static bool lh_st_page_step(lh_st_page *pg, lh_st_meta_iter *it, const char *key, size_t len,
                            lh_buf *scratch, lh_err **err)
{
    const lh_storage_list_request *req = pg->req;
    const char *cut = req->delimiter.s ? memchr(key + req->prefix.len, req->delimiter.s[0],
                                                len - req->prefix.len)
                                       : NULL;
    if (cut) {
        size_t plen = (size_t)(cut - key) + 1;
        bool seen = req->after.s && lh_st_cmp(key, plen, req->after.s, req->after.len) <= 0;
        if (!seen) {
            if (lh_st_page_full(pg))
                return false;
            lh_st_take_prefix(pg, key, plen);
        }
        lh_st_seek_past(it, key, plen, scratch);
        return true;
    }
    if (lh_st_page_full(pg))
        return false;
    *err = lh_st_take_object(pg, it);
    lh_st_meta_iter_next(it);
    return !*err;
}

static lh_err *lh_st_fill_page(lh_st_state *st, lh_st_page *pg)
{
    const lh_storage_list_request *req = pg->req;
    lh_st_meta_iter *it = lh_st_meta_iter_create(st->meta, req->bucket.s);
    lh_buf scratch;
    lh_buf_init(&scratch);
    lh_st_page_start(it, req);
    const char *key;
    size_t len;
    lh_err *err = NULL;
    while (lh_st_meta_iter_key(it, &key, &len)) {
        if (len < req->prefix.len || memcmp(key, req->prefix.s ? req->prefix.s : "", req->prefix.len))
            break;
        if (!lh_st_page_step(pg, it, key, len, &scratch, &err))
            break;
    }
    lh_buf_free(&scratch);
    lh_err *ierr = lh_st_meta_iter_destroy(it);
    if (err) {
        lh_err_free(ierr);
        return err;
    }
    return ierr;
}

lh_err *lh_st_list_handler(lh_ctx *ctx, const void *request, void *reply)
{
    const lh_storage_list_request *req = request;
    lh_storage_list_reply *rep = reply;
    lh_st_state *st = lh_ctx_state(ctx);
    lh_err *err = lh_st_check_bucket(&req->bucket);
    if (err)
        return err;
    size_t limit = (size_t)req->limit;
    lh_st_page pg = {
        .ctx = ctx,
        .req = req,
        .rep = rep,
        .objects = lh_ctx_alloc(ctx, limit * sizeof *pg.objects),
        .prefixes = lh_ctx_alloc(ctx, limit * sizeof *pg.prefixes),
    };
    err = lh_st_fill_page(st, &pg);
    if (err)
        return err;
    rep->objects = (lh_objs){pg.objects, pg.n_objects};
    rep->prefixes = (lh_strs){pg.prefixes, pg.n_prefixes};
    if (rep->truncated)
        rep->next = lh_st_str(ctx, pg.last, pg.last_len);
    return NULL;
}
