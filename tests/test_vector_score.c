/*
 * test_vector_score.c — vectord's cosine scores stay within [-1, 1].
 *
 * Vectors are normalized in float32 on the way in, so a vector's inner
 * product with itself can come out a rounding step above 1
 * (1.0000001192092896), which no cosine can be. Vectors whose float32
 * self-product rounds above 1, and their opposites, go into a flat and an
 * HNSW cosine index on a real nats-server, with vectord in this process;
 * searched for with itself, each must score exactly 1.0 and its opposite
 * exactly -1.0.
 */
#include "tests/support/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/vector/vector.h"
#include "bus/actor.h"
#include "bus/buf.h"
#include "schemas/vector.h"

#define DIM 3

/* Four directions whose float32 self-products, once normalized, round to
 * 1.0000001192092896 with every kernel level (scalar, AVX2, AVX-512). */
static const float over[][DIM] = {{2, 0, 3}, {3, 2, 0}, {2, 9, 9}, {6, 7, 9}};
#define N_OVER (sizeof over / sizeof over[0])

/* The fixture is the stack: nats-server and vectord in this process. */
typedef lh_test_stack fixture;

static const lh_actor_def *const VECTORD[] = {&lh_vector_actor, NULL};

static int setup(void **state)
{
    *state = lh_test_stack_new(&(lh_test_stack_opts){.actors = VECTORD, .workers = 1});
    return 0;
}

/* Sends a JSON request through the contract; fails on an error. */
static json_t *call(fixture *f, const lh_contract *k, lh_buf *body)
{
    return lh_test_ok(lh_test_call_s(f->nc, k, lh_buf_cstr(body)));
}

static void append_vector(lh_buf *b, const float v[DIM])
{
    lh_buf_append(b, "[", 1);
    for (int j = 0; j < DIM; j++)
        lh_buf_appendf(b, "%s%.9g", j ? "," : "", (double)v[j]);
    lh_buf_append(b, "]", 1);
}

/* Each vector of `over` as v0.., and its opposite as n0... */
static void make_index(fixture *f, const char *index, const char *kind)
{
    lh_buf b;
    lh_buf_init(&b);
    lh_buf_appendf(&b, "{\"index\":\"%s\",\"dimension\":%d,\"metric\":\"cosine\",\"kind\":\"%s\"}",
                   index, DIM, kind);
    json_decref(call(f, &lh_ep_vector_create, &b));
    lh_buf_reset(&b);
    lh_buf_appendf(&b, "{\"index\":\"%s\",\"items\":[", index);
    for (size_t i = 0; i < N_OVER; i++) {
        float neg[DIM];
        for (int j = 0; j < DIM; j++)
            neg[j] = -over[i][j];
        lh_buf_appendf(&b, "%s{\"id\":\"v%zu\",\"vector\":", i ? "," : "", i);
        append_vector(&b, over[i]);
        lh_buf_appendf(&b, "},{\"id\":\"n%zu\",\"vector\":", i);
        append_vector(&b, neg);
        lh_buf_append(&b, "}", 1);
    }
    lh_buf_append_str(&b, "]}");
    json_decref(call(f, &lh_ep_vector_upsert, &b));
    lh_buf_free(&b);
}

static double score_of(json_t *hits, const char *id)
{
    size_t i;
    json_t *hit;
    json_array_foreach(hits, i, hit)
        if (!strcmp(json_string_value(json_object_get(hit, "id")), id))
            return json_number_value(json_object_get(hit, "score"));
    fail_msg("no hit %s", id);
    return 0; /* not reached */
}

/* Searches for vector i with itself among every item: its own hit comes
 * first scoring exactly 1, its opposite last scoring exactly -1, and no
 * score leaves [-1, 1]. */
static void assert_self_match(fixture *f, const char *index, size_t i)
{
    lh_buf b;
    lh_buf_init(&b);
    lh_buf_appendf(&b, "{\"index\":\"%s\",\"k\":%zu,\"vector\":", index, 2 * N_OVER);
    append_vector(&b, over[i]);
    lh_buf_append(&b, "}", 1);
    json_t *reply = call(f, &lh_ep_vector_search, &b);
    json_t *hits = json_object_get(reply, "hits");
    assert_int_equal(json_array_size(hits), 2 * N_OVER);
    char self[16], opposite[16];
    snprintf(self, sizeof self, "v%zu", i);
    snprintf(opposite, sizeof opposite, "n%zu", i);
    assert_string_equal(json_string_value(json_object_get(json_array_get(hits, 0), "id")), self);
    size_t k;
    json_t *hit;
    json_array_foreach(hits, k, hit) {
        double score = json_number_value(json_object_get(hit, "score"));
        if (!(score <= 1.0 && score >= -1.0))
            fail_msg("%s: %s scores %.17g against v%zu, outside [-1, 1]", index,
                     json_string_value(json_object_get(hit, "id")), score, i);
    }
    double own = score_of(hits, self), neg = score_of(hits, opposite);
    if (own != 1.0)
        fail_msg("%s: %s scores %.17g against itself, not 1", index, self, own);
    if (neg != -1.0)
        fail_msg("%s: %s scores %.17g against its opposite, not -1", index, self, neg);
    json_decref(reply);
    lh_buf_free(&b);
}

static void test_cosine_self_match_scores_exactly_one(void **state)
{
    fixture *f = *state;
    const char *kinds[] = {"flat", "hnsw"};
    for (size_t k = 0; k < 2; k++) {
        char index[32];
        snprintf(index, sizeof index, "self_%s", kinds[k]);
        make_index(f, index, kinds[k]);
        for (size_t i = 0; i < N_OVER; i++)
            assert_self_match(f, index, i);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cosine_self_match_scores_exactly_one, setup,
                                        lh_test_stack_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
