/*
 * bench_vector.cpp — vector search benchmark, two halves on the same
 * seeded data and queries:
 *
 * In-process (default): the physical limit under vectord. faiss through
 * our shim (SIMD kernels, our graph walk), stock faiss IndexHNSWFlat
 * (Debian's scalar kernels, its own search), and hnswlib (the peer;
 * header-only, its kernels compiled for AVX2+FMA here). Reports build
 * time, recall@10 against exact search, and single-query throughput with
 * p50/p99 latency at 1 and 2 search threads.
 *
 * Bus (--bus nats://...): a running vectord. Creates an index (cosine,
 * HNSW), upserts every vector over the bus in msgpack batches (vectors as
 * bin of float32) and times the build until the last ack, measures
 * recall@10 of vector.search replies, then closed-loop single-query
 * throughput with N requests in flight on one connection (each reply
 * sends the next request). With --http it also measures recall through
 * the gateway and, with --bodies, writes the queries as JSON bodies (one
 * per line) for wrk (ops/bench/post_vector.lua). ops/bench/vector.sh runs
 * both halves and writes docs/BENCHMARKS.md.
 *
 *   lh-bench-vector [--n 100000] [--dim 384] [--queries 1000] [--m 32]
 *                   [--ef-construction 200] [--ef-search auto|N]
 *                   [--clusters 100] [--spread 1.0] [--seconds 3] [--rounds 3]
 *                   [--seed 1] [--output md|kv]
 *                   [--bus URL [--http URL] [--bodies PATH] [--index NAME]
 *                    [--inflight 1,32] [--batch 1000] [--settle S]]
 *
 * --ef-search auto picks the smallest ef_search (from a fixed ladder) at
 * which every engine reaches recall@10 >= 0.95; all engines then run at
 * that ef (in bus mode the one engine is vectord). Data: --clusters
 * Gaussian centres, points = centre + spread * N(0, I), normalised, so
 * inner product is cosine. Queries come from the same mixture and are not
 * indexed. Ground truth is faiss's exact IndexFlatIP (BLAS), independent
 * of our kernels. --output kv prints key=value lines for scripts.
 */
extern "C" {
#include "bus/buf.h"
#include "bus/codec.h"
#include "bus/conn.h"
#include "bus/err.h"
#include "bus/request.h"
#include "bus/schema.h"
#include "schemas/vector.h"
}
#include "actors/vector/faiss_kernels.h"
#include "actors/vector/faiss_shim.h"

#include <curl/curl.h>
#include <jansson.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>

/* hnswlib picks its kernels at compile time from the target macros; this
 * gives it AVX2 (a level every machine that runs our AVX2 kernels has). */
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#include <hnswlib/hnswlib.h>
#pragma GCC pop_options

/* Vectors travel as msgpack bin of little-endian float32: our memory. */
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "bin vectors are little-endian");

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kK = 10;
constexpr double kTargetRecall = 0.95;
const int kLadder[] = {16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 1024};

struct Options {
    size_t n = 100000, dim = 384, queries = 1000;
    int m = 32, ef_construction = 200, ef_search = 0; /* 0: auto */
    int clusters = 100;
    float spread = 1.0f;
    double seconds = 3.0;
    int rounds = 3;
    uint64_t seed = 1;
    bool kv = false;
    /* bus mode */
    std::string bus, http, bodies, index = "bench";
    std::vector<int> inflight = {1, 32};
    size_t batch = 1000;
    double settle = 0;
};

[[noreturn]] void usage(const char *bad)
{
    fprintf(stderr,
            "lh-bench-vector: bad argument %s\n"
            "usage: lh-bench-vector [--n N] [--dim D] [--queries Q] [--m M]\n"
            "       [--ef-construction E] [--ef-search auto|N] [--clusters C]\n"
            "       [--spread S] [--seconds S] [--rounds R] [--seed S] [--output md|kv]\n"
            "       [--bus URL [--http URL] [--bodies PATH] [--index NAME]\n"
            "        [--inflight 1,32] [--batch 1000] [--settle S]]\n",
            bad);
    exit(2);
}

std::vector<int> parse_list(const char *v)
{
    std::vector<int> out;
    for (const char *p = v; *p;) {
        char *end = nullptr;
        long x = strtol(p, &end, 10);
        if (end == p || x < 1 || x > 4096)
            usage(v);
        out.push_back((int)x);
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            usage(v);
    }
    if (out.empty())
        usage(v);
    return out;
}

bool parse_bus_option(Options &o, const std::string &a, const char *v)
{
    if (a == "--output") {
        if (strcmp(v, "md") && strcmp(v, "kv"))
            usage(v);
        o.kv = strcmp(v, "kv") == 0;
    } else if (a == "--bus") o.bus = v;
    else if (a == "--http") o.http = v;
    else if (a == "--bodies") o.bodies = v;
    else if (a == "--index") o.index = v;
    else if (a == "--inflight") o.inflight = parse_list(v);
    else if (a == "--batch") o.batch = strtoull(v, nullptr, 10);
    else if (a == "--settle") o.settle = strtod(v, nullptr);
    else return false;
    return true;
}

Options parse(int argc, char **argv)
{
    Options o;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (i + 1 >= argc)
            usage(argv[i]);
        const char *v = argv[++i];
        if (a == "--n") o.n = strtoull(v, nullptr, 10);
        else if (a == "--dim") o.dim = strtoull(v, nullptr, 10);
        else if (a == "--queries") o.queries = strtoull(v, nullptr, 10);
        else if (a == "--m") o.m = atoi(v);
        else if (a == "--ef-construction") o.ef_construction = atoi(v);
        else if (a == "--ef-search") o.ef_search = strcmp(v, "auto") == 0 ? 0 : atoi(v);
        else if (a == "--clusters") o.clusters = atoi(v);
        else if (a == "--spread") o.spread = strtof(v, nullptr);
        else if (a == "--seconds") o.seconds = strtod(v, nullptr);
        else if (a == "--rounds") o.rounds = atoi(v);
        else if (a == "--seed") o.seed = strtoull(v, nullptr, 10);
        else if (!parse_bus_option(o, a, v)) usage(a.c_str());
    }
    if (o.n < (size_t)kK || o.dim < 1 || o.queries < 1 || o.clusters < 1 || o.seconds <= 0 ||
        o.rounds < 1 || o.ef_search < 0 || o.batch < 1 || o.batch > LH_VECTOR_MAX_ITEMS ||
        o.settle < 0)
        usage("(values out of range)");
    if (o.bus.empty() && (!o.http.empty() || !o.bodies.empty()))
        usage("(--http and --bodies need --bus)");
    return o;
}

/* The 1-minute load average: other work on the machine skews figures. */
std::string load_average()
{
    char buf[64] = "?";
    if (FILE *f = fopen("/proc/loadavg", "r")) {
        if (fscanf(f, "%63s", buf) != 1)
            strcpy(buf, "?");
        fclose(f);
    }
    return buf;
}

double seconds_since(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

uint64_t now_ns()
{
    return (uint64_t)std::chrono::duration_cast<std::chrono::nanoseconds>(
               Clock::now().time_since_epoch())
        .count();
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

/* Latency percentile in microseconds; sorts `ns`. */
double percentile_us(std::vector<uint64_t> &ns, double p)
{
    if (ns.empty())
        return 0;
    std::sort(ns.begin(), ns.end());
    size_t i = std::min(ns.size() - 1, (size_t)(p * (double)ns.size()));
    return (double)ns[i] / 1000.0;
}

/* One closed-loop figure: throughput (median of rounds, with the slowest
 * and fastest round: a wide range means other work shared the cores) and
 * latency percentiles over every round's samples. */
struct Figure {
    double qps = 0, lo = 0, hi = 0, p50_us = 0, p99_us = 0;
};

Figure summarize(const std::vector<double> &qps, std::vector<uint64_t> &samples)
{
    auto [lo, hi] = std::minmax_element(qps.begin(), qps.end());
    return Figure{median(qps), *lo, *hi, percentile_us(samples, 0.50),
                  percentile_us(samples, 0.99)};
}

/* ---- data ---- */

/* n + queries unit vectors from one Gaussian mixture; the first n are
 * indexed, the rest are queries. */
std::vector<float> mixture(const Options &o)
{
    std::mt19937_64 rng(o.seed);
    std::normal_distribution<float> gauss;
    std::vector<float> centres((size_t)o.clusters * o.dim);
    for (float &c : centres)
        c = gauss(rng);
    std::vector<float> x((o.n + o.queries) * o.dim);
    for (size_t i = 0; i < o.n + o.queries; i++) {
        const float *c = &centres[(rng() % (uint64_t)o.clusters) * o.dim];
        float *v = &x[i * o.dim];
        double ss = 0;
        for (size_t j = 0; j < o.dim; j++) {
            v[j] = c[j] + o.spread * gauss(rng);
            ss += (double)v[j] * v[j];
        }
        float inv = (float)(1.0 / std::sqrt(ss));
        for (size_t j = 0; j < o.dim; j++)
            v[j] *= inv;
    }
    return x;
}

std::vector<faiss::Index::idx_t> ground_truth(const Options &o, const float *base,
                                              const float *queries)
{
    faiss::IndexFlatIP exact((faiss::Index::idx_t)o.dim);
    exact.add((faiss::Index::idx_t)o.n, base);
    std::vector<float> d(o.queries * kK);
    std::vector<faiss::Index::idx_t> labels(o.queries * kK);
    exact.search((faiss::Index::idx_t)o.queries, queries, kK, d.data(), labels.data());
    return labels;
}

struct Workload {
    const Options &o;
    const float *queries;
    const std::vector<faiss::Index::idx_t> &truth;
};

/* recall@10 of answers from `search(q, labels)` for every query. */
double recall_of(const Workload &w, const std::function<void(size_t, int64_t *)> &search)
{
    size_t hits = 0;
    int64_t got[kK];
    for (size_t q = 0; q < w.o.queries; q++) {
        search(q, got);
        const faiss::Index::idx_t *want = &w.truth[q * kK];
        for (int i = 0; i < kK; i++)
            for (int j = 0; j < kK; j++)
                hits += got[i] >= 0 && got[i] == want[j];
    }
    return (double)hits / (double)(w.o.queries * kK);
}

/* ---- engines ---- */

struct Engine {
    std::string key, name, kernels; /* key: a word for --output kv */
    double build_seconds = -1;      /* < 0: shares another row's index */
    virtual ~Engine() = default;
    virtual void set_ef(int ef) = 0;
    virtual void thread_setup() {}
    virtual void done() {} /* after a measurement */
    virtual void search(const float *q, int64_t *labels) const = 0;
};

struct ShimEngine : Engine {
    lh_fx_index *ix = nullptr;
    int ef = 0;
    ~ShimEngine() override { lh_fx_destroy(ix); }
    void set_ef(int e) override { ef = e; }
    void search(const float *q, int64_t *labels) const override
    {
        float d[kK];
        lh_err *err = lh_fx_search(ix, q, kK, ef, nullptr, nullptr, d, labels);
        if (err) {
            fprintf(stderr, "shim search: %s\n", lh_err_message(err));
            exit(1);
        }
    }
};

std::unique_ptr<ShimEngine> build_shim(const Options &o, const float *base)
{
    auto e = std::make_unique<ShimEngine>();
    lh_fx_params p = {LH_FX_HNSW, LH_FX_IP, (int)o.dim, o.m, o.ef_construction};
    lh_err *err = lh_fx_create(&p, &e->ix);
    auto t0 = Clock::now();
    if (!err)
        err = lh_fx_add(e->ix, o.n, base);
    if (err) {
        fprintf(stderr, "shim build: %s\n", lh_err_message(err));
        exit(1);
    }
    e->build_seconds = seconds_since(t0);
    e->key = "shim";
    e->name = "faiss via lakehouse shim";
    e->kernels = lh_fx_simd_name();
    return e;
}

/* The shim's index searched with its kernels capped at AVX2, to compare
 * like with like against hnswlib on AVX-512 machines. */
lh_fx_level current_level()
{
    for (int level = LH_FX_LEVEL_COUNT - 1; level > LH_FX_LEVEL_SCALAR; level--)
        if (lh_fx_kernels_at((lh_fx_level)level) == lh_fx_kernels_best())
            return (lh_fx_level)level;
    return LH_FX_LEVEL_SCALAR;
}

struct CappedShim : Engine {
    ShimEngine &shim;
    lh_fx_level uncapped = current_level();
    explicit CappedShim(ShimEngine &s) : shim(s)
    {
        key = "shim_avx2";
        name = "faiss via lakehouse shim";
        kernels = "avx2 (capped)";
    }
    void set_ef(int ef) override
    {
        shim.set_ef(ef);
        lh_fx_kernels_cap(LH_FX_LEVEL_AVX2);
    }
    void done() override { lh_fx_kernels_cap(uncapped); }
    void search(const float *q, int64_t *labels) const override { shim.search(q, labels); }
};

struct StockFaiss : Engine {
    std::unique_ptr<faiss::IndexHNSWFlat> index;
    void set_ef(int ef) override { index->hnsw.efSearch = ef; }
    /* IndexHNSW::search opens an OpenMP region per call; one thread per
     * team keeps concurrent callers from oversubscribing the cores. */
    void thread_setup() override { omp_set_num_threads(1); }
    void search(const float *q, int64_t *labels) const override
    {
        float d[kK];
        index->search(1, q, kK, d, labels);
    }
};

std::unique_ptr<StockFaiss> build_stock(const Options &o, const float *base)
{
    auto e = std::make_unique<StockFaiss>();
    e->index = std::make_unique<faiss::IndexHNSWFlat>((int)o.dim, o.m,
                                                       faiss::METRIC_INNER_PRODUCT);
    e->index->hnsw.efConstruction = o.ef_construction;
    auto t0 = Clock::now();
    e->index->add((faiss::Index::idx_t)o.n, base);
    e->build_seconds = seconds_since(t0);
    e->key = "stock";
    e->name = "faiss IndexHNSWFlat (stock)";
    e->kernels = "faiss's (scalar)";
    return e;
}

struct Hnswlib : Engine {
    std::unique_ptr<hnswlib::InnerProductSpace> space;
    std::unique_ptr<hnswlib::HierarchicalNSW<float>> index;
    void set_ef(int ef) override { index->setEf((size_t)ef); }
    void search(const float *q, int64_t *labels) const override
    {
        auto best = index->searchKnn(q, kK);
        for (int i = kK - 1; i >= 0; i--) {
            labels[i] = best.empty() ? -1 : (int64_t)best.top().second;
            if (!best.empty())
                best.pop();
        }
    }
};

/* Runs body(i) for i in [0, n) on `threads` threads, interleaved. */
void parallel_for(size_t n, int threads, const std::function<void(size_t)> &body)
{
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; t++)
        pool.emplace_back([&, t] {
            for (size_t i = (size_t)t; i < n; i += (size_t)threads)
                body(i);
        });
    for (auto &th : pool)
        th.join();
}

std::unique_ptr<Hnswlib> build_hnswlib(const Options &o, const float *base, int threads)
{
    auto e = std::make_unique<Hnswlib>();
    e->space = std::make_unique<hnswlib::InnerProductSpace>(o.dim);
    e->index = std::make_unique<hnswlib::HierarchicalNSW<float>>(
        e->space.get(), o.n, (size_t)o.m, (size_t)o.ef_construction, o.seed);
    auto t0 = Clock::now();
    e->index->addPoint(base, 0); /* the entry point first, as hnswlib's examples do */
    parallel_for(o.n - 1, threads, [&](size_t i) {
        e->index->addPoint(base + (i + 1) * o.dim, (hnswlib::labeltype)(i + 1));
    });
    e->build_seconds = seconds_since(t0);
    e->key = "hnswlib";
    e->name = "hnswlib 0.6.2";
    e->kernels = "avx2 (compile time)";
    return e;
}

/* ---- in-process measurements ---- */

double recall_at_10(const Engine &e, const Workload &w)
{
    return recall_of(w, [&](size_t q, int64_t *got) { e.search(w.queries + q * w.o.dim, got); });
}

/* Queries per second with `threads` threads each running one query at a
 * time, for about o.seconds; every query's latency is appended to
 * `samples` (reading the clock twice costs nanoseconds against a search's
 * hundreds of microseconds). */
double throughput(Engine &e, const Workload &w, int threads, std::vector<uint64_t> &samples)
{
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> done{0};
    std::vector<std::vector<uint64_t>> lat((size_t)threads);
    std::vector<std::thread> pool;
    auto t0 = Clock::now();
    for (int t = 0; t < threads; t++)
        pool.emplace_back([&, t] {
            e.thread_setup();
            int64_t labels[kK];
            uint64_t mine = 0;
            std::vector<uint64_t> &out = lat[(size_t)t];
            for (size_t q = (size_t)t * 7919; !stop.load(std::memory_order_relaxed); q++, mine++) {
                uint64_t start = now_ns();
                e.search(w.queries + (q % w.o.queries) * w.o.dim, labels);
                out.push_back(now_ns() - start);
            }
            done += mine;
        });
    std::this_thread::sleep_for(std::chrono::duration<double>(w.o.seconds));
    stop = true;
    for (auto &th : pool)
        th.join();
    double qps = (double)done.load() / seconds_since(t0);
    for (auto &l : lat)
        samples.insert(samples.end(), l.begin(), l.end());
    return qps;
}

/* The smallest ef on the ladder where every engine reaches the target. */
int choose_ef(const std::vector<Engine *> &engines, const Workload &w)
{
    for (int ef : kLadder) {
        bool all = true;
        for (Engine *e : engines) {
            e->set_ef(ef);
            double r = recall_at_10(*e, w);
            fprintf(stderr, "  ef_search %4d  %-28s recall@10 %.4f\n", ef, e->name.c_str(), r);
            all = all && r >= kTargetRecall;
        }
        if (all)
            return ef;
    }
    return kLadder[sizeof kLadder / sizeof kLadder[0] - 1];
}

struct Row {
    Engine *engine;
    double recall;
    Figure one, two; /* 1 and 2 search threads */
};

void print_command(int argc, char **argv)
{
    printf("Command: `");
    for (int i = 0; i < argc; i++)
        printf(i ? " %s" : "%s", argv[i]);
    printf("`");
}

void print_table(const Options &o, int ef, const std::vector<Row> &rows, int argc, char **argv)
{
    printf("\n### In-process vector search: %zu x %zu, HNSW M=%d, ef_construction=%d, "
           "ef_search=%d\n\n",
           o.n, o.dim, o.m, o.ef_construction, ef);
    print_command(argc, argv);
    printf(" (%u hardware threads, best kernels here: %s; builds use 2 threads)\n\n",
           std::thread::hardware_concurrency(), lh_fx_simd_name());
    printf("| engine | kernels | build s | recall@10 | QPS, 1 thread | p50/p99 µs, 1 thread |"
           " QPS, 2 threads | p50/p99 µs, 2 threads | vs hnswlib (1 thread) |\n"
           "|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    double peer = 0;
    for (const Row &r : rows)
        if (r.engine->key == "hnswlib")
            peer = r.one.qps;
    for (const Row &r : rows) {
        char build[32] = "same index";
        if (r.engine->build_seconds >= 0)
            snprintf(build, sizeof build, "%.1f", r.engine->build_seconds);
        printf("| %s | %s | %s | %.4f | %.0f | %.0f / %.0f | %.0f | %.0f / %.0f | %.2f |\n",
               r.engine->name.c_str(), r.engine->kernels.c_str(), build, r.recall, r.one.qps,
               r.one.p50_us, r.one.p99_us, r.two.qps, r.two.p50_us, r.two.p99_us,
               peer > 0 ? r.one.qps / peer : 0.0);
    }
}

/* key=value lines for ops/bench/vector.sh. */
void print_kv(const Options &o, int ef, const std::vector<Row> &rows)
{
    printf("mode=inproc simd=%s ef_search=%d n=%zu dim=%zu queries=%zu m=%d "
           "ef_construction=%d\n",
           lh_fx_simd_name(), ef, o.n, o.dim, o.queries, o.m, o.ef_construction);
    for (const Row &r : rows)
        printf("engine=%s build_s=%.1f recall=%.4f qps1=%.0f lo1=%.0f hi1=%.0f p50_1=%.0f "
               "p99_1=%.0f qps2=%.0f lo2=%.0f hi2=%.0f p50_2=%.0f p99_2=%.0f\n",
               r.engine->key.c_str(), r.engine->build_seconds, r.recall, r.one.qps, r.one.lo,
               r.one.hi, r.one.p50_us, r.one.p99_us, r.two.qps, r.two.lo, r.two.hi,
               r.two.p50_us, r.two.p99_us);
}

/* Throughput is the median of o.rounds rounds, each measuring every
 * engine once, so a burst of other load on the machine moves one round
 * of every engine rather than all rounds of one. */
std::vector<Row> measure_all(const std::vector<Engine *> &engines, const Workload &w, int ef)
{
    std::vector<Row> rows;
    size_t n = engines.size();
    std::vector<std::vector<double>> one(n), two(n);
    std::vector<std::vector<uint64_t>> lat_one(n), lat_two(n);
    for (Engine *e : engines) {
        e->set_ef(ef);
        rows.push_back(Row{e, recall_at_10(*e, w), {}, {}});
        e->done();
    }
    for (int round = 0; round < w.o.rounds; round++)
        for (size_t i = 0; i < n; i++) {
            engines[i]->set_ef(ef); /* also re-applies a kernel cap, see CappedShim */
            one[i].push_back(throughput(*engines[i], w, 1, lat_one[i]));
            two[i].push_back(throughput(*engines[i], w, 2, lat_two[i]));
            engines[i]->done();
            fprintf(stderr, "  round %d  %-28s %-20s %.0f / %.0f QPS\n", round + 1,
                    engines[i]->name.c_str(), engines[i]->kernels.c_str(), one[i].back(),
                    two[i].back());
        }
    for (size_t i = 0; i < n; i++) {
        rows[i].one = summarize(one[i], lat_one[i]);
        rows[i].two = summarize(two[i], lat_two[i]);
    }
    return rows;
}

int run_in_process(const Options &o, const float *base, const Workload &w, int argc,
                   char **argv)
{
    std::string load_before = load_average();
    auto shim = build_shim(o, base);
    fprintf(stderr, "shim build: %.1f s\n", shim->build_seconds);
    auto peer = build_hnswlib(o, base, 2);
    fprintf(stderr, "hnswlib build: %.1f s\n", peer->build_seconds);
    auto stock = build_stock(o, base);
    fprintf(stderr, "stock faiss build: %.1f s\n", stock->build_seconds);

    int ef = o.ef_search > 0 ? o.ef_search : choose_ef({shim.get(), peer.get(), stock.get()}, w);

    CappedShim capped(*shim);
    std::vector<Engine *> engines = {shim.get()};
    if (current_level() == LH_FX_LEVEL_AVX512)
        engines.push_back(&capped);
    engines.push_back(peer.get());
    engines.push_back(stock.get());
    std::vector<Row> rows = measure_all(engines, w, ef);
    if (o.kv) {
        print_kv(o, ef, rows);
        printf("load_before=%s load_after=%s\n", load_before.c_str(), load_average().c_str());
        return 0;
    }
    print_table(o, ef, rows, argc, argv);
    printf("\nLoad average (1 min) before: %s, after: %s. Throughput is the median of %d "
           "rounds of %g s each; latencies are over every round.\n",
           load_before.c_str(), load_average().c_str(), o.rounds, o.seconds);
    return 0;
}

/* ---- vectord over the bus ---- */

[[noreturn]] void die(lh_err *err, const std::string &what)
{
    fprintf(stderr, "lh-bench-vector: %s: %s\n", what.c_str(), lh_err_message(err));
    exit(1);
}

/* A msgpack message being written into an lh_buf. */
struct Packer {
    lh_buf buf;
    msgpack_packer pk;
    Packer()
    {
        lh_buf_init(&buf);
        msgpack_packer_init(&pk, &buf, lh_buf_msgpack_write);
    }
    ~Packer() { lh_buf_free(&buf); }
    Packer(const Packer &) = delete;
    Packer &operator=(const Packer &) = delete;
    void map(size_t n) { msgpack_pack_map(&pk, n); }
    void str(const std::string &s) { msgpack_pack_str_with_body(&pk, s.data(), s.size()); }
    void key_str(const char *k, const std::string &v)
    {
        str(k);
        str(v);
    }
    void key_int(const char *k, int64_t v)
    {
        str(k);
        msgpack_pack_int64(&pk, v);
    }
    void key_floats(const char *k, const float *v, size_t d)
    {
        str(k);
        msgpack_pack_bin_with_body(&pk, v, d * sizeof *v);
    }
    std::string bytes() const { return std::string(buf.data, buf.len); }
};

/* The bus client: one connection, used for setup and the recall pass. */
struct Bus {
    lh_conn *conn = nullptr;
    lh_arena *arena = lh_arena_create();
    ~Bus()
    {
        lh_conn_destroy(conn);
        lh_arena_destroy(arena);
    }
};

/* Sends one request; the reply body is appended to `reply`. */
lh_err *call(Bus &bus, const char *subject, const std::string &body, lh_buf *reply,
             int timeout_ms = 60000)
{
    lh_buf_reset(reply);
    return lh_request(bus.conn, subject, body.data(), body.size(), nullptr, timeout_ms, reply);
}

/* A fresh index with the benchmark's parameters (a left-over one is dropped). */
void create_index(Bus &bus, const Options &o, int ef)
{
    lh_buf reply;
    lh_buf_init(&reply);
    Packer drop;
    drop.map(1);
    drop.key_str("index", o.index);
    lh_err *err = call(bus, "vector.drop", drop.bytes(), &reply);
    if (err && lh_err_code(err) != LH_ENOTFOUND)
        die(err, "vector.drop " + o.index);
    lh_err_free(err);
    Packer create;
    create.map(7);
    create.key_str("index", o.index);
    create.key_int("dimension", (int64_t)o.dim);
    create.key_str("metric", "cosine");
    create.key_str("kind", "hnsw");
    create.key_int("m", o.m);
    create.key_int("ef_construction", o.ef_construction);
    create.key_int("ef_search", ef > 0 ? ef : 64);
    if ((err = call(bus, "vector.create", create.bytes(), &reply)))
        die(err, "vector.create " + o.index);
    lh_buf_free(&reply);
}

/* vector.upsert of items [from, to): ids are the decimal row numbers. */
std::string upsert_body(const Options &o, const float *base, size_t from, size_t to)
{
    Packer p;
    p.map(2);
    p.key_str("index", o.index);
    p.str("items");
    msgpack_pack_array(&p.pk, to - from);
    for (size_t i = from; i < to; i++) {
        p.map(2);
        p.key_str("id", std::to_string(i));
        p.key_floats("vector", base + i * o.dim, o.dim);
    }
    return p.bytes();
}

/* A batch above the server's message limit would fail on publish with a
 * bare status; this says what to change. */
void check_payload(Bus &bus, size_t bytes)
{
    int64_t max = natsConnection_GetMaxPayload(lh_conn_nats(bus.conn));
    if ((int64_t)bytes <= max)
        return;
    fprintf(stderr,
            "lh-bench-vector: an upsert batch is %zu bytes, above the server's max_payload of "
            "%lld; lower --batch or raise max_payload (lakehouse up uses 8 MiB)\n",
            bytes, (long long)max);
    exit(1);
}

/* Upserts every vector in batches, one at a time, until the last ack
 * (each ack means durable); returns the seconds taken. Encoding a batch
 * is timed too: a client has to do it. */
double upsert_all(Bus &bus, const Options &o, const float *base)
{
    lh_buf reply;
    lh_buf_init(&reply);
    int64_t count = 0;
    auto t0 = Clock::now();
    for (size_t from = 0; from < o.n; from += o.batch) {
        size_t to = std::min(o.n, from + o.batch);
        std::string body = upsert_body(o, base, from, to);
        check_payload(bus, body.size());
        lh_err *err = call(bus, "vector.upsert", body, &reply, 600000);
        void *decoded = nullptr;
        if (!err)
            err = lh_schema_decode(&lh_vector_upsert_reply_schema, reply.data, reply.len,
                                   bus.arena, &decoded);
        if (err)
            die(err, "vector.upsert items " + std::to_string(from));
        count = ((const lh_vector_upsert_reply *)decoded)->count;
        lh_arena_reset(bus.arena);
    }
    double seconds = seconds_since(t0);
    lh_buf_free(&reply);
    if (count != (int64_t)o.n) {
        fprintf(stderr, "lh-bench-vector: index holds %lld items after upserting %zu\n",
                (long long)count, o.n);
        exit(1);
    }
    return seconds;
}

std::string search_body(const Options &o, const float *q, int ef)
{
    Packer p;
    p.map(4);
    p.key_str("index", o.index);
    p.key_floats("vector", q, o.dim);
    p.key_int("k", kK);
    p.key_int("ef_search", ef);
    return p.bytes();
}

std::vector<std::string> search_bodies(const Workload &w, int ef)
{
    std::vector<std::string> out;
    for (size_t q = 0; q < w.o.queries; q++)
        out.push_back(search_body(w.o, w.queries + q * w.o.dim, ef));
    return out;
}

/* Hit ids are our decimal row numbers; anything else counts as a miss. */
int64_t label_of(const char *s, size_t len)
{
    std::string id(s, len);
    char *end = nullptr;
    long long v = strtoll(id.c_str(), &end, 10);
    return end && *end == '\0' && !id.empty() ? (int64_t)v : -1;
}

void bus_search(Bus &bus, const std::string &body, int64_t *labels)
{
    lh_buf reply;
    lh_buf_init(&reply);
    void *decoded = nullptr;
    lh_err *err = call(bus, "vector.search", body, &reply);
    if (!err)
        err = lh_schema_decode(&lh_vector_search_reply_schema, reply.data, reply.len,
                               bus.arena, &decoded);
    if (err)
        die(err, "vector.search");
    const lh_vector_search_reply *rep = (const lh_vector_search_reply *)decoded;
    const lh_vector_hit *hits = (const lh_vector_hit *)rep->hits.v;
    for (size_t i = 0; i < (size_t)kK; i++)
        labels[i] = i < rep->hits.n ? label_of(hits[i].id.s, hits[i].id.len) : -1;
    lh_arena_reset(bus.arena);
    lh_buf_free(&reply);
}

double bus_recall(Bus &bus, const Workload &w, const std::vector<std::string> &bodies)
{
    return recall_of(w, [&](size_t q, int64_t *got) { bus_search(bus, bodies[q], got); });
}

/* The smallest ef on the ladder where vectord reaches the target. */
int choose_bus_ef(Bus &bus, const Workload &w)
{
    for (int ef : kLadder) {
        double r = bus_recall(bus, w, search_bodies(w, ef));
        fprintf(stderr, "  ef_search %4d  vectord over the bus recall@10 %.4f\n", ef, r);
        if (r >= kTargetRecall)
            return ef;
    }
    return kLadder[sizeof kLadder / sizeof kLadder[0] - 1];
}

/* ---- closed loop on the bus ---- */

/* `inflight` chains of requests on one connection and one wildcard reply
 * inbox: each reply (on the subscription's delivery thread) records its
 * round trip and sends the slot's next query, rotating through the set. */
struct Loop {
    natsConnection *nc;
    std::string inbox;
    const std::vector<std::string> &bodies;
    std::atomic<size_t> &next; /* shared across rounds, so rounds see fresh queries */
    std::vector<std::atomic<uint64_t>> sent_at;
    std::vector<uint64_t> samples; /* delivery thread only, until `outstanding` is 0 */
    std::atomic<size_t> errors{0};
    std::atomic<bool> stop{false};
    std::atomic<int> outstanding;
    Loop(natsConnection *c, std::string in, const std::vector<std::string> &b,
         std::atomic<size_t> &nx, int inflight)
        : nc(c), inbox(std::move(in)), bodies(b), next(nx), sent_at((size_t)inflight),
          outstanding(inflight)
    {
    }
};

void loop_send(Loop &l, size_t slot)
{
    const std::string &body = l.bodies[l.next.fetch_add(1) % l.bodies.size()];
    std::string reply = l.inbox + "." + std::to_string(slot);
    l.sent_at[slot].store(now_ns());
    natsStatus s = natsConnection_PublishRequest(l.nc, "vector.search", reply.c_str(),
                                                 body.data(), (int)body.size());
    if (s != NATS_OK) {
        l.errors++;
        l.outstanding--; /* this chain ends here */
    }
}

void on_loop_reply(natsConnection *, natsSubscription *, natsMsg *msg, void *closure)
{
    Loop &l = *(Loop *)closure;
    uint64_t t = now_ns();
    size_t slot = strtoul(strrchr(natsMsg_GetSubject(msg), '.') + 1, nullptr, 10);
    const char *code = nullptr;
    bool failed = natsMsg_IsNoResponders(msg) ||
                  natsMsgHeader_Get(msg, LH_HDR_ERROR_CODE, &code) == NATS_OK ||
                  natsMsg_GetDataLength(msg) == 0;
    natsMsg_Destroy(msg);
    assert(slot < l.sent_at.size());
    if (l.stop.load()) {
        l.outstanding--;
        return;
    }
    if (failed)
        l.errors++;
    l.samples.push_back(t - l.sent_at[slot].load());
    loop_send(l, slot);
}

/* One round: `inflight` requests outstanding for o.seconds; appends the
 * round trips to `samples` and returns requests per second. */
double loop_round(natsConnection *nc, const Options &o, const std::vector<std::string> &bodies,
                  std::atomic<size_t> &next, int inflight, std::vector<uint64_t> &samples)
{
    static int rounds;
    Loop l(nc, "_LHBENCH." + std::to_string(getpid()) + "." + std::to_string(++rounds), bodies,
           next, inflight);
    natsSubscription *sub = nullptr;
    natsStatus s = natsConnection_Subscribe(&sub, nc, (l.inbox + ".*").c_str(), on_loop_reply, &l);
    if (s == NATS_OK)
        s = natsSubscription_SetPendingLimits(sub, -1, -1);
    if (s == NATS_OK)
        s = natsConnection_Flush(nc);
    if (s != NATS_OK)
        die(lh_err_from_nats(s, "subscribe"), "reply inbox");
    uint64_t t0 = now_ns();
    for (int i = 0; i < inflight; i++)
        loop_send(l, (size_t)i);
    std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
    l.stop = true;
    double elapsed = (double)(now_ns() - t0) / 1e9;
    for (int waited = 0; l.outstanding.load() > 0; waited++) {
        if (waited > 30000) {
            fprintf(stderr, "lh-bench-vector: %d replies missing after 30 s\n",
                    l.outstanding.load());
            exit(1);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    if (l.errors.load()) {
        fprintf(stderr, "lh-bench-vector: %zu of %zu searches failed\n", l.errors.load(),
                l.samples.size());
        exit(1);
    }
    samples.insert(samples.end(), l.samples.begin(), l.samples.end());
    return (double)l.samples.size() / elapsed;
}

Figure bus_throughput(Bus &bus, const Options &o, const std::vector<std::string> &bodies,
                      int inflight)
{
    static std::atomic<size_t> next{0};
    std::vector<double> qps;
    std::vector<uint64_t> samples;
    for (int round = 0; round < o.rounds; round++) {
        qps.push_back(loop_round(lh_conn_nats(bus.conn), o, bodies, next, inflight, samples));
        fprintf(stderr, "  round %d  vectord over the bus, %d in flight: %.0f QPS\n", round + 1,
                inflight, qps.back());
    }
    return summarize(qps, samples);
}

/* ---- the gateway ---- */

/* POST /v1/vectors/search bodies, one JSON document per query. */
std::string json_body(const Options &o, const float *q, int ef)
{
    std::string s = "{\"index\":\"" + o.index + "\",\"vector\":[";
    char num[32];
    for (size_t j = 0; j < o.dim; j++) {
        snprintf(num, sizeof num, j ? ",%.9g" : "%.9g", q[j]); /* 9 digits: exact float32 */
        s += num;
    }
    return s + "],\"k\":" + std::to_string(kK) + ",\"ef_search\":" + std::to_string(ef) + "}";
}

void write_bodies(const Workload &w, int ef, const std::string &path)
{
    FILE *f = fopen(path.c_str(), "w");
    if (!f) {
        perror(path.c_str());
        exit(1);
    }
    for (size_t q = 0; q < w.o.queries; q++)
        fprintf(f, "%s\n", json_body(w.o, w.queries + q * w.o.dim, ef).c_str());
    if (fclose(f)) {
        perror(path.c_str());
        exit(1);
    }
}

size_t append_to_string(char *data, size_t size, size_t n, void *user)
{
    ((std::string *)user)->append(data, size * n);
    return size * n;
}

/* The hit ids of one POST /v1/vectors/search, on a kept-alive connection. */
void http_search(CURL *curl, const std::string &url, const std::string &body, int64_t *labels)
{
    std::string reply;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)body.size());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_to_string);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
    long status = 0;
    CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    json_t *doc = rc == CURLE_OK ? json_loadb(reply.data(), reply.size(), 0, nullptr) : nullptr;
    json_t *hits = json_object_get(doc, "hits");
    if (status != 200 || !json_is_array(hits)) {
        fprintf(stderr, "lh-bench-vector: POST %s: %s (HTTP %ld) %.300s\n", url.c_str(),
                curl_easy_strerror(rc), status, reply.c_str());
        exit(1);
    }
    for (size_t i = 0; i < (size_t)kK; i++) {
        const char *id = json_string_value(json_object_get(json_array_get(hits, i), "id"));
        labels[i] = id ? label_of(id, strlen(id)) : -1;
    }
    json_decref(doc);
}

double gateway_recall(const Workload &w, int ef)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    std::string url = w.o.http + "/v1/vectors/search";
    double r = recall_of(w, [&](size_t q, int64_t *got) {
        http_search(curl, url, json_body(w.o, w.queries + q * w.o.dim, ef), got);
    });
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return r;
}

/* ---- bus mode ---- */

struct BusResult {
    int ef = 0;
    double build_s = 0, recall = 0, gateway_recall = -1;
    std::vector<std::pair<int, Figure>> loops; /* in flight, figure */
};

/* What runs while vectord settles (its periodic snapshot of the fresh
 * index), then the wait for the rest of o.settle seconds. */
void settle(const Options &o, Clock::time_point built)
{
    double left = o.settle - seconds_since(built);
    if (left <= 0)
        return;
    fprintf(stderr, "waiting %.0f s for vectord's snapshot of the new index\n", left);
    std::this_thread::sleep_for(std::chrono::duration<double>(left));
}

BusResult measure_bus(Bus &bus, const Workload &w, const float *base)
{
    const Options &o = w.o;
    BusResult r;
    create_index(bus, o, o.ef_search);
    r.build_s = upsert_all(bus, o, base);
    auto built = Clock::now();
    fprintf(stderr, "vectord build over the bus: %.1f s\n", r.build_s);
    r.ef = o.ef_search > 0 ? o.ef_search : choose_bus_ef(bus, w);
    std::vector<std::string> bodies = search_bodies(w, r.ef);
    r.recall = bus_recall(bus, w, bodies);
    if (!o.http.empty())
        r.gateway_recall = gateway_recall(w, r.ef);
    if (!o.bodies.empty())
        write_bodies(w, r.ef, o.bodies);
    settle(o, built);
    for (int inflight : o.inflight)
        r.loops.emplace_back(inflight, bus_throughput(bus, o, bodies, inflight));
    return r;
}

void print_bus(const Options &o, const BusResult &r, int argc, char **argv)
{
    if (o.kv) {
        printf("mode=bus ef_search=%d n=%zu dim=%zu build_s=%.1f recall=%.4f "
               "gateway_recall=%.4f batch=%zu\n",
               r.ef, o.n, o.dim, r.build_s, r.recall, r.gateway_recall, o.batch);
        for (const auto &[inflight, f] : r.loops)
            printf("path=bus inflight=%d qps=%.0f lo=%.0f hi=%.0f p50_us=%.0f p99_us=%.0f\n",
                   inflight, f.qps, f.lo, f.hi, f.p50_us, f.p99_us);
        return;
    }
    printf("\n### vectord over the bus: %zu x %zu, HNSW M=%d, ef_construction=%d, "
           "ef_search=%d\n\n",
           o.n, o.dim, o.m, o.ef_construction, r.ef);
    print_command(argc, argv);
    printf("\n\nBuild (vector.upsert in batches of %zu, until the last ack): %.1f s. "
           "recall@10: %.4f over the bus",
           o.batch, r.build_s, r.recall);
    if (r.gateway_recall >= 0)
        printf(", %.4f through the gateway", r.gateway_recall);
    printf(".\n\n| in flight | QPS | p50 µs | p99 µs |\n|---:|---:|---:|---:|\n");
    for (const auto &[inflight, f] : r.loops)
        printf("| %d | %.0f | %.0f | %.0f |\n", inflight, f.qps, f.p50_us, f.p99_us);
}

int run_bus(const Options &o, const float *base, const Workload &w, int argc, char **argv)
{
    Bus bus;
    lh_conn_opts copts = {o.bus.c_str(), "lh-bench-vector", false};
    lh_err *err = lh_conn_create(&copts, &bus.conn);
    if (err)
        die(err, "connect " + o.bus);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    BusResult r = measure_bus(bus, w, base);
    print_bus(o, r, argc, argv);
    curl_global_cleanup();
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    Options o = parse(argc, argv);
    omp_set_num_threads(2);
    auto t0 = Clock::now();
    std::vector<float> data = mixture(o);
    const float *base = data.data(), *queries = data.data() + o.n * o.dim;
    auto truth = ground_truth(o, base, queries);
    fprintf(stderr, "data and exact answers: %.1f s\n", seconds_since(t0));
    Workload w{o, queries, truth};
    return o.bus.empty() ? run_in_process(o, base, w, argc, argv)
                         : run_bus(o, base, w, argc, argv);
}
