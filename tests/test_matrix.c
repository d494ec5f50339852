/*
 * test_matrix.c — matrixd's matrix.retrieve: reciprocal rank fusion on
 * hand-made rankings (where each ranking alone is wrong and fusion is
 * right), then end to end on a real nats-server with embedd, vectord,
 * matrixd and the gateway in this process: two corpora fused, the modes,
 * filters, every bad request refused with nothing changed, the HTTP route
 * and the `lakehouse retrieve` and `lakehouse eval retrieval` commands.
 *
 * One group replaces vectord with a stand-in that never answers for one
 * index: a corpus that is late is a fault the real vectord cannot be made
 * to show on demand, and it is matrixd's answer to it that is under test.
 */
#include "tests/support/harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actors/embed/embed.h"
#include "actors/matrix/fuse.h"
#include "actors/matrix/matrix.h"
#include "actors/vector/vector.h"
#include "bus/buf.h"
#include "gateway/gateway.h"
#include "ops/eval_metrics.h"
#include "schemas/embed.h"
#include "schemas/matrix.h"
#include "schemas/vector.h"

typedef lh_test_stack fixture;

/* ---- fusion alone ---- */

static lh_vector_hit hit(const char *id, double score)
{
    lh_vector_hit h = {.id = {id, strlen(id)}};
    LH_SET(&h, score, score);
    return h;
}

#define RANKS(h) ((const lh_matrix_ranks *)(h).ranks)
#define SCORES(h) ((const lh_matrix_scores *)(h).scores)

static const lh_str CORPORA[] = {{"a", 1}, {"b", 1}};

static lh_mx_fusion fusion(size_t k, double wv, double wk)
{
    return (lh_mx_fusion){.corpora = CORPORA, .n_corpora = 2, .rrf_k = 60,
                          .weight = {wv, wk}, .k = k, .include_text = true};
}

/* "a/X,a/A" for the fused hits. */
static char *fused_ids(lh_arena *arena, const lh_mx_ranking *r, size_t n,
                       const lh_mx_fusion *f, lh_matrix_hit **out)
{
    size_t got = 0;
    lh_mx_fuse(r, n, f, arena, out, &got);
    lh_buf b;
    lh_buf_init(&b);
    for (size_t i = 0; i < got; i++)
        lh_buf_appendf(&b, "%s%.*s/%.*s", i ? "," : "", (int)(*out)[i].corpus.len,
                       (*out)[i].corpus.s, (int)(*out)[i].id.len, (*out)[i].id.s);
    char *s = strdup(lh_buf_cstr(&b));
    lh_buf_free(&b);
    return s;
}

static void test_fusion_is_right_where_each_ranking_alone_is_wrong(void **state)
{
    (void)state;
    /* X answers the query; each ranking puts something else first. */
    lh_vector_hit vec[] = {hit("A", .9), hit("X", .8), hit("B", .7)};
    lh_vector_hit kw[] = {hit("D", 12), hit("X", 11), hit("E", 3)};
    lh_mx_ranking r[] = {{0, LH_MX_VECTOR, vec, 3}, {0, LH_MX_KEYWORD, kw, 3}};
    lh_mx_fusion f = fusion(10, 1, 1);
    lh_matrix_hit *hits = NULL;
    lh_arena *arena = lh_arena_create();
    char *ids = fused_ids(arena, r, 2, &f, &hits);
    /* X: 2/62. A and D tie at 1/61, both rank 1: the smaller id first. */
    assert_string_equal(ids, "a/X,a/A,a/D,a/B,a/E");
    free(ids);
    assert_float_equal(hits[0].score, 2.0 / 62, 1e-12);
    assert_int_equal(RANKS(hits[0])->vector, 2);
    assert_int_equal(RANKS(hits[0])->keyword, 2);
    assert_float_equal(SCORES(hits[0])->keyword, 11, 0);
    assert_true(RANKS(hits[1])->has_vector && !RANKS(hits[1])->has_keyword);
    assert_true(!SCORES(hits[2])->has_vector && SCORES(hits[2])->has_keyword);
    lh_arena_destroy(arena);
}

static void test_fusion_weighs_dedupes_and_cuts(void **state)
{
    (void)state;
    lh_vector_hit vec[] = {hit("A", .9), hit("X", .8)};
    lh_vector_hit kw[] = {hit("D", 12), hit("X", 11), hit("D", 2)}; /* D named twice */
    lh_vector_hit other[] = {hit("X", .5)};
    lh_mx_ranking r[] = {{0, LH_MX_VECTOR, vec, 2}, {0, LH_MX_KEYWORD, kw, 3},
                         {1, LH_MX_VECTOR, other, 1}};
    lh_matrix_hit *hits = NULL;
    lh_mx_fusion f = fusion(10, 1, 1);
    lh_arena *arena = lh_arena_create();
    char *ids = fused_ids(arena, r, 3, &f, &hits);
    /* the same id in two corpora is two hits; D keeps its first rank */
    assert_string_equal(ids, "a/X,a/A,a/D,b/X");
    free(ids);
    assert_int_equal(RANKS(hits[2])->keyword, 1);
    f = fusion(10, 0, 1); /* a weight of 0 leaves its rankings out */
    ids = fused_ids(arena, r, 3, &f, &hits);
    assert_string_equal(ids, "a/D,a/X");
    free(ids);
    f = fusion(10, 1, 3); /* the keyword ranking now outweighs agreement */
    ids = fused_ids(arena, r, 3, &f, &hits);
    assert_string_equal(ids, "a/X,a/D,a/A,b/X");
    free(ids);
    f = fusion(2, 1, 1);
    ids = fused_ids(arena, r, 3, &f, &hits);
    assert_string_equal(ids, "a/X,a/A");
    free(ids);
    f = fusion(10, 1, 1);
    ids = fused_ids(arena, r, 0, &f, &hits);
    assert_string_equal(ids, "");
    free(ids);
    lh_arena_destroy(arena);
}

/* Texts are asked only as deep as lh_mx_depth says; on random rankings,
 * every hit fusion returns must still have one. */
static void test_depth_keeps_every_shown_hit_texted(void **state)
{
    (void)state;
    enum { N = 60, POOL = 90 };
    static char names[POOL][8];
    for (int i = 0; i < POOL; i++)
        snprintf(names[i], sizeof names[i], "i%d", i);
    unsigned seed = 7;
    for (int round = 0; round < 300; round++) {
        lh_mx_fusion f = fusion((size_t)(1 + rand_r(&seed) % 20), 0.1 + rand_r(&seed) % 20 / 10.0,
                                0.1 + rand_r(&seed) % 20 / 10.0);
        f.rrf_k = rand_r(&seed) % 70;
        size_t depth = lh_mx_depth(&f, N);
        assert_true(depth >= f.k || depth == N);
        lh_vector_hit lists[2][N];
        for (int l = 0; l < 2; l++) {
            int order[POOL]; /* a random order of the pool: ids overlap at random ranks */
            for (int i = 0; i < POOL; i++)
                order[i] = i;
            for (int i = POOL - 1; i > 0; i--) {
                int j = rand_r(&seed) % (i + 1), tmp = order[i];
                order[i] = order[j];
                order[j] = tmp;
            }
            for (int i = 0; i < N; i++) {
                lists[l][i] = hit(names[order[i]], 1.0 / (i + 1));
                lists[l][i].text = (size_t)i < depth ? (lh_str){"t", 1} : (lh_str){0};
            }
        }
        size_t n_vec = (size_t)(rand_r(&seed) % (N + 1)), n_kw = (size_t)(rand_r(&seed) % (N + 1));
        lh_mx_ranking r[] = {{0, LH_MX_VECTOR, lists[0], n_vec}, {0, LH_MX_KEYWORD, lists[1], n_kw}};
        lh_arena *arena = lh_arena_create();
        lh_matrix_hit *hits = NULL;
        size_t n = 0;
        lh_mx_fuse(r, 2, &f, arena, &hits, &n);
        for (size_t i = 0; i < n; i++)
            if (!hits[i].text.s)
                fail_msg("round %d: hit %zu (%.*s) has no text; depth %zu, k %zu", round, i,
                         (int)hits[i].id.len, hits[i].id.s, depth, f.k);
        lh_arena_destroy(arena);
    }
}

static void test_eval_measures(void **state)
{
    (void)state;
    lh_str got[] = {{"x", 1}, {"r", 1}, {"y", 1}, {"s", 1}};
    lh_str rel[] = {{"r", 1}, {"s", 1}};
    lh_eval_sums s = {0};
    lh_eval_add(&s, got, 4, &(lh_strs){rel, 2}, 2.0);
    lh_eval_add(&s, got + 1, 1, &(lh_strs){rel, 1}, 4.0); /* r at rank 1 */
    lh_eval_means m = lh_eval_means_of(&s);
    assert_float_equal(m.recall_1, (0 + 1) / 2.0, 1e-12);
    assert_float_equal(m.recall_10, (1 + 1) / 2.0, 1e-12);
    assert_float_equal(m.mrr_10, (0.5 + 1) / 2.0, 1e-12);
    double ndcg1 = (1 / log2(3) + 1 / log2(5)) / (1 + 1 / log2(3));
    assert_float_equal(m.ndcg_10, (ndcg1 + 1) / 2.0, 1e-12);
    assert_float_equal(m.ms_mean, 3.0, 1e-12);
    assert_float_equal(m.ms_p50, 2.0, 1e-12);
    lh_eval_sums_free(&s);
}

/* ---- end to end ---- */

static const lh_actor_def *const STACK[] = {&lh_embed_actor, &lh_vector_actor, &lh_matrix_actor,
                                            &lh_gateway_actor, NULL};

static int setup(void **state)
{
    *state = lh_test_stack_new(&(lh_test_stack_opts){.actors = STACK});
    return 0;
}

static json_t *call(fixture *f, const lh_contract *k, const char *json)
{
    return lh_test_ok(lh_test_call_s(f->nc, k, json));
}

typedef struct doc {
    const char *id, *team, *text;
} doc;

static const doc DOCS[] = {
    {"d1", "storage", "Error code E1234 means the disk is full; free space or add a volume"},
    {"d2", "storage", "Snapshots are written every minute and kept for a week"},
    {"d3", "search", "The keyword index stems words, so running matches runs"},
    {"d4", "search", "Vector search finds passages by meaning rather than by words"},
    {"d5", "billing", "Invoices are sent on the first day of every month"},
};
static const doc TICKETS[] = {
    {"t1", "storage", "Customer reports the disk is full after the upgrade"},
    {"t2", "billing", "Customer asks why the invoice came twice this month"},
    {"t3", "search", "Search returns nothing for the word running"},
};

/* An index of `n` docs, their vectors from embedd. */
static void corpus(fixture *f, const char *name, const doc *docs, size_t n)
{
    char body[256];
    snprintf(body, sizeof body, "{\"index\":\"%s\",\"dimension\":384}", name);
    json_decref(call(f, &lh_ep_vector_create, body));
    json_t *texts = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(texts, json_string(docs[i].text));
    json_t *emb = lh_test_ok(lh_test_call_j(f->nc, &lh_ep_embed_request,
                                            json_pack("{s:o}", "texts", texts)));
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, json_pack("{s:s,s:O,s:s,s:{s:s}}", "id", docs[i].id,
                                               "vector",
                                               json_array_get(json_object_get(emb, "vectors"), i),
                                               "text", docs[i].text, "metadata", "team",
                                               docs[i].team));
    json_decref(emb);
    json_decref(lh_test_ok(lh_test_call_j(f->nc, &lh_ep_vector_upsert,
                                          json_pack("{s:s,s:o}", "index", name, "items", items))));
}

static void corpora(fixture *f)
{
    corpus(f, "docs", DOCS, sizeof DOCS / sizeof DOCS[0]);
    corpus(f, "tickets", TICKETS, sizeof TICKETS / sizeof TICKETS[0]);
}

static json_t *retrieve(fixture *f, const char *json)
{
    return call(f, &lh_ep_matrix_retrieve, json);
}

/* "docs/d1,tickets/t1" */
static char *ids_of(json_t *rep)
{
    lh_buf b;
    lh_buf_init(&b);
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(rep, "hits"), i, h) {
        lh_buf_appendf(&b, "%s%s/%s", i ? "," : "",
                       json_string_value(json_object_get(h, "corpus")),
                       json_string_value(json_object_get(h, "id")));
    }
    char *s = strdup(lh_buf_cstr(&b));
    lh_buf_free(&b);
    return s;
}

static bool has(json_t *obj, const char *key) { return json_object_get(obj, key) != NULL; }

static void test_hybrid_fuses_two_corpora(void **state)
{
    fixture *f = *state;
    corpora(f);
    json_t *rep = retrieve(f, "{\"query\":\"disk full E1234\",\"corpora\":[\"docs\",\"tickets\"]}");
    assert_string_equal(json_string_value(json_object_get(rep, "mode")), "hybrid");
    json_t *hits = json_object_get(rep, "hits");
    assert_int_equal(json_array_size(hits), 8); /* every item of both, each once */
    json_t *top = json_array_get(hits, 0);
    /* d1 holds every word, so both rankings put it first */
    assert_string_equal(json_string_value(json_object_get(top, "id")), "d1");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(top, "ranks"),
                                                        "keyword")), 1);
    assert_non_null(strstr(json_string_value(json_object_get(top, "snippet")), "[E1234]"));
    assert_string_equal(json_string_value(json_object_get(top, "text")), DOCS[0].text);
    char *ids = ids_of(rep);
    assert_non_null(strstr(ids, "tickets/t1")); /* the other corpus's match is in */
    free(ids);
    size_t i;
    json_t *h;
    double last = 1;
    json_array_foreach(hits, i, h) {
        double score = json_number_value(json_object_get(h, "score"));
        assert_true(score > 0 && score <= last);
        last = score;
        json_t *ranks = json_object_get(h, "ranks");
        assert_true(has(ranks, "vector") || has(ranks, "keyword"));
        assert_true(has(h, "text")); /* texts are asked deep enough for every hit shown */
        assert_true(has(ranks, "keyword") == has(h, "snippet"));
    }
    json_t *per = json_object_get(rep, "per_corpus");
    assert_int_equal(json_array_size(per), 2);
    json_t *t = json_array_get(per, 1);
    assert_string_equal(json_string_value(json_object_get(t, "corpus")), "tickets");
    assert_int_equal(json_integer_value(json_object_get(t, "vector_hits")), 3);
    assert_int_equal(json_integer_value(json_object_get(t, "keyword_hits")), 1);
    assert_false(has(t, "error") || has(t, "status"));
    json_decref(rep);
}

static void test_modes_use_only_their_rankings(void **state)
{
    fixture *f = *state;
    corpora(f);
    json_t *rep = retrieve(f, "{\"query\":\"running\",\"corpora\":[\"docs\",\"tickets\"],"
                              "\"mode\":\"keyword\"}");
    char *ids = ids_of(rep);
    assert_string_equal(ids, "docs/d3,tickets/t3"); /* stemmed: running, runs */
    free(ids);
    json_t *h = json_array_get(json_object_get(rep, "hits"), 0);
    assert_false(has(json_object_get(h, "ranks"), "vector"));
    json_decref(rep);
    rep = retrieve(f, "{\"query\":\"running\",\"corpora\":\"docs\",\"mode\":\"vector\",\"k\":3}");
    assert_int_equal(json_array_size(json_object_get(rep, "hits")), 3);
    h = json_array_get(json_object_get(rep, "hits"), 0);
    assert_false(has(json_object_get(h, "ranks"), "keyword") || has(h, "snippet"));
    json_t *per = json_array_get(json_object_get(rep, "per_corpus"), 0);
    assert_int_equal(json_integer_value(json_object_get(per, "keyword_hits")), 0);
    json_decref(rep);
}

static void test_filters_and_include_text(void **state)
{
    fixture *f = *state;
    corpora(f);
    json_t *rep = retrieve(f, "{\"query\":\"disk full\",\"corpora\":[\"docs\",\"tickets\"],"
                              "\"filter\":{\"team\":\"billing\"},\"include_text\":false}");
    char *ids = ids_of(rep);
    /* only billing, whatever matched; each first of its corpus's rankings, so the
     * tie goes to the corpus named first */
    assert_string_equal(ids, "docs/d5,tickets/t2");
    free(ids);
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(rep, "hits"), i, h) {
        assert_false(has(h, "text"));
        assert_string_equal(json_string_value(json_object_get(json_object_get(h, "metadata"),
                                                              "team")), "billing");
    }
    json_decref(rep);
}

static void expect(fixture *f, const char *json, int code, const char *field, const char *words)
{
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_matrix_retrieve, json), code, field, words);
}

static void test_bad_requests_are_refused_and_change_nothing(void **state)
{
    fixture *f = *state;
    corpora(f);
    json_decref(call(f, &lh_ep_vector_create, "{\"index\":\"small\",\"dimension\":8}"));
    json_t *before = retrieve(f, "{\"query\":\"disk\",\"corpora\":[\"docs\",\"tickets\"]}");
    expect(f, "{\"query\":\"disk\",\"corpora\":[\"docs\",\"nope\"]}", 404, "corpora[1]", "nope");
    expect(f, "{\"query\":\"disk\",\"corpora\":[\"docs\",\"small\"]}", 422, "corpora[1]",
           "small");
    expect(f, "{\"query\":\"   \",\"corpora\":[\"docs\"]}", 400, "query", NULL);
    expect(f, "{\"corpora\":[\"docs\"]}", 400, "query", NULL);
    expect(f, "{\"query\":7,\"corpora\":[\"docs\"]}", 400, "query", NULL);
    expect(f, "{\"query\":\"disk\",\"corpora\":[]}", 400, "corpora", NULL);
    expect(f, "{\"query\":\"disk\",\"corpora\":[\"docs\",\"docs\"]}", 400, "corpora", "twice");
    expect(f, "{\"query\":\"disk\",\"corpora\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\","
              "\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\"]}", 413, "corpora", NULL);
    expect(f, "{\"query\":\"disk\",\"corpora\":[\"bad name\"]}", 400, "corpora[0]", NULL);
    expect(f, "{\"query\":\"disk\",\"corpora\":[\"docs\"],\"k\":0}", 400, "k", NULL);
    expect(f, "{\"query\":\"disk\",\"corpora\":[\"docs\"],\"k\":1001}", 400, "k", NULL);
    expect(f, "{\"query\":\"disk\",\"corpora\":[\"docs\"],\"candidates\":0}", 400, "candidates",
           NULL);
    expect(f, "{\"query\":\"disk\",\"corpora\":[\"docs\"],\"candidates\":1001}", 400,
           "candidates", NULL);
    expect(f, "{\"query\":\"disk\",\"corpora\":[\"docs\"],\"k\":20,\"candidates\":5}", 400,
           "candidates", "less than k");
    expect(f, "{\"query\":\"disk\",\"corpora\":[\"docs\"],\"mode\":\"fuzzy\"}", 400, "mode",
           NULL);
    expect(f, "{\"query\":\"disk\",\"corpora\":[\"docs\"],\"rrf_k\":-1}", 400, "rrf_k", NULL);
    expect(f, "{\"query\":\"disk\",\"corpora\":[\"docs\"],\"weights\":{\"vector\":-1}}", 400,
           NULL, "vector");
    expect(f, "{\"query\":\"disk\",\"corpora\":[\"docs\"],\"weights\":{\"vector\":0,"
              "\"keyword\":0}}", 400, "weights", "no ranking");
    expect(f, "{\"query\":\"disk\",\"corpora\":[\"docs\"],\"mode\":\"vector\",\"weights\":"
              "{\"vector\":0}}", 400, "weights", NULL);
    expect(f, "{\"query\":\"disk\",\"corpora\":[\"docs\"],\"filter\":[1,2]}", 400, "filter",
           "docs");
    expect(f, "{\"query\":\"disk\",\"corpora\":[\"docs\"],\"bogus\":1}", 400, "bogus", NULL);
    expect(f, "{\"query\":\"disk\",\"corpora\":[\"docs\"],\"timeout_ms\":0}", 400, "timeout_ms",
           NULL);
    /* Syntax in a query is only words: answered, never an error. */
    json_decref(retrieve(f, "{\"query\":\"\\\"NEAR(text: * -AND) OR ^\",\"corpora\":[\"docs\"]}"));
    json_t *after = retrieve(f, "{\"query\":\"disk\",\"corpora\":[\"docs\",\"tickets\"]}");
    char *a = ids_of(before), *b = ids_of(after);
    assert_string_equal(a, b);
    free(a);
    free(b);
    json_decref(before);
    json_decref(after);
    json_t *stats = call(f, &lh_ep_vector_stats, "{\"index\":\"docs\"}");
    assert_int_equal(json_integer_value(json_object_get(stats, "count")), 5);
    json_decref(stats);
}

static void test_http_route(void **state)
{
    fixture *f = *state;
    corpora(f);
    static const char ok[] = "{\"query\":\"invoice twice\",\"corpora\":[\"tickets\"],\"k\":1}";
    lh_test_response r = lh_test_fetch(f->http_port, "POST", "/v1/matrix/retrieve", NULL, ok,
                                       strlen(ok));
    assert_int_equal(r.status, 200);
    json_t *top = json_array_get(json_object_get(r.json, "hits"), 0);
    assert_string_equal(json_string_value(json_object_get(top, "id")), "t2");
    lh_test_response_free(&r);
    static const char unknown[] = "{\"query\":\"x\",\"corpora\":[\"nope\"]}";
    r = lh_test_fetch(f->http_port, "POST", "/v1/matrix/retrieve", NULL, unknown,
                      strlen(unknown));
    assert_int_equal(r.status, 404);
    json_t *err = json_object_get(r.json, "error");
    assert_non_null(strstr(json_string_value(json_object_get(err, "message")), "nope"));
    lh_test_response_free(&r);
    static const char broken[] = "{\"query\":\"x\",\"corpora\":[";
    r = lh_test_fetch(f->http_port, "POST", "/v1/matrix/retrieve", NULL, broken,
                      strlen(broken));
    assert_int_equal(r.status, 400);
    lh_test_response_free(&r);
}

/* Runs a lakehouse command; its output, NUL-terminated (caller frees). */
static char *run_cli(fixture *f, char *const argv[], int want_status)
{
    char log[700];
    snprintf(log, sizeof log, "%s/cli.log", f->nats.dir);
    unlink(log);
    int status = lh_test_stack_run(f, argv, log, 60000);
    char *out = lh_test_read_file(log, NULL);
    if (status != want_status)
        fail_msg("%s exited %d, not %d: %s", argv[1], status, want_status, out ? out : "");
    return out;
}

static void test_retrieve_command_prints_a_table(void **state)
{
    fixture *f = *state;
    corpora(f);
    char *out = run_cli(f, (char *[]){LH_BINARY, "retrieve", "disk full E1234", "--corpus", "docs",
                                      "--corpus", "tickets", "--k", "3", NULL}, 0);
    assert_non_null(strstr(out, "rank"));
    assert_non_null(strstr(out, "[E1234]"));
    assert_non_null(strstr(out, "(3 hits, hybrid"));
    free(out);
    out = run_cli(f, (char *[]){LH_BINARY, "retrieve", "disk", "--corpus", "nope", NULL}, 1);
    assert_non_null(strstr(out, "error 404"));
    free(out);
}

static void test_eval_command_scores_each_mode(void **state)
{
    fixture *f = *state;
    corpora(f);
    char path[700];
    snprintf(path, sizeof path, "%s/queries.jsonl", f->nats.dir);
    FILE *q = fopen(path, "w");
    fputs("{\"query\":\"E1234\",\"relevant\":[\"d1\"],\"split\":\"a\"}\n"
          "{\"query\":\"invoices sent monthly\",\"relevant\":[\"d5\"],\"split\":\"a\"}\n"
          "{\"query\":\"snapshots kept\",\"relevant\":[\"d2\"],\"split\":\"b\"}\n",
          q);
    fclose(q);
    char *out = run_cli(f, (char *[]){LH_BINARY, "eval", "retrieval", "--corpus", "docs",
                                      "--queries", path, "--split", "a", "--modes", "keyword",
                                      "--json", NULL}, 0);
    json_t *j = json_loads(strchr(out, '{'), JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "queries")), 2);
    json_t *m = json_array_get(json_object_get(j, "modes"), 0);
    assert_string_equal(json_string_value(json_object_get(m, "mode")), "keyword");
    /* each query's words are in its answer and in no other document */
    assert_float_equal(json_number_value(json_object_get(m, "recall_at_1")), 1.0, 1e-9);
    assert_float_equal(json_number_value(json_object_get(m, "mrr_at_10")), 1.0, 1e-9);
    json_decref(j);
    free(out);
    out = run_cli(f, (char *[]){LH_BINARY, "eval", "retrieval", "--corpus", "docs", "--queries",
                                path, NULL}, 0);
    assert_non_null(strstr(out, "hybrid"));
    assert_non_null(strstr(out, "3 queries"));
    free(out);
    out = run_cli(f, (char *[]){LH_BINARY, "eval", "retrieval", "--corpus", "docs", "--queries",
                                path, "--weights", ",1", NULL}, 2);
    assert_non_null(strstr(out, "--weights"));
    free(out);
    static const char *const bad_lines[] = {
        "{\"query\":\"E1234\"}\n",                            /* no relevant ids */
        "{\"query\":\"E1234\",\"relevant\":[\"d1\",\"d1\"]}\n", /* one listed twice */
        "{\"query\":\"E1234\",\"relevant\":[\"d1\"]\n",          /* not JSON */
    };
    for (size_t i = 0; i < sizeof bad_lines / sizeof bad_lines[0]; i++) {
        q = fopen(path, "w");
        fputs(bad_lines[i], q);
        fclose(q);
        out = run_cli(f, (char *[]){LH_BINARY, "eval", "retrieval", "--corpus", "docs",
                                    "--queries", path, NULL}, 1);
        assert_non_null(strstr(out, "queries.jsonl:1:"));
        free(out);
    }
}

/* ---- a corpus that does not answer ---- */

/* Answers one hit for any index but "slow", which it keeps waiting. */
static lh_err *standin_search(lh_ctx *ctx, const void *request, void *reply)
{
    const lh_vector_search_request *req = request;
    lh_vector_search_reply *rep = reply;
    if (req->index.len == 4 && !memcmp(req->index.s, "slow", 4)) {
        lh_test_sleep_ms(1500);
        return lh_err_new(LH_EINTERNAL, NULL, "too late to matter");
    }
    lh_vector_hit *h = lh_ctx_alloc(ctx, sizeof *h);
    h->id = (lh_str){"only", 4};
    LH_SET(h, score, 1.0);
    rep->hits = (lh_objs){h, 1};
    return NULL;
}

static const lh_endpoint_def STANDIN_ENDPOINTS[] = {{&lh_ep_vector_search, standin_search}};
static const lh_actor_def STANDIN = {
    .name = "vectord", .version = "0.0.0", .description = "a vectord that is slow for 'slow'",
    .endpoints = STANDIN_ENDPOINTS, .n_endpoints = 1,
};
static const lh_actor_def *const SLOW_STACK[] = {&STANDIN, &lh_matrix_actor, NULL};

static int setup_slow(void **state)
{
    *state = lh_test_stack_new(&(lh_test_stack_opts){.actors = SLOW_STACK, .workers = 4});
    return 0;
}

static void test_a_late_corpus_is_reported_and_the_rest_answered(void **state)
{
    fixture *f = *state;
    json_t *rep = retrieve(f, "{\"query\":\"q\",\"corpora\":[\"fast\",\"slow\"],"
                              "\"timeout_ms\":200}");
    char *ids = ids_of(rep);
    assert_string_equal(ids, "fast/only");
    free(ids);
    json_t *slow = json_array_get(json_object_get(rep, "per_corpus"), 1);
    assert_int_equal(json_integer_value(json_object_get(slow, "status")), 504);
    assert_non_null(strstr(json_string_value(json_object_get(slow, "error")), "within"));
    assert_false(has(json_array_get(json_object_get(rep, "per_corpus"), 0), "error"));
    json_decref(rep);
    expect(f, "{\"query\":\"q\",\"corpora\":[\"slow\"],\"timeout_ms\":200}", 504, NULL,
           "no corpus answered");
}

static void test_no_vectord_is_503(void **state)
{
    fixture *f = *state;
    lh_test_stack_drop(f, &STANDIN);
    expect(f, "{\"query\":\"q\",\"corpora\":[\"fast\"]}", 503, NULL, "vector.search");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, lh_test_stack_teardown)
#define SLOW(name) cmocka_unit_test_setup_teardown(name, setup_slow, lh_test_stack_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fusion_is_right_where_each_ranking_alone_is_wrong),
        cmocka_unit_test(test_fusion_weighs_dedupes_and_cuts),
        cmocka_unit_test(test_depth_keeps_every_shown_hit_texted),
        cmocka_unit_test(test_eval_measures),
        T(test_hybrid_fuses_two_corpora),
        T(test_modes_use_only_their_rankings),
        T(test_filters_and_include_text),
        T(test_bad_requests_are_refused_and_change_nothing),
        T(test_http_route),
        T(test_retrieve_command_prints_a_table),
        T(test_eval_command_scores_each_mode),
        SLOW(test_a_late_corpus_is_reported_and_the_rest_answered),
        SLOW(test_no_vectord_is_503),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
