/*
 * retrieve.c — a matrix.retrieve in flight. The job counts its searches
 * plus one token held by the starting handler; every answer (or failure,
 * or deadline) decodes into the job's arena under its lock and drops a
 * count, and whoever drops the last one fuses and replies. A callee's
 * refusal of the request itself (unknown corpus, dimensions, a bad filter)
 * fails the whole retrieval; a corpus that is late or down is reported in
 * per_corpus and the others are answered, 504 only when none answered.
 */
#include "actors/matrix/retrieve.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/clock.h"
#include "bus/error_body.h"
#include "bus/request.h"
#include "schemas/vector.h"

/* What one search (a corpus, a mode) came back with. */
typedef struct lh_mx_slot {
    bool asked;
    const lh_vector_hit *hits;
    size_t n;
    int status; /* 0: answered */
    const char *error;
    const char *field; /* the callee's field at fault, when it named one */
    uint64_t done_ns;
} lh_mx_slot;

typedef struct lh_mx_job lh_mx_job;

typedef struct lh_mx_call {
    lh_mx_job *job;
    lh_mx_slot *slot;
} lh_mx_call;

struct lh_mx_job {
    pthread_mutex_t lock;
    size_t pending; /* searches not yet back, plus the starter's token */
    lh_arena *arena;
    lh_deferred *deferred;
    lh_mx_fusion fusion; /* corpora copied into the arena */
    const char *mode;
    int timeout_ms;
    lh_mx_slot *slots;   /* n_corpora x LH_MX_KINDS */
    lh_mx_call *calls;
    uint64_t start_ns;
};

static lh_mx_slot *lh_mx_slot_of(lh_mx_job *job, size_t corpus, lh_mx_kind kind)
{
    return &job->slots[corpus * LH_MX_KINDS + kind];
}

static const char *lh_mx_kind_name(lh_mx_kind kind)
{
    return kind == LH_MX_VECTOR ? "vector" : "keyword";
}

static char *lh_mx_strdup(lh_arena *a, const char *s)
{
    return s ? lh_arena_strndup(a, s, strlen(s)) : NULL;
}

/* The field a callee's error body names, if any (in the job's arena). */
static const char *lh_mx_error_field(lh_arena *arena, natsMsg *msg)
{
    if (!msg)
        return NULL;
    lh_error_body *body = NULL;
    lh_err *bad = lh_schema_decode_reply(&lh_error_body_schema, natsMsg_GetData(msg),
                                         (size_t)natsMsg_GetDataLength(msg), arena,
                                         (void **)&body);
    if (bad) {
        lh_err_free(bad);
        return NULL;
    }
    const lh_error_detail *d = body->error;
    return d && d->field.s ? lh_arena_strndup(arena, d->field.s, d->field.len) : NULL;
}

static void lh_mx_record(lh_mx_job *job, lh_mx_slot *s, const lh_err *err, natsMsg *msg)
{
    s->status = lh_err_code(err);
    s->error = lh_mx_strdup(job->arena, lh_err_message(err));
    s->field = lh_mx_error_field(job->arena, msg);
}

static void lh_mx_finish(lh_mx_job *job);

static void lh_mx_drop(lh_mx_job *job)
{
    pthread_mutex_lock(&job->lock);
    bool last = --job->pending == 0;
    pthread_mutex_unlock(&job->lock);
    if (last)
        lh_mx_finish(job);
}

static void lh_mx_on_answer(void *user, lh_err *err, natsMsg *msg)
{
    lh_mx_call *call = user;
    lh_mx_job *job = call->job;
    lh_mx_slot *s = call->slot;
    pthread_mutex_lock(&job->lock);
    s->done_ns = lh_clock_ns();
    if (err) {
        lh_mx_record(job, s, err, msg);
    } else {
        lh_vector_search_reply *rep = NULL;
        lh_err *bad = lh_reply_decode(&lh_ep_vector_search, natsMsg_GetData(msg),
                                      (size_t)natsMsg_GetDataLength(msg), job->arena,
                                      (void **)&rep);
        if (bad)
            lh_mx_record(job, s, bad, NULL);
        else
            *s = (lh_mx_slot){.asked = true, .hits = rep->hits.v, .n = rep->hits.n,
                              .done_ns = s->done_ns};
        lh_err_free(bad);
    }
    pthread_mutex_unlock(&job->lock);
    lh_mx_drop(job);
}

/* ---- the verdict ---- */

/* The callee's field, as the caller of matrix.retrieve knows it: an
 * unknown or unfit index (404, 422) is the corpus's fault; the text
 * (vectord's `text`, embedd's `texts[0]`) is the query; a filter is the
 * filter; anything else names no field of this request. */
static const char *lh_mx_outer_field(const lh_mx_slot *s, char *buf, size_t cap, size_t corpus)
{
    bool corpus_at_fault = s->status == LH_ENOTFOUND || s->status == LH_EUNPROCESSABLE;
    if (!corpus_at_fault && s->field && !strncmp(s->field, "text", 4))
        return "query";
    if (!corpus_at_fault && s->field && !strcmp(s->field, "filter"))
        return "filter";
    if (!corpus_at_fault && s->field && strcmp(s->field, "index") != 0)
        return NULL;
    snprintf(buf, cap, "corpora[%zu]", corpus);
    return buf;
}

/* A callee refused the request itself (4xx): the whole retrieval is
 * refused, naming the corpus. NULL when no search was refused. */
static lh_err *lh_mx_refusal(lh_mx_job *job)
{
    for (size_t c = 0; c < job->fusion.n_corpora; c++) {
        for (int k = 0; k < LH_MX_KINDS; k++) {
            const lh_mx_slot *s = lh_mx_slot_of(job, c, (lh_mx_kind)k);
            if (!s->asked || s->status < 400 || s->status > 499)
                continue;
            const lh_str *name = &job->fusion.corpora[c];
            char field[32];
            const char *f = lh_mx_outer_field(s, field, sizeof field, c);
            if (s->status == LH_ENOTFOUND)
                return lh_err_new(LH_ENOTFOUND, f, "unknown corpus '%.*s': no vector index by "
                                  "that name", (int)name->len, name->s);
            return lh_err_new(s->status, f, "corpus '%.*s': %s", (int)name->len, name->s,
                              s->error);
        }
    }
    return NULL;
}

/* Every search failed (none was refused): 504 when each ran out of time,
 * else the first failure's status. NULL when any search answered. */
static lh_err *lh_mx_all_failed(lh_mx_job *job)
{
    const lh_mx_slot *first = NULL;
    bool all_late = true;
    size_t first_corpus = 0;
    for (size_t i = 0; i < job->fusion.n_corpora * LH_MX_KINDS; i++) {
        const lh_mx_slot *s = &job->slots[i];
        if (!s->asked)
            continue;
        if (!s->status)
            return NULL;
        all_late = all_late && s->status == LH_ETIMEOUT;
        if (!first) {
            first = s;
            first_corpus = i / LH_MX_KINDS;
        }
    }
    if (!first)
        return NULL;
    const lh_str *name = &job->fusion.corpora[first_corpus];
    if (all_late)
        return lh_err_new(LH_ETIMEOUT, NULL, "no corpus answered within %d ms", job->timeout_ms);
    return lh_err_new(first->status, NULL, "no corpus answered; corpus '%.*s': %s",
                      (int)name->len, name->s, first->error);
}

/* ---- the reply ---- */

static void lh_mx_report(lh_mx_job *job, size_t c, lh_matrix_corpus_report *r)
{
    uint64_t last = job->start_ns;
    lh_buf why;
    lh_buf_init(&why);
    *r = (lh_matrix_corpus_report){.corpus = job->fusion.corpora[c]};
    for (int k = 0; k < LH_MX_KINDS; k++) {
        const lh_mx_slot *s = lh_mx_slot_of(job, c, (lh_mx_kind)k);
        if (!s->asked)
            continue;
        if (s->done_ns > last)
            last = s->done_ns;
        if (s->status) {
            if (!r->has_status)
                LH_SET(r, status, s->status);
            lh_buf_appendf(&why, "%s%s ranking: %s", why.len ? "; " : "",
                           lh_mx_kind_name((lh_mx_kind)k), s->error);
        }
    }
    LH_SET(r, vector_hits, (int64_t)lh_mx_slot_of(job, c, LH_MX_VECTOR)->n);
    LH_SET(r, keyword_hits, (int64_t)lh_mx_slot_of(job, c, LH_MX_KEYWORD)->n);
    LH_SET(r, took_ms, (double)(last - job->start_ns) / 1e6);
    if (why.len)
        r->error = (lh_str){lh_arena_strndup(job->arena, why.data, why.len), why.len};
    lh_buf_free(&why);
}

static void lh_mx_reply(lh_mx_job *job)
{
    size_t nc = job->fusion.n_corpora, n = 0;
    lh_mx_ranking *rankings = lh_arena_alloc(job->arena, nc * LH_MX_KINDS * sizeof *rankings);
    for (size_t c = 0; c < nc; c++)
        for (int k = 0; k < LH_MX_KINDS; k++) {
            const lh_mx_slot *s = lh_mx_slot_of(job, c, (lh_mx_kind)k);
            if (s->asked && !s->status)
                rankings[n++] = (lh_mx_ranking){c, (lh_mx_kind)k, s->hits, s->n};
        }
    lh_matrix_retrieve_reply rep = {.mode = {job->mode, strlen(job->mode)}};
    lh_matrix_hit *hits = NULL;
    size_t n_hits = 0;
    lh_mx_fuse(rankings, n, &job->fusion, job->arena, &hits, &n_hits);
    rep.hits = (lh_objs){hits, n_hits};
    lh_matrix_corpus_report *per = lh_arena_alloc(job->arena, nc * sizeof *per);
    for (size_t c = 0; c < nc; c++)
        lh_mx_report(job, c, &per[c]);
    rep.per_corpus = (lh_objs){per, nc};
    LH_SET(&rep, took_ms, (double)(lh_clock_ns() - job->start_ns) / 1e6);
    lh_deferred_reply(job->deferred, &rep);
}

static void lh_mx_job_destroy(lh_mx_job *job)
{
    pthread_mutex_destroy(&job->lock);
    lh_arena_destroy(job->arena);
    free(job);
}

static void lh_mx_finish(lh_mx_job *job)
{
    lh_err *err = lh_mx_refusal(job);
    if (!err)
        err = lh_mx_all_failed(job);
    if (err)
        lh_deferred_fail(job->deferred, err);
    else
        lh_mx_reply(job);
    lh_err_free(err);
    lh_mx_job_destroy(job);
}

/* ---- the start ---- */

static lh_mx_job *lh_mx_job_create(lh_ctx *ctx, const lh_mx_plan *plan)
{
    lh_mx_job *job = calloc(1, sizeof *job);
    if (!job)
        abort(); /* out of memory: as lh_buf does, we do not limp on */
    pthread_mutex_init(&job->lock, NULL);
    job->arena = lh_arena_create();
    job->fusion = plan->fusion;
    size_t nc = plan->fusion.n_corpora;
    lh_str *corpora = lh_arena_alloc(job->arena, nc * sizeof *corpora);
    for (size_t c = 0; c < nc; c++) {
        const lh_str *src = &plan->fusion.corpora[c];
        corpora[c] = (lh_str){lh_arena_strndup(job->arena, src->s, src->len), src->len};
    }
    job->fusion.corpora = corpora;
    job->mode = plan->mode;
    job->timeout_ms = plan->timeout_ms;
    job->slots = lh_arena_alloc(job->arena, nc * LH_MX_KINDS * sizeof *job->slots);
    job->calls = lh_arena_alloc(job->arena, nc * LH_MX_KINDS * sizeof *job->calls);
    job->pending = 1; /* the starter's token */
    job->deferred = lh_ctx_defer(ctx);
    job->start_ns = lh_clock_ns();
    return job;
}

/* Sends one search; a send that fails at once is recorded as its answer. */
static void lh_mx_send(lh_mx_job *job, lh_mux *mux, const char *rid,
                       const lh_matrix_retrieve_request *req, const lh_mx_plan *plan,
                       size_t c, lh_mx_kind kind)
{
    lh_vector_search_request search = {
        .index = req->corpora.v[c],
        .text = req->query,
        .filter = req->filter,
        .mode = kind == LH_MX_KEYWORD ? (lh_str){"keyword", 7} : (lh_str){"vector", 6},
    };
    LH_SET(&search, k, plan->candidates);
    /* Sent only when they change something, so a vectord that predates
     * them still serves the rest. */
    int64_t texts = plan->fusion.include_text ? plan->shown : 0;
    if (texts < plan->candidates)
        LH_SET(&search, text_hits, texts);
    if (kind == LH_MX_KEYWORD && plan->shown < plan->candidates)
        LH_SET(&search, snippet_hits, plan->shown);
    lh_buf body;
    lh_buf_init(&body);
    lh_message_encode_given(&lh_vector_search_request_schema, &search, &body);
    lh_mx_slot *s = lh_mx_slot_of(job, c, kind);
    lh_mx_call *call = &job->calls[c * LH_MX_KINDS + kind];
    *call = (lh_mx_call){job, s};
    s->asked = true;
    pthread_mutex_lock(&job->lock);
    job->pending++;
    pthread_mutex_unlock(&job->lock);
    lh_err *err = lh_mux_request(mux, lh_ep_vector_search.subject, body.data, body.len, rid,
                                 plan->timeout_ms, lh_mx_on_answer, call);
    lh_buf_free(&body);
    if (err) {
        pthread_mutex_lock(&job->lock);
        s->done_ns = lh_clock_ns();
        lh_mx_record(job, s, err, NULL);
        pthread_mutex_unlock(&job->lock);
        lh_err_free(err);
        lh_mx_drop(job);
    }
}

void lh_mx_retrieve_start(lh_ctx *ctx, lh_mux *mux, const lh_matrix_retrieve_request *req,
                          const lh_mx_plan *plan)
{
    lh_mx_job *job = lh_mx_job_create(ctx, plan);
    const char *rid = lh_ctx_request_id(ctx);
    for (size_t c = 0; c < req->corpora.n; c++)
        for (int k = 0; k < LH_MX_KINDS; k++)
            if (plan->ask[k])
                lh_mx_send(job, mux, rid, req, plan, c, (lh_mx_kind)k);
    lh_mx_drop(job); /* the starter's token: the last answer may already be in */
}
