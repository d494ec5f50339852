/*
 * harness_proc.c — child processes for integration tests: spawn with extra
 * environment and a log file, stop by signal with a bounded wait, and
 * `lakehouse serve` that returns only once its actors answer discovery
 * pings. Children are tied to the test with PR_SET_PDEATHSIG so a crashed
 * test leaves nothing running.
 */
#include "tests/support/harness.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum { SERVE_READY_TIMEOUT_MS = 60000, SERVE_PING_TIMEOUT_MS = 250, LOG_TAIL_LINES = 40 };

/* ---- spawning ----------------------------------------------------------- */

/* True when "K=V" entry `var` names the same variable as any of `extra`. */
static bool overridden(const char *var, char *const extra[])
{
    size_t key_len = strcspn(var, "=");
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
        if (strncmp(var, extra[i], key_len) == 0 && extra[i][key_len] == '=')
            return true;
    }
    return false;
}

/* environ plus `extra`, built before fork because the child may not malloc. */
static char **merged_environment(char *const extra[])
{
    size_t n_env = 0, n_extra = 0;
    while (environ[n_env] != NULL)
        n_env++;
    while (extra != NULL && extra[n_extra] != NULL)
        n_extra++;
    char **env = calloc(n_env + n_extra + 1, sizeof *env);
    assert(env != NULL);
    size_t used = 0;
    for (size_t i = 0; i < n_env; i++) {
        if (!overridden(environ[i], extra))
            env[used++] = environ[i];
    }
    for (size_t i = 0; i < n_extra; i++)
        env[used++] = extra[i];
    return env;
}

/* Descriptors the test holds (sockets, listeners) must not leak into children. */
static void close_inherited_descriptors(void)
{
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return;
    for (int fd = 3; fd < 4096; fd++)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void reset_signals(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* Ignored signals stay ignored across exec; children start clean. */
    const int sigs[] = {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], SIG_DFL);
}

/* Runs in the child after fork: only async-signal-safe calls from here. */
static _Noreturn void exec_child(char *const argv[], char **env, int log_fd, int err_fd,
                                 pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(127); /* the parent already died between fork and prctl */
    reset_signals();
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0)
        dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    close_inherited_descriptors();
    execvpe(argv[0], argv, env);
    int err = errno;
    ssize_t ignored = write(err_fd, &err, sizeof err);
    (void)ignored;
    _exit(127);
}

/* Reads the child's exec errno from the pipe; 0 means exec succeeded (EOF). */
static int read_exec_error(int fd)
{
    int err = 0;
    ssize_t got;
    do {
        got = read(fd, &err, sizeof err);
    } while (got < 0 && errno == EINTR);
    return got == (ssize_t)sizeof err ? err : 0;
}

void lh_test_spawn(lh_test_proc *p, char *const argv[], char *const env[],
                   const char *log_path)
{
    assert(p != NULL && argv != NULL && argv[0] != NULL);
    memset(p, 0, sizeof *p);
    snprintf(p->log, sizeof p->log, "%s", log_path != NULL ? log_path : "/dev/null");
    int log_fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0)
        fail_msg("open log %s: %s", p->log, strerror(errno));
    int err_pipe[2];
    if (pipe2(err_pipe, O_CLOEXEC) != 0) {
        int err = errno;
        close(log_fd);
        fail_msg("pipe: %s", strerror(err));
    }
    char **full_env = merged_environment(env);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        exec_child(argv, full_env, log_fd, err_pipe[1], parent);
    int fork_err = errno;
    free(full_env);
    close(log_fd);
    close(err_pipe[1]);
    int exec_err = pid > 0 ? read_exec_error(err_pipe[0]) : 0;
    close(err_pipe[0]);
    if (pid < 0)
        fail_msg("fork for %s: %s", argv[0], strerror(fork_err));
    if (exec_err != 0) {
        waitpid(pid, NULL, 0);
        fail_msg("cannot execute %s: %s", argv[0], strerror(exec_err));
    }
    p->pid = pid;
}

/* ---- waiting and stopping ----------------------------------------------- */

/* Polls for the child's end. Returns true and fills *status once reaped. */
static bool reap_within(pid_t pid, int timeout_ms, int *status)
{
    int64_t deadline = lh_test_now_ms() + timeout_ms;
    for (;;) {
        pid_t got = waitpid(pid, status, WNOHANG);
        if (got == pid)
            return true;
        if (got < 0 && errno != EINTR)
            return false;
        if (lh_test_now_ms() >= deadline)
            return false;
        lh_test_sleep_ms(20);
    }
}

int lh_test_wait_exit(lh_test_proc *p, int timeout_ms)
{
    assert(p != NULL);
    int status = 0;
    if (p->pid <= 0 || !reap_within(p->pid, timeout_ms, &status))
        return -1;
    p->pid = 0;
    return status;
}

int lh_test_signal_wait(lh_test_proc *p, int sig, int timeout_ms)
{
    assert(p != NULL);
    if (p->pid <= 0)
        return -1;
    kill(p->pid, sig);
    int status = lh_test_wait_exit(p, timeout_ms);
    if (status != -1)
        return status;
    /* It outlived the timeout (or cannot be waited for): never leave it behind. */
    kill(p->pid, SIGKILL);
    while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR) {
    }
    p->pid = 0;
    return -1;
}

int lh_test_run(char *const argv[], char *const env[], const char *log, int timeout_ms)
{
    lh_test_proc p;
    lh_test_spawn(&p, argv, env, log);
    int st = lh_test_wait_exit(&p, timeout_ms);
    if (st == -1) {
        lh_test_signal_wait(&p, SIGKILL, 5000);
        if (log)
            lh_test_log_tail(log, 40);
        fail_msg("%s %s did not finish", argv[0], argv[1] ? argv[1] : "");
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- lakehouse serve ---------------------------------------------------- */

static size_t count_strings(const char *const list[])
{
    size_t n = 0;
    while (list != NULL && list[n] != NULL)
        n++;
    return n;
}

/* LH_BINARY serve <actors...> <args...>, NULL-terminated; the strings are borrowed. */
static char **serve_argv(const char *const actors[], const char *const args[])
{
    size_t n_actors = count_strings(actors), n_args = count_strings(args);
    char **argv = calloc(n_actors + n_args + 3, sizeof *argv);
    assert(argv != NULL);
    size_t used = 0;
    argv[used++] = (char *)LH_BINARY;
    argv[used++] = (char *)"serve";
    for (size_t i = 0; i < n_actors; i++)
        argv[used++] = (char *)actors[i];
    for (size_t i = 0; i < n_args; i++)
        argv[used++] = (char *)args[i];
    return argv;
}

/* LH_NATS_URL=<url> first, then `extra`; *url_var owns the one string made here. */
static char **serve_env(const char *nats_url, char *const extra[], char **url_var)
{
    size_t n_extra = count_strings((const char *const *)extra);
    char **env = calloc(n_extra + 2, sizeof *env);
    assert(env != NULL);
    if (asprintf(url_var, "LH_NATS_URL=%s", nats_url) < 0)
        abort();
    env[0] = *url_var;
    for (size_t i = 0; i < n_extra; i++)
        env[i + 1] = extra[i];
    return env;
}

/* Kills the half-started serve process and fails the test with its log. */
static void serve_failed(lh_test_proc *p, const char *what, const char *actor)
{
    lh_test_signal_wait(p, SIGKILL, 5000);
    lh_test_log_tail(p->log, LOG_TAIL_LINES);
    fail_msg("lakehouse serve: %s%s%s (log: %s)", what, actor != NULL ? " " : "",
             actor != NULL ? actor : "", p->log);
}

/* Index of the first actor not yet answering, or -1 when all answer. */
static int first_silent_actor(natsConnection *nc, const char *const actors[], bool ready[])
{
    for (size_t i = 0; actors[i] != NULL; i++) {
        if (!ready[i])
            ready[i] = lh_test_ping_conn(nc, actors[i], SERVE_PING_TIMEOUT_MS);
        if (!ready[i])
            return (int)i;
    }
    return -1;
}

static void wait_actors_ready(lh_test_proc *p, const char *nats_url, const char *const actors[])
{
    natsConnection *nc = lh_test_nats_try_connect(nats_url);
    if (nc == NULL)
        serve_failed(p, "cannot reach NATS at", nats_url);
    bool *ready = calloc(count_strings(actors) + 1, sizeof *ready);
    assert(ready != NULL);
    int64_t deadline = lh_test_now_ms() + SERVE_READY_TIMEOUT_MS;
    int silent;
    while ((silent = first_silent_actor(nc, actors, ready)) >= 0) {
        int status = 0;
        bool exited = waitpid(p->pid, &status, WNOHANG) == p->pid;
        if (exited || lh_test_now_ms() >= deadline) {
            const char *actor = actors[silent];
            if (exited) {
                p->pid = 0;
                fprintf(stderr, "harness: lakehouse serve ended with %s %d\n",
                        WIFEXITED(status) ? "exit status" : "signal",
                        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            }
            free(ready);
            natsConnection_Destroy(nc);
            serve_failed(p, exited ? "exited before answering ping for" : "no ping answer from",
                         actor);
        }
        lh_test_sleep_ms(20);
    }
    free(ready);
    natsConnection_Destroy(nc);
}

void lh_test_serve(lh_test_proc *p, const char *nats_url, const char *const actors[],
                   const char *const args[], char *const env[], const char *log_path)
{
    assert(p != NULL && nats_url != NULL && actors != NULL && actors[0] != NULL);
    if (access(LH_BINARY, X_OK) != 0)
        fail_msg("lakehouse binary %s: %s (build it first)", LH_BINARY, strerror(errno));
    char *url_var = NULL;
    char **argv = serve_argv(actors, args);
    char **full_env = serve_env(nats_url, env, &url_var);
    lh_test_spawn(p, argv, full_env, log_path);
    free(argv);
    free(full_env);
    free(url_var);
    wait_actors_ready(p, nats_url, actors);
}

void lh_test_serve_stop(lh_test_proc *p)
{
    if (!p->pid)
        return;
    int st = lh_test_signal_wait(p, SIGTERM, 30000);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        lh_test_log_tail(p->log, 40);
        fail_msg("lakehouse serve did not exit cleanly (status %d)", st);
    }
}
