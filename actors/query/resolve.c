/*
 * resolve.c — from the table names of a statement to views of dataset
 * versions.
 *
 * guard.c lists the names DuckDB's parser found. Each that is a dataset
 * ("sales": its latest version) or a pinned version ("sales@2") gets its
 * version's Parquet file into the cache if it is not there yet (fetched
 * from storaged, or written from the CSV or JSON Lines object for a
 * version committed without one) and is shown on this connection as a
 * view named as written. So only what a statement names is ever fetched,
 * and names are matched by the engine's parser, never by reading text.
 */
#include "actors/query/query_internal.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bus/request.h"

int lh_qcall_timeout(const lh_query_state *st)
{
    return lh_actor_config(st->actor)->request_timeout_ms;
}

lh_err *lh_qcatalog_list(lh_query_state *st, lh_arena *a, lh_catalog_list_reply **out)
{
    lh_catalog_list_request req = {0};
    lh_err *err = lh_call(lh_actor_conn(st->actor), &lh_ep_catalog_list, &req, a, (void **)out,
                          lh_qcall_timeout(st));
    return lh_err_wrap(err, "list the catalog's datasets");
}

/* ---- the name ---- */

typedef struct lh_qref {
    char name[64];   /* the dataset part, as written */
    int64_t version; /* 0: the latest */
} lh_qref;

/* "name" or "name@N" (N a version number without leading zeros); false
 * for anything else. */
static bool lh_parse_ref(const char *missing, lh_qref *ref)
{
    const char *at = strchr(missing, '@');
    size_t n = at ? (size_t)(at - missing) : strlen(missing);
    if (n == 0 || n >= sizeof ref->name || strchr(missing, '.'))
        return false;
    memcpy(ref->name, missing, n);
    ref->name[n] = '\0';
    ref->version = 0;
    if (!at)
        return true;
    const char *digits = at + 1;
    size_t d = strspn(digits, "0123456789");
    if (d == 0 || d > 15 || digits[d] || digits[0] == '0')
        return false;
    ref->version = strtoll(digits, NULL, 10);
    return true;
}

const lh_catalog_dataset *lh_qcatalog_find(const lh_catalog_list_reply *cat, const char *name)
{
    const lh_catalog_dataset *d = cat->datasets.v;
    for (size_t i = 0; i < cat->datasets.n; i++)
        if (d[i].name.s && !strcasecmp(d[i].name.s, name))
            return &d[i];
    return NULL;
}

static lh_err *lh_check_version(const lh_catalog_dataset *d, const lh_qref *ref)
{
    if (d->latest == 0)
        return lh_err_new(LH_ENOTFOUND, "sql", "dataset '%s' has no versions yet", d->name.s);
    if (ref->version > d->latest)
        return lh_err_new(LH_ENOTFOUND, "sql",
                          "dataset '%s' has no version %" PRId64 " (its latest is %" PRId64 ")",
                          d->name.s, ref->version, d->latest);
    const lh_catalog_version *latest = d->version;
    if (!ref->version && (!latest || !latest->sha256.s))
        return lh_err_new(LH_EINTERNAL, NULL, "catalog.list gave no latest version of '%s'",
                          d->name.s);
    return NULL;
}

/* ---- loading ---- */

typedef struct lh_qfill {
    lh_query_state *st;
    lh_arena *a;
    const char *name;
    int64_t version;
    const char *sha256;
    lh_catalog_dataset *full; /* catalog.get of the version; fetched when needed */
} lh_qfill;

static lh_err *lh_describe(lh_qfill *f)
{
    if (f->full)
        return NULL;
    lh_catalog_get_request req = {.name = {f->name, strlen(f->name)}, .version = f->version};
    lh_err *err = lh_call(lh_actor_conn(f->st->actor), &lh_ep_catalog_get, &req, f->a,
                          (void **)&f->full, lh_qcall_timeout(f->st));
    if (err && lh_err_code(err) == LH_ENOTFOUND) { /* deleted a moment ago */
        lh_err *gone = lh_err_new(LH_ENOTFOUND, "sql", "%s", lh_err_message(err));
        lh_err_free(err);
        return gone;
    }
    const lh_catalog_version *v = err ? NULL : f->full->version;
    if (!err && (!v || !v->location || !v->sha256.s))
        err = lh_err_new(LH_EINTERNAL, NULL, "catalog.get gave no data location for version %"
                         PRId64 " of '%s'", f->version, f->name);
    return lh_err_wrap(err, "describe '%s'", f->name);
}

static lh_err *lh_fill(void *user, const char *path, int64_t *rows)
{
    lh_qfill *f = user;
    lh_err *err = lh_describe(f);
    const lh_catalog_version *v = err ? NULL : f->full->version;
    if (!err && strcasecmp(v->sha256.s, f->sha256))
        err = lh_err_new(LH_ECONFLICT, "sql", "dataset '%s' changed while it was being loaded; "
                         "ask again", f->name);
    if (err)
        return err;
    lh_qload_source src = {
        .dataset = f->full,
        .conn = lh_actor_conn(f->st->actor),
        .timeout_ms = lh_qcall_timeout(f->st),
        .stop = &f->st->stop,
        .tmp_dir = f->st->tmp_dir,
        .data_dir = lh_actor_config(f->st->actor)->data_dir,
    };
    return v->parquet ? lh_qfetch_parquet(&src, path, rows) : lh_qload_parquet(&src, path, rows);
}

/* The cache's name for a version: its Parquet object's sha256, which
 * says everything about the rows; or, for a version without one, its
 * name, number and source sha256 (queryd writes that file itself). */
static void lh_cache_key(const char *name, int64_t version, const char *sha256,
                         const lh_catalog_parquet *pq, char key[LH_QUERY_KEY_MAX])
{
    if (pq && pq->sha256.s) {
        snprintf(key, LH_QUERY_KEY_MAX, "pq-%s", pq->sha256.s);
        return;
    }
    char lower[64];
    size_t n = strlen(name);
    for (size_t i = 0; i <= n && i < sizeof lower; i++)
        lower[i] = (char)tolower((unsigned char)name[i]);
    lower[sizeof lower - 1] = '\0';
    snprintf(key, LH_QUERY_KEY_MAX, "v-%s-%" PRId64 "-%.16s", lower, version, sha256);
}

/* ---- the view ---- */

static lh_err *lh_show(lh_qsession *s, const char *missing, const lh_catalog_dataset *d,
                       const lh_qfill *f, const char *path)
{
    lh_qview v = {.version = f->version, .pinned = strchr(missing, '@') != NULL, .used = true};
    snprintf(v.name, sizeof v.name, "%s", missing);
    snprintf(v.dataset, sizeof v.dataset, "%s", d->name.s);
    snprintf(v.created, sizeof v.created, "%s", d->created.s ? d->created.s : "");
    snprintf(v.sha256, sizeof v.sha256, "%s", f->sha256);
    snprintf(v.path, sizeof v.path, "%s", path);
    return lh_qsession_add_view(s, &v);
}

/* Shows `name`, a dataset or pinned version not yet shown as a view. */
static lh_err *lh_resolve_one(lh_query_state *st, lh_qsession *s, const lh_catalog_dataset *d,
                              const lh_qref *ref, const char *name)
{
    lh_err *err = lh_check_version(d, ref);
    if (err)
        return err;
    lh_arena *a = lh_arena_create();
    lh_qfill f = {.st = st, .a = a, .name = d->name.s, .version = ref->version};
    const lh_catalog_version *v = d->version;
    if (ref->version) { /* an older version's sha256 needs catalog.get */
        err = lh_describe(&f);
        v = err ? NULL : f.full->version;
    } else {
        f.version = d->latest;
    }
    char key[LH_QUERY_KEY_MAX], path[PATH_MAX];
    if (!err) {
        f.sha256 = v->sha256.s;
        lh_cache_key(d->name.s, f.version, f.sha256, v->parquet, key);
        err = lh_qcache_acquire(st->cache, key, lh_fill, &f, path);
    }
    if (!err)
        err = lh_show(s, name, d, &f, path);
    lh_arena_destroy(a);
    return err;
}

lh_err *lh_qresolve_all(lh_query_state *st, lh_qsession *s, const lh_catalog_list_reply *cat,
                        const lh_qrefs *refs)
{
    lh_err *err = NULL;
    for (size_t i = 0; i < refs->n && !err; i++) {
        const char *name = refs->names[i];
        lh_qview *shown = lh_qsession_find_view(s, name);
        if (shown) {
            shown->used = true;
            continue;
        }
        lh_qref ref;
        bool is_ref = lh_parse_ref(name, &ref);
        const lh_catalog_dataset *d = is_ref ? lh_qcatalog_find(cat, ref.name) : NULL;
        if (d)
            err = lh_resolve_one(st, s, d, &ref, name);
        else if (lh_qrefs_is_cte(refs, name))
            continue;
        else if (is_ref && ref.version)
            err = lh_err_new(LH_ENOTFOUND, "sql", "no dataset named '%s'", ref.name);
        else
            err = lh_err_new(LH_EBADREQ, "sql", "no such table: %s", name);
    }
    return err;
}
