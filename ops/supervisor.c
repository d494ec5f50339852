/*
 * supervisor.c — starts a stack and keeps it running.
 *
 * One thread, one loop: every signal the supervisor cares about (SIGCHLD,
 * SIGTERM, SIGINT, SIGHUP) is blocked and taken with sigtimedwait, so a
 * death, a due restart and a stop request are handled in one place, in
 * order, without async-signal-safety puzzles. Children are spawned with
 * posix_spawn, with a clean signal mask and default dispositions.
 */
#include "ops/supervisor.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nats/nats.h>

#include "bus/buf.h"
#include "bus/clock.h"
#include "bus/conn.h"
#include "bus/discovery_client.h"
#include "bus/log.h"
#include "bus/request.h"
#include "ops/proc.h"

extern char **environ;

#define LH_BACKOFF_MIN_MS 1000
#define LH_BACKOFF_MAX_MS 30000
#define LH_STABLE_MS 60000       /* up this long: the next death starts backoff over */
#define LH_NATS_READY_MS 15000
#define LH_ACTOR_READY_MS 20000
#define LH_STOP_GRACE_MS 15000
#define LH_IDLE_WAIT_MS 60000

typedef struct lh_child {
    const char *name;
    char *argv[12];
    char log_path[PATH_MAX];
    pid_t pid;                /* 0 when not running */
    long long started_ms;
    long long restart_at_ms;  /* 0 when no restart is scheduled */
    int backoff_ms;
    int restarts;
} lh_child;

typedef struct lh_sup {
    const lh_supervisor_opts *o;
    lh_child children[LH_STACK_MAX_COMPONENTS]; /* [0] is nats-server */
    size_t n;
    char **envp;
    sigset_t signals;        /* all the signals the loop takes */
    bool stopping;
    char nats_url[128];
    char http_url[128];
    char nats_port[16];
    char nats_conf[PATH_MAX];
    char workers[16];
} lh_sup;

/* ---- detaching --------------------------------------------------------- */

/* Closes every descriptor from 3 up except `keep_a` and `keep_b`: whatever
 * `up` inherited (a test's pipes, say) must not be held open for days. */
static void lh_close_all_but(int keep_a, int keep_b)
{
    int lo = keep_a < keep_b ? keep_a : keep_b, hi = keep_a < keep_b ? keep_b : keep_a;
    if (lo > 3)
        close_range(3, (unsigned)lo - 1, 0);
    if (hi - lo > 1)
        close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
    close_range((unsigned)hi + 1, ~0U, 0);
}

/* New session, no terminal, stdio to the supervisor log, and no inherited
 * descriptors except the two we own. */
static lh_err *lh_sup_detach(const lh_supervisor_opts *o, int ready_fd, int lock_fd)
{
    assert(ready_fd > 2 && lock_fd > 2 && ready_fd != lock_fd);
    setsid();
    if (chdir("/") != 0)
        return lh_err_new(LH_EINTERNAL, NULL, "chdir /: %s", strerror(errno));
    char log_path[PATH_MAX];
    lh_err *err = lh_stack_log_path(&o->stack, LH_STACK_SUPERVISOR, log_path, sizeof log_path);
    if (err)
        return err;
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (null_fd < 0 || log_fd < 0)
        return lh_err_new(LH_EINTERNAL, NULL, "open %s: %s", log_path, strerror(errno));
    fflush(NULL);
    if (dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
        return lh_err_new(LH_EINTERNAL, NULL, "dup2: %s", strerror(errno));
    lh_close_all_but(ready_fd, lock_fd);
    return NULL;
}

static void lh_sup_block_signals(lh_sup *s)
{
    sigemptyset(&s->signals);
    sigaddset(&s->signals, SIGCHLD);
    sigaddset(&s->signals, SIGTERM);
    sigaddset(&s->signals, SIGINT);
    sigaddset(&s->signals, SIGHUP);
    /* Before any thread exists (nats.c makes some), so they inherit it;
     * one made before main is routed here by a handler. */
    pthread_sigmask(SIG_BLOCK, &s->signals, NULL);
    lh_proc_route_signals_here(&s->signals);
    signal(SIGPIPE, SIG_IGN);
}

static bool lh_sup_stop_requested(void)
{
    sigset_t pending;
    sigpending(&pending);
    return sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT);
}

/* ---- the children's command lines and environment ---------------------- */

static bool lh_env_overridden(const char *entry)
{
    static const char *const ours[] = {"LH_NATS_URL=", "LH_DATA_DIR=", "LH_HTTP_PORT=",
                                       "LH_HTTP_ADDR="};
    for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
        if (!strncmp(entry, ours[i], strlen(ours[i])))
            return true;
    return false;
}

/* The inherited environment with the stack's own settings in place. */
static char **lh_sup_environment(const lh_sup *s)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = calloc(n + 5, sizeof *envp);
    if (!envp)
        abort();
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!lh_env_overridden(environ[i]))
            envp[k++] = strdup(environ[i]);
    const lh_supervisor_opts *o = s->o;
    if (asprintf(&envp[k++], "LH_NATS_URL=%s", s->nats_url) < 0 ||
        asprintf(&envp[k++], "LH_DATA_DIR=%s", o->stack.data_dir) < 0 ||
        asprintf(&envp[k++], "LH_HTTP_PORT=%d", o->http_port) < 0 ||
        asprintf(&envp[k++], "LH_HTTP_ADDR=%s", o->http_addr) < 0)
        abort();
    for (size_t i = 0; i < k; i++)
        if (!envp[i])
            abort();
    return envp;
}

static void lh_sup_free_environment(char **envp)
{
    for (size_t i = 0; envp[i]; i++)
        free(envp[i]);
    free(envp);
}

/* nats-server's default max_payload (1 MB) is below one storage part
 * (1 MiB of data plus its envelope); the bus allows 8 MiB messages. */
#define LH_NATS_CONF "max_payload: 8388608\n"

static void lh_sup_write_nats_conf(lh_sup *s)
{
    snprintf(s->nats_conf, sizeof s->nats_conf, "%s.conf", s->o->stack.nats_dir);
    FILE *f = fopen(s->nats_conf, "w");
    if (!f) {
        lh_warn("cannot write %s: %s", s->nats_conf, strerror(errno));
        return;
    }
    fputs(LH_NATS_CONF, f);
    fclose(f);
}

static void lh_sup_nats_argv(lh_sup *s, lh_child *c)
{
    const lh_supervisor_opts *o = s->o;
    char **a = c->argv;
    lh_sup_write_nats_conf(s);
    a[0] = (char *)o->nats_server;
    a[1] = "-a";
    a[2] = "127.0.0.1";
    a[3] = "-p";
    a[4] = s->nats_port;
    a[5] = "-js";
    a[6] = "-sd";
    a[7] = (char *)o->stack.nats_dir;
    a[8] = "-c";
    a[9] = s->nats_conf;
    a[10] = NULL;
}

static void lh_sup_actor_argv(lh_sup *s, lh_child *c)
{
    char **a = c->argv;
    a[0] = (char *)s->o->self_exe;
    a[1] = "serve";
    a[2] = (char *)c->name;
    a[3] = s->workers[0] ? "--workers" : NULL;
    a[4] = s->workers[0] ? s->workers : NULL;
    a[5] = NULL;
}

/* Fills in everything but the signal set (set first, before any thread). */
static lh_err *lh_sup_init(lh_sup *s, const lh_supervisor_opts *o)
{
    assert(s->o == o);
    snprintf(s->nats_url, sizeof s->nats_url, "nats://127.0.0.1:%d", o->nats_port);
    snprintf(s->http_url, sizeof s->http_url, "http://%s:%d",
             strcmp(o->http_addr, "0.0.0.0") ? o->http_addr : "127.0.0.1", o->http_port);
    snprintf(s->nats_port, sizeof s->nats_port, "%d", o->nats_port);
    if (o->workers > 0)
        snprintf(s->workers, sizeof s->workers, "%d", o->workers);
    const char *names[LH_STACK_MAX_COMPONENTS];
    s->n = lh_stack_components(names, LH_STACK_MAX_COMPONENTS);
    for (size_t i = 0; i < s->n; i++) {
        lh_child *c = &s->children[i];
        c->name = names[i];
        c->backoff_ms = LH_BACKOFF_MIN_MS;
        if (i == 0)
            lh_sup_nats_argv(s, c);
        else
            lh_sup_actor_argv(s, c);
        lh_err *err = lh_stack_log_path(&o->stack, c->name, c->log_path, sizeof c->log_path);
        if (err)
            return err;
    }
    s->envp = lh_sup_environment(s);
    return NULL;
}

/* ---- spawning and reaping ---------------------------------------------- */

static int lh_sup_spawn_actions(const lh_child *c, posix_spawn_file_actions_t *fa,
                                posix_spawnattr_t *attr)
{
    posix_spawn_file_actions_init(fa);
    posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(fa, 1, c->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(fa, 1, 2);
    posix_spawnattr_init(attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    int reset[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGPIPE};
    for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
        sigaddset(&defaults, reset[i]);
    posix_spawnattr_setsigmask(attr, &none);
    posix_spawnattr_setsigdefault(attr, &defaults);
    return posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

static lh_err *lh_sup_spawn(lh_sup *s, lh_child *c)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    lh_sup_spawn_actions(c, &fa, &attr);
    pid_t pid;
    int rc = posix_spawn(&pid, c->argv[0], &fa, &attr, c->argv, s->envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        return lh_err_new(LH_EINTERNAL, NULL, "start %s (%s): %s", c->name, c->argv[0],
                          strerror(rc));
    c->pid = pid;
    c->started_ms = lh_clock_ms();
    c->restart_at_ms = 0;
    return lh_err_wrap(lh_stack_write_pid(&s->o->stack, c->name, pid), "%s", c->name);
}

static void lh_describe_status(int status, char *out, size_t cap)
{
    if (WIFEXITED(status))
        snprintf(out, cap, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, cap, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(out, cap, "ended (wait status %d)", status);
}

static lh_child *lh_sup_child_of(lh_sup *s, pid_t pid)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->children[i].pid == pid)
            return &s->children[i];
    return NULL;
}

/* A supervised process died on its own: log it and schedule its restart. */
static void lh_sup_schedule_restart(lh_child *c, pid_t pid, int status)
{
    long long now = lh_clock_ms();
    long long up_ms = now - c->started_ms;
    if (up_ms >= LH_STABLE_MS)
        c->backoff_ms = LH_BACKOFF_MIN_MS;
    char how[128];
    lh_describe_status(status, how, sizeof how);
    c->restart_at_ms = now + c->backoff_ms;
    lh_warn("%s (pid %d) %s after %.1f s; restarting in %d s", c->name, (int)pid, how,
            (double)up_ms / 1000.0, c->backoff_ms / 1000);
    c->backoff_ms = c->backoff_ms * 2 > LH_BACKOFF_MAX_MS ? LH_BACKOFF_MAX_MS : c->backoff_ms * 2;
}

/* Collects every child that has ended. */
static void lh_sup_reap(lh_sup *s)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        lh_child *c = lh_sup_child_of(s, pid);
        if (!c)
            continue;
        c->pid = 0;
        lh_stack_remove_pid(&s->o->stack, c->name);
        if (s->stopping) {
            char how[128];
            lh_describe_status(status, how, sizeof how);
            lh_info("%s (pid %d) %s", c->name, (int)pid, how);
        } else {
            lh_sup_schedule_restart(c, pid, status);
        }
    }
}

/* Startup variant of reaping: reports how `c` ended, if it has. */
static bool lh_sup_child_ended(lh_sup *s, lh_child *c, char *how, size_t cap)
{
    int status;
    if (c->pid <= 0 || waitpid(c->pid, &status, WNOHANG) != c->pid)
        return false;
    c->pid = 0;
    lh_stack_remove_pid(&s->o->stack, c->name);
    lh_describe_status(status, how, cap);
    return true;
}

/* The error for a child that died during startup, quoting its log. */
static lh_err *lh_sup_startup_death(const lh_child *c, const char *how)
{
    char last[512];
    if (lh_file_last_line(c->log_path, last, sizeof last))
        return lh_err_new(LH_EINTERNAL, NULL, "%s %s during startup: %s (log: %s)", c->name,
                          how, last, c->log_path);
    return lh_err_new(LH_EINTERNAL, NULL, "%s %s during startup (log: %s)", c->name, how,
                      c->log_path);
}

/* ---- startup ----------------------------------------------------------- */

/* Polls `ready` until it holds, the child dies, a stop is requested, or
 * the deadline passes. */
typedef bool (*lh_ready_fn)(lh_sup *s, lh_child *c, void *ctx);

static lh_err *lh_sup_wait_ready(lh_sup *s, lh_child *c, lh_ready_fn ready, void *ctx,
                                 int timeout_ms, const char *what)
{
    long long deadline = lh_clock_ms() + timeout_ms;
    for (;;) {
        if (ready(s, c, ctx))
            return NULL;
        char how[128];
        if (lh_sup_child_ended(s, c, how, sizeof how))
            return lh_sup_startup_death(c, how);
        if (lh_sup_stop_requested())
            return lh_err_new(LH_EUNAVAILABLE, NULL, "stopped by a signal during startup");
        if (lh_clock_ms() >= deadline)
            return lh_err_new(LH_ETIMEOUT, NULL, "%s did not %s within %d s (log: %s)",
                              c->name, what, timeout_ms / 1000, c->log_path);
        lh_sleep_ms(50);
    }
}

static bool lh_nats_accepts(lh_sup *s, lh_child *c, void *ctx)
{
    (void)c;
    (void)ctx;
    return lh_port_accepts(s->o->nats_port);
}

/* Any reply (even an error) means the subject has a responder: nats-server
 * is ready when JetStream answers, an actor when it answers a ping. */
static bool lh_subject_answers(lh_sup *s, lh_child *c, void *ctx)
{
    (void)s;
    lh_conn *conn = *(lh_conn **)ctx;
    lh_err *err;
    if (!strcmp(c->name, LH_STACK_NATS)) {
        lh_buf reply;
        lh_buf_init(&reply);
        err = lh_request(conn, "$JS.API.INFO", "", 0, NULL, 500, &reply);
        lh_buf_free(&reply);
    } else {
        err = lh_discovery_ping(conn, c->name, 500);
    }
    bool answered = !err || (lh_err_code(err) != LH_EUNAVAILABLE &&
                             lh_err_code(err) != LH_ETIMEOUT);
    lh_err_free(err);
    return answered;
}

static lh_err *lh_sup_start_nats(lh_sup *s, lh_conn **conn)
{
    lh_child *c = &s->children[0];
    lh_err *err = lh_sup_spawn(s, c);
    if (!err)
        err = lh_sup_wait_ready(s, c, lh_nats_accepts, NULL, LH_NATS_READY_MS,
                                "accept connections");
    if (err)
        return err;
    lh_conn_opts copts = {.url = s->nats_url, .name = "lakehouse-supervisor"};
    err = lh_conn_create(&copts, conn);
    if (!err)
        err = lh_sup_wait_ready(s, c, lh_subject_answers, conn, LH_NATS_READY_MS,
                                "enable JetStream");
    if (!err)
        lh_info("nats-server (pid %d) is up at %s", (int)c->pid, s->nats_url);
    return err;
}

static lh_err *lh_sup_start_actor(lh_sup *s, lh_child *c, lh_conn **conn)
{
    lh_err *err = lh_sup_spawn(s, c);
    if (!err)
        err = lh_sup_wait_ready(s, c, lh_subject_answers, conn, LH_ACTOR_READY_MS,
                                "answer a discovery ping");
    if (!err)
        lh_info("%s (pid %d) is up", c->name, (int)c->pid);
    return err;
}

static lh_err *lh_sup_start_all(lh_sup *s)
{
    lh_conn *conn = NULL;
    lh_err *err = lh_sup_start_nats(s, &conn);
    for (size_t i = 1; !err && i < s->n; i++)
        err = lh_sup_start_actor(s, &s->children[i], &conn);
    lh_conn_destroy(conn);
    nats_Close(); /* the supervisor has no further use for the bus */
    if (!err)
        err = lh_stack_write_env(&s->o->stack, s->nats_url, s->http_url);
    return err;
}

/* ---- stopping ---------------------------------------------------------- */

/* Waits until `c` has been reaped; false when the time ran out. */
static bool lh_sup_wait_reaped(lh_sup *s, lh_child *c, int timeout_ms)
{
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    long long deadline = lh_clock_ms() + timeout_ms;
    for (;;) {
        lh_sup_reap(s);
        long long left = deadline - lh_clock_ms();
        if (!c->pid || left <= 0)
            return !c->pid;
        /* Short slices: a SIGCHLD taken by an earlier wait is not lost. */
        struct timespec ts = {0, (left < 100 ? left : 100) * 1000000L};
        sigtimedwait(&chld, NULL, &ts);
    }
}

static void lh_sup_stop_child(lh_sup *s, lh_child *c)
{
    c->restart_at_ms = 0;
    if (!c->pid)
        return;
    pid_t pid = c->pid;
    lh_info("stopping %s (pid %d)", c->name, (int)pid);
    kill(pid, SIGTERM);
    if (lh_sup_wait_reaped(s, c, LH_STOP_GRACE_MS))
        return;
    lh_warn("%s (pid %d) still running after %d s; sending SIGKILL", c->name, (int)pid,
            LH_STOP_GRACE_MS / 1000);
    kill(pid, SIGKILL);
    lh_sup_wait_reaped(s, c, 5000);
}

/* Actors in reverse start order, nats-server (children[0]) last. */
static void lh_sup_stop_all(lh_sup *s)
{
    s->stopping = true;
    for (size_t i = s->n; i-- > 0;)
        lh_sup_stop_child(s, &s->children[i]);
    lh_stack_remove_env(&s->o->stack);
}

/* ---- supervising ------------------------------------------------------- */

static void lh_sup_restart_due(lh_sup *s)
{
    long long now = lh_clock_ms();
    for (size_t i = 0; i < s->n; i++) {
        lh_child *c = &s->children[i];
        if (c->pid || !c->restart_at_ms || c->restart_at_ms > now)
            continue;
        lh_err *err = lh_sup_spawn(s, c);
        if (err) {
            lh_error("%s; retrying in %d s", lh_err_message(err), c->backoff_ms / 1000);
            lh_err_free(err);
            c->restart_at_ms = now + c->backoff_ms;
            continue;
        }
        lh_info("restarted %s (pid %d, restart #%d)", c->name, (int)c->pid, ++c->restarts);
    }
}

/* Milliseconds until the next scheduled restart, or the idle wait. */
static long long lh_sup_next_wakeup(const lh_sup *s)
{
    long long wait = LH_IDLE_WAIT_MS, now = lh_clock_ms();
    for (size_t i = 0; i < s->n; i++) {
        const lh_child *c = &s->children[i];
        if (!c->pid && c->restart_at_ms)
            wait = c->restart_at_ms - now < wait ? c->restart_at_ms - now : wait;
    }
    return wait < 0 ? 0 : wait;
}

static void lh_sup_loop(lh_sup *s)
{
    for (;;) {
        long long wait = lh_sup_next_wakeup(s);
        struct timespec ts = {wait / 1000, (wait % 1000) * 1000000L};
        int sig = sigtimedwait(&s->signals, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT) {
            lh_info("received %s; stopping the stack", strsignal(sig));
            return;
        }
        if (sig == SIGHUP)
            lh_info("ignoring SIGHUP");
        lh_sup_reap(s);
        lh_sup_restart_due(s);
    }
}

/* ---- the whole life ---------------------------------------------------- */

static void lh_sup_report(int ready_fd, lh_err *err)
{
    char msg[1200];
    int n = err ? snprintf(msg, sizeof msg, "error: %s\n", lh_err_message(err))
                : snprintf(msg, sizeof msg, "ok\n");
    if (n >= (int)sizeof msg)
        n = (int)sizeof msg - 1;
    ssize_t w = write(ready_fd, msg, (size_t)n);
    (void)w; /* `up` may have gone; the log says it all anyway */
    close(ready_fd);
}

int lh_supervisor_run(const lh_supervisor_opts *o, int ready_fd)
{
    lh_sup s;
    memset(&s, 0, sizeof s);
    s.o = o;
    lh_sup_block_signals(&s);
    lh_err *err = lh_sup_detach(o, ready_fd, o->lock_fd);
    lh_log_init("supervisor");
    if (!err)
        err = lh_stack_write_pid(&o->stack, LH_STACK_SUPERVISOR, getpid());
    if (!err)
        err = lh_sup_init(&s, o);
    if (!err) {
        lh_info("supervisor (pid %d) starting a stack in %s", (int)getpid(), o->stack.data_dir);
        err = lh_sup_start_all(&s);
    }
    if (err) {
        lh_error("startup failed: %s", lh_err_message(err));
        lh_sup_stop_all(&s);
    } else {
        lh_info("stack is up: bus %s, gateway %s", s.nats_url, s.http_url);
    }
    lh_sup_report(ready_fd, err);
    if (!err) {
        lh_sup_loop(&s);
        lh_sup_stop_all(&s);
        lh_info("stack stopped");
    }
    lh_stack_remove_pid(&o->stack, LH_STACK_SUPERVISOR);
    if (s.envp)
        lh_sup_free_environment(s.envp);
    close(o->lock_fd);
    int status = err ? 1 : 0;
    lh_err_free(err);
    return status;
}
