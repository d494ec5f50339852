/*
 * routes.c — THE route table: every HTTP route the gateway serves, in one
 * place. A bus route names the subject it calls, the actor serving it and
 * the shape of its JSON; a local route names its handler. Patterns are
 * literal segments, `{name}` (one segment) and a trailing `{name...}`
 * (the rest of the path); the matched values become message fields.
 * Health pings, metrics labels and the OpenAPI document all read this
 * table, so adding a route here is the whole job.
 */
#include "gateway/gw.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const lh_gw_route lh_gw_table[] = {
    {"POST", "/v1/embed", "embed.request", "embedd", &lh_gw_shape_native, NULL,
     "Embed texts into unit-length vectors."},
    {"POST", "/ai/embed", "embed.request", "embedd", &lh_gw_shape_ai_embed, NULL,
     "Embed texts, answered in the older lakehouse's shape."},
    {"POST", "/v1/embeddings", "embed.request", "embedd", &lh_gw_shape_openai_embeddings, NULL,
     "OpenAI-compatible embeddings."},
    {"POST", "/v1/vectors/indexes", "vector.create", "vectord", &lh_gw_shape_native, NULL,
     "Create a vector index."},
    {"GET", "/v1/vectors/indexes", "vector.list", "vectord", &lh_gw_shape_query, NULL,
     "List vector indexes."},
    {"GET", "/v1/vectors/indexes/{index}", "vector.stats", "vectord", &lh_gw_shape_query, NULL,
     "Counts, parameters and sizes of one index."},
    {"DELETE", "/v1/vectors/indexes/{index}", "vector.drop", "vectord", &lh_gw_shape_native,
     NULL, "Drop an index and everything in it."},
    {"POST", "/v1/vectors/indexes/{index}/upsert", "vector.upsert", "vectord",
     &lh_gw_shape_native, NULL, "Insert or replace items by id."},
    {"POST", "/v1/vectors/indexes/{index}/delete", "vector.delete", "vectord",
     &lh_gw_shape_native, NULL, "Delete items by id."},
    {"POST", "/v1/vectors/indexes/{index}/search", "vector.search", "vectord",
     &lh_gw_shape_native, NULL, "Nearest items to a vector, vectors or text."},
    {"POST", "/v1/vectors/search", "vector.search", "vectord", &lh_gw_shape_native, NULL,
     "Nearest items; the index is named in the body."},
    {"POST", "/v1/catalog/datasets", "catalog.create", "catalogd", &lh_gw_shape_native, NULL,
     "Create a dataset with no versions yet."},
    {"POST", "/v1/catalog/datasets/{name}/commit", "catalog.commit", "catalogd",
     &lh_gw_shape_native, NULL, "Record the next version of a dataset."},
    {"GET", "/v1/datasets", "catalog.list", "catalogd", &lh_gw_shape_query, NULL,
     "List datasets, each with its latest version; ?prefix= narrows by name."},
    {"GET", "/v1/datasets/{name}", "catalog.get", "catalogd", &lh_gw_shape_query, NULL,
     "A dataset's latest version (or ?version=N), with its schema and version history."},
    {"POST", "/v1/datasets/{name}", "storage.upload.begin", "storaged",
     &lh_gw_shape_dataset_upload, NULL,
     "Upload a CSV or JSON Lines file and ingest it as the dataset's next version, in one "
     "call."},
    {"DELETE", "/v1/datasets/{name}", "catalog.delete", "catalogd", &lh_gw_shape_native, NULL,
     "Delete a dataset and its version history."},
    {"POST", "/v1/ingest", "ingest.file", "ingestd", &lh_gw_shape_native, NULL,
     "Ingest a CSV or JSON Lines object (or inline content) into a dataset version."},
    {"GET", "/v1/ingest/{job}", "ingest.status", "ingestd", &lh_gw_shape_query, NULL,
     "An ingest job's state, counts and first row errors; ?wait=true answers when it is done."},
    {"POST", "/v1/sql", "query.sql", "queryd", &lh_gw_shape_sql, NULL,
     "Run one read-only SQL statement over the datasets."},
    {"PUT", "/v1/storage/{bucket}/{key...}", "storage.upload.begin", "storaged",
     &lh_gw_shape_storage_put, NULL,
     "Store an object: the body streamed up in parts, any size; X-Content-SHA256 is checked."},
    {"GET", "/v1/storage/{bucket}/{key...}", "storage.get", "storaged", &lh_gw_shape_storage_get,
     NULL,
     "Read an object, streamed (HEAD: headers only); one Range gives 206."},
    {"DELETE", "/v1/storage/{bucket}/{key...}", "storage.delete", "storaged",
     &lh_gw_shape_storage_delete, NULL, "Delete an object: 204, or 404 when there was none."},
    {"GET", "/v1/storage/{bucket}", "storage.list", "storaged", &lh_gw_shape_query, NULL,
     "A bucket's objects by key: ?prefix=&delimiter=&after=&limit=."},
    {"GET", "/v1/health", NULL, NULL, NULL, lh_gw_health,
     "Every actor the gateway fronts, up or down, with its round-trip time."},
    {"GET", "/metrics", NULL, NULL, NULL, lh_gw_metrics_route,
     "Prometheus metrics of the gateway."},
    {"GET", "/v1/openapi.json", NULL, NULL, NULL, lh_gw_openapi_route,
     "This document."},
};

#define LH_GW_N_ROUTES (sizeof lh_gw_table / sizeof lh_gw_table[0])

const lh_gw_route *lh_gw_routes(size_t *n)
{
    *n = LH_GW_N_ROUTES;
    return lh_gw_table;
}

/* Length of the path segment at s (up to '/' or the end). */
static size_t lh_gw_segment_len(const char *s) { return strcspn(s, "/"); }

static bool lh_gw_is_param(const char *seg, size_t len)
{
    return len >= 2 && seg[0] == '{' && seg[len - 1] == '}';
}

static bool lh_gw_is_rest_param(const char *seg, size_t len)
{
    return lh_gw_is_param(seg, len) && len >= 5 && !memcmp(seg + len - 4, "...}", 4);
}

static bool lh_gw_add_param(lh_gw_match *m, const char *pat, size_t plen, const char *val,
                            size_t vlen)
{
    if (m->n_params == LH_GW_MAX_PARAMS)
        return false;
    lh_gw_param *p = &m->params[m->n_params++];
    p->name = pat + 1;
    p->name_len = plen - 2;
    if (lh_gw_is_rest_param(pat, plen))
        p->name_len -= 3;
    p->value = val;
    p->value_len = vlen;
    return true;
}

bool lh_gw_pattern_match(const char *pattern, const char *path, lh_gw_match *m)
{
    m->n_params = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return false;
        p++, s++;
        size_t plen = lh_gw_segment_len(p), slen = lh_gw_segment_len(s);
        if (lh_gw_is_rest_param(p, plen)) {
            size_t rest = strlen(s);
            return p[plen] == '\0' && rest > 0 && lh_gw_add_param(m, p, plen, s, rest);
        }
        if (lh_gw_is_param(p, plen)) {
            if (slen == 0 || !lh_gw_add_param(m, p, plen, s, slen))
                return false;
        } else if (plen != slen || memcmp(p, s, plen)) {
            return false;
        }
        p += plen, s += slen;
    }
    return *p == '\0' && *s == '\0';
}

static bool lh_gw_method_matches(const char *route_method, const char *method)
{
    return !strcmp(route_method, method) ||
           (!strcmp(method, "HEAD") && !strcmp(route_method, "GET"));
}

static void lh_gw_allow_add(lh_gw_match *m, const char *method)
{
    size_t used = strlen(m->allow);
    snprintf(m->allow + used, sizeof m->allow - used, "%s%s", used ? ", " : "", method);
}

bool lh_gw_route_match(const char *method, const char *path, lh_gw_match *m)
{
    memset(m, 0, sizeof *m);
    m->index = -1;
    lh_gw_match probe;
    for (size_t i = 0; i < LH_GW_N_ROUTES; i++) {
        const lh_gw_route *r = &lh_gw_table[i];
        if (!lh_gw_pattern_match(r->pattern, path, &probe))
            continue;
        if (lh_gw_method_matches(r->method, method)) {
            memcpy(m->params, probe.params, sizeof probe.params);
            m->n_params = probe.n_params;
            m->route = r;
            m->index = (int)i;
            m->allow[0] = '\0';
            return true;
        }
        if (m->index < 0)
            m->index = (int)i;
        lh_gw_allow_add(m, r->method);
    }
    return false;
}

static const char *lh_gw_actors[LH_GW_N_ROUTES];
static size_t lh_gw_n_actors;
static pthread_once_t lh_gw_actors_once = PTHREAD_ONCE_INIT;

static void lh_gw_collect_actors(void)
{
    for (size_t i = 0; i < LH_GW_N_ROUTES; i++) {
        const char *a = lh_gw_table[i].actor;
        bool seen = !a;
        for (size_t j = 0; j < lh_gw_n_actors && !seen; j++)
            seen = !strcmp(lh_gw_actors[j], a);
        if (!seen)
            lh_gw_actors[lh_gw_n_actors++] = a;
    }
}

const char *const *lh_gw_route_actors(size_t *n)
{
    pthread_once(&lh_gw_actors_once, lh_gw_collect_actors);
    *n = lh_gw_n_actors;
    return lh_gw_actors;
}
