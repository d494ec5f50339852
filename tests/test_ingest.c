/*
 * test_ingest.c — ingestd with the real storaged, catalogd, embedd and
 * vectord on a real nats-server: CSV and inline ingests become catalog
 * versions whose schema, rows and sha256 match; JSON Lines with a broken
 * line fails or skips; job status survives restarts, a clean stop and a
 * SIGKILL in the middle of a job ("interrupted", nothing lost); embedding
 * leaves every row findable by its text; every bad request is refused and
 * changes nothing; progress events; the gateway's routes; and the
 * `lakehouse ingest` command.
 *
 * The actors run in this process (lh_actor_create) so ingestd can be
 * restarted on the same data directory; the SIGKILL test runs ingestd as
 * `lakehouse serve ingestd`.
 */
#include "tests/support/harness.h"

#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "actors/catalog/catalog.h"
#include "actors/embed/embed.h"
#include "actors/ingest/ingest.h"
#include "actors/storage/storage.h"
#include "actors/vector/vector.h"
#include "bus/actor.h"
#include "bus/buf.h"
#include "bus/codec.h"
#include "bus/json.h"
#include "gateway/gateway.h"
#include "schemas/catalog.h"
#include "schemas/embed.h"
#include "schemas/ingest.h"
#include "schemas/storage.h"
#include "schemas/vector.h"

#define TIMEOUT_MS 60000
#define BUCKET "ingest-test"

/* The fixture is the stack: nats-server, the test's connection, and the
 * actors below in this process on one data directory for the group. */
typedef lh_test_stack fixture;

static const lh_actor_def *const ACTORS[] = {&lh_storage_actor, &lh_catalog_actor, &lh_embed_actor,
                                             &lh_vector_actor,  &lh_ingest_actor,  NULL};

static void restart_ingestd(fixture *f) { lh_test_stack_restart(f, &lh_ingest_actor, 2); }

static int group_setup(void **state)
{
    *state = lh_test_stack_new(&(lh_test_stack_opts){.actors = ACTORS});
    return 0;
}

/* ---- requests ---- */

typedef lh_test_reply reply;

static const char *str_at(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static json_int_t int_at(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static void put_object(fixture *f, const char *key, const char *data, size_t len)
{
    json_decref(lh_test_ok(lh_test_call_j(
        f->nc, &lh_ep_storage_put,
        json_pack("{s:s, s:s, s:s%}", "bucket", BUCKET, "key", key, "data", data, len))));
}

static char *object_sha(fixture *f, const char *bucket, const char *key)
{
    json_t *info = lh_test_ok(lh_test_call_j(
        f->nc, &lh_ep_storage_head, json_pack("{s:s, s:s}", "bucket", bucket, "key", key)));
    char *sha = strdup(str_at(info, "sha256"));
    json_decref(info);
    return sha;
}

static json_t *source(const char *key) { return json_pack("{s:s, s:s}", "bucket", BUCKET, "key", key); }

/* ingest.file with wait: the finished job. */
static json_t *ingest_wait(fixture *f, json_t *req)
{
    json_object_set_new(req, "wait", json_true());
    return lh_test_ok(lh_test_call_j(f->nc, &lh_ep_ingest_file, req));
}

static void expect_state(json_t *job, const char *state)
{
    if (strcmp(str_at(job, "state"), state))
        fail_msg("job %s is %s, not %s (error: %s)", str_at(job, "job"), str_at(job, "state"),
                 state, str_at(job, "error") ? str_at(job, "error") : "none");
}

/* "name:type[?]" for each column of a schema array, space separated. */
static char *schema_text(json_t *schema)
{
    lh_buf b;
    lh_buf_init(&b);
    size_t i;
    json_t *c;
    json_array_foreach(schema, i, c) {
        lh_buf_appendf(&b, "%s%s:%s%s", i ? " " : "", str_at(c, "name"), str_at(c, "type"),
                       json_is_true(json_object_get(c, "nullable")) ? "?" : "");
    }
    char *s = strdup(lh_buf_cstr(&b));
    lh_buf_free(&b);
    return s;
}

/* ---- CSV into a version ---- */

static const char PEOPLE[] =
    "\xEF\xBB\xBFid,name,age,score,active,note\r\n"
    "1,\"Smith, Ann\",34,1.5,true,\"said \"\"hi\"\"\"\r\n"
    "2,Bob,,2,false,\"two\r\nlines\"\r\n"
    "3,Cy,41,3.25,TRUE,\r\n";

static void test_csv_becomes_a_version(void **state)
{
    fixture *f = *state;
    put_object(f, "people.csv", PEOPLE, sizeof PEOPLE - 1);
    json_t *job = ingest_wait(f, json_pack("{s:s, s:o}", "dataset", "people", "source",
                                           source("people.csv")));
    expect_state(job, "succeeded");
    assert_int_equal(int_at(job, "version"), 1);
    assert_int_equal(int_at(job, "rows_read"), 3);
    assert_int_equal(int_at(job, "rows_rejected"), 0);
    assert_int_equal(int_at(job, "bytes"), (json_int_t)(sizeof PEOPLE - 1));
    char *job_schema = schema_text(json_object_get(job, "schema"));
    assert_string_equal(job_schema, "id:integer name:text age:integer? score:real "
                                    "active:boolean note:text?");

    json_t *ds =
        lh_test_ok(lh_test_call_j(f->nc, &lh_ep_catalog_get, json_pack("{s:s}", "name", "people")));
    assert_string_equal(str_at(ds, "format"), "csv");
    json_t *v = json_object_get(ds, "version");
    char *cat_schema = schema_text(json_object_get(v, "schema"));
    assert_string_equal(cat_schema, job_schema);
    assert_int_equal(int_at(v, "rows"), 3);
    assert_int_equal(int_at(v, "bytes"), (json_int_t)(sizeof PEOPLE - 1));
    char *sha = object_sha(f, BUCKET, "people.csv");
    assert_string_equal(str_at(v, "sha256"), sha);
    json_t *loc = json_object_get(v, "location");
    assert_string_equal(str_at(loc, "bucket"), BUCKET);
    assert_string_equal(str_at(loc, "key"), "people.csv");
    /* the source object is untouched */
    char *sha_after = object_sha(f, BUCKET, "people.csv");
    assert_string_equal(sha, sha_after);
    free(sha);
    free(sha_after);
    free(job_schema);
    free(cat_schema);
    json_decref(ds);
    json_decref(job);
}

/* Inline content without wait; then status (waiting and not); a second
 * ingest is the next version. */
static void test_inline_content_and_status(void **state)
{
    fixture *f = *state;
    const char *csv = "k;v\na;1\nb;2\n";
    json_t *queued = lh_test_ok(
        lh_test_call_j(f->nc, &lh_ep_ingest_file,
                       json_pack("{s:s, s:s, s:s, s:{s:s}}", "dataset", "inline_ds", "content", csv,
                                 "format", "csv", "csv", "delimiter", ";")));
    assert_string_equal(str_at(queued, "state"), "queued");
    const char *id = str_at(queued, "job");
    assert_int_equal(strlen(id), 22);
    json_t *done = lh_test_ok(
        lh_test_call_j(f->nc, &lh_ep_ingest_status, json_pack("{s:s, s:b}", "job", id, "wait", 1)));
    expect_state(done, "succeeded");
    assert_int_equal(int_at(done, "rows_read"), 2);
    assert_int_equal(int_at(done, "version"), 1);
    assert_non_null(str_at(done, "started"));
    assert_non_null(str_at(done, "finished"));
    json_t *again =
        lh_test_ok(lh_test_call_j(f->nc, &lh_ep_ingest_status, json_pack("{s:s}", "job", id)));
    assert_true(json_equal(again, done));
    json_t *ds = lh_test_ok(
        lh_test_call_j(f->nc, &lh_ep_catalog_get, json_pack("{s:s}", "name", "inline_ds")));
    json_t *loc = json_object_get(json_object_get(ds, "version"), "location");
    assert_string_equal(str_at(loc, "bucket"), "ingest-inline");
    assert_non_null(strstr(str_at(loc, "key"), id));
    /* the version says how to read it again, defaults spelled out */
    json_t *how = json_object_get(json_object_get(ds, "version"), "csv");
    assert_string_equal(str_at(how, "delimiter"), ";");
    assert_string_equal(str_at(how, "quote"), "\"");
    assert_true(json_is_true(json_object_get(how, "header")));
    json_t *second = ingest_wait(f, json_pack("{s:s, s:s, s:s, s:{s:s}}", "dataset", "inline_ds",
                                              "content", "k;v\nc;3\n", "format", "csv", "csv",
                                              "delimiter", ";"));
    expect_state(second, "succeeded");
    assert_int_equal(int_at(second, "version"), 2);
    json_decref(queued);
    json_decref(done);
    json_decref(again);
    json_decref(ds);
    json_decref(second);
}

/* ---- JSON Lines ---- */

static const char EVENTS[] = "{\"id\":1,\"kind\":\"a\",\"data\":{\"x\":[1,2]}}\n"
                             "{\"id\":2,\"kind\":\"b\"}\n"
                             "{\"id\":3,\"kind\":\n"
                             "\n"
                             "{\"id\":4,\"kind\":\"c\",\"extra\":2.5}\n";

static void test_jsonl_broken_line_fails_or_skips(void **state)
{
    fixture *f = *state;
    put_object(f, "events.jsonl", EVENTS, sizeof EVENTS - 1);
    json_t *failed = ingest_wait(f, json_pack("{s:s, s:o}", "dataset", "events", "source",
                                              source("events.jsonl")));
    expect_state(failed, "failed");
    assert_non_null(strstr(str_at(failed, "error"), "line 3"));
    json_t *e0 = json_array_get(json_object_get(failed, "errors"), 0);
    assert_int_equal(int_at(e0, "line"), 3);
    assert_int_equal(int_at(failed, "version"), 0);
    lh_test_expect(lh_test_call_j(f->nc, &lh_ep_catalog_get, json_pack("{s:s}", "name", "events")),
                   404, NULL, NULL);

    json_t *skipped = ingest_wait(f, json_pack("{s:s, s:o, s:s}", "dataset", "events", "source",
                                               source("events.jsonl"), "on_error", "skip"));
    expect_state(skipped, "succeeded");
    assert_int_equal(int_at(skipped, "rows_read"), 3);
    assert_int_equal(int_at(skipped, "rows_rejected"), 1);
    json_t *errs = json_object_get(skipped, "errors");
    assert_int_equal(json_array_size(errs), 1);
    assert_int_equal(int_at(json_array_get(errs, 0), "line"), 3);
    char *schema = schema_text(json_object_get(skipped, "schema"));
    assert_string_equal(schema, "id:integer kind:text data:text? extra:real?");
    json_t *ds =
        lh_test_ok(lh_test_call_j(f->nc, &lh_ep_catalog_get, json_pack("{s:s}", "name", "events")));
    assert_string_equal(str_at(ds, "format"), "jsonl");
    assert_int_equal(int_at(json_object_get(ds, "version"), "rows"), 3);
    assert_null(json_object_get(json_object_get(ds, "version"), "csv"));
    free(schema);
    json_decref(ds);
    json_decref(failed);
    json_decref(skipped);
}

/* ---- restarts ---- */

static void test_status_survives_restart(void **state)
{
    fixture *f = *state;
    json_t *job = ingest_wait(f, json_pack("{s:s, s:s, s:s}", "dataset", "restart_ds", "content",
                                           "a,b\n1,x\n2,y\n", "format", "csv"));
    expect_state(job, "succeeded");
    restart_ingestd(f);
    json_t *after = lh_test_ok(
        lh_test_call_j(f->nc, &lh_ep_ingest_status, json_pack("{s:s}", "job", str_at(job, "job"))));
    assert_true(json_equal(after, job));
    json_decref(after);
    json_decref(job);
}

/* A CSV of about `bytes` bytes. */
static char *big_csv(size_t bytes, size_t *len)
{
    lh_buf b;
    lh_buf_init(&b);
    lh_buf_append_str(&b, "n,word,value\n");
    for (int i = 1; b.len < bytes; i++)
        lh_buf_appendf(&b, "%d,w%d,%d.5\n", i, i % 977, i % 101);
    *len = b.len;
    return b.data;
}

/* Polls (bounded) until the job is running and has read something. */
static void wait_running(fixture *f, const char *id)
{
    for (int64_t deadline = lh_test_now_ms() + TIMEOUT_MS;;) {
        json_t *st =
            lh_test_ok(lh_test_call_j(f->nc, &lh_ep_ingest_status, json_pack("{s:s}", "job", id)));
        bool running = !strcmp(str_at(st, "state"), "running") && int_at(st, "bytes") > 0;
        if (strcmp(str_at(st, "state"), "running") && strcmp(str_at(st, "state"), "queued"))
            fail_msg("the job ended before it could be interrupted: %s", str_at(st, "state"));
        json_decref(st);
        if (running)
            return;
        if (lh_test_now_ms() > deadline)
            fail_msg("job %s never started running", id);
        lh_test_sleep_ms(5);
    }
}

static void expect_interrupted(json_t *job)
{
    expect_state(job, "failed");
    assert_non_null(strstr(str_at(job, "error"), "interrupted"));
    assert_non_null(str_at(job, "finished"));
}

static char *submit(fixture *f, const char *dataset, const char *key)
{
    json_t *q = lh_test_ok(
        lh_test_call_j(f->nc, &lh_ep_ingest_file,
                       json_pack("{s:s, s:o}", "dataset", dataset, "source", source(key))));
    char *id = strdup(str_at(q, "job"));
    json_decref(q);
    return id;
}

/* A clean stop fails the running job ("interrupted") and answers its
 * waiter; the record says the same after the restart. */
static void test_clean_stop_interrupts_running_job(void **state)
{
    fixture *f = *state;
    size_t len;
    char *csv = big_csv(2 << 20, &len);
    put_object(f, "big-stop.csv", csv, len);
    free(csv);
    setenv("LH_INGEST_CHUNK_BYTES", "64", 1); /* tens of thousands of ranges */
    restart_ingestd(f);
    unsetenv("LH_INGEST_CHUNK_BYTES");
    char *id = submit(f, "stopped", "big-stop.csv");
    wait_running(f, id);
    natsInbox *inbox = NULL;
    natsSubscription *sub = NULL;
    assert_int_equal(natsInbox_Create(&inbox), NATS_OK);
    assert_int_equal(natsConnection_SubscribeSync(&sub, f->nc, inbox), NATS_OK);
    char req[128];
    snprintf(req, sizeof req, "{\"job\":\"%s\",\"wait\":true}", id);
    natsConnection_PublishRequestString(f->nc, "ingest.status", inbox, req);
    natsConnection_Flush(f->nc);
    lh_test_stack_drop(f, &lh_ingest_actor);
    natsMsg *m = NULL;
    assert_int_equal(natsSubscription_NextMsg(&m, sub, TIMEOUT_MS), NATS_OK);
    json_t *heard = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, NULL);
    natsMsg_Destroy(m);
    expect_interrupted(heard);
    lh_test_stack_add(f, &lh_ingest_actor, 2);
    json_t *after =
        lh_test_ok(lh_test_call_j(f->nc, &lh_ep_ingest_status, json_pack("{s:s}", "job", id)));
    assert_true(json_equal(after, heard));
    lh_test_expect(lh_test_call_j(f->nc, &lh_ep_catalog_get, json_pack("{s:s}", "name", "stopped")),
                   404, NULL, NULL);
    json_decref(heard);
    json_decref(after);
    natsSubscription_Destroy(sub);
    natsInbox_Destroy(inbox);
    free(id);
}

/* SIGKILL in the middle of a job: after the restart the job is failed
 * ("interrupted"), and the same file then ingests fine. */
static void test_sigkill_mid_job(void **state)
{
    fixture *f = *state;
    size_t len;
    char *csv = big_csv(2 << 20, &len);
    put_object(f, "big-kill.csv", csv, len);
    free(csv);
    lh_test_stack_drop(f, &lh_ingest_actor); /* the process below serves ingest.* alone */
    static const char *const actors[] = {"ingestd", NULL};
    char small[] = "LH_INGEST_CHUNK_BYTES=64";
    char *const env[] = {small, NULL};
    lh_test_proc *p = lh_test_stack_serve(f, actors, NULL, env);
    char *id = submit(f, "killed", "big-kill.csv");
    wait_running(f, id);
    int st = lh_test_signal_wait(p, SIGKILL, 10000);
    assert_true(WIFSIGNALED(st));
    p = lh_test_stack_serve(f, actors, NULL, NULL);
    json_t *after =
        lh_test_ok(lh_test_call_j(f->nc, &lh_ep_ingest_status, json_pack("{s:s}", "job", id)));
    expect_interrupted(after);
    lh_test_expect(lh_test_call_j(f->nc, &lh_ep_catalog_get, json_pack("{s:s}", "name", "killed")),
                   404, NULL, NULL);
    json_t *again = ingest_wait(f, json_pack("{s:s, s:o}", "dataset", "killed", "source",
                                             source("big-kill.csv")));
    expect_state(again, "succeeded");
    assert_int_equal(int_at(again, "version"), 1);
    st = lh_test_signal_wait(p, SIGTERM, 30000);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    lh_test_stack_add(f, &lh_ingest_actor, 2);
    json_decref(after);
    json_decref(again);
    free(id);
}

/* ---- embedding ---- */

#define EMBED_ROWS 150

static const char *const ANIMALS[] = {"otter", "heron", "lynx", "moth", "carp", "wren", "yak"};
static const char *const COLORS[] = {"amber", "teal", "ochre", "slate", "plum"};

static void body_of(int i, char *out, size_t cap)
{
    if (i % 50 == 0)
        out[0] = '\0'; /* no text: not embedded */
    else
        snprintf(out, cap, "row %d speaks of the %s %s, number %d", i, COLORS[i % 5],
                 ANIMALS[i % 7], i * 7919);
}

static char *embed_csv(size_t *len)
{
    lh_buf b;
    lh_buf_init(&b);
    lh_buf_append_str(&b, "id,title,body,n,score,flag\n");
    for (int i = 1; i <= EMBED_ROWS; i++) {
        char body[128];
        body_of(i, body, sizeof body);
        lh_buf_appendf(&b, "doc-%d,t%d,\"%s\",%d,%d.25,%s\n", i, i, body, i, i,
                       i % 2 ? "true" : "false");
    }
    *len = b.len;
    return b.data;
}

static json_t *search_text(fixture *f, const char *index, const char *text)
{
    json_t *r = lh_test_ok(
        lh_test_call_j(f->nc, &lh_ep_vector_search,
                       json_pack("{s:s, s:s, s:i}", "index", index, "text", text, "k", 1)));
    json_t *hit = json_incref(json_array_get(json_object_get(r, "hits"), 0));
    json_decref(r);
    if (!hit)
        fail_msg("no hit for '%s'", text);
    return hit;
}

static void test_embed_every_row_findable(void **state)
{
    fixture *f = *state;
    size_t len;
    char *csv = embed_csv(&len);
    put_object(f, "docs.csv", csv, len);
    free(csv);
    json_t *job = ingest_wait(f, json_pack("{s:s, s:o, s:{s:s, s:s, s:s}}", "dataset", "docs",
                                           "source", source("docs.csv"), "embed", "column",
                                           "body", "index", "docs_idx", "id_column", "id"));
    expect_state(job, "succeeded");
    int expected = EMBED_ROWS - EMBED_ROWS / 50;
    assert_int_equal(int_at(job, "rows_read"), EMBED_ROWS);
    assert_int_equal(int_at(job, "rows_embedded"), expected);
    json_t *stats = lh_test_ok(
        lh_test_call_j(f->nc, &lh_ep_vector_stats, json_pack("{s:s}", "index", "docs_idx")));
    assert_int_equal(int_at(stats, "count"), expected);
    assert_string_equal(str_at(stats, "metric"), "cosine");
    assert_string_equal(str_at(stats, "kind"), "hnsw");
    assert_string_equal(str_at(stats, "model"), "hash2-384"); /* embedd's default, recorded */
    for (int i = 1; i <= EMBED_ROWS; i++) {
        char body[128], id[32];
        body_of(i, body, sizeof body);
        if (!*body)
            continue;
        snprintf(id, sizeof id, "doc-%d", i);
        json_t *hit = search_text(f, "docs_idx", body);
        if (strcmp(str_at(hit, "id"), id))
            fail_msg("'%s' found %s first, not %s", body, str_at(hit, "id"), id);
        assert_string_equal(str_at(hit, "text"), body);
        if (i == 7) { /* the other columns, typed, as metadata */
            json_t *md = json_object_get(hit, "metadata");
            assert_string_equal(str_at(md, "id"), "doc-7");
            assert_string_equal(str_at(md, "title"), "t7");
            assert_true(json_is_integer(json_object_get(md, "n")));
            assert_int_equal(int_at(md, "n"), 7);
            assert_true(json_real_value(json_object_get(md, "score")) == 7.25);
            assert_true(json_is_true(json_object_get(md, "flag")));
            assert_null(json_object_get(md, "body"));
        }
        json_decref(hit);
    }
    json_decref(stats);
    json_decref(job);
}

/* Without an id column, ids are row numbers among the good rows. */
static void test_embed_row_number_ids(void **state)
{
    fixture *f = *state;
    const char *jl = "{\"t\":\"alpha beta\"}\n{\"t\":\"gamma delta\"}\n{bad\n{\"t\":\"epsilon\"}\n";
    json_t *job = ingest_wait(f, json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "dataset",
                                           "rownums", "content", jl, "format", "jsonl",
                                           "on_error", "skip", "embed", "column", "t", "index",
                                           "rownum_idx"));
    expect_state(job, "succeeded");
    assert_int_equal(int_at(job, "rows_embedded"), 3);
    const char *texts[] = {"alpha beta", "gamma delta", "epsilon"};
    for (int i = 0; i < 3; i++) {
        json_t *hit = search_text(f, "rownum_idx", texts[i]);
        char id[8];
        snprintf(id, sizeof id, "%d", i + 1);
        assert_string_equal(str_at(hit, "id"), id);
        json_decref(hit);
    }
    json_decref(job);
}

/* An index that recorded its model gets it for a job that names none (its
 * text searches then find each row's own vector), and a job naming another
 * model fails instead of mixing two models' vectors. */
static void test_embed_into_an_index_keeps_its_model(void **state)
{
    fixture *f = *state;
    json_decref(lh_test_ok(lh_test_call_s(
        f->nc, &lh_ep_vector_create,
        "{\"index\":\"pinned\",\"dimension\":384,\"model\":\"hash-384\"}")));
    const char *jl = "{\"t\":\"list directory contents\"}\n{\"t\":\"print the current date\"}\n";
    json_t *job = ingest_wait(f, json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "dataset", "pin",
                                           "content", jl, "format", "jsonl", "embed", "column",
                                           "t", "index", "pinned"));
    expect_state(job, "succeeded");
    assert_int_equal(int_at(job, "rows_embedded"), 2);
    json_decref(job);
    const char *texts[] = {"list directory contents", "print the current date"};
    for (int i = 0; i < 2; i++) {
        json_t *hit = search_text(f, "pinned", texts[i]);
        char id[8];
        snprintf(id, sizeof id, "%d", i + 1);
        assert_string_equal(str_at(hit, "id"), id);
        assert_true(fabs(json_real_value(json_object_get(hit, "score")) - 1.0) < 1e-4);
        json_decref(hit);
    }
    job = ingest_wait(f, json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s}}", "dataset", "pin",
                                   "content", jl, "format", "jsonl", "embed", "column", "t",
                                   "index", "pinned", "model", "hash2-384"));
    expect_state(job, "failed");
    assert_non_null(strstr(str_at(job, "error"), "holds vectors of model hash-384"));
    json_decref(job);
}

/* ---- bad requests ---- */

static void test_bad_requests_refused(void **state)
{
    fixture *f = *state;
    put_object(f, "ok.csv", "a,b\n1,2\n", 8);
    put_object(f, "data.txt", "a,b\n1,2\n", 8);
    json_decref(ingest_wait(f, json_pack("{s:s, s:o}", "dataset", "keep", "source",
                                         source("ok.csv"))));
    const lh_contract *in = &lh_ep_ingest_file;
    lh_test_expect(
        lh_test_call_j(f->nc, in,
                       json_pack("{s:s, s:o, s:s, s:s}", "dataset", "keep", "source",
                                 source("ok.csv"), "content", "a\n1\n", "format", "csv")),
        400, "source", "exactly one");
    lh_test_expect(lh_test_call_j(f->nc, in, json_pack("{s:s}", "dataset", "keep")), 400, "source",
                   "exactly one");
    lh_test_expect(
        lh_test_call_j(f->nc, in,
                       json_pack("{s:s, s:o}", "dataset", "keep", "source", source("nope.csv"))),
        404, "source", NULL);
    lh_test_expect(lh_test_call_j(f->nc, in,
                                  json_pack("{s:s, s:o, s:s}", "dataset", "keep", "source",
                                            source("ok.csv"), "format", "xml")),
                   400, "format", NULL);
    lh_test_expect(
        lh_test_call_j(f->nc, in, json_pack("{s:s, s:s}", "dataset", "keep", "content", "a\n1\n")),
        400, "format", "required");
    lh_test_expect(
        lh_test_call_j(f->nc, in,
                       json_pack("{s:s, s:o}", "dataset", "keep", "source", source("data.txt"))),
        400, "format", "data.txt");
    lh_test_expect(
        lh_test_call_j(f->nc, in,
                       json_pack("{s:s, s:s, s:s, s:{s:s}}", "dataset", "keep", "content", "{}",
                                 "format", "jsonl", "csv", "delimiter", ";")),
        400, "csv", NULL);
    lh_test_expect(lh_test_call_j(f->nc, in,
                                  json_pack("{s:s, s:o, s:{s:s}}", "dataset", "keep", "source",
                                            source("ok.csv"), "csv", "delimiter", "\"")),
                   400, "csv.quote", NULL);
    lh_test_expect(lh_test_call_j(f->nc, in,
                                  json_pack("{s:s, s:o, s:s}", "dataset", "keep", "source",
                                            source("ok.csv"), "on_error", "ignore")),
                   400, "on_error", NULL);
    lh_test_expect(
        lh_test_call_j(f->nc, in,
                       json_pack("{s:s, s:o}", "dataset", "1bad", "source", source("ok.csv"))),
        400, "dataset", NULL);
    lh_test_expect(
        lh_test_call_j(f->nc, in,
                       json_pack("{s:s, s:o, s:{s:s, s:s}}", "dataset", "keep", "source",
                                 source("ok.csv"), "embed", "column", "a", "index", "a/b")),
        400, "embed.index", NULL);
    lh_test_expect(lh_test_call_j(f->nc, in,
                                  json_pack("{s:s, s:s, s:s}", "dataset", "keep", "content",
                                            "{\"a\":1}\n", "format", "jsonl")),
                   409, "format", "csv");
    lh_test_expect(
        lh_test_call_j(f->nc, &lh_ep_ingest_status, json_pack("{s:s}", "job", "no-such-job")), 404,
        "job", NULL);
    /* accepted, but the job fails before committing anything */
    json_t *job = ingest_wait(f, json_pack("{s:s, s:o, s:{s:s, s:s}}", "dataset", "keep",
                                           "source", source("ok.csv"), "embed", "column",
                                           "nope", "index", "keep_idx"));
    expect_state(job, "failed");
    assert_non_null(strstr(str_at(job, "error"), "embed.column 'nope'"));
    json_decref(job);
    json_t *ds =
        lh_test_ok(lh_test_call_j(f->nc, &lh_ep_catalog_get, json_pack("{s:s}", "name", "keep")));
    assert_int_equal(int_at(ds, "latest"), 1); /* nothing refused changed it */
    json_decref(ds);
}

/* ---- progress events ---- */

static void test_progress_events(void **state)
{
    fixture *f = *state;
    natsSubscription *sub = NULL;
    assert_int_equal(natsConnection_SubscribeSync(&sub, f->nc, "events.ingestd.progress"),
                     NATS_OK);
    natsConnection_Flush(f->nc);
    json_t *job = ingest_wait(f, json_pack("{s:s, s:s, s:s}", "dataset", "evented", "content",
                                           "a\n1\n2\n", "format", "csv"));
    expect_state(job, "succeeded");
    bool saw_end = false;
    while (!saw_end) {
        natsMsg *m = NULL;
        if (natsSubscription_NextMsg(&m, sub, TIMEOUT_MS) != NATS_OK)
            fail_msg("no final progress event");
        lh_buf json;
        lh_buf_init(&json);
        assert_null(lh_msgpack_to_json(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m),
                                       &json));
        json_t *envelope = json_loads(lh_buf_cstr(&json), 0, NULL);
        assert_string_equal(str_at(envelope, "type"), "ingestd.progress");
        json_t *ev = json_incref(json_object_get(envelope, "data"));
        json_decref(envelope);
        if (!strcmp(str_at(ev, "job"), str_at(job, "job"))) {
            assert_string_equal(str_at(ev, "dataset"), "evented");
            saw_end = !strcmp(str_at(ev, "state"), "succeeded");
            if (saw_end) {
                assert_int_equal(int_at(ev, "rows"), 2);
                assert_int_equal(int_at(ev, "version"), 1);
                assert_int_equal(int_at(ev, "bytes"), 6);
            }
        }
        json_decref(ev);
        lh_buf_free(&json);
        natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(sub);
    json_decref(job);
}

/* ---- the gateway and the command ---- */

static json_t *http_json(int port, const char *method, const char *path, const char *body,
                         long *status)
{
    static const char *const headers[] = {"Content-Type: application/json", NULL};
    lh_test_response r = lh_test_fetch(port, method, path, headers, body, body ? strlen(body) : 0);
    *status = r.status;
    json_t *j = json_incref(r.json);
    lh_test_response_free(&r);
    return j;
}

/* Options of GET routes come from the query string, typed by the schema. */
static void expect_http(int port, const char *path, long want, const char *says)
{
    long status;
    json_t *j = http_json(port, "GET", path, NULL, &status);
    if (status != want)
        fail_msg("GET %s: %ld, expected %ld", path, status, want);
    if (says) {
        char *text = json_dumps(j, 0);
        if (!strstr(text, says))
            fail_msg("GET %s: '%s' does not say '%s'", path, text, says);
        free(text);
    }
    json_decref(j);
}

static void expect_query_options(int port, const char *job)
{
    char path[160];
    snprintf(path, sizeof path, "/v1/ingest/%s?wait=true", job);
    expect_http(port, path, 200, "\"succeeded\"");
    snprintf(path, sizeof path, "/v1/ingest/%s?wait", job);
    expect_http(port, path, 200, "\"succeeded\"");
    snprintf(path, sizeof path, "/v1/ingest/%s?wait=perhaps", job);
    expect_http(port, path, 400, "wait must be true or false");
    snprintf(path, sizeof path, "/v1/ingest/%s?colour=red", job);
    expect_http(port, path, 400, "unknown query parameter 'colour' (expected wait)");
    snprintf(path, sizeof path, "/v1/ingest/%s?job=other", job);
    expect_http(port, path, 400, "unknown query parameter 'job'");
    long status;
    json_t *v2 = http_json(port, "POST", "/v1/ingest",
                           "{\"dataset\":\"gw_ds\",\"content\":\"a,b\\n1,2\\n3,4\\n\","
                           "\"format\":\"csv\",\"wait\":true}",
                           &status);
    assert_int_equal(int_at(v2, "version"), 2);
    json_decref(v2);
    json_t *ds = http_json(port, "GET", "/v1/datasets/gw_ds?version=1", NULL, &status);
    assert_int_equal(status, 200);
    assert_int_equal(int_at(json_object_get(ds, "version"), "version"), 1);
    assert_int_equal(int_at(json_object_get(ds, "version"), "rows"), 1);
    json_decref(ds);
    ds = http_json(port, "GET", "/v1/datasets/gw_ds", NULL, &status);
    assert_int_equal(int_at(json_object_get(ds, "version"), "rows"), 2);
    json_decref(ds);
    expect_http(port, "/v1/datasets/gw_ds?version=7", 404, "no version 7");
    expect_http(port, "/v1/datasets/gw_ds?version=seven", 400, "version must be an integer");
    expect_http(port, "/v1/datasets/gw_ds?version=1&version=2", 400, "given twice");
    expect_http(port, "/v1/datasets?prefix=GW_", 200, "\"gw_ds\"");
    expect_http(port, "/v1/datasets?prefix=zz", 200, "{\"datasets\": []}");
}

static void test_gateway_routes(void **state)
{
    fixture *f = *state;
    lh_test_stack_add(f, &lh_gateway_actor, 2);
    int port = f->http_port;
    long status;
    json_t *job = http_json(port, "POST", "/v1/ingest",
                            "{\"dataset\":\"gw_ds\",\"content\":\"a,b\\n1,2\\n\",\"format\":"
                            "\"csv\",\"wait\":true}",
                            &status);
    assert_int_equal(status, 200);
    expect_state(job, "succeeded");
    char path[128];
    snprintf(path, sizeof path, "/v1/ingest/%s", str_at(job, "job"));
    json_t *again = http_json(port, "GET", path, NULL, &status);
    assert_int_equal(status, 200);
    assert_true(json_equal(again, job));
    json_t *missing = http_json(port, "GET", "/v1/ingest/nope", NULL, &status);
    assert_int_equal(status, 404);
    expect_query_options(port, str_at(job, "job"));
    json_t *bad = http_json(port, "POST", "/v1/ingest", "{\"dataset\":\"gw_ds\"}", &status);
    assert_int_equal(status, 400);
    json_decref(job);
    json_decref(again);
    json_decref(missing);
    json_decref(bad);
    lh_test_stack_drop(f, &lh_gateway_actor);
}

static void test_cli_ingest(void **state)
{
    fixture *f = *state;
    size_t len;
    char *csv = big_csv(3u << 20, &len); /* several 1 MiB parts */
    char path[600], log[600];
    snprintf(path, sizeof path, "%s/cli input.csv", f->data_dir);
    snprintf(log, sizeof log, "%s/cli.log", f->data_dir);
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(csv, 1, len, out), len);
    fclose(out);
    int64_t rows = 0;
    for (size_t i = 0; i < len; i++)
        rows += csv[i] == '\n';
    rows -= 1; /* the header */
    free(csv);
    char *argv[] = {LH_BINARY, "ingest", path, "--dataset", "cli_ds", NULL};
    int rc = lh_test_stack_run(f, argv, log, 120000);
    if (rc != 0) {
        lh_test_log_tail(log, 20);
        fail_msg("lakehouse ingest exited %d", rc);
    }
    char *text = lh_test_read_file(log, NULL);
    assert_non_null(strstr(text, "dataset cli_ds version 1"));
    free(text);
    json_t *ds =
        lh_test_ok(lh_test_call_j(f->nc, &lh_ep_catalog_get, json_pack("{s:s}", "name", "cli_ds")));
    json_t *v = json_object_get(ds, "version");
    assert_int_equal(int_at(v, "rows"), rows);
    assert_int_equal(int_at(v, "bytes"), (json_int_t)len);
    assert_string_equal(str_at(json_object_get(v, "location"), "bucket"), "ingest-uploads");
    json_decref(ds);
    char *no_dataset[] = {LH_BINARY, "ingest", path, NULL};
    assert_int_equal(lh_test_stack_run(f, no_dataset, log, 120000), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_becomes_a_version),
        cmocka_unit_test(test_inline_content_and_status),
        cmocka_unit_test(test_jsonl_broken_line_fails_or_skips),
        cmocka_unit_test(test_status_survives_restart),
        cmocka_unit_test(test_clean_stop_interrupts_running_job),
        cmocka_unit_test(test_sigkill_mid_job),
        cmocka_unit_test(test_embed_every_row_findable),
        cmocka_unit_test(test_embed_row_number_ids),
        cmocka_unit_test(test_embed_into_an_index_keeps_its_model),
        cmocka_unit_test(test_bad_requests_refused),
        cmocka_unit_test(test_progress_events),
        cmocka_unit_test(test_gateway_routes),
        cmocka_unit_test(test_cli_ingest),
    };
    return cmocka_run_group_tests(tests, group_setup, lh_test_stack_teardown);
}
