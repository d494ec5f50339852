/*
 * vector_search.c — vector.search: one query (`vector`, or `text` that
 * embedd turns into one) answered with `hits`, or a batch (`vectors`)
 * answered with `results`, one per row. Queries are checked and prepared
 * first; each then searches under the index's shared lock.
 */
#include <stdio.h>
#include <string.h>

#include "actors/vector/filter.h"
#include "actors/vector/vector_internal.h"
#include "bus/request.h"
#include "schemas/embed.h"
#include "schemas/vector.h"

/* The query rows, prepared (checked, normalized for cosine). */
typedef struct lh_queries {
    float *v;
    size_t rows;
    bool batch;
} lh_queries;

static lh_err *lh_one_of(const lh_vector_search_request *req)
{
    int given = (req->vector.v != NULL) + (req->vectors.v != NULL) + (req->text.s != NULL);
    if (given == 1)
        return NULL;
    return lh_err_new(LH_EBADREQ, given ? "vector" : NULL,
                      "give exactly one of 'vector', 'vectors' or 'text' (%d given)", given);
}

/* Asks embedd for the vector of `text` (in the arena), with the model
 * that made the index's vectors when create recorded one: a query embedded
 * by another model (same dimension, other buckets) would find noise. */
static lh_err *lh_embed_text(lh_ctx *ctx, const lh_vec_params *p, const lh_str *text,
                             lh_embed_reply **out)
{
    lh_embed_request req = {.texts = {(lh_str *)text, 1}, .normalize = true};
    if (*p->model)
        req.model = (lh_str){p->model, strlen(p->model)};
    lh_actor *actor = lh_ctx_actor(ctx);
    lh_err *err = lh_call(lh_actor_conn(actor), &lh_ep_embed_request, &req, lh_ctx_arena(ctx),
                          (void **)out, lh_actor_config(actor)->request_timeout_ms);
    return lh_err_wrap(err, "embed the query text");
}

static lh_err *lh_text_query(lh_ctx *ctx, const lh_vec_params *p, const lh_str *text, float *out)
{
    lh_embed_reply *emb = NULL;
    lh_err *err = lh_embed_text(ctx, p, text, &emb);
    if (err)
        return err;
    if (emb->vectors.rows != 1)
        return lh_err_new(LH_EINTERNAL, "text", "embed.request answered %zu vectors for 1 text",
                          emb->vectors.rows);
    if (emb->vectors.cols != (size_t)p->dimension) /* well-formed, but unanswerable: 422 */
        return lh_err_new(LH_EUNPROCESSABLE, "text",
                          "field 'text' embeds to dimension %zu (model %.*s); index '%s' has "
                          "dimension %d",
                          emb->vectors.cols, (int)emb->model.len,
                          emb->model.s ? emb->model.s : "", p->name, p->dimension);
    return lh_vec_prepare_vector(p, emb->vectors.v, emb->vectors.cols, "text", out);
}

static lh_err *lh_batch_query(const lh_vec_params *p, const lh_matrix *m, float *out)
{
    size_t d = (size_t)p->dimension;
    if (m->cols != d)
        return lh_err_new(LH_EBADREQ, "vectors",
                          "field 'vectors' has rows of %zu numbers; index '%s' has dimension %d",
                          m->cols, p->name, p->dimension);
    for (size_t r = 0; r < m->rows; r++) {
        char field[48];
        snprintf(field, sizeof field, "vectors[%zu]", r);
        lh_err *err = lh_vec_prepare_vector(p, m->v + r * d, d, field, out + r * d);
        if (err)
            return err;
    }
    return NULL;
}

static lh_err *lh_prepare_queries(lh_ctx *ctx, const lh_vec_params *p,
                                  const lh_vector_search_request *req, lh_queries *q)
{
    size_t d = (size_t)p->dimension;
    q->batch = req->vectors.v != NULL;
    q->rows = q->batch ? req->vectors.rows : 1;
    if (q->rows * (size_t)req->k > LH_VECTOR_MAX_HITS) /* the reply must fit a bus message */
        return lh_err_new(LH_ETOOLARGE, "k",
                          "%zu queries x k %lld asks for %zu hits; the limit is %d per search",
                          q->rows, (long long)req->k, q->rows * (size_t)req->k,
                          LH_VECTOR_MAX_HITS);
    q->v = lh_ctx_alloc(ctx, q->rows * d * sizeof *q->v);
    if (q->batch)
        return lh_batch_query(p, &req->vectors, q->v);
    if (req->text.s)
        return lh_text_query(ctx, p, &req->text, q->v);
    return lh_vec_prepare_vector(p, req->vector.v, req->vector.n, "vector", q->v);
}

static lh_err *lh_run_queries(lh_ctx *ctx, lh_vec_collection *c,
                              const lh_vector_search_request *req, const lh_vec_filter *filter,
                              const lh_queries *q, lh_vector_search_reply *rep)
{
    size_t d = (size_t)lh_vec_collection_params(c)->dimension;
    lh_vector_hits *results = lh_ctx_alloc(ctx, q->rows * sizeof *results);
    lh_err *err = NULL;
    for (size_t r = 0; !err && r < q->rows; r++) {
        lh_vec_query query = {
            .vector = q->v + r * d,
            .k = (size_t)req->k,
            .ef_search = (int)req->ef_search,
            .filter = filter,
            .include_vectors = req->include_vectors,
        };
        lh_vector_hit *hits = NULL;
        size_t n = 0;
        err = lh_vec_collection_search(c, &query, lh_ctx_arena(ctx), &hits, &n);
        results[r].hits = (lh_objs){hits, n};
    }
    if (err)
        return err;
    if (q->batch)
        rep->results = (lh_objs){results, q->rows};
    else
        rep->hits = results[0].hits;
    if (!q->batch && !rep->hits.v) /* no hits is [], not an absent field */
        rep->hits.v = results;
    return NULL;
}

static bool lh_keyword_mode(const lh_vector_search_request *req)
{
    return req->mode.s && !strcmp(req->mode.s, "keyword");
}

/* Keyword mode takes a text and nothing else to search with. */
static lh_err *lh_keyword_request(const lh_vector_search_request *req)
{
    if (!req->text.s)
        return lh_err_new(LH_EBADREQ, "text", "mode 'keyword' searches a 'text'; none given");
    if (req->vector.v || req->vectors.v)
        return lh_err_new(LH_EBADREQ, "mode",
                          "mode 'keyword' searches a 'text', not 'vector' or 'vectors'");
    return NULL;
}

static lh_err *lh_run_keyword(lh_ctx *ctx, lh_vec_collection *c,
                              const lh_vector_search_request *req, const lh_vec_filter *filter,
                              lh_vector_search_reply *rep)
{
    lh_vector_hit *hits = NULL;
    size_t n = 0;
    size_t snippets = req->has_snippet_hits ? (size_t)req->snippet_hits : (size_t)req->k;
    lh_err *err = lh_vec_collection_keyword(c, &req->text, filter, (size_t)req->k, snippets,
                                            lh_ctx_arena(ctx), &hits, &n);
    rep->hits = (lh_objs){hits, n};
    return err;
}

/* Only the first text_hits hits of each query keep their text. */
static void lh_trim_texts(const lh_vector_search_request *req, lh_vector_search_reply *rep)
{
    if (!req->has_text_hits)
        return;
    size_t rows = rep->results.v ? rep->results.n : 1;
    for (size_t r = 0; r < rows; r++) {
        lh_objs *hits = rep->results.v ? &((lh_vector_hits *)rep->results.v)[r].hits : &rep->hits;
        lh_vector_hit *h = hits->v;
        for (size_t i = (size_t)req->text_hits; i < hits->n; i++)
            h[i].text = (lh_str){0};
    }
}

lh_err *lh_vec_search_handler(lh_ctx *ctx, const void *request, void *response)
{
    const lh_vector_search_request *req = request;
    lh_vec_state *st = lh_ctx_state(ctx);
    bool keyword = lh_keyword_mode(req);
    lh_err *err = keyword ? lh_keyword_request(req) : lh_one_of(req);
    lh_vec_collection *c = NULL;
    if (!err)
        err = lh_vec_state_find(st, &req->index, "index", &c);
    if (err)
        return err;
    lh_vec_filter filter;
    lh_queries q = {0};
    err = lh_vec_filter_compile(req->filter.data, req->filter.len, "filter", lh_ctx_arena(ctx),
                                &filter);
    if (!err && keyword)
        err = lh_run_keyword(ctx, c, req, &filter, response);
    else if (!err)
        err = lh_prepare_queries(ctx, lh_vec_collection_params(c), req, &q);
    if (!err && !keyword)
        err = lh_run_queries(ctx, c, req, &filter, &q, response);
    if (!err)
        lh_trim_texts(req, response);
    lh_vec_collection_unref(c);
    return err;
}
