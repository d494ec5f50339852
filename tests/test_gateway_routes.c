/*
 * test_gateway_routes.c — the gateway's pure parts, without a network:
 * path patterns and their parameters, route lookup with 404/405 and the
 * Allow list, path parameters merged into the message, error bodies, and
 * the word count that stands in for OpenAI's tokens.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "bus/json.h"
#include "gateway/gw.h"
#include "ops/registry.h"

static char *param(const lh_gw_match *m, size_t i, char *out, size_t cap)
{
    assert_true(i < m->n_params);
    snprintf(out, cap, "%.*s=%.*s", (int)m->params[i].name_len, m->params[i].name,
             (int)m->params[i].value_len, m->params[i].value);
    return out;
}

static void test_literal_patterns_match_exactly(void **state)
{
    (void)state;
    lh_gw_match m;
    assert_true(lh_gw_pattern_match("/v1/embed", "/v1/embed", &m));
    assert_int_equal(m.n_params, 0);
    assert_false(lh_gw_pattern_match("/v1/embed", "/v1/embed/", &m));
    assert_false(lh_gw_pattern_match("/v1/embed", "/v1/embedx", &m));
    assert_false(lh_gw_pattern_match("/v1/embed", "/v1", &m));
    assert_false(lh_gw_pattern_match("/v1/embed", "", &m));
}

static void test_params_capture_segments_and_rest(void **state)
{
    (void)state;
    lh_gw_match m;
    char p[128];
    const char *pat = "/v1/storage/{bucket}/{key...}";
    assert_true(lh_gw_pattern_match(pat, "/v1/storage/photos/2024/a b.jpg", &m));
    assert_int_equal(m.n_params, 2);
    assert_string_equal(param(&m, 0, p, sizeof p), "bucket=photos");
    assert_string_equal(param(&m, 1, p, sizeof p), "key=2024/a b.jpg");
    assert_false(lh_gw_pattern_match(pat, "/v1/storage/photos/", &m)); /* empty key */
    assert_false(lh_gw_pattern_match(pat, "/v1/storage//k", &m));      /* empty bucket */
    assert_true(lh_gw_pattern_match("/v1/things/{id}", "/v1/things/42", &m));
    assert_string_equal(param(&m, 0, p, sizeof p), "id=42");
    assert_false(lh_gw_pattern_match("/v1/things/{id}", "/v1/things/42/more", &m));
}

static void test_route_lookup_404_405_and_head(void **state)
{
    (void)state;
    lh_gw_match m;
    assert_true(lh_gw_route_match("POST", "/v1/embed", &m));
    assert_string_equal(m.route->contract->subject, "embed.request");
    assert_true(m.index >= 0);

    assert_false(lh_gw_route_match("GET", "/v1/embed", &m));
    assert_null(m.route);
    assert_string_equal(m.allow, "POST");
    assert_true(m.index >= 0); /* counted under the path's route */

    assert_false(lh_gw_route_match("GET", "/no/such/thing", &m));
    assert_string_equal(m.allow, "");
    assert_int_equal(m.index, -1);

    assert_true(lh_gw_route_match("HEAD", "/v1/health", &m));
    assert_non_null(m.route->local);

    /* A declared HEAD route wins over the GET route of the same path. */
    assert_true(lh_gw_route_match("HEAD", "/v1/storage/b/k", &m));
    assert_string_equal(m.route->method, "HEAD");
    assert_string_equal(m.route->contract->subject, "storage.head");
    assert_true(lh_gw_route_match("GET", "/v1/storage/b/k", &m));
    assert_string_equal(m.route->contract->subject, "storage.get");
    assert_false(lh_gw_route_match("POST", "/v1/storage/b/k", &m));
    assert_string_equal(m.allow, "PUT, GET, HEAD, DELETE");
}

static void test_every_bus_route_names_its_actor(void **state)
{
    (void)state;
    size_t n, n_actors;
    const lh_gw_route *routes = lh_gw_routes(&n);
    const char *const *actors = lh_gw_route_actors(&n_actors);
    assert_true(n_actors >= 1);
    for (size_t i = 0; i < n; i++) {
        assert_true((routes[i].contract != NULL) != (routes[i].local != NULL));
        assert_true(*lh_gw_route_summary(&routes[i]));
        if (!routes[i].contract)
            continue;
        const char *actor = routes[i].contract->service;
        assert_non_null(routes[i].shape);
        bool listed = false;
        for (size_t a = 0; a < n_actors; a++)
            listed = listed || !strcmp(actors[a], actor);
        assert_true(listed);
        /* The contract is bound by the actor the registry starts under that name. */
        const lh_actor_def *def = lh_registry_find(actor);
        assert_non_null(def);
        bool bound = false;
        for (size_t e = 0; e < def->n_endpoints; e++)
            bound = bound || def->endpoints[e].contract == routes[i].contract;
        assert_true(bound);
    }
    for (size_t a = 1; a < n_actors; a++) /* distinct */
        assert_string_not_equal(actors[a - 1], actors[a]);
}

static char *merged_json(const char *body_json, const lh_gw_param *params, size_t n)
{
    lh_buf mp, merged, out;
    lh_buf_init(&mp);
    lh_buf_init(&merged);
    lh_buf_init(&out);
    assert_null(lh_json_to_msgpack(body_json, strlen(body_json), &mp));
    assert_null(lh_gw_merge_params(mp.data, mp.len, params, n, &merged));
    assert_null(lh_msgpack_to_json(merged.data, merged.len, &out));
    char *s = strdup(lh_buf_cstr(&out));
    lh_buf_free(&mp);
    lh_buf_free(&merged);
    lh_buf_free(&out);
    return s;
}

static void test_path_params_become_fields_and_win(void **state)
{
    (void)state;
    const char *path = "photos";
    lh_gw_param p[] = {{"bucket", 6, path, 6}};
    char *s = merged_json("{\"a\":1,\"bucket\":\"other\",\"b\":[true]}", p, 1);
    assert_string_equal(s, "{\"bucket\":\"photos\",\"a\":1,\"b\":[true]}");
    free(s);
    s = merged_json("{}", p, 1);
    assert_string_equal(s, "{\"bucket\":\"photos\"}");
    free(s);
}

static void test_error_bodies(void **state)
{
    (void)state;
    lh_buf out;
    lh_buf_init(&out);
    lh_err *err = lh_err_new(400, "texts[2]", "must not be \"blank\"");
    lh_gw_error_json(err, &out);
    assert_string_equal(lh_buf_cstr(&out), "{\"error\":{\"code\":400,\"message\":\"must not be "
                                           "\\\"blank\\\"\",\"field\":\"texts[2]\"}}");
    /* a callee's own error body is passed through ... */
    lh_buf mp;
    lh_buf_init(&mp);
    const char *callee = "{\"error\":{\"code\":413,\"message\":\"too big\",\"field\":\"texts\"}}";
    assert_null(lh_json_to_msgpack(callee, strlen(callee), &mp));
    lh_buf_reset(&out);
    lh_gw_error_reply_body(err, mp.data, mp.len, &out);
    assert_string_equal(lh_buf_cstr(&out), callee);
    /* ... anything else is replaced by one made from the error */
    lh_buf_reset(&out);
    lh_gw_error_reply_body(err, "\xc0", 1, &out);
    assert_non_null(strstr(lh_buf_cstr(&out), "\"field\":\"texts[2]\""));
    lh_err_free(err);
    /* codes outside 400..599 are a server error over HTTP */
    err = lh_err_new(7, NULL, "odd");
    assert_int_equal(lh_gw_status_of(err), 500);
    lh_err_free(err);
    lh_buf_free(&mp);
    lh_buf_free(&out);
}

static void test_word_count(void **state)
{
    (void)state;
    assert_int_equal(lh_gw_count_words("", 0), 0);
    assert_int_equal(lh_gw_count_words("   \t\n", 5), 0);
    assert_int_equal(lh_gw_count_words("one", 3), 1);
    assert_int_equal(lh_gw_count_words("  the quick\tbrown\n fox ", 23), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_patterns_match_exactly),
        cmocka_unit_test(test_params_capture_segments_and_rest),
        cmocka_unit_test(test_route_lookup_404_405_and_head),
        cmocka_unit_test(test_every_bus_route_names_its_actor),
        cmocka_unit_test(test_path_params_become_fields_and_win),
        cmocka_unit_test(test_error_bodies),
        cmocka_unit_test(test_word_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
