/*
 * faiss_kernels.h — the float32 distance kernels the faiss shim plugs into
 * faiss: inner product and squared L2, one set per instruction level
 * (scalar, AVX2+FMA, AVX-512F), the best one chosen at run time by CPU
 * feature. Debian's faiss is built for baseline x86-64, so these kernels
 * are where vectord's search speed comes from. Every level is reachable
 * here (not only the best) so tests can hold each one this CPU runs
 * against the scalar reference.
 */
#ifndef LH_FAISS_KERNELS_H
#define LH_FAISS_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The distance between two d-float vectors. Any alignment, any d >= 0. */
typedef float (*lh_fx_distance_fn)(const float *a, const float *b, size_t d);

typedef enum {
    LH_FX_LEVEL_SCALAR = 0,
    LH_FX_LEVEL_AVX2 = 1,   /* AVX2 and FMA */
    LH_FX_LEVEL_AVX512 = 2, /* AVX-512F */
} lh_fx_level;
#define LH_FX_LEVEL_COUNT 3

typedef struct lh_fx_kernels {
    const char *name;     /* "scalar", "avx2", "avx512" */
    lh_fx_distance_fn ip; /* sum a[i]*b[i] */
    lh_fx_distance_fn l2; /* sum (a[i]-b[i])^2 */
} lh_fx_kernels;

/* The kernels of one level, or NULL when this CPU (or its OS) cannot run
 * them. The scalar level is always there. */
const lh_fx_kernels *lh_fx_kernels_at(lh_fx_level level);

/* The fastest level this CPU runs, at most the cap below. */
const lh_fx_kernels *lh_fx_kernels_best(void);

/* Caps the level lh_fx_kernels_best() picks from now on, so a benchmark
 * can compare levels on one machine. The environment variable
 * LH_FX_SIMD=scalar|avx2|avx512 sets the initial cap (default: none).
 * Indexes pick their kernels per search, so a cap applies at once. */
void lh_fx_kernels_cap(lh_fx_level level);

#ifdef __cplusplus
}
#endif

#endif
