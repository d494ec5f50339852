/*
 * vector_write.c — vector.upsert and vector.delete. Every item is checked
 * before anything is written, so a refused request changes nothing; then,
 * under the index's write lock, LevelDB first (synced), memory second,
 * and only then the answer.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>


#include "actors/vector/filter.h"
#include "actors/vector/vector_internal.h"
#include "bus/events.h"
#include "bus/log.h"
#include "schemas/vector.h"

/* Scales v to unit length; false when it has none (all zeros). */
static bool lh_normalize(float *v, size_t d)
{
    double ss = 0;
    for (size_t i = 0; i < d; i++)
        ss += (double)v[i] * v[i];
    if (!(ss > 0))
        return false;
    double norm = sqrt(ss); /* dividing (never by 1/norm) cannot overflow */
    for (size_t i = 0; i < d; i++)
        v[i] = (float)(v[i] / norm);
    return true;
}

lh_err *lh_vec_prepare_vector(const lh_vec_params *p, const float *in, size_t n,
                              const char *field, float *out)
{
    if (n != (size_t)p->dimension)
        return lh_err_new(LH_EBADREQ, field,
                          "field '%s' has %zu numbers; index '%s' has dimension %d", field, n,
                          p->name, p->dimension);
    memcpy(out, in, n * sizeof *out);
    if (p->metric == LH_VEC_COSINE && !lh_normalize(out, n))
        return lh_err_new(LH_EBADREQ, field,
                          "field '%s' is all zeros: a cosine index needs a direction", field);
    return NULL;
}

/* Checks item i and makes its record (vector copied into `vec`). */
static lh_err *lh_item_record(const lh_vec_params *p, const lh_vector_item *it, size_t i,
                              float *vec, lh_vec_record *r)
{
    char field[64];
    snprintf(field, sizeof field, "items[%zu].vector", i);
    lh_err *err = lh_vec_prepare_vector(p, it->vector.v, it->vector.n, field, vec);
    if (err)
        return err;
    if (it->metadata.len && !lh_vec_is_map(it->metadata.data, it->metadata.len)) {
        snprintf(field, sizeof field, "items[%zu].metadata", i);
        return lh_err_new(LH_EBADREQ, field, "field '%s' must be a map (JSON object)", field);
    }
    *r = (lh_vec_record){
        .id = it->id.s,
        .id_len = it->id.len,
        .vector = vec,
        .dimension = (size_t)p->dimension,
        .metadata = it->metadata.data,
        .metadata_len = it->metadata.len,
        .text = it->text.s,
        .text_len = it->text.len,
        .has_text = it->text.s != NULL,
    };
    return NULL;
}

static void lh_publish(lh_ctx *ctx, const lh_event_contract *ev, const char *index, size_t n)
{
    lh_vector_items_event e = {.index = {index, strlen(index)}, .items = (int64_t)n};
    lh_event_emit(lh_ctx_actor(ctx), ev, &e);
}

/* LevelDB, then memory, under the write lock. */
static lh_err *lh_upsert_locked(lh_vec_state *st, lh_vec_collection *c, lh_vec_record *recs,
                                size_t n, size_t *replaced)
{
    const lh_vec_params *p = lh_vec_collection_params(c);
    if (lh_vec_collection_dropped(c))
        return lh_err_new(LH_ENOTFOUND, "index", "no index named '%s'", p->name);
    uint64_t seq = lh_vec_collection_next_seq(c);
    for (size_t i = 0; i < n; i++)
        recs[i].seq = seq + i;
    lh_err *err = lh_vec_store_put_items(st->store, p->name, recs, n, seq + n);
    if (err)
        return lh_err_wrap(err, "index '%s': nothing written", p->name);
    lh_vec_collection_set_next_seq(c, seq + n);
    err = lh_vec_collection_add(c, recs, n, replaced);
    if (err) /* durable yet not searchable: a restart re-indexes from LevelDB */
        return lh_err_wrap(err, "index '%s': items stored but not indexed until vectord "
                                "restarts", p->name);
    return NULL;
}

lh_err *lh_vec_upsert_handler(lh_ctx *ctx, const void *request, void *response)
{
    const lh_vector_upsert_request *req = request;
    lh_vector_upsert_reply *rep = response;
    lh_vec_state *st = lh_ctx_state(ctx);
    lh_vec_collection *c = NULL;
    lh_err *err = lh_vec_state_find(st, &req->index, "index", &c);
    if (err)
        return err;
    const lh_vec_params *p = lh_vec_collection_params(c);
    size_t n = req->items.n, d = (size_t)p->dimension;
    const lh_vector_item *items = req->items.v;
    lh_vec_record *recs = lh_ctx_alloc(ctx, n * sizeof *recs);
    float *vectors = lh_ctx_alloc(ctx, n * d * sizeof *vectors);
    for (size_t i = 0; !err && i < n; i++)
        err = lh_item_record(p, &items[i], i, vectors + i * d, &recs[i]);
    size_t replaced = 0;
    if (!err) {
        lh_vec_collection_lock_writes(c);
        err = lh_upsert_locked(st, c, recs, n, &replaced);
        lh_vec_collection_unlock_writes(c);
    }
    if (!err) {
        rep->upserted = (int64_t)n;
        rep->replaced = (int64_t)replaced;
        rep->count = (int64_t)lh_vec_collection_counts(c).live;
        lh_vec_state_maybe_rebuild(st, c);
        lh_publish(ctx, &lh_ev_vector_upserted, p->name, n);
    }
    lh_vec_collection_unref(c);
    return err;
}

static lh_err *lh_delete_locked(lh_vec_state *st, lh_vec_collection *c, const lh_strs *ids,
                                size_t *deleted)
{
    const lh_vec_params *p = lh_vec_collection_params(c);
    if (lh_vec_collection_dropped(c))
        return lh_err_new(LH_ENOTFOUND, "index", "no index named '%s'", p->name);
    lh_err *err = lh_vec_store_delete_items(st->store, p->name, ids->v, ids->n);
    if (err)
        return lh_err_wrap(err, "index '%s': nothing deleted", p->name);
    *deleted = lh_vec_collection_delete(c, ids->v, ids->n);
    return NULL;
}

lh_err *lh_vec_delete_handler(lh_ctx *ctx, const void *request, void *response)
{
    const lh_vector_delete_request *req = request;
    lh_vector_delete_reply *rep = response;
    lh_vec_state *st = lh_ctx_state(ctx);
    lh_vec_collection *c = NULL;
    lh_err *err = lh_vec_state_find(st, &req->index, "index", &c);
    if (err)
        return err;
    size_t deleted = 0;
    lh_vec_collection_lock_writes(c);
    err = lh_delete_locked(st, c, &req->ids, &deleted);
    lh_vec_collection_unlock_writes(c);
    if (!err) {
        rep->deleted = (int64_t)deleted;
        rep->not_found = (int64_t)(req->ids.n - deleted);
        rep->count = (int64_t)lh_vec_collection_counts(c).live;
        lh_vec_state_maybe_rebuild(st, c);
        lh_publish(ctx, &lh_ev_vector_deleted, lh_vec_collection_params(c)->name, deleted);
    }
    lh_vec_collection_unref(c);
    return err;
}
