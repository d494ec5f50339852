/*
 * test_vector.c — vectord on a real nats-server: index lifecycle, upsert
 * and search with the right score per metric, replace-by-id, delete,
 * metadata filters, batch and text search, every bad input (each followed
 * by proof the index is unchanged), persistence across clean restarts,
 * damaged or stale snapshots and SIGKILL, rebuilds after deletes, two
 * workers under concurrent load, and HNSW recall against an exact answer
 * computed here.
 *
 * Most tests run vectord in this process (lh_actor_create), which is fast
 * and lets restarts reuse one data directory; the SIGKILL test runs
 * `lakehouse serve vectord` as a real process.
 */
#include "tests/support/harness.h"

#include <jansson.h>
#include <math.h>
#include <msgpack.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "actors/embed/embed.h"
#include "ops/registry.h"
#include "actors/vector/vector.h"
#include "bus/actor.h"
#include "bus/json.h"
#include "schemas/embed.h"
#include "schemas/vector.h"


/* The fixture is the stack: nats-server, the test's connection, and
 * vectord in this process on a fresh data directory per test. */
typedef lh_test_stack fixture;

static void start_vectord(fixture *f) { lh_test_stack_add(f, &lh_vector_actor, 2); }
static void stop_vectord(fixture *f) { lh_test_stack_drop(f, &lh_vector_actor); }
static void restart_vectord(fixture *f) { lh_test_stack_restart(f, &lh_vector_actor, 2); }

static int setup(void **state)
{
    start_vectord(*state);
    return 0;
}

static int teardown(void **state)
{
    lh_test_stack_clear(*state);
    unsetenv("LH_VECTOR_REBUILD_MIN_DELETED");
    unsetenv("LH_VECTOR_SNAPSHOT_SECONDS");
    return 0;
}

/* ---- talking to vectord ---- */

typedef lh_test_reply reply;

static json_t *fvec(const float *v, size_t d)
{
    json_t *a = json_array();
    for (size_t i = 0; i < d; i++)
        json_array_append_new(a, json_real(v[i]));
    return a;
}

static void create_index(fixture *f, const char *name, int dim, const char *metric,
                         const char *kind)
{
    json_t *req = json_pack("{s:s, s:i}", "index", name, "dimension", dim);
    if (metric)
        json_object_set_new(req, "metric", json_string(metric));
    if (kind)
        json_object_set_new(req, "kind", json_string(kind));
    json_decref(lh_test_ok(lh_test_call_j(f->nc, &lh_ep_vector_create, req)));
}

/* Upserts one item; metadata is a JSON text or NULL. */
static void put(fixture *f, const char *index, const char *id, const float *v, size_t d,
                const char *metadata, const char *text)
{
    json_t *item = json_pack("{s:s, s:o}", "id", id, "vector", fvec(v, d));
    if (metadata)
        json_object_set_new(item, "metadata", json_loads(metadata, 0, NULL));
    if (text)
        json_object_set_new(item, "text", json_string(text));
    json_t *req = json_pack("{s:s, s:[o]}", "index", index, "items", item);
    json_decref(lh_test_ok(lh_test_call_j(f->nc, &lh_ep_vector_upsert, req)));
}

static json_t *search(fixture *f, const char *index, const float *q, size_t d, int k,
                      const char *filter)
{
    json_t *req = json_pack("{s:s, s:o, s:i}", "index", index, "vector", fvec(q, d), "k", k);
    if (filter)
        json_object_set_new(req, "filter", json_loads(filter, 0, NULL));
    return lh_test_ok(lh_test_call_j(f->nc, &lh_ep_vector_search, req));
}

static json_t *hits_of(json_t *rep) { return json_object_get(rep, "hits"); }

static const char *hit_id(json_t *hits, size_t i)
{
    return json_string_value(json_object_get(json_array_get(hits, i), "id"));
}

static double hit_score(json_t *hits, size_t i)
{
    return json_number_value(json_object_get(json_array_get(hits, i), "score"));
}

static json_t *stats(fixture *f, const char *index)
{
    char body[256];
    snprintf(body, sizeof body, "{\"index\":\"%s\"}", index);
    return lh_test_ok(lh_test_call_s(f->nc, &lh_ep_vector_stats, body));
}

static long long stat_int(fixture *f, const char *index, const char *key)
{
    json_t *s = stats(f, index);
    long long v = json_integer_value(json_object_get(s, key));
    json_decref(s);
    return v;
}

/* ---- deterministic data ---- */

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) / 9007199254740992.0; }

static float rng_gauss(uint64_t *s)
{
    double u = rng_unit(s), v = rng_unit(s);
    return (float)(sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v));
}

static void normalize(float *v, size_t d)
{
    double ss = 0;
    for (size_t i = 0; i < d; i++)
        ss += (double)v[i] * v[i];
    for (size_t i = 0; i < d; i++)
        v[i] = (float)(v[i] / sqrt(ss));
}

/* A basis-ish vector for small tests: item i of dimension d. */
static void small_vec(size_t i, size_t d, float *out)
{
    uint64_t s = 0x9e3779b97f4a7c15ull * (i + 1);
    for (size_t j = 0; j < d; j++)
        out[j] = rng_gauss(&s);
}

/* Upserts n items "<prefix><i>" (small_vec) in batches, metadata {"i": i, "even": bool}. */
static void put_many(fixture *f, const char *index, const char *prefix, size_t from, size_t n,
                     size_t d)
{
    json_t *items = json_array();
    float v[64];
    for (size_t i = from; i < from + n; i++) {
        char id[64];
        snprintf(id, sizeof id, "%s%zu", prefix, i);
        small_vec(i, d, v);
        json_array_append_new(items, json_pack("{s:s, s:o, s:{s:i, s:b}}", "id", id, "vector",
                                               fvec(v, d), "metadata", "i", (int)i, "even",
                                               i % 2 == 0));
    }
    json_decref(lh_test_ok(lh_test_call_j(
        f->nc, &lh_ep_vector_upsert, json_pack("{s:s, s:o}", "index", index, "items", items))));
}

/* ---- lifecycle ---- */

static void test_create_list_stats_drop(void **state)
{
    fixture *f = *state;
    create_index(f, "alpha", 4, NULL, NULL);
    create_index(f, "beta.v2", 8, "l2", "flat");
    json_t *s = stats(f, "alpha");
    assert_string_equal(json_string_value(json_object_get(s, "metric")), "cosine");
    assert_string_equal(json_string_value(json_object_get(s, "kind")), "hnsw");
    assert_int_equal(json_integer_value(json_object_get(s, "m")), 32);
    assert_int_equal(json_integer_value(json_object_get(s, "ef_construction")), 200);
    assert_int_equal(json_integer_value(json_object_get(s, "ef_search")), 64);
    assert_int_equal(json_integer_value(json_object_get(s, "count")), 0);
    assert_int_equal(json_integer_value(json_object_get(s, "dimension")), 4);
    json_decref(s);

    json_t *l = lh_test_ok(lh_test_call_s(f->nc, &lh_ep_vector_list, "{}"));
    json_t *idx = json_object_get(l, "indexes");
    assert_int_equal(json_array_size(idx), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(idx, 0), "index")), "alpha");
    json_t *b = json_array_get(idx, 1);
    assert_string_equal(json_string_value(json_object_get(b, "index")), "beta.v2");
    assert_string_equal(json_string_value(json_object_get(b, "metric")), "l2");
    assert_string_equal(json_string_value(json_object_get(b, "kind")), "flat");
    json_decref(l);

    lh_test_expect(
        lh_test_call_s(f->nc, &lh_ep_vector_create, "{\"index\":\"alpha\",\"dimension\":4}"), 409,
        "index", "already exists");
    lh_test_expect(
        lh_test_call_s(f->nc, &lh_ep_vector_create, "{\"index\":\"bad/name\",\"dimension\":4}"),
        400, "index", "letters, digits");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_vector_create, "{\"index\":\"\",\"dimension\":4}"),
                   400, "index", NULL);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_vector_create, "{\"index\":\"x\",\"dimension\":0}"),
                   400, "dimension", NULL);
    lh_test_expect(
        lh_test_call_s(f->nc, &lh_ep_vector_create, "{\"index\":\"x\",\"dimension\":4097}"), 400,
        "dimension", NULL);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_vector_create,
                                  "{\"index\":\"x\",\"dimension\":4,\"metric\":\"dot\"}"),
                   400, "metric", "cosine|l2|ip");

    json_t *d = lh_test_ok(lh_test_call_s(f->nc, &lh_ep_vector_drop, "{\"index\":\"alpha\"}"));
    assert_int_equal(json_integer_value(json_object_get(d, "dropped")), 0);
    json_decref(d);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_vector_stats, "{\"index\":\"alpha\"}"), 404,
                   "index", "no index named");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_vector_drop, "{\"index\":\"alpha\"}"), 404, "index",
                   NULL);
    l = lh_test_ok(lh_test_call_s(f->nc, &lh_ep_vector_list, "{}"));
    assert_int_equal(json_array_size(json_object_get(l, "indexes")), 1);
    json_decref(l);
    /* The name is free again, and the new index starts empty. */
    create_index(f, "alpha", 4, NULL, NULL);
    assert_int_equal(stat_int(f, "alpha", "count"), 0);
}

static void test_drop_removes_items_for_good(void **state)
{
    fixture *f = *state;
    create_index(f, "gone", 8, NULL, NULL);
    put_many(f, "gone", "g", 0, 20, 8);
    json_t *d = lh_test_ok(lh_test_call_s(f->nc, &lh_ep_vector_drop, "{\"index\":\"gone\"}"));
    assert_int_equal(json_integer_value(json_object_get(d, "dropped")), 20);
    json_decref(d);
    create_index(f, "gone", 8, NULL, NULL);
    restart_vectord(f);
    assert_int_equal(stat_int(f, "gone", "count"), 0);
}

/* ---- scores per metric ---- */

static void test_scores_per_metric(void **state)
{
    fixture *f = *state;
    const float a[4] = {1, 0, 0, 0}, b[4] = {1, 1, 0, 0}, c[4] = {0, 0, 3, 4};
    const char *metrics[] = {"cosine", "ip", "l2"};
    const char *kinds[] = {"hnsw", "flat"};
    for (size_t k = 0; k < 2; k++) {
        for (size_t m = 0; m < 3; m++) {
            char name[32];
            snprintf(name, sizeof name, "%s-%s", metrics[m], kinds[k]);
            create_index(f, name, 4, metrics[m], kinds[k]);
            put(f, name, "a", a, 4, NULL, NULL);
            put(f, name, "b", b, 4, NULL, NULL);
            put(f, name, "c", c, 4, NULL, NULL);
            const float q[4] = {2, 0, 0, 0};
            json_t *rep = search(f, name, q, 4, 3, NULL);
            json_t *hits = hits_of(rep);
            assert_int_equal(json_array_size(hits), 3);
            assert_string_equal(hit_id(hits, 2), "c");
            if (m == 0) { /* cosine similarity */
                assert_string_equal(hit_id(hits, 0), "a");
                assert_true(fabs(hit_score(hits, 0) - 1.0) < 1e-5);
                assert_true(fabs(hit_score(hits, 1) - sqrt(0.5)) < 1e-5);
                assert_true(fabs(hit_score(hits, 2) - 0.0) < 1e-5);
            } else if (m == 1) { /* inner product: a and b tie at 2 */
                assert_true(fabs(hit_score(hits, 0) - 2.0) < 1e-5);
                assert_true(fabs(hit_score(hits, 1) - 2.0) < 1e-5);
                assert_true(fabs(hit_score(hits, 2) - 0.0) < 1e-5);
            } else { /* Euclidean distance, not squared */
                assert_string_equal(hit_id(hits, 0), "a");
                assert_true(fabs(hit_score(hits, 0) - 1.0) < 1e-5);
                assert_true(fabs(hit_score(hits, 1) - sqrt(2.0)) < 1e-5);
                assert_true(fabs(hit_score(hits, 2) - sqrt(29.0)) < 1e-5);
            }
            json_decref(rep);
        }
    }
}

static void test_ip_orders_by_inner_product(void **state)
{
    fixture *f = *state;
    create_index(f, "ip", 2, "ip", NULL);
    const float small[2] = {1, 0}, big[2] = {5, 1}, neg[2] = {-3, 0};
    put(f, "ip", "small", small, 2, NULL, NULL);
    put(f, "ip", "big", big, 2, NULL, NULL);
    put(f, "ip", "neg", neg, 2, NULL, NULL);
    const float q[2] = {1, 0};
    json_t *rep = search(f, "ip", q, 2, 3, NULL);
    json_t *hits = hits_of(rep);
    assert_string_equal(hit_id(hits, 0), "big");
    assert_true(fabs(hit_score(hits, 0) - 5.0) < 1e-5);
    assert_string_equal(hit_id(hits, 1), "small");
    assert_string_equal(hit_id(hits, 2), "neg");
    assert_true(fabs(hit_score(hits, 2) + 3.0) < 1e-5);
    json_decref(rep);
}

/* ---- items ---- */

static void test_replace_by_id(void **state)
{
    fixture *f = *state;
    create_index(f, "r", 4, NULL, NULL);
    const float a[4] = {1, 0, 0, 0}, b[4] = {0, 1, 0, 0};
    put(f, "r", "x", a, 4, "{\"v\":1}", "first");
    json_t *rep = lh_test_ok(
        lh_test_call_j(f->nc, &lh_ep_vector_upsert,
                       json_pack("{s:s, s:[{s:s, s:o, s:{s:i}, s:s}]}", "index", "r", "items", "id",
                                 "x", "vector", fvec(b, 4), "metadata", "v", 2, "text", "second")));
    assert_int_equal(json_integer_value(json_object_get(rep, "upserted")), 1);
    assert_int_equal(json_integer_value(json_object_get(rep, "replaced")), 1);
    assert_int_equal(json_integer_value(json_object_get(rep, "count")), 1);
    json_decref(rep);
    rep = search(f, "r", a, 4, 10, NULL);
    json_t *hits = hits_of(rep);
    assert_int_equal(json_array_size(hits), 1);
    json_t *h = json_array_get(hits, 0);
    assert_string_equal(json_string_value(json_object_get(h, "id")), "x");
    assert_true(fabs(json_number_value(json_object_get(h, "score"))) < 1e-5); /* b is orthogonal */
    assert_int_equal(json_integer_value(json_object_get(json_object_get(h, "metadata"), "v")), 2);
    assert_string_equal(json_string_value(json_object_get(h, "text")), "second");
    json_decref(rep);
    assert_int_equal(stat_int(f, "r", "count"), 1);
    assert_int_equal(stat_int(f, "r", "deleted"), 1);
}

static void test_same_id_twice_in_one_batch_keeps_the_last(void **state)
{
    fixture *f = *state;
    create_index(f, "twice", 2, "l2", NULL);
    json_t *rep =
        lh_test_ok(lh_test_call_s(f->nc, &lh_ep_vector_upsert,
                                  "{\"index\":\"twice\",\"items\":[{\"id\":\"d\",\"vector\":[1,1]},"
                                  "{\"id\":\"d\",\"vector\":[5,5]}]}"));
    assert_int_equal(json_integer_value(json_object_get(rep, "count")), 1);
    json_decref(rep);
    const float q[2] = {5, 5};
    rep = search(f, "twice", q, 2, 5, NULL);
    assert_int_equal(json_array_size(hits_of(rep)), 1);
    assert_true(hit_score(hits_of(rep), 0) < 1e-5);
    json_decref(rep);
    restart_vectord(f);
    rep = search(f, "twice", q, 2, 5, NULL);
    assert_int_equal(json_array_size(hits_of(rep)), 1);
    assert_true(hit_score(hits_of(rep), 0) < 1e-5);
    json_decref(rep);
}

static void test_delete(void **state)
{
    fixture *f = *state;
    create_index(f, "del", 8, NULL, NULL);
    put_many(f, "del", "d", 0, 3, 8);
    json_t *rep = lh_test_ok(
        lh_test_call_s(f->nc, &lh_ep_vector_delete, "{\"index\":\"del\",\"ids\":[\"d1\",\"zz\"]}"));
    assert_int_equal(json_integer_value(json_object_get(rep, "deleted")), 1);
    assert_int_equal(json_integer_value(json_object_get(rep, "not_found")), 1);
    assert_int_equal(json_integer_value(json_object_get(rep, "count")), 2);
    json_decref(rep);
    float v[8];
    small_vec(1, 8, v);
    rep = search(f, "del", v, 8, 10, NULL);
    json_t *hits = hits_of(rep);
    assert_int_equal(json_array_size(hits), 2);
    for (size_t i = 0; i < 2; i++)
        assert_string_not_equal(hit_id(hits, i), "d1");
    json_decref(rep);
    lh_test_expect(
        lh_test_call_s(f->nc, &lh_ep_vector_delete, "{\"index\":\"nope\",\"ids\":[\"a\"]}"), 404,
        "index", NULL);
    lh_test_expect(
        lh_test_call_s(f->nc, &lh_ep_vector_delete, "{\"index\":\"del\",\"ids\":[\"\"]}"), 400,
        "ids[0]", NULL);
}

/* ---- filters ---- */

static void test_filter_returns_k_when_k_match(void **state)
{
    fixture *f = *state;
    create_index(f, "filt", 16, NULL, NULL);
    json_t *items = json_array();
    float v[16];
    for (int i = 0; i < 600; i++) {
        char id[16];
        snprintf(id, sizeof id, "f%d", i);
        small_vec((size_t)i, 16, v);
        json_array_append_new(items, json_pack("{s:s, s:o, s:{s:s, s:i, s:b}}", "id", id,
                                               "vector", fvec(v, 16), "metadata", "color",
                                               i % 50 == 0 ? "red" : "blue", "n", i, "flag",
                                               i % 100 == 0));
    }
    json_decref(lh_test_ok(lh_test_call_j(
        f->nc, &lh_ep_vector_upsert, json_pack("{s:s, s:o}", "index", "filt", "items", items))));
    /* 12 red items among 600: a selective filter still fills k. */
    small_vec(7, 16, v);
    json_t *rep = search(f, "filt", v, 16, 10, "{\"color\":\"red\"}");
    json_t *hits = hits_of(rep);
    assert_int_equal(json_array_size(hits), 10);
    for (size_t i = 0; i < 10; i++) {
        json_t *meta = json_object_get(json_array_get(hits, i), "metadata");
        assert_string_equal(json_string_value(json_object_get(meta, "color")), "red");
    }
    json_decref(rep);
    rep = search(f, "filt", v, 16, 20, "{\"color\":\"red\"}");
    assert_int_equal(json_array_size(hits_of(rep)), 12);
    json_decref(rep);
    /* All terms must hold; numbers compare by value (40.0 == 40). */
    rep = search(f, "filt", v, 16, 10, "{\"color\":\"blue\",\"n\":41.0}");
    assert_int_equal(json_array_size(hits_of(rep)), 1);
    assert_string_equal(hit_id(hits_of(rep), 0), "f41");
    json_decref(rep);
    rep = search(f, "filt", v, 16, 10, "{\"color\":\"red\",\"n\":41}");
    assert_int_equal(json_array_size(hits_of(rep)), 0);
    json_decref(rep);
    rep = search(f, "filt", v, 16, 10, "{\"flag\":true}");
    assert_int_equal(json_array_size(hits_of(rep)), 6);
    json_decref(rep);
    rep = search(f, "filt", v, 16, 10, "{\"missing\":\"x\"}");
    assert_int_equal(json_array_size(hits_of(rep)), 0);
    json_decref(rep);
    /* Deleting reds: the rest still come back, k of them when k remain. */
    json_decref(lh_test_ok(lh_test_call_s(
        f->nc, &lh_ep_vector_delete, "{\"index\":\"filt\",\"ids\":[\"f0\",\"f50\",\"f100\"]}")));
    rep = search(f, "filt", v, 16, 9, "{\"color\":\"red\"}");
    hits = hits_of(rep);
    assert_int_equal(json_array_size(hits), 9);
    for (size_t i = 0; i < 9; i++) {
        assert_string_not_equal(hit_id(hits, i), "f0");
        assert_string_not_equal(hit_id(hits, i), "f50");
    }
    json_decref(rep);
    /* An empty filter is no filter. */
    rep = search(f, "filt", v, 16, 5, "{}");
    assert_int_equal(json_array_size(hits_of(rep)), 5);
    json_decref(rep);
}

/* ---- batch, vectors, text ---- */

static void test_batch_search(void **state)
{
    fixture *f = *state;
    create_index(f, "batch", 8, "l2", NULL);
    put_many(f, "batch", "b", 0, 50, 8);
    json_t *rows = json_array();
    float v[8];
    size_t want[3] = {3, 17, 42};
    for (size_t i = 0; i < 3; i++) {
        small_vec(want[i], 8, v);
        json_array_append_new(rows, fvec(v, 8));
    }
    json_t *rep = lh_test_ok(
        lh_test_call_j(f->nc, &lh_ep_vector_search,
                       json_pack("{s:s, s:o, s:i}", "index", "batch", "vectors", rows, "k", 4)));
    json_t *results = json_object_get(rep, "results");
    assert_int_equal(json_array_size(results), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *hits = json_object_get(json_array_get(results, i), "hits");
        assert_int_equal(json_array_size(hits), 4);
        char id[16];
        snprintf(id, sizeof id, "b%zu", want[i]);
        assert_string_equal(hit_id(hits, 0), id);
        assert_true(hit_score(hits, 0) < 1e-4);
        assert_true(hit_score(hits, 1) >= hit_score(hits, 0));
    }
    assert_int_equal(json_array_size(json_object_get(rep, "hits")), 0);
    json_decref(rep);
}

static void test_include_vectors(void **state)
{
    fixture *f = *state;
    create_index(f, "cos", 3, NULL, NULL);
    create_index(f, "euc", 3, "l2", NULL);
    const float v[3] = {3, 0, 4};
    put(f, "cos", "v", v, 3, NULL, NULL);
    put(f, "euc", "v", v, 3, NULL, NULL);
    json_t *rep = lh_test_ok(
        lh_test_call_s(f->nc, &lh_ep_vector_search,
                       "{\"index\":\"cos\",\"vector\":[3,0,4],\"include_vectors\":true}"));
    json_t *vec = json_object_get(json_array_get(hits_of(rep), 0), "vector");
    assert_int_equal(json_array_size(vec), 3); /* cosine keeps the unit vector */
    assert_true(fabs(json_number_value(json_array_get(vec, 0)) - 0.6) < 1e-6);
    assert_true(fabs(json_number_value(json_array_get(vec, 2)) - 0.8) < 1e-6);
    json_decref(rep);
    rep = lh_test_ok(
        lh_test_call_s(f->nc, &lh_ep_vector_search,
                       "{\"index\":\"euc\",\"vector\":[3,0,4],\"include_vectors\":true}"));
    vec = json_object_get(json_array_get(hits_of(rep), 0), "vector");
    assert_int_equal(json_array_size(vec), 3);
    assert_true(fabs(json_number_value(json_array_get(vec, 0)) - 3.0) < 1e-6);
    assert_true(fabs(json_number_value(json_array_get(vec, 2)) - 4.0) < 1e-6);
    json_decref(rep);
    rep = lh_test_ok(
        lh_test_call_s(f->nc, &lh_ep_vector_search, "{\"index\":\"euc\",\"vector\":[3,0,4]}"));
    vec = json_object_get(json_array_get(hits_of(rep), 0), "vector");
    assert_true(vec == NULL || json_array_size(vec) == 0);
    json_decref(rep);
}

static void test_text_search_asks_embedd(void **state)
{
    fixture *f = *state;
    lh_test_stack_add(f, &lh_embed_actor, 1);
    create_index(f, "docs", 384, NULL, NULL);
    const char *texts[] = {"the cat sat on the mat", "stock markets fell sharply today",
                           "a recipe for sourdough bread"};
    json_t *emb = lh_test_ok(lh_test_call_s(
        f->nc, &lh_ep_embed_request,
        "{\"texts\":[\"the cat sat on the mat\",\"stock markets fell sharply today\","
        "\"a recipe for sourdough bread\"]}"));
    json_t *vectors = json_object_get(emb, "vectors");
    json_t *items = json_array();
    for (size_t i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof id, "t%zu", i);
        json_array_append_new(items, json_pack("{s:s, s:O, s:s}", "id", id, "vector",
                                               json_array_get(vectors, i), "text", texts[i]));
    }
    json_decref(emb);
    json_decref(lh_test_ok(lh_test_call_j(
        f->nc, &lh_ep_vector_upsert, json_pack("{s:s, s:o}", "index", "docs", "items", items))));
    json_t *rep = lh_test_ok(lh_test_call_s(
        f->nc, &lh_ep_vector_search,
        "{\"index\":\"docs\",\"text\":\"stock markets fell sharply today\",\"k\":2}"));
    json_t *hits = hits_of(rep);
    assert_string_equal(hit_id(hits, 0), "t1");
    assert_true(fabs(hit_score(hits, 0) - 1.0) < 1e-4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(hits, 0), "text")),
                        texts[1]);
    json_decref(rep);
    create_index(f, "small", 4, NULL, NULL);
    lh_test_expect(
        lh_test_call_s(f->nc, &lh_ep_vector_search, "{\"index\":\"small\",\"text\":\"hello\"}"),
        422, "text", "dimension");
    lh_test_stack_drop(f, &lh_embed_actor);
    lh_test_expect(
        lh_test_call_s(f->nc, &lh_ep_vector_search, "{\"index\":\"docs\",\"text\":\"hello\"}"), 503,
        NULL, "embed");
}

/* Upserts texts[i] as "<prefix><i>" with vectors embedd made with `model`. */
static void put_embedded(fixture *f, const char *index, const char *model,
                         const char *const *texts, size_t n, const char *prefix)
{
    json_t *req = json_pack("{s:[], s:s}", "texts", "model", model);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(json_object_get(req, "texts"), json_string(texts[i]));
    json_t *emb = lh_test_ok(lh_test_call_j(f->nc, &lh_ep_embed_request, req));
    assert_string_equal(json_string_value(json_object_get(emb, "model")), model);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "%s%zu", prefix, i);
        json_array_append_new(items, json_pack("{s:s, s:O, s:s}", "id", id, "vector",
                                               json_array_get(json_object_get(emb, "vectors"), i),
                                               "text", texts[i]));
    }
    json_decref(emb);
    json_decref(lh_test_ok(lh_test_call_j(
        f->nc, &lh_ep_vector_upsert, json_pack("{s:s, s:o}", "index", index, "items", items))));
}

static json_t *search_text(fixture *f, const char *index, const char *text)
{
    return lh_test_ok(lh_test_call_j(
        f->nc, &lh_ep_vector_search,
        json_pack("{s:s, s:s, s:i}", "index", index, "text", text, "k", 3)));
}

/* An index made with hash-384 keeps answering text queries with hash-384
 * while embedd's default is hash2-384, across a restart too; an index
 * that recorded no model gets the default's vectors for its queries. */
static void test_text_search_uses_the_recorded_model(void **state)
{
    fixture *f = *state;
    lh_test_stack_add(f, &lh_embed_actor, 1);
    const char *texts[] = {"list directory contents", "copy files and directories",
                           "report file system disk space usage", "print the current date"};
    size_t n = sizeof texts / sizeof texts[0];
    json_t *created = lh_test_ok(lh_test_call_s(
        f->nc, &lh_ep_vector_create,
        "{\"index\":\"old\",\"dimension\":384,\"model\":\"hash-384\"}"));
    assert_string_equal(json_string_value(json_object_get(created, "model")), "hash-384");
    json_decref(created);
    create_index(f, "unrecorded", 384, NULL, NULL);
    put_embedded(f, "old", "hash-384", texts, n, "o");
    put_embedded(f, "unrecorded", "hash-384", texts, n, "u");
    for (int round = 0; round < 2; round++) {
        json_t *s = stats(f, "old");
        assert_string_equal(json_string_value(json_object_get(s, "model")), "hash-384");
        json_decref(s);
        s = stats(f, "unrecorded");
        assert_null(json_object_get(s, "model"));
        json_decref(s);
        json_t *l = lh_test_ok(lh_test_call_s(f->nc, &lh_ep_vector_list, "{}"));
        json_t *first = json_array_get(json_object_get(l, "indexes"), 0);
        assert_string_equal(json_string_value(json_object_get(first, "index")), "old");
        assert_string_equal(json_string_value(json_object_get(first, "model")), "hash-384");
        json_decref(l);
        for (size_t i = 0; i < n; i++) {
            json_t *rep = search_text(f, "old", texts[i]);
            char id[32];
            snprintf(id, sizeof id, "o%zu", i);
            assert_string_equal(hit_id(hits_of(rep), 0), id);
            /* the very vector it was stored with: the query used hash-384 */
            assert_true(fabs(hit_score(hits_of(rep), 0) - 1.0) < 1e-4);
            json_decref(rep);
            rep = search_text(f, "unrecorded", texts[i]);
            assert_true(hit_score(hits_of(rep), 0) < 0.9); /* hash2's query vector */
            json_decref(rep);
        }
        restart_vectord(f);
    }
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_vector_create,
                                  "{\"index\":\"m\",\"dimension\":4,\"model\":7}"),
                   400, "model", NULL);
}

/* ---- bad input ---- */

/* The reference state the bad-input test keeps checking. */
static void assert_unchanged(fixture *f)
{
    json_t *s = stats(f, "keep");
    assert_int_equal(json_integer_value(json_object_get(s, "count")), 3);
    assert_int_equal(json_integer_value(json_object_get(s, "deleted")), 0);
    json_decref(s);
    float v[4];
    small_vec(1, 4, v);
    json_t *rep = search(f, "keep", v, 4, 10, NULL);
    json_t *hits = hits_of(rep);
    assert_int_equal(json_array_size(hits), 3);
    assert_string_equal(hit_id(hits, 0), "k1");
    json_decref(rep);
}

/* An upsert with one float set to `bad` (msgpack float64), as clients
 * other than JSON can send. */
static reply upsert_with_float(fixture *f, double bad)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "index", 5);
    msgpack_pack_str_with_body(&pk, "keep", 4);
    msgpack_pack_str_with_body(&pk, "items", 5);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_str_with_body(&pk, "k9", 2);
    msgpack_pack_str_with_body(&pk, "vector", 6);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_double(&pk, 1.0);
    msgpack_pack_double(&pk, bad);
    msgpack_pack_double(&pk, 1.0);
    msgpack_pack_double(&pk, 1.0);
    reply r = lh_test_call(f->nc, &lh_ep_vector_upsert, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return r;
}

static char *oversize_upsert(size_t n)
{
    lh_buf b;
    lh_buf_init(&b);
    lh_buf_append_str(&b, "{\"index\":\"keep\",\"items\":[");
    for (size_t i = 0; i < n; i++)
        lh_buf_appendf(&b, "%s{\"id\":\"o%zu\",\"vector\":[1,2,3,4]}", i ? "," : "", i);
    lh_buf_append_str(&b, "]}");
    char *s = strndup(b.data, b.len);
    lh_buf_free(&b);
    return s;
}

static char *oversize_delete(size_t n)
{
    lh_buf b;
    lh_buf_init(&b);
    lh_buf_append_str(&b, "{\"index\":\"keep\",\"ids\":[");
    for (size_t i = 0; i < n; i++)
        lh_buf_appendf(&b, "%s\"k%zu\"", i ? "," : "", i);
    lh_buf_append_str(&b, "]}");
    char *s = strndup(b.data, b.len);
    lh_buf_free(&b);
    return s;
}

typedef struct bad_case {
    const lh_contract *contract;
    const char *body;
    int code;
    const char *field;
    const char *words;
} bad_case;

static const bad_case BAD[] = {
    {&lh_ep_vector_upsert, "{\"index\":\"nope\",\"items\":[{\"id\":\"a\",\"vector\":[1,2,3,4]}]}",
     404, "index", "no index named 'nope'"},
    {&lh_ep_vector_search, "{\"index\":\"nope\",\"vector\":[1,2,3,4]}", 404, "index", NULL},
    {&lh_ep_vector_stats, "{\"index\":\"nope\"}", 404, "index", NULL},
    {&lh_ep_vector_create, "{\"index\":\"keep\",\"dimension\":4}", 409, "index", "already exists"},
    {&lh_ep_vector_upsert,
     "{\"index\":\"keep\",\"items\":[{\"id\":\"n1\",\"vector\":[1,2,3,4]},"
     "{\"id\":\"n2\",\"vector\":[1,2,3]}]}",
     400, "items[1].vector", "items[1].vector"},
    {&lh_ep_vector_upsert, "{\"index\":\"keep\",\"items\":[{\"id\":\"\",\"vector\":[1,2,3,4]}]}",
     400, "items[0].id", NULL},
    {&lh_ep_vector_upsert, "{\"index\":\"keep\",\"items\":[{\"id\":\"  \",\"vector\":[1,2,3,4]}]}",
     400, "items[0].id", NULL},
    {&lh_ep_vector_upsert, "{\"index\":\"keep\",\"items\":[{\"vector\":[1,2,3,4]}]}", 400,
     "items[0].id", "missing"},
    {&lh_ep_vector_upsert, "{\"index\":\"keep\",\"items\":[{\"id\":\"z\",\"vector\":[0,0,0,0]}]}",
     400, "items[0].vector", "all zeros"},
    {&lh_ep_vector_upsert,
     "{\"index\":\"keep\",\"items\":[{\"id\":\"z\",\"vector\":[1,1,1,1],\"metadata\":[1,2]}]}", 400,
     "items[0].metadata", "map"},
    {&lh_ep_vector_upsert,
     "{\"index\":\"keep\",\"items\":[{\"id\":\"z\",\"vector\":[1,\"x\",1,1]}]}", 400,
     "items[0].vector", NULL},
    {&lh_ep_vector_upsert, "{\"index\":\"keep\",\"items\":[]}", 400, "items", NULL},
    {&lh_ep_vector_search, "{\"index\":\"keep\",\"vector\":[1,2,3,4],\"k\":0}", 400, "k", NULL},
    {&lh_ep_vector_search, "{\"index\":\"keep\",\"vector\":[1,2,3,4],\"k\":1001}", 400, "k", NULL},
    {&lh_ep_vector_search, "{\"index\":\"keep\",\"vector\":[1,2,3,4],\"filter\":\"red\"}", 400,
     "filter", "malformed filter"},
    {&lh_ep_vector_search, "{\"index\":\"keep\",\"vector\":[1,2,3,4],\"filter\":{\"a\":[1]}}", 400,
     "filter", "malformed filter"},
    {&lh_ep_vector_search, "{\"index\":\"keep\",\"vector\":[1,2,3,4],\"filter\":{\"a\":{\"b\":1}}}",
     400, "filter", "malformed filter"},
    {&lh_ep_vector_search, "{\"index\":\"keep\",\"vector\":[1,2,3,4],\"filter\":{\"a\":null}}", 400,
     "filter", "malformed filter"},
    {&lh_ep_vector_search, "{\"index\":\"keep\",\"vector\":[1,2,3]}", 400, "vector", "dimension 4"},
    {&lh_ep_vector_search, "{\"index\":\"keep\",\"vector\":[0,0,0,0]}", 400, "vector", "all zeros"},
    {&lh_ep_vector_search, "{\"index\":\"keep\",\"vectors\":[[1,2,3],[1,2,3]]}", 400, "vectors",
     "dimension 4"},
    {&lh_ep_vector_search, "{\"index\":\"keep\",\"vectors\":[[1,2,3,4],[0,0,0,0]]}", 400,
     "vectors[1]", "all zeros"},
    {&lh_ep_vector_search, "{\"index\":\"keep\"}", 400, NULL, "exactly one of"},
    {&lh_ep_vector_search, "{\"index\":\"keep\",\"vector\":[1,2,3,4],\"vectors\":[[1,2,3,4]]}", 400,
     NULL, "exactly one of"},
    {&lh_ep_vector_search, "{\"index\":\"keep\",\"vector\":[1,2,3,4],\"ef_search\":0}", 400,
     "ef_search", NULL},
    {&lh_ep_vector_search, "{\"index\":\"keep\",\"vector\":[1,2,3,4],\"bogus\":1}", 400, "bogus",
     "unknown field"},
    {&lh_ep_vector_delete, "{\"index\":\"keep\",\"ids\":[]}", 400, "ids", NULL},
    {&lh_ep_vector_stats,
     "{\"index\":\"a-name-that-is-much-longer-than-the-sixty-four-bytes-an-index-name-may-be\"}",
     400, "index", "1 to 64 bytes"},
    {&lh_ep_vector_upsert, "{\"index\":\"kéép\",\"items\":[{\"id\":\"a\",\"vector\":[1,2,3,4]}]}",
     400, "index", "letters, digits"},
};

static void test_bad_input_is_refused_and_changes_nothing(void **state)
{
    fixture *f = *state;
    create_index(f, "keep", 4, NULL, NULL);
    put_many(f, "keep", "k", 0, 3, 4);
    assert_unchanged(f);
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        lh_test_expect(lh_test_call_s(f->nc, BAD[i].contract, BAD[i].body), BAD[i].code,
                       BAD[i].field, BAD[i].words);
        assert_unchanged(f);
    }
    lh_test_expect(upsert_with_float(f, NAN), 400, "items[0].vector", "finite");
    assert_unchanged(f);
    lh_test_expect(upsert_with_float(f, INFINITY), 400, "items[0].vector", "finite");
    assert_unchanged(f);
    char *big = oversize_upsert(10001);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_vector_upsert, big), 413, "items", "10000");
    free(big);
    assert_unchanged(f);
    /* 101 queries x k 1000 would be a reply bigger than a bus message. */
    lh_buf b;
    lh_buf_init(&b);
    lh_buf_append_str(&b, "{\"index\":\"keep\",\"k\":1000,\"vectors\":[");
    for (int i = 0; i < 101; i++)
        lh_buf_appendf(&b, "%s[1,2,3,4]", i ? "," : "");
    lh_buf_append_str(&b, "]}");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_vector_search, lh_buf_cstr(&b)), 413, "k",
                   "100000");
    lh_buf_free(&b);
    assert_unchanged(f);
    big = oversize_delete(10001);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_vector_delete, big), 413, "ids", "10000");
    free(big);
    assert_unchanged(f);
    /* The refused requests left nothing behind after a restart either. */
    restart_vectord(f);
    assert_unchanged(f);
}

/* ---- persistence ---- */

static void assert_item(fixture *f, const char *index, size_t i, size_t d, bool present)
{
    float v[64];
    small_vec(i, d, v);
    char want[32];
    snprintf(want, sizeof want, "p%zu", i);
    json_t *rep = search(f, index, v, d, 1, NULL);
    json_t *hits = hits_of(rep);
    if (present) {
        assert_int_equal(json_array_size(hits), 1);
        assert_string_equal(hit_id(hits, 0), want);
        assert_true(hit_score(hits, 0) > 0.9999);
    } else {
        assert_true(json_array_size(hits) == 0 || strcmp(hit_id(hits, 0), want) != 0 ||
                    hit_score(hits, 0) < 0.9999);
    }
    json_decref(rep);
}

/* After: p0..p199 upserted, p10..p19 deleted, p5 replaced by the vector of 1005. */
static void write_reference(fixture *f, const char *index, size_t d)
{
    create_index(f, index, (int)d, NULL, NULL);
    put_many(f, index, "p", 0, 200, d);
    json_decref(lh_test_ok(
        lh_test_call_s(f->nc, &lh_ep_vector_delete,
                       "{\"index\":\"pers\",\"ids\":[\"p10\",\"p11\",\"p12\",\"p13\",\"p14\","
                       "\"p15\",\"p16\",\"p17\",\"p18\",\"p19\"]}")));
    float v[64];
    small_vec(1005, d, v);
    put(f, index, "p5", v, d, "{\"replaced\":true}", NULL);
}

static void assert_reference(fixture *f, const char *index, size_t d)
{
    assert_int_equal(stat_int(f, index, "count"), 190);
    for (size_t i = 0; i < 200; i++)
        assert_item(f, index, i, d, i != 5 && (i < 10 || i >= 20));
    float v[64];
    small_vec(1005, d, v);
    json_t *rep = search(f, index, v, d, 1, NULL);
    assert_string_equal(hit_id(hits_of(rep), 0), "p5");
    json_t *meta = json_object_get(json_array_get(hits_of(rep), 0), "metadata");
    assert_true(json_is_true(json_object_get(meta, "replaced")));
    json_decref(rep);
}

static bool file_exists(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/vectord/%s", dir, name);
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_persists_across_clean_restart(void **state)
{
    fixture *f = *state;
    write_reference(f, "pers", 16);
    assert_reference(f, "pers", 16);
    restart_vectord(f);
    assert_true(file_exists(f->data_dir, "pers.faiss"));
    assert_true(file_exists(f->data_dir, "pers.labels"));
    assert_reference(f, "pers", 16);
    restart_vectord(f); /* from the snapshot this time, with nothing after it */
    assert_reference(f, "pers", 16);
    json_t *s = stats(f, "pers");
    assert_true(json_integer_value(json_object_get(s, "bytes_on_disk")) > 0);
    assert_true(json_integer_value(json_object_get(s, "bytes_in_memory")) > 0);
    json_decref(s);
}

static void vdir_path(fixture *f, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/vectord/%s", f->data_dir, name);
}

static void copy_file(const char *from, const char *to)
{
    size_t len = 0;
    char *data = lh_test_read_file(from, &len);
    assert_non_null(data);
    FILE *fp = fopen(to, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
    free(data);
}

/* Flips bytes in the middle of a file. */
static void damage_file(const char *path)
{
    size_t len = 0;
    char *data = lh_test_read_file(path, &len);
    assert_non_null(data);
    assert_true(len > 64);
    for (size_t i = len / 2; i < len / 2 + 16; i++)
        data[i] ^= 0x5a;
    FILE *fp = fopen(path, "wb");
    fwrite(data, 1, len, fp);
    fclose(fp);
    free(data);
}

static void truncate_file(const char *path)
{
    size_t len = 0;
    char *data = lh_test_read_file(path, &len);
    assert_non_null(data);
    FILE *fp = fopen(path, "wb");
    fwrite(data, 1, len / 3, fp);
    fclose(fp);
    free(data);
}

static void test_missing_or_damaged_snapshot_rebuilds_from_leveldb(void **state)
{
    fixture *f = *state;
    write_reference(f, "pers", 16);
    char faiss[1024], labels[1024];
    vdir_path(f, "pers.faiss", faiss, sizeof faiss);
    vdir_path(f, "pers.labels", labels, sizeof labels);

    stop_vectord(f);
    assert_int_equal(unlink(faiss), 0);
    start_vectord(f);
    assert_reference(f, "pers", 16);

    stop_vectord(f); /* writes a fresh snapshot: the rebuild left it dirty */
    damage_file(faiss);
    start_vectord(f);
    assert_reference(f, "pers", 16);

    stop_vectord(f);
    damage_file(labels);
    start_vectord(f);
    assert_reference(f, "pers", 16);

    stop_vectord(f);
    truncate_file(faiss);
    start_vectord(f);
    assert_reference(f, "pers", 16);

    stop_vectord(f);
    assert_int_equal(unlink(labels), 0);
    start_vectord(f);
    assert_reference(f, "pers", 16);
}

/* A consistent but old snapshot: restore must add what came after it,
 * drop what was deleted since and take the newer version of replaced ids. */
static void test_stale_snapshot_is_brought_up_to_date(void **state)
{
    fixture *f = *state;
    create_index(f, "pers", 16, NULL, NULL);
    put_many(f, "pers", "p", 0, 100, 16);
    stop_vectord(f); /* snapshot of p0..p99 */
    char faiss[1024], labels[1024], old_faiss[1024], old_labels[1024];
    vdir_path(f, "pers.faiss", faiss, sizeof faiss);
    vdir_path(f, "pers.labels", labels, sizeof labels);
    vdir_path(f, "old.faiss", old_faiss, sizeof old_faiss);
    vdir_path(f, "old.labels", old_labels, sizeof old_labels);
    copy_file(faiss, old_faiss);
    copy_file(labels, old_labels);
    start_vectord(f);
    put_many(f, "pers", "p", 100, 100, 16);
    json_decref(lh_test_ok(
        lh_test_call_s(f->nc, &lh_ep_vector_delete,
                       "{\"index\":\"pers\",\"ids\":[\"p10\",\"p11\",\"p12\",\"p13\",\"p14\","
                       "\"p15\",\"p16\",\"p17\",\"p18\",\"p19\"]}")));
    float v[16];
    small_vec(1005, 16, v);
    put(f, "pers", "p5", v, 16, "{\"replaced\":true}", NULL);
    stop_vectord(f);
    copy_file(old_faiss, faiss);
    copy_file(old_labels, labels);
    start_vectord(f);
    assert_reference(f, "pers", 16);
    assert_int_equal(stat_int(f, "pers", "deleted"), 11); /* p10..p19 and the old p5 */
}

/* ---- rebuilds ---- */

static void test_rebuild_drops_tombstones_and_keeps_answers(void **state)
{
    fixture *f = *state;
    stop_vectord(f);
    setenv("LH_VECTOR_REBUILD_MIN_DELETED", "50", 1);
    start_vectord(f);
    create_index(f, "rb", 16, NULL, NULL);
    put_many(f, "rb", "p", 0, 400, 16);
    lh_buf b;
    lh_buf_init(&b);
    lh_buf_append_str(&b, "{\"index\":\"rb\",\"ids\":[");
    for (int i = 0; i < 400; i += 2)
        lh_buf_appendf(&b, "%s\"p%d\"", i ? "," : "", i);
    lh_buf_append_str(&b, "]}");
    json_decref(lh_test_ok(lh_test_call_s(f->nc, &lh_ep_vector_delete, lh_buf_cstr(&b))));
    lh_buf_free(&b);
    int64_t deadline = lh_test_now_ms() + 60000;
    while (stat_int(f, "rb", "deleted") > 0 && lh_test_now_ms() < deadline)
        lh_test_sleep_ms(50);
    assert_int_equal(stat_int(f, "rb", "deleted"), 0);
    assert_int_equal(stat_int(f, "rb", "count"), 200);
    for (size_t i = 0; i < 400; i += 7) {
        float v[16];
        small_vec(i, 16, v);
        json_t *rep = search(f, "rb", v, 16, 5, "{\"even\":false}");
        json_t *hits = hits_of(rep);
        assert_int_equal(json_array_size(hits), 5);
        char want[16];
        snprintf(want, sizeof want, "p%zu", i);
        if (i % 2)
            assert_string_equal(hit_id(hits, 0), want);
        for (size_t h = 0; h < 5; h++)
            assert_string_not_equal(hit_id(hits, h), "p0");
        json_decref(rep);
    }
    restart_vectord(f);
    assert_int_equal(stat_int(f, "rb", "count"), 200);
    assert_int_equal(stat_int(f, "rb", "deleted"), 0);
}

/* ---- concurrency ---- */

typedef struct load_ctx {
    fixture *f;
    int thread;
    atomic_int *failures;
    char first_error[256];
} load_ctx;

static void note_failure(load_ctx *c, const char *what, reply *r)
{
    if (atomic_fetch_add(c->failures, 1) == 0 || !c->first_error[0])
        snprintf(c->first_error, sizeof c->first_error, "%s: %d %s", what, r->code,
                 r->message ? r->message : "");
}

static void *searcher(void *arg)
{
    load_ctx *c = arg;
    natsConnection *nc = lh_test_nats_try_connect(c->f->nats.url);
    if (!nc) {
        atomic_fetch_add(c->failures, 1);
        return NULL;
    }
    float v[16];
    for (int i = 0; i < 150; i++) {
        small_vec((size_t)(i * 7 + c->thread), 16, v);
        json_t *req = json_pack("{s:s, s:o, s:i}", "index", "load", "vector", fvec(v, 16), "k",
                                10);
        if (i % 3 == 0)
            json_object_set_new(req, "filter", json_pack("{s:b}", "even", 1));
        char *body = json_dumps(req, JSON_COMPACT);
        json_decref(req);
        reply r = lh_test_call_s(nc, &lh_ep_vector_search, body);
        if (r.code)
            note_failure(c, "search", &r);
        json_decref(r.body);
        free(body);
    }
    natsConnection_Destroy(nc);
    return NULL;
}

static void *writer(void *arg)
{
    load_ctx *c = arg;
    natsConnection *nc = lh_test_nats_try_connect(c->f->nats.url);
    if (!nc) {
        atomic_fetch_add(c->failures, 1);
        return NULL;
    }
    float v[16];
    for (int round = 0; round < 30; round++) {
        /* 20 new items of this writer, 10 of the last round's again
         * (replacements), then 2 of this round's deleted: tombstones pile
         * up fast enough for rebuilds to run under the load. */
        json_t *items = json_array();
        for (int i = round ? -18 : 0; i < 20; i++) {
            if (i < 0 && i >= -8)
                continue; /* i = -18..-9: items 2..11 of the previous round */
            char id[32];
            int n = round * 20 + i;
            snprintf(id, sizeof id, "w%d-%d", c->thread, n);
            small_vec((size_t)(10000 * c->thread + n), 16, v);
            json_array_append_new(items, json_pack("{s:s, s:o, s:{s:b}}", "id", id, "vector",
                                                   fvec(v, 16), "metadata", "even", n % 2 == 0));
        }
        json_t *req = json_pack("{s:s, s:o}", "index", "load", "items", items);
        char *body = json_dumps(req, JSON_COMPACT);
        json_decref(req);
        reply r = lh_test_call(nc, &lh_ep_vector_upsert, body, strlen(body));
        if (r.code)
            note_failure(c, "upsert", &r);
        json_decref(r.body);
        free(body);
        char del[128];
        snprintf(del, sizeof del, "{\"index\":\"load\",\"ids\":[\"w%d-%d\",\"w%d-%d\"]}",
                 c->thread, round * 20, c->thread, round * 20 + 1);
        r = lh_test_call(nc, &lh_ep_vector_delete, del, strlen(del));
        if (r.code)
            note_failure(c, "delete", &r);
        json_decref(r.body);
    }
    natsConnection_Destroy(nc);
    return NULL;
}

static void test_two_workers_under_concurrent_search_and_upsert(void **state)
{
    fixture *f = *state;
    stop_vectord(f);
    setenv("LH_VECTOR_REBUILD_MIN_DELETED", "40", 1); /* rebuilds during the load */
    setenv("LH_VECTOR_SNAPSHOT_SECONDS", "1", 1);     /* and snapshots */
    start_vectord(f);
    create_index(f, "load", 16, NULL, NULL);
    put_many(f, "load", "seed", 0, 200, 16);
    enum { SEARCHERS = 3, WRITERS = 2 };
    pthread_t th[SEARCHERS + WRITERS];
    load_ctx ctx[SEARCHERS + WRITERS];
    atomic_int failures = 0;
    for (int i = 0; i < SEARCHERS + WRITERS; i++) {
        ctx[i] = (load_ctx){.f = f, .thread = i, .failures = &failures};
        assert_int_equal(pthread_create(&th[i], NULL, i < SEARCHERS ? searcher : writer, &ctx[i]),
                         0);
    }
    for (int i = 0; i < SEARCHERS + WRITERS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < SEARCHERS + WRITERS; i++)
        if (ctx[i].first_error[0])
            fail_msg("thread %d: %s (%d failures)", i, ctx[i].first_error, atomic_load(&failures));
    assert_int_equal(atomic_load(&failures), 0);
    /* 200 seeds + 2 writers x 30 rounds x (20 - 2 deleted) */
    long long want = 200 + WRITERS * 30 * 18;
    assert_int_equal(stat_int(f, "load", "count"), want);
    restart_vectord(f);
    assert_int_equal(stat_int(f, "load", "count"), want);
    float v[16];
    small_vec(10000 * 3 + 599, 16, v); /* writer 3's last item */
    json_t *rep = search(f, "load", v, 16, 1, NULL);
    assert_string_equal(hit_id(hits_of(rep), 0), "w3-599");
    json_decref(rep);
}

/* ---- SIGKILL, with vectord as its own process ---- */

static const char *const VECTORD[] = {"vectord", NULL};

static void test_sigkill_loses_nothing_acknowledged(void **state)
{
    fixture *f = *state;
    if (!lh_registry_find("vectord"))
        skip(); /* `lakehouse serve vectord` needs vectord in actors/registry.c */
    stop_vectord(f); /* the process owns the data directory (LevelDB's lock) */
    char *const env[] = {"LH_VECTOR_SNAPSHOT_SECONDS=1", NULL};
    lh_test_proc *p = lh_test_stack_serve(f, VECTORD, NULL, env);
    create_index(f, "pers", 16, NULL, NULL);
    put_many(f, "pers", "p", 0, 100, 16);
    /* A periodic snapshot covers p0..p99 (and only those): the restart
     * must merge it with what LevelDB holds beyond it. */
    int64_t deadline = lh_test_now_ms() + 30000;
    while (!file_exists(f->data_dir, "pers.labels") && lh_test_now_ms() < deadline)
        lh_test_sleep_ms(50);
    assert_true(file_exists(f->data_dir, "pers.labels"));
    put_many(f, "pers", "p", 100, 100, 16);
    json_decref(lh_test_ok(
        lh_test_call_s(f->nc, &lh_ep_vector_delete,
                       "{\"index\":\"pers\",\"ids\":[\"p10\",\"p11\",\"p12\",\"p13\",\"p14\","
                       "\"p15\",\"p16\",\"p17\",\"p18\",\"p19\"]}")));
    float v[16];
    small_vec(1005, 16, v);
    put(f, "pers", "p5", v, 16, "{\"replaced\":true}", NULL);
    int status = lh_test_signal_wait(p, SIGKILL, 10000);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    p = lh_test_stack_serve(f, VECTORD, NULL, env);
    assert_reference(f, "pers", 16);
    /* Once more, killed before any snapshot could follow the last write. */
    put(f, "pers", "p10", v, 16, NULL, NULL);
    json_decref(lh_test_ok(
        lh_test_call_s(f->nc, &lh_ep_vector_delete, "{\"index\":\"pers\",\"ids\":[\"p150\"]}")));
    status = lh_test_signal_wait(p, SIGKILL, 10000);
    assert_true(WIFSIGNALED(status));
    p = lh_test_stack_serve(f, VECTORD, NULL, env);
    assert_int_equal(stat_int(f, "pers", "count"), 190);
    assert_item(f, "pers", 150, 16, false);
    json_t *rep = search(f, "pers", v, 16, 2, NULL);
    json_t *hits = hits_of(rep);
    assert_int_equal(json_array_size(hits), 2);
    assert_true(hit_score(hits, 0) > 0.9999 && hit_score(hits, 1) > 0.9999); /* p5 and p10 */
    json_decref(rep);
    lh_test_signal_wait(p, SIGTERM, 20000);
}

/* ---- recall ---- */

enum { RECALL_N = 20000, RECALL_D = 128, RECALL_Q = 200, RECALL_K = 10, CLUSTERS = 64 };

static void make_clustered(float *out, size_t n, uint64_t *rng, const float *centers)
{
    for (size_t i = 0; i < n; i++) {
        const float *c = centers + (rng_next(rng) % CLUSTERS) * RECALL_D;
        for (size_t j = 0; j < RECALL_D; j++)
            out[i * RECALL_D + j] = c[j] + 0.8f * rng_gauss(rng);
        normalize(out + i * RECALL_D, RECALL_D);
    }
}

static void pack_bin_vector(msgpack_packer *pk, const float *v, size_t d)
{
    msgpack_pack_bin(pk, d * sizeof(float));
    msgpack_pack_bin_body(pk, v, d * sizeof(float));
}

static void upsert_bin(fixture *f, const float *data, size_t from, size_t n)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "index", 5);
    msgpack_pack_str_with_body(&pk, "recall", 6);
    msgpack_pack_str_with_body(&pk, "items", 5);
    msgpack_pack_array(&pk, n);
    for (size_t i = from; i < from + n; i++) {
        char id[16];
        int len = snprintf(id, sizeof id, "%zu", i);
        msgpack_pack_map(&pk, 2);
        msgpack_pack_str_with_body(&pk, "id", 2);
        msgpack_pack_str_with_body(&pk, id, (size_t)len);
        msgpack_pack_str_with_body(&pk, "vector", 6);
        pack_bin_vector(&pk, data + i * RECALL_D, RECALL_D);
    }
    reply r = lh_test_call(f->nc, &lh_ep_vector_upsert, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    if (r.code)
        fail_msg("upsert: %d %s", r.code, r.message);
    json_decref(r.body);
}

static json_t *batch_search_bin(fixture *f, const float *queries, size_t nq)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "index", 5);
    msgpack_pack_str_with_body(&pk, "recall", 6);
    msgpack_pack_str_with_body(&pk, "k", 1);
    msgpack_pack_int(&pk, RECALL_K);
    msgpack_pack_str_with_body(&pk, "vectors", 7);
    msgpack_pack_array(&pk, nq);
    for (size_t q = 0; q < nq; q++)
        pack_bin_vector(&pk, queries + q * RECALL_D, RECALL_D);
    reply r = lh_test_call(f->nc, &lh_ep_vector_search, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    if (r.code)
        fail_msg("search: %d %s", r.code, r.message);
    return r.body;
}

/* The exact top k ids of one query by inner product (unit vectors: cosine). */
static void exact_top_k(const float *data, const float *q, size_t *top)
{
    float best[RECALL_K];
    for (size_t k = 0; k < RECALL_K; k++)
        best[k] = -INFINITY;
    for (size_t i = 0; i < RECALL_N; i++) {
        float s = 0;
        for (size_t j = 0; j < RECALL_D; j++)
            s += data[i * RECALL_D + j] * q[j];
        if (s <= best[RECALL_K - 1])
            continue;
        size_t at = RECALL_K - 1;
        while (at > 0 && best[at - 1] < s) {
            best[at] = best[at - 1];
            top[at] = top[at - 1];
            at--;
        }
        best[at] = s;
        top[at] = i;
    }
}

static void test_hnsw_recall_at_10(void **state)
{
    fixture *f = *state;
    uint64_t rng = 20240601;
    float *centers = malloc(CLUSTERS * RECALL_D * sizeof *centers);
    for (size_t i = 0; i < CLUSTERS * RECALL_D; i++)
        centers[i] = rng_gauss(&rng);
    float *data = malloc((size_t)RECALL_N * RECALL_D * sizeof *data);
    float *queries = malloc(RECALL_Q * RECALL_D * sizeof *queries);
    make_clustered(data, RECALL_N, &rng, centers);
    make_clustered(queries, RECALL_Q, &rng, centers);
    create_index(f, "recall", RECALL_D, NULL, NULL); /* defaults: hnsw, M 32, ef 200/64 */
    for (size_t at = 0; at < RECALL_N; at += 1000)
        upsert_bin(f, data, at, 1000);
    assert_int_equal(stat_int(f, "recall", "count"), RECALL_N);
    json_t *rep = batch_search_bin(f, queries, RECALL_Q);
    json_t *results = json_object_get(rep, "results");
    assert_int_equal(json_array_size(results), RECALL_Q);
    size_t found = 0;
    for (size_t q = 0; q < RECALL_Q; q++) {
        size_t top[RECALL_K];
        exact_top_k(data, queries + q * RECALL_D, top);
        json_t *hits = json_object_get(json_array_get(results, q), "hits");
        assert_int_equal(json_array_size(hits), RECALL_K);
        for (size_t h = 0; h < RECALL_K; h++) {
            size_t id = (size_t)strtoul(hit_id(hits, h), NULL, 10);
            for (size_t k = 0; k < RECALL_K; k++)
                found += id == top[k];
        }
    }
    json_decref(rep);
    double recall = (double)found / (RECALL_Q * RECALL_K);
    printf("# HNSW recall@10 over %d clustered vectors (d=%d): %.4f\n", RECALL_N, RECALL_D,
           recall);
    assert_true(recall >= 0.95);
    free(centers);
    free(data);
    free(queries);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_list_stats_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_removes_items_for_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scores_per_metric, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ip_orders_by_inner_product, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_by_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_id_twice_in_one_batch_keeps_the_last, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filter_returns_k_when_k_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_search, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_vectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_search_asks_embedd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_search_uses_the_recorded_model, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input_is_refused_and_changes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_persists_across_clean_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_or_damaged_snapshot_rebuilds_from_leveldb,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_snapshot_is_brought_up_to_date, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_drops_tombstones_and_keeps_answers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_two_workers_under_concurrent_search_and_upsert,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigkill_loses_nothing_acknowledged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hnsw_recall_at_10, setup, teardown),
    };
    return cmocka_run_group_tests(tests, lh_test_stack_setup, lh_test_stack_teardown);
}
