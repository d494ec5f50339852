/*
 * discovery.c — the NATS service API (ADR-32) for every actor: answers
 * $SRV.PING, $SRV.INFO and $SRV.STATS, bare, by name and by name.id, with
 * the io.nats.micro.v1 JSON documents, so `nats micro ls|info|stats` and
 * `lakehouse status` see every running instance. An actor's extra
 * endpoints (the gateway's HTTP) are listed and counted with the others.
 */
#include <stdio.h>
#include <string.h>

#include "bus/actor_internal.h"
#include "bus/event_log.h"
#include "bus/discovery_client.h"
#include "bus/json.h"
#include "bus/log.h"

static void lh_json_kv_str(lh_buf *out, const char *key, const char *val, bool comma)
{
    if (comma)
        lh_buf_append(out, ",", 1);
    lh_json_append_string(out, key, strlen(key));
    lh_buf_append(out, ":", 1);
    lh_json_append_string(out, val, strlen(val));
}

static void lh_srv_header(lh_actor *a, lh_buf *out, const char *type)
{
    char full[64];
    snprintf(full, sizeof full, "io.nats.micro.v1.%s", type);
    lh_buf_append(out, "{", 1);
    lh_json_kv_str(out, "type", full, false);
    lh_json_kv_str(out, "name", a->def->name, true);
    lh_json_kv_str(out, "id", a->id, true);
    lh_json_kv_str(out, "version", a->def->version, true);
    lh_buf_append_str(out, ",\"metadata\":{}");
}

void lh_actor_ping_json(lh_actor *a, lh_buf *out)
{
    lh_srv_header(a, out, "ping_response");
    lh_buf_append(out, "}", 1);
}

static void lh_endpoint_common(lh_buf *out, const char *name, const char *subject,
                               const char *queue_group)
{
    lh_buf_append(out, "{", 1);
    lh_json_kv_str(out, "name", name, false);
    lh_json_kv_str(out, "subject", subject, true);
    lh_json_kv_str(out, "queue_group", queue_group, true);
}

/* The runtime's own: the actor's event log, as an endpoint counting the
 * events it published (errors: dropped). */
static void lh_events_endpoint(lh_actor *a, lh_endpoint_stats *e)
{
    static _Thread_local char subject[96];
    snprintf(subject, sizeof subject, "events.%s.>", a->def->name);
    lh_event_log_counts c;
    lh_event_log_counts_get(a->events, &c);
    e->name = "events";
    e->subject = subject;
    e->num_requests = c.published;
    e->num_errors = c.dropped;
    snprintf(e->last_error, sizeof e->last_error, "%s", c.dropped ? c.last_error : "");
    snprintf(e->data, sizeof e->data,
             "\"queued\":%llu,\"published\":%llu,\"retries\":%llu,\"dropped\":%llu,"
             "\"pending\":%zu",
             (unsigned long long)c.queued, (unsigned long long)c.published,
             (unsigned long long)c.retries, (unsigned long long)c.dropped, c.pending);
}

/* The actor's extra endpoints (see lh_actor_def.extra_endpoints), then
 * the runtime's own. */
static size_t lh_extra_endpoints(lh_actor *a, lh_endpoint_stats *out)
{
    memset(out, 0, LH_EXTRA_ENDPOINTS_MAX * sizeof *out);
    size_t n = 0;
    if (a->def->extra_endpoints)
        n = a->def->extra_endpoints(a, a->state, out, LH_EXTRA_ENDPOINTS_MAX - 1);
    if (n > LH_EXTRA_ENDPOINTS_MAX - 1)
        n = LH_EXTRA_ENDPOINTS_MAX - 1;
    if (a->events)
        lh_events_endpoint(a, &out[n++]);
    return n;
}

void lh_actor_info_json(lh_actor *a, lh_buf *out)
{
    lh_srv_header(a, out, "info_response");
    lh_json_kv_str(out, "description", a->def->description ? a->def->description : "", true);
    lh_buf_append_str(out, ",\"endpoints\":[");
    size_t n = a->def->n_endpoints;
    for (size_t i = 0; i < n; i++) {
        const lh_contract *k = a->def->endpoints[i].contract;
        if (i)
            lh_buf_append(out, ",", 1);
        lh_endpoint_common(out, k->name, k->subject, "q");
        lh_buf_append_str(out, ",\"metadata\":{}}");
    }
    lh_endpoint_stats extra[LH_EXTRA_ENDPOINTS_MAX];
    size_t n_extra = lh_extra_endpoints(a, extra);
    for (size_t i = 0; i < n_extra; i++) {
        if (n + i)
            lh_buf_append(out, ",", 1);
        /* Not a queue subscription: no queue group. */
        lh_endpoint_common(out, extra[i].name, extra[i].subject, "");
        lh_buf_append_str(out, ",\"metadata\":{}}");
    }
    lh_buf_append_str(out, "]}");
}

/* The counters of one stats_response endpoint, after its common fields. */
static void lh_endpoint_counts(lh_buf *out, uint64_t n, uint64_t errors, const char *last_error,
                               uint64_t ns)
{
    lh_buf_appendf(out, ",\"num_requests\":%llu,\"num_errors\":%llu", (unsigned long long)n,
                   (unsigned long long)errors);
    lh_json_kv_str(out, "last_error", last_error, true);
    lh_buf_appendf(out, ",\"processing_time\":%llu,\"average_processing_time\":%llu}",
                   (unsigned long long)ns, (unsigned long long)(n ? ns / n : 0));
}

/* `,"data":{...}` when the actor has numbers of its own for the endpoint. */
static void lh_endpoint_data(lh_actor *a, const lh_contract *k, lh_buf *out)
{
    if (!a->def->stats_data)
        return;
    size_t mark = out->len;
    lh_buf_append_str(out, ",\"data\":{");
    size_t inner = out->len;
    a->def->stats_data(a, a->state, k, out);
    if (out->len == inner)
        out->len = mark; /* nothing to say: no data member */
    else
        lh_buf_append(out, "}", 1);
}

static void lh_endpoint_stats_json(lh_actor *a, lh_endpoint_rt *ep, lh_buf *out)
{
    const lh_contract *k = ep->def->contract;
    char last_error[LH_LAST_ERROR_MAX];
    pthread_mutex_lock(&ep->mu);
    memcpy(last_error, ep->last_error, sizeof last_error);
    pthread_mutex_unlock(&ep->mu);
    lh_endpoint_common(out, k->name, k->subject, "q");
    lh_endpoint_data(a, k, out);
    lh_endpoint_counts(out, atomic_load(&ep->num_requests), atomic_load(&ep->num_errors),
                       last_error, atomic_load(&ep->processing_ns));
}

void lh_actor_stats_json(lh_actor *a, lh_buf *out)
{
    lh_srv_header(a, out, "stats_response");
    lh_buf_append_str(out, ",\"endpoints\":[");
    size_t n = a->def->n_endpoints;
    for (size_t i = 0; i < n; i++) {
        if (i)
            lh_buf_append(out, ",", 1);
        lh_endpoint_stats_json(a, &a->eps[i], out);
    }
    lh_endpoint_stats extra[LH_EXTRA_ENDPOINTS_MAX];
    size_t n_extra = lh_extra_endpoints(a, extra);
    for (size_t i = 0; i < n_extra; i++) {
        const lh_endpoint_stats *e = &extra[i];
        if (n + i)
            lh_buf_append(out, ",", 1);
        lh_endpoint_common(out, e->name, e->subject, "");
        if (e->data[0])
            lh_buf_appendf(out, ",\"data\":{%s}", e->data);
        lh_endpoint_counts(out, e->num_requests, e->num_errors, e->last_error, e->processing_ns);
    }
    lh_buf_append_str(out, "],");
    lh_json_kv_str(out, "started", a->started, false);
    lh_buf_append(out, "}", 1);
}

typedef void (*lh_srv_doc_fn)(lh_actor *a, lh_buf *out);

static void lh_on_srv(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)sub;
    lh_actor *a = closure;
    const char *subj = natsMsg_GetSubject(msg);
    const char *reply = natsMsg_GetReply(msg);
    lh_srv_doc_fn doc = strncmp(subj, "$SRV.PING", 9) == 0   ? lh_actor_ping_json
                        : strncmp(subj, "$SRV.INFO", 9) == 0 ? lh_actor_info_json
                                                             : lh_actor_stats_json;
    if (reply && *reply) {
        lh_buf out;
        lh_buf_init(&out);
        doc(a, &out);
        natsConnection_Publish(nc, reply, out.data, (int)out.len);
        lh_buf_free(&out);
    }
    natsMsg_Destroy(msg);
}

lh_err *lh_discovery_subscribe(lh_actor *a)
{
    natsConnection *nc = lh_conn_nats(a->conn);
    const char *names[] = {NULL, a->def->name, a->def->name};
    const char *ids[] = {NULL, NULL, a->id};
    int k = 0;
    for (int v = LH_DISCOVERY_PING; v <= LH_DISCOVERY_STATS; v++) {
        for (int s = 0; s < 3; s++, k++) {
            char subj[160];
            lh_err *err = lh_discovery_subject((lh_discovery_verb)v, names[s], ids[s], subj,
                                               sizeof subj);
            if (err)
                return err;
            natsStatus st = natsConnection_Subscribe(&a->srv[k], nc, subj, lh_on_srv, a);
            if (st != NATS_OK)
                return lh_err_from_nats(st, subj);
        }
    }
    return NULL;
}

void lh_discovery_unsubscribe(lh_actor *a)
{
    for (int k = 0; k < LH_SRV_SUBS; k++) {
        if (a->srv[k]) {
            natsSubscription_Unsubscribe(a->srv[k]);
            natsSubscription_Destroy(a->srv[k]);
            a->srv[k] = NULL;
        }
    }
}
