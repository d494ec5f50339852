/*
 * bench_reqrep.c — `lh-bench`: closed-loop request-reply load on the bus.
 *
 *   lh-bench raw URL INFLIGHT SECONDS        nats.c echo responder in this
 *                                           process: the bus's physical limit
 *   lh-bench req URL INFLIGHT SECONDS SUBJECT BODY
 *                                           a running actor (e.g. embed.request)
 *   lh-bench texts URL INFLIGHT COUNT MODEL embed.request of COUNT distinct
 *                                           texts, one per request, in msgpack:
 *                                           `seconds=S` for them all (run it
 *                                           twice: the second pass is cached)
 *
 * Keeps exactly INFLIGHT requests outstanding on one connection (each
 * reply sends the next request from the reply callback), records every
 * round trip, and prints one line: `requests=N rps=R p50_us=A p99_us=B
 * errors=E`. Benchmarks live here, never in tests.
 */
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/buf.h"
#include "bus/json.h"

#define LH_BENCH_MAX_SAMPLES (8u << 20)

typedef struct lh_bench {
    natsConnection *nc;
    const char *subject;
    const char *body;
    int body_len;
    char inbox[64];
    int inflight;
    uint64_t *sent_at; /* per slot */
    uint64_t *samples;
    atomic_size_t n_samples;
    atomic_size_t errors;
    atomic_bool stop;
    /* texts mode: each request its own text, COUNT in all */
    const char *model;
    size_t count;
    atomic_size_t next;
    pthread_mutex_t mu;
    pthread_cond_t all_done;
} lh_bench;

static uint64_t lh_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* texts mode: `{"texts":["benchmark passage number N"],"model":M}` in msgpack. */
static void lh_bench_send_text(lh_bench *b, const char *reply)
{
    size_t n = atomic_fetch_add(&b->next, 1);
    if (n >= b->count)
        return;
    char json[512];
    snprintf(json, sizeof json, "{\"texts\":[\"benchmark passage number %zu\"],\"model\":\"%s\"}",
             n, b->model);
    lh_buf mp;
    lh_buf_init(&mp);
    lh_err *err = lh_json_to_msgpack(json, strlen(json), &mp);
    if (err) {
        fprintf(stderr, "lh-bench: %s\n", lh_err_message(err));
        exit(1);
    }
    natsConnection_PublishRequest(b->nc, b->subject, reply, mp.data, (int)mp.len);
    lh_buf_free(&mp);
}

static void lh_bench_send(lh_bench *b, int slot)
{
    char reply[96];
    snprintf(reply, sizeof reply, "%s.%d", b->inbox, slot);
    b->sent_at[slot] = lh_now_ns();
    if (b->count)
        lh_bench_send_text(b, reply);
    else
        natsConnection_PublishRequest(b->nc, b->subject, reply, b->body, b->body_len);
}

static void lh_on_reply(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    lh_bench *b = closure;
    const char *subj = natsMsg_GetSubject(msg);
    int slot = atoi(strrchr(subj, '.') + 1);
    uint64_t rtt = lh_now_ns() - b->sent_at[slot];
    const char *code = NULL;
    if (natsMsg_IsNoResponders(msg) ||
        natsMsgHeader_Get(msg, "Nats-Service-Error-Code", &code) == NATS_OK)
        atomic_fetch_add(&b->errors, 1);
    size_t i = atomic_fetch_add(&b->n_samples, 1);
    if (i < LH_BENCH_MAX_SAMPLES)
        b->samples[i] = rtt;
    natsMsg_Destroy(msg);
    if (b->count && i + 1 == b->count) {
        pthread_mutex_lock(&b->mu);
        pthread_cond_signal(&b->all_done);
        pthread_mutex_unlock(&b->mu);
    }
    if (!atomic_load(&b->stop))
        lh_bench_send(b, slot);
}

static void lh_on_echo(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)sub;
    (void)closure;
    natsConnection_Publish(nc, natsMsg_GetReply(msg), "{\"ok\":true}", 11);
    natsMsg_Destroy(msg);
}

static int lh_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static natsConnection *lh_bench_connect(const char *url)
{
    natsOptions *opts = NULL;
    natsConnection *nc = NULL;
    natsOptions_Create(&opts);
    natsOptions_SetURL(opts, url);
    natsOptions_SetSendAsap(opts, true);
    natsOptions_SetMaxPendingMsgs(opts, 1 << 20);
    natsStatus s = natsConnection_Connect(&nc, opts);
    natsOptions_Destroy(opts);
    if (s != NATS_OK) {
        fprintf(stderr, "lh-bench: connect %s: %s\n", url, natsStatus_GetText(s));
        exit(1);
    }
    return nc;
}

static void lh_bench_report(lh_bench *b, double seconds)
{
    size_t n = atomic_load(&b->n_samples);
    size_t kept = n < LH_BENCH_MAX_SAMPLES ? n : LH_BENCH_MAX_SAMPLES;
    qsort(b->samples, kept, sizeof *b->samples, lh_cmp_u64);
    double p50 = kept ? b->samples[kept / 2] / 1000.0 : 0;
    double p99 = kept ? b->samples[(size_t)(kept * 0.99)] / 1000.0 : 0;
    printf("requests=%zu rps=%.0f p50_us=%.1f p99_us=%.1f errors=%zu\n", n, n / seconds, p50, p99,
           atomic_load(&b->errors));
}

/* texts mode: waits until every one of the COUNT requests is answered. */
static double lh_bench_texts(lh_bench *b)
{
    uint64_t t0 = lh_now_ns();
    for (int i = 0; i < b->inflight; i++)
        lh_bench_send(b, i);
    pthread_mutex_lock(&b->mu);
    while (atomic_load(&b->n_samples) < b->count)
        pthread_cond_wait(&b->all_done, &b->mu);
    pthread_mutex_unlock(&b->mu);
    return (lh_now_ns() - t0) / 1e9;
}

int main(int argc, char **argv)
{
    bool texts = argc >= 6 && !strcmp(argv[1], "texts");
    if (argc < 5 || (strcmp(argv[1], "raw") && strcmp(argv[1], "req") && !texts) ||
        (!strcmp(argv[1], "req") && argc < 7) || (!strcmp(argv[1], "texts") && !texts)) {
        fprintf(stderr, "usage: lh-bench raw URL INFLIGHT SECONDS\n"
                        "       lh-bench req URL INFLIGHT SECONDS SUBJECT BODY\n"
                        "       lh-bench texts URL INFLIGHT COUNT MODEL\n");
        return 2;
    }
    bool raw = !strcmp(argv[1], "raw");
    lh_bench b = {.inflight = atoi(argv[3]),
                  .subject = raw ? "bench.echo" : texts ? "embed.request" : argv[5],
                  .body = raw ? "{\"texts\":[\"hello\"]}" : texts ? "" : argv[6]};
    if (texts) {
        b.count = (size_t)atol(argv[4]);
        b.model = argv[5];
        pthread_mutex_init(&b.mu, NULL);
        pthread_cond_init(&b.all_done, NULL);
    }
    double seconds = texts ? 0 : atof(argv[4]);
    b.body_len = (int)strlen(b.body);
    b.sent_at = calloc((size_t)b.inflight, sizeof *b.sent_at);
    b.samples = malloc(LH_BENCH_MAX_SAMPLES * sizeof *b.samples);
    natsConnection *echo_nc = NULL;
    natsSubscription *echo_sub = NULL, *sub = NULL;
    if (raw) {
        echo_nc = lh_bench_connect(argv[2]);
        natsConnection_QueueSubscribe(&echo_sub, echo_nc, "bench.echo", "q", lh_on_echo, NULL);
        natsConnection_Flush(echo_nc);
    }
    b.nc = lh_bench_connect(argv[2]);
    snprintf(b.inbox, sizeof b.inbox, "_BENCH.%d", (int)(lh_now_ns() % 1000000));
    char wildcard[80];
    snprintf(wildcard, sizeof wildcard, "%s.*", b.inbox);
    natsConnection_Subscribe(&sub, b.nc, wildcard, lh_on_reply, &b);
    natsSubscription_SetPendingLimits(sub, -1, -1);
    natsConnection_Flush(b.nc);
    if (texts) {
        double elapsed = lh_bench_texts(&b);
        printf("seconds=%.3f ", elapsed);
        lh_bench_report(&b, elapsed);
    } else {
        uint64_t t0 = lh_now_ns();
        for (int i = 0; i < b.inflight; i++)
            lh_bench_send(&b, i);
        nats_Sleep((int64_t)(seconds * 1000));
        atomic_store(&b.stop, true);
        double elapsed = (lh_now_ns() - t0) / 1e9;
        lh_bench_report(&b, elapsed);
    }
    nats_Sleep(200);
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(b.nc);
    natsSubscription_Destroy(echo_sub);
    natsConnection_Destroy(echo_nc);
    free(b.sent_at);
    free(b.samples);
    return 0;
}
