/*
 * proc.c — process identity from /proc (pid and start time), and stopping
 * a recorded pid only after checking it is still ours (pids are reused;
 * names are not proof).
 */
#include "ops/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus/clock.h"

void lh_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

lh_err *lh_proc_self_exe(char *out, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", out, cap - 1);
    if (n < 0 || (size_t)n >= cap - 1)
        return lh_err_new(LH_EINTERNAL, NULL, "cannot resolve /proc/self/exe: %s",
                          n < 0 ? strerror(errno) : "path too long");
    out[n] = '\0';
    return NULL;
}

/* A process's state letter and start time from /proc/PID/stat; false when
 * it is gone. The command name (in parentheses) may itself hold ')' or
 * spaces, so the fields are counted from the last ')'. */
static bool lh_proc_stat(pid_t pid, char *state, unsigned long long *start)
{
    if (pid <= 0)
        return false;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    const char *f = strrchr(buf, ')');
    if (!f || f[1] != ' ')
        return false;
    f += 2;
    *state = f[0];
    /* The state is field 3; starttime is field 22. */
    for (int field = 3; f && field < 22; field++) {
        f = strchr(f, ' ');
        f = f ? f + 1 : NULL;
    }
    char *end;
    *start = f ? strtoull(f, &end, 10) : 0;
    return f && end != f;
}

bool lh_proc_alive(pid_t pid)
{
    char state;
    unsigned long long start;
    return lh_proc_stat(pid, &state, &start) && state != 'Z' && state != 'X';
}

bool lh_proc_start_time(pid_t pid, unsigned long long *start)
{
    char state;
    return lh_proc_stat(pid, &state, start);
}

bool lh_proc_is(pid_t pid, unsigned long long start)
{
    char state;
    unsigned long long now;
    return lh_proc_stat(pid, &state, &now) && state != 'Z' && state != 'X' && now == start;
}

bool lh_proc_wait_gone(pid_t pid, lh_proc_check_fn check, const void *ctx, int timeout_ms)
{
    long long deadline = lh_clock_ms() + timeout_ms;
    while (check(pid, ctx)) {
        if (lh_clock_ms() >= deadline)
            return false;
        lh_sleep_ms(20);
    }
    return true;
}

bool lh_proc_stop(pid_t pid, lh_proc_check_fn check, const void *ctx, int timeout_ms)
{
    if (!check(pid, ctx))
        return true;
    if (kill(pid, SIGTERM) != 0)
        return errno == ESRCH;
    if (lh_proc_wait_gone(pid, check, ctx, timeout_ms))
        return true;
    if (check(pid, ctx))
        kill(pid, SIGKILL);
    return lh_proc_wait_gone(pid, check, ctx, 5000);
}

/* ---- stop signals, wherever they land ---- */

static pthread_t lh_proc_waiter;

static void lh_proc_forward(int sig)
{
    /* tgkill underneath: safe in a handler. The waiter blocks the signal,
     * so it stays pending there until its sigwait takes it. */
    if (!pthread_equal(pthread_self(), lh_proc_waiter))
        pthread_kill(lh_proc_waiter, sig);
}

void lh_proc_route_signals_here(const sigset_t *signals)
{
    lh_proc_waiter = pthread_self();
    struct sigaction sa = {.sa_handler = lh_proc_forward};
    sigfillset(&sa.sa_mask);
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(signals, sig) == 1)
            sigaction(sig, &sa, NULL);
}
