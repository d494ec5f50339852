/*
 * test_faiss_shim.c — the faiss layer under vectord (actors/vector/
 * faiss_shim.h): each SIMD kernel this CPU runs against the scalar one,
 * HNSW and flat search against brute force for both metrics, recall@10 on
 * 20,000 clustered vectors at vectord's defaults (computed here, not a
 * stored number), keep filters that still yield k results, concurrent
 * searches, snapshots that round-trip exactly, and damaged snapshots that
 * fail cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actors/vector/faiss_kernels.h"
#include "actors/vector/faiss_shim.h"
#include "tests/support/harness.h"

/* vectord's defaults, which the recall test holds to >= 0.95. */
#define DEFAULT_M 32
#define DEFAULT_EF_CONSTRUCTION 200
#define DEFAULT_EF_SEARCH 64

/* ---- data ---- */

typedef struct rng {
    uint64_t state;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_uniform(rng *r) /* (0, 1) */
{
    return ((double)(rng_next(r) >> 11) + 0.5) / 9007199254740992.0;
}

static float rng_gauss(rng *r)
{
    return (float)(sqrt(-2.0 * log(rng_uniform(r))) * cos(6.283185307179586 * rng_uniform(r)));
}

static void normalize(float *v, int d)
{
    double ss = 0;
    for (int i = 0; i < d; i++)
        ss += (double)v[i] * v[i];
    float inv = (float)(1.0 / sqrt(ss));
    for (int i = 0; i < d; i++)
        v[i] *= inv;
}

/* n unit vectors around `clusters` random centres. */
static float *clustered(size_t n, int d, int clusters, float spread, uint64_t seed)
{
    rng r = {seed};
    float *centres = malloc(sizeof(float) * (size_t)clusters * d);
    float *x = malloc(sizeof(float) * n * d);
    assert_non_null(centres);
    assert_non_null(x);
    for (size_t i = 0; i < (size_t)clusters * d; i++)
        centres[i] = rng_gauss(&r);
    for (size_t i = 0; i < n; i++) {
        const float *c = centres + (rng_next(&r) % (uint64_t)clusters) * d;
        for (int j = 0; j < d; j++)
            x[i * d + j] = c[j] + spread * rng_gauss(&r);
        normalize(x + i * d, d);
    }
    free(centres);
    return x;
}

/* ---- brute force ---- */

static double exact_distance(lh_fx_metric metric, const float *a, const float *b, int d)
{
    double s = 0;
    for (int i = 0; i < d; i++)
        s += metric == LH_FX_IP ? (double)a[i] * b[i] : ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return s;
}

static bool closer(lh_fx_metric metric, double a, double b)
{
    return metric == LH_FX_IP ? a > b : a < b;
}

/* The k best kept labels by insertion into a sorted list; returns how
 * many exist (<= k). */
static size_t brute_force(lh_fx_metric metric, const float *xb, size_t n, int d, const float *q,
                          size_t k, lh_fx_keep_fn keep, void *user, int64_t *labels)
{
    double *best = malloc(sizeof(double) * k);
    assert_non_null(best);
    size_t have = 0;
    for (size_t i = 0; i < n; i++) {
        if (keep && !keep(user, (int64_t)i))
            continue;
        double dis = exact_distance(metric, q, xb + i * d, d);
        if (have == k && !closer(metric, dis, best[k - 1]))
            continue;
        size_t at = have < k ? have++ : k - 1;
        for (; at > 0 && closer(metric, dis, best[at - 1]); at--) {
            best[at] = best[at - 1];
            labels[at] = labels[at - 1];
        }
        best[at] = dis;
        labels[at] = (int64_t)i;
    }
    free(best);
    return have;
}

static size_t overlap(const int64_t *a, const int64_t *b, size_t k)
{
    size_t hits = 0;
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
            hits += a[i] >= 0 && a[i] == b[j];
    return hits;
}

static lh_fx_index *build(lh_fx_kind kind, lh_fx_metric metric, int d, const float *x, size_t n)
{
    lh_fx_params p = {kind, metric, d, DEFAULT_M, DEFAULT_EF_CONSTRUCTION};
    lh_fx_index *ix = NULL;
    assert_null(lh_fx_create(&p, &ix));
    assert_non_null(ix);
    assert_null(lh_fx_add(ix, n, x));
    assert_int_equal(lh_fx_count(ix), (int64_t)n);
    return ix;
}

/* Mean recall@k of the index against brute force over nq queries. */
static double recall_at(const lh_fx_index *ix, lh_fx_metric metric, const float *xb, size_t n,
                        int d, const float *queries, size_t nq, size_t k, int ef)
{
    float *dist = malloc(sizeof(float) * k);
    int64_t *got = malloc(sizeof(int64_t) * k), *want = malloc(sizeof(int64_t) * k);
    size_t hits = 0;
    for (size_t i = 0; i < nq; i++) {
        const float *q = queries + i * d;
        assert_null(lh_fx_search(ix, q, k, ef, NULL, NULL, dist, got));
        assert_int_equal(brute_force(metric, xb, n, d, q, k, NULL, NULL, want), k);
        hits += overlap(got, want, k);
    }
    free(dist);
    free(got);
    free(want);
    return (double)hits / (double)(nq * k);
}

/* ---- kernels ---- */

static void check_kernel(const lh_fx_kernels *ks, const lh_fx_kernels *ref, const float *a,
                         const float *b, size_t d)
{
    double mag_ip = 0, mag_l2 = 0;
    for (size_t i = 0; i < d; i++) {
        mag_ip += fabs((double)a[i] * b[i]);
        mag_l2 += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    }
    /* Different summation orders round differently; a wrong lane or a
     * lost tail is off by a whole term, far beyond this. */
    double tol_ip = 1e-5 * mag_ip + 1e-6, tol_l2 = 1e-5 * mag_l2 + 1e-6;
    float ip = ks->ip(a, b, d), l2 = ks->l2(a, b, d);
    if (fabs(ip - ref->ip(a, b, d)) > tol_ip || fabs(l2 - ref->l2(a, b, d)) > tol_l2 ||
        fabs(ip - exact_distance(LH_FX_IP, a, b, (int)d)) > tol_ip ||
        fabs(l2 - exact_distance(LH_FX_L2, a, b, (int)d)) > tol_l2)
        fail_msg("%s kernel wrong at d=%zu: ip %g l2 %g", ks->name, d, ip, l2);
}

static lh_fx_level level_named(const char *name)
{
    for (int level = 0; level < LH_FX_LEVEL_COUNT; level++) {
        const lh_fx_kernels *ks = lh_fx_kernels_at((lh_fx_level)level);
        if (ks && strcmp(ks->name, name) == 0)
            return (lh_fx_level)level;
    }
    fail_msg("no kernel level named %s", name);
    return LH_FX_LEVEL_SCALAR;
}

static void test_kernels_match_scalar(void **state)
{
    (void)state;
    enum { MAX_D = 1030 };
    const lh_fx_kernels *scalar = lh_fx_kernels_at(LH_FX_LEVEL_SCALAR);
    assert_non_null(scalar);
    assert_string_equal(lh_fx_simd_name(), lh_fx_kernels_best()->name);
    /* One float of slack in front, so every vector is also misaligned. */
    float *a = malloc(sizeof(float) * (MAX_D + 1)), *b = malloc(sizeof(float) * (MAX_D + 1));
    rng r = {42};
    int levels_run = 0;
    for (int level = 0; level < LH_FX_LEVEL_COUNT; level++) {
        const lh_fx_kernels *ks = lh_fx_kernels_at((lh_fx_level)level);
        if (!ks)
            continue;
        levels_run++;
        for (size_t d = 1; d <= MAX_D; d++) {
            for (size_t i = 0; i <= d; i++) {
                a[i] = rng_gauss(&r);
                b[i] = rng_gauss(&r);
            }
            check_kernel(ks, scalar, a + (d & 1), b + (d & 1), d);
        }
        assert_true(ks->ip(a, b, 0) == 0.0f && ks->l2(a, b, 0) == 0.0f);
    }
    print_message("kernels checked: %d level(s), best %s\n", levels_run, lh_fx_simd_name());

    /* A cap lowers the level searches use, and lifting it restores it. */
    const char *best = lh_fx_simd_name();
    lh_fx_kernels_cap(LH_FX_LEVEL_SCALAR);
    assert_string_equal(lh_fx_simd_name(), "scalar");
    lh_fx_kernels_cap(level_named(best));
    assert_string_equal(lh_fx_simd_name(), best);
    free(a);
    free(b);
}

/* ---- small exact checks ---- */

static void check_against_brute_force(lh_fx_kind kind, lh_fx_metric metric)
{
    enum { N = 600, D = 17, K = 10, NQ = 20 };
    float *x = clustered(N + NQ, D, 8, 0.6f, 7 + kind * 2 + metric);
    const float *queries = x + (size_t)N * D; /* same mixture, not indexed */
    lh_fx_index *ix = build(kind, metric, D, x, N);
    assert_int_equal(lh_fx_dimension(ix), D);
    float dist[K];
    int64_t got[K], want[K];
    size_t hits = 0;
    for (int i = 0; i < NQ; i++) {
        const float *q = queries + i * D;
        /* A beam as wide as the index makes HNSW exhaustive here. */
        assert_null(lh_fx_search(ix, q, K, N, NULL, NULL, dist, got));
        brute_force(metric, x, N, D, q, K, NULL, NULL, want);
        hits += overlap(got, want, K);
        for (int j = 0; j < K; j++) {
            assert_true(got[j] >= 0 && got[j] < N);
            assert_true(fabs(dist[j] - exact_distance(metric, q, x + got[j] * D, D)) < 1e-4);
            if (j > 0)
                assert_false(closer(metric, dist[j], dist[j - 1]));
        }
    }
    if (kind == LH_FX_FLAT)
        assert_int_equal(hits, NQ * K);
    else
        assert_true(hits >= NQ * K * 99 / 100);
    lh_fx_destroy(ix);
    free(x);
}

static void test_hnsw_ip_matches_brute_force(void **state)
{
    (void)state;
    check_against_brute_force(LH_FX_HNSW, LH_FX_IP);
}

static void test_hnsw_l2_matches_brute_force(void **state)
{
    (void)state;
    check_against_brute_force(LH_FX_HNSW, LH_FX_L2);
}

static void test_flat_ip_matches_brute_force(void **state)
{
    (void)state;
    check_against_brute_force(LH_FX_FLAT, LH_FX_IP);
}

static void test_flat_l2_matches_brute_force(void **state)
{
    (void)state;
    check_against_brute_force(LH_FX_FLAT, LH_FX_L2);
}

static void test_empty_index_and_short_results(void **state)
{
    (void)state;
    enum { D = 8, K = 5 };
    for (int kind = LH_FX_HNSW; kind <= LH_FX_FLAT; kind++) {
        lh_fx_index *ix = build((lh_fx_kind)kind, LH_FX_L2, D, NULL, 0);
        float q[D] = {0}, dist[K];
        int64_t labels[K];
        assert_null(lh_fx_search(ix, q, K, 0, NULL, NULL, dist, labels));
        for (int i = 0; i < K; i++)
            assert_int_equal(labels[i], -1);
        /* Fewer vectors than k: all of them, then empty slots. */
        float *x = clustered(3, D, 1, 0.5f, 5);
        assert_null(lh_fx_add(ix, 3, x));
        assert_null(lh_fx_search(ix, q, K, 0, NULL, NULL, dist, labels));
        for (int i = 0; i < K; i++)
            assert_true(i < 3 ? labels[i] >= 0 : labels[i] == -1);
        float back[D];
        lh_fx_reconstruct(ix, 2, back);
        assert_memory_equal(back, x + 2 * D, sizeof back);
        lh_fx_destroy(ix);
        free(x);
    }
}

static void test_bad_parameters_are_400(void **state)
{
    (void)state;
    const lh_fx_params bad[] = {
        {LH_FX_HNSW, LH_FX_IP, 0, 32, 200},      {LH_FX_HNSW, LH_FX_IP, 65537, 32, 200},
        {LH_FX_HNSW, LH_FX_IP, 8, 1, 200},       {LH_FX_HNSW, LH_FX_IP, 8, 32, 0},
        {(lh_fx_kind)7, LH_FX_IP, 8, 32, 200},   {LH_FX_FLAT, (lh_fx_metric)9, 8, 32, 200},
    };
    const char *fields[] = {"dimension", "dimension", "m", "ef_construction", "kind", "metric"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lh_fx_index *ix = (lh_fx_index *)&ix;
        lh_err *err = lh_fx_create(&bad[i], &ix);
        assert_non_null(err);
        assert_null(ix);
        assert_int_equal(lh_err_code(err), LH_EBADREQ);
        assert_string_equal(lh_err_field(err), fields[i]);
        lh_err_free(err);
    }
    lh_fx_index *ix = build(LH_FX_HNSW, LH_FX_IP, 4, NULL, 0);
    float q[4] = {1, 0, 0, 0}, dist[1];
    int64_t label[1];
    lh_err *err = lh_fx_search(ix, q, 0, 0, NULL, NULL, dist, label);
    assert_non_null(err);
    assert_int_equal(lh_err_code(err), LH_EBADREQ);
    assert_string_equal(lh_err_field(err), "k");
    lh_err_free(err);
    lh_fx_destroy(ix);
}

/* ---- recall at the defaults ---- */

static void test_recall_at_10_on_20k_clustered(void **state)
{
    (void)state;
    enum { N = 20000, D = 128, NQ = 200, K = 10 };
    float *x = clustered(N + NQ, D, 64, 0.5f, 2024);
    const float *queries = x + (size_t)N * D;
    lh_fx_index *ix = build(LH_FX_HNSW, LH_FX_IP, D, x, N);
    double recall = recall_at(ix, LH_FX_IP, x, N, D, queries, NQ, K, 0);
    print_message("recall@10 at M=%d ef_construction=%d ef_search=%d: %.4f (%s kernels)\n",
                  DEFAULT_M, DEFAULT_EF_CONSTRUCTION, DEFAULT_EF_SEARCH, recall, lh_fx_simd_name());
    assert_true(recall >= 0.95);
    /* ef_search is honoured per query: a beam of just k finds less. */
    assert_true(recall_at(ix, LH_FX_IP, x, N, D, queries, NQ, K, K) < recall);
    /* 0 means the index default, which must be vectord's default. */
    assert_true(recall_at(ix, LH_FX_IP, x, N, D, queries, 20, K, DEFAULT_EF_SEARCH) ==
                recall_at(ix, LH_FX_IP, x, N, D, queries, 20, K, 0));
    size_t mem = lh_fx_memory_bytes(ix);
    assert_true(mem > (size_t)N * D * sizeof(float) + (size_t)N * 2 * DEFAULT_M * 4);
    lh_fx_destroy(ix);
    free(x);
}

/* ---- filters ---- */

static bool keep_even(void *user, int64_t label)
{
    (void)user;
    return label % 2 == 0;
}

typedef struct every_nth {
    int64_t n;
} every_nth;

static bool keep_every_nth(void *user, int64_t label)
{
    return label % ((every_nth *)user)->n == 0;
}

/* Every returned label is kept, and there are min(k, kept) of them. */
static void check_filtered(const lh_fx_index *ix, const float *q, size_t k, lh_fx_keep_fn keep,
                           void *user, size_t expect)
{
    float dist[64];
    int64_t labels[64];
    assert_true(k <= 64);
    assert_null(lh_fx_search(ix, q, k, 0, keep, user, dist, labels));
    for (size_t i = 0; i < k; i++) {
        if (i < expect)
            assert_true(labels[i] >= 0 && keep(user, labels[i]));
        else
            assert_int_equal(labels[i], -1);
    }
}

static void test_filters_still_return_k(void **state)
{
    (void)state;
    enum { N = 5000, D = 32, K = 10 };
    float *x = clustered(N + 20, D, 16, 0.5f, 11);
    const float *queries = x + (size_t)N * D;
    for (int kind = LH_FX_HNSW; kind <= LH_FX_FLAT; kind++) {
        lh_fx_index *ix = build((lh_fx_kind)kind, LH_FX_IP, D, x, N);
        every_nth rare = {997};  /* 6 labels: 0, 997, ... 4985 */
        every_nth sparse = {50}; /* 100 labels, mostly far from any beam */
        for (int i = 0; i < 20; i++) {
            const float *q = queries + i * D;
            check_filtered(ix, q, K, keep_even, NULL, K);
            check_filtered(ix, q, K, keep_every_nth, &sparse, K);
            check_filtered(ix, q, K, keep_every_nth, &rare, 6);
            /* The rare filter is answered exactly. */
            float dist[K];
            int64_t got[K], want[K];
            assert_null(lh_fx_search(ix, q, K, 0, keep_every_nth, &rare, dist, got));
            assert_int_equal(brute_force(LH_FX_IP, x, N, D, q, K, keep_every_nth, &rare, want), 6);
            assert_int_equal(overlap(got, want, 6), 6);
        }
        lh_fx_destroy(ix);
    }
    free(x);
}

/* Tombstones: hiding a query's own nearest neighbours must still give k. */
typedef struct tombstones {
    int64_t dead[5];
} tombstones;

static bool keep_alive(void *user, int64_t label)
{
    const tombstones *t = user;
    for (int i = 0; i < 5; i++)
        if (t->dead[i] == label)
            return false;
    return true;
}

static void test_tombstoned_neighbours_are_skipped(void **state)
{
    (void)state;
    enum { N = 3000, D = 24, K = 10 };
    float *x = clustered(N, D, 10, 0.5f, 31);
    lh_fx_index *ix = build(LH_FX_HNSW, LH_FX_L2, D, x, N);
    for (int i = 0; i < 30; i++) {
        const float *q = x + (size_t)(i * 97) * D;
        float dist[K];
        int64_t before[K], after[K];
        assert_null(lh_fx_search(ix, q, K, 0, NULL, NULL, dist, before));
        tombstones t;
        memcpy(t.dead, before, sizeof t.dead);
        assert_null(lh_fx_search(ix, q, K, 0, keep_alive, &t, dist, after));
        for (int j = 0; j < K; j++)
            assert_true(after[j] >= 0 && keep_alive(&t, after[j]));
    }
    lh_fx_destroy(ix);
    free(x);
}

/* ---- concurrency ---- */

enum { CONC_N = 4000, CONC_D = 48, CONC_Q = 64, CONC_K = 10, CONC_THREADS = 4 };

typedef struct conc_job {
    const lh_fx_index *ix;
    const float *queries;
    const int64_t *expected; /* CONC_Q x CONC_K */
    int mismatches;
    int tasks_seen; /* threads in the process while this one ran */
} conc_job;

static int count_tasks(void)
{
    DIR *dir = opendir("/proc/self/task");
    assert_non_null(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(dir));)
        n += e->d_name[0] != '.';
    closedir(dir);
    return n;
}

static void *conc_searcher(void *arg)
{
    conc_job *job = arg;
    float dist[CONC_K];
    int64_t labels[CONC_K];
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < CONC_Q; i++) {
            lh_fx_keep_fn keep = i % 2 ? keep_even : NULL;
            if (lh_fx_search(job->ix, job->queries + i * CONC_D, CONC_K, 0, keep, NULL, dist, labels))
                job->mismatches++;
            else if (memcmp(labels, job->expected + i * CONC_K, sizeof labels) != 0)
                job->mismatches++;
        }
    job->tasks_seen = count_tasks();
    return NULL;
}

typedef struct small_add {
    lh_fx_index *ix;
    const float *vectors;
    int tasks_seen;
} small_add;

static void *small_adder(void *arg)
{
    small_add *job = arg;
    lh_err *err = lh_fx_add(job->ix, 3, job->vectors);
    job->tasks_seen = err ? -1 : count_tasks();
    lh_err_free(err);
    return NULL;
}

static void test_concurrent_searches_agree_and_spawn_no_threads(void **state)
{
    (void)state;
    float *x = clustered(CONC_N + CONC_Q, CONC_D, 12, 0.5f, 77);
    const float *queries = x + (size_t)CONC_N * CONC_D;
    lh_fx_index *ix = build(LH_FX_HNSW, LH_FX_IP, CONC_D, x, CONC_N);
    int64_t *expected = malloc(sizeof(int64_t) * CONC_Q * CONC_K);
    float dist[CONC_K];
    for (int i = 0; i < CONC_Q; i++)
        assert_null(lh_fx_search(ix, queries + i * CONC_D, CONC_K, 0, i % 2 ? keep_even : NULL,
                                 NULL, dist, expected + i * CONC_K));

    /* One searcher alone: if a search opened an OpenMP team, the new
     * thread would own a pool of its own and the count would grow. */
    int tasks_before = count_tasks();
    conc_job solo = {ix, queries, expected, 0, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, conc_searcher, &solo), 0);
    pthread_join(t, NULL);
    assert_int_equal(solo.mismatches, 0);
    assert_int_equal(solo.tasks_seen, tasks_before + 1);

    conc_job jobs[CONC_THREADS];
    pthread_t threads[CONC_THREADS];
    for (int i = 0; i < CONC_THREADS; i++) {
        jobs[i] = (conc_job){ix, queries, expected, 0, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, conc_searcher, &jobs[i]), 0);
    }
    for (int i = 0; i < CONC_THREADS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(jobs[i].mismatches, 0);
    }

    /* A small add (an upsert) runs on its caller's thread alone too. */
    small_add add = {ix, queries, 0};
    assert_int_equal(pthread_create(&t, NULL, small_adder, &add), 0);
    pthread_join(t, NULL);
    assert_int_equal(add.tasks_seen, tasks_before + 1);
    assert_int_equal(lh_fx_count(ix), CONC_N + 3);
    free(expected);
    lh_fx_destroy(ix);
    free(x);
}

/* ---- snapshots ---- */

static char *snapshot_path(const char *dir, const char *name)
{
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(path, "%s/%s", dir, name);
    return path;
}

static void assert_same_answers(const lh_fx_index *a, const lh_fx_index *b, const float *queries,
                                int nq, int d)
{
    enum { K = 10 };
    float da[K], db[K];
    int64_t la[K], lb[K];
    for (int i = 0; i < nq; i++) {
        assert_null(lh_fx_search(a, queries + i * d, K, 0, NULL, NULL, da, la));
        assert_null(lh_fx_search(b, queries + i * d, K, 0, NULL, NULL, db, lb));
        assert_memory_equal(la, lb, sizeof la);
        assert_memory_equal(da, db, sizeof da);
    }
}

static void check_round_trip(lh_fx_kind kind, lh_fx_metric metric, const char *dir)
{
    enum { N = 2000, D = 40, NQ = 30 };
    float *x = clustered(N + 1 + NQ, D, 10, 0.5f, 55 + kind * 2 + metric);
    const float *queries = x + (size_t)(N + 1) * D;
    lh_fx_index *ix = build(kind, metric, D, x, N);
    char *path = snapshot_path(dir, "round.fx");
    assert_null(lh_fx_write(ix, path));
    assert_int_equal(access(path, F_OK), 0);
    char *tmp = snapshot_path(dir, "round.fx.tmp");
    assert_int_not_equal(access(tmp, F_OK), 0);

    lh_fx_index *back = NULL;
    assert_null(lh_fx_read(path, &back));
    assert_non_null(back);
    assert_int_equal(lh_fx_count(back), N);
    assert_int_equal(lh_fx_dimension(back), D);
    assert_same_answers(ix, back, queries, NQ, D);
    float v[D];
    lh_fx_reconstruct(back, N - 1, v);
    assert_memory_equal(v, x + (size_t)(N - 1) * D, sizeof v);

    /* A loaded index keeps growing, and finds what it was given. */
    assert_null(lh_fx_add(back, 1, x + (size_t)N * D));
    float dist[1];
    int64_t label[1];
    assert_null(lh_fx_search(back, x + (size_t)N * D, 1, 0, NULL, NULL, dist, label));
    assert_int_equal(label[0], N);
    lh_fx_destroy(back);
    lh_fx_destroy(ix);
    free(path);
    free(tmp);
    free(x);
}

static void test_snapshot_round_trip(void **state)
{
    (void)state;
    char *dir = lh_test_tmpdir();
    for (int kind = LH_FX_HNSW; kind <= LH_FX_FLAT; kind++)
        for (int metric = LH_FX_IP; metric <= LH_FX_L2; metric++)
            check_round_trip((lh_fx_kind)kind, (lh_fx_metric)metric, dir);
    lh_test_rmrf(dir);
    free(dir);
}

static void expect_damaged(const char *path)
{
    lh_fx_index *ix = (lh_fx_index *)&ix;
    lh_err *err = lh_fx_read(path, &ix);
    assert_non_null(err);
    assert_null(ix);
    assert_int_equal(lh_err_code(err), LH_EINTERNAL);
    assert_non_null(strstr(lh_err_message(err), "damaged index snapshot"));
    lh_err_free(err);
}

static void rewrite(const char *path, const char *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    fclose(f);
}

static void test_damaged_snapshot_is_an_error(void **state)
{
    (void)state;
    enum { N = 1000, D = 16 };
    char *dir = lh_test_tmpdir();
    char *path = snapshot_path(dir, "damaged.fx");
    float *x = clustered(N, D, 4, 0.5f, 3);
    lh_fx_index *ix = build(LH_FX_HNSW, LH_FX_IP, D, x, N);
    assert_null(lh_fx_write(ix, path));
    size_t len = 0;
    char *good = lh_test_read_file(path, &len);
    assert_non_null(good);
    assert_true(len > (size_t)N * D * sizeof(float));

    const size_t cuts[] = {0, 3, 30, len / 2, len - 25, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        rewrite(path, good, cuts[i]);
        expect_damaged(path);
    }
    const size_t flips[] = {10, len / 3, len / 2, len - 30, len - 2};
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        good[flips[i]] ^= 0x10;
        rewrite(path, good, len);
        expect_damaged(path);
        good[flips[i]] ^= 0x10;
    }
    rewrite(path, "not a faiss index at all, just some words", 41);
    expect_damaged(path);

    /* The intact bytes still load: the damage checks are not over-eager. */
    rewrite(path, good, len);
    lh_fx_index *back = NULL;
    assert_null(lh_fx_read(path, &back));
    assert_same_answers(ix, back, x, 10, D);
    lh_fx_destroy(back);

    char *missing = snapshot_path(dir, "missing.fx");
    lh_err *err = lh_fx_read(missing, &back);
    assert_int_equal(lh_err_code(err), LH_ENOTFOUND);
    lh_err_free(err);
    free(missing);
    lh_fx_destroy(ix);
    free(good);
    free(x);
    free(path);
    lh_test_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernels_match_scalar),
        cmocka_unit_test(test_hnsw_ip_matches_brute_force),
        cmocka_unit_test(test_hnsw_l2_matches_brute_force),
        cmocka_unit_test(test_flat_ip_matches_brute_force),
        cmocka_unit_test(test_flat_l2_matches_brute_force),
        cmocka_unit_test(test_empty_index_and_short_results),
        cmocka_unit_test(test_bad_parameters_are_400),
        cmocka_unit_test(test_recall_at_10_on_20k_clustered),
        cmocka_unit_test(test_filters_still_return_k),
        cmocka_unit_test(test_tombstoned_neighbours_are_skipped),
        cmocka_unit_test(test_concurrent_searches_agree_and_spawn_no_threads),
        cmocka_unit_test(test_snapshot_round_trip),
        cmocka_unit_test(test_damaged_snapshot_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
