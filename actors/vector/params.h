/*
 * params.h — the settings of one index: what vector.create asked for,
 * kept in LevelDB, echoed by stats, and turned into faiss parameters.
 * Stored as the vector.create message itself (msgpack through the schema
 * codec), so a stored index reads back with the same validation, and a
 * record from before a field existed (e.g. `model`) reads as without it.
 */
#ifndef LH_VECTOR_PARAMS_H
#define LH_VECTOR_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "actors/vector/faiss_shim.h"
#include "bus/buf.h"
#include "bus/err.h"
#include "bus/schema.h"
#include "schemas/vector.h"

typedef enum { LH_VEC_COSINE, LH_VEC_L2, LH_VEC_IP } lh_vec_metric;

typedef struct lh_vec_params {
    char name[LH_VECTOR_MAX_INDEX_NAME + 1];
    int dimension;
    lh_vec_metric metric;
    lh_fx_kind kind;
    int m;
    int ef_construction;
    int ef_search;
    char model[LH_VECTOR_MAX_MODEL + 1]; /* "" when create named none */
} lh_vec_params;

/* Checks an index name (1..64 of [A-Za-z0-9_.-]); a 400 naming `field`. */
lh_err *lh_vec_check_name(const lh_str *name, const char *field);

/* From a decoded vector.create (defaults applied; the name checked). */
lh_err *lh_vec_params_from_request(const lh_vector_create_request *req, lh_vec_params *out);
void lh_vec_params_encode(const lh_vec_params *p, lh_buf *out);
lh_err *lh_vec_params_decode(const char *data, size_t len, lh_vec_params *out);

const char *lh_vec_metric_name(lh_vec_metric m);
const char *lh_vec_kind_name(lh_fx_kind k);
lh_fx_params lh_vec_fx_params(const lh_vec_params *p);

#endif
