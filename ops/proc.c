/*
 * proc.c — process identity from /proc, and stopping a recorded pid only
 * after checking it is still ours (pids are reused; names are not proof).
 */
#include "ops/proc.h"
#include "bus/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LH_MAX_ARGS 32

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

bool lh_proc_alive(pid_t pid)
{
    if (pid <= 0)
        return false;
    char path[64], stat[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, stat, sizeof stat - 1);
    close(fd);
    if (n <= 0)
        return false;
    stat[n] = '\0';
    /* "pid (comm) S ...": the state follows the last ')'; comm may hold ')'. */
    const char *paren = strrchr(stat, ')');
    return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

/* Splits /proc/PID/cmdline into argv. Returns argc, 0 when unreadable
 * (gone, a zombie, or a kernel thread). */
static int lh_proc_argv(pid_t pid, char *buf, size_t cap, const char *argv[LH_MAX_ARGS])
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    int argc = 0;
    for (ssize_t i = 0; i < n && argc < LH_MAX_ARGS; i += (ssize_t)strlen(buf + i) + 1)
        argv[argc++] = buf + i;
    return argc;
}

static const char *lh_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The executable's name: argv[0]'s, or else the binary's own (a symlink
 * with another name, or a path rewritten by the caller). */
static bool lh_proc_exe_named(pid_t pid, const char *argv0, const char *name)
{
    if (!strcmp(lh_basename(argv0), name))
        return true;
    char path[64], exe[4096];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(path, exe, sizeof exe - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    /* A binary rebuilt since the process started reads "name (deleted)". */
    const char *base = lh_basename(exe);
    size_t len = strlen(name);
    return !strncmp(base, name, len) && (base[len] == '\0' || base[len] == ' ');
}

bool lh_proc_is_lakehouse(pid_t pid, const char *arg1, const char *arg2)
{
    if (!lh_proc_alive(pid))
        return false;
    char buf[8192];
    const char *argv[LH_MAX_ARGS];
    int argc = lh_proc_argv(pid, buf, sizeof buf, argv);
    if (argc < 2 || !lh_proc_exe_named(pid, argv[0], "lakehouse") || strcmp(argv[1], arg1))
        return false;
    return !arg2 || (argc >= 3 && !strcmp(argv[2], arg2));
}

bool lh_proc_is_nats(pid_t pid, const char *store_dir)
{
    if (!lh_proc_alive(pid))
        return false;
    char buf[8192];
    const char *argv[LH_MAX_ARGS];
    int argc = lh_proc_argv(pid, buf, sizeof buf, argv);
    if (argc < 1 || !lh_proc_exe_named(pid, argv[0], "nats-server"))
        return false;
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "-sd") && !strcmp(argv[i + 1], store_dir))
            return true;
    return false;
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
