/*
 * faiss_shim.h — the C face of faiss, as vectord uses it.
 *
 * Debian's faiss ships only the static C++ library (its C API symbols are
 * not in it), so vectord reaches faiss through this small extern "C" shim
 * (faiss_shim.cpp). The shim also supplies SIMD distance kernels (AVX-512,
 * AVX2/FMA, scalar; chosen at run time by CPU feature) through faiss's own
 * extension point — the storage index's distance computer — because the
 * packaged faiss is built for baseline x86-64 and its kernels are scalar.
 * faiss builds the HNSW graph; searches walk it with the shim's own loop
 * (faiss 1.7.3's search ignores a per-query ef and forks OpenMP teams).
 *
 * Labels are faiss's sequential ids: the n vectors of an add get labels
 * count..count+n-1. HNSW cannot remove vectors; vectord keeps tombstones
 * and passes a filter to search.
 */
#ifndef LH_FAISS_SHIM_H
#define LH_FAISS_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lh_fx_index lh_fx_index;

typedef enum { LH_FX_IP = 0, LH_FX_L2 = 1 } lh_fx_metric; /* cosine = IP on unit vectors */
typedef enum { LH_FX_HNSW = 0, LH_FX_FLAT = 1 } lh_fx_kind;

typedef struct lh_fx_params {
    lh_fx_kind kind;
    lh_fx_metric metric;
    int dimension;       /* 1..65536 */
    int m;               /* HNSW neighbours per node, 2..256 (HNSW only) */
    int ef_construction; /* HNSW build-time beam, 1..65536 (HNSW only) */
} lh_fx_params;

/* A new index's default ef_search is 64 (kept in its snapshots). Bad
 * parameters are 400 errors naming the field ("dimension", "m", ...). */
lh_err *lh_fx_create(const lh_fx_params *p, lh_fx_index **out);
void lh_fx_destroy(lh_fx_index *ix);

/* Appends n vectors (row-major, dimension floats each). Not thread-safe
 * against other adds or searches: the caller holds a write lock. Large
 * batches build the HNSW graph on all cores (OpenMP); batches under 1,000
 * run on the caller's thread alone. */
lh_err *lh_fx_add(lh_fx_index *ix, size_t n, const float *x);
int64_t lh_fx_count(const lh_fx_index *ix);
int lh_fx_dimension(const lh_fx_index *ix);

/* Return true to keep a label; searches only ever return kept labels and
 * still return k of them when k exist. NULL keeps everything. Called from
 * the searching thread, possibly for the same label more than once, and
 * concurrently when several threads search. */
typedef bool (*lh_fx_keep_fn)(void *user, int64_t label);

/* k nearest of one query, best first. `distances`: inner product (IP,
 * higher is closer) or squared L2 (lower is closer). Unfilled slots have
 * label -1 and the worst distance (-FLT_MAX for IP, FLT_MAX for L2).
 * ef_search <= 0 uses the index default; the beam is max(ef_search, k).
 * k and ef_search are at most 2^20, k at least 1 (400 naming the field).
 * Thread-safe with other searches, and single-threaded: each query runs
 * on its caller's thread only. */
lh_err *lh_fx_search(const lh_fx_index *ix, const float *query, size_t k, int ef_search,
                     lh_fx_keep_fn keep, void *user, float *distances, int64_t *labels);

/* The stored vector of a label. */
void lh_fx_reconstruct(const lh_fx_index *ix, int64_t label, float *out);

/* Writes the index to path via path.tmp + fsync + rename + fsync of the
 * directory (never a torn file at path). The file is faiss's own format
 * followed by a 24-byte checksum trailer. Safe during searches. Read
 * fails with 404 when the file is missing and 500 "damaged index snapshot
 * <path>: <why>" when it is truncated, altered or inconsistent. */
lh_err *lh_fx_write(const lh_fx_index *ix, const char *path);
lh_err *lh_fx_read(const char *path, lh_fx_index **out);

/* Approximate heap use: the vectors, plus the HNSW links, offsets and
 * levels (array capacities; small fixed parts are left out). */
size_t lh_fx_memory_bytes(const lh_fx_index *ix);
/* "avx512", "avx2" or "scalar": the kernels this CPU runs (at most the
 * level LH_FX_SIMD names, when set; see faiss_kernels.h). */
const char *lh_fx_simd_name(void);

#ifdef __cplusplus
}
#endif

#endif
