/*
 * test_pathway.c — pathwayd's lineage graph, on a real nats-server with
 * JetStream and the real actors: an object uploaded, ingested into a
 * dataset version, embedded into an index, queried and chatted over,
 * traced up and down (over the bus, as Marquez's graph over HTTP, and by
 * `lakehouse lineage`); deletions marked; edges recorded from outside;
 * the graph rebuilt from the log alone equal to the live one, and a
 * restarted pathwayd catching up; OpenLineage export; bad input (a name
 * that is not a node, an unknown node, depth out of range, malformed
 * times), each refused with the graph unchanged. And the graph itself,
 * without a bus: depth, direction, cycles, the node bound.
 */
#include "tests/support/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/catalog/catalog.h"
#include "actors/chat/chat.h"
#include "actors/embed/embed.h"
#include "actors/ingest/ingest.h"
#include "actors/matrix/matrix.h"
#include "actors/pathway/pathway.h"
#include "actors/pathway/pathway_internal.h"
#include "actors/query/query.h"
#include "actors/storage/storage.h"
#include "actors/vector/vector.h"
#include "gateway/gateway.h"
#include "schemas/catalog.h"
#include "schemas/chat.h"
#include "schemas/ingest.h"
#include "schemas/pathway.h"
#include "schemas/query.h"
#include "schemas/storage.h"
#include "schemas/vector.h"

static const lh_actor_def *const EVERYONE[] = {
    &lh_storage_actor, &lh_catalog_actor, &lh_embed_actor,   &lh_vector_actor,
    &lh_ingest_actor,  &lh_query_actor,   &lh_matrix_actor,  &lh_chat_actor,
    &lh_pathway_actor, &lh_gateway_actor, NULL};

static int setup(void **state)
{
    *state = lh_test_stack_new(&(lh_test_stack_opts){.actors = EVERYONE});
    return 0;
}

static const char *str_at(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static void ok(lh_test_stack *f, const lh_contract *k, json_t *body)
{
    json_decref(lh_test_ok(lh_test_call_j(f->nc, k, body)));
}

/* The trace of a node, once the graph holds it (the log is read a moment
 * after the change). */
static json_t *trace(lh_test_stack *f, const char *node, const char *dir, int depth)
{
    for (int i = 0;; i++) {
        lh_test_reply r = lh_test_call_j(f->nc, &lh_ep_pathway_trace,
                                         json_pack("{s:s, s:s, s:i}", "node", node, "direction",
                                                   dir, "depth", depth));
        if (r.code != 404 || i == 200)
            return lh_test_ok(r);
        json_decref(r.body);
        lh_test_sleep_ms(50);
    }
}

/* The edge from -> to in a trace, or NULL. */
static json_t *edge(json_t *t, const char *from, const char *to)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(t, "edges"), i, e)
        if (!strcmp(str_at(e, "from"), from) && !strcmp(str_at(e, "to"), to))
            return e;
    return NULL;
}

static json_t *node(json_t *t, const char *id)
{
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(t, "nodes"), i, n)
        if (!strcmp(str_at(n, "id"), id))
            return n;
    return NULL;
}

/* Waits until `from` has an edge to a node whose name starts with `to`. */
static void await_edge(lh_test_stack *f, const char *from, const char *to)
{
    for (int i = 0; i < 200; i++) {
        json_t *t = trace(f, from, "down", 1);
        size_t k;
        json_t *e;
        bool found = false;
        json_array_foreach(json_object_get(t, "edges"), k, e)
            found |= !strncmp(str_at(e, "to"), to, strlen(to));
        json_decref(t);
        if (found)
            return;
        lh_test_sleep_ms(50);
    }
    fail_msg("no edge %s -> %s", from, to);
}

static const char CSV[] = "id,text\n1,Error E1234 means the disk is full\n"
                          "2,Invoices are sent monthly\n";

/* The platform's own flow: object -> dataset version -> index -> chat,
 * and the version -> a query. Gives the object's node. */
static void flow(lh_test_stack *f, char object[200], char job[40])
{
    ok(f, &lh_ep_storage_put, json_pack("{s:s, s:s, s:s#}", "bucket", "src", "key", "a.csv",
                                        "data", CSV, sizeof CSV - 1));
    char sha[65];
    lh_test_sha256_hex(CSV, sizeof CSV - 1, sha);
    snprintf(object, 200, "object:src/a.csv@%s", sha);
    ok(f, &lh_ep_vector_create, json_pack("{s:s, s:i}", "index", "kb", "dimension", 384));
    json_t *j = lh_test_ok(lh_test_call_j(
        f->nc, &lh_ep_ingest_file,
        json_pack("{s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:b}", "dataset", "docs", "source",
                  "bucket", "src", "key", "a.csv", "embed", "column", "text", "index", "kb",
                  "id_column", "id", "wait", 1)));
    snprintf(job, 40, "%s", str_at(j, "job"));
    json_decref(j);
    ok(f, &lh_ep_query_sql, json_pack("{s:s}", "sql", "SELECT count(*) FROM docs"));
    ok(f, &lh_ep_chat_complete,
       json_pack("{s:[{s:s, s:s}], s:{s:[s]}}", "messages", "role", "user", "content",
                 "what does E1234 mean?", "retrieve", "corpora", "kb"));
}

/* The chat node the index fed. */
static char *chat_of(lh_test_stack *f)
{
    for (int i = 0; i < 200; i++) {
        json_t *t = trace(f, "index:kb", "down", 1);
        json_t *e = json_array_get(json_object_get(t, "edges"), 0);
        char *id = e ? strdup(str_at(e, "to")) : NULL;
        json_decref(t);
        if (id)
            return id;
        lh_test_sleep_ms(50);
    }
    fail_msg("no chat fed by index:kb");
    return NULL;
}

static void test_lineage_from_an_upload_to_an_answer(void **state)
{
    lh_test_stack *f = *state;
    char object[200], job[40];
    flow(f, object, job);
    char *chat = chat_of(f);
    assert_memory_equal(chat, "chat:", 5);
    await_edge(f, "dataset:docs@1", "query:");
    /* down from the object: every step, and its run and request */
    json_t *t = trace(f, object, "down", 5);
    json_t *in = edge(t, object, "dataset:docs@1");
    assert_non_null(in);
    assert_string_equal(str_at(in, "step"), "ingest");
    assert_string_equal(str_at(in, "run"), job);
    json_t *emb = edge(t, "dataset:docs@1", "index:kb");
    assert_non_null(emb);
    assert_string_equal(str_at(emb, "step"), "embed");
    assert_string_equal(str_at(emb, "run"), job);
    assert_non_null(edge(t, "index:kb", chat));
    assert_string_equal(str_at(node(t, "dataset:docs@1"), "kind"), "dataset");
    assert_null(json_object_get(node(t, "index:kb"), "deleted"));
    size_t i;
    json_t *e;
    bool queried = false;
    json_array_foreach(json_object_get(t, "edges"), i, e)
        queried |= !strncmp(str_at(e, "to"), "query:", 6) && !strcmp(str_at(e, "step"), "query");
    assert_true(queried);
    assert_null(edge(t, chat, object)); /* down only */
    json_decref(t);
    /* depth: two steps from the object reach the index, not the answer */
    t = trace(f, object, "down", 2);
    assert_non_null(node(t, "index:kb"));
    assert_null(node(t, chat));
    json_decref(t);
    /* up from the answer: the index, the version, the object */
    t = trace(f, chat, "up", 5);
    assert_non_null(node(t, "index:kb"));
    assert_non_null(node(t, "dataset:docs@1"));
    assert_non_null(node(t, object));
    assert_string_equal(str_at(json_array_get(json_object_get(t, "nodes"), 0), "id"), chat);
    json_decref(t);
    /* both ways from the version */
    t = trace(f, "dataset:docs@1", "both", 1);
    assert_non_null(edge(t, object, "dataset:docs@1"));
    assert_non_null(edge(t, "dataset:docs@1", "index:kb"));
    assert_null(node(t, chat)); /* two steps away */
    json_decref(t);
    free(chat);
}

static void test_deletions_are_marked(void **state)
{
    lh_test_stack *f = *state;
    char object[200], job[40];
    flow(f, object, job);
    ok(f, &lh_ep_vector_drop, json_pack("{s:s}", "index", "kb"));
    ok(f, &lh_ep_catalog_delete, json_pack("{s:s}", "name", "docs"));
    ok(f, &lh_ep_storage_delete, json_pack("{s:s, s:s}", "bucket", "src", "key", "a.csv"));
    json_t *t = NULL;
    for (int i = 0; i < 200; i++) {
        json_decref(t);
        t = trace(f, object, "down", 2);
        if (json_object_get(node(t, object), "deleted"))
            break;
        lh_test_sleep_ms(50);
    }
    assert_non_null(json_object_get(node(t, object), "deleted"));
    assert_non_null(json_object_get(node(t, "dataset:docs@1"), "deleted"));
    assert_non_null(json_object_get(node(t, "index:kb"), "deleted"));
    assert_non_null(edge(t, object, "dataset:docs@1")); /* history stays */
    json_decref(t);
    /* made again: lives again */
    ok(f, &lh_ep_vector_create, json_pack("{s:s, s:i}", "index", "kb", "dimension", 384));
    for (int i = 0; i < 200; i++) {
        t = trace(f, "index:kb", "up", 1);
        bool alive = !json_object_get(node(t, "index:kb"), "deleted");
        json_decref(t);
        if (alive)
            return;
        lh_test_sleep_ms(50);
    }
    fail_msg("index:kb made again is still deleted");
}

static json_t *record(lh_test_stack *f, const char *json)
{
    return lh_test_ok(lh_test_call_s(f->nc, &lh_ep_pathway_record, json));
}

static void test_recorded_edges_and_bad_input(void **state)
{
    lh_test_stack *f = *state;
    json_t *r = record(f, "{\"edges\":[{\"from\":\"file:/srv/a.csv\",\"to\":\"object:src/a@1\","
                          "\"step\":\"scp\",\"time\":\"2026-12-03T12:00:00+01:00\"},"
                          "{\"from\":\"object:src/a@1\",\"to\":\"report:q4\",\"step\":\"excel\"}]}");
    assert_int_equal(json_integer_value(json_object_get(r, "recorded")), 2);
    json_decref(r);
    json_t *before = trace(f, "report:q4", "up", 5);
    json_t *scp = edge(before, "file:/srv/a.csv", "object:src/a@1");
    assert_non_null(scp);
    assert_string_equal(str_at(scp, "time"), "2026-12-03T11:00:00.000Z"); /* kept in UTC */
    json_t *excel = edge(before, "object:src/a@1", "report:q4");
    assert_string_equal(str_at(excel, "run"), str_at(scp, "run")); /* one request, one run */
    assert_string_equal(str_at(node(before, "file:/srv/a.csv"), "kind"), "file");
    /* refused, each naming the field; the graph unchanged */
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_pathway_record,
                                  "{\"edges\":[{\"from\":\"nocolon\",\"to\":\"a:b\","
                                  "\"step\":\"x\"}]}"),
                   400, "edges[0].from", "not a node");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_pathway_record,
                                  "{\"edges\":[{\"from\":\"a:b\",\"to\":\"Up:b\",\"step\":\"x\"}]}"),
                   400, "edges[0].to", "not a node");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_pathway_record,
                                  "{\"edges\":[{\"from\":\"a:b\",\"to\":\"c:d\",\"step\":\"x\","
                                  "\"time\":\"noon\"}]}"),
                   400, "edges[0].time", "RFC 3339");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_pathway_record, "{\"edges\":[]}"), 400, "edges",
                   NULL);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_pathway_record,
                                  "{\"edges\":[{\"from\":\"a:b\",\"to\":\"c:d\"}]}"),
                   400, "edges[0].step", NULL);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_pathway_trace, "{\"node\":\"dataset:none@1\"}"),
                   404, "node", "dataset:none@1");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_pathway_trace, "{\"node\":\"no node\"}"), 400,
                   "node", "not a node");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_pathway_trace,
                                  "{\"node\":\"report:q4\",\"depth\":0}"),
                   400, "depth", NULL);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_pathway_trace,
                                  "{\"node\":\"report:q4\",\"depth\":51}"),
                   400, "depth", NULL);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_pathway_trace,
                                  "{\"node\":\"report:q4\",\"direction\":\"sideways\"}"),
                   400, "direction", NULL);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_pathway_openlineage,
                                  "{\"since\":\"2026-13-45T00:00:00Z\"}"),
                   400, "since", "RFC 3339");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_pathway_openlineage,
                                  "{\"since\":\"2999-01-01T00:00:00Z\"}"),
                   400, "since", "RFC 3339"); /* past what the clock holds */
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_pathway_lineage, "{\"node\":\"x:y\",\"depth\":"
                                                                 "\"deep\"}"),
                   400, "depth", NULL);
    /* with no log there is nowhere to record into */
    setenv("LH_EVENTS", "off", 1);
    lh_test_stack_restart(f, &lh_pathway_actor, 2);
    unsetenv("LH_EVENTS");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_pathway_record,
                                  "{\"edges\":[{\"from\":\"a:b\",\"to\":\"c:d\","
                                  "\"step\":\"x\"}]}"),
                   503, NULL, "LH_EVENTS=off");
    lh_test_stack_restart(f, &lh_pathway_actor, 2);
    json_t *after = trace(f, "report:q4", "up", 5);
    assert_true(json_equal(before, after));
    json_decref(before);
    json_decref(after);
}

/* Everything the graph says of the flow's nodes, and its export. */
static json_t *snapshot(lh_test_stack *f, const char *object, const char *chat)
{
    json_t *all = json_array();
    json_array_append_new(all, trace(f, object, "both", 50));
    json_array_append_new(all, trace(f, chat, "both", 50));
    json_array_append_new(all, trace(f, "report:q4", "up", 50));
    json_array_append_new(all, lh_test_ok(lh_test_call_s(f->nc, &lh_ep_pathway_openlineage,
                                                         "{\"limit\":1000}")));
    return all;
}

static void test_the_graph_rebuilt_from_the_log_is_the_same(void **state)
{
    lh_test_stack *f = *state;
    char object[200], job[40];
    flow(f, object, job);
    json_decref(record(f, "{\"edges\":[{\"from\":\"dataset:docs@1\",\"to\":\"report:q4\","
                          "\"step\":\"excel\"}]}"));
    ok(f, &lh_ep_vector_drop, json_pack("{s:s}", "index", "kb"));
    char *chat = chat_of(f);
    await_edge(f, "dataset:docs@1", "query:");
    for (int i = 0; i < 200; i++) { /* the drop, read too */
        json_t *t = trace(f, "index:kb", "up", 1);
        bool dropped = json_object_get(node(t, "index:kb"), "deleted") != NULL;
        json_decref(t);
        if (dropped)
            break;
        lh_test_sleep_ms(50);
    }
    json_t *live = snapshot(f, object, chat);
    /* from nothing: pathwayd's directory removed, the log read again */
    lh_test_stack_drop(f, &lh_pathway_actor);
    char dir[700];
    snprintf(dir, sizeof dir, "%s/pathwayd", f->data_dir);
    lh_test_rmrf(dir);
    lh_test_stack_add(f, &lh_pathway_actor, 2);
    json_t *rebuilt = NULL;
    for (int i = 0; i < 200; i++) {
        json_decref(rebuilt);
        rebuilt = NULL;
        lh_test_reply r = lh_test_call_s(f->nc, &lh_ep_pathway_trace, "{\"node\":\"report:q4\"}");
        if (r.code == 0) {
            json_decref(lh_test_ok(r));
            lh_test_sleep_ms(200); /* the rest of the log, which came before it */
            rebuilt = snapshot(f, object, chat);
            if (json_equal(live, rebuilt))
                break;
        } else {
            json_decref(r.body);
        }
        lh_test_sleep_ms(100);
    }
    assert_non_null(rebuilt);
    if (!json_equal(live, rebuilt)) {
        char *a = json_dumps(live, JSON_COMPACT), *b = json_dumps(rebuilt, JSON_COMPACT);
        fail_msg("rebuilt graph differs:\nlive    %s\nrebuilt %s", a, b);
    }
    json_decref(rebuilt);
    /* a pathwayd stopped while the platform works catches up when back */
    lh_test_stack_drop(f, &lh_pathway_actor);
    ok(f, &lh_ep_query_sql, json_pack("{s:s}", "sql", "SELECT * FROM docs"));
    lh_test_stack_add(f, &lh_pathway_actor, 2);
    json_t *t = NULL;
    int queries = 0;
    for (int i = 0; i < 200 && queries < 2; i++) {
        json_decref(t);
        t = trace(f, "dataset:docs@1", "down", 1);
        queries = 0;
        size_t k;
        json_t *e;
        json_array_foreach(json_object_get(t, "edges"), k, e)
            queries += !strcmp(str_at(e, "step"), "query");
        lh_test_sleep_ms(50);
    }
    assert_int_equal(queries, 2);
    json_decref(t);
    json_decref(live);
    free(chat);
}

static void test_openlineage_export(void **state)
{
    lh_test_stack *f = *state;
    char object[200], job[40];
    flow(f, object, job);
    await_edge(f, "dataset:docs@1", "query:");
    json_t *x = lh_test_ok(lh_test_call_s(f->nc, &lh_ep_pathway_openlineage, "{}"));
    json_t *evs = json_object_get(x, "events");
    assert_true(json_array_size(evs) >= 6); /* ingest, embed, query: START and COMPLETE */
    assert_int_equal(json_array_size(evs) % 2, 0);
    size_t i;
    json_t *ev;
    bool ingest = false;
    json_array_foreach(evs, i, ev) {
        assert_string_equal(str_at(ev, "eventType"), i % 2 ? "COMPLETE" : "START");
        assert_string_equal(str_at(ev, "schemaURL"),
                            "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/"
                            "RunEvent");
        const char *run = str_at(json_object_get(ev, "run"), "runId");
        assert_int_equal(strlen(run), 36);
        assert_int_equal(run[14], '5');
        if (i % 2) /* a run's two events share its id */
            assert_string_equal(run, str_at(json_object_get(json_array_get(evs, i - 1), "run"),
                                            "runId"));
        json_t *j = json_object_get(ev, "job");
        assert_string_equal(str_at(j, "namespace"), "lakehouse");
        if (!strcmp(str_at(j, "name"), "ingest")) {
            ingest = true;
            json_t *input = json_array_get(json_object_get(ev, "inputs"), 0);
            assert_string_equal(str_at(input, "namespace"), "lakehouse.object");
            assert_string_equal(str_at(input, "name"), object + 7);
            json_t *output = json_array_get(json_object_get(ev, "outputs"), 0);
            assert_string_equal(str_at(output, "namespace"), "lakehouse.dataset");
            assert_string_equal(str_at(output, "name"), "docs@1");
        }
    }
    assert_true(ingest);
    assert_true(json_is_false(json_object_get(x, "more")));
    json_decref(x);
    /* in pages of one run, three of them in one millisecond: every run
     * once, and the paging ends */
    for (int i = 0; i < 3; i++) {
        char body[200];
        snprintf(body, sizeof body, "{\"edges\":[{\"from\":\"file:f%d\",\"to\":\"report:r%d\","
                                    "\"step\":\"same\",\"time\":\"2030-01-01T00:00:00Z\"}]}", i, i);
        json_decref(lh_test_ok(lh_test_call_s(f->nc, &lh_ep_pathway_record, body)));
    }
    json_t *runs = json_object();
    char q[4096];
    snprintf(q, sizeof q, "{\"since\":\"2030-01-01T00:00:00Z\",\"limit\":1}");
    int pages = 0;
    for (bool more = true; more; pages++) {
        assert_true(pages < 10);
        x = lh_test_ok(lh_test_call_s(f->nc, &lh_ep_pathway_openlineage, q));
        json_t *evs = json_object_get(x, "events");
        assert_int_equal(json_array_size(evs), 2);
        json_object_set_new(runs, str_at(json_object_get(json_array_get(evs, 0), "run"), "runId"),
                            json_true());
        more = json_is_true(json_object_get(x, "more"));
        if (more)
            snprintf(q, sizeof q, "{\"cursor\":\"%s\",\"limit\":1}", str_at(x, "next_cursor"));
        json_decref(x);
    }
    assert_int_equal(pages, 3);
    assert_int_equal(json_object_size(runs), 3);
    json_decref(runs);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_pathway_openlineage, "{\"cursor\":\"zz\"}"),
                   400, "cursor", NULL);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_pathway_openlineage, "{\"cursor\":\"6e61\"}"),
                   400, "cursor", NULL); /* hex, but not a time key */
    /* nothing after the future */
    x = lh_test_ok(lh_test_call_s(f->nc, &lh_ep_pathway_openlineage,
                                  "{\"since\":\"2200-01-01T00:00:00Z\"}"));
    assert_int_equal(json_array_size(json_object_get(x, "events")), 0);
    json_decref(x);
}

static void test_over_http_and_the_command(void **state)
{
    lh_test_stack *f = *state;
    char object[200], job[40];
    flow(f, object, job);
    await_edge(f, "dataset:docs@1", "index:kb");
    lh_test_response r = lh_test_fetch(f->http_port, "GET",
                                       "/v1/lineage?node=dataset:docs@1&depth=1", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    json_t *graph = json_object_get(r.json, "graph");
    assert_true(json_array_size(graph) >= 3);
    json_t *first = json_array_get(graph, 0);
    assert_string_equal(str_at(first, "id"), "dataset:docs@1");
    assert_string_equal(str_at(first, "type"), "DATASET");
    json_t *in = json_array_get(json_object_get(first, "inEdges"), 0);
    assert_string_equal(str_at(in, "origin"), object);
    assert_string_equal(str_at(in, "destination"), "dataset:docs@1");
    assert_true(json_array_size(json_object_get(first, "outEdges")) >= 1);
    lh_test_response_free(&r);
    r = lh_test_fetch(f->http_port, "GET", "/v1/lineage?node=dataset:nothing@9", NULL, NULL, 0);
    assert_int_equal(r.status, 404);
    lh_test_response_free(&r);
    r = lh_test_fetch(f->http_port, "GET", "/v1/lineage?node=dataset:docs@1&depth=99", NULL,
                      NULL, 0);
    assert_int_equal(r.status, 400);
    lh_test_response_free(&r);
    r = lh_test_fetch(f->http_port, "GET", "/v1/lineage/openlineage?since=whenever", NULL, NULL,
                      0);
    assert_int_equal(r.status, 400);
    lh_test_response_free(&r);
    static const char body[] = "{\"edges\":[{\"from\":\"dataset:docs@1\",\"to\":\"report:r\","
                               "\"step\":\"excel\"}]}";
    r = lh_test_fetch(f->http_port, "POST", "/v1/lineage", NULL, body, sizeof body - 1);
    assert_int_equal(r.status, 200);
    lh_test_response_free(&r);
    char log[700];
    snprintf(log, sizeof log, "%s/cli.log", f->nats.dir);
    char *const argv[] = {LH_BINARY, "lineage", "report:r", "--up", NULL};
    assert_int_equal(lh_test_stack_run(f, argv, log, 60000), 0);
    char *out = lh_test_read_file(log, NULL);
    assert_non_null(strstr(out, "report:r\n"));
    assert_non_null(strstr(out, "  <- excel   dataset:docs@1"));
    assert_non_null(strstr(out, "      <- ingest  object:src/a.csv@"));
    free(out);
    /* command-line mistakes: exit 2, naming the mistake */
    char *const no_node[] = {LH_BINARY, "lineage", NULL};
    assert_int_equal(lh_test_stack_run(f, no_node, log, 60000), 2);
    out = lh_test_read_file(log, NULL);
    assert_non_null(strstr(out, "which node?"));
    free(out);
    char *const deep[] = {LH_BINARY, "lineage", "report:r", "--depth", "99", NULL};
    assert_int_equal(lh_test_stack_run(f, deep, log, 60000), 2);
    out = lh_test_read_file(log, NULL);
    assert_non_null(strstr(out, "--depth expects 1 to 50"));
    free(out);
    char *const missing[] = {LH_BINARY, "lineage", "dataset:nothing@9", NULL};
    assert_int_equal(lh_test_stack_run(f, missing, log, 60000), 1);
    out = lh_test_read_file(log, NULL);
    assert_non_null(strstr(out, "error 404"));
    free(out);
}

/* ---- the graph alone ---- */

static lh_pathway_edge edge_of(const char *from, const char *to)
{
    return (lh_pathway_edge){.from = {from, strlen(from)}, .to = {to, strlen(to)},
                             .step = {"s", 1}, .run = {"r", 1},
                             .time = {"2026-12-03T10:00:00.000Z", 24}};
}

static lh_pathway_trace_reply graph_trace(lh_pw_graph *g, const char *n, const char *dir,
                                          int depth, lh_arena *arena)
{
    lh_pathway_trace_request req = {.node = {n, strlen(n)}, .direction = {dir, strlen(dir)}};
    LH_SET(&req, depth, depth);
    lh_pathway_trace_reply rep;
    lh_pw_trace(g, &req, arena, &rep);
    return rep;
}

static void test_the_graph_alone(void **state)
{
    (void)state;
    char *dir = lh_test_tmpdir();
    lh_pw_graph *g = NULL;
    assert_null(lh_pw_graph_open(dir, &g));
    lh_arena *arena = lh_arena_create();
    /* a chain a:0 -> a:1 -> ... -> a:9, and a loop back from a:9 to a:0 */
    char names[10][8];
    for (int i = 0; i < 10; i++)
        snprintf(names[i], sizeof names[i], "a:%d", i);
    for (int i = 0; i < 9; i++) {
        lh_pathway_edge e = edge_of(names[i], names[i + 1]);
        lh_pw_graph_join(g, &e, true);
    }
    lh_pathway_edge loop = edge_of(names[9], names[0]);
    lh_pw_graph_join(g, &loop, true);
    assert_null(lh_pw_graph_keep(g, 42));
    assert_int_equal(lh_pw_graph_applied(g), 42);
    lh_pathway_trace_reply t = graph_trace(g, "a:3", "down", 2, arena);
    assert_int_equal(t.nodes.n, 3);
    assert_int_equal(t.edges.n, 2);
    t = graph_trace(g, "a:3", "up", 50, arena); /* round the loop, each node once */
    assert_int_equal(t.nodes.n, 10);
    assert_int_equal(t.edges.n, 10);
    t = graph_trace(g, "a:3", "both", 1, arena);
    assert_int_equal(t.nodes.n, 3);
    /* joining the same two nodes again replaces the edge */
    lh_pathway_edge again = edge_of("a:0", "a:1");
    again.step = (lh_str){"t", 1};
    lh_pw_graph_join(g, &again, true);
    t = graph_trace(g, "a:0", "down", 1, arena);
    assert_int_equal(t.edges.n, 1);
    assert_memory_equal(((lh_pathway_edge *)t.edges.v)[0].step.s, "t", 1);
    /* deleted stays deleted when named again, unless a step made it */
    lh_str when = {"2026-12-03T11:00:00.000Z", 24};
    lh_pw_graph_delete(g, (lh_str){"a:5", 3}, false, when);
    lh_pathway_edge cite = edge_of("a:5", "b:1");
    lh_pw_graph_join(g, &cite, true);
    lh_pathway_node n5;
    assert_true(lh_pw_graph_node(g, (lh_str){"a:5", 3}, arena, &n5));
    assert_non_null(n5.deleted.s);
    assert_true(lh_pw_graph_node(g, (lh_str){"a:4", 3}, arena, &n5));
    assert_null(n5.deleted.s); /* a:5 only, not its neighbours */
    lh_pathway_edge remade = edge_of("a:4", "a:5");
    lh_pw_graph_join(g, &remade, true);
    assert_true(lh_pw_graph_node(g, (lh_str){"a:5", 3}, arena, &n5));
    assert_null(n5.deleted.s);
    /* told gone before it was told made: remembered gone */
    lh_pw_graph_delete(g, (lh_str){"ghost:x", 7}, false, when);
    lh_pathway_edge haunt = edge_of("ghost:x", "b:2");
    lh_pw_graph_join(g, &haunt, false);
    assert_true(lh_pw_graph_node(g, (lh_str){"ghost:x", 7}, arena, &n5));
    assert_non_null(n5.deleted.s);
    /* a star past the bound: cut, and said so */
    for (int i = 0; i < LH_PW_MAX_NODES + 5; i++) {
        char leaf[32];
        snprintf(leaf, sizeof leaf, "leaf:%d", i);
        lh_pathway_edge e = edge_of("hub:x", leaf);
        lh_pw_graph_join(g, &e, true);
    }
    t = graph_trace(g, "hub:x", "down", 1, arena);
    assert_true(t.truncated);
    assert_int_equal(t.nodes.n, LH_PW_MAX_NODES);
    /* names */
    static const char *const good[] = {"a:b", "dataset:x@1", "object:b/k@f00", "my-kind_2:x y"};
    static const char *const bad[] = {"ab", ":x", "a:", "A:b", "1a:b", "a b:c", "a:b\nc",
                                      "abcdefghijklmnopqrstuvwxyzabcdefg:x"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(lh_pw_node_valid((lh_str){good[i], strlen(good[i])}));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (lh_pw_node_valid((lh_str){bad[i], strlen(bad[i])}))
            fail_msg("'%s' taken for a node", bad[i]);
    lh_arena_destroy(arena);
    lh_pw_graph_close(g);
    /* what was kept survives a reopen */
    assert_null(lh_pw_graph_open(dir, &g));
    assert_int_equal(lh_pw_graph_applied(g), 42);
    lh_pathway_node n;
    arena = lh_arena_create();
    assert_true(lh_pw_graph_node(g, (lh_str){"a:5", 3}, arena, &n));
    lh_arena_destroy(arena);
    lh_pw_graph_close(g);
    lh_test_rmrf(dir);
    free(dir);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, lh_test_stack_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_graph_alone),
        T(test_lineage_from_an_upload_to_an_answer),
        T(test_deletions_are_marked),
        T(test_recorded_edges_and_bad_input),
        T(test_the_graph_rebuilt_from_the_log_is_the_same),
        T(test_openlineage_export),
        T(test_over_http_and_the_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
