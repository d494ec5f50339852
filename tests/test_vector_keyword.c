/*
 * test_vector_keyword.c — vector.search with mode "keyword": BM25 over
 * the items' text beside the vectors, on a real nats-server with vectord
 * in this process. Matches and snippets; a user's text is data however
 * hostile its syntax; replacements, deletes, a restart and a rebuild after
 * tombstones are seen by the keyword side as by the vectors; metadata
 * filters apply; bad requests are refused and change nothing.
 */
#include "tests/support/harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "actors/vector/keyword.h"
#include "actors/vector/vector.h"
#include "bus/buf.h"
#include "schemas/vector.h"

#define DIM 4

typedef lh_test_stack fixture;

static const lh_actor_def *const VECTORD[] = {&lh_vector_actor, NULL};

static int setup(void **state)
{
    *state = lh_test_stack_new(&(lh_test_stack_opts){.actors = VECTORD});
    return 0;
}

static int teardown(void **state)
{
    unsetenv("LH_VECTOR_REBUILD_MIN_DELETED");
    return lh_test_stack_teardown(state);
}

static json_t *call(fixture *f, const lh_contract *k, const char *json)
{
    return lh_test_ok(lh_test_call_s(f->nc, k, json));
}

/* An index "kw" of `n` items d0.. with texts from `texts`, vectors unused. */
static void make_index(fixture *f, const char *const *texts, size_t n, const char *extra_meta)
{
    char body[256];
    snprintf(body, sizeof body, "{\"index\":\"kw\",\"dimension\":%d}", DIM);
    json_decref(call(f, &lh_ep_vector_create, body));
    lh_buf b;
    lh_buf_init(&b);
    lh_buf_append_str(&b, "{\"index\":\"kw\",\"items\":[");
    for (size_t i = 0; i < n; i++) {
        lh_buf_appendf(&b, "%s{\"id\":\"d%zu\",\"vector\":[%zu,1,2,3],\"text\":\"%s\","
                           "\"metadata\":{\"odd\":%s%s}}",
                       i ? "," : "", i, i + 1, texts[i], i % 2 ? "true" : "false",
                       extra_meta ? extra_meta : "");
    }
    lh_buf_append_str(&b, "]}");
    json_decref(call(f, &lh_ep_vector_upsert, lh_buf_cstr(&b)));
    lh_buf_free(&b);
}

/* The ids of a keyword search, in order, as "d1,d0". */
static char *keyword_ids(fixture *f, const char *text, int k, const char *filter)
{
    json_t *req = json_pack("{s:s,s:s,s:s,s:i}", "index", "kw", "mode", "keyword", "text", text,
                            "k", k);
    if (filter)
        json_object_set_new(req, "filter", json_loads(filter, 0, NULL));
    json_t *rep = lh_test_ok(lh_test_call_j(f->nc, &lh_ep_vector_search, req));
    lh_buf b;
    lh_buf_init(&b);
    size_t i;
    json_t *hit;
    double last = 1e300;
    json_array_foreach(json_object_get(rep, "hits"), i, hit) {
        double score = json_number_value(json_object_get(hit, "score"));
        assert_true(score > 0 && score <= last); /* BM25, best first */
        last = score;
        lh_buf_appendf(&b, "%s%s", i ? "," : "", json_string_value(json_object_get(hit, "id")));
    }
    json_decref(rep);
    char *out = strdup(lh_buf_cstr(&b));
    lh_buf_free(&b);
    return out;
}

static void assert_ids(fixture *f, const char *text, const char *want)
{
    char *got = keyword_ids(f, text, 10, NULL);
    if (strcmp(got, want))
        fail_msg("keyword '%s' found [%s], expected [%s]", text, got, want);
    free(got);
}

static const char *const TEXTS[] = {
    "The quick brown fox jumps over the lazy dog",
    "Foxes are running through the forest at night",
    "A lazy afternoon with tea and biscuits",
    "Error code E1234 means the disk is full",
};

static void test_keyword_hits_are_ranked_with_snippets(void **state)
{
    fixture *f = *state;
    make_index(f, TEXTS, 4, NULL);
    assert_ids(f, "E1234", "d3");          /* an exact code a vector would blur */
    assert_ids(f, "running foxes", "d1,d0"); /* both words, stemmed, beat one */
    json_t *rep = call(f, &lh_ep_vector_search,
                       "{\"index\":\"kw\",\"mode\":\"keyword\",\"text\":\"biscuits\"}");
    json_t *hit = json_array_get(json_object_get(rep, "hits"), 0);
    assert_string_equal(json_string_value(json_object_get(hit, "id")), "d2");
    assert_non_null(strstr(json_string_value(json_object_get(hit, "snippet")), "[biscuits]"));
    assert_string_equal(json_string_value(json_object_get(hit, "text")), TEXTS[2]);
    assert_true(json_is_false(json_object_get(json_object_get(hit, "metadata"), "odd")));
    json_decref(rep);
    assert_ids(f, "zebra", ""); /* no match is no hit, not an error */
    rep = call(f, &lh_ep_vector_search, "{\"index\":\"kw\",\"mode\":\"keyword\","
                                        "\"text\":\"lazy\",\"snippet_hits\":1,"
                                        "\"text_hits\":1}");
    json_t *hits = json_object_get(rep, "hits");
    assert_int_equal(json_array_size(hits), 2); /* only the best one carries a snippet */
    assert_non_null(json_object_get(json_array_get(hits, 0), "snippet"));
    assert_null(json_object_get(json_array_get(hits, 1), "snippet"));
    assert_non_null(json_object_get(json_array_get(hits, 0), "text")); /* and its text */
    assert_null(json_object_get(json_array_get(hits, 1), "text"));
    json_decref(rep);
}

static void test_long_texts_get_a_window_around_the_match(void **state)
{
    fixture *f = *state;
    static const char *const long_text[] = {
        "one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen the needle eighteen nineteen twenty twentyone twentytwo "
        "twentythree twentyfour twentyfive twentysix twentyseven twentyeight twentynine thirty",
    };
    make_index(f, long_text, 1, NULL);
    json_t *rep = call(f, &lh_ep_vector_search,
                       "{\"index\":\"kw\",\"mode\":\"keyword\",\"text\":\"needles\"}");
    const char *snippet =
        json_string_value(json_object_get(json_array_get(json_object_get(rep, "hits"), 0),
                                          "snippet"));
    assert_non_null(snippet);
    assert_string_equal(snippet, "...seventeen the [needle] eighteen nineteen twenty twentyone "
                                 "twentytwo twentythree twentyfour twentyfive twentysix "
                                 "twentyseven twentyeight twentynine thirty");
    json_decref(rep);
    /* A run of Chinese is one token however long: the snippet is bounded in
     * bytes all the same, cut between characters. */
    lh_buf b;
    lh_buf_init(&b);
    lh_buf_append_str(&b, "{\"index\":\"kw\",\"items\":[{\"id\":\"zh\",\"vector\":[1,1,1,1],"
                          "\"text\":\"needle ");
    for (int i = 0; i < 1000; i++)
        lh_buf_append_str(&b, "\xe4\xb8\xad");
    lh_buf_append_str(&b, "\"}]}");
    json_decref(call(f, &lh_ep_vector_upsert, lh_buf_cstr(&b)));
    lh_buf_free(&b);
    rep = call(f, &lh_ep_vector_search, "{\"index\":\"kw\",\"mode\":\"keyword\","
                                        "\"text\":\"needle\"}");
    json_t *hits = json_object_get(rep, "hits");
    snippet = NULL;
    for (size_t i = 0; i < json_array_size(hits); i++)
        if (!strcmp(json_string_value(json_object_get(json_array_get(hits, i), "id")), "zh"))
            snippet = json_string_value(json_object_get(json_array_get(hits, i), "snippet"));
    assert_non_null(snippet);
    size_t len = strlen(snippet);
    assert_true(len <= 480 + 3);
    assert_true(!strncmp(snippet, "[needle] ", 9) && !strcmp(snippet + len - 3, "..."));
    assert_int_equal((len - 9 - 3) % 3, 0); /* whole characters only */
    json_decref(rep);
}

static void test_hostile_query_text_is_only_data(void **state)
{
    fixture *f = *state;
    make_index(f, TEXTS, 4, NULL);
    /* FTS5 syntax in a user's text: each is answered, by its words alone. */
    static const char *const hostile[] = {
        "\"", "\"lazy", "lazy\"", "*", "lazy*", "NEAR(lazy dog)", "lazy AND", "AND OR NOT",
        "-lazy", "(((lazy", "text:lazy", "{text}: lazy", "^lazy", "lazy + + dog", "\\\\", "'",
        ":", "NOT lazy", "\xe2\x80\x9clazy\xe2\x80\x9d",
    };
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        char *got = keyword_ids(f, hostile[i], 10, NULL);
        bool has_lazy = strstr(hostile[i], "lazy") != NULL;
        /* "lazy" is in d0 and d2; a query with no word finds nothing */
        if (has_lazy && strncmp(got, "d", 1))
            fail_msg("'%s' found [%s], not the lazy items", hostile[i], got);
        if (!has_lazy && strcmp(hostile[i], "AND OR NOT") && *got)
            fail_msg("'%s' holds no word of the texts yet found [%s]", hostile[i], got);
        free(got);
    }
    assert_ids(f, "NOT lazy", "d2,d0"); /* NOT is a word here, not an operator */
}

/* The terms a text searches for, as the index sees them. */
static void assert_terms(lh_vec_keyword *k, const char *text, const char *want)
{
    lh_buf b;
    lh_buf_init(&b);
    lh_err *err = lh_vec_keyword_terms(k, text, strlen(text), &b);
    assert_null(err);
    assert_string_equal(lh_buf_cstr(&b), want);
    lh_buf_free(&b);
}

static void test_query_words_are_only_words(void **state)
{
    (void)state;
    lh_vec_keyword *k = NULL;
    assert_null(lh_vec_keyword_create(&k));
    assert_terms(k, "x \"b* NEAR(c)", "x b near c");
    assert_terms(k, "\"*()-^:", "");
    assert_terms(k, "The list OF files", "list file"); /* stopwords go; stems stay */
    assert_terms(k, "to be or", "to be or");            /* unless nothing else is left */
    assert_terms(k, "Running RUNS run", "run");         /* each term once */
    assert_terms(k, "caf\xc3\xa9 na\xc3\xafve", "cafe naiv");
    lh_vec_keyword_destroy(k);
}

static void test_replacements_and_deletes_reach_the_keyword_side(void **state)
{
    fixture *f = *state;
    make_index(f, TEXTS, 4, NULL);
    json_decref(call(f, &lh_ep_vector_upsert,
                     "{\"index\":\"kw\",\"items\":[{\"id\":\"d2\",\"vector\":[1,1,1,1],"
                     "\"text\":\"strong coffee\"},{\"id\":\"d3\",\"vector\":[1,2,1,1]}]}"));
    assert_ids(f, "biscuits", "");   /* replaced text is gone */
    assert_ids(f, "coffee", "d2");
    assert_ids(f, "E1234", "");      /* replaced by an item without text */
    json_decref(call(f, &lh_ep_vector_delete, "{\"index\":\"kw\",\"ids\":[\"d0\"]}"));
    assert_ids(f, "lazy", "");
    assert_ids(f, "fox", "d1");
}

/* Many replacements and deletes of items sharing a common word: every
 * posting list must keep exactly the live items. */
static void test_churn_keeps_posting_lists_exact(void **state)
{
    fixture *f = *state;
    json_decref(call(f, &lh_ep_vector_create, "{\"index\":\"kw\",\"dimension\":4}"));
    lh_buf b;
    lh_buf_init(&b);
    for (int round = 0; round < 3; round++) {
        lh_buf_reset(&b);
        lh_buf_append_str(&b, "{\"index\":\"kw\",\"items\":[");
        for (int i = round; i < 120; i += 1 + round) /* each round replaces a different subset */
            lh_buf_appendf(&b, "%s{\"id\":\"c%d\",\"vector\":[1,2,3,%d],"
                               "\"text\":\"common word%dr%d\"}",
                           i == round ? "" : ",", i, i + 1, i, round);
        lh_buf_append_str(&b, "]}");
        json_decref(call(f, &lh_ep_vector_upsert, lh_buf_cstr(&b)));
    }
    lh_buf_reset(&b);
    lh_buf_append_str(&b, "{\"index\":\"kw\",\"ids\":[\"c0\"");
    for (int i = 5; i < 120; i += 5)
        lh_buf_appendf(&b, ",\"c%d\"", i);
    lh_buf_append_str(&b, "]}");
    json_decref(call(f, &lh_ep_vector_delete, lh_buf_cstr(&b)));
    lh_buf_free(&b);
    char *all = keyword_ids(f, "common", 1000, NULL);
    size_t n = 1;
    for (const char *p = all; *p; p++)
        n += *p == ',';
    assert_int_equal(n, 120 - 24); /* c0, c5, ..., c115 are gone */
    free(all);
    assert_ids(f, "word4r0", "c4"); /* written in round 0 only */
    assert_ids(f, "word7r1", "c7"); /* round 1 rewrote the odd ones */
    assert_ids(f, "word7r0", "");
    assert_ids(f, "word8r2", "c8"); /* round 2 rewrote every third from 2 */
    assert_ids(f, "word8r0", "");
    assert_ids(f, "word10r0", "");  /* deleted */
}

static void test_keyword_side_survives_a_restart(void **state)
{
    fixture *f = *state;
    make_index(f, TEXTS, 4, NULL);
    json_decref(call(f, &lh_ep_vector_delete, "{\"index\":\"kw\",\"ids\":[\"d3\"]}"));
    lh_test_stack_restart(f, &lh_vector_actor, 2);
    assert_ids(f, "lazy", "d2,d0");
    assert_ids(f, "E1234", "");
    lh_test_stack_restart(f, &lh_vector_actor, 2); /* from the snapshot this time */
    assert_ids(f, "running", "d1");
}

/* vectord as its own process, killed right after acknowledged writes:
 * the keyword side comes back from LevelDB as the vectors do. */
static void test_keyword_side_survives_sigkill(void **state)
{
    fixture *f = *state;
    lh_test_stack_drop(f, &lh_vector_actor); /* the process owns the data directory */
    static const char *const served[] = {"vectord", NULL};
    lh_test_proc *p = lh_test_stack_serve(f, served, NULL, NULL);
    make_index(f, TEXTS, 4, NULL);
    json_decref(call(f, &lh_ep_vector_upsert,
                     "{\"index\":\"kw\",\"items\":[{\"id\":\"d1\",\"vector\":[1,1,1,1],"
                     "\"text\":\"a zebra at night\"}]}"));
    json_decref(call(f, &lh_ep_vector_delete, "{\"index\":\"kw\",\"ids\":[\"d3\"]}"));
    int status = lh_test_signal_wait(p, SIGKILL, 10000);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    p = lh_test_stack_serve(f, served, NULL, NULL);
    assert_ids(f, "zebra", "d1");  /* the replacement, acknowledged just before */
    assert_ids(f, "running", "");  /* the text it replaced */
    assert_ids(f, "E1234", "");    /* deleted */
    assert_ids(f, "lazy", "d2,d0");
    assert_int_equal(lh_test_signal_wait(p, SIGTERM, 20000), 0);
}

static void test_rebuild_after_tombstones_keeps_keyword_answers(void **state)
{
    fixture *f = *state;
    lh_test_stack_drop(f, &lh_vector_actor);
    setenv("LH_VECTOR_REBUILD_MIN_DELETED", "20", 1);
    lh_test_stack_add(f, &lh_vector_actor, 2);
    json_decref(call(f, &lh_ep_vector_create, "{\"index\":\"kw\",\"dimension\":4}"));
    lh_buf b;
    lh_buf_init(&b);
    lh_buf_append_str(&b, "{\"index\":\"kw\",\"items\":[");
    for (int i = 0; i < 100; i++)
        lh_buf_appendf(&b, "%s{\"id\":\"p%d\",\"vector\":[%d,1,2,3],\"text\":\"item%d %s\"}",
                       i ? "," : "", i, i + 1, i, i % 2 ? "odd" : "even");
    lh_buf_append_str(&b, "]}");
    json_decref(call(f, &lh_ep_vector_upsert, lh_buf_cstr(&b)));
    lh_buf_reset(&b);
    lh_buf_append_str(&b, "{\"index\":\"kw\",\"ids\":[");
    for (int i = 0; i < 100; i += 2)
        lh_buf_appendf(&b, "%s\"p%d\"", i ? "," : "", i);
    lh_buf_append_str(&b, "]}");
    json_decref(call(f, &lh_ep_vector_delete, lh_buf_cstr(&b)));
    lh_buf_free(&b);
    int64_t deadline = lh_test_now_ms() + 60000;
    json_int_t deleted = -1;
    while (deleted != 0 && lh_test_now_ms() < deadline) {
        json_t *st = call(f, &lh_ep_vector_stats, "{\"index\":\"kw\"}");
        deleted = json_integer_value(json_object_get(st, "deleted"));
        json_decref(st);
        if (deleted)
            lh_test_sleep_ms(50);
    }
    assert_int_equal(deleted, 0); /* rebuilt: the labels were renumbered */
    assert_ids(f, "item51", "p51");
    assert_ids(f, "item50", "");
    char *evens = keyword_ids(f, "even", 100, NULL);
    assert_string_equal(evens, "");
    free(evens);
}

static void test_filters_apply_to_keyword_hits(void **state)
{
    fixture *f = *state;
    make_index(f, TEXTS, 4, NULL);
    char *got = keyword_ids(f, "lazy fox", 10, "{\"odd\":true}");
    assert_string_equal(got, "d1");
    free(got);
    got = keyword_ids(f, "lazy", 1, "{\"odd\":false}");
    assert_true(!strcmp(got, "d0") || !strcmp(got, "d2"));
    free(got);
}

static void test_bad_keyword_requests_are_refused(void **state)
{
    fixture *f = *state;
    make_index(f, TEXTS, 4, NULL);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_vector_search,
                                  "{\"index\":\"kw\",\"mode\":\"keyword\"}"),
                   400, "text", "searches a 'text'");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_vector_search,
                                  "{\"index\":\"kw\",\"mode\":\"keyword\",\"text\":\"x\","
                                  "\"vector\":[1,2,3,4]}"),
                   400, "mode", "not 'vector'");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_vector_search,
                                  "{\"index\":\"kw\",\"mode\":\"bm42\",\"text\":\"x\"}"),
                   400, "mode", "must be one of");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_vector_search,
                                  "{\"index\":\"nope\",\"mode\":\"keyword\",\"text\":\"x\"}"),
                   404, "index", "nope");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_vector_search,
                                  "{\"index\":\"kw\",\"mode\":\"keyword\",\"text\":\"   \"}"),
                   400, "text", "blank");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_vector_search,
                                  "{\"index\":\"kw\",\"mode\":\"keyword\",\"text\":\"x\","
                                  "\"text_hits\":-1}"),
                   400, "text_hits", NULL);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_vector_search,
                                  "{\"index\":\"kw\",\"mode\":\"keyword\",\"text\":\"x\","
                                  "\"snippet_hits\":1001}"),
                   400, "snippet_hits", NULL);
    assert_ids(f, "lazy", "d2,d0"); /* nothing changed */
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_words_are_only_words),
        T(test_keyword_hits_are_ranked_with_snippets),
        T(test_long_texts_get_a_window_around_the_match),
        T(test_hostile_query_text_is_only_data),
        T(test_replacements_and_deletes_reach_the_keyword_side),
        T(test_churn_keeps_posting_lists_exact),
        T(test_keyword_side_survives_a_restart),
        T(test_keyword_side_survives_sigkill),
        T(test_rebuild_after_tombstones_keeps_keyword_answers),
        T(test_filters_apply_to_keyword_hits),
        T(test_bad_keyword_requests_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
