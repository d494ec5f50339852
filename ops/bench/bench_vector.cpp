/*
 * bench_vector.cpp — in-process vector search, the physical limit under
 * vectord: faiss through our shim (SIMD kernels, our graph walk), stock
 * faiss IndexHNSWFlat (Debian's scalar kernels, its own search), and
 * hnswlib (the peer; header-only, its kernels compiled for AVX2+FMA here)
 * on the same seeded data and queries. Reports build time, recall@10
 * against exact search, and single-query throughput with 1 and 2 search
 * threads, as a Markdown table with the command that reproduces it.
 *
 *   lh-bench-vector [--n 100000] [--dim 384] [--queries 1000] [--m 32]
 *                   [--ef-construction 200] [--ef-search auto|N]
 *                   [--clusters 100] [--spread 1.0] [--seconds 3] [--rounds 3]
 *                   [--seed 1]
 *
 * --ef-search auto picks the smallest ef_search (from a fixed ladder) at
 * which every engine reaches recall@10 >= 0.95; all engines then run at
 * that ef. Data: --clusters Gaussian centres, points = centre + spread *
 * N(0, I), normalised, so inner product is cosine. Queries come from the
 * same mixture and are not indexed. Ground truth is faiss's exact
 * IndexFlatIP (BLAS), independent of our kernels.
 */
extern "C" {
#include "bus/err.h"
}
#include "actors/vector/faiss_kernels.h"
#include "actors/vector/faiss_shim.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
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

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kK = 10;
constexpr double kTargetRecall = 0.95;

struct Options {
    size_t n = 100000, dim = 384, queries = 1000;
    int m = 32, ef_construction = 200, ef_search = 0; /* 0: auto */
    int clusters = 100;
    float spread = 1.0f;
    double seconds = 3.0;
    int rounds = 3;
    uint64_t seed = 1;
};

[[noreturn]] void usage(const char *bad)
{
    fprintf(stderr,
            "lh-bench-vector: bad argument %s\n"
            "usage: lh-bench-vector [--n N] [--dim D] [--queries Q] [--m M]\n"
            "       [--ef-construction E] [--ef-search auto|N] [--clusters C]\n"
            "       [--spread S] [--seconds S] [--rounds R] [--seed S]\n",
            bad);
    exit(2);
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
        else usage(a.c_str());
    }
    if (o.n < (size_t)kK || o.dim < 1 || o.queries < 1 || o.clusters < 1 || o.seconds <= 0 ||
        o.rounds < 1)
        usage("(values out of range)");
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

/* ---- engines ---- */

struct Engine {
    std::string name, kernels;
    double build_seconds = -1; /* < 0: shares another row's index */
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
    e->name = "hnswlib 0.6.2";
    e->kernels = "avx2 (compile time)";
    return e;
}

/* ---- measurements ---- */

struct Workload {
    const Options &o;
    const float *queries;
    const std::vector<faiss::Index::idx_t> &truth;
};

double recall_at_10(const Engine &e, const Workload &w)
{
    size_t hits = 0;
    int64_t got[kK];
    for (size_t q = 0; q < w.o.queries; q++) {
        e.search(w.queries + q * w.o.dim, got);
        const faiss::Index::idx_t *want = &w.truth[q * kK];
        for (int i = 0; i < kK; i++)
            for (int j = 0; j < kK; j++)
                hits += got[i] >= 0 && got[i] == want[j];
    }
    return (double)hits / (double)(w.o.queries * kK);
}

/* Queries per second with `threads` threads each running one query at a
 * time, for about o.seconds. */
double throughput(Engine &e, const Workload &w, int threads)
{
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> done{0};
    std::vector<std::thread> pool;
    auto t0 = Clock::now();
    for (int t = 0; t < threads; t++)
        pool.emplace_back([&, t] {
            e.thread_setup();
            int64_t labels[kK];
            uint64_t mine = 0;
            for (size_t q = (size_t)t * 7919; !stop.load(std::memory_order_relaxed); q++, mine++)
                e.search(w.queries + (q % w.o.queries) * w.o.dim, labels);
            done += mine;
        });
    std::this_thread::sleep_for(std::chrono::duration<double>(w.o.seconds));
    stop = true;
    for (auto &th : pool)
        th.join();
    return (double)done.load() / seconds_since(t0);
}

/* The smallest ef on the ladder where every engine reaches the target. */
int choose_ef(const std::vector<Engine *> &engines, const Workload &w)
{
    static const int ladder[] = {16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 1024};
    for (int ef : ladder) {
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
    return ladder[sizeof ladder / sizeof ladder[0] - 1];
}

struct Row {
    Engine *engine;
    double recall, qps1, qps2;
};

void print_table(const Options &o, int ef, const std::vector<Row> &rows, int argc, char **argv)
{
    printf("\n### In-process vector search: %zu x %zu, HNSW M=%d, ef_construction=%d, "
           "ef_search=%d\n\n",
           o.n, o.dim, o.m, o.ef_construction, ef);
    printf("Command: `");
    for (int i = 0; i < argc; i++)
        printf(i ? " %s" : "%s", argv[i]);
    printf("` (%u hardware threads, best kernels here: %s; builds use 2 threads)\n\n",
           std::thread::hardware_concurrency(), lh_fx_simd_name());
    printf("| engine | kernels | build s | recall@10 | QPS, 1 thread | QPS, 2 threads |"
           " vs hnswlib (1 thread) |\n|---|---|---:|---:|---:|---:|---:|\n");
    double peer = 0;
    for (const Row &r : rows)
        if (r.engine->name.rfind("hnswlib", 0) == 0)
            peer = r.qps1;
    for (const Row &r : rows) {
        char build[32] = "same index";
        if (r.engine->build_seconds >= 0)
            snprintf(build, sizeof build, "%.1f", r.engine->build_seconds);
        printf("| %s | %s | %s | %.4f | %.0f | %.0f | %.2f |\n", r.engine->name.c_str(),
               r.engine->kernels.c_str(), build, r.recall, r.qps1, r.qps2,
               peer > 0 ? r.qps1 / peer : 0.0);
    }
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

/* Throughput is the median of o.rounds rounds, each measuring every
 * engine once, so a burst of other load on the machine moves one round
 * of every engine rather than all rounds of one. */
std::vector<Row> measure_all(const std::vector<Engine *> &engines, const Workload &w, int ef)
{
    std::vector<Row> rows;
    std::vector<std::vector<double>> one(engines.size()), two(engines.size());
    for (Engine *e : engines) {
        e->set_ef(ef);
        rows.push_back(Row{e, recall_at_10(*e, w), 0, 0});
        e->done();
    }
    for (int round = 0; round < w.o.rounds; round++)
        for (size_t i = 0; i < engines.size(); i++) {
            engines[i]->set_ef(ef); /* also re-applies a kernel cap, see CappedShim */
            one[i].push_back(throughput(*engines[i], w, 1));
            two[i].push_back(throughput(*engines[i], w, 2));
            engines[i]->done();
            fprintf(stderr, "  round %d  %-28s %-20s %.0f / %.0f QPS\n", round + 1,
                    engines[i]->name.c_str(), engines[i]->kernels.c_str(), one[i].back(),
                    two[i].back());
        }
    for (size_t i = 0; i < engines.size(); i++) {
        rows[i].qps1 = median(one[i]);
        rows[i].qps2 = median(two[i]);
    }
    return rows;
}

} // namespace

int main(int argc, char **argv)
{
    Options o = parse(argc, argv);
    std::string load_before = load_average();
    omp_set_num_threads(2);
    auto t0 = Clock::now();
    std::vector<float> data = mixture(o);
    const float *base = data.data(), *queries = data.data() + o.n * o.dim;
    auto truth = ground_truth(o, base, queries);
    fprintf(stderr, "data and exact answers: %.1f s\n", seconds_since(t0));

    auto shim = build_shim(o, base);
    fprintf(stderr, "shim build: %.1f s\n", shim->build_seconds);
    auto peer = build_hnswlib(o, base, 2);
    fprintf(stderr, "hnswlib build: %.1f s\n", peer->build_seconds);
    auto stock = build_stock(o, base);
    fprintf(stderr, "stock faiss build: %.1f s\n", stock->build_seconds);

    Workload w{o, queries, truth};
    int ef = o.ef_search > 0 ? o.ef_search : choose_ef({shim.get(), peer.get(), stock.get()}, w);

    CappedShim capped(*shim);
    std::vector<Engine *> engines = {shim.get()};
    if (current_level() == LH_FX_LEVEL_AVX512)
        engines.push_back(&capped);
    engines.push_back(peer.get());
    engines.push_back(stock.get());
    std::vector<Row> rows = measure_all(engines, w, ef);
    print_table(o, ef, rows, argc, argv);
    printf("\nLoad average (1 min) before: %s, after: %s. Throughput is the median of %d "
           "rounds of %g s each.\n",
           load_before.c_str(), load_average().c_str(), o.rounds, o.seconds);
    return 0;
}
