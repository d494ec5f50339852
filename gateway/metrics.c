/*
 * metrics.c — GET /metrics in the Prometheus text format.
 *
 *   lh_http_requests_total{route,method,status}   counter
 *   lh_http_request_duration_seconds{route}       histogram (time to answer)
 *   lh_http_requests_in_flight                    gauge
 *   lh_bus_pending_requests                       gauge (the mux's table)
 *   lh_actor_up{actor}                            gauge: answered $SRV.STATS
 *   lh_actor_requests_total{actor,instance,endpoint}   counter  } each actor's
 *   lh_actor_errors_total{actor,instance,endpoint}     counter  } own $SRV.STATS
 *   lh_actor_processing_seconds_total{...}             counter  } (the instance
 *   lh_actor_data{actor,instance,endpoint,key}         untyped  } that answered)
 *
 * The actor families come from one $SRV.STATS per actor of the route
 * table, asked at once while the scrape waits suspended (lh_gw_survey);
 * lh_actor_data carries the numbers of an endpoint's `data` (embedd's
 * cache hits and misses, for one).
 *
 * `route` is the route's pattern from the table (or "unmatched"), never the
 * raw path, so the label set stays bounded. Every counter is an atomic in
 * a fixed array indexed by route, method and status: recording takes no
 * lock and allocates nothing. The same observations, totalled, are the
 * gateway's "http" endpoint in $SRV.STATS (5xx answers count as errors).
 */
#include "gateway/gw.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define LH_GW_STATUS_MIN 100
#define LH_GW_N_STATUS 500 /* 100..599 */

static const char *const lh_gw_methods[LH_GW_N_METHODS] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "OTHER",
};

/* Upper bounds in seconds; the gateway adds well under a millisecond. */
static const double lh_gw_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                      0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5,
                                      5,      10,      30};
#define LH_GW_N_BOUNDS (sizeof lh_gw_bounds / sizeof lh_gw_bounds[0])

typedef struct lh_gw_hist {
    atomic_uint_fast64_t buckets[LH_GW_N_BOUNDS + 1]; /* not cumulative; last is +Inf */
    atomic_uint_fast64_t sum_ns;
    atomic_uint_fast64_t count;
} lh_gw_hist;

struct lh_gw_metrics {
    size_t n_keys; /* routes, plus the last key for "unmatched" */
    atomic_uint_fast64_t *requests; /* [key][method][status] */
    lh_gw_hist *hist;               /* [key] */
    /* Over every route, for the gateway's "http" endpoint in $SRV.STATS. */
    atomic_uint_fast64_t total_requests;
    atomic_uint_fast64_t total_errors; /* 5xx */
    atomic_uint_fast64_t total_ns;
    pthread_mutex_t mu; /* guards last_error */
    char last_error[256];
};

int lh_gw_method_index(const char *method)
{
    for (int i = 0; i < LH_GW_N_METHODS - 1; i++)
        if (!strcmp(method, lh_gw_methods[i]))
            return i;
    return LH_GW_N_METHODS - 1;
}

lh_gw_metrics *lh_gw_metrics_create(size_t n_routes)
{
    lh_gw_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->n_keys = n_routes + 1;
    /* calloc'd zeros are valid initial values for these lock-free atomics. */
    m->requests = calloc(m->n_keys * LH_GW_N_METHODS * LH_GW_N_STATUS, sizeof *m->requests);
    m->hist = calloc(m->n_keys, sizeof *m->hist);
    if (!m->requests || !m->hist) {
        free(m->requests);
        free(m->hist);
        free(m);
        return NULL;
    }
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

void lh_gw_metrics_destroy(lh_gw_metrics *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    free(m->requests);
    free(m->hist);
    free(m);
}

static size_t lh_gw_key(const lh_gw_metrics *m, int route)
{
    return route >= 0 && (size_t)route < m->n_keys - 1 ? (size_t)route : m->n_keys - 1;
}

static size_t lh_gw_bucket(int64_t ns)
{
    double s = (double)ns / 1e9;
    size_t b = 0;
    while (b < LH_GW_N_BOUNDS && s > lh_gw_bounds[b])
        b++;
    return b;
}

void lh_gw_metrics_observe(lh_gw_metrics *m, int route, int method, int status, int64_t ns)
{
    if (!m || status < LH_GW_STATUS_MIN || status >= LH_GW_STATUS_MIN + LH_GW_N_STATUS)
        return;
    size_t key = lh_gw_key(m, route);
    size_t at = (key * LH_GW_N_METHODS + (size_t)method) * LH_GW_N_STATUS +
                (size_t)(status - LH_GW_STATUS_MIN);
    atomic_fetch_add_explicit(&m->requests[at], 1, memory_order_relaxed);
    lh_gw_hist *h = &m->hist[key];
    atomic_fetch_add_explicit(&h->buckets[lh_gw_bucket(ns)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, ns > 0 ? (uint64_t)ns : 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->total_requests, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->total_errors, status >= 500, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->total_ns, ns > 0 ? (uint64_t)ns : 0, memory_order_relaxed);
}

void lh_gw_metrics_note_error(lh_gw_metrics *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&m->mu);
    vsnprintf(m->last_error, sizeof m->last_error, fmt, ap);
    pthread_mutex_unlock(&m->mu);
    va_end(ap);
}

void lh_gw_metrics_totals(lh_gw_metrics *m, lh_endpoint_stats *out)
{
    out->num_requests = atomic_load_explicit(&m->total_requests, memory_order_relaxed);
    out->num_errors = atomic_load_explicit(&m->total_errors, memory_order_relaxed);
    out->processing_ns = atomic_load_explicit(&m->total_ns, memory_order_relaxed);
    pthread_mutex_lock(&m->mu);
    snprintf(out->last_error, sizeof out->last_error, "%s", m->last_error);
    pthread_mutex_unlock(&m->mu);
}

/* ---- rendering ---- */

static const char *lh_gw_route_label(size_t key, const lh_gw_route *routes, size_t n_routes)
{
    return key < n_routes ? routes[key].pattern : "unmatched";
}

static void lh_gw_render_requests(const lh_gw_metrics *m, const lh_gw_route *routes,
                                  size_t n_routes, lh_buf *out)
{
    lh_buf_append_str(out, "# HELP lh_http_requests_total HTTP requests answered, by route "
                           "pattern, method and status.\n"
                           "# TYPE lh_http_requests_total counter\n");
    for (size_t key = 0; key < m->n_keys; key++)
        for (size_t meth = 0; meth < LH_GW_N_METHODS; meth++)
            for (size_t st = 0; st < LH_GW_N_STATUS; st++) {
                size_t at = (key * LH_GW_N_METHODS + meth) * LH_GW_N_STATUS + st;
                uint64_t v = atomic_load_explicit(&m->requests[at], memory_order_relaxed);
                if (v)
                    lh_buf_appendf(out,
                                   "lh_http_requests_total{route=\"%s\",method=\"%s\","
                                   "status=\"%zu\"} %llu\n",
                                   lh_gw_route_label(key, routes, n_routes), lh_gw_methods[meth],
                                   st + LH_GW_STATUS_MIN, (unsigned long long)v);
            }
}

static void lh_gw_render_hist(const lh_gw_hist *h, const char *route, lh_buf *out)
{
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= LH_GW_N_BOUNDS; b++) {
        cumulative += atomic_load_explicit(&h->buckets[b], memory_order_relaxed);
        char le[32] = "+Inf";
        if (b < LH_GW_N_BOUNDS)
            snprintf(le, sizeof le, "%g", lh_gw_bounds[b]);
        lh_buf_appendf(out,
                       "lh_http_request_duration_seconds_bucket{route=\"%s\",le=\"%s\"} %llu\n",
                       route, le, (unsigned long long)cumulative);
    }
    /* _count is the +Inf bucket, so the two agree even mid-update. */
    lh_buf_appendf(out, "lh_http_request_duration_seconds_sum{route=\"%s\"} %.9f\n", route,
                   (double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) / 1e9);
    lh_buf_appendf(out, "lh_http_request_duration_seconds_count{route=\"%s\"} %llu\n", route,
                   (unsigned long long)cumulative);
}

static void lh_gw_render_latency(const lh_gw_metrics *m, const lh_gw_route *routes,
                                 size_t n_routes, lh_buf *out)
{
    lh_buf_append_str(out, "# HELP lh_http_request_duration_seconds Time from the request's "
                           "headers to its response being queued.\n"
                           "# TYPE lh_http_request_duration_seconds histogram\n");
    for (size_t key = 0; key < m->n_keys; key++)
        if (atomic_load_explicit(&m->hist[key].count, memory_order_relaxed))
            lh_gw_render_hist(&m->hist[key], lh_gw_route_label(key, routes, n_routes), out);
}

/* Uses the mux under the same guard as a request, so stop cannot free it
 * underneath (see lh_gw_dispatch). */
static size_t lh_gw_bus_pending(lh_gw *gw)
{
    atomic_fetch_add(&gw->bus_in_flight, 1);
    size_t n = !atomic_load(&gw->draining) && gw->mux ? lh_mux_pending(gw->mux) : 0;
    atomic_fetch_sub(&gw->bus_in_flight, 1);
    return n;
}

void lh_gw_metrics_render(lh_gw *gw, lh_buf *out)
{
    size_t n_routes;
    const lh_gw_route *routes = lh_gw_routes(&n_routes);
    lh_gw_render_requests(gw->metrics, routes, n_routes, out);
    lh_gw_render_latency(gw->metrics, routes, n_routes, out);
    lh_buf_appendf(out,
                   "# HELP lh_http_requests_in_flight HTTP requests received and not yet "
                   "completed.\n# TYPE lh_http_requests_in_flight gauge\n"
                   "lh_http_requests_in_flight %d\n",
                   atomic_load(&gw->http_in_flight));
    lh_buf_appendf(out,
                   "# HELP lh_bus_pending_requests Bus requests awaiting a reply.\n"
                   "# TYPE lh_bus_pending_requests gauge\nlh_bus_pending_requests %zu\n",
                   lh_gw_bus_pending(gw));
}

/* ---- the actors' own counters ---- */

typedef enum { LH_GW_A_REQUESTS, LH_GW_A_ERRORS, LH_GW_A_SECONDS, LH_GW_A_DATA } lh_gw_afamily;

static void lh_gw_label(lh_buf *out, const char *name, const char *v, bool first)
{
    lh_buf_appendf(out, "%s%s=\"", first ? "" : ",", name);
    for (; *v; v++) { /* the text format's escapes */
        if (*v == '\\' || *v == '"')
            lh_buf_append(out, "\\", 1);
        if (*v == '\n')
            lh_buf_append_str(out, "\\n");
        else
            lh_buf_append(out, v, 1);
    }
    lh_buf_append(out, "\"", 1);
}

/* actor="..",instance=".." (the instance that answered: counters are
 * its own, so each instance is a series of its own). */
static void lh_gw_actor_labels(lh_buf *out, const char *actor, const char *instance)
{
    lh_gw_label(out, "actor", actor, true);
    lh_gw_label(out, "instance", instance ? instance : "", false);
}

/* One endpoint's samples of one family. */
static void lh_gw_render_endpoint(lh_gw_afamily fam, const char *actor, const char *instance,
                                  json_t *ep, lh_buf *out)
{
    static const char *const names[] = {"lh_actor_requests_total", "lh_actor_errors_total",
                                        "lh_actor_processing_seconds_total"};
    const char *endpoint = json_string_value(json_object_get(ep, "name"));
    if (!endpoint)
        return;
    if (fam != LH_GW_A_DATA) {
        static const char *const keys[] = {"num_requests", "num_errors", "processing_time"};
        json_t *v = json_object_get(ep, keys[fam]);
        double x = json_number_value(v) / (fam == LH_GW_A_SECONDS ? 1e9 : 1);
        lh_buf_appendf(out, "%s{", names[fam]);
        lh_gw_actor_labels(out, actor, instance);
        lh_gw_label(out, "endpoint", endpoint, false);
        lh_buf_appendf(out, fam == LH_GW_A_SECONDS ? "} %.9f\n" : "} %.0f\n", x);
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(ep, "data"), key, v) {
        if (!json_is_number(v))
            continue; /* only numbers are samples */
        lh_buf_append_str(out, "lh_actor_data{");
        lh_gw_actor_labels(out, actor, instance);
        lh_gw_label(out, "endpoint", endpoint, false);
        lh_gw_label(out, "key", key, false);
        lh_buf_appendf(out, "} %.17g\n", json_number_value(v));
    }
}

static void lh_gw_render_actors(lh_gw_req *req, lh_buf *out)
{
    static const char *const heads[] = {
        "# HELP lh_actor_requests_total Requests an actor's endpoint answered (its $SRV.STATS).\n"
        "# TYPE lh_actor_requests_total counter\n",
        "# HELP lh_actor_errors_total Of those, errors.\n# TYPE lh_actor_errors_total counter\n",
        "# HELP lh_actor_processing_seconds_total Time the endpoint spent answering.\n"
        "# TYPE lh_actor_processing_seconds_total counter\n",
        "# HELP lh_actor_data The numbers in an endpoint's stats data (cache hits, ...).\n"
        "# TYPE lh_actor_data untyped\n",
    };
    const char *actor;
    json_t *doc;
    lh_buf_append_str(out, "# HELP lh_actor_up Whether the actor answered $SRV.STATS for this "
                           "scrape.\n# TYPE lh_actor_up gauge\n");
    for (size_t i = 0; lh_gw_survey_results(req, &actor, &doc, i); i++) {
        lh_buf_append_str(out, "lh_actor_up{");
        lh_gw_label(out, "actor", actor, true);
        lh_buf_appendf(out, "} %d\n", doc != NULL);
    }
    for (int fam = LH_GW_A_REQUESTS; fam <= LH_GW_A_DATA; fam++) {
        lh_buf_append_str(out, heads[fam]);
        for (size_t i = 0; lh_gw_survey_results(req, &actor, &doc, i); i++) {
            size_t j;
            json_t *ep;
            const char *instance = json_string_value(json_object_get(doc, "id"));
            json_array_foreach(json_object_get(doc, "endpoints"), j, ep)
                lh_gw_render_endpoint((lh_gw_afamily)fam, actor, instance, ep, out);
        }
    }
}

static void lh_gw_metrics_finish(lh_gw_req *req)
{
    lh_buf_reset(&req->out);
    lh_gw_metrics_render(req->gw, &req->out);
    lh_gw_render_actors(req, &req->out);
    lh_gw_survey_release(req);
    lh_gw_respond(req, 200, &req->out, "text/plain; version=0.0.4; charset=utf-8");
}

void lh_gw_metrics_route(lh_gw_req *req) { lh_gw_survey(req, LH_DISCOVERY_STATS, lh_gw_metrics_finish); }
