/*
 * params.c — index settings (params.h).
 */
#include "actors/vector/params.h"
#include "bus/request.h"

#include <stdio.h>
#include <string.h>

lh_err *lh_vec_check_name(const lh_str *name, const char *field)
{
    if (!name->s || name->len == 0 || name->len > LH_VECTOR_MAX_INDEX_NAME)
        return lh_err_new(LH_EBADREQ, field, "field '%s' must be 1 to %d bytes", field,
                          LH_VECTOR_MAX_INDEX_NAME);
    for (size_t i = 0; i < name->len; i++) {
        char c = name->s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
        if (!ok)
            return lh_err_new(LH_EBADREQ, field,
                              "field '%s' may hold only letters, digits, '_', '-' and '.' "
                              "(byte %zu is not one)",
                              field, i);
    }
    return NULL;
}

static bool lh_is(const lh_str *s, const char *want)
{
    return s->s && s->len == strlen(want) && !memcmp(s->s, want, s->len);
}

lh_err *lh_vec_params_from_request(const lh_vector_create_request *req, lh_vec_params *out)
{
    lh_err *err = lh_vec_check_name(&req->index, "index");
    if (err)
        return err;
    memset(out, 0, sizeof *out);
    memcpy(out->name, req->index.s, req->index.len);
    out->dimension = (int)req->dimension;
    /* The codec already refused anything outside the choices. */
    out->metric = lh_is(&req->metric, "l2") ? LH_VEC_L2 : lh_is(&req->metric, "ip") ? LH_VEC_IP
                                                                                     : LH_VEC_COSINE;
    out->kind = lh_is(&req->kind, "flat") ? LH_FX_FLAT : LH_FX_HNSW;
    out->m = (int)req->m;
    out->ef_construction = (int)req->ef_construction;
    out->ef_search = (int)req->ef_search;
    if (req->model.s) /* the codec bounded it to LH_VECTOR_MAX_MODEL bytes */
        memcpy(out->model, req->model.s, req->model.len);
    return NULL;
}

static lh_str lh_cstr(const char *s) { return (lh_str){s, strlen(s)}; }

void lh_vec_params_encode(const lh_vec_params *p, lh_buf *out)
{
    lh_vector_create_request req = {
        .index = lh_cstr(p->name),
        .dimension = p->dimension,
        .metric = lh_cstr(lh_vec_metric_name(p->metric)),
        .kind = lh_cstr(lh_vec_kind_name(p->kind)),
        .m = p->m,
        .ef_construction = p->ef_construction,
        .ef_search = p->ef_search,
        .model = *p->model ? lh_cstr(p->model) : (lh_str){0}, /* absent, as before it existed */
    };
    lh_message_encode(&lh_vector_create_request_schema, &req, out);
}

lh_err *lh_vec_params_decode(const char *data, size_t len, lh_vec_params *out)
{
    lh_arena *a = lh_arena_create();
    void *req = NULL;
    lh_err *err = lh_schema_decode(&lh_vector_create_request_schema, data, len, a, &req);
    if (!err)
        err = lh_vec_params_from_request(req, out);
    lh_arena_destroy(a);
    return err ? lh_err_wrap(err, "stored index settings") : NULL;
}

const char *lh_vec_metric_name(lh_vec_metric m)
{
    return m == LH_VEC_L2 ? "l2" : m == LH_VEC_IP ? "ip" : "cosine";
}

const char *lh_vec_kind_name(lh_fx_kind k) { return k == LH_FX_FLAT ? "flat" : "hnsw"; }

lh_fx_params lh_vec_fx_params(const lh_vec_params *p)
{
    return (lh_fx_params){
        .kind = p->kind,
        .metric = p->metric == LH_VEC_L2 ? LH_FX_L2 : LH_FX_IP,
        .dimension = p->dimension,
        .m = p->m,
        .ef_construction = p->ef_construction,
    };
}
