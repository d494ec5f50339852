/*
 * test_catalog.c — catalogd on a real nats-server: dataset lifecycle,
 * versions and their history, reads of old versions, every refusal (each
 * followed by proof that nothing changed), durability across a clean
 * restart and across SIGKILL right after acknowledged commits, concurrent
 * commits from several threads to two workers (distinct, consecutive
 * versions), the events on events.catalogd.*, and the gateway's routes.
 *
 * Most tests run catalogd in this process (lh_actor_create, two workers);
 * the SIGKILL test runs `lakehouse serve catalogd` as a real process.
 */
#include "tests/support/harness.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "actors/catalog/catalog.h"
#include "bus/actor.h"
#include "bus/codec.h"
#include "bus/json.h"
#include "gateway/gateway.h"
#include "ops/registry.h"
#include "schemas/catalog.h"

#define TIMEOUT_MS 60000
#define SHA_A "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define SHA_B "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"

/* The fixture is the stack: nats-server, the test's connection, and
 * catalogd in this process on a fresh data directory per test. */
typedef lh_test_stack fixture;

static int setup(void **state)
{
    lh_test_stack_add(*state, &lh_catalog_actor, 2);
    return 0;
}

/* ---- talking to catalogd (JSON in, JSON out) ---- */

static void create(fixture *f, const char *name, const char *format)
{
    json_decref(lh_test_ok(lh_test_call_j(
        f->nc, &lh_ep_catalog_create, json_pack("{s:s, s:s}", "name", name, "format", format))));
}

/* A commit body: location cat-data/<key>, columns id:integer and one
 * text column named `col`, the given rows and sha256. */
static char *commit_body(const char *name, const char *key, const char *col, long long rows,
                         const char *sha)
{
    json_t *doc = json_pack("{s:s, s:{s:s, s:s}, s:[{s:s, s:s, s:b}, {s:s, s:s}], s:I, s:I, s:s}",
                            "name", name, "location", "bucket", "cat-data", "key", key,
                            "schema", "name", "id", "type", "integer", "nullable", 0, "name",
                            col, "type", "text", "rows", (json_int_t)rows, "bytes",
                            (json_int_t)(rows * 10), "sha256", sha);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

static json_t *commit(fixture *f, const char *name, const char *key, const char *col,
                      long long rows, const char *sha)
{
    char *body = commit_body(name, key, col, rows, sha);
    json_t *rep = lh_test_ok(lh_test_call_s(f->nc, &lh_ep_catalog_commit, body));
    free(body);
    return rep;
}

static json_t *get(fixture *f, const char *name, long long version)
{
    return lh_test_ok(lh_test_call_j(
        f->nc, &lh_ep_catalog_get,
        version ? json_pack("{s:s, s:I}", "name", name, "version", (json_int_t)version)
                : json_pack("{s:s}", "name", name)));
}

static json_t *list(fixture *f, const char *prefix)
{
    return lh_test_ok(lh_test_call_j(
        f->nc, &lh_ep_catalog_list, prefix ? json_pack("{s:s}", "prefix", prefix) : json_object()));
}

static const char *str_at(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static long long int_at(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static const char *name_at(json_t *arr, size_t i) { return str_at(json_array_get(arr, i), "name"); }

/* ---- lifecycle ---- */

static void assert_rfc3339_utc(const char *s)
{
    assert_non_null(s);
    /* 2024-06-01T12:00:00.123Z */
    assert_int_equal(strlen(s), 24);
    assert_true(s[4] == '-' && s[10] == 'T' && s[19] == '.' && s[23] == 'Z');
}

static void test_create_then_get(void **state)
{
    fixture *f = *state;
    json_t *d = lh_test_ok(
        lh_test_call_s(f->nc, &lh_ep_catalog_create,
                       "{\"name\":\"Sales\",\"format\":\"csv\",\"description\":\"Daily sales\","
                       "\"tags\":[\"finance\",\"daily\"]}"));
    assert_string_equal(str_at(d, "name"), "Sales");
    assert_string_equal(str_at(d, "format"), "csv");
    assert_string_equal(str_at(d, "description"), "Daily sales");
    assert_int_equal(json_array_size(json_object_get(d, "tags")), 2);
    assert_rfc3339_utc(str_at(d, "created"));
    assert_int_equal(int_at(d, "latest"), 0);
    assert_null(json_object_get(d, "version"));
    assert_null(json_object_get(d, "versions"));
    json_decref(d);

    d = get(f, "sales", 0); /* names are case-insensitive; the stored case is kept */
    assert_string_equal(str_at(d, "name"), "Sales");
    assert_string_equal(json_string_value(json_array_get(json_object_get(d, "tags"), 1)), "daily");
    assert_null(json_object_get(d, "version"));
    assert_true(json_is_array(json_object_get(d, "versions")));
    assert_int_equal(json_array_size(json_object_get(d, "versions")), 0);
    json_decref(d);
}

static void test_list_by_name_and_prefix(void **state)
{
    fixture *f = *state;
    create(f, "Sales", "csv");
    create(f, "sales_eu", "jsonl");
    create(f, "orders", "csv");
    create(f, "_private", "csv");
    json_t *l = list(f, NULL);
    json_t *ds = json_object_get(l, "datasets");
    assert_int_equal(json_array_size(ds), 4);
    assert_string_equal(name_at(ds, 0), "_private");
    assert_string_equal(name_at(ds, 1), "orders");
    assert_string_equal(name_at(ds, 2), "Sales");
    assert_string_equal(name_at(ds, 3), "sales_eu");
    assert_null(json_object_get(json_array_get(ds, 0), "versions"));
    json_decref(l);

    l = list(f, "SAL"); /* prefixes ignore case too */
    ds = json_object_get(l, "datasets");
    assert_int_equal(json_array_size(ds), 2);
    assert_string_equal(name_at(ds, 0), "Sales");
    assert_string_equal(name_at(ds, 1), "sales_eu");
    json_decref(l);
    l = list(f, "sales-");
    assert_int_equal(json_array_size(json_object_get(l, "datasets")), 0);
    json_decref(l);
    l = list(f, "");
    assert_int_equal(json_array_size(json_object_get(l, "datasets")), 4);
    json_decref(l);
}

static void test_delete_frees_the_name(void **state)
{
    fixture *f = *state;
    create(f, "Sales", "csv");
    create(f, "sales_eu", "csv");
    json_t *d = lh_test_ok(lh_test_call_s(f->nc, &lh_ep_catalog_delete, "{\"name\":\"SALES\"}"));
    assert_string_equal(str_at(d, "name"), "Sales");
    assert_int_equal(int_at(d, "versions"), 0);
    json_decref(d);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_catalog_get, "{\"name\":\"Sales\"}"), 404, "name",
                   "no dataset named");
    json_t *l = list(f, "sal");
    assert_int_equal(json_array_size(json_object_get(l, "datasets")), 1);
    json_decref(l);
    create(f, "sales", "jsonl"); /* free again, in any case */
    d = get(f, "SALES", 0);
    assert_string_equal(str_at(d, "name"), "sales");
    assert_string_equal(str_at(d, "format"), "jsonl");
    assert_int_equal(json_array_size(json_object_get(d, "tags")), 0);
    json_decref(d);
}

static void test_longest_name_and_keyword_like_names(void **state)
{
    fixture *f = *state;
    char name[64];
    memset(name, 'n', 63);
    name[63] = '\0';
    create(f, name, "csv");
    json_t *d = get(f, name, 0);
    assert_string_equal(str_at(d, "name"), name);
    json_decref(d);
    /* Words that contain keywords, or are keywords with a suffix, are fine. */
    create(f, "selection", "csv");
    create(f, "table_1", "csv");
    create(f, "x123", "csv");
    json_t *l = list(f, NULL);
    assert_int_equal(json_array_size(json_object_get(l, "datasets")), 4);
    json_decref(l);
}

/* ---- versions ---- */

static void assert_version(json_t *v, long long n, const char *key, long long rows,
                           bool with_schema)
{
    assert_non_null(v);
    assert_int_equal(int_at(v, "version"), n);
    json_t *loc = json_object_get(v, "location");
    assert_string_equal(str_at(loc, "bucket"), "cat-data");
    assert_string_equal(str_at(loc, "key"), key);
    assert_int_equal(int_at(v, "rows"), rows);
    assert_int_equal(int_at(v, "bytes"), rows * 10);
    assert_int_equal(strlen(str_at(v, "sha256")), 64);
    assert_rfc3339_utc(str_at(v, "committed"));
    assert_true(with_schema == (json_object_get(v, "schema") != NULL));
}

static const char *const KEYS[] = {"events/1.csv", "events/2.csv", "events/3.csv"};
static const char *const COLS[] = {"first", "second", "third"};

/* Creates `events` with three versions: KEYS[i], columns id and COLS[i],
 * 100 * (i + 1) rows, version 2 with SHA_B. */
static void three_versions(fixture *f)
{
    create(f, "events", "csv");
    for (int i = 0; i < 3; i++)
        json_decref(commit(f, "events", KEYS[i], COLS[i], 100 * (i + 1), i == 1 ? SHA_B : SHA_A));
}

static void test_commit_answers_the_new_version(void **state)
{
    fixture *f = *state;
    create(f, "events", "csv");
    for (int i = 0; i < 3; i++) {
        json_t *d = commit(f, "EVENTS", KEYS[i], COLS[i], 100 * (i + 1), SHA_A);
        assert_string_equal(str_at(d, "name"), "events");
        assert_int_equal(int_at(d, "latest"), i + 1);
        json_t *v = json_object_get(d, "version");
        assert_version(v, i + 1, KEYS[i], 100 * (i + 1), true);
        assert_string_equal(str_at(json_array_get(json_object_get(v, "schema"), 1), "name"),
                            COLS[i]);
        assert_null(json_object_get(d, "versions"));
        json_decref(d);
    }
}

static void test_get_describes_latest_with_history(void **state)
{
    fixture *f = *state;
    three_versions(f);
    json_t *d = get(f, "events", 0);
    assert_int_equal(int_at(d, "latest"), 3);
    json_t *v = json_object_get(d, "version");
    assert_version(v, 3, KEYS[2], 300, true);
    json_t *schema = json_object_get(v, "schema");
    assert_int_equal(json_array_size(schema), 2);
    json_t *c0 = json_array_get(schema, 0), *c1 = json_array_get(schema, 1);
    assert_string_equal(str_at(c0, "name"), "id");
    assert_string_equal(str_at(c0, "type"), "integer");
    assert_true(json_is_false(json_object_get(c0, "nullable")));
    assert_string_equal(str_at(c1, "type"), "text");
    assert_true(json_is_true(json_object_get(c1, "nullable"))); /* the default */
    json_t *hist = json_object_get(d, "versions");
    assert_int_equal(json_array_size(hist), 3);
    for (size_t i = 0; i < 3; i++)
        assert_version(json_array_get(hist, i), (long long)i + 1, KEYS[i],
                       100 * ((long long)i + 1), false);
    assert_string_equal(str_at(json_array_get(hist, 1), "sha256"), SHA_B);
    /* Commit times never go backwards. */
    assert_true(strcmp(str_at(json_array_get(hist, 0), "committed"),
                       str_at(json_array_get(hist, 2), "committed")) <= 0);
    json_decref(d);
}

static void test_get_old_version_and_list_latest(void **state)
{
    fixture *f = *state;
    three_versions(f);
    /* An old version, with its own schema; the history stays whole. */
    json_t *d = get(f, "events", 2);
    assert_int_equal(int_at(d, "latest"), 3);
    json_t *v = json_object_get(d, "version");
    assert_version(v, 2, KEYS[1], 200, true);
    assert_string_equal(str_at(json_array_get(json_object_get(v, "schema"), 1), "name"), "second");
    assert_int_equal(json_array_size(json_object_get(d, "versions")), 3);
    json_decref(d);
    /* list: the latest version, without schema or history. */
    json_t *l = list(f, "ev");
    json_t *item = json_array_get(json_object_get(l, "datasets"), 0);
    assert_int_equal(int_at(item, "latest"), 3);
    assert_version(json_object_get(item, "version"), 3, KEYS[2], 300, false);
    assert_null(json_object_get(item, "versions"));
    json_decref(l);
}

static void test_recreated_dataset_starts_at_version_1(void **state)
{
    fixture *f = *state;
    three_versions(f);
    json_t *d = lh_test_ok(lh_test_call_s(f->nc, &lh_ep_catalog_delete, "{\"name\":\"events\"}"));
    assert_int_equal(int_at(d, "versions"), 3);
    json_decref(d);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_catalog_get, "{\"name\":\"events\",\"version\":1}"),
                   404, "name", NULL);
    create(f, "events", "csv");
    json_decref(commit(f, "events", "again.csv", "x", 1, SHA_A));
    d = get(f, "events", 0);
    assert_int_equal(int_at(d, "latest"), 1);
    json_t *hist = json_object_get(d, "versions");
    assert_int_equal(json_array_size(hist), 1);
    assert_string_equal(str_at(json_object_get(json_array_get(hist, 0), "location"), "key"),
                        "again.csv");
    json_decref(d);
}

static void test_sha256_is_stored_lowercase(void **state)
{
    fixture *f = *state;
    create(f, "hashes", "csv");
    char upper[65];
    for (int i = 0; i < 64; i++)
        upper[i] = (char)(SHA_A[i] >= 'a' && SHA_A[i] <= 'f' ? SHA_A[i] - 32 : SHA_A[i]);
    upper[64] = '\0';
    json_t *d = commit(f, "hashes", "h.csv", "x", 1, upper);
    assert_string_equal(str_at(json_object_get(d, "version"), "sha256"), SHA_A);
    json_decref(d);
}

/* ---- refusals ---- */

/* Everything a reader can see: both datasets described and the listing. */
static json_t *whole_state(fixture *f)
{
    return json_pack("{s:o, s:o, s:o}", "base", get(f, "base", 0), "empty", get(f, "empty", 0),
                     "list", list(f, NULL));
}

static void refuse_bad_names(fixture *f)
{
    static const struct {
        const char *name;
        const char *words;
    } bad[] = {
        {"", "must not be empty"},
        {"1abc", "must start with a letter or '_'"},
        {"a-b", "only letters, digits and '_'"},
        {"a b", "only letters, digits and '_'"},
        {"a.b", "only letters, digits and '_'"},
        {"caf\xc3\xa9", "only letters, digits and '_'"},
        {"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", "at most 63"},
        {"select", "SQL keyword"},
        {"SELECT", "SQL keyword"},
        {"Table", "SQL keyword"},
        {"order", "SQL keyword"},
        {"sqlite_master", "reserved by SQLite"},
        {"SQLite_stuff", "reserved by SQLite"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *doc = json_pack("{s:s, s:s}", "name", bad[i].name, "format", "csv");
        char *body = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        lh_test_expect(lh_test_call_s(f->nc, &lh_ep_catalog_create, body), 400, "name",
                       bad[i].words);
        free(body);
    }
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_catalog_get, "{\"name\":\"a-b\"}"), 400, "name",
                   "only letters");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_catalog_delete, "{\"name\":\"drop\"}"), 400, "name",
                   "SQL keyword");
    lh_test_expect(
        lh_test_call_s(f->nc, &lh_ep_catalog_commit,
                       "{\"name\":\"9x\",\"location\":{\"bucket\":\"cat-data\",\"key\":\"k\"},"
                       "\"schema\":[{\"name\":\"a\",\"type\":\"text\"}],\"rows\":1,\"bytes\":1,"
                       "\"sha256\":\"" SHA_A "\"}"),
        400, "name", "must start with");
}

static void refuse_bad_creates(fixture *f)
{
    lh_test_expect(
        lh_test_call_s(f->nc, &lh_ep_catalog_create, "{\"name\":\"BASE\",\"format\":\"csv\"}"), 409,
        "name", "already exists");
    lh_test_expect(
        lh_test_call_s(f->nc, &lh_ep_catalog_create, "{\"name\":\"base\",\"format\":\"jsonl\"}"),
        409, "name", "'base' already exists");
    lh_test_expect(
        lh_test_call_s(f->nc, &lh_ep_catalog_create, "{\"name\":\"other\",\"format\":\"parquet\"}"),
        400, "format", "csv|jsonl");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_catalog_create, "{\"format\":\"csv\"}"), 400,
                   "name", "missing required field 'name'");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_catalog_create, "{\"name\":\"other\"}"), 400,
                   "format", "missing required field 'format'");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_catalog_create,
                                  "{\"name\":\"other\",\"format\":\"csv\",\"tags\":\"x\"}"),
                   400, "tags", NULL);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_catalog_create,
                                  "{\"name\":\"other\",\"format\":\"csv\",\"owner\":\"me\"}"),
                   400, "owner", "unknown field");
}

/* A commit of `base` with one part replaced: `location`, `schema` and the
 * tail (rows, bytes, sha256) as JSON text. */
static void refuse_commit(fixture *f, const char *name, const char *location, const char *schema,
                          const char *tail, int code, const char *field, const char *words)
{
    char body[2048];
    snprintf(body, sizeof body, "{\"name\":\"%s\"%s%s%s%s%s}", name,
             location ? ",\"location\":" : "", location ? location : "",
             schema ? ",\"schema\":" : "", schema ? schema : "", tail);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_catalog_commit, body), code, field, words);
}

static void refuse_bad_commits(fixture *f)
{
    const char *loc = "{\"bucket\":\"cat-data\",\"key\":\"k.csv\"}";
    const char *cols = "[{\"name\":\"a\",\"type\":\"text\"}]";
    const char *tail = ",\"rows\":1,\"bytes\":1,\"sha256\":\"" SHA_A "\"";
    refuse_commit(f, "nosuch", loc, cols, tail, 404, "name", "no dataset named 'nosuch'");
    refuse_commit(f, "base", loc,
                  "[{\"name\":\"a\",\"type\":\"text\"},{\"name\":\"b\",\"type\":\"real\"},"
                  "{\"name\":\"A\",\"type\":\"integer\"}]",
                  tail, 400, "schema[2].name", "appears twice");
    refuse_commit(f, "base", loc, "[{\"name\":\"a\\tb\",\"type\":\"text\"}]", tail, 400,
                  "schema[0].name", "control character");
    refuse_commit(f, "base", loc, "[{\"name\":\"a\",\"type\":\"blob\"}]", tail, 400,
                  "schema[0].type", "integer|real|boolean|text");
    refuse_commit(f, "base", loc, "[{\"type\":\"text\"}]", tail, 400, "schema[0].name",
                  "missing required field");
    refuse_commit(f, "base", loc, "[]", tail, 400, "schema", "at least 1");
    refuse_commit(f, "base", loc, NULL, tail, 400, "schema", "missing required field 'schema'");
    refuse_commit(f, "base", loc, cols,
                  ",\"rows\":1,\"bytes\":1,\"sha256\":\"" SHA_A "\",\"source_kept\":false",
                  400, "source_kept", "needs `parquet`");
    refuse_commit(f, "base", loc, cols,
                  ",\"rows\":1,\"bytes\":1,\"sha256\":\"" SHA_A "\",\"parquet\":{\"location\":"
                  "{\"bucket\":\"cat-data\",\"key\":\"k.parquet\"},\"bytes\":1,"
                  "\"sha256\":\"zz86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"}",
                  400, "parquet.sha256", NULL);
    refuse_commit(f, "base", loc, cols,
                  ",\"rows\":1,\"bytes\":1,\"sha256\":\"" SHA_A "\",\"parquet\":{\"bytes\":1,"
                  "\"sha256\":\"" SHA_A "\"}",
                  400, "parquet.location", "missing required field");
    refuse_commit(f, "base", NULL, cols, tail, 400, "location", "missing required field");
    refuse_commit(f, "base", "{\"bucket\":\"cat-data\"}", cols, tail, 400, "location.key",
                  "missing required field 'location.key'");
    refuse_commit(f, "base", "\"cat-data/k\"", cols, tail, 400, "location", "must be an object");
    refuse_commit(f, "base", loc, cols,
                  ",\"rows\":1,\"bytes\":1,\"sha256\":"
                  "\"zz86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"",
                  400, "sha256", "hexadecimal");
    refuse_commit(f, "base", loc, cols, ",\"rows\":1,\"bytes\":1,\"sha256\":\"abc\"", 400,
                  "sha256", "at least 64");
    refuse_commit(f, "base", loc, cols, ",\"bytes\":1,\"sha256\":\"" SHA_A "\"", 400, "rows",
                  "missing required field 'rows'");
    refuse_commit(f, "base", loc, cols, ",\"rows\":-1,\"bytes\":1,\"sha256\":\"" SHA_A "\"", 400,
                  "rows", NULL);
    refuse_commit(f, "base", loc, cols, ",\"rows\":1,\"bytes\":1", 400, "sha256",
                  "missing required field 'sha256'");
}

static void refuse_bad_reads(fixture *f)
{
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_catalog_get, "{\"name\":\"nosuch\"}"), 404, "name",
                   "no dataset named");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_catalog_get, "{\"name\":\"base\",\"version\":2}"),
                   404, "version", "no version 2 (its latest is 1)");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_catalog_get, "{\"name\":\"empty\",\"version\":1}"),
                   404, "version", "no versions yet");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_catalog_get, "{\"name\":\"base\",\"version\":-1}"),
                   400, "version", NULL);
    lh_test_expect(
        lh_test_call_s(f->nc, &lh_ep_catalog_get, "{\"name\":\"base\",\"version\":\"1\"}"), 400,
        "version", NULL);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_catalog_get, "{}"), 400, "name",
                   "missing required field 'name'");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_catalog_delete, "{\"name\":\"nosuch\"}"), 404,
                   "name", "no dataset named");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_catalog_list, "{\"prefix\":5}"), 400, "prefix",
                   NULL);
}

static void test_refusals_change_nothing(void **state)
{
    fixture *f = *state;
    create(f, "base", "csv");
    create(f, "empty", "jsonl");
    json_decref(commit(f, "base", "base/1.csv", "a", 10, SHA_A));
    json_t *before = whole_state(f);
    refuse_bad_names(f);
    refuse_bad_creates(f);
    refuse_bad_commits(f);
    refuse_bad_reads(f);
    json_t *after = whole_state(f);
    if (!json_equal(before, after)) {
        char *a = json_dumps(before, 0), *b = json_dumps(after, 0);
        fail_msg("state changed:\n%s\n%s", a, b);
    }
    json_decref(before);
    json_decref(after);
    /* And the next commit is still version 2. */
    json_t *d = commit(f, "base", "base/2.csv", "a", 20, SHA_A);
    assert_int_equal(int_at(d, "latest"), 2);
    json_decref(d);
}

/* ---- durability ---- */

static void test_clean_restart_keeps_everything(void **state)
{
    fixture *f = *state;
    create(f, "alpha", "csv");
    create(f, "beta", "jsonl");
    for (int i = 1; i <= 5; i++) {
        char key[32];
        snprintf(key, sizeof key, "alpha/%d.csv", i);
        json_decref(commit(f, "alpha", key, "v", i, SHA_A));
    }
    json_decref(commit(f, "beta", "beta.jsonl", "w", 7, SHA_B));
    json_t *before = json_pack("{s:o, s:o, s:o, s:o}", "a", get(f, "alpha", 0), "a3",
                               get(f, "alpha", 3), "b", get(f, "beta", 0), "l", list(f, NULL));
    lh_test_stack_restart(f, &lh_catalog_actor, 2);
    json_t *after = json_pack("{s:o, s:o, s:o, s:o}", "a", get(f, "alpha", 0), "a3",
                              get(f, "alpha", 3), "b", get(f, "beta", 0), "l", list(f, NULL));
    assert_true(json_equal(before, after));
    json_decref(before);
    json_decref(after);
    json_t *d = commit(f, "alpha", "alpha/6.csv", "v", 6, SHA_A);
    assert_int_equal(int_at(d, "latest"), 6);
    json_decref(d);
}

static const char *const CATALOGD[] = {"catalogd", NULL};
static const char *const TWO_WORKERS[] = {"--workers", "2", NULL};

/* `lakehouse serve catalogd` on the fixture's data directory. */
static lh_test_proc *serve_catalogd(fixture *f)
{
    return lh_test_stack_serve(f, CATALOGD, TWO_WORKERS, NULL);
}

static void assert_history(fixture *f, const char *name, long long latest)
{
    json_t *d = get(f, name, 0);
    assert_int_equal(int_at(d, "latest"), latest);
    json_t *hist = json_object_get(d, "versions");
    assert_int_equal(json_array_size(hist), latest);
    for (long long i = 0; i < latest; i++)
        assert_int_equal(int_at(json_array_get(hist, (size_t)i), "rows"), i + 1);
    json_decref(d);
}

static void test_sigkill_loses_nothing_acknowledged(void **state)
{
    fixture *f = *state;
    assert_non_null(lh_registry_find("catalogd"));
    lh_test_stack_drop(f, &lh_catalog_actor); /* the process owns the data directory */
    lh_test_proc *p = serve_catalogd(f);
    create(f, "killed", "csv");
    for (int i = 1; i <= 20; i++)
        json_decref(commit(f, "killed", "k.csv", "c", i, SHA_A));
    int status = lh_test_signal_wait(p, SIGKILL, 10000);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    p = serve_catalogd(f);
    assert_history(f, "killed", 20);
    /* Once more: a create and a delete right before the kill. */
    json_decref(commit(f, "killed", "k.csv", "c", 21, SHA_A));
    create(f, "fresh", "jsonl");
    create(f, "doomed", "csv");
    json_decref(lh_test_ok(lh_test_call_s(f->nc, &lh_ep_catalog_delete, "{\"name\":\"doomed\"}")));
    status = lh_test_signal_wait(p, SIGKILL, 10000);
    assert_true(WIFSIGNALED(status));
    p = serve_catalogd(f);
    assert_history(f, "killed", 21);
    json_t *l = list(f, NULL);
    json_t *ds = json_object_get(l, "datasets");
    assert_int_equal(json_array_size(ds), 2);
    assert_string_equal(name_at(ds, 0), "fresh");
    assert_string_equal(name_at(ds, 1), "killed");
    json_decref(l);
    status = lh_test_signal_wait(p, SIGTERM, 20000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- concurrency ---- */

enum { THREADS = 4, COMMITS = 25 };

typedef struct committer {
    fixture *f;
    int thread;
    long long versions[COMMITS]; /* what each commit was given */
    char error[256];
} committer;

static void *commit_many(void *arg)
{
    committer *c = arg;
    natsConnection *nc = lh_test_nats_try_connect(c->f->nats.url);
    if (!nc) {
        snprintf(c->error, sizeof c->error, "cannot connect");
        return NULL;
    }
    for (int i = 0; i < COMMITS && !c->error[0]; i++) {
        /* rows = thread * 1000 + i tells afterwards which commit made a version. */
        char *body = commit_body("busy", "busy.csv", "c", c->thread * 1000 + i, SHA_A);
        lh_test_reply r = lh_test_call_s(nc, &lh_ep_catalog_commit, body);
        free(body);
        if (r.code)
            snprintf(c->error, sizeof c->error, "commit %d: %d %s", i, r.code, r.message);
        else
            c->versions[i] = int_at(json_object_get(r.body, "version"), "version");
        json_decref(r.body);
    }
    natsConnection_Destroy(nc);
    return NULL;
}

static void test_concurrent_commits_get_consecutive_versions(void **state)
{
    fixture *f = *state;
    create(f, "busy", "csv");
    committer c[THREADS];
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) {
        c[t] = (committer){.f = f, .thread = t + 1};
        assert_int_equal(pthread_create(&th[t], NULL, commit_many, &c[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    long long rows_of[THREADS * COMMITS + 1] = {0};
    for (int t = 0; t < THREADS; t++) {
        if (c[t].error[0])
            fail_msg("thread %d: %s", t, c[t].error);
        for (int i = 0; i < COMMITS; i++) {
            long long v = c[t].versions[i];
            if (v < 1 || v > THREADS * COMMITS || rows_of[v])
                fail_msg("thread %d commit %d got version %lld: out of range or given twice", t,
                         i, v);
            rows_of[v] = c[t].thread * 1000 + i;
            if (i > 0)
                assert_true(v > c[t].versions[i - 1]); /* one thread's commits stay in order */
        }
    }
    /* Every number 1..100 was given once (pigeonhole), and the history
     * holds each with the commit that got it. */
    json_t *d = get(f, "busy", 0);
    assert_int_equal(int_at(d, "latest"), THREADS * COMMITS);
    json_t *hist = json_object_get(d, "versions");
    assert_int_equal(json_array_size(hist), THREADS * COMMITS);
    for (size_t i = 0; i < THREADS * COMMITS; i++) {
        json_t *v = json_array_get(hist, i);
        assert_int_equal(int_at(v, "version"), (long long)i + 1);
        assert_int_equal(int_at(v, "rows"), rows_of[i + 1]);
    }
    json_decref(d);
}

/* ---- events ---- */

static json_t *next_event(natsSubscription *sub, const char *subject, const char *rid)
{
    natsMsg *m = NULL;
    natsStatus s = natsSubscription_NextMsg(&m, sub, TIMEOUT_MS);
    if (s != NATS_OK)
        fail_msg("no event (expected %s): %s", subject, natsStatus_GetText(s));
    assert_string_equal(natsMsg_GetSubject(m), subject);
    const char *got = NULL;
    if (rid) {
        assert_int_equal(natsMsgHeader_Get(m, "Lh-Request-Id", &got), NATS_OK);
        assert_string_equal(got, rid);
    }
    lh_buf b;
    lh_buf_init(&b);
    lh_err *err = lh_msgpack_to_json(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &b);
    if (err)
        fail_msg("event is not msgpack: %s", lh_err_message(err));
    json_t *j = json_loadb(b.data, b.len, 0, NULL);
    assert_non_null(j);
    lh_buf_free(&b);
    natsMsg_Destroy(m);
    /* the envelope names the actor and the event; its data is the contract's */
    assert_string_equal(json_string_value(json_object_get(j, "actor")), "catalogd");
    assert_string_equal(json_string_value(json_object_get(j, "type")), subject + 7);
    json_t *data = json_incref(json_object_get(j, "data"));
    assert_non_null(data);
    json_decref(j);
    return data;
}

static void send_ok(fixture *f, const lh_contract *k, const char *body, const char *rid)
{
    json_decref(lh_test_ok(lh_test_call_msg(f->nc, k, body, strlen(body), rid, NULL)));
}

static void test_events_follow_durable_changes(void **state)
{
    fixture *f = *state;
    natsSubscription *sub = NULL;
    assert_int_equal(natsConnection_SubscribeSync(&sub, f->nc, "events.catalogd.>"), NATS_OK);
    assert_int_equal(natsConnection_Flush(f->nc), NATS_OK);

    send_ok(f, &lh_ep_catalog_create, "{\"name\":\"Clicks\",\"format\":\"jsonl\"}", "rid-create");
    json_t *e = next_event(sub, "events.catalogd.created", "rid-create");
    assert_string_equal(str_at(e, "name"), "Clicks");
    assert_string_equal(str_at(e, "format"), "jsonl");
    json_decref(e);

    char *body = commit_body("clicks", "clicks/1.jsonl", "url", 42, SHA_B);
    send_ok(f, &lh_ep_catalog_commit, body, "rid-commit");
    free(body);
    e = next_event(sub, "events.catalogd.committed", "rid-commit");
    assert_int_equal(json_object_size(e), 6);
    assert_string_equal(str_at(e, "name"), "Clicks");
    assert_int_equal(int_at(e, "version"), 1);
    json_t *loc = json_object_get(e, "location");
    assert_int_equal(json_object_size(loc), 2);
    assert_string_equal(str_at(loc, "bucket"), "cat-data");
    assert_string_equal(str_at(loc, "key"), "clicks/1.jsonl");
    assert_int_equal(int_at(e, "rows"), 42);
    assert_int_equal(int_at(e, "bytes"), 420);
    assert_string_equal(str_at(e, "sha256"), SHA_B);
    json_decref(e);

    /* Refused changes publish nothing: the next event is the delete's. */
    body = commit_body("nosuch", "x", "y", 1, SHA_A);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_catalog_commit, body), 404, "name", NULL);
    free(body);
    lh_test_expect(
        lh_test_call_s(f->nc, &lh_ep_catalog_create, "{\"name\":\"clicks\",\"format\":\"csv\"}"),
        409, "name", NULL);
    send_ok(f, &lh_ep_catalog_delete, "{\"name\":\"clicks\"}", "rid-delete");
    e = next_event(sub, "events.catalogd.deleted", "rid-delete");
    assert_string_equal(str_at(e, "name"), "Clicks");
    assert_int_equal(int_at(e, "versions"), 1);
    json_decref(e);
    natsSubscription_Destroy(sub);
}

/* ---- the gateway's routes ---- */

/* JSON to the gateway's port. */
static lh_test_response http(fixture *f, const char *method, const char *path, const char *body)
{
    static const char *const headers[] = {"Content-Type: application/json", NULL};
    return lh_test_fetch(f->http_port, method, path, headers, body, body ? strlen(body) : 0);
}

static void test_gateway_routes(void **state)
{
    fixture *f = *state;
    lh_test_stack_add(f, &lh_gateway_actor, 2);

    const char *web = "{\"name\":\"web\",\"format\":\"csv\"}";
    lh_test_response r = http(f, "POST", "/v1/catalog/datasets", web);
    assert_int_equal(r.status, 200);
    assert_string_equal(str_at(r.json, "name"), "web");
    lh_test_response_free(&r);
    char *body = commit_body("ignored", "web.csv", "page", 3, SHA_A);
    r = http(f, "POST", "/v1/catalog/datasets/web/commit", body); /* the path names it */
    free(body);
    assert_int_equal(r.status, 200);
    assert_int_equal(int_at(r.json, "latest"), 1);
    lh_test_response_free(&r);
    r = http(f, "GET", "/v1/datasets", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(name_at(json_object_get(r.json, "datasets"), 0), "web");
    lh_test_response_free(&r);
    r = http(f, "GET", "/v1/datasets/WEB", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "versions")), 1);
    assert_int_equal(int_at(json_object_get(r.json, "version"), "rows"), 3);
    lh_test_response_free(&r);
    r = http(f, "POST", "/v1/catalog/datasets", web);
    assert_int_equal(r.status, 409);
    assert_string_equal(str_at(json_object_get(r.json, "error"), "field"), "name");
    lh_test_response_free(&r);
    r = http(f, "DELETE", "/v1/datasets/web", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(int_at(r.json, "versions"), 1);
    lh_test_response_free(&r);
    r = http(f, "GET", "/v1/datasets/web", NULL);
    assert_int_equal(r.status, 404);
    lh_test_response_free(&r);
    r = http(f, "GET", "/v1/datasets/no-such", NULL);
    assert_int_equal(r.status, 400);
    lh_test_response_free(&r);
}

/* Each test: catalogd on a fresh data directory. */
#define T(name) cmocka_unit_test_setup_teardown(name, setup, lh_test_stack_reset)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_create_then_get),
        T(test_list_by_name_and_prefix),
        T(test_delete_frees_the_name),
        T(test_longest_name_and_keyword_like_names),
        T(test_commit_answers_the_new_version),
        T(test_get_describes_latest_with_history),
        T(test_get_old_version_and_list_latest),
        T(test_recreated_dataset_starts_at_version_1),
        T(test_sha256_is_stored_lowercase),
        T(test_refusals_change_nothing),
        T(test_clean_restart_keeps_everything),
        T(test_sigkill_loses_nothing_acknowledged),
        T(test_concurrent_commits_get_consecutive_versions),
        T(test_events_follow_durable_changes),
        T(test_gateway_routes),
    };
    return cmocka_run_group_tests(tests, lh_test_stack_setup, lh_test_stack_teardown);
}
