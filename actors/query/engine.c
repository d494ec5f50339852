/*
 * engine.c — queryd's DuckDB database, opened once and shared by the
 * query threads (each has its own connection, see session.c).
 *
 * Containment is the engine's, not ours: nothing is installed or loaded
 * at run time; file access is allowed under the cache directory only
 * (allowed_directories, then enable_external_access=false, which DuckDB
 * accepts in that order only as SQL); then lock_configuration forbids
 * any later SET. So read_csv('/etc/passwd') or a path with '..' fails
 * inside DuckDB even if a statement got past guard.c. Checked by
 * tests/test_duckdb.c on the pinned library.
 */
#include "actors/query/query_internal.h"

#include <stdio.h>
#include <string.h>

#include "lib/parquet/parquet.h"

static lh_err *lh_engine_exec(duckdb_connection conn, const char *sql)
{
    duckdb_result r;
    lh_err *err = NULL;
    if (duckdb_query(conn, sql, &r) == DuckDBError)
        err = lh_err_new(LH_EINTERNAL, NULL, "DuckDB: %s: %s", sql, duckdb_result_error(&r));
    duckdb_destroy_result(&r);
    return err;
}

static lh_err *lh_engine_contain(duckdb_database db, const char *cache_dir)
{
    duckdb_connection conn;
    if (duckdb_connect(db, &conn) == DuckDBError)
        return lh_err_new(LH_EINTERNAL, NULL, "DuckDB: cannot connect");
    lh_buf sql;
    lh_buf_init(&sql);
    lh_buf_append_str(&sql, "SET allowed_directories = [");
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/", cache_dir);
    lh_parquet_quote(&sql, dir, strlen(dir), '\'');
    lh_buf_append_str(&sql, "]");
    lh_err *err = lh_engine_exec(conn, lh_buf_cstr(&sql));
    if (!err)
        err = lh_engine_exec(conn, "SET enable_external_access = false");
    if (!err)
        err = lh_engine_exec(conn, "SET lock_configuration = true");
    lh_buf_free(&sql);
    duckdb_disconnect(&conn);
    return err;
}

lh_err *lh_qengine_open(const lh_qengine_spec *spec, duckdb_database *out)
{
    duckdb_config cfg;
    if (duckdb_create_config(&cfg) == DuckDBError)
        return lh_err_new(LH_EINTERNAL, NULL, "DuckDB: no configuration");
    char threads[16];
    snprintf(threads, sizeof threads, "%d", spec->threads);
    const char *set[][2] = {
        {"autoinstall_known_extensions", "false"},
        {"autoload_known_extensions", "false"},
        {"temp_directory", spec->tmp_dir},
        {"memory_limit", spec->memory_limit},
        {"threads", spec->threads > 0 ? threads : NULL},
    };
    lh_err *err = NULL;
    for (size_t i = 0; i < sizeof set / sizeof set[0] && !err; i++)
        if (set[i][1] && duckdb_set_config(cfg, set[i][0], set[i][1]) == DuckDBError)
            err = lh_err_new(LH_EINTERNAL, NULL, "DuckDB refuses %s = '%s'", set[i][0], set[i][1]);
    char *why = NULL;
    if (!err && duckdb_open_ext(NULL, out, cfg, &why) == DuckDBError)
        err = lh_err_new(LH_EINTERNAL, NULL, "DuckDB: %s", why ? why : "cannot open");
    duckdb_free(why);
    duckdb_destroy_config(&cfg);
    if (!err && (err = lh_engine_contain(*out, spec->cache_dir)))
        duckdb_close(out);
    return err;
}
