/*
 * cli.h — what every `lakehouse` subcommand shares: its entry in the
 * command table (name, handler, one-line summary, usage text) and the few
 * argument helpers that make `--help` and usage errors behave the same in
 * every subcommand.
 *
 * Exit codes across the command: 0 success, 1 the operation failed, 2 the
 * command line was wrong.
 */
#ifndef LH_OPS_CLI_H
#define LH_OPS_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "bus/buf.h"
#include "bus/conn.h"
#include "bus/err.h"

enum { LH_EXIT_OK = 0, LH_EXIT_FAIL = 1, LH_EXIT_USAGE = 2 };

typedef struct lh_command {
    const char *name;
    /* argv[0] is the subcommand's name; argv[argc] is NULL. */
    int (*run)(int argc, char **argv);
    const char *summary; /* one line for `lakehouse --help` */
    const char *usage;   /* the full text for `lakehouse help CMD` and `CMD --help` */
} lh_command;

extern const lh_command lh_cmd_serve;
extern const lh_command lh_cmd_up;
extern const lh_command lh_cmd_down;
extern const lh_command lh_cmd_status;
extern const lh_command lh_cmd_req;
extern const lh_command lh_cmd_docs;
extern const lh_command lh_cmd_ingest;
extern const lh_command lh_cmd_sql;
extern const lh_command lh_cmd_retrieve;
extern const lh_command lh_cmd_eval;
extern const lh_command lh_cmd_chat;
extern const lh_command lh_cmd_events;
extern const lh_command lh_cmd_lineage;

/* Prints the command's usage text. */
void lh_cli_print_usage(const lh_command *cmd, FILE *out);

/* Reports a command-line mistake ("lakehouse CMD: ...") with a hint to
 * --help, and returns LH_EXIT_USAGE for the caller to return. */
int lh_cli_usage_error(const lh_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reports a failure ("lakehouse CMD: ...") and returns LH_EXIT_FAIL. */
int lh_cli_fail(const lh_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* For one-shot tools (req, status): the bus runtime's info and warning
 * lines (connects, disconnects) are noise there, since every failure is
 * reported as the command's own error. LH_LOG_LEVEL still overrides. */
void lh_cli_quiet_logs(void);

/* A bus connection to the stack of `data_dir` ($LH_NATS_URL first; NULL:
 * the default data directory), for a command that sends many requests;
 * the caller destroys it (lh_conn_destroy, then nats_Close). */
lh_err *lh_cli_connect(const char *data_dir, const char *client, lh_conn **out);

/* One request on the bus for a one-shot command: connects to the stack
 * of `data_dir` ($LH_NATS_URL first; NULL: the default data directory),
 * sends, appends the reply body to `reply`, disconnects. */
lh_err *lh_cli_request(const char *data_dir, const char *client, const char *subject,
                       const lh_buf *body, int timeout_ms, lh_buf *reply);
/* Prints `error CODE: MESSAGE` to stderr (what scripts parse), frees err
 * and returns LH_EXIT_FAIL. */
int lh_cli_bus_error(lh_err *err);

/* Parses a whole decimal integer in [min, max]. */
bool lh_cli_parse_int(const char *s, int min, int max, int *out);

/*
 * A tiny long-option scanner, so every subcommand accepts the same forms:
 * `--name VALUE`, `--name=VALUE`, `--flag`, `-h`/`--help`, and `--` to end
 * options. Positional arguments may appear anywhere.
 */
typedef struct lh_cli_opt {
    const char *name;  /* without the dashes: "workers" */
    bool has_value;
} lh_cli_opt;

typedef enum {
    LH_CLI_END,        /* no arguments left */
    LH_CLI_OPTION,     /* *opt_index is the matched option, *value its value (or NULL) */
    LH_CLI_POSITIONAL, /* *value is the argument */
    LH_CLI_HELP,       /* -h or --help */
    LH_CLI_ERROR,      /* already reported; return LH_EXIT_USAGE */
} lh_cli_next;

typedef struct lh_cli_scan {
    const lh_command *cmd;
    const lh_cli_opt *opts;
    int n_opts;
    int argc;
    char **argv;
    int i;             /* next argument to look at */
    bool only_positional;
} lh_cli_scan;

void lh_cli_scan_init(lh_cli_scan *s, const lh_command *cmd, const lh_cli_opt *opts,
                      int n_opts, int argc, char **argv);
lh_cli_next lh_cli_scan_next(lh_cli_scan *s, int *opt_index, const char **value);

#endif
