/*
 * test_duckdb.c — what queryd will ask of the DuckDB library ops/duckdb.sh
 * pins, checked on that library itself: it reads Parquet with nothing
 * installed or loaded at run time; a prepared statement says what kind it
 * is, so only reads are run (COPY ... TO, ATTACH, INSTALL, LOAD, SET and
 * a PRAGMA that sets are not SELECT; a PRAGMA that returns rows is, which
 * queryd must refuse by other means); and a database made contained
 * (allowed directories, then external access off, then the configuration
 * locked, by SET: allowed_directories is not taken at open) reads files
 * in that directory and refuses every other path, a table function
 * reading /etc/passwd included, and refuses to be unlocked. If an upgrade of the
 * pinned version changes any of it, this fails before queryd does.
 */
#include "tests/support/harness.h"

#include <duckdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs sql; true when it succeeded (err: its message, when not NULL). */
static bool run(duckdb_connection con, const char *sql, char *err, size_t cap)
{
    duckdb_result res;
    bool ok = duckdb_query(con, sql, &res) == DuckDBSuccess;
    if (!ok && err)
        snprintf(err, cap, "%s", duckdb_result_error(&res));
    duckdb_destroy_result(&res);
    return ok;
}

static int64_t scalar(duckdb_connection con, const char *sql)
{
    duckdb_result res;
    if (duckdb_query(con, sql, &res) != DuckDBSuccess)
        fail_msg("%s: %s", sql, duckdb_result_error(&res));
    int64_t v = duckdb_value_int64(&res, 0, 0);
    duckdb_destroy_result(&res);
    return v;
}

static duckdb_statement_type kind_of(duckdb_connection con, const char *sql)
{
    duckdb_prepared_statement st = NULL;
    duckdb_statement_type t = DUCKDB_STATEMENT_TYPE_INVALID;
    if (duckdb_prepare(con, sql, &st) == DuckDBSuccess)
        t = duckdb_prepared_statement_type(st);
    duckdb_destroy_prepare(&st);
    return t;
}

/* A database in memory; contained: reads only under `dir`. */
static void open_db(const char *dir, duckdb_database *db, duckdb_connection *con)
{
    duckdb_config cfg = NULL;
    assert_int_equal(duckdb_create_config(&cfg), DuckDBSuccess);
    assert_int_equal(duckdb_set_config(cfg, "autoinstall_known_extensions", "false"),
                     DuckDBSuccess);
    assert_int_equal(duckdb_set_config(cfg, "autoload_known_extensions", "false"),
                     DuckDBSuccess);
    char *err = NULL;
    if (duckdb_open_ext(NULL, db, cfg, &err) != DuckDBSuccess)
        fail_msg("open: %s", err ? err : "?");
    duckdb_destroy_config(&cfg);
    assert_int_equal(duckdb_connect(*db, con), DuckDBSuccess);
    if (dir) { /* in this order: the list first, then access off, then the lock */
        char sql[1300], why[512] = "";
        snprintf(sql, sizeof sql, "SET allowed_directories = ['%s/']", dir);
        if (!run(*con, sql, why, sizeof why) ||
            !run(*con, "SET enable_external_access = false", why, sizeof why) ||
            !run(*con, "SET lock_configuration = true", why, sizeof why))
            fail_msg("contain: %s", why);
    }
}

static void test_parquet_and_statement_kinds(void **state)
{
    (void)state;
    char *dir = lh_test_tmpdir();
    duckdb_database db;
    duckdb_connection con;
    open_db(NULL, &db, &con);
    char sql[1400];
    snprintf(sql, sizeof sql,
             "COPY (SELECT range AS i, range * 2 AS j, 'r' || range AS s FROM range(1000)) "
             "TO '%s/t.parquet' (FORMAT parquet)", dir);
    assert_true(run(con, sql, NULL, 0));
    snprintf(sql, sizeof sql, "SELECT sum(j) FROM read_parquet('%s/t.parquet') WHERE i < 10", dir);
    assert_int_equal(scalar(con, sql), 90);
    assert_int_equal(kind_of(con, "SELECT 1"), DUCKDB_STATEMENT_TYPE_SELECT);
    assert_int_equal(kind_of(con, "WITH x AS (SELECT 1 AS a) SELECT a FROM x"),
                     DUCKDB_STATEMENT_TYPE_SELECT);
    static const char *const not_reads[] = {
        "COPY (SELECT 1) TO 'x.csv'", "ATTACH 'x.db' AS x", "INSTALL httpfs", "LOAD json",
        "SET threads = 1", "PRAGMA threads = 1", "CREATE TABLE t (a INT)", "DETACH x",
        "EXPORT DATABASE 'x'",
    };
    for (size_t i = 0; i < sizeof not_reads / sizeof not_reads[0]; i++)
        if (kind_of(con, not_reads[i]) == DUCKDB_STATEMENT_TYPE_SELECT)
            fail_msg("'%s' prepared as a SELECT", not_reads[i]);
    /* but a pragma that returns rows is rewritten into a SELECT from its
     * table function: the kind alone does not refuse PRAGMA, so queryd
     * must look at the statement as written too */
    assert_int_equal(kind_of(con, "PRAGMA version"), DUCKDB_STATEMENT_TYPE_SELECT);
    duckdb_disconnect(&con);
    duckdb_close(&db);
    lh_test_rmrf(dir);
    free(dir);
}

static void test_a_contained_database(void **state)
{
    (void)state;
    char *dir = lh_test_tmpdir();
    duckdb_database db;
    duckdb_connection con;
    open_db(NULL, &db, &con); /* the file, written by an open one */
    char sql[1400];
    snprintf(sql, sizeof sql, "COPY (SELECT range AS i FROM range(7)) TO '%s/t.parquet' "
                              "(FORMAT parquet)", dir);
    assert_true(run(con, sql, NULL, 0));
    duckdb_disconnect(&con);
    duckdb_close(&db);
    open_db(dir, &db, &con);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM read_parquet('%s/t.parquet')", dir);
    assert_int_equal(scalar(con, sql), 7);
    char err[512];
    static const char *const refused[] = {
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SET enable_external_access = true",
        "SET allowed_directories = ['/']",
        "ATTACH '/tmp/elsewhere.db' AS x",
        "INSTALL httpfs",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (run(con, refused[i], err, sizeof err))
            fail_msg("'%s' was run in a contained database", refused[i]);
    snprintf(sql, sizeof sql, "SELECT * FROM read_csv('%s/../../etc/passwd')", dir);
    assert_false(run(con, sql, err, sizeof err)); /* no way out of the directory */
    duckdb_disconnect(&con);
    duckdb_close(&db);
    lh_test_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parquet_and_statement_kinds),
        cmocka_unit_test(test_a_contained_database),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
