/*
 * catalog_read.c — catalog.get and catalog.list. Each reads from one
 * LevelDB snapshot, so a reply never mixes states (a `latest` of 3 with a
 * history of 4) even while commits land, and reads never wait for writes.
 */
#include "actors/catalog/catalog_internal.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "actors/catalog/names.h"

static lh_str lh_copy_str(lh_arena *a, const lh_str *s)
{
    if (!s->s)
        return (lh_str){0};
    return (lh_str){lh_arena_strndup(a, s->s, s->len), s->len};
}

/* A version without its schema, copied into `a` (the source lives in a
 * scratch arena). Histories and lists leave schemas out to stay small. */
static void lh_copy_brief(lh_arena *a, const lh_catalog_version *src, lh_catalog_version *dst)
{
    memset(dst, 0, sizeof *dst);
    dst->version = src->version;
    if (src->location) {
        const lh_catalog_location *from = src->location;
        lh_catalog_location *loc = lh_arena_alloc(a, sizeof *loc);
        loc->bucket = lh_copy_str(a, &from->bucket);
        loc->key = lh_copy_str(a, &from->key);
        dst->location = loc;
    }
    if (src->parquet) {
        const lh_catalog_parquet *from = src->parquet;
        const lh_catalog_location *from_loc = from->location;
        lh_catalog_parquet *pq = lh_arena_alloc(a, sizeof *pq);
        lh_catalog_location *loc = lh_arena_alloc(a, sizeof *loc);
        loc->bucket = lh_copy_str(a, &from_loc->bucket);
        loc->key = lh_copy_str(a, &from_loc->key);
        pq->location = loc;
        pq->sha256 = lh_copy_str(a, &from->sha256);
        pq->bytes = from->bytes;
        dst->parquet = pq;
    }
    dst->source_kept = src->source_kept;
    dst->rows = src->rows;
    dst->bytes = src->bytes;
    dst->sha256 = lh_copy_str(a, &src->sha256);
    dst->committed = lh_copy_str(a, &src->committed);
}

/* ---- catalog.get ---- */

typedef struct lh_history {
    lh_arena *a;
    const char *name;
    lh_catalog_version *v;
    size_t n, cap;
} lh_history;

static lh_err *lh_add_to_history(void *user, const lh_catalog_version *v)
{
    lh_history *h = user;
    /* Versions are 1..latest with no gap; anything else is damage. */
    if (h->n == h->cap || v->version != (int64_t)h->n + 1)
        return lh_err_new(LH_EINTERNAL, NULL,
                          "the stored history of '%s' is inconsistent at version %" PRId64,
                          h->name, v->version);
    lh_copy_brief(h->a, v, &h->v[h->n++]);
    return NULL;
}

static lh_err *lh_read_history(lh_cat_read *r, const char *key, lh_arena *a,
                               lh_catalog_dataset *d)
{
    lh_history h = {.a = a, .name = d->name.s, .cap = (size_t)d->latest};
    /* Never NULL, so a dataset without versions answers "versions": []. */
    h.v = lh_arena_alloc(a, (h.cap ? h.cap : 1) * sizeof *h.v);
    lh_err *err = lh_cat_read_versions(r, key, lh_add_to_history, &h);
    if (!err && h.n != h.cap)
        err = lh_err_new(LH_EINTERNAL, NULL,
                         "the stored history of '%s' ends at version %zu of %zu", d->name.s, h.n,
                         h.cap);
    d->versions = (lh_objs){h.v, h.n};
    return err;
}

static lh_err *lh_no_version(const lh_catalog_dataset *d, int64_t asked)
{
    if (d->latest == 0)
        return lh_err_new(LH_ENOTFOUND, "version", "dataset '%s' has no versions yet", d->name.s);
    return lh_err_new(LH_ENOTFOUND, "version",
                      "dataset '%s' has no version %" PRId64 " (its latest is %" PRId64 ")",
                      d->name.s, asked, d->latest);
}

static lh_err *lh_describe(lh_cat_read *r, const char *key, const lh_catalog_get_request *req,
                           lh_arena *a, lh_catalog_dataset *out)
{
    lh_catalog_dataset *d = NULL;
    lh_err *err = lh_cat_read_dataset(r, key, a, &d);
    if (err)
        return err;
    if (!d)
        return lh_err_new(LH_ENOTFOUND, "name", "no dataset named '%.*s'", (int)req->name.len,
                          req->name.s);
    if (req->version > d->latest)
        return lh_no_version(d, req->version);
    int64_t want = req->version ? req->version : d->latest;
    if (want > 0) {
        lh_catalog_version *v = NULL;
        err = lh_cat_read_version(r, key, want, a, &v);
        if (!err && !v)
            err = lh_err_new(LH_EINTERNAL, NULL, "version %" PRId64 " of '%s' is missing", want,
                             d->name.s);
        d->version = v;
    }
    if (!err)
        err = lh_read_history(r, key, a, d);
    if (!err)
        *out = *d;
    return err;
}

lh_err *lh_cat_get_handler(lh_ctx *ctx, const void *request, void *reply)
{
    const lh_catalog_get_request *req = request;
    lh_cat_state *st = lh_ctx_state(ctx);
    char key[LH_CAT_NAME_MAX + 1];
    lh_err *err = lh_cat_check_name(&req->name, "name", key);
    if (err)
        return err;
    lh_cat_read *r = lh_cat_read_begin(st->store);
    err = lh_describe(r, key, req, lh_ctx_arena(ctx), reply);
    lh_cat_read_end(r);
    return err;
}

/* ---- catalog.list ---- */

typedef struct lh_listing {
    lh_cat_read *r;
    lh_arena *a;
    lh_arena *scratch; /* each latest version, before its brief copy */
    lh_buf found;      /* lh_catalog_dataset structs, by key */
} lh_listing;

static lh_err *lh_add_to_listing(void *user, lh_catalog_dataset *d)
{
    lh_listing *l = user;
    if (d->latest > 0) {
        lh_catalog_version *v = NULL;
        char key[LH_CAT_NAME_MAX + 1];
        assert(d->name.s && d->name.len <= LH_CAT_NAME_MAX); /* checked at create */
        lh_cat_ascii_lower(d->name.s, d->name.len, key);
        lh_err *err = lh_cat_read_version(l->r, key, d->latest, l->scratch, &v);
        if (!err && !v)
            err = lh_err_new(LH_EINTERNAL, NULL, "version %" PRId64 " of '%s' is missing",
                             d->latest, d->name.s);
        if (err)
            return err;
        d->version = lh_arena_alloc(l->a, sizeof(lh_catalog_version));
        lh_copy_brief(l->a, v, d->version);
        lh_arena_reset(l->scratch);
    }
    lh_buf_append(&l->found, d, sizeof *d);
    return NULL;
}

/* True when some dataset name could start with `prefix`; a prefix holding
 * other characters matches nothing (and must not reach a key). */
static bool lh_prefix_possible(const lh_str *prefix)
{
    for (size_t i = 0; i < prefix->len; i++) {
        char c = prefix->s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_';
        if (!ok)
            return false;
    }
    return prefix->len <= LH_CAT_NAME_MAX;
}

static lh_err *lh_list(lh_cat_store *s, const char *key_prefix, lh_arena *a, lh_objs *out)
{
    lh_listing l = {.r = lh_cat_read_begin(s), .a = a, .scratch = lh_arena_create()};
    lh_buf_init(&l.found);
    lh_err *err = lh_cat_read_datasets(l.r, key_prefix, a, lh_add_to_listing, &l);
    size_t n = l.found.len / sizeof(lh_catalog_dataset);
    out->v = lh_arena_alloc(a, l.found.len + 1);
    out->n = err ? 0 : n;
    if (!err && n)
        memcpy(out->v, l.found.data, l.found.len);
    lh_buf_free(&l.found);
    lh_arena_destroy(l.scratch);
    lh_cat_read_end(l.r);
    return err;
}

lh_err *lh_cat_list_handler(lh_ctx *ctx, const void *request, void *reply)
{
    const lh_catalog_list_request *req = request;
    lh_catalog_list_reply *rep = reply;
    lh_cat_state *st = lh_ctx_state(ctx);
    lh_arena *a = lh_ctx_arena(ctx);
    if (req->prefix.s && !lh_prefix_possible(&req->prefix)) {
        rep->datasets = (lh_objs){lh_arena_alloc(a, 1), 0};
        return NULL;
    }
    char key_prefix[LH_CAT_NAME_MAX + 1] = "";
    if (req->prefix.s)
        lh_cat_ascii_lower(req->prefix.s, req->prefix.len, key_prefix);
    return lh_list(st->store, key_prefix, a, &rep->datasets);
}
