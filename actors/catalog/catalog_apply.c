/*
 * catalog_apply.c — the three state changes of catalogd: create, commit,
 * delete. Each is one function from its message to one durable LevelDB
 * batch (store.h); version numbers come from the stored `latest`, so with
 * writes serialized they are 1, 2, 3, ... with no gap and no repeat.
 */
#include "actors/catalog/catalog_internal.h"

#include <string.h>

#include "actors/catalog/names.h"

static lh_str lh_copy_str(lh_arena *a, const char *s, size_t n)
{
    return (lh_str){lh_arena_strndup(a, s, n), n};
}

static lh_err *lh_not_found(const lh_str *name)
{
    return lh_err_new(LH_ENOTFOUND, "name", "no dataset named '%.*s'", (int)name->len, name->s);
}

lh_err *lh_cat_apply_create(lh_cat_store *s, const lh_catalog_create_request *req,
                            const char *now, lh_arena *a, lh_catalog_dataset **out)
{
    char key[LH_CAT_NAME_MAX + 1];
    lh_err *err = lh_cat_check_name(&req->name, "name", key);
    if (err)
        return err;
    lh_catalog_dataset *old = NULL;
    lh_cat_read *r = lh_cat_read_begin(s);
    err = lh_cat_read_dataset(r, key, a, &old);
    lh_cat_read_end(r);
    if (err)
        return err;
    if (old)
        return lh_err_new(LH_ECONFLICT, "name",
                          "dataset '%s' already exists (names are compared ignoring case)",
                          old->name.s);
    lh_catalog_dataset *d = lh_arena_alloc(a, sizeof *d);
    d->name = req->name;
    d->format = req->format;
    d->description = req->description;
    d->tags = req->tags;
    d->created = lh_copy_str(a, now, strlen(now));
    d->latest = 0;
    err = lh_cat_store_create(s, key, d);
    if (err)
        return err;
    *out = d;
    return NULL;
}

/* Checks what the schema codec cannot: the checksum's digits and the
 * column names. Writes the lowercase checksum to sha. */
static lh_err *lh_check_commit(const lh_catalog_commit_request *req, char key[],
                               char sha[65])
{
    lh_err *err = lh_cat_check_name(&req->name, "name", key);
    if (!err)
        err = lh_cat_check_sha256(&req->sha256, "sha256", sha);
    if (!err)
        err = lh_cat_check_columns(&req->schema, "schema");
    return err;
}

lh_err *lh_cat_apply_commit(lh_cat_store *s, const lh_catalog_commit_request *req,
                            const char *now, lh_arena *a, lh_catalog_dataset **out)
{
    char key[LH_CAT_NAME_MAX + 1], sha[65], pq_sha[65];
    lh_err *err = lh_check_commit(req, key, sha);
    const lh_catalog_parquet *parquet = req->parquet;
    if (!err && parquet)
        err = lh_cat_check_sha256(&parquet->sha256, "parquet.sha256", pq_sha);
    if (!err && !req->source_kept && !parquet)
        err = lh_err_new(LH_EBADREQ, "source_kept", "source_kept false needs `parquet`: the "
                         "version would have no data");
    if (err)
        return err;
    lh_catalog_dataset *d = NULL;
    lh_cat_read *r = lh_cat_read_begin(s);
    err = lh_cat_read_dataset(r, key, a, &d);
    lh_cat_read_end(r);
    if (err)
        return err;
    if (!d)
        return lh_not_found(&req->name);
    lh_catalog_version *v = lh_arena_alloc(a, sizeof *v);
    v->version = d->latest + 1;
    v->location = req->location;
    v->schema = req->schema;
    v->csv = req->csv;
    v->source_kept = req->source_kept;
    if (parquet) { /* its checksum as checked, lowercase */
        lh_catalog_parquet *pq = lh_arena_alloc(a, sizeof *pq);
        *pq = *parquet;
        pq->sha256 = lh_copy_str(a, pq_sha, 64);
        v->parquet = pq;
    }
    v->rows = req->rows;
    v->bytes = req->bytes;
    v->sha256 = lh_copy_str(a, sha, 64);
    v->committed = lh_copy_str(a, now, strlen(now));
    d->latest = v->version;
    err = lh_cat_store_commit(s, key, d, v);
    if (err)
        return err;
    d->version = v;
    *out = d;
    return NULL;
}

lh_err *lh_cat_apply_delete(lh_cat_store *s, const lh_catalog_name_request *req, lh_arena *a,
                            lh_catalog_delete_reply *out)
{
    char key[LH_CAT_NAME_MAX + 1];
    lh_err *err = lh_cat_check_name(&req->name, "name", key);
    if (err)
        return err;
    lh_catalog_dataset *d = NULL;
    lh_cat_read *r = lh_cat_read_begin(s);
    err = lh_cat_read_dataset(r, key, a, &d);
    lh_cat_read_end(r);
    if (err)
        return err;
    if (!d)
        return lh_not_found(&req->name);
    err = lh_cat_store_delete(s, key);
    if (err)
        return err;
    out->name = d->name;
    out->versions = d->latest;
    return NULL;
}
