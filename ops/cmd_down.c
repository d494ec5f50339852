/*
 * cmd_down.c — `lakehouse down`: stop the stack `up` started for a data
 * directory, and nothing else.
 *
 * Normally that is one signal to the recorded supervisor, which stops its
 * actors in reverse order and nats-server last. If the supervisor is gone
 * (it crashed or was killed), the processes it recorded are stopped here
 * directly, in the same order. A process is known by what `up` recorded
 * (pid and start time, see lh_stack_rec), never by its executable's name,
 * and is checked again before every signal. `down` succeeds only when
 * every recorded process is gone; otherwise it exits 1 naming those that
 * still run. Data is never touched: only pid files and stack.env go.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "bus/buf.h"

#include "ops/cli.h"
#include "ops/proc.h"
#include "ops/stack.h"

#define LH_DOWN_SUPERVISOR_MS 60000
#define LH_DOWN_PROCESS_MS 15000

static const char lh_down_usage[] =
    "usage: lakehouse down [--data-dir DIR]\n"
    "\n"
    "Stops the stack `lakehouse up` started for DIR: the actors in reverse start\n"
    "order, then nats-server. Only the processes recorded in DIR/run are touched\n"
    "(by pid and start time, whatever the executable is called), and only after\n"
    "checking they are still those processes. Exits 1, naming them, if any of them\n"
    "still runs. No data is deleted.\n"
    "\n"
    "  --data-dir DIR   default $LH_DATA_DIR or ~/.local/share/lakehouse\n";

typedef struct lh_down_target {
    const char *name;
    lh_stack_rec rec; /* rec.pid 0: not running when surveyed */
} lh_down_target;

static bool lh_down_still_ours(pid_t pid, const void *ctx)
{
    const lh_down_target *t = ctx;
    return lh_proc_is(pid, t->rec.start);
}

/* What the stack recorded and is still running: [0] the supervisor, then
 * the components in start order (nats-server first). Taken before any
 * signal, because the supervisor removes its children's records as it
 * stops them, and each must still be checked gone afterwards. */
static size_t lh_down_survey(const lh_stack *st, lh_down_target *out, size_t *n_running)
{
    const char *names[LH_STACK_MAX_COMPONENTS];
    size_t n = lh_stack_components(names, LH_STACK_MAX_COMPONENTS);
    out[0] = (lh_down_target){.name = LH_STACK_SUPERVISOR};
    for (size_t i = 0; i < n; i++)
        out[i + 1] = (lh_down_target){.name = names[i]};
    *n_running = 0;
    for (size_t i = 0; i <= n; i++) {
        lh_stack_rec rec;
        if (lh_stack_running(st, out[i].name, &rec)) {
            out[i].rec = rec;
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

static void lh_down_stop(lh_down_target *t, int timeout_ms)
{
    if (t->rec.pid && !lh_proc_stop(t->rec.pid, lh_down_still_ours, t, timeout_ms))
        fprintf(stderr, "lakehouse down: %s (pid %d) would not stop\n", t->name,
                (int)t->rec.pid);
}

/* The supervisor first, so nothing is restarted behind our back; then
 * whatever it left (or all of it, if it was gone): actors in reverse
 * order, nats-server (t[1]) last. */
static void lh_down_stop_all(lh_down_target *t, size_t n)
{
    lh_down_stop(&t[0], LH_DOWN_SUPERVISOR_MS);
    if (t[0].rec.pid && lh_stack_rec_running(&t[0].rec))
        return; /* it would restart what we stop */
    for (size_t i = n; i-- > 1;)
        lh_down_stop(&t[i], LH_DOWN_PROCESS_MS);
}

/* Appends "NAME (pid N)" to out for a running process; counts it. */
static void lh_down_note(lh_buf *out, size_t *count, const char *name, pid_t pid)
{
    lh_buf_appendf(out, "%s%s (pid %d)", *count ? ", " : "", name, (int)pid);
    ++*count;
}

/* Every process surveyed, and any recorded since (a restart racing the
 * stop), must be gone; lists those that are not. */
static size_t lh_down_still_running(const lh_stack *st, const lh_down_target *t, size_t n,
                                    lh_buf *out)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        lh_stack_rec now;
        if (t[i].rec.pid && lh_stack_rec_running(&t[i].rec))
            lh_down_note(out, &count, t[i].name, t[i].rec.pid);
        else if (lh_stack_running(st, t[i].name, &now))
            lh_down_note(out, &count, t[i].name, now.pid);
    }
    return count;
}

static void lh_down_print(const lh_down_target *t, size_t n)
{
    if (t[0].rec.pid)
        printf("stopped supervisor (pid %d)\n", (int)t[0].rec.pid);
    for (size_t i = n; i-- > 1;)
        if (t[i].rec.pid)
            printf("stopped %s (pid %d)\n", t[i].name, (int)t[i].rec.pid);
}

/* A stack an older lakehouse started records bare pids, which cannot be
 * told from a reused pid: refuse, touching nothing, rather than forget
 * processes that still run. */
static int lh_down_refuse_legacy(const lh_stack *st, const lh_down_target *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pid_t pid;
        if (lh_stack_legacy_pid(st, t[i].name, &pid))
            return lh_cli_fail(&lh_cmd_down,
                               "%s (pid %d) was started by an older lakehouse, whose records "
                               "this one cannot verify; stop that stack with the version that "
                               "started it (or stop its supervisor by hand), then run down "
                               "again",
                               t[i].name, (int)pid);
    }
    return LH_EXIT_OK;
}

static int lh_down_stack(const lh_stack *st)
{
    lh_down_target t[LH_STACK_MAX_COMPONENTS + 1];
    size_t n_running;
    size_t n = lh_down_survey(st, t, &n_running);
    int legacy = lh_down_refuse_legacy(st, t, n);
    if (legacy != LH_EXIT_OK)
        return legacy;
    if (!n_running) {
        lh_down_forget(st, t, n);
        printf("no stack is running in %s\n", st->data_dir);
        return LH_EXIT_OK;
    }
    lh_down_stop_all(t, n);
    lh_buf left;
    lh_buf_init(&left);
    size_t n_left = lh_down_still_running(st, t, n, &left);
    lh_down_forget(st, t, n);
    int rc = LH_EXIT_OK;
    if (n_left)
        rc = lh_cli_fail(&lh_cmd_down, "%zu process%s of the stack in %s still run%s: %.*s",
                         n_left, n_left == 1 ? "" : "es", st->data_dir, n_left == 1 ? "s" : "",
                         (int)left.len, left.data);
    else
        lh_down_print(t, n);
    lh_buf_free(&left);
    return rc;
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
