/*
 * faiss_kernels.c — inner product and squared L2 over float32 vectors at
 * three instruction levels: scalar, AVX2+FMA and AVX-512F. The SIMD
 * functions carry target attributes, so this file builds with the
 * project's baseline flags and the CPU is asked at run time
 * (__builtin_cpu_supports, which also checks that the OS saves the wide
 * registers) which level may run. See faiss_kernels.h.
 */
#include "actors/vector/faiss_kernels.h"

#include <assert.h>
#include <immintrin.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---- scalar: the reference, and the fallback on old CPUs ---- */

/* Four partial sums break the add dependency chain; the order of
 * summation differs from a naive loop only in rounding. */
static float lh_fx_ip_scalar(const float *a, const float *b, size_t d)
{
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= d; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < d; i++)
        s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

static float lh_fx_l2_scalar(const float *a, const float *b, size_t d)
{
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= d; i += 4) {
        float d0 = a[i] - b[i], d1 = a[i + 1] - b[i + 1];
        float d2 = a[i + 2] - b[i + 2], d3 = a[i + 3] - b[i + 3];
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
    }
    for (; i < d; i++) {
        float di = a[i] - b[i];
        s0 += di * di;
    }
    return (s0 + s1) + (s2 + s3);
}

/* ---- AVX2 + FMA: 8 lanes; four accumulators hide the FMA latency ---- */

__attribute__((target("avx2,fma"))) static float lh_fx_hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) static float lh_fx_ip_avx2(const float *a, const float *b,
                                                                size_t d)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= d; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float sum = lh_fx_hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < d; i++)
        sum += a[i] * b[i];
    return sum;
}

__attribute__((target("avx2,fma"))) static __m256 lh_fx_sqdiff_acc256(const float *a,
                                                                      const float *b, __m256 acc)
{
    __m256 diff = _mm256_sub_ps(_mm256_loadu_ps(a), _mm256_loadu_ps(b));
    return _mm256_fmadd_ps(diff, diff, acc);
}

__attribute__((target("avx2,fma"))) static float lh_fx_l2_avx2(const float *a, const float *b,
                                                                size_t d)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        s0 = lh_fx_sqdiff_acc256(a + i, b + i, s0);
        s1 = lh_fx_sqdiff_acc256(a + i + 8, b + i + 8, s1);
        s2 = lh_fx_sqdiff_acc256(a + i + 16, b + i + 16, s2);
        s3 = lh_fx_sqdiff_acc256(a + i + 24, b + i + 24, s3);
    }
    for (; i + 8 <= d; i += 8)
        s0 = lh_fx_sqdiff_acc256(a + i, b + i, s0);
    float sum = lh_fx_hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < d; i++) {
        float di = a[i] - b[i];
        sum += di * di;
    }
    return sum;
}

/* ---- AVX-512F: 16 lanes; the tail is a masked load, which never
 * touches memory past the end of the vectors ---- */

__attribute__((target("avx512f"))) static __mmask16 lh_fx_tail_mask(size_t left)
{
    return (__mmask16)((1u << left) - 1u);
}

__attribute__((target("avx512f"))) static float lh_fx_ip_avx512(const float *a, const float *b,
                                                                  size_t d)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= d; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    for (; i + 16 <= d; i += 16)
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < d) {
        __mmask16 m = lh_fx_tail_mask(d - i);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

__attribute__((target("avx512f"))) static __m512 lh_fx_sqdiff_acc512(__m512 a, __m512 b,
                                                                     __m512 acc)
{
    __m512 diff = _mm512_sub_ps(a, b);
    return _mm512_fmadd_ps(diff, diff, acc);
}

__attribute__((target("avx512f"))) static float lh_fx_l2_avx512(const float *a, const float *b,
                                                                  size_t d)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= d; i += 64) {
        s0 = lh_fx_sqdiff_acc512(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = lh_fx_sqdiff_acc512(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = lh_fx_sqdiff_acc512(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = lh_fx_sqdiff_acc512(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    for (; i + 16 <= d; i += 16)
        s0 = lh_fx_sqdiff_acc512(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < d) {
        __mmask16 m = lh_fx_tail_mask(d - i);
        s1 = lh_fx_sqdiff_acc512(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i),
                                 s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

/* ---- selection ---- */

static const lh_fx_kernels lh_fx_levels[LH_FX_LEVEL_COUNT] = {
    [LH_FX_LEVEL_SCALAR] = {"scalar", lh_fx_ip_scalar, lh_fx_l2_scalar},
    [LH_FX_LEVEL_AVX2] = {"avx2", lh_fx_ip_avx2, lh_fx_l2_avx2},
    [LH_FX_LEVEL_AVX512] = {"avx512", lh_fx_ip_avx512, lh_fx_l2_avx512},
};

static bool lh_fx_cpu_runs(lh_fx_level level)
{
    __builtin_cpu_init(); /* idempotent; needed if we run before constructors */
    switch (level) {
    case LH_FX_LEVEL_SCALAR:
        return true;
    case LH_FX_LEVEL_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case LH_FX_LEVEL_AVX512:
        return __builtin_cpu_supports("avx512f");
    }
    return false;
}

const lh_fx_kernels *lh_fx_kernels_at(lh_fx_level level)
{
    if ((int)level < 0 || (int)level >= LH_FX_LEVEL_COUNT || !lh_fx_cpu_runs(level))
        return NULL;
    return &lh_fx_levels[level];
}

/* LH_FX_SIMD's level, or the top one when unset or unknown. */
static int lh_fx_cap_from_env(void)
{
    const char *want = getenv("LH_FX_SIMD");
    for (int level = 0; want && level < LH_FX_LEVEL_COUNT; level++)
        if (strcmp(want, lh_fx_levels[level].name) == 0)
            return level;
    return LH_FX_LEVEL_COUNT - 1;
}

static _Atomic int lh_fx_cap = -1; /* -1: not read from the environment yet */

void lh_fx_kernels_cap(lh_fx_level level)
{
    assert((int)level >= 0 && (int)level < LH_FX_LEVEL_COUNT);
    atomic_store(&lh_fx_cap, (int)level);
}

const lh_fx_kernels *lh_fx_kernels_best(void)
{
    int cap = atomic_load(&lh_fx_cap);
    if (cap < 0) {
        int unset = -1;
        atomic_compare_exchange_strong(&lh_fx_cap, &unset, lh_fx_cap_from_env());
        cap = atomic_load(&lh_fx_cap);
    }
    for (int level = cap; level > LH_FX_LEVEL_SCALAR; level--)
        if (lh_fx_cpu_runs((lh_fx_level)level))
            return &lh_fx_levels[level];
    return &lh_fx_levels[LH_FX_LEVEL_SCALAR];
}
