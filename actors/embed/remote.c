/*
 * remote.c — embedd's remote providers: `openai` (any OpenAI-compatible
 * server: POST {base}/embeddings, `input` an array, vectors in `data`
 * by `index`) and `ollama` (POST {url}/api/embed, `input` an array,
 * `embeddings` back). Both over bus/http_client.c's exchange (retries,
 * refusals quoted without the key), in batches a server accepts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/embed/provider.h"
#include "bus/http_client.h"
#include "bus/json.h"

#define LH_REMOTE_BATCH 256       /* texts per call */
#define LH_REMOTE_MAX_DIM 16384

#define LH_OAI_EMBEDDING(F, T)                                                              \
    F(T, index, INT, .doc = "Which input.")                                                 \
    F(T, embedding, FLOATS, .max = LH_REMOTE_MAX_DIM, .doc = "Its vector.")
LH_SCHEMA_DECLARE(lh_oai_embedding, LH_OAI_EMBEDDING)
LH_SCHEMA_DEFINE(lh_oai_embedding, LH_OAI_EMBEDDING, "An OpenAI embedding.")
#define LH_OAI_EMBEDDINGS(F, T)                                                             \
    F(T, data, OBJECTS, .sub = &lh_oai_embedding_schema, .doc = "One per input.")
LH_SCHEMA_DECLARE(lh_oai_embeddings, LH_OAI_EMBEDDINGS)
LH_SCHEMA_DEFINE(lh_oai_embeddings, LH_OAI_EMBEDDINGS, "An OpenAI embeddings answer.")

#define LH_OLL_EMBEDDINGS(F, T)                                                             \
    F(T, embeddings, MATRIX, .item_max = LH_REMOTE_MAX_DIM, .doc = "One per input.")
LH_SCHEMA_DECLARE(lh_oll_embeddings, LH_OLL_EMBEDDINGS)
LH_SCHEMA_DEFINE(lh_oll_embeddings, LH_OLL_EMBEDDINGS, "An Ollama embed answer.")

typedef struct lh_remote {
    lh_embed_remote base;
    char name[LH_PROVIDER_NAME_MAX + 1];
    bool openai; /* the wire format: OpenAI's, else Ollama's */
    lh_http_service http;
} lh_remote;

static void lh_remote_body(const char *model, const lh_strs *texts, size_t from, size_t n,
                           lh_buf *b)
{
    lh_buf_append_str(b, "{\"model\":");
    lh_json_append_string(b, model, strlen(model));
    lh_buf_append_str(b, ",\"input\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            lh_buf_append(b, ",", 1);
        lh_json_append_string(b, texts->v[from + i].s, texts->v[from + i].len);
    }
    lh_buf_append_str(b, "]}");
}

/* Puts row `i` of a batch in place, checking it has the dimension of the
 * rows before it (the first sets it). */
static lh_err *lh_remote_row(const char *who, const float *v, size_t n, size_t i, float *out,
                             int *dim)
{
    if (!*dim)
        *dim = (int)n;
    if (!n || n != (size_t)*dim)
        return lh_err_new(LH_EUPSTREAM, NULL,
                          "provider '%s' answered a vector of %zu numbers for input %zu, "
                          "not %d",
                          who, n, i, *dim);
    memcpy(out, v, n * sizeof *v);
    return NULL;
}

/* One batch: rows [from, from + n) of `out` (grown to hold them). */
static lh_err *lh_remote_batch(lh_remote *r, const char *model, const lh_strs *texts,
                               size_t from, size_t n, lh_arena *arena, float **out, int *dim)
{
    lh_buf body;
    lh_buf_init(&body);
    lh_remote_body(model, texts, from, n, &body);
    bool openai = r->openai;
    const char *who = r->http.who;
    void *reply = NULL;
    lh_err *err = lh_http_service_post(
        &r->http, NULL, r->http.timeout_ms, &body,
        openai ? &lh_oai_embeddings_schema : &lh_oll_embeddings_schema, arena, &reply);
    lh_buf_free(&body);
    size_t got = err ? 0 : openai ? ((lh_oai_embeddings *)reply)->data.n
                                  : ((lh_oll_embeddings *)reply)->embeddings.rows;
    if (!err && got != n)
        err = lh_err_new(LH_EUPSTREAM, NULL, "%s answered %zu vectors for %zu texts", who, got, n);
    for (size_t i = 0; !err && i < n; i++) {
        const float *v;
        size_t len, at = i;
        if (openai) {
            const lh_oai_embedding *e = &((lh_oai_embedding *)((lh_oai_embeddings *)reply)->data.v)[i];
            at = e->has_index ? (size_t)e->index : i;
            v = e->embedding.v;
            len = e->embedding.n;
        } else {
            const lh_matrix *m = &((lh_oll_embeddings *)reply)->embeddings;
            v = m->v + i * m->cols;
            len = m->cols;
        }
        if (at >= n)
            err = lh_err_new(LH_EUPSTREAM, NULL, "%s answered index %zu of %zu", who, at, n);
        if (!err && !*out) { /* the first row tells the dimension: room for them all */
            *dim = (int)len;
            *out = lh_arena_alloc(arena, texts->n * (len ? len : 1) * sizeof **out);
        }
        if (!err)
            err = lh_remote_row(who, v, len, at, *out + (from + at) * (size_t)*dim, dim);
    }
    return err;
}

static lh_err *lh_remote_fetch(lh_embed_remote *self, const char *model, const lh_strs *texts,
                               lh_arena *arena, float **out, int *dim)
{
    lh_remote *r = (lh_remote *)self;
    *out = NULL;
    *dim = 0;
    lh_err *err = NULL;
    for (size_t from = 0; !err && from < texts->n; from += LH_REMOTE_BATCH) {
        size_t n = texts->n - from < LH_REMOTE_BATCH ? texts->n - from : LH_REMOTE_BATCH;
        err = lh_remote_batch(r, model, texts, from, n, arena, out, dim);
    }
    return err ? lh_err_wrap(err, "embed with %s/%s", r->base.name, model) : NULL;
}

static void lh_remote_destroy(lh_embed_remote *self)
{
    lh_remote *r = (lh_remote *)self;
    lh_http_service_free(&r->http);
    free(r);
}

static lh_embed_remote *lh_remote_new(const char *name, bool openai, char *url,
                                      const char *key, int timeout_ms)
{
    lh_remote *r = calloc(1, sizeof *r);
    if (!r)
        abort(); /* out of memory: as lh_buf does, we do not limp on */
    snprintf(r->name, sizeof r->name, "%s", name);
    r->openai = openai;
    char who[LH_PROVIDER_NAME_MAX + 16];
    snprintf(who, sizeof who, "provider '%s'", name);
    lh_http_service_init(&r->http, who, url, key, "Authorization: Bearer %s", timeout_ms);
    r->base = (lh_embed_remote){r->name, lh_remote_fetch, lh_remote_destroy};
    return &r->base;
}

lh_embed_remote *lh_embed_remote_create(const lh_provider_conf *c, int timeout_ms)
{
    if (!strcmp(c->type, "openai"))
        return lh_remote_new(c->name, true,
                             lh_http_url(c->url, "https://api.openai.com/v1", "/embeddings"),
                             c->key, timeout_ms);
    if (!strcmp(c->type, "ollama"))
        return lh_remote_new(c->name, false, lh_http_url(c->url, NULL, "/api/embed"), NULL,
                             timeout_ms);
    return NULL;
}
