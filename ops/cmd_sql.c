/*
 * cmd_sql.c — `lakehouse sql "SELECT ..."`: one query.sql on the bus, the
 * result printed as an aligned table (numbers to the right, NULL spelled
 * out), or the reply as JSON with --json for scripts.
 *
 * Parameters are bound by queryd, never pasted into the SQL: each
 * --param is typed by its look (an integer, a real, else text) unless
 * given as --text, which is always text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/buf.h"
#include "bus/config.h"
#include "bus/json.h"
#include "bus/request.h"
#include "bus/value.h"
#include "ops/cli.h"
#include "ops/sql_table.h"
#include "schemas/query.h"

#define LH_SQL_MAX_PARAMS 1000

static const char lh_sql_usage[] =
    "usage: lakehouse sql SQL|- [--param V]... [--text V]... [--max-rows N]\n"
    "                     [--timeout MS] [--json] [--data-dir DIR]\n"
    "\n"
    "Runs one read-only SQL statement over the catalog's datasets (each a table\n"
    "named after it; \"name@N\" is version N) and prints the result as a table.\n"
    "The SQL is read from stdin when it is `-`.\n"
    "\n"
    "  --param V        bind the next ? to V: an integer or a real when V reads as\n"
    "                   one, else text\n"
    "  --text V         bind the next ? to V as text, whatever it looks like\n"
    "  --max-rows N     at most N rows (queryd's default 1000, at most 100000)\n"
    "  --timeout MS     the query's time limit (queryd's default 10000)\n"
    "  --json           print queryd's reply as JSON instead of a table\n"
    "  --data-dir DIR   whose stack to ask when $LH_NATS_URL is not set\n"
    "\n"
    "Exits 1 with `error CODE: MESSAGE` when the query is refused or fails.\n"
    "\n"
    "example: lakehouse sql 'SELECT city, count(*) FROM trips WHERE km > ? GROUP BY 1'"
    " --param 10\n";

enum { LH_SQL_PARAM, LH_SQL_TEXT, LH_SQL_MAX_ROWS, LH_SQL_TIMEOUT, LH_SQL_JSON, LH_SQL_DATA_DIR,
       LH_SQL_N_OPTS };

typedef struct lh_sql_param {
    const char *value;
    bool text;
} lh_sql_param;

typedef struct lh_sql_args {
    const char *sql;
    lh_sql_param params[LH_SQL_MAX_PARAMS];
    int n_params;
    int max_rows;   /* 0: queryd's default */
    int timeout_ms; /* 0: queryd's default */
    bool json;
    const char *data_dir;
} lh_sql_args;

static int lh_sql_option(lh_sql_args *a, int opt, const char *v)
{
    const lh_command *c = &lh_cmd_sql;
    switch (opt) {
    case LH_SQL_PARAM:
    case LH_SQL_TEXT:
        if (a->n_params == LH_SQL_MAX_PARAMS)
            return lh_cli_usage_error(c, "at most %d parameters", LH_SQL_MAX_PARAMS);
        a->params[a->n_params++] = (lh_sql_param){v, opt == LH_SQL_TEXT};
        return LH_EXIT_OK;
    case LH_SQL_MAX_ROWS:
        return lh_cli_parse_int(v, 1, 100000, &a->max_rows)
                   ? LH_EXIT_OK
                   : lh_cli_usage_error(c, "--max-rows expects 1 to 100000, not '%s'", v);
    case LH_SQL_TIMEOUT:
        return lh_cli_parse_int(v, 1, 300000, &a->timeout_ms)
                   ? LH_EXIT_OK
                   : lh_cli_usage_error(c, "--timeout expects 1 to 300000 ms, not '%s'", v);
    case LH_SQL_JSON: a->json = true; return LH_EXIT_OK;
    default: a->data_dir = v; return LH_EXIT_OK;
    }
}

/* Returns -1 to go on, or the exit status (help or a usage error). */
static int lh_sql_parse(int argc, char **argv, lh_sql_args *a)
{
    static const lh_cli_opt opts[] = {
        [LH_SQL_PARAM] = {"param", true},       [LH_SQL_TEXT] = {"text", true},
        [LH_SQL_MAX_ROWS] = {"max-rows", true}, [LH_SQL_TIMEOUT] = {"timeout", true},
        [LH_SQL_JSON] = {"json", false},        [LH_SQL_DATA_DIR] = {"data-dir", true},
    };
    lh_cli_scan scan;
    lh_cli_scan_init(&scan, &lh_cmd_sql, opts, LH_SQL_N_OPTS, argc, argv);
    int opt, rc = LH_EXIT_OK;
    const char *value;
    for (;;) {
        switch (lh_cli_scan_next(&scan, &opt, &value)) {
        case LH_CLI_END: return a->sql ? -1 : lh_cli_usage_error(&lh_cmd_sql, "give the SQL");
        case LH_CLI_HELP: lh_cli_print_usage(&lh_cmd_sql, stdout); return LH_EXIT_OK;
        case LH_CLI_ERROR: return LH_EXIT_USAGE;
        case LH_CLI_POSITIONAL:
            rc = a->sql ? lh_cli_usage_error(&lh_cmd_sql, "unexpected argument '%s' (quote "
                                             "the SQL as one argument)", value)
                        : (a->sql = value, LH_EXIT_OK);
            break;
        case LH_CLI_OPTION: rc = lh_sql_option(a, opt, value); break;
        }
        if (rc)
            return rc;
    }
}

/* ---- the request ---- */

/* A parameter as the shell gave it: a number when it reads as one (and
 * --text did not say otherwise), else text. */
static void lh_sql_write_param(lh_vw *w, const lh_sql_param *p)
{
    char *end = NULL;
    if (!p->text && *p->value) {
        long long i = strtoll(p->value, &end, 10);
        if (!*end) {
            lh_vw_int(w, i);
            return;
        }
        double d = strtod(p->value, &end);
        if (!*end) {
            lh_vw_double(w, d);
            return;
        }
    }
    lh_vw_cstr(w, p->value);
}

/* query.sql's request with what the command line gave; `params` (a list
 * of values of any type) is written with the value writer into `scratch`. */
static void lh_sql_pack(const lh_sql_args *a, const char *sql, lh_buf *scratch, lh_buf *out)
{
    lh_query_sql_request q = {.sql = {sql, strlen(sql)}};
    if (a->n_params) {
        lh_vw w;
        lh_vw_init(&w, scratch);
        lh_vw_array(&w, (size_t)a->n_params);
        for (int i = 0; i < a->n_params; i++)
            lh_sql_write_param(&w, &a->params[i]);
        q.params = (lh_raw){scratch->data, scratch->len};
    }
    if (a->max_rows)
        LH_SET(&q, max_rows, a->max_rows);
    if (a->timeout_ms)
        LH_SET(&q, timeout_ms, a->timeout_ms);
    lh_message_encode_given(lh_ep_query_sql.request, &q, out);
}

static void lh_sql_read_stdin(lh_buf *out)
{
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
        lh_buf_append(out, chunk, n);
    lh_buf_cstr(out);
}

/* ---- the answer ---- */

static int lh_sql_print(const lh_sql_args *a, const lh_buf *reply)
{
    if (!a->json)
        return lh_sql_table_print(reply->data, reply->len, stdout)
                   ? LH_EXIT_OK
                   : lh_cli_fail(&lh_cmd_sql, "unreadable reply from queryd");
    lh_buf json;
    lh_buf_init(&json);
    lh_err *err = lh_msgpack_to_json(reply->data, reply->len, &json);
    if (!err)
        printf("%s\n", lh_buf_cstr(&json));
    lh_buf_free(&json);
    int rc = err ? lh_cli_fail(&lh_cmd_sql, "unreadable reply: %s", lh_err_message(err))
                 : LH_EXIT_OK;
    lh_err_free(err);
    return rc;
}

static int lh_sql_send(const lh_sql_args *a, const lh_buf *body)
{
    lh_config cfg;
    lh_config_load(&cfg);
    /* The bus waits a little longer than the query may run, so a query
     * that times out is reported by queryd, not as a silent 504. */
    int wait_ms = (a->timeout_ms ? a->timeout_ms : 10000) + cfg.request_timeout_ms;
    lh_buf reply;
    lh_buf_init(&reply);
    lh_err *err = lh_cli_request(a->data_dir, "lakehouse-sql", lh_ep_query_sql.subject, body,
                                 wait_ms, &reply);
    int rc = err ? lh_cli_bus_error(err) : lh_sql_print(a, &reply);
    lh_buf_free(&reply);
    return rc;
}

static int lh_sql_run(int argc, char **argv)
{
    lh_sql_args *args = calloc(1, sizeof *args);
    if (!args)
        return lh_cli_fail(&lh_cmd_sql, "out of memory");
    int rc = lh_sql_parse(argc, argv, args);
    if (rc >= 0) {
        free(args);
        return rc;
    }
    lh_cli_quiet_logs();
    lh_buf sql, params, body;
    lh_buf_init(&sql);
    lh_buf_init(&params);
    lh_buf_init(&body);
    if (!strcmp(args->sql, "-"))
        lh_sql_read_stdin(&sql);
    else
        lh_buf_append_str(&sql, args->sql);
    lh_sql_pack(args, lh_buf_cstr(&sql), &params, &body);
    rc = lh_sql_send(args, &body);
    lh_buf_free(&sql);
    lh_buf_free(&params);
    lh_buf_free(&body);
    free(args);
    return rc;
}

const lh_command lh_cmd_sql = {
    .name = "sql",
    .run = lh_sql_run,
    .summary = "run a read-only SQL query over the datasets",
    .usage = lh_sql_usage,
};
