/*
 * test_query.c — queryd (DuckDB over the versions' Parquet files) with the
 * real storaged, catalogd and ingestd on a
 * real nats-server: datasets ingested as CSV and JSON Lines answer SQL
 * with their catalog types (integers sum as integers, reals as reals,
 * booleans as booleans, nulls stay null); joins; a new version is seen at
 * once while "name@N" keeps the old one; every kind of statement that is
 * not a read is refused and changes nothing; runaway queries time out
 * while others are answered; file-reading table functions, the engine's
 * catalog and paths out of the cache are refused; row and byte caps;
 * hostile parameters;
 * malformed requests; the cache survives a restart without reloading
 * (even with the source object gone); concurrent first queries load a
 * version once; a re-created dataset is not served from the old table.
 *
 * The actors run in this process (lh_actor_create) so queryd can be
 * restarted on the same data directory.
 */
#include "tests/support/harness.h"

#include <jansson.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actors/catalog/catalog.h"
#include "actors/ingest/ingest.h"
#include "actors/query/query.h"
#include "actors/storage/storage.h"
#include "bus/actor.h"
#include "bus/buf.h"
#include "bus/json.h"
#include "schemas/catalog.h"
#include "schemas/ingest.h"
#include "schemas/query.h"
#include "schemas/storage.h"

#define TIMEOUT_MS 60000
#define RESULT_BYTES_LIMIT 65536 /* queryd's LH_QUERY_MAX_RESULT_BYTES here */

/* The fixture is the stack: nats-server, the test's connection, and the
 * actors below in this process on one data directory for the group. */
typedef lh_test_stack fixture;

static const lh_actor_def *const ACTORS[] = {&lh_storage_actor, &lh_catalog_actor, &lh_ingest_actor,
                                             NULL};

static void start_queryd(fixture *f)
{
    char limit[32];
    snprintf(limit, sizeof limit, "%d", RESULT_BYTES_LIMIT);
    setenv("LH_QUERY_MAX_RESULT_BYTES", limit, 1);
    lh_test_stack_add(f, &lh_query_actor, 2);
    unsetenv("LH_QUERY_MAX_RESULT_BYTES");
}

static int group_setup(void **state)
{
    fixture *f = lh_test_stack_new(&(lh_test_stack_opts){.actors = ACTORS});
    start_queryd(f);
    *state = f;
    return 0;
}

/* ---- JSON requests ---- */

typedef lh_test_reply reply;

static json_t *sql_ok(fixture *f, const char *sql)
{
    return lh_test_ok(lh_test_call_j(f->nc, &lh_ep_query_sql, json_pack("{s:s}", "sql", sql)));
}

static void sql_refused(fixture *f, const char *sql, int code, const char *words)
{
    lh_test_expect(lh_test_call_j(f->nc, &lh_ep_query_sql, json_pack("{s:s}", "sql", sql)), code,
                   NULL, words);
}

static json_t *cell(json_t *result, size_t row, size_t col)
{
    return json_array_get(json_array_get(json_object_get(result, "rows"), row), col);
}

static json_int_t sql_int(fixture *f, const char *sql)
{
    json_t *r = sql_ok(f, sql);
    json_t *v = cell(r, 0, 0);
    if (!json_is_integer(v))
        fail_msg("'%s' gave no integer", sql);
    json_int_t n = json_integer_value(v);
    json_decref(r);
    return n;
}

static const char *str_at(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static json_int_t int_at(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* "name:type name:type ..." of a result's columns. */
static char *columns_text(json_t *result)
{
    lh_buf b;
    lh_buf_init(&b);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(result, "columns"), i, c)
        lh_buf_appendf(&b, "%s%s:%s", i ? " " : "", str_at(c, "name"), str_at(c, "type"));
    char *s = strdup(lh_buf_cstr(&b));
    lh_buf_free(&b);
    return s;
}

static json_int_t stat_of(fixture *f, const char *name)
{
    json_t *st = lh_test_ok(lh_test_call_j(f->nc, &lh_ep_query_stats, json_object()));
    json_int_t v = int_at(st, name);
    json_decref(st);
    return v;
}

/* ---- msgpack requests: exact types ---- */

typedef struct mp_reply {
    natsMsg *msg;
    msgpack_unpacked u;
} mp_reply;

static void query_mp(fixture *f, const char *json_request, mp_reply *out)
{
    lh_buf req;
    lh_buf_init(&req);
    lh_err *err = lh_json_to_msgpack(json_request, strlen(json_request), &req);
    assert_null(err);
    reply r = lh_test_call_msg(f->nc, &lh_ep_query_sql, req.data, req.len, NULL, &out->msg);
    lh_buf_free(&req);
    if (r.code)
        fail_msg("query.sql refused %s: %d %s", json_request, r.code, r.message);
    json_decref(r.body);
    msgpack_unpacked_init(&out->u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&out->u, natsMsg_GetData(out->msg),
                                         (size_t)natsMsg_GetDataLength(out->msg), &off),
                     MSGPACK_UNPACK_SUCCESS);
}

static void mp_free(mp_reply *r)
{
    msgpack_unpacked_destroy(&r->u);
    natsMsg_Destroy(r->msg);
}

static const msgpack_object *mp_get(const msgpack_object *map, const char *key)
{
    assert_int_equal(map->type, MSGPACK_OBJECT_MAP);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->key.via.str.size == strlen(key) && !memcmp(kv->key.via.str.ptr, key, strlen(key)))
            return &kv->val;
    }
    fail_msg("no '%s' in the reply", key);
    return NULL;
}

static const msgpack_object *mp_cell(const mp_reply *r, uint32_t row, uint32_t col)
{
    const msgpack_object *rows = mp_get(&r->u.data, "rows");
    assert_true(row < rows->via.array.size);
    const msgpack_object *cells = &rows->via.array.ptr[row];
    assert_true(col < cells->via.array.size);
    return &cells->via.array.ptr[col];
}

/* ---- data ---- */

static void ingest(fixture *f, const char *dataset, const char *format, const char *content)
{
    json_t *job =
        lh_test_ok(lh_test_call_j(f->nc, &lh_ep_ingest_file,
                                  json_pack("{s:s, s:s, s:s, s:b}", "dataset", dataset, "content",
                                            content, "format", format, "wait", 1)));
    if (strcmp(str_at(job, "state"), "succeeded"))
        fail_msg("ingest of %s %s: %s", dataset, str_at(job, "state"), str_at(job, "error"));
    json_decref(job);
}

/* amount: "1.0", "2.5", "", "10" -> real; qty has a null; flag is boolean;
 * note has a null (empty) and an empty string (""). */
static const char SALES[] = "id,region,amount,qty,flag,note\n"
                            "1,north,1.0,3,true,a\n"
                            "2,south,2.5,,FALSE,\n"
                            "3,north,,4,true,\"x,y\"\n"
                            "4,east,10,5,false,\"\"\n";

static void ensure_sales(fixture *f)
{
    static bool done;
    if (!done) {
        ingest(f, "sales", "csv", SALES);
        ingest(f, "regions", "csv", "region,manager\nnorth,Ann\nsouth,Bob\nwest,Cy\n");
        done = true;
    }
}

/* 2000 rows: enough for a cartesian product that never ends. */
static void ensure_grid(fixture *f)
{
    static bool done;
    if (done)
        return;
    lh_buf b;
    lh_buf_init(&b);
    lh_buf_append_str(&b, "n\n");
    for (int i = 1; i <= 2000; i++)
        lh_buf_appendf(&b, "%d\n", i);
    ingest(f, "grid", "csv", lh_buf_cstr(&b));
    lh_buf_free(&b);
    done = true;
}

/* ---- types ---- */

static void test_columns_keep_catalog_types(void **state)
{
    fixture *f = *state;
    ensure_sales(f);
    json_t *all = sql_ok(f, "SELECT * FROM sales ORDER BY id");
    char *cols = columns_text(all);
    assert_string_equal(cols, "id:integer region:text amount:real qty:integer flag:boolean "
                              "note:text");
    assert_int_equal(int_at(all, "row_count"), 4);
    assert_true(json_is_false(json_object_get(all, "truncated")));
    assert_true(json_is_true(cell(all, 0, 4)));   /* "true" */
    assert_true(json_is_false(cell(all, 1, 4)));  /* "FALSE" */
    assert_true(json_is_null(cell(all, 1, 3)));   /* empty qty */
    assert_true(json_is_null(cell(all, 1, 5)));   /* empty note */
    assert_string_equal(json_string_value(cell(all, 3, 5)), ""); /* "" stays text */
    assert_string_equal(json_string_value(cell(all, 2, 5)), "x,y");
    json_t *ds = json_array_get(json_object_get(all, "datasets"), 0);
    assert_string_equal(str_at(ds, "name"), "sales");
    assert_int_equal(int_at(ds, "version"), 1);
    free(cols);
    json_decref(all);

    mp_reply r;
    query_mp(f, "{\"sql\":\"SELECT sum(qty), sum(amount), count(qty), count(note), count(*), "
                "typeof(any_value(amount)) FROM sales WHERE id = 1\"}", &r);
    assert_int_equal(mp_cell(&r, 0, 0)->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_int_equal(mp_cell(&r, 0, 1)->type, MSGPACK_OBJECT_FLOAT64); /* "1.0" is real */
    assert_true(mp_cell(&r, 0, 1)->via.f64 == 1.0);
    mp_free(&r);
    query_mp(f, "{\"sql\":\"SELECT sum(qty), sum(amount), count(qty), count(note), count(*), "
                "sum(flag) FROM sales\"}", &r);
    assert_int_equal(mp_cell(&r, 0, 0)->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_int_equal(mp_cell(&r, 0, 0)->via.u64, 12);
    assert_int_equal(mp_cell(&r, 0, 1)->type, MSGPACK_OBJECT_FLOAT64);
    assert_true(mp_cell(&r, 0, 1)->via.f64 == 13.5);
    assert_int_equal(mp_cell(&r, 0, 2)->via.u64, 3); /* the null qty is not counted */
    assert_int_equal(mp_cell(&r, 0, 3)->via.u64, 3); /* "" is a value, empty is null */
    assert_int_equal(mp_cell(&r, 0, 4)->via.u64, 4);
    assert_int_equal(mp_cell(&r, 0, 5)->via.u64, 2); /* booleans are 0/1 underneath */
    const msgpack_object *types = mp_get(&r.u.data, "columns");
    const msgpack_object *t0 = mp_get(&types->via.array.ptr[0], "type");
    const msgpack_object *t1 = mp_get(&types->via.array.ptr[1], "type");
    assert_memory_equal(t0->via.str.ptr, "integer", 7);
    assert_memory_equal(t1->via.str.ptr, "real", 4);
    mp_free(&r);
    query_mp(f, "{\"sql\":\"SELECT amount, typeof(amount) FROM sales WHERE id = 4\"}", &r);
    assert_int_equal(mp_cell(&r, 0, 0)->type, MSGPACK_OBJECT_FLOAT64); /* "10" in a real column */
    assert_memory_equal(mp_cell(&r, 0, 1)->via.str.ptr, "DOUBLE", 6);
    mp_free(&r);
}

static void test_jsonl_types(void **state)
{
    fixture *f = *state;
    ingest(f, "events", "jsonl",
           "{\"id\":1,\"kind\":\"a\",\"score\":1.5,\"ok\":true,\"tags\":[1,2]}\n"
           "{\"id\":2,\"kind\":\"7\",\"score\":2,\"ok\":false}\n"
           "{\"id\":3,\"kind\":null,\"score\":null,\"ok\":null,\"extra\":\"late\"}\n");
    json_t *r = sql_ok(f, "SELECT * FROM events ORDER BY id");
    char *cols = columns_text(r);
    assert_string_equal(cols, "id:integer kind:text score:real ok:boolean tags:text extra:text");
    assert_string_equal(json_string_value(cell(r, 0, 4)), "[1,2]"); /* nested: its JSON */
    assert_string_equal(json_string_value(cell(r, 1, 1)), "7");     /* a JSON string stays text */
    assert_true(json_is_true(cell(r, 0, 3)));
    assert_true(json_is_null(cell(r, 1, 5))); /* a key read before it appeared */
    assert_string_equal(json_string_value(cell(r, 2, 5)), "late");
    assert_true(json_is_null(cell(r, 2, 3)));
    free(cols);
    json_decref(r);
    json_t *sum = sql_ok(f, "SELECT sum(score), typeof(sum(score)) FROM events");
    assert_true(json_real_value(cell(sum, 0, 0)) == 3.5);
    assert_string_equal(json_string_value(cell(sum, 0, 1)), "DOUBLE");
    json_decref(sum);
}

/* Computed columns have the engine's type; a NULL alone has none. */
static void test_computed_column_types(void **state)
{
    fixture *f = *state;
    json_t *r = sql_ok(f, "SELECT NULL AS a, 1 AS b, 2.5 AS c, 'x' AS d, '\\x00\\xFF'::BLOB AS e, "
                          "DATE '2026-12-03' AS g UNION ALL SELECT 2, NULL, NULL, NULL, NULL, NULL");
    char *cols = columns_text(r);
    assert_string_equal(cols, "a:integer b:integer c:real d:text e:blob g:text");
    assert_string_equal(json_string_value(cell(r, 0, 4)), "AP8="); /* bytes, base64 in JSON */
    assert_string_equal(json_string_value(cell(r, 0, 5)), "2026-12-03"); /* a date as text */
    assert_true(json_is_null(cell(r, 1, 5)));
    json_decref(r);
    r = sql_ok(f, "SELECT [1, 2] AS l, {'k': 'v'} AS m, 1 AS n");
    free(cols);
    cols = columns_text(r);
    assert_string_equal(cols, "l:text m:text n:integer");
    assert_string_equal(json_string_value(cell(r, 0, 0)), "[1, 2]");
    assert_int_equal(json_integer_value(cell(r, 0, 2)), 1);
    free(cols);
    json_decref(r);
    json_t *none = sql_ok(f, "SELECT NULL AS empty");
    char *only = columns_text(none);
    assert_string_equal(only, "empty:integer"); /* DuckDB types a lone NULL as INTEGER */
    assert_true(json_is_null(cell(none, 0, 0)));
    assert_int_equal(json_object_size(json_object_get(none, "datasets")), 0);
    free(only);
    json_decref(none);
}

/* ---- names and versions ---- */

static void test_join_two_datasets(void **state)
{
    fixture *f = *state;
    ensure_sales(f);
    json_t *r = sql_ok(f, "SELECT r.manager, sum(s.qty) AS qty FROM sales s JOIN Regions r "
                          "USING (region) GROUP BY r.manager ORDER BY r.manager");
    assert_int_equal(int_at(r, "row_count"), 2);
    assert_string_equal(json_string_value(cell(r, 0, 0)), "Ann");
    assert_int_equal(json_integer_value(cell(r, 0, 1)), 7);
    assert_string_equal(json_string_value(cell(r, 1, 0)), "Bob");
    assert_true(json_is_null(cell(r, 1, 1))); /* the sum of nulls is null */
    json_t *dss = json_object_get(r, "datasets");
    assert_int_equal(json_array_size(dss), 2);
    bool sales = false, regions = false;
    size_t i;
    json_t *d;
    json_array_foreach(dss, i, d) {
        sales |= !strcmp(str_at(d, "name"), "sales");
        regions |= !strcmp(str_at(d, "name"), "regions");
    }
    assert_true(sales && regions);
    json_decref(r);
}

static void test_new_version_without_restart(void **state)
{
    fixture *f = *state;
    ingest(f, "prices", "csv", "item,price\na,1\n");
    assert_int_equal(sql_int(f, "SELECT sum(price) FROM prices"), 1);
    ingest(f, "prices", "csv", "item,price\na,1\nb,2\n");
    json_t *now = sql_ok(f, "SELECT sum(price) FROM PRICES");
    assert_int_equal(json_integer_value(cell(now, 0, 0)), 3);
    json_t *ds = json_array_get(json_object_get(now, "datasets"), 0);
    assert_int_equal(int_at(ds, "version"), 2);
    json_decref(now);
    json_t *old = sql_ok(f, "SELECT sum(price) FROM \"prices@1\"");
    assert_int_equal(json_integer_value(cell(old, 0, 0)), 1);
    ds = json_array_get(json_object_get(old, "datasets"), 0);
    assert_string_equal(str_at(ds, "name"), "prices");
    assert_int_equal(int_at(ds, "version"), 1);
    json_decref(old);
    assert_int_equal(sql_int(f, "SELECT (SELECT sum(price) FROM \"prices@2\") - "
                                "(SELECT sum(price) FROM \"prices@1\")"),
                     2);
    sql_refused(f, "SELECT * FROM \"prices@9\"", 404, "no version 9");
    sql_refused(f, "SELECT * FROM \"nosuch@1\"", 404, "nosuch");
}

static void test_unknown_names_and_syntax(void **state)
{
    fixture *f = *state;
    ensure_sales(f);
    sql_refused(f, "SELECT * FROM nosuch", 400, "no such table: nosuch");
    sql_refused(f, "SELECT nosuch FROM sales", 400, "\"nosuch\" not found");
    sql_refused(f, "SELEC 1", 400, "syntax error");
    sql_refused(f, "SELECT * FROM \"sales@01\"", 400, "no such table");
    sql_refused(f, "-- nothing here", 400, "no statement");
}

/* A name DuckDB reserves but SQLite does not is a dataset, queried quoted. */
static void test_duckdb_reserved_name_quoted(void **state)
{
    fixture *f = *state;
    ingest(f, "pivot", "csv", "p\n4\n5\n");
    assert_int_equal(sql_int(f, "SELECT sum(p) FROM \"pivot\""), 9);
    assert_int_equal(sql_int(f, "SELECT sum(p) FROM \"pivot@1\""), 9);
}

/* ---- read-only ---- */

typedef struct refusal {
    const char *sql;
    int code;
    const char *words;
} refusal;

static void test_only_reads_are_allowed(void **state)
{
    fixture *f = *state;
    ensure_sales(f);
    char vacuum_into[600], attach[600], copy_to[600], escape[600];
    snprintf(vacuum_into, sizeof vacuum_into, "VACUUM INTO '%s/copy.db'", f->data_dir);
    snprintf(attach, sizeof attach, "ATTACH '%s/other.db' AS other", f->data_dir);
    snprintf(copy_to, sizeof copy_to, "COPY sales TO '%s/copy.db'", f->data_dir);
    snprintf(escape, sizeof escape,
             "SELECT * FROM read_parquet('%s/queryd/cache/../../other.db')", f->data_dir);
    const refusal refused[] = {
        {"INSERT INTO sales VALUES (9, 'x', 1.0, 1, 1, 'y')", 403, "INSERT"},
        {"UPDATE sales SET qty = 0", 403, "read-only"},
        {"DELETE FROM sales", 403, "read-only"},
        {"CREATE TABLE t (a)", 403, "CREATE"},
        {"CREATE TEMP VIEW v AS SELECT 1", 403, "CREATE"},
        {"DROP TABLE sales", 403, "DROP"},
        {"DROP VIEW sales", 403, "DROP"},
        {"ALTER TABLE sales RENAME TO gone", 403, "read-only"},
        {attach, 403, "ATTACH"},
        {"DETACH DATABASE main", 403, "DETACH"},
        {"PRAGMA version", 403, "PRAGMA"},
        {"PRAGMA table_info(sales)", 403, "PRAGMA"},
        {"CALL pragma_version()", 403, "CALL"},
        {"SET enable_external_access = true", 403, "SET"},
        {"RESET lock_configuration", 403, "RESET"},
        {"INSTALL httpfs", 403, "INSTALL"},
        {"LOAD 'libnothing'", 403, "LOAD"},
        {copy_to, 403, "COPY"},
        {"EXPORT DATABASE '/tmp/x'", 403, "EXPORT"},
        {"CHECKPOINT", 403, "CHECKPOINT"},
        {"WITH x AS (SELECT 1) INSERT INTO sales SELECT * FROM sales", 403, "read-only"},
        {"BEGIN", 403, "BEGIN"},
        {"COMMIT", 403, "COMMIT"},
        {"SAVEPOINT s", 403, "SAVEPOINT"},
        {"VACUUM", 403, "read-only"},
        {vacuum_into, 403, NULL},
        {"REINDEX", 403, NULL},
        {"ANALYZE", 403, "ANALYZE"},
        {"SELECT * FROM json_each('[1]')", 403, "json_each"},
        {"SELECT * FROM read_csv('/etc/passwd')", 403, "read_csv"},
        {"SELECT * FROM read_text('/etc/passwd')", 403, "read_text"},
        {"SELECT count(*) FROM (SELECT * FROM glob('/*'))", 403, "glob"},
        {escape, 403, "read_parquet"},
        {"SELECT * FROM query('SELECT 1')", 403, "query"},
        {"SELECT * FROM duckdb_settings()", 403, "duckdb_settings"},
        {"SELECT * FROM information_schema.tables", 403, "information_schema"},
        {"SELECT * FROM temp.main.sales", 403, "qualified"},
        {"SELECT * FROM pg_catalog.pg_tables", 403, "pg_catalog"},
        {"WITH sales AS (SELECT * FROM information_schema.tables) SELECT * FROM sales", 403,
         "information_schema"},
        {"SELECT * FROM sales WHERE id IN (SELECT 1 FROM read_csv('/etc/passwd'))", 403,
         "read_csv"},
        {"DESCRIBE sales", 403, "DESCRIBE"},
        {"SELECT * FROM '/etc/passwd'", 400, "no such table"},
        {"SELECT * FROM sqlite_master", 400, "no such table"},
        {"SELECT * FROM duckdb_tables", 400, "no such table"},
        {"SELECT 1; DROP TABLE sales", 400, "one statement"},
        {"SELECT 1; SELECT 2", 400, "one statement"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        reply r =
            lh_test_call_j(f->nc, &lh_ep_query_sql, json_pack("{s:s}", "sql", refused[i].sql));
        if (r.code != refused[i].code)
            fail_msg("'%s': expected %d, got %d (%s)", refused[i].sql, refused[i].code, r.code,
                     r.message ? r.message : "success");
        lh_test_expect(r, refused[i].code, "sql", refused[i].words);
    }
    char copy[600];
    snprintf(copy, sizeof copy, "%s/copy.db", f->data_dir);
    assert_int_equal(access(copy, F_OK), -1); /* VACUUM INTO wrote nothing */
    snprintf(copy, sizeof copy, "%s/other.db", f->data_dir);
    assert_int_equal(access(copy, F_OK), -1); /* nor did ATTACH create a file */
    json_t *after = sql_ok(f, "SELECT count(*), sum(qty), sum(amount), "
                              "string_agg(region, ',' ORDER BY id) FROM sales");
    assert_int_equal(json_integer_value(cell(after, 0, 0)), 4);
    assert_int_equal(json_integer_value(cell(after, 0, 1)), 12);
    assert_true(json_real_value(cell(after, 0, 2)) == 13.5);
    assert_string_equal(json_string_value(cell(after, 0, 3)), "north,south,north,east");
    json_decref(after);
    json_decref(sql_ok(f, "SELECT 1; -- a trailing comment and semicolons ;;"));
}

/* ---- limits ---- */

static void test_row_cap_and_truncation(void **state)
{
    fixture *f = *state;
    ensure_grid(f);
    json_t *five = lh_test_ok(lh_test_call_j(
        f->nc, &lh_ep_query_sql,
        json_pack("{s:s, s:i}", "sql", "SELECT n FROM grid ORDER BY n", "max_rows", 5)));
    assert_int_equal(int_at(five, "row_count"), 5);
    assert_int_equal(json_array_size(json_object_get(five, "rows")), 5);
    assert_true(json_is_true(json_object_get(five, "truncated")));
    assert_int_equal(json_integer_value(cell(five, 4, 0)), 5);
    json_decref(five);
    json_t *all = lh_test_ok(
        lh_test_call_j(f->nc, &lh_ep_query_sql,
                       json_pack("{s:s, s:i}", "sql", "SELECT n FROM grid", "max_rows", 2000)));
    assert_int_equal(int_at(all, "row_count"), 2000);
    assert_true(json_is_false(json_object_get(all, "truncated")));
    json_decref(all);
    json_t *dflt = sql_ok(f, "SELECT n FROM grid");
    assert_int_equal(int_at(dflt, "row_count"), 1000);
    assert_true(json_is_true(json_object_get(dflt, "truncated")));
    json_decref(dflt);
    lh_test_expect(lh_test_call_j(f->nc, &lh_ep_query_sql,
                                  json_pack("{s:s, s:i}", "sql", "SELECT 1", "max_rows", 100001)),
                   400, "max_rows", NULL);
    lh_test_expect(lh_test_call_j(f->nc, &lh_ep_query_sql,
                                  json_pack("{s:s, s:i}", "sql", "SELECT 1", "max_rows", 0)),
                   400, "max_rows", NULL);
}

static void test_result_byte_bound(void **state)
{
    fixture *f = *state;
    ensure_grid(f);
    natsMsg *m = NULL;
    const char *req = "{\"sql\":\"SELECT n, repeat('x', 1000) FROM grid\"}";
    reply r = lh_test_call_msg(f->nc, &lh_ep_query_sql, req, strlen(req), NULL, &m);
    assert_non_null(m);
    assert_true(natsMsg_GetDataLength(m) < RESULT_BYTES_LIMIT + 4096);
    natsMsg_Destroy(m);
    assert_int_equal(r.code, 0);
    json_int_t n = int_at(r.body, "row_count");
    assert_true(n > 10 && n < 100); /* rows of ~1 KB under a 64 KiB bound */
    assert_int_equal(json_array_size(json_object_get(r.body, "rows")), (size_t)n);
    assert_true(json_is_true(json_object_get(r.body, "truncated")));
    json_decref(r.body);
}

static void expect_timeout(fixture *f, const char *sql, int timeout_ms)
{
    char words[64];
    snprintf(words, sizeof words, "timed out after %d ms", timeout_ms);
    lh_test_expect(lh_test_call_j(f->nc, &lh_ep_query_sql,
                                  json_pack("{s:s, s:i}", "sql", sql, "timeout_ms", timeout_ms)),
                   422, "timeout_ms", words);
}

#define FOREVER_CTE "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) " \
                    "SELECT count(*) FROM r"
#define CARTESIAN "SELECT count(*) FROM grid a, grid b, grid c, grid d WHERE a.n + b.n > c.n"

static void test_runaway_queries_time_out(void **state)
{
    fixture *f = *state;
    ensure_grid(f);
    json_int_t before = stat_of(f, "timeouts");
    expect_timeout(f, FOREVER_CTE, 200);
    expect_timeout(f, CARTESIAN, 200);
    assert_int_equal(stat_of(f, "timeouts"), before + 2);
}

/* Two runaways in flight; a quick query sent after them is answered
 * while both are still running (their replies have not come yet). */
static void test_others_answered_during_runaway(void **state)
{
    fixture *f = *state;
    ensure_grid(f);
    natsInbox *inbox = NULL;
    natsSubscription *sub = NULL;
    assert_int_equal(natsInbox_Create(&inbox), NATS_OK);
    assert_int_equal(natsConnection_SubscribeSync(&sub, f->nc, inbox), NATS_OK);
    const char *runaways[] = {FOREVER_CTE, CARTESIAN};
    for (int i = 0; i < 2; i++) {
        json_t *doc = json_pack("{s:s, s:i}", "sql", runaways[i], "timeout_ms", 6000);
        char *req = json_dumps(doc, JSON_COMPACT);
        natsConnection_PublishRequestString(f->nc, "query.sql", inbox, req);
        free(req);
        json_decref(doc);
    }
    natsConnection_Flush(f->nc);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM grid WHERE n <= 10"), 10);
    natsMsg *m = NULL;
    assert_int_equal(natsSubscription_NextMsg(&m, sub, 0), NATS_TIMEOUT); /* still running */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(natsSubscription_NextMsg(&m, sub, TIMEOUT_MS), NATS_OK);
        lh_test_expect(lh_test_reply_of(m), 422, "timeout_ms", "timed out after 6000 ms");
        natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(sub);
    natsInbox_Destroy(inbox);
}

/* ---- parameters ---- */

static void test_parameters_are_bound(void **state)
{
    fixture *f = *state;
    ensure_sales(f);
    const char *hostile = "north'; DROP TABLE sales; --";
    lh_test_expect(lh_test_call_j(f->nc, &lh_ep_query_sql,
                                  json_pack("{s:s, s:[s]}", "sql",
                                            "SELECT count(*), ? FROM sales WHERE region = ?",
                                            "params", hostile)),
                   400, "params", "2 parameters");
    json_t *lit = lh_test_ok(lh_test_call_j(
        f->nc, &lh_ep_query_sql,
        json_pack("{s:s, s:[s,s]}", "sql", "SELECT count(*), ? FROM sales WHERE region = ?",
                  "params", hostile, hostile)));
    assert_int_equal(json_integer_value(cell(lit, 0, 0)), 0); /* matched as a literal */
    assert_string_equal(json_string_value(cell(lit, 0, 1)), hostile);
    json_decref(lit);
    json_t *match =
        lh_test_ok(lh_test_call_j(f->nc, &lh_ep_query_sql,
                                  json_pack("{s:s, s:[s,i]}", "sql",
                                            "SELECT count(*) FROM sales WHERE region = $r "
                                            "AND qty > $q",
                                            "params", "north", 3)));
    assert_int_equal(json_integer_value(cell(match, 0, 0)), 1);
    json_decref(match);
    json_t *kinds =
        lh_test_ok(lh_test_call_j(f->nc, &lh_ep_query_sql,
                                  json_pack("{s:s, s:[n,b,i,f,s]}", "sql", "SELECT ?, ?, ?, ?, ?",
                                            "params", 1, -42, 2.5, "s")));
    assert_true(json_is_null(cell(kinds, 0, 0)));
    assert_true(json_is_true(cell(kinds, 0, 1)));
    assert_int_equal(json_integer_value(cell(kinds, 0, 2)), -42);
    assert_true(json_real_value(cell(kinds, 0, 3)) == 2.5);
    assert_string_equal(json_string_value(cell(kinds, 0, 4)), "s");
    json_decref(kinds);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM sales"), 4);
}

static void test_bad_params_refused(void **state)
{
    fixture *f = *state;
    lh_test_expect(lh_test_call_j(f->nc, &lh_ep_query_sql,
                                  json_pack("{s:s, s:s}", "sql", "SELECT ?", "params", "x")),
                   400, "params", "array");
    lh_test_expect(lh_test_call_j(f->nc, &lh_ep_query_sql,
                                  json_pack("{s:s, s:[[i]]}", "sql", "SELECT ?", "params", 1)),
                   400, "params", "params[0]");
    lh_test_expect(lh_test_call_j(f->nc, &lh_ep_query_sql,
                                  json_pack("{s:s, s:[{}]}", "sql", "SELECT ?", "params")),
                   400, "params", "params[0]");
    json_t *many = json_array();
    for (int i = 0; i < 1001; i++)
        json_array_append_new(many, json_integer(i));
    lh_test_expect(lh_test_call_j(f->nc, &lh_ep_query_sql,
                                  json_pack("{s:s, s:o}", "sql", "SELECT 1", "params", many)),
                   400, "params", "1000");
    lh_test_expect(lh_test_call_j(f->nc, &lh_ep_query_sql,
                                  json_pack("{s:s, s:[]}", "sql", "SELECT ?", "params")),
                   400, "params", "1 parameter");
}

/* ---- malformed requests ---- */

static void test_malformed_requests(void **state)
{
    fixture *f = *state;
    natsMsg *m = NULL;
    const char junk[] = "\xc1\x00\xff";
    assert_int_equal(natsConnection_Request(&m, f->nc, "query.sql", junk, 3, TIMEOUT_MS), NATS_OK);
    const char *code = NULL; /* the error body is msgpack, as the request was */
    assert_int_equal(natsMsgHeader_Get(m, "Nats-Service-Error-Code", &code), NATS_OK);
    assert_string_equal(code, "400");
    natsMsg_Destroy(m);
    lh_test_expect(lh_test_call_j(f->nc, &lh_ep_query_sql, json_object()), 400, "sql", NULL);
    lh_test_expect(lh_test_call_j(f->nc, &lh_ep_query_sql, json_pack("{s:i}", "sql", 5)), 400,
                   "sql", NULL);
    lh_test_expect(lh_test_call_j(f->nc, &lh_ep_query_sql, json_pack("{s:s}", "sql", "   ")), 400,
                   "sql", NULL);
    lh_test_expect(lh_test_call_j(f->nc, &lh_ep_query_sql,
                                  json_pack("{s:s, s:s}", "sql", "SELECT 1", "max_rows", "x")),
                   400, "max_rows", NULL);
    lh_test_expect(lh_test_call_j(f->nc, &lh_ep_query_sql,
                                  json_pack("{s:s, s:i}", "sql", "SELECT 1", "timeout_ms", 0)),
                   400, "timeout_ms", NULL);
    lh_test_expect(lh_test_call_j(f->nc, &lh_ep_query_sql,
                                  json_pack("{s:s, s:i}", "sql", "SELECT 1", "timeout_ms", 300001)),
                   400, "timeout_ms", NULL);
    lh_test_expect(lh_test_call_j(f->nc, &lh_ep_query_sql,
                                  json_pack("{s:s, s:i}", "sql", "SELECT 1", "rows", 1)),
                   400, NULL, "rows");
    lh_buf big;
    lh_buf_init(&big);
    lh_buf_append_str(&big, "SELECT 1");
    while (big.len <= 100000)
        lh_buf_append_str(&big, " + 1");
    lh_test_expect(
        lh_test_call_j(f->nc, &lh_ep_query_sql, json_pack("{s:s}", "sql", lh_buf_cstr(&big))), 413,
        "sql", NULL);
    lh_buf_free(&big);
    json_decref(sql_ok(f, "SELECT 1")); /* still answering */
}

/* ---- the cache ---- */

static void restart_queryd(fixture *f)
{
    lh_test_stack_drop(f, &lh_query_actor);
    start_queryd(f);
}

/* The version's table is reused after a restart: no load, and no need
 * for the source object, which is deleted first. */
static void test_restart_reuses_cache(void **state)
{
    fixture *f = *state;
    ingest(f, "keepme", "csv", "k,v\na,1\nb,2\nc,3\n");
    json_int_t loads = stat_of(f, "loads");
    assert_int_equal(sql_int(f, "SELECT sum(v) FROM keepme"), 6);
    assert_int_equal(stat_of(f, "loads"), loads + 1);
    json_t *ds =
        lh_test_ok(lh_test_call_j(f->nc, &lh_ep_catalog_get, json_pack("{s:s}", "name", "keepme")));
    json_t *loc = json_object_get(json_object_get(ds, "version"), "location");
    json_decref(lh_test_ok(lh_test_call_j(
        f->nc, &lh_ep_storage_delete,
        json_pack("{s:s, s:s}", "bucket", str_at(loc, "bucket"), "key", str_at(loc, "key")))));
    json_decref(ds);
    restart_queryd(f);
    assert_int_equal(stat_of(f, "loads"), 0);
    assert_true(stat_of(f, "cached_versions") >= 1);
    assert_int_equal(sql_int(f, "SELECT sum(v) FROM keepme"), 6);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM \"keepme@1\""), 3);
    assert_int_equal(stat_of(f, "loads"), 0);
}

static void test_concurrent_first_queries_load_once(void **state)
{
    fixture *f = *state;
    lh_buf b;
    lh_buf_init(&b);
    lh_buf_append_str(&b, "id,word\n");
    for (int i = 1; i <= 20000; i++)
        lh_buf_appendf(&b, "%d,w%d\n", i, i % 97);
    ingest(f, "burst", "csv", lh_buf_cstr(&b));
    lh_buf_free(&b);
    json_int_t loads = stat_of(f, "loads");
    natsInbox *inbox = NULL;
    natsSubscription *sub = NULL;
    assert_int_equal(natsInbox_Create(&inbox), NATS_OK);
    assert_int_equal(natsConnection_SubscribeSync(&sub, f->nc, inbox), NATS_OK);
    enum { N = 8 };
    for (int i = 0; i < N; i++)
        natsConnection_PublishRequestString(f->nc, "query.sql", inbox,
                                            "{\"sql\":\"SELECT count(*) FROM burst\"}");
    natsConnection_Flush(f->nc);
    for (int i = 0; i < N; i++) {
        natsMsg *m = NULL;
        assert_int_equal(natsSubscription_NextMsg(&m, sub, TIMEOUT_MS), NATS_OK);
        reply r = lh_test_reply_of(m);
        natsMsg_Destroy(m);
        if (r.code)
            fail_msg("concurrent query %d refused: %d %s", i, r.code, r.message);
        assert_int_equal(json_integer_value(cell(r.body, 0, 0)), 20000);
        json_decref(r.body);
    }
    assert_int_equal(stat_of(f, "loads"), loads + 1);
    natsSubscription_Destroy(sub);
    natsInbox_Destroy(inbox);
}

/* Stopping queryd answers every query it holds: the running ones are
 * interrupted, the queued ones refused, all with 503. */
static void test_stop_answers_running_and_queued(void **state)
{
    fixture *f = *state;
    natsInbox *inbox = NULL;
    natsSubscription *sub = NULL;
    assert_int_equal(natsInbox_Create(&inbox), NATS_OK);
    assert_int_equal(natsConnection_SubscribeSync(&sub, f->nc, inbox), NATS_OK);
    enum { N = 6 }; /* four threads busy, two waiting */
    for (int i = 0; i < N; i++)
        natsConnection_PublishRequestString(f->nc, "query.sql", inbox,
                                            "{\"sql\":\"" FOREVER_CTE "\",\"timeout_ms\":60000}");
    natsConnection_Flush(f->nc);
    for (int64_t deadline = lh_test_now_ms() + TIMEOUT_MS; stat_of(f, "queued") < 2;) {
        if (lh_test_now_ms() > deadline)
            fail_msg("the queries never queued up");
        lh_test_sleep_ms(5);
    }
    restart_queryd(f);
    for (int i = 0; i < N; i++) {
        natsMsg *m = NULL;
        assert_int_equal(natsSubscription_NextMsg(&m, sub, TIMEOUT_MS), NATS_OK);
        lh_test_expect(lh_test_reply_of(m), 503, NULL, "stop");
        natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(sub);
    natsInbox_Destroy(inbox);
    json_decref(sql_ok(f, "SELECT 1"));
}

/* Deleted and created again: version 1 again, other data, other table. */
static void test_recreated_dataset_is_not_served_stale(void **state)
{
    fixture *f = *state;
    ingest(f, "phoenix", "csv", "v\n1\n");
    assert_int_equal(sql_int(f, "SELECT sum(v) FROM phoenix"), 1);
    assert_int_equal(sql_int(f, "SELECT sum(v) FROM \"phoenix@1\""), 1);
    json_decref(lh_test_ok(
        lh_test_call_j(f->nc, &lh_ep_catalog_delete, json_pack("{s:s}", "name", "phoenix"))));
    sql_refused(f, "SELECT sum(v) FROM phoenix", 400, "no such table");
    ingest(f, "phoenix", "csv", "v\n5\n");
    assert_int_equal(sql_int(f, "SELECT sum(v) FROM phoenix"), 5);
    assert_int_equal(sql_int(f, "SELECT sum(v) FROM \"phoenix@1\""), 5);
}

/* A version whose data does not fit its schema (committed by hand): the
 * load fails with 422 naming the line and column, and leaves nothing
 * behind: asking again fails the same way. */
static void commit_by_hand(fixture *f, const char *name, const char *key, const char *data,
                           const char *b_type, int rows)
{
    json_decref(lh_test_ok(
        lh_test_call_j(f->nc, &lh_ep_storage_put,
                       json_pack("{s:s, s:s, s:s}", "bucket", "qtest", "key", key, "data", data))));
    json_t *head = lh_test_ok(lh_test_call_j(
        f->nc, &lh_ep_storage_head, json_pack("{s:s, s:s}", "bucket", "qtest", "key", key)));
    json_decref(lh_test_ok(lh_test_call_j(f->nc, &lh_ep_catalog_create,
                                          json_pack("{s:s, s:s}", "name", name, "format", "csv"))));
    json_decref(lh_test_ok(lh_test_call_j(
        f->nc, &lh_ep_catalog_commit,
        json_pack("{s:s, s:{s:s, s:s}, s:[{s:s, s:s}, {s:s, s:s}], s:i, s:I, s:s, "
                  "s:{s:s, s:s, s:b}}",
                  "name", name, "location", "bucket", "qtest", "key", key, "schema", "name", "a",
                  "type", "integer", "name", "b", "type", b_type, "rows", rows, "bytes",
                  int_at(head, "size"), "sha256", str_at(head, "sha256"), "csv", "delimiter", ",",
                  "quote", "\"", "header", 1))));
    json_decref(head);
}

static void test_version_not_matching_its_schema(void **state)
{
    fixture *f = *state;
    lh_buf b;
    lh_buf_init(&b);
    lh_buf_append_str(&b, "a,b\n");
    for (int i = 1; i < 30000; i++)
        lh_buf_appendf(&b, "%d,%d\n", i, i);
    lh_buf_append_str(&b, "30000,oops\n");
    commit_by_hand(f, "mismatch", "mismatch.csv", lh_buf_cstr(&b), "integer", 30000);
    lh_buf_free(&b);
    json_int_t loads = stat_of(f, "loads");
    sql_refused(f, "SELECT count(*) FROM mismatch", 422, "line 30001, column 'b' is not integer");
    sql_refused(f, "SELECT count(*) FROM mismatch", 422, "line 30001");
    commit_by_hand(f, "miscount", "miscount.csv", "a,b\n1,x\n2,y\n", "text", 3);
    sql_refused(f, "SELECT count(*) FROM miscount", 422, "row count");
    assert_int_equal(stat_of(f, "loads"), loads);
    json_decref(sql_ok(f, "SELECT 1")); /* nothing stuck */
}

/* ---- Parquet ---- */

static json_t *version_of(fixture *f, const char *name)
{
    json_t *ds =
        lh_test_ok(lh_test_call_j(f->nc, &lh_ep_catalog_get, json_pack("{s:s}", "name", name)));
    json_t *v = json_incref(json_object_get(ds, "version"));
    json_decref(ds);
    return v;
}

/* ingestd stores each version's rows as a Parquet object, recorded in the
 * version with its sha256; queryd reads that object, not the source. */
static void test_versions_are_parquet_objects(void **state)
{
    fixture *f = *state;
    ingest(f, "pq", "csv", "id,name,score,ok\n1,a,1.5,true\n2,,2,false\n3,c,,\n");
    json_t *v = version_of(f, "pq");
    json_t *pq = json_object_get(v, "parquet");
    json_t *loc = json_object_get(pq, "location");
    assert_string_equal(str_at(loc, "bucket"), "datasets");
    assert_true(json_is_true(json_object_get(v, "source_kept")));
    json_t *head = lh_test_ok(lh_test_call_j(
        f->nc, &lh_ep_storage_head,
        json_pack("{s:s, s:s}", "bucket", "datasets", "key", str_at(loc, "key"))));
    assert_string_equal(str_at(head, "sha256"), str_at(pq, "sha256"));
    assert_int_equal(int_at(head, "size"), int_at(pq, "bytes"));
    json_decref(head);
    json_t *got = lh_test_ok(lh_test_call_j(
        f->nc, &lh_ep_storage_get,
        json_pack("{s:s, s:s, s:i, s:i}", "bucket", "datasets", "key", str_at(loc, "key"),
                  "offset", 0, "length", 4)));
    assert_string_equal(json_string_value(json_object_get(got, "data")), "UEFSMQ=="); /* PAR1 */
    json_decref(got);
    /* The source gone, the version still answers: from its Parquet object. */
    json_t *src = json_object_get(v, "location");
    json_decref(lh_test_ok(lh_test_call_j(
        f->nc, &lh_ep_storage_delete,
        json_pack("{s:s, s:s}", "bucket", str_at(src, "bucket"), "key", str_at(src, "key")))));
    json_t *r = sql_ok(f, "SELECT count(*), sum(score), count(name), bool_and(ok) FROM pq");
    /* One machine, one data directory: the cache holds storaged's file
     * itself (a hard link), not a copy. */
    char stored[1024], cached[1024];
    snprintf(stored, sizeof stored, "%s/storaged/objects/datasets/%s", f->data_dir,
             str_at(loc, "key"));
    snprintf(cached, sizeof cached, "%s/queryd/cache/pq-%s.parquet", f->data_dir,
             str_at(pq, "sha256"));
    struct stat a, b;
    assert_int_equal(stat(stored, &a), 0);
    assert_int_equal(stat(cached, &b), 0);
    assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    assert_int_equal(json_integer_value(cell(r, 0, 0)), 3);
    assert_true(json_real_value(cell(r, 0, 1)) == 3.5);
    assert_int_equal(json_integer_value(cell(r, 0, 2)), 2);
    assert_true(json_is_false(cell(r, 0, 3)));
    json_decref(r);
    r = sql_ok(f, "SELECT * FROM pq");
    char *cols = columns_text(r);
    assert_string_equal(cols, "id:integer name:text score:real ok:boolean");
    free(cols);
    json_decref(r);
    json_decref(v);
}

/* LH_INGEST_KEEP_SOURCE=0: the upload is deleted once the version is
 * committed; the version says so and still answers. */
static void test_source_dropped_when_asked(void **state)
{
    fixture *f = *state;
    lh_test_stack_drop(f, &lh_ingest_actor);
    setenv("LH_INGEST_KEEP_SOURCE", "0", 1);
    lh_test_stack_add(f, &lh_ingest_actor, 2);
    unsetenv("LH_INGEST_KEEP_SOURCE");
    ingest(f, "lean", "jsonl", "{\"k\":1}\n{\"k\":2}\n");
    json_t *v = version_of(f, "lean");
    assert_true(json_is_false(json_object_get(v, "source_kept")));
    json_t *src = json_object_get(v, "location");
    lh_test_expect(lh_test_call_j(f->nc, &lh_ep_storage_head,
                                  json_pack("{s:s, s:s}", "bucket", str_at(src, "bucket"), "key",
                                            str_at(src, "key"))),
                   404, NULL, NULL);
    json_decref(v);
    assert_int_equal(sql_int(f, "SELECT sum(k) FROM lean"), 3);
    lh_test_stack_drop(f, &lh_ingest_actor);
    lh_test_stack_add(f, &lh_ingest_actor, 2);
}

/* A version committed without a Parquet object (before ingestd wrote
 * them, or by hand) is written as Parquet by queryd from its CSV. */
static void test_version_without_parquet_is_converted(void **state)
{
    fixture *f = *state;
    commit_by_hand(f, "handmade", "handmade.csv", "a,b\n1,x\n2,y\n3,\n", "text", 3);
    json_t *v = version_of(f, "handmade");
    assert_null(json_object_get(v, "parquet"));
    json_decref(v);
    json_int_t loads = stat_of(f, "loads");
    json_t *r = sql_ok(f, "SELECT sum(a), count(b), string_agg(b, '' ORDER BY a) FROM handmade");
    assert_int_equal(json_integer_value(cell(r, 0, 0)), 6);
    assert_int_equal(json_integer_value(cell(r, 0, 1)), 2);
    assert_string_equal(json_string_value(cell(r, 0, 2)), "xy");
    json_decref(r);
    assert_int_equal(stat_of(f, "loads"), loads + 1);
}

/* A Parquet object whose bytes are not the ones the version recorded is
 * refused (422), and nothing is cached from it. */
static void test_parquet_object_checked(void **state)
{
    fixture *f = *state;
    json_decref(lh_test_ok(
        lh_test_call_j(f->nc, &lh_ep_storage_put,
                       json_pack("{s:s, s:s, s:s}", "bucket", "qtest", "key", "fake.parquet",
                                 "data", "PAR1 not really"))));
    json_decref(lh_test_ok(lh_test_call_j(f->nc, &lh_ep_catalog_create,
                                          json_pack("{s:s, s:s}", "name", "forged", "format",
                                                    "csv"))));
    const char *zeros = "0000000000000000000000000000000000000000000000000000000000000000";
    json_decref(lh_test_ok(lh_test_call_j(
        f->nc, &lh_ep_catalog_commit,
        json_pack("{s:s, s:{s:s, s:s}, s:[{s:s, s:s}], s:i, s:i, s:s, s:{s:{s:s, s:s}, s:s, "
                  "s:i}}",
                  "name", "forged", "location", "bucket", "qtest", "key", "fake.parquet",
                  "schema", "name", "a", "type", "integer", "rows", 1, "bytes", 15, "sha256",
                  zeros, "parquet", "location", "bucket", "qtest", "key", "fake.parquet",
                  "sha256", zeros, "bytes", 15))));
    json_int_t loads = stat_of(f, "loads");
    sql_refused(f, "SELECT * FROM forged", 422, "does not have its recorded sha256");
    assert_int_equal(stat_of(f, "loads"), loads);
    json_decref(sql_ok(f, "SELECT 1"));
}

static void test_stats(void **state)
{
    fixture *f = *state;
    json_t *st = lh_test_ok(lh_test_call_j(f->nc, &lh_ep_query_stats, json_object()));
    assert_int_equal(int_at(st, "threads"), 4);
    assert_int_equal(int_at(st, "queued"), 0);
    assert_true(int_at(st, "queries") > 0);
    assert_true(int_at(st, "cached_versions") >= int_at(st, "loads"));
    json_decref(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_columns_keep_catalog_types),
        cmocka_unit_test(test_jsonl_types),
        cmocka_unit_test(test_computed_column_types),
        cmocka_unit_test(test_join_two_datasets),
        cmocka_unit_test(test_new_version_without_restart),
        cmocka_unit_test(test_unknown_names_and_syntax),
        cmocka_unit_test(test_duckdb_reserved_name_quoted),
        cmocka_unit_test(test_only_reads_are_allowed),
        cmocka_unit_test(test_row_cap_and_truncation),
        cmocka_unit_test(test_result_byte_bound),
        cmocka_unit_test(test_runaway_queries_time_out),
        cmocka_unit_test(test_others_answered_during_runaway),
        cmocka_unit_test(test_parameters_are_bound),
        cmocka_unit_test(test_bad_params_refused),
        cmocka_unit_test(test_malformed_requests),
        cmocka_unit_test(test_restart_reuses_cache),
        cmocka_unit_test(test_concurrent_first_queries_load_once),
        cmocka_unit_test(test_stop_answers_running_and_queued),
        cmocka_unit_test(test_recreated_dataset_is_not_served_stale),
        cmocka_unit_test(test_version_not_matching_its_schema),
        cmocka_unit_test(test_versions_are_parquet_objects),
        cmocka_unit_test(test_source_dropped_when_asked),
        cmocka_unit_test(test_version_without_parquet_is_converted),
        cmocka_unit_test(test_parquet_object_checked),
        cmocka_unit_test(test_stats),
    };
    return cmocka_run_group_tests(tests, group_setup, lh_test_stack_teardown);
}
