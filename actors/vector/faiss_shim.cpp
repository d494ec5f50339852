/*
 * faiss_shim.cpp — vectord's extern "C" door into Debian's faiss 1.7.3
 * (static C++ library, no C API symbols). See faiss_shim.h.
 *
 * Speed: faiss's own distance kernels in the Debian build are scalar, so
 * the storage index is our SimdFlat, an IndexFlat whose distance computer
 * runs faiss_kernels.c (AVX-512 / AVX2+FMA / scalar, chosen at run time).
 * faiss builds the HNSW graph (IndexHNSW::add, OpenMP-parallel) through
 * that computer. (1.7.3's DistanceComputer has no distances_batch_4.)
 *
 * Search walks faiss's graph with our own code (GraphWalk, below): 1.7.3's
 * HNSW::search takes its beam size from the shared index field instead of
 * the per-query efSearch, and IndexHNSW::search opens an OpenMP team and
 * allocates ntotal bytes per call. Ours is one thread per query, so many
 * threads searching one index never oversubscribe the cores.
 *
 * Filters: the keep callback is asked about every node the beam evaluates;
 * filtered-out nodes still guide the walk. A beam of ef can meet fewer
 * than k kept labels under a selective filter, so a short answer is
 * retried with a 4x wider beam (twice), then answered by an exact scan of
 * the kept labels, which is cheap exactly when the filter is selective.
 * Either way k kept labels come back whenever k exist.
 *
 * Snapshots: faiss::write_index output followed by a 24-byte trailer
 * (magic, payload length, checksum). faiss's reader does not notice
 * flipped bytes inside vectors or links, and a wrong link would be read
 * out of bounds, so reads verify the checksum first, then the graph.
 *
 * Every C++ exception stops here and becomes an lh_err.
 */
extern "C" {
#include "bus/err.h" /* err.h declares C functions without an extern "C" guard */
}
#include "actors/vector/faiss_shim.h"

#include <fcntl.h>
#include <omp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cfloat>
#include <climits>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/DistanceComputer.h>
#include <faiss/impl/HNSW.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <faiss/utils/Heap.h>

#include "actors/vector/faiss_kernels.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "snapshot trailer is little-endian");

namespace {

using idx_t = faiss::Index::idx_t;

constexpr int kMaxDimension = 65536;
constexpr int kMinM = 2, kMaxM = 256;
constexpr int kMaxEfConstruction = 65536;
constexpr size_t kMaxK = 1 << 20;
constexpr int kMaxEfSearch = 1 << 20;
/* The ef_search of a new index; vectord's default too. Kept in snapshots. */
constexpr int kDefaultEfSearch = 64;
/* How often a short filtered search is retried with a 4x wider beam
 * before the exact scan answers it. */
constexpr int kWidenings = 2;
/* Adds of fewer vectors than this run on the caller's thread alone. */
constexpr size_t kParallelAddMin = 1000;

/* ---- storage with our kernels ---- */

lh_fx_distance_fn kernel_for(faiss::MetricType metric)
{
    const lh_fx_kernels *k = lh_fx_kernels_best();
    return metric == faiss::METRIC_INNER_PRODUCT ? k->ip : k->l2;
}

/* Distances from a query to stored vectors, for faiss's graph build.
 * Inner products come out as they are; faiss wraps this computer in its
 * NegativeDistanceComputer to get the smaller-is-closer distance HNSW
 * minimises. */
struct SimdDistance final : faiss::FlatCodesDistanceComputer {
    lh_fx_distance_fn kernel;
    size_t dim;
    const float *query = nullptr;

    explicit SimdDistance(const faiss::IndexFlat &flat)
        : FlatCodesDistanceComputer(flat.codes.data(), flat.code_size),
          kernel(kernel_for(flat.metric_type)), dim((size_t)flat.d)
    {
    }
    void set_query(const float *x) override { query = x; }
    float distance_to_code(const uint8_t *code) override
    {
        return kernel(query, reinterpret_cast<const float *>(code), dim);
    }
    float symmetric_dis(idx_t i, idx_t j) override
    {
        return kernel(vector_at(i), vector_at(j), dim);
    }
    const float *vector_at(idx_t i) const
    {
        return reinterpret_cast<const float *>(codes + i * code_size);
    }
};

/* An IndexFlat whose distance computer is SimdDistance. It adds no
 * fields: write_index picks a writer by dynamic_cast, so it is written as
 * a plain IndexFlatIP/L2, and read_index's plain IndexFlat is turned back
 * into one by adopt_codes(). */
struct SimdFlat final : faiss::IndexFlat {
    SimdFlat(idx_t d, faiss::MetricType metric) : faiss::IndexFlat(d, metric) {}
    faiss::FlatCodesDistanceComputer *get_FlatCodesDistanceComputer() const override
    {
        return new SimdDistance(*this);
    }
};

/* Takes over a plain IndexFlat's vectors (no copy). */
SimdFlat *adopt_codes(faiss::IndexFlat &plain)
{
    auto *flat = new SimdFlat(plain.d, plain.metric_type);
    flat->codes.swap(plain.codes);
    flat->ntotal = plain.ntotal;
    plain.ntotal = 0;
    return flat;
}

/* faiss links new HNSW nodes in OpenMP parallel regions. A small batch
 * (an upsert of a few items) gains nothing from waking a team, and the
 * team would take cores from concurrent searches, so it runs on the
 * caller's thread alone. The setting is the calling thread's own. */
class SmallBatchOnOneThread {
  public:
    explicit SmallBatchOnOneThread(size_t n) : saved_(omp_get_max_threads())
    {
        if (n < kParallelAddMin)
            omp_set_num_threads(1);
    }
    ~SmallBatchOnOneThread() { omp_set_num_threads(saved_); }
    SmallBatchOnOneThread(const SmallBatchOnOneThread &) = delete;
    SmallBatchOnOneThread &operator=(const SmallBatchOnOneThread &) = delete;

  private:
    int saved_;
};

/* ---- errors at the boundary ---- */

template <class Body> lh_err *guarded(const char *what, Body &&body) noexcept
{
    try {
        return body();
    } catch (const std::bad_alloc &) {
        return lh_err_new(LH_EINTERNAL, NULL, "%s: out of memory", what);
    } catch (const std::exception &e) {
        return lh_err_new(LH_EINTERNAL, NULL, "%s: %s", what, e.what());
    } catch (...) {
        return lh_err_new(LH_EINTERNAL, NULL, "%s: unknown C++ exception", what);
    }
}

lh_err *check_range(const char *field, long long value, long long lo, long long hi)
{
    if (value >= lo && value <= hi)
        return NULL;
    return lh_err_new(LH_EBADREQ, field, "%s must be between %lld and %lld, got %lld", field, lo,
                      hi, value);
}

} // namespace

struct lh_fx_index {
    lh_fx_kind kind;
    lh_fx_metric metric;
    std::unique_ptr<faiss::Index> top; /* the IndexHNSWFlat, or the SimdFlat itself */
    faiss::IndexHNSWFlat *hnsw;        /* == top, or NULL for flat */
    SimdFlat *flat;                    /* the vectors; owned through top */
};

namespace {

lh_fx_index *wrap_index(std::unique_ptr<faiss::Index> top, SimdFlat *flat)
{
    auto *ix = new lh_fx_index();
    ix->hnsw = dynamic_cast<faiss::IndexHNSWFlat *>(top.get());
    ix->kind = ix->hnsw ? LH_FX_HNSW : LH_FX_FLAT;
    ix->metric = flat->metric_type == faiss::METRIC_INNER_PRODUCT ? LH_FX_IP : LH_FX_L2;
    ix->flat = flat;
    ix->top = std::move(top);
    return ix;
}

faiss::MetricType faiss_metric(lh_fx_metric metric)
{
    return metric == LH_FX_IP ? faiss::METRIC_INNER_PRODUCT : faiss::METRIC_L2;
}

/* A C caller may store any int in an enum field; in C++ loading an
 * out-of-range enum is undefined, so the value is read as raw bits. */
template <class Enum> unsigned raw_enum(const Enum &field)
{
    unsigned raw;
    static_assert(sizeof field == sizeof raw, "C enums are int-sized");
    memcpy(&raw, &field, sizeof raw);
    return raw;
}

lh_err *check_params(const lh_fx_params *p)
{
    unsigned kind = raw_enum(p->kind), metric = raw_enum(p->metric);
    if (kind != LH_FX_HNSW && kind != LH_FX_FLAT)
        return lh_err_new(LH_EBADREQ, "kind", "kind must be hnsw or flat");
    if (metric != LH_FX_IP && metric != LH_FX_L2)
        return lh_err_new(LH_EBADREQ, "metric", "metric must be ip or l2");
    lh_err *err = check_range("dimension", p->dimension, 1, kMaxDimension);
    if (err || p->kind == LH_FX_FLAT)
        return err;
    err = check_range("m", p->m, kMinM, kMaxM);
    return err ? err : check_range("ef_construction", p->ef_construction, 1, kMaxEfConstruction);
}

/* IndexHNSWFlat rather than IndexHNSW(storage): write_index only knows
 * the concrete HNSW classes, and refuses a bare IndexHNSW. Its IndexFlat
 * is swapped for ours before anything is added. */
lh_fx_index *create_hnsw(const lh_fx_params *p)
{
    auto hnsw = std::make_unique<faiss::IndexHNSWFlat>(p->dimension, p->m, faiss_metric(p->metric));
    auto *flat = new SimdFlat(p->dimension, faiss_metric(p->metric));
    delete hnsw->storage;
    hnsw->storage = flat;
    assert(hnsw->own_fields);
    hnsw->hnsw.efConstruction = p->ef_construction;
    hnsw->hnsw.efSearch = kDefaultEfSearch;
    return wrap_index(std::move(hnsw), flat);
}

lh_fx_index *create_flat(const lh_fx_params *p)
{
    auto flat = std::make_unique<SimdFlat>(p->dimension, faiss_metric(p->metric));
    SimdFlat *raw = flat.get();
    return wrap_index(std::move(flat), raw);
}

/* ---- search ---- */

/* Exact k nearest among the kept labels. C is faiss's heap comparator:
 * CMax for L2 (the heap top is the worst kept so far), CMin for IP. */
template <class C>
void exact_scan(const SimdFlat &flat, const float *q, size_t k, lh_fx_keep_fn keep, void *user,
                float *distances, idx_t *labels)
{
    lh_fx_distance_fn kernel = kernel_for(flat.metric_type);
    const float *xb = flat.get_xb();
    const size_t d = (size_t)flat.d;
    faiss::heap_heapify<C>(k, distances, labels);
    for (idx_t i = 0; i < flat.ntotal; i++) {
        if (keep && !keep(user, i))
            continue;
        float dis = kernel(q, xb + (size_t)i * d, d);
        if (C::cmp(distances[0], dis))
            faiss::heap_replace_top<C>(k, distances, labels, dis, i);
    }
    faiss::heap_reorder<C>(k, distances, labels);
}

void exact_search(const SimdFlat &flat, const float *q, size_t k, lh_fx_keep_fn keep, void *user,
                  float *distances, idx_t *labels)
{
    if (flat.metric_type == faiss::METRIC_INNER_PRODUCT)
        exact_scan<faiss::CMin<float, idx_t>>(flat, q, k, keep, user, distances, labels);
    else
        exact_scan<faiss::CMax<float, idx_t>>(flat, q, k, keep, user, distances, labels);
}

/* Our walk over faiss's HNSW graph. faiss 1.7.3's HNSW::search sizes its
 * beam from the index's efSearch field, not the per-query parameter (a
 * later faiss fixes that), and a shared field cannot change per query
 * under concurrent searches; IndexHNSW::search also opens an OpenMP team
 * and allocates ntotal bytes per call. So the walk is ours (the standard
 * HNSW one: greedy descent through the upper levels, then a beam of ef
 * on level 0) and faiss's part is the graph it built. Neighbours are
 * gathered first and their vectors prefetched, so the memory loads of a
 * node's neighbours overlap instead of queueing behind each distance. */
struct Scored {
    float dis;
    int id;
};
struct FartherFirst { /* heap order with the farthest on top */
    bool operator()(const Scored &a, const Scored &b) const { return a.dis < b.dis; }
};
struct NearerFirst {
    bool operator()(const Scored &a, const Scored &b) const { return a.dis > b.dis; }
};

/* Per searching thread, reused: the visited marks (advance() forgets
 * them in O(1)) and the heaps, so a query allocates nothing. */
struct Scratch {
    faiss::VisitedTable visited{0};
    std::vector<Scored> beam, frontier;
    std::vector<int> fresh;
};

Scratch &scratch_for(idx_t ntotal)
{
    thread_local Scratch s;
    if (s.visited.visited.size() < (size_t)ntotal)
        s.visited.visited.resize((size_t)ntotal, 0);
    s.visited.advance(); /* also forgets marks an aborted search left */
    s.beam.clear();
    s.frontier.clear();
    return s;
}

class GraphWalk {
  public:
    GraphWalk(const faiss::HNSW &graph, const SimdFlat &flat, const float *q, Scratch &s)
        : g_(graph), xb_(flat.get_xb()), d_((size_t)flat.d), kernel_(kernel_for(flat.metric_type)),
          sign_(flat.metric_type == faiss::METRIC_INNER_PRODUCT ? -1.0f : 1.0f), q_(q), s_(s)
    {
    }

    /* Best `k` kept labels seen by a level-0 beam of `ef`, into faiss
     * max-heap order (distances are HNSW's: IP negated). */
    void search(size_t k, int ef, lh_fx_keep_fn keep, void *user, float *dis, idx_t *labels)
    {
        Scored entry = {distance(g_.entry_point), g_.entry_point};
        for (int level = g_.max_level; level >= 1; level--)
            entry = descend(entry, level);
        faiss::maxheap_heapify(k, dis, labels);
        beam_search(entry, k, ef, keep, user, dis, labels);
    }

  private:
    float distance(int id) const { return sign_ * kernel_(q_, xb_ + (size_t)id * d_, d_); }

    /* Links of `id` on `level`: a slice of g_.neighbors, -1 padded. */
    const faiss::HNSW::storage_idx_t *links(int id, int level, size_t *count) const
    {
        size_t begin = g_.offsets[id] + (size_t)g_.cum_nneighbor_per_level[level];
        *count = (size_t)g_.cum_nneighbor_per_level[level + 1] - g_.cum_nneighbor_per_level[level];
        return g_.neighbors.data() + begin;
    }

    /* Greedy: move to a closer neighbour while there is one. */
    Scored descend(Scored at, int level) const
    {
        for (bool moved = true; moved;) {
            moved = false;
            size_t count;
            const faiss::HNSW::storage_idx_t *nb = links(at.id, level, &count);
            for (size_t i = 0; i < count && nb[i] >= 0; i++) {
                float dv = distance(nb[i]);
                if (dv < at.dis) {
                    at = {dv, nb[i]};
                    moved = true;
                }
            }
        }
        return at;
    }

    /* The unvisited neighbours of `id` on level 0, marked visited, their
     * vectors already on their way into the cache. */
    void gather_fresh(int id)
    {
        size_t count;
        const faiss::HNSW::storage_idx_t *nb = links(id, 0, &count);
        s_.fresh.clear();
        for (size_t i = 0; i < count && nb[i] >= 0; i++) {
            if (s_.visited.get(nb[i]))
                continue;
            s_.visited.set(nb[i]);
            s_.fresh.push_back(nb[i]);
            const char *v = reinterpret_cast<const char *>(xb_ + (size_t)nb[i] * d_);
            __builtin_prefetch(v);
            __builtin_prefetch(v + 64);
        }
    }

    /* Keeps `c` in the beam of the ef nearest seen, and in the frontier
     * to expand, when it beats the beam's farthest. */
    void offer(Scored c, size_t ef)
    {
        if (s_.beam.size() >= ef && c.dis >= s_.beam.front().dis)
            return;
        s_.frontier.push_back(c);
        std::push_heap(s_.frontier.begin(), s_.frontier.end(), NearerFirst());
        s_.beam.push_back(c);
        std::push_heap(s_.beam.begin(), s_.beam.end(), FartherFirst());
        if (s_.beam.size() > ef) {
            std::pop_heap(s_.beam.begin(), s_.beam.end(), FartherFirst());
            s_.beam.pop_back();
        }
    }

    /* Every node the beam evaluates may be a result if kept; filtered-out
     * nodes still guide the walk. */
    static void collect(Scored c, size_t k, lh_fx_keep_fn keep, void *user, float *dis,
                        idx_t *labels)
    {
        if (c.dis < dis[0] && (!keep || keep(user, c.id)))
            faiss::maxheap_replace_top(k, dis, labels, c.dis, (idx_t)c.id);
    }

    void beam_search(Scored entry, size_t k, int ef, lh_fx_keep_fn keep, void *user, float *dis,
                     idx_t *labels)
    {
        s_.visited.set(entry.id);
        offer(entry, (size_t)ef);
        collect(entry, k, keep, user, dis, labels);
        while (!s_.frontier.empty()) {
            Scored next = s_.frontier.front();
            if (s_.beam.size() >= (size_t)ef && next.dis > s_.beam.front().dis)
                break; /* nothing left to expand can improve the beam */
            std::pop_heap(s_.frontier.begin(), s_.frontier.end(), NearerFirst());
            s_.frontier.pop_back();
            gather_fresh(next.id);
            for (int id : s_.fresh) {
                Scored c = {distance(id), id};
                offer(c, (size_t)ef);
                collect(c, k, keep, user, dis, labels);
            }
        }
    }

    const faiss::HNSW &g_;
    const float *xb_;
    size_t d_;
    lh_fx_distance_fn kernel_;
    float sign_;
    const float *q_;
    Scratch &s_;
};

/* One beam search, best first in the caller's terms; returns how many
 * labels it found. */
size_t hnsw_search_once(const lh_fx_index &ix, const float *q, size_t k, int ef,
                        lh_fx_keep_fn keep, void *user, float *distances, idx_t *labels)
{
    GraphWalk walk(ix.hnsw->hnsw, *ix.flat, q, scratch_for(ix.hnsw->ntotal));
    walk.search(k, ef, keep, user, distances, labels);
    faiss::maxheap_reorder(k, distances, labels);
    size_t found = 0;
    for (size_t i = 0; i < k; i++) {
        found += labels[i] >= 0;
        if (ix.metric == LH_FX_IP)
            distances[i] = -distances[i];
    }
    return found;
}

void hnsw_search(const lh_fx_index &ix, const float *q, size_t k, int ef, lh_fx_keep_fn keep,
                 void *user, float *distances, idx_t *labels)
{
    const idx_t n = ix.hnsw->ntotal;
    long long beam = std::max<long long>(ef, (long long)k);
    for (int widening = 0;; widening++) {
        size_t found = hnsw_search_once(ix, q, k, (int)beam, keep, user, distances, labels);
        if (found == k || (idx_t)found == n)
            return;
        if (widening == kWidenings || beam >= n)
            break;
        beam = std::min(beam * 4, (long long)INT_MAX);
    }
    exact_search(*ix.flat, q, k, keep, user, distances, labels);
}

void fill_empty(lh_fx_metric metric, size_t k, float *distances, int64_t *labels)
{
    for (size_t i = 0; i < k; i++) {
        distances[i] = metric == LH_FX_IP ? -FLT_MAX : FLT_MAX;
        labels[i] = -1;
    }
}

} // namespace

/* ---- public: lifecycle ---- */

extern "C" lh_err *lh_fx_create(const lh_fx_params *p, lh_fx_index **out)
{
    assert(p && out);
    *out = NULL;
    lh_err *err = check_params(p);
    if (err)
        return err;
    return guarded("create index", [&]() -> lh_err * {
        *out = p->kind == LH_FX_HNSW ? create_hnsw(p) : create_flat(p);
        return NULL;
    });
}

extern "C" void lh_fx_destroy(lh_fx_index *ix)
{
    delete ix;
}

extern "C" lh_err *lh_fx_add(lh_fx_index *ix, size_t n, const float *x)
{
    assert(ix && (x || n == 0));
    if (n == 0)
        return NULL;
    /* HNSW links are 32-bit ints. */
    if (n > (size_t)INT_MAX - (size_t)ix->top->ntotal)
        return lh_err_new(LH_ETOOLARGE, NULL, "an index holds at most %d vectors", INT_MAX);
    return guarded("add vectors", [&]() -> lh_err * {
        SmallBatchOnOneThread threads(n);
        ix->top->add((idx_t)n, x);
        return NULL;
    });
}

extern "C" int64_t lh_fx_count(const lh_fx_index *ix)
{
    return ix->top->ntotal;
}

extern "C" int lh_fx_dimension(const lh_fx_index *ix)
{
    return ix->flat->d;
}

extern "C" void lh_fx_reconstruct(const lh_fx_index *ix, int64_t label, float *out)
{
    assert(label >= 0 && label < ix->flat->ntotal);
    const size_t d = (size_t)ix->flat->d;
    memcpy(out, ix->flat->get_xb() + (size_t)label * d, d * sizeof(float));
}

/* ---- public: search ---- */

extern "C" lh_err *lh_fx_search(const lh_fx_index *ix, const float *query, size_t k,
                                int ef_search, lh_fx_keep_fn keep, void *user, float *distances,
                                int64_t *labels)
{
    assert(ix && query && distances && labels);
    lh_err *err = check_range("k", (long long)std::min(k, (size_t)LLONG_MAX), 1, kMaxK);
    if (!err && ef_search > kMaxEfSearch)
        err = check_range("ef_search", ef_search, 1, kMaxEfSearch);
    if (err)
        return err;
    if (ix->top->ntotal == 0) {
        fill_empty(ix->metric, k, distances, labels);
        return NULL;
    }
    return guarded("search", [&]() -> lh_err * {
        if (ix->kind == LH_FX_FLAT) {
            exact_search(*ix->flat, query, k, keep, user, distances, labels);
        } else {
            int ef = ef_search > 0 ? ef_search : ix->hnsw->hnsw.efSearch;
            hnsw_search(*ix, query, k, ef, keep, user, distances, labels);
        }
        return NULL;
    });
}

/* ---- snapshots ---- */

namespace {

constexpr char kTrailerMagic[8] = {'L', 'H', 'F', 'X', 'S', 'U', 'M', '1'};
constexpr size_t kTrailerSize = 24; /* magic, payload length, checksum */

/* A fast 64-bit checksum over a byte stream fed in pieces of any size.
 * Each step is a bijection of the state for a fixed word, so one changed
 * word always changes the state; it guards against damage, not malice. */
class Checksum {
  public:
    void update(const void *data, size_t n)
    {
        const auto *p = static_cast<const uint8_t *>(data);
        total_ += n;
        while (n > 0 && pending_ > 0) {
            carry_[pending_++] = *p++;
            n--;
            if (pending_ == 8)
                mix(carry_), pending_ = 0;
        }
        if (pending_ > 0)
            return; /* all of it went into the partial word */
        for (; n >= 8; p += 8, n -= 8)
            mix(p);
        memcpy(carry_, p, n);
        pending_ = n;
    }
    uint64_t value() const
    {
        uint8_t last[8] = {0};
        memcpy(last, carry_, pending_);
        Checksum copy = *this;
        copy.mix(last);
        return copy.state_ ^ total_;
    }
    uint64_t bytes() const { return total_; }

  private:
    void mix(const uint8_t *p)
    {
        uint64_t w;
        memcpy(&w, p, 8);
        state_ ^= w * 0x9E3779B97F4A7C15ull;
        state_ = ((state_ << 31) | (state_ >> 33)) * 0xC2B2AE3D27D4EB4Full;
    }
    uint64_t state_ = 0x243F6A8885A308D3ull;
    uint64_t total_ = 0;
    uint8_t carry_[8] = {0};
    size_t pending_ = 0;
};

/* faiss's writer, plus the checksum of everything written. */
struct ChecksumWriter final : faiss::IOWriter {
    FILE *file;
    Checksum sum;
    explicit ChecksumWriter(FILE *f) : file(f) { name = "snapshot"; }
    size_t operator()(const void *ptr, size_t size, size_t nitems) override
    {
        size_t done = fwrite(ptr, size, nitems, file);
        sum.update(ptr, size * done);
        return done;
    }
    int fileno() override { return ::fileno(file); }
};

void encode_trailer(const Checksum &sum, uint8_t out[kTrailerSize])
{
    uint64_t length = sum.bytes(), value = sum.value();
    memcpy(out, kTrailerMagic, 8);
    memcpy(out + 8, &length, 8);
    memcpy(out + 16, &value, 8);
}

lh_err *errno_error(const char *what, const char *path)
{
    return lh_err_new(LH_EINTERNAL, NULL, "%s %s: %s", what, path, strerror(errno));
}

/* Makes a rename in path's directory durable. */
lh_err *fsync_parent(const char *path)
{
    std::string dir(path);
    size_t slash = dir.rfind('/');
    dir = slash == std::string::npos ? "." : slash == 0 ? "/" : dir.substr(0, slash);
    int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno_error("open snapshot directory", dir.c_str());
    lh_err *err = fsync(fd) == 0 ? NULL : errno_error("fsync snapshot directory", dir.c_str());
    close(fd);
    return err;
}

/* faiss payload + trailer into an open file, flushed to disk. */
lh_err *write_snapshot_file(const lh_fx_index *ix, FILE *f, const char *tmp)
{
    lh_err *err = guarded("write index snapshot", [&]() -> lh_err * {
        ChecksumWriter writer(f);
        faiss::write_index(ix->top.get(), &writer);
        uint8_t trailer[kTrailerSize];
        encode_trailer(writer.sum, trailer);
        if (fwrite(trailer, 1, kTrailerSize, f) != kTrailerSize)
            return errno_error("write index snapshot", tmp);
        return NULL;
    });
    if (!err && (fflush(f) != 0 || fsync(fileno(f)) != 0))
        err = errno_error("flush index snapshot", tmp);
    return err;
}

} // namespace

extern "C" lh_err *lh_fx_write(const lh_fx_index *ix, const char *path)
{
    assert(ix && path);
    std::string tmp = std::string(path) + ".tmp";
    FILE *f = fopen(tmp.c_str(), "wbe");
    if (!f)
        return errno_error("create index snapshot", tmp.c_str());
    lh_err *err = write_snapshot_file(ix, f, tmp.c_str());
    if (fclose(f) != 0 && !err)
        err = errno_error("close index snapshot", tmp.c_str());
    if (!err && rename(tmp.c_str(), path) != 0)
        err = errno_error("rename index snapshot into", path);
    if (err) {
        unlink(tmp.c_str());
        return err;
    }
    return fsync_parent(path);
}

namespace {

lh_err *damaged(const char *path, const char *why)
{
    return lh_err_new(LH_EINTERNAL, NULL, "damaged index snapshot %s: %s", path, why);
}

/* Reads the whole file once and checks it against its trailer, before
 * faiss parses sizes out of it. Leaves the file at its start. */
lh_err *verify_checksum(FILE *f, const char *path)
{
    struct stat st;
    if (fstat(fileno(f), &st) != 0)
        return errno_error("stat index snapshot", path);
    if ((size_t)st.st_size < kTrailerSize)
        return damaged(path, "shorter than its trailer (truncated?)");
    uint64_t payload = (uint64_t)st.st_size - kTrailerSize;
    Checksum sum;
    std::unique_ptr<uint8_t[]> buf(new uint8_t[1 << 20]);
    for (uint64_t left = payload; left > 0;) {
        size_t want = (size_t)std::min<uint64_t>(left, 1 << 20);
        if (fread(buf.get(), 1, want, f) != want)
            return damaged(path, "shorter than its size says");
        sum.update(buf.get(), want);
        left -= want;
    }
    uint8_t found[kTrailerSize], expected[kTrailerSize];
    if (fread(found, 1, kTrailerSize, f) != kTrailerSize)
        return damaged(path, "trailer unreadable");
    encode_trailer(sum, expected);
    if (memcmp(found, kTrailerMagic, 8) != 0)
        return damaged(path, "no lakehouse trailer (truncated, or not written by vectord)");
    if (memcmp(found, expected, kTrailerSize) != 0)
        return damaged(path, "checksum mismatch (bytes changed or lost)");
    rewind(f);
    return NULL;
}

/* NULL when the HNSW graph only links to stored vectors and its tables
 * agree in size, so a search can never read out of bounds. */
const char *graph_problem(const faiss::HNSW &g, idx_t ntotal)
{
    if ((idx_t)g.levels.size() != ntotal || (idx_t)g.offsets.size() != ntotal + 1)
        return "HNSW tables disagree with the vector count";
    if (g.offsets[0] != 0 || g.offsets[ntotal] != g.neighbors.size())
        return "HNSW neighbour offsets out of range";
    const int levels = (int)g.cum_nneighbor_per_level.size() - 1;
    for (idx_t i = 0; i < ntotal; i++) {
        int level = g.levels[i];
        if (level < 1 || level > levels || level > g.max_level + 1)
            return "HNSW level out of range";
        if (g.offsets[i + 1] - g.offsets[i] != (size_t)g.cum_nb_neighbors(level))
            return "HNSW neighbour offsets inconsistent";
    }
    for (faiss::HNSW::storage_idx_t v : g.neighbors)
        if (v < -1 || v >= ntotal)
            return "HNSW link to a vector that does not exist";
    bool empty = ntotal == 0;
    if (empty != (g.entry_point < 0) || g.entry_point >= ntotal)
        return "HNSW entry point out of range";
    if (!empty && g.levels[g.entry_point] != g.max_level + 1)
        return "HNSW entry point is not on the top level";
    return NULL;
}

const char *flat_problem(const faiss::IndexFlat &flat)
{
    if (flat.metric_type != faiss::METRIC_INNER_PRODUCT && flat.metric_type != faiss::METRIC_L2)
        return "metric is neither inner product nor L2";
    if (flat.d < 1 || flat.d > kMaxDimension || flat.ntotal < 0 || flat.ntotal > INT_MAX)
        return "dimension or vector count out of range";
    if (flat.code_size != (size_t)flat.d * sizeof(float) ||
        flat.codes.size() != (size_t)flat.ntotal * flat.code_size)
        return "vector storage has the wrong size";
    return NULL;
}

/* Turns what read_index returned into our index, or says what is wrong. */
const char *adopt_loaded(std::unique_ptr<faiss::Index> &loaded, lh_fx_index **out)
{
    if (auto *hnsw = dynamic_cast<faiss::IndexHNSWFlat *>(loaded.get())) {
        auto *plain = dynamic_cast<faiss::IndexFlat *>(hnsw->storage);
        if (!plain || !hnsw->own_fields)
            return "HNSW without flat vector storage";
        const char *why = flat_problem(*plain);
        if (!why && (plain->ntotal != hnsw->ntotal || plain->d != hnsw->d))
            why = "HNSW and its vectors disagree";
        if (!why)
            why = graph_problem(hnsw->hnsw, hnsw->ntotal);
        if (why)
            return why;
        SimdFlat *flat = adopt_codes(*plain);
        delete hnsw->storage;
        hnsw->storage = flat;
        *out = wrap_index(std::move(loaded), flat);
        return NULL;
    }
    if (auto *plain = dynamic_cast<faiss::IndexFlat *>(loaded.get())) {
        if (const char *why = flat_problem(*plain))
            return why;
        std::unique_ptr<faiss::Index> flat(adopt_codes(*plain));
        SimdFlat *raw = static_cast<SimdFlat *>(flat.get());
        *out = wrap_index(std::move(flat), raw);
        return NULL;
    }
    return "not an HNSW or flat index";
}

lh_err *parse_snapshot(FILE *f, const char *path, lh_fx_index **out)
{
    try {
        faiss::FileIOReader reader(f);
        std::unique_ptr<faiss::Index> loaded(faiss::read_index(&reader));
        const char *why = adopt_loaded(loaded, out);
        return why ? damaged(path, why) : NULL;
    } catch (const std::bad_alloc &) {
        return damaged(path, "out of memory while reading");
    } catch (const std::exception &e) {
        return damaged(path, e.what());
    } catch (...) {
        return damaged(path, "unknown C++ exception");
    }
}

} // namespace

extern "C" lh_err *lh_fx_read(const char *path, lh_fx_index **out)
{
    assert(path && out);
    *out = NULL;
    FILE *f = fopen(path, "rbe");
    if (!f && errno == ENOENT)
        return lh_err_new(LH_ENOTFOUND, NULL, "index snapshot %s does not exist", path);
    if (!f)
        return errno_error("open index snapshot", path);
    lh_err *err = verify_checksum(f, path);
    if (!err)
        err = parse_snapshot(f, path, out);
    fclose(f);
    return err;
}

/* ---- introspection ---- */

extern "C" size_t lh_fx_memory_bytes(const lh_fx_index *ix)
{
    /* Capacities of the big arrays: vectors, and for HNSW the links, their
     * offsets and the levels. Small fixed parts are left out. */
    size_t bytes = ix->flat->codes.capacity();
    if (ix->hnsw) {
        const faiss::HNSW &g = ix->hnsw->hnsw;
        bytes += g.neighbors.capacity() * sizeof(g.neighbors[0]) +
                 g.offsets.capacity() * sizeof(g.offsets[0]) +
                 g.levels.capacity() * sizeof(g.levels[0]);
    }
    return bytes;
}

extern "C" const char *lh_fx_simd_name(void)
{
    return lh_fx_kernels_best()->name;
}
