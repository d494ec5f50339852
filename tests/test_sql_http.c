/*
 * test_sql_http.c — SQL from the outside: POST /v1/sql through the real
 * gateway and `lakehouse sql` on the command line, onto queryd, storaged,
 * catalogd and ingestd (one `lakehouse serve` process) on a real
 * nats-server. Types survive JSON (a real sum stays a real), refusals keep
 * their status, a query may run past the gateway's usual deadline and is
 * answered by queryd (not cut off with a 504), and the CLI prints an
 * aligned table, JSON, and `error CODE: ...` with exit status 1.
 */
#include "tests/support/harness.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* The fixture is the stack: nats-server and one `lakehouse serve` of ACTORS. */
typedef lh_test_stack fixture;

static const char *const ACTORS[] = {"storaged", "catalogd", "ingestd", "queryd", "gateway",
                                     NULL};

/* The gateway's usual deadline, short here: a query told to run longer
 * must still be answered by queryd. */
#define GATEWAY_DEADLINE_MS 1500

static const char TRIPS[] = "city,km,paid,note\n"
                            "Oslo,12,true,\"first, with a comma\"\n"
                            "Bergen,7.5,false,\n"
                            "Oslo,0.5,true,é\n";

static long http_post(fixture *f, const char *path, const char *ct, const char *body, json_t **out)
{
    char header[128];
    snprintf(header, sizeof header, "Content-Type: %s", ct);
    const char *headers[] = {header, NULL};
    lh_test_response r = lh_test_fetch(f->http_port, "POST", path, headers, body, strlen(body));
    if (!r.json)
        fail_msg("POST %s: %ld, not JSON: %s", path, r.status, r.body);
    *out = json_incref(r.json);
    long status = r.status;
    lh_test_response_free(&r);
    return status;
}

static int setup(void **state)
{
    char timeout_env[64];
    snprintf(timeout_env, sizeof timeout_env, "LH_REQUEST_TIMEOUT_MS=%d", GATEWAY_DEADLINE_MS);
    char *const env[] = {timeout_env, NULL};
    fixture *f = lh_test_stack_new(&(lh_test_stack_opts){.serve = ACTORS, .env = env});
    json_t *job = NULL;
    long status = http_post(f, "/v1/datasets/trips?format=csv", "text/csv", TRIPS, &job);
    if (status != 201)
        fail_msg("upload: %ld", status);
    json_decref(job);
    *state = f;
    return 0;
}

static json_t *sql(fixture *f, const char *body, long want)
{
    json_t *reply = NULL;
    long status = http_post(f, "/v1/sql", "application/json", body, &reply);
    if (status != want) {
        char *text = json_dumps(reply, 0);
        fail_msg("POST /v1/sql %s: %ld %s, expected %ld", body, status, text, want);
    }
    return reply;
}

static const char *error_message(json_t *reply)
{
    const char *m = json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
    return m ? m : "";
}

/* ---- HTTP ---- */

static void test_types_survive_json(void **state)
{
    fixture *f = *state;
    json_t *r = sql(f, "{\"sql\":\"SELECT city, sum(km) AS km, count(*) AS n "
                       "FROM trips GROUP BY city ORDER BY city\"}",
                    200);
    char *rows = json_dumps(json_object_get(r, "rows"), JSON_COMPACT);
    /* 12 + 0.5 is a real: 12.5; Bergen's 7.5; count an integer */
    assert_string_equal(rows, "[[\"Bergen\",7.5,1],[\"Oslo\",12.5,2]]");
    free(rows);
    json_t *cols = json_object_get(r, "columns");
    assert_string_equal(json_string_value(json_object_get(json_array_get(cols, 2), "type")),
                        "integer");
    json_decref(r);
    r = sql(f, "{\"sql\":\"SELECT sum(km) FROM trips WHERE city = ?\",\"params\":[\"Bergen\"]}",
            200);
    assert_true(json_is_real(json_array_get(json_array_get(json_object_get(r, "rows"), 0), 0)));
    json_decref(r);
    r = sql(f, "{\"sql\":\"SELECT note, paid, km FROM trips WHERE city = 'Bergen'\"}", 200);
    rows = json_dumps(json_object_get(r, "rows"), JSON_COMPACT);
    assert_string_equal(rows, "[[null,false,7.5]]"); /* null stays null; a boolean a boolean */
    free(rows);
    json_decref(r);
}

static void test_refusals_keep_their_status(void **state)
{
    fixture *f = *state;
    json_t *r = sql(f, "{\"sql\":\"SELEC 1\"}", 400);
    assert_non_null(strstr(error_message(r), "syntax error"));
    json_decref(r);
    r = sql(f, "{\"sql\":\"DELETE FROM trips\"}", 403);
    json_decref(r);
    r = sql(f, "{\"sql\":\"SELECT * FROM \\\"trips@4\\\"\"}", 404);
    json_decref(r);
    r = sql(f, "{\"sql\":", 400);
    json_decref(r);
    r = sql(f, "{\"sql\":\"SELECT 1\",\"max_rows\":\"ten\"}", 400);
    json_decref(r);
    r = sql(f, "{\"sql\":\"SELECT count(*) FROM trips\"}", 200); /* nothing was lost */
    assert_int_equal(json_integer_value(json_array_get(
                         json_array_get(json_object_get(r, "rows"), 0), 0)),
                     3);
    json_decref(r);
}

/* timeout_ms beyond the gateway's usual deadline: queryd's own answer (422
 * when the query runs away), not the gateway's 504. */
static void test_query_outlives_the_gateway_deadline(void **state)
{
    fixture *f = *state;
    char body[256];
    snprintf(body, sizeof body,
             "{\"sql\":\"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
             "SELECT count(*) FROM c\",\"timeout_ms\":%d}",
             GATEWAY_DEADLINE_MS * 2);
    json_t *r = sql(f, body, 422);
    assert_non_null(strstr(error_message(r), "timed out"));
    json_decref(r);
}

/* ---- the command line ---- */

static int run_sql(fixture *f, char *const args[], char **out)
{
    char *argv[16] = {LH_BINARY, "sql"};
    int n = 2;
    for (int i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char log[700];
    snprintf(log, sizeof log, "%s/sql.out", f->nats.dir);
    unlink(log);
    int status = lh_test_stack_run(f, argv, log, 60000);
    *out = lh_test_read_file(log, NULL);
    return status;
}

static void test_cli_prints_a_table(void **state)
{
    fixture *f = *state;
    char *out = NULL;
    char *const args[] = {"SELECT city, km, paid, note FROM trips WHERE km > ? ORDER BY km DESC",
                          "--param", "0.1", NULL};
    assert_int_equal(run_sql(f, args, &out), 0);
    const char *table = " city   | km   | paid  | note\n"
                        "--------+------+-------+---------------------\n"
                        " Oslo   | 12.0 | true  | first, with a comma\n"
                        " Bergen |  7.5 | false | NULL\n"
                        " Oslo   |  0.5 | true  | é\n";
    if (strncmp(out, table, strlen(table)))
        fail_msg("got:\n%s\nexpected:\n%s", out, table);
    assert_non_null(strstr(out + strlen(table), "(3 rows, "));
    free(out);

    char *const json_args[] = {"SELECT count(*) AS n FROM trips", "--json", NULL};
    assert_int_equal(run_sql(f, json_args, &out), 0);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "row_count")), 1);
    json_decref(j);
    free(out);

    char *const capped[] = {"SELECT city FROM trips", "--max-rows", "1", NULL};
    assert_int_equal(run_sql(f, capped, &out), 0);
    assert_non_null(strstr(out, "(1 row; truncated"));
    free(out);

    char *const bad_cap[] = {"SELECT 1", "--max-rows", "0", NULL};
    assert_int_equal(run_sql(f, bad_cap, &out), 2); /* a usage error, nothing sent */
    assert_non_null(strstr(out, "--max-rows expects 1 to 100000"));
    free(out);

    char *const refused[] = {"DROP TABLE trips", NULL};
    assert_int_equal(run_sql(f, refused, &out), 1);
    assert_non_null(strstr(out, "error 403: "));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types_survive_json),
        cmocka_unit_test(test_refusals_keep_their_status),
        cmocka_unit_test(test_query_outlives_the_gateway_deadline),
        cmocka_unit_test(test_cli_prints_a_table),
    };
    return cmocka_run_group_tests(tests, setup, lh_test_stack_teardown);
}
