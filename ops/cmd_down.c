/*
 * cmd_down.c — `lakehouse down`: stop the stack `up` started for a data
 * directory, and nothing else.
 *
 * Normally that is one signal to the recorded supervisor, which stops its
 * actors in reverse order and nats-server last. If the supervisor is gone
 * (it crashed or was killed), the processes it recorded are stopped here
 * directly, in the same order. Every pid is checked through /proc before
 * it is signalled. Data is never touched: only pid files and stack.env go.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ops/cli.h"
#include "ops/proc.h"
#include "ops/stack.h"

#define LH_DOWN_SUPERVISOR_MS 60000
#define LH_DOWN_PROCESS_MS 15000

static const char lh_down_usage[] =
    "usage: lakehouse down [--data-dir DIR]\n"
    "\n"
    "Stops the stack `lakehouse up` started for DIR: the actors in reverse start\n"
    "order, then nats-server. Only the processes recorded in DIR/run are touched,\n"
    "and only after checking they are still those processes. No data is deleted.\n"
    "\n"
    "  --data-dir DIR   default $LH_DATA_DIR or ~/.local/share/lakehouse\n";

typedef struct lh_down_target {
    const lh_stack *st;
    const char *name;
    pid_t pid;
} lh_down_target;

static bool lh_down_still_ours(pid_t pid, const void *ctx)
{
    const lh_down_target *t = ctx;
    return lh_stack_is_ours(t->st, t->name, pid);
}

/* What the stack recorded and is still running: [0] the supervisor, then
 * the components in start order (nats-server first). */
static size_t lh_down_survey(const lh_stack *st, lh_down_target *out, size_t *n_running)
{
    const char *names[LH_STACK_MAX_COMPONENTS];
    size_t n = lh_stack_components(names, LH_STACK_MAX_COMPONENTS);
    out[0] = (lh_down_target){st, LH_STACK_SUPERVISOR, 0};
    for (size_t i = 0; i < n; i++)
        out[i + 1] = (lh_down_target){st, names[i], 0};
    *n_running = 0;
    for (size_t i = 0; i <= n; i++) {
        pid_t pid;
        if (lh_stack_running(st, out[i].name, &pid)) {
            out[i].pid = pid;
            ++*n_running;
        }
    }
    return n + 1;
}

static void lh_down_forget(const lh_stack *st, const lh_down_target *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!lh_stack_running(st, t[i].name, NULL))
            lh_stack_remove_pid(st, t[i].name);
    if (!lh_stack_running(st, LH_STACK_SUPERVISOR, NULL))
        lh_stack_remove_env(st);
}

static bool lh_down_supervisor(lh_down_target *sup)
{
    if (!sup->pid)
        return true;
    if (lh_proc_stop(sup->pid, lh_down_still_ours, sup, LH_DOWN_SUPERVISOR_MS))
        return true;
    fprintf(stderr, "lakehouse down: supervisor (pid %d) would not stop\n", (int)sup->pid);
    return false;
}

/* Stops whatever the supervisor left behind (or all of it, if it was
 * gone): actors in reverse order, nats-server (t[1]) last. */
static bool lh_down_leftovers(lh_down_target *t, size_t n)
{
    bool ok = true;
    for (size_t i = n; i-- > 1;) {
        if (!t[i].pid)
            continue;
        if (!lh_proc_stop(t[i].pid, lh_down_still_ours, &t[i], LH_DOWN_PROCESS_MS)) {
            fprintf(stderr, "lakehouse down: %s (pid %d) would not stop\n", t[i].name,
                    (int)t[i].pid);
            ok = false;
        }
    }
    return ok;
}

static void lh_down_print(const lh_down_target *t, size_t n)
{
    if (t[0].pid)
        printf("stopped supervisor (pid %d)\n", (int)t[0].pid);
    for (size_t i = n; i-- > 1;)
        if (t[i].pid)
            printf("stopped %s (pid %d)\n", t[i].name, (int)t[i].pid);
}

static int lh_down_stack(const lh_stack *st)
{
    lh_down_target t[LH_STACK_MAX_COMPONENTS + 1];
    size_t n_running;
    size_t n = lh_down_survey(st, t, &n_running);
    if (!n_running) {
        lh_down_forget(st, t, n);
        printf("no stack is running in %s\n", st->data_dir);
        return LH_EXIT_OK;
    }
    bool ok = lh_down_supervisor(&t[0]) && lh_down_leftovers(t, n);
    lh_down_forget(st, t, n);
    if (!ok)
        return LH_EXIT_FAIL;
    lh_down_print(t, n);
    return LH_EXIT_OK;
}

static int lh_down_run(int argc, char **argv)
{
    static const lh_cli_opt opts[] = {{"data-dir", true}};
    const char *data_dir = NULL, *value;
    lh_cli_scan scan;
    lh_cli_scan_init(&scan, &lh_cmd_down, opts, 1, argc, argv);
    int opt;
    for (lh_cli_next next; (next = lh_cli_scan_next(&scan, &opt, &value)) != LH_CLI_END;) {
        if (next == LH_CLI_HELP) {
            lh_cli_print_usage(&lh_cmd_down, stdout);
            return LH_EXIT_OK;
        }
        if (next == LH_CLI_ERROR)
            return LH_EXIT_USAGE;
        if (next == LH_CLI_POSITIONAL)
            return lh_cli_usage_error(&lh_cmd_down, "unexpected argument '%s'", value);
        data_dir = value;
    }
    char dir[PATH_MAX];
    lh_stack_pick_data_dir(data_dir, dir, sizeof dir);
    lh_stack st;
    lh_err *err = lh_stack_init(&st, dir, false);
    if (err) {
        int rc = lh_cli_fail(&lh_cmd_down, "%s", lh_err_message(err));
        lh_err_free(err);
        return rc;
    }
    return lh_down_stack(&st);
}

const lh_command lh_cmd_down = {
    .name = "down",
    .run = lh_down_run,
    .summary = "stop the stack `up` started (by recorded pid, nats-server last)",
    .usage = lh_down_usage,
};
