/*
 * cli.c — argument helpers shared by the subcommands, so that options,
 * `--help` and usage errors look and behave the same everywhere.
 */
#include "ops/cli.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bus/conn.h"
#include "bus/log.h"
#include "bus/request.h"
#include "ops/stack.h"

void lh_cli_print_usage(const lh_command *cmd, FILE *out)
{
    fputs(cmd->usage, out);
    size_t n = strlen(cmd->usage);
    if (n == 0 || cmd->usage[n - 1] != '\n')
        fputc('\n', out);
}

int lh_cli_usage_error(const lh_command *cmd, const char *fmt, ...)
{
    fprintf(stderr, "lakehouse %s: ", cmd->name);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see `lakehouse %s --help`)\n", cmd->name);
    return LH_EXIT_USAGE;
}

int lh_cli_fail(const lh_command *cmd, const char *fmt, ...)
{
    fprintf(stderr, "lakehouse %s: ", cmd->name);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return LH_EXIT_FAIL;
}

void lh_cli_quiet_logs(void)
{
    lh_log_init("lakehouse");
    if (!getenv("LH_LOG_LEVEL"))
        lh_log_set_level(LH_LOG_ERROR);
}

bool lh_cli_parse_int(const char *s, int min, int max, int *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno || *end || n < min || n > max)
        return false;
    *out = (int)n;
    return true;
}

void lh_cli_scan_init(lh_cli_scan *s, const lh_command *cmd, const lh_cli_opt *opts,
                      int n_opts, int argc, char **argv)
{
    assert(argc >= 1);
    memset(s, 0, sizeof *s);
    s->cmd = cmd;
    s->opts = opts;
    s->n_opts = n_opts;
    s->argc = argc;
    s->argv = argv;
    s->i = 1; /* argv[0] is the subcommand */
}

/* Matches "--name" or "--name=value" against the option table. */
static int lh_cli_find(const lh_cli_scan *s, const char *arg, const char **inline_value)
{
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    *inline_value = eq ? eq + 1 : NULL;
    for (int k = 0; k < s->n_opts; k++)
        if (strlen(s->opts[k].name) == len && !strncmp(s->opts[k].name, name, len))
            return k;
    return -1;
}

static lh_cli_next lh_cli_option(lh_cli_scan *s, const char *arg, int *opt_index,
                                 const char **value)
{
    const char *inline_value;
    int k = lh_cli_find(s, arg, &inline_value);
    if (k < 0) {
        lh_cli_usage_error(s->cmd, "unknown option %s", arg);
        return LH_CLI_ERROR;
    }
    *opt_index = k;
    *value = NULL;
    if (!s->opts[k].has_value) {
        if (inline_value) {
            lh_cli_usage_error(s->cmd, "option --%s takes no value", s->opts[k].name);
            return LH_CLI_ERROR;
        }
        return LH_CLI_OPTION;
    }
    if (inline_value) {
        *value = inline_value;
    } else if (s->i < s->argc) {
        *value = s->argv[s->i++];
    } else {
        lh_cli_usage_error(s->cmd, "option --%s needs a value", s->opts[k].name);
        return LH_CLI_ERROR;
    }
    return LH_CLI_OPTION;
}

lh_cli_next lh_cli_scan_next(lh_cli_scan *s, int *opt_index, const char **value)
{
    if (s->i >= s->argc)
        return LH_CLI_END;
    const char *arg = s->argv[s->i++];
    *value = arg;
    /* "-" alone is a positional argument (stdin, by convention). */
    if (s->only_positional || arg[0] != '-' || !strcmp(arg, "-"))
        return LH_CLI_POSITIONAL;
    if (!strcmp(arg, "--")) {
        s->only_positional = true;
        return lh_cli_scan_next(s, opt_index, value);
    }
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help"))
        return LH_CLI_HELP;
    if (arg[1] != '-') {
        lh_cli_usage_error(s->cmd, "unknown option %s", arg);
        return LH_CLI_ERROR;
    }
    return lh_cli_option(s, arg, opt_index, value);
}

/* ---- one request on the bus ---- */

lh_err *lh_cli_connect(const char *data_dir, const char *client, lh_conn **out)
{
    char url[512];
    lh_stack_bus_url(data_dir, url, sizeof url);
    lh_conn_opts copts = {.url = url, .name = client};
    return lh_conn_create(&copts, out);
}

lh_err *lh_cli_request(const char *data_dir, const char *client, const char *subject,
                       const lh_buf *body, int timeout_ms, lh_buf *reply)
{
    lh_conn *conn = NULL;
    lh_err *err = lh_cli_connect(data_dir, client, &conn);
    if (!err)
        err = lh_request(conn, subject, body->data, body->len, NULL, timeout_ms, reply);
    lh_conn_destroy(conn);
    nats_Close();
    return err;
}

int lh_cli_bus_error(lh_err *err)
{
    fprintf(stderr, "error %d: %s\n", lh_err_code(err), lh_err_message(err));
    lh_err_free(err);
    return LH_EXIT_FAIL;
}
