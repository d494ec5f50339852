/*
 * bench_events.c — `lh-bench-events`: the event log's benchmarks that need
 * more than request-reply load (ops/bench/events.sh runs them all).
 *
 *   lh-bench-events fill URL N     N events published into the log (the
 *                                  stream EVENTS) as fast as JetStream
 *                                  takes them, acknowledged asynchronously
 *   lh-bench-events replay URL [BATCH]
 *                                  observer.replay of the whole log to a
 *                                  subject this program counts, timed from
 *                                  the request to the end message; BATCH
 *                                  events per message (default 1)
 *   lh-bench-events read URL       the whole log read by an ordered
 *                                  consumer doing nothing with it: the
 *                                  bound a reader meets
 *   lh-bench-events graph DIR N    a lineage graph of N edges shaped like
 *                                  the platform's own, written straight
 *                                  into pathwayd's store at DIR
 *
 * Each prints one line of `name=value` figures. Benchmarks live here,
 * never in tests.
 */
#include <nats/nats.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/pathway/graph.h"
#include "bus/buf.h"
#include "bus/conn.h"
#include "bus/events.h"
#include "bus/schema.h"
#include "schemas/observer.h"
#include "schemas/vector.h"

static double lh_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static natsConnection *lh_connect(const char *url)
{
    natsConnection *nc = NULL;
    natsStatus s = natsConnection_ConnectTo(&nc, url);
    if (s != NATS_OK) {
        fprintf(stderr, "lh-bench-events: connect %s: %s\n", url, natsStatus_GetText(s));
        exit(1);
    }
    return nc;
}

/* ---- fill ---- */

static atomic_long lh_fill_errors;

static void lh_on_publish_error(jsCtx *js, jsPubAckErr *pae, void *closure)
{
    (void)js, (void)closure;
    if (atomic_fetch_add(&lh_fill_errors, 1) == 0)
        fprintf(stderr, "lh-bench-events: publish: %s\n", pae->ErrText);
}

static int lh_fill(const char *url, long n)
{
    lh_conn *conn = NULL;
    lh_conn_opts co = {.url = url, .name = "lh-bench-events"};
    lh_err *err = lh_conn_create(&co, &conn);
    if (!err)
        err = lh_events_ensure_stream(conn); /* as the first actor to tell would */
    if (err) {
        fprintf(stderr, "lh-bench-events: %s\n", lh_err_message(err));
        return 1;
    }
    natsConnection *nc = lh_conn_nats(conn);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = 4096;
    jo.PublishAsync.ErrHandler = lh_on_publish_error;
    jsCtx *js = NULL;
    natsConnection_JetStream(&js, nc, &jo);
    lh_buf data, msg;
    lh_buf_init(&data);
    lh_buf_init(&msg);
    double t0 = lh_now_s();
    for (long i = 0; i < n; i++) {
        lh_vector_items_event ev = {.index = {"kb", 2}};
        LH_SET(&ev, items, i);
        lh_buf_reset(&data);
        lh_buf_reset(&msg);
        lh_message_encode(&lh_vector_items_event_schema, &ev, &data);
        char id[32];
        snprintf(id, sizeof id, "bench%017ld", i);
        lh_event_envelope env = {.id = {id, strlen(id)}, .time = {"2026-12-03T10:00:00.000Z", 24},
                                 .actor = {"benchd", 6}, .instance = {"bench", 5},
                                 .type = {"benchd.counted", 14}, .data = {data.data, data.len}};
        lh_message_encode(&lh_event_envelope_schema, &env, &msg);
        natsMsg *m = NULL;
        natsMsg_Create(&m, "events.benchd.counted", NULL, msg.data, (int)msg.len);
        natsMsgHeader_Set(m, "Nats-Msg-Id", id);
        natsStatus s = js_PublishMsgAsync(js, &m, NULL);
        if (s != NATS_OK) {
            fprintf(stderr, "lh-bench-events: publish: %s\n", natsStatus_GetText(s));
            return 1;
        }
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 60000;
    js_PublishAsyncComplete(js, &po);
    double secs = lh_now_s() - t0;
    long errors = atomic_load(&lh_fill_errors);
    printf("events=%ld seconds=%.3f events_per_s=%.0f errors=%ld\n", n - errors, secs,
           (n - errors) / secs, errors);
    lh_buf_free(&data);
    lh_buf_free(&msg);
    jsCtx_Destroy(js);
    lh_conn_destroy(conn);
    return errors ? 1 : 0;
}

/* ---- replay ---- */

typedef struct lh_counter {
    atomic_long n;
    atomic_bool ended;
} lh_counter;

static void lh_on_replayed(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg)
{
    (void)nc, (void)sub;
    lh_counter *c = arg;
    const char *v = NULL;
    if (natsMsgHeader_Get(m, "Lh-Replay-End", &v) == NATS_OK)
        atomic_store(&c->ended, true);
    else if (natsMsgHeader_Get(m, "Lh-Replay-Batch", &v) == NATS_OK)
        atomic_fetch_add(&c->n, atol(v)); /* a batch: that many events */
    else
        atomic_fetch_add(&c->n, 1);
    natsMsg_Destroy(m);
}

static int lh_replay(const char *url, int batch)
{
    natsConnection *nc = lh_connect(url);
    lh_counter c = {0};
    natsSubscription *sub = NULL;
    natsConnection_Subscribe(&sub, nc, "bench.replayed", lh_on_replayed, &c);
    natsSubscription_SetPendingLimits(sub, -1, -1);
    natsConnection_Flush(nc);
    lh_buf body;
    lh_buf_init(&body);
    lh_observer_replay_request req = {.to_subject = {"bench.replayed", 14}};
    LH_SET(&req, batch, batch);
    lh_message_encode_given(lh_ep_observer_replay.request, &req, &body);
    double t0 = lh_now_s();
    natsMsg *reply = NULL;
    natsStatus s = natsConnection_Request(&reply, nc, lh_ep_observer_replay.subject, body.data,
                                          (int)body.len, 600000);
    while (s == NATS_OK && !atomic_load(&c.ended))
        nats_Sleep(1);
    double secs = lh_now_s() - t0;
    long n = atomic_load(&c.n);
    if (s != NATS_OK)
        fprintf(stderr, "lh-bench-events: replay: %s\n", natsStatus_GetText(s));
    else
        printf("replayed=%ld batch=%d seconds=%.3f events_per_s=%.0f\n", n, batch, secs,
               n / secs);
    natsMsg_Destroy(reply);
    lh_buf_free(&body);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
    return s == NATS_OK ? 0 : 1;
}

/* ---- read ---- */

/* The whole log through an ordered consumer, nothing done with it: the
 * bound any reader of the log on this connection meets. */
static int lh_read(const char *url)
{
    natsConnection *nc = lh_connect(url);
    jsCtx *js = NULL;
    natsConnection_JetStream(&js, nc, NULL);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = LH_EVENTS_STREAM;
    so.Ordered = true;
    natsSubscription *sub = NULL;
    jsErrCode jerr = 0;
    double t0 = lh_now_s();
    natsStatus s = js_SubscribeSync(&sub, js, "events.>", NULL, &so, &jerr);
    natsSubscription_SetPendingLimits(sub, -1, -1);
    long n = 0;
    for (uint64_t left = 1; s == NATS_OK && left;) {
        natsMsg *m = NULL;
        s = natsSubscription_NextMsg(&m, sub, 5000);
        jsMsgMetaData *meta = NULL;
        if (s == NATS_OK && natsMsg_GetMetaData(&meta, m) == NATS_OK)
            left = meta->NumPending;
        jsMsgMetaData_Destroy(meta);
        natsMsg_Destroy(m);
        n += s == NATS_OK;
    }
    double secs = lh_now_s() - t0;
    printf("read=%ld seconds=%.3f events_per_s=%.0f\n", n, secs, n / secs);
    natsSubscription_Destroy(sub);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return s == NATS_OK ? 0 : 1;
}

/* ---- graph ---- */

static lh_str lh_name(char *buf, size_t cap, const char *fmt, long i)
{
    int n = snprintf(buf, cap, fmt, i);
    return (lh_str){buf, (size_t)n};
}

/* One edge from->to of `step`, run r. */
static void lh_edge(lh_pw_graph *g, lh_str from, lh_str to, const char *step, long r)
{
    char run[32];
    snprintf(run, sizeof run, "run%ld", r);
    lh_pathway_edge e = {.from = from, .to = to, .step = {step, strlen(step)},
                         .run = {run, strlen(run)}, .time = {"2026-12-03T10:00:00.000Z", 24}};
    lh_pw_graph_join(g, &e, true);
}

/*
 * The platform's shape, for n edges: objects ingested 1:1 into dataset
 * versions (10%), versions embedded into 50 indexes (10%), each version
 * read by 5 queries, a query reading 2 versions (50%), and answers citing
 * the indexes (30%).
 */
static int lh_graph(const char *dir, long n)
{
    lh_pw_graph *g = NULL;
    lh_err *err = lh_pw_graph_open(dir, &g);
    if (err) {
        fprintf(stderr, "lh-bench-events: %s\n", lh_err_message(err));
        return 1;
    }
    double t0 = lh_now_s();
    long datasets = n / 10, edges = 0;
    char a[128], b[128];
    for (long i = 0; i < datasets; i++) {
        lh_str ds = lh_name(b, sizeof b, "dataset:d%ld@1", i);
        lh_edge(g, lh_name(a, sizeof a, "object:src/f%ld.csv@abc", i), ds, "ingest", i);
        lh_edge(g, ds, lh_name(a, sizeof a, "index:ix%ld", i % 50), "embed", i);
        for (long q = 0; q < 5; q++) /* query k reads versions k/2.5 and the next */
            lh_edge(g, ds, lh_name(a, sizeof a, "query:q%ld", (i * 5 + q) / 2), "query", i * 5 + q);
        edges += 7;
    }
    for (long c = 0; edges < n; c++, edges++)
        lh_edge(g, lh_name(a, sizeof a, "index:ix%ld", c % 50),
                lh_name(b, sizeof b, "chat:c%ld", c), "chat", c);
    err = lh_pw_graph_keep(g, 0);
    double secs = lh_now_s() - t0;
    printf("edges=%ld seconds=%.3f edges_per_s=%.0f\n", edges, secs, edges / secs);
    lh_pw_graph_close(g);
    lh_err_free(err);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "fill"))
        return lh_fill(argv[2], atol(argv[3]));
    if ((argc == 3 || argc == 4) && !strcmp(argv[1], "replay"))
        return lh_replay(argv[2], argc == 4 ? atoi(argv[3]) : 1);
    if (argc == 3 && !strcmp(argv[1], "read"))
        return lh_read(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "graph"))
        return lh_graph(argv[2], atol(argv[3]));
    fprintf(stderr, "usage: lh-bench-events fill URL N\n"
                    "       lh-bench-events replay URL [BATCH]\n"
                    "       lh-bench-events read URL\n"
                    "       lh-bench-events graph DIR N\n");
    return 2;
}
