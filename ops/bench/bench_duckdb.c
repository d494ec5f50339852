/*
 * bench_duckdb.c — `lh-bench-duckdb`: DuckDB in-process on a Parquet file,
 * the limit queryd is measured against (ops/bench/query.sh), linking the
 * same pinned libduckdb queryd does.
 *
 *   lh-bench-duckdb convert CSV PARQUET      a CSV file (header, types
 *                                            detected) written as Parquet
 *   lh-bench-duckdb query SQL RUNS NAME=PARQUET...
 *                                            SQL over a view NAME of each
 *                                            file, RUNS times
 *
 * `query` prints `rows=N min_ms=A median_ms=B` (the first run included:
 * nothing is cached between runs but what DuckDB itself keeps). Benchmarks
 * live here, never in tests.
 */
#include <duckdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double lh_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int lh_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Runs sql; on failure prints why and exits. Rows in *rows. */
static void lh_run(duckdb_connection con, const char *sql, idx_t *rows)
{
    duckdb_result res;
    if (duckdb_query(con, sql, &res) != DuckDBSuccess) {
        fprintf(stderr, "lh-bench-duckdb: %s: %s\n", sql, duckdb_result_error(&res));
        duckdb_destroy_result(&res);
        exit(1);
    }
    if (rows)
        *rows = duckdb_row_count(&res);
    duckdb_destroy_result(&res);
}

/* `'` doubled, for a path inside a SQL string. */
static void lh_quote(char *out, size_t cap, const char *path)
{
    size_t n = 0;
    for (; *path && n + 2 < cap; path++) {
        if (*path == '\'')
            out[n++] = '\'';
        out[n++] = *path;
    }
    out[n] = '\0';
}

static void lh_convert(duckdb_connection con, const char *csv, const char *parquet)
{
    char a[2048], b[2048], sql[8192];
    lh_quote(a, sizeof a, csv);
    lh_quote(b, sizeof b, parquet);
    snprintf(sql, sizeof sql, "COPY (SELECT * FROM read_csv('%s', header = true)) TO '%s' "
                              "(FORMAT parquet)", a, b);
    lh_run(con, sql, NULL);
}

/* NAME=PATH: a view NAME over the Parquet file PATH. */
static void lh_view(duckdb_connection con, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) {
        fprintf(stderr, "lh-bench-duckdb: '%s' is not NAME=PARQUET\n", arg);
        exit(2);
    }
    char path[2048], sql[8192];
    lh_quote(path, sizeof path, eq + 1);
    snprintf(sql, sizeof sql, "CREATE VIEW \"%.*s\" AS SELECT * FROM read_parquet('%s')",
             (int)(eq - arg), arg, path);
    lh_run(con, sql, NULL);
}

static void lh_query(duckdb_connection con, const char *sql, int runs)
{
    double *ms = calloc((size_t)runs, sizeof *ms);
    idx_t rows = 0;
    for (int i = 0; i < runs; i++) {
        double t0 = lh_now_ms();
        lh_run(con, sql, &rows);
        ms[i] = lh_now_ms() - t0;
    }
    qsort(ms, (size_t)runs, sizeof *ms, lh_cmp_double);
    printf("rows=%llu min_ms=%.2f median_ms=%.2f\n", (unsigned long long)rows, ms[0],
           ms[runs / 2]);
    free(ms);
}

int main(int argc, char **argv)
{
    bool convert = argc == 4 && !strcmp(argv[1], "convert");
    bool query = argc >= 5 && !strcmp(argv[1], "query");
    int runs = query ? atoi(argv[3]) : 0;
    if ((!convert && !query) || (query && (runs < 1 || runs > 1000))) {
        fprintf(stderr, "usage: lh-bench-duckdb convert CSV PARQUET\n"
                        "       lh-bench-duckdb query SQL RUNS NAME=PARQUET...\n");
        return 2;
    }
    duckdb_database db;
    duckdb_connection con;
    if (duckdb_open(NULL, &db) != DuckDBSuccess || duckdb_connect(db, &con) != DuckDBSuccess) {
        fprintf(stderr, "lh-bench-duckdb: cannot open DuckDB\n");
        return 1;
    }
    if (convert) {
        lh_convert(con, argv[2], argv[3]);
    } else {
        for (int i = 4; i < argc; i++)
            lh_view(con, argv[i]);
        lh_query(con, argv[2], runs);
    }
    duckdb_disconnect(&con);
    duckdb_close(&db);
    return 0;
}
