/*
 * cmd_up.c — `lakehouse up`: start a whole stack on this machine and leave
 * a supervisor running in the background.
 *
 * Everything that can be refused is refused here, in the foreground, with
 * a message that says what to do: a stack already running for this data
 * directory, a port already taken, a missing nats-server; and before
 * anything is created in the data directory. Then a forked
 * supervisor starts the processes and reports over a pipe whether the
 * stack came up, so `up` exits 0 only once every actor answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus/config.h"
#include "ops/cli.h"
#include "ops/proc.h"
#include "ops/stack.h"
#include "ops/supervisor.h"

static const char lh_up_usage[] =
    "usage: lakehouse up [--data-dir DIR] [--nats-port PORT] [--http-port PORT]\n"
    "                    [--workers N]\n"
    "\n"
    "Starts a local stack: nats-server (JetStream, its store in DIR/nats), then one\n"
    "`lakehouse serve ACTOR` process per actor in dependency order, each waited for\n"
    "by a discovery ping. Prints the gateway and bus URLs and returns; a supervisor\n"
    "stays in the background and restarts any process that dies (with backoff).\n"
    "\n"
    "  --data-dir DIR     state, logs (DIR/logs) and pid files (DIR/run);\n"
    "                     default $LH_DATA_DIR or ~/.local/share/lakehouse\n"
    "  --nats-port PORT   bus port on 127.0.0.1; default $LH_NATS_PORT or 4222\n"
    "  --http-port PORT   gateway port; default $LH_HTTP_PORT or 8080\n"
    "  --workers N        subscribers per endpoint in every actor\n"
    "\n"
    "Refuses when a stack is already running for DIR or a port is taken.\n"
    "The nats-server binary is $LH_NATS_SERVER or " LH_NATS_SERVER_DEFAULT ".\n"
    "Stop the stack with `lakehouse down`.\n";

enum { LH_UP_DATA_DIR, LH_UP_NATS_PORT, LH_UP_HTTP_PORT, LH_UP_WORKERS };

static const lh_cli_opt lh_up_opts[] = {
    [LH_UP_DATA_DIR] = {"data-dir", true},
    [LH_UP_NATS_PORT] = {"nats-port", true},
    [LH_UP_HTTP_PORT] = {"http-port", true},
    [LH_UP_WORKERS] = {"workers", true},
};

typedef struct lh_up_args {
    const char *data_dir;
    int nats_port;
    int http_port;
    int workers;
} lh_up_args;

static int lh_up_defaults(lh_up_args *a)
{
    lh_config cfg;
    lh_config_load(&cfg);
    memset(a, 0, sizeof *a);
    a->http_port = cfg.http_port;
    a->nats_port = 4222;
    const char *env = getenv("LH_NATS_PORT");
    if (env && *env && !lh_cli_parse_int(env, 1, 65535, &a->nats_port))
        return lh_cli_usage_error(&lh_cmd_up, "LH_NATS_PORT=%s is not a port number", env);
    return LH_EXIT_OK;
}

static int lh_up_option(lh_up_args *a, int opt, const char *value)
{
    int *target = opt == LH_UP_NATS_PORT ? &a->nats_port
                  : opt == LH_UP_HTTP_PORT ? &a->http_port
                  : opt == LH_UP_WORKERS  ? &a->workers
                                          : NULL;
    if (!target) {
        a->data_dir = value;
        return LH_EXIT_OK;
    }
    int max = opt == LH_UP_WORKERS ? 256 : 65535;
    if (!lh_cli_parse_int(value, 1, max, target))
        return lh_cli_usage_error(&lh_cmd_up, "--%s expects a number in 1..%d, not '%s'",
                                  lh_up_opts[opt].name, max, value);
    return LH_EXIT_OK;
}

/* Returns -1 to go on, or the exit status (help or a usage error). */
static int lh_up_parse(int argc, char **argv, lh_up_args *a)
{
    int rc = lh_up_defaults(a);
    if (rc)
        return rc;
    lh_cli_scan scan;
    lh_cli_scan_init(&scan, &lh_cmd_up, lh_up_opts, 4, argc, argv);
    int opt;
    const char *value;
    for (;;) {
        switch (lh_cli_scan_next(&scan, &opt, &value)) {
        case LH_CLI_END:
            if (a->nats_port == a->http_port)
                return lh_cli_usage_error(&lh_cmd_up, "the bus and the gateway cannot "
                                          "share port %d", a->nats_port);
            return -1;
        case LH_CLI_HELP:
            lh_cli_print_usage(&lh_cmd_up, stdout);
            return LH_EXIT_OK;
        case LH_CLI_ERROR:
            return LH_EXIT_USAGE;
        case LH_CLI_POSITIONAL:
            return lh_cli_usage_error(&lh_cmd_up, "unexpected argument '%s'", value);
        case LH_CLI_OPTION:
            if ((rc = lh_up_option(a, opt, value)))
                return rc;
        }
    }
}

/* ---- refusals ---------------------------------------------------------- */

/* A running stack for this data directory, or leftovers of a crashed one. */
static int lh_up_refuse_running(const lh_stack *st)
{
    lh_stack_rec rec;
    if (lh_stack_running(st, LH_STACK_SUPERVISOR, &rec))
        return lh_cli_fail(&lh_cmd_up, "a stack is already running in %s (supervisor pid %d); "
                           "`lakehouse down --data-dir %s` stops it",
                           st->data_dir, (int)rec.pid, st->data_dir);
    const char *names[LH_STACK_MAX_COMPONENTS];
    size_t n = lh_stack_components(names, LH_STACK_MAX_COMPONENTS);
    for (size_t i = 0; i < n; i++)
        if (lh_stack_running(st, names[i], &rec))
            return lh_cli_fail(&lh_cmd_up, "%s (pid %d) from an earlier stack in %s is still "
                               "running; `lakehouse down --data-dir %s` stops it",
                               names[i], (int)rec.pid, st->data_dir, st->data_dir);
    return LH_EXIT_OK;
}

static int lh_up_refuse_port(const char *what, const char *addr, int port, const char *flag)
{
    int e = lh_port_check(addr, port);
    if (e == EADDRINUSE)
        return lh_cli_fail(&lh_cmd_up, "port %d (%s) is already in use on %s; choose another "
                           "with %s", port, what, addr, flag);
    if (e)
        return lh_cli_fail(&lh_cmd_up, "cannot listen on %s:%d (%s): %s", addr, port, what,
                           strerror(e));
    return LH_EXIT_OK;
}

static int lh_up_refuse_ports(const lh_up_args *a, const char *http_addr)
{
    int rc = lh_up_refuse_port("bus", "127.0.0.1", a->nats_port, "--nats-port");
    if (!rc)
        rc = lh_up_refuse_port("gateway", http_addr, a->http_port, "--http-port");
    return rc;
}

static int lh_up_find_nats_server(char *out, size_t cap)
{
    const char *env = getenv("LH_NATS_SERVER");
    snprintf(out, cap, "%s", env && *env ? env : LH_NATS_SERVER_DEFAULT);
    if (access(out, X_OK) != 0)
        return lh_cli_fail(&lh_cmd_up, "cannot run nats-server at %s (%s); install the "
                           "nats-server package or set LH_NATS_SERVER", out, strerror(errno));
    return LH_EXIT_OK;
}

/* ---- starting ---------------------------------------------------------- */

/* Everything the supervisor needs, or an exit status when `up` must stop.
 * The data directory is only looked at here, not created: a refused `up`
 * must leave no trace in it. */
static int lh_up_prepare(const lh_up_args *a, lh_supervisor_opts *o)
{
    memset(o, 0, sizeof *o);
    o->lock_fd = -1;
    lh_config cfg;
    lh_config_load(&cfg);
    char dir[PATH_MAX];
    lh_stack_pick_data_dir(a->data_dir, dir, sizeof dir);
    lh_err *err = lh_stack_init(&o->stack, dir, false);
    if (!err)
        err = lh_proc_self_exe(o->self_exe, sizeof o->self_exe);
    if (err) {
        int rc = lh_cli_fail(&lh_cmd_up, "%s", lh_err_message(err));
        lh_err_free(err);
        return rc;
    }
    snprintf(o->http_addr, sizeof o->http_addr, "%s", cfg.http_addr);
    o->nats_port = a->nats_port;
    o->http_port = a->http_port;
    o->workers = a->workers;
    return LH_EXIT_OK;
}

/* Once nothing refuses: makes the data directory's layout, then takes its
 * lock, which the supervisor holds for life: this is what makes two
 * concurrent `up`s safe (the loser is refused here). */
static int lh_up_create_and_lock(lh_supervisor_opts *o)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", o->stack.data_dir);
    lh_err *err = lh_stack_init(&o->stack, dir, true);
    if (err) {
        int rc = lh_cli_fail(&lh_cmd_up, "%s", lh_err_message(err));
        lh_err_free(err);
        return rc;
    }
    err = lh_stack_lock(&o->stack, &o->lock_fd);
    if (!err)
        return LH_EXIT_OK;
    int rc = lh_cli_fail(&lh_cmd_up, "a stack is already running or starting in %s (%s)",
                         o->stack.data_dir, lh_err_message(err));
    lh_err_free(err);
    return rc;
}

/* Every refusal comes before anything is written to the data directory. */
static int lh_up_lock_and_prepare(const lh_up_args *a, lh_supervisor_opts *o)
{
    int rc = lh_up_prepare(a, o);
    if (!rc)
        rc = lh_up_refuse_running(&o->stack);
    if (!rc)
        rc = lh_up_refuse_ports(a, o->http_addr);
    if (!rc)
        rc = lh_up_find_nats_server(o->nats_server, sizeof o->nats_server);
    if (!rc)
        rc = lh_up_create_and_lock(o);
    return rc;
}

/* Reads the supervisor's one-line verdict (empty if it died first). */
static void lh_up_read_verdict(int fd, char *out, size_t cap)
{
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t n = read(fd, out + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (memchr(out, '\n', len)) /* the verdict is one line */
            break;
    }
    out[len] = '\0';
    out[strcspn(out, "\n")] = '\0';
}

static void lh_up_print_ready(const lh_supervisor_opts *o)
{
    const char *host = strcmp(o->http_addr, "0.0.0.0") ? o->http_addr : "127.0.0.1";
    printf("gateway  http://%s:%d\n", host, o->http_port);
    printf("bus      nats://127.0.0.1:%d\n", o->nats_port);
    printf("data     %s\n", o->stack.data_dir);
    printf("logs     %s\n", o->stack.log_dir);
    printf("stop it with: lakehouse down --data-dir %s\n", o->stack.data_dir);
}

static volatile sig_atomic_t lh_up_supervisor_pid;

/* Ctrl-C on `up` while the stack starts means "don't start it": pass the
 * request on, and the supervisor reports back once it has cleaned up. */
static void lh_up_forward_stop(int sig)
{
    (void)sig;
    if (lh_up_supervisor_pid > 0)
        kill((pid_t)lh_up_supervisor_pid, SIGTERM);
}

static void lh_up_forward_signals(pid_t supervisor)
{
    lh_up_supervisor_pid = supervisor;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = lh_up_forward_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static int lh_up_start(const lh_supervisor_opts *o)
{
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0)
        return lh_cli_fail(&lh_cmd_up, "pipe: %s", strerror(errno));
    fflush(NULL); /* the child must not write our buffered output again */
    pid_t pid = fork();
    if (pid < 0)
        return lh_cli_fail(&lh_cmd_up, "fork: %s", strerror(errno));
    if (pid == 0) {
        close(ready[0]);
        exit(lh_supervisor_run(o, ready[1]));
    }
    close(ready[1]);
    lh_up_forward_signals(pid);
    char verdict[1300];
    lh_up_read_verdict(ready[0], verdict, sizeof verdict);
    close(ready[0]);
    if (!strcmp(verdict, "ok")) {
        lh_up_print_ready(o);
        return LH_EXIT_OK;
    }
    waitpid(pid, NULL, 0); /* it has cleaned up what it started; collect it */
    if (!strncmp(verdict, "error: ", 7))
        return lh_cli_fail(&lh_cmd_up, "%s", verdict + 7);
    return lh_cli_fail(&lh_cmd_up, "the supervisor exited during startup; see %s/supervisor.log",
                       o->stack.log_dir);
}

static int lh_up_run(int argc, char **argv)
{
    lh_up_args args;
    int rc = lh_up_parse(argc, argv, &args);
    if (rc >= 0)
        return rc;
    lh_supervisor_opts o;
    rc = lh_up_lock_and_prepare(&args, &o);
    if (!rc)
        rc = lh_up_start(&o);
    if (o.lock_fd >= 0)
        close(o.lock_fd);
    return rc;
}

const lh_command lh_cmd_up = {
    .name = "up",
    .run = lh_up_run,
    .summary = "start nats-server and every actor in the background, supervised",
    .usage = lh_up_usage,
};
