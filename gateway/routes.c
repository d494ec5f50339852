/*
 * routes.c — THE route table: every HTTP route the gateway serves, in one
 * place. A bus route names the contract it calls (schemas/) and the shape
 * of its JSON; a local route names its handler. Patterns are
 * literal segments, `{name}` (one segment) and a trailing `{name...}`
 * (the rest of the path); the matched values become message fields.
 * Health pings, metrics labels and the OpenAPI document all read this
 * table, so adding a route here is the whole job.
 */
#include "gateway/gw.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "schemas/catalog.h"
#include "schemas/chat.h"
#include "schemas/embed.h"
#include "schemas/ingest.h"
#include "schemas/matrix.h"
#include "schemas/observer.h"
#include "schemas/pathway.h"
#include "schemas/query.h"
#include "schemas/storage.h"
#include "schemas/vector.h"
#include "gateway/gateway.h"

/* A bus route: its summary is its contract's doc. */
#define LH_GW_BUS(METHOD, PATTERN, CONTRACT, SHAPE) {METHOD, PATTERN, CONTRACT, SHAPE, NULL, NULL}
/* A bus route whose summary says more than its contract's doc. */
#define LH_GW_BUS_AS(METHOD, PATTERN, CONTRACT, SHAPE, SUMMARY) \
    {METHOD, PATTERN, CONTRACT, SHAPE, NULL, SUMMARY}
/* A route answered inside the gateway. */
#define LH_GW_LOCAL(METHOD, PATTERN, FN, SUMMARY) {METHOD, PATTERN, NULL, NULL, FN, SUMMARY}

static const lh_gw_route lh_gw_table[] = {
    LH_GW_BUS("POST", "/v1/embed", &lh_ep_embed_request, &lh_gw_shape_native),
    LH_GW_BUS_AS("POST", "/ai/embed", &lh_ep_embed_request, &lh_gw_shape_ai_embed,
                 "Embed texts, answered in the older lakehouse's shape."),
    LH_GW_BUS_AS("POST", "/v1/embeddings", &lh_ep_embed_request,
                 &lh_gw_shape_openai_embeddings, "OpenAI-compatible embeddings."),
    LH_GW_BUS("POST", "/v1/vectors/indexes", &lh_ep_vector_create, &lh_gw_shape_native),
    LH_GW_BUS("GET", "/v1/vectors/indexes", &lh_ep_vector_list, &lh_gw_shape_query),
    LH_GW_BUS("GET", "/v1/vectors/indexes/{index}", &lh_ep_vector_stats, &lh_gw_shape_query),
    LH_GW_BUS("DELETE", "/v1/vectors/indexes/{index}", &lh_ep_vector_drop, &lh_gw_shape_native),
    LH_GW_BUS("POST", "/v1/vectors/indexes/{index}/upsert", &lh_ep_vector_upsert,
              &lh_gw_shape_native),
    LH_GW_BUS("POST", "/v1/vectors/indexes/{index}/delete", &lh_ep_vector_delete,
              &lh_gw_shape_native),
    LH_GW_BUS("POST", "/v1/vectors/indexes/{index}/search", &lh_ep_vector_search,
              &lh_gw_shape_native),
    LH_GW_BUS_AS("POST", "/v1/vectors/search", &lh_ep_vector_search, &lh_gw_shape_native,
                 "The k nearest items to a vector, a batch of vectors or a text, filtered by "
                 "metadata; the index is named in the body."),
    LH_GW_BUS("POST", "/v1/matrix/retrieve", &lh_ep_matrix_retrieve, &lh_gw_shape_native),
    LH_GW_BUS("POST", "/v1/chat", &lh_ep_chat_complete, &lh_gw_shape_native_streamable),
    LH_GW_BUS_AS("POST", "/v1/chat/completions", &lh_ep_chat_complete, &lh_gw_shape_openai_chat,
                 "OpenAI-compatible chat completions (one choice); with `stream: true`, "
                 "chat.completion.chunk events."),
    LH_GW_BUS("GET", "/v1/chat/providers", &lh_ep_chat_providers, &lh_gw_shape_query),
    LH_GW_BUS("GET", "/v1/events", &lh_ep_observer_events, &lh_gw_shape_query_followable),
    LH_GW_BUS("GET", "/v1/observer/stats", &lh_ep_observer_stats, &lh_gw_shape_query),
    LH_GW_BUS("GET", "/v1/lineage", &lh_ep_pathway_lineage, &lh_gw_shape_query),
    LH_GW_BUS("GET", "/v1/lineage/trace", &lh_ep_pathway_trace, &lh_gw_shape_query),
    LH_GW_BUS("POST", "/v1/lineage", &lh_ep_pathway_record, &lh_gw_shape_native),
    LH_GW_BUS("GET", "/v1/lineage/openlineage", &lh_ep_pathway_openlineage,
              &lh_gw_shape_query),
    LH_GW_BUS("POST", "/v1/catalog/datasets", &lh_ep_catalog_create, &lh_gw_shape_native),
    LH_GW_BUS("POST", "/v1/catalog/datasets/{name}/commit", &lh_ep_catalog_commit,
              &lh_gw_shape_native),
    LH_GW_BUS("GET", "/v1/datasets", &lh_ep_catalog_list, &lh_gw_shape_query),
    LH_GW_BUS("GET", "/v1/datasets/{name}", &lh_ep_catalog_get, &lh_gw_shape_query),
    LH_GW_BUS_AS("POST", "/v1/datasets/{name}", &lh_ep_storage_upload_begin,
                 &lh_gw_shape_dataset_upload,
                 "Upload a CSV or JSON Lines file and ingest it as the dataset's next "
                 "version, in one call."),
    LH_GW_BUS("DELETE", "/v1/datasets/{name}", &lh_ep_catalog_delete, &lh_gw_shape_native),
    LH_GW_BUS("POST", "/v1/ingest", &lh_ep_ingest_file, &lh_gw_shape_native),
    LH_GW_BUS("GET", "/v1/ingest/{job}", &lh_ep_ingest_status, &lh_gw_shape_query),
    LH_GW_BUS("POST", "/v1/sql", &lh_ep_query_sql, &lh_gw_shape_sql),
    LH_GW_BUS_AS("PUT", "/v1/storage/{bucket}/{key...}", &lh_ep_storage_upload_begin,
                 &lh_gw_shape_storage_put,
                 "Store an object: the body streamed up in parts, any size; X-Content-SHA256 "
                 "is checked."),
    LH_GW_BUS_AS("GET", "/v1/storage/{bucket}/{key...}", &lh_ep_storage_get,
                 &lh_gw_shape_storage_get, "Read an object, streamed; one Range gives 206."),
    LH_GW_BUS_AS("HEAD", "/v1/storage/{bucket}/{key...}", &lh_ep_storage_head,
                 &lh_gw_shape_storage_get,
                 "An object's headers (size, sha256, ETag, Last-Modified) without its body."),
    LH_GW_BUS_AS("DELETE", "/v1/storage/{bucket}/{key...}", &lh_ep_storage_delete,
                 &lh_gw_shape_storage_delete,
                 "Delete an object: 204, or 404 when there was none."),
    LH_GW_BUS("GET", "/v1/storage/{bucket}", &lh_ep_storage_list, &lh_gw_shape_query),
    LH_GW_LOCAL("GET", "/v1/health", lh_gw_health,
                "Every actor the gateway fronts, up or down, with its round-trip time."),
    LH_GW_LOCAL("GET", "/metrics", lh_gw_metrics_route, "Prometheus metrics of the gateway."),
    LH_GW_LOCAL("GET", "/v1/openapi.json", lh_gw_openapi_route, "This document."),
};

#define LH_GW_N_ROUTES (sizeof lh_gw_table / sizeof lh_gw_table[0])

const lh_gw_route *lh_gw_routes(size_t *n)
{
    *n = LH_GW_N_ROUTES;
    return lh_gw_table;
}

size_t lh_gateway_routes(void) { return LH_GW_N_ROUTES; }

void lh_gateway_route(size_t i, lh_gateway_route_info *out)
{
    assert(i < LH_GW_N_ROUTES);
    const lh_gw_route *r = &lh_gw_table[i];
    const lh_gw_stream *st = lh_gw_route_stream(r);
    *out = (lh_gateway_route_info){
        .method = r->method,
        .pattern = r->pattern,
        .contract = r->contract,
        .body = r->shape ? r->shape->request_message : NULL,
        .own_reply = r->shape && r->shape->reply_schema,
        .summary = lh_gw_route_summary(r),
        .query = r->shape && (r->shape->query || (st && st->query)),
        .streamed = st != NULL,
        .body_type = st ? st->body_type : NULL,
        .reply_schema = st ? st->reply_schema : NULL,
    };
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

static void lh_gw_allow_add(lh_gw_match *m, const char *method)
{
    size_t used = strlen(m->allow);
    snprintf(m->allow + used, sizeof m->allow - used, "%s%s", used ? ", " : "", method);
}

static void lh_gw_take(lh_gw_match *m, const lh_gw_match *probe, size_t i)
{
    memcpy(m->params, probe->params, sizeof probe->params);
    m->n_params = probe->n_params;
    m->route = &lh_gw_table[i];
    m->index = (int)i;
    m->allow[0] = '\0';
}

/* A route of the method wins; HEAD falls back to the path's GET route
 * when no HEAD route is declared (the response is GET's without a body). */
bool lh_gw_route_match(const char *method, const char *path, lh_gw_match *m)
{
    memset(m, 0, sizeof *m);
    m->index = -1;
    lh_gw_match probe, head_get;
    int get_index = -1;
    bool head = !strcmp(method, "HEAD");
    for (size_t i = 0; i < LH_GW_N_ROUTES; i++) {
        const lh_gw_route *r = &lh_gw_table[i];
        if (!lh_gw_pattern_match(r->pattern, path, &probe))
            continue;
        if (!strcmp(r->method, method)) {
            lh_gw_take(m, &probe, i);
            return true;
        }
        if (head && get_index < 0 && !strcmp(r->method, "GET")) {
            head_get = probe;
            get_index = (int)i;
        }
        if (m->index < 0)
            m->index = (int)i;
        lh_gw_allow_add(m, r->method);
    }
    if (get_index >= 0) {
        lh_gw_take(m, &head_get, (size_t)get_index);
        return true;
    }
    return false;
}

static const char *lh_gw_actors[LH_GW_N_ROUTES];
static size_t lh_gw_n_actors;
static pthread_once_t lh_gw_actors_once = PTHREAD_ONCE_INIT;

static void lh_gw_collect_actors(void)
{
    for (size_t i = 0; i < LH_GW_N_ROUTES; i++) {
        const lh_contract *k = lh_gw_table[i].contract;
        const char *a = k ? k->service : NULL;
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
