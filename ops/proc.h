/*
 * proc.h — looking at and stopping processes by recorded pid.
 *
 * `lakehouse down` and `lakehouse up` act on pids read from pid files, and a
 * pid can be reused by an unrelated process after a crash. A pid together
 * with its process's start time (/proc/PID/stat, in clock ticks since boot)
 * names one process for the life of the machine, so that pair is what is
 * recorded and checked before any signal. Names are no proof: the binary
 * may be a copy, a versioned name or a wrapper, and an unrelated process
 * may carry our name.
 */
#ifndef LH_OPS_PROC_H
#define LH_OPS_PROC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bus/err.h"

/* Absolute path of the running executable (readlink /proc/self/exe). */
lh_err *lh_proc_self_exe(char *out, size_t cap);

/* True while the process exists and is not a zombie. */
bool lh_proc_alive(pid_t pid);

/* The process's start time (field 22 of /proc/PID/stat); false when it
 * does not exist. */
bool lh_proc_start_time(pid_t pid, unsigned long long *start);

/* True while pid is the live process that started at `start`. */
bool lh_proc_is(pid_t pid, unsigned long long start);

/* Decides whether a pid is still the process we mean to stop. */
typedef bool (*lh_proc_check_fn)(pid_t pid, const void *ctx);

/* Stops a process that is not our child: SIGTERM, up to timeout_ms for it
 * to go, then SIGKILL. Every signal is preceded by `check`. Returns true
 * when the process is gone (or was never ours). */
bool lh_proc_stop(pid_t pid, lh_proc_check_fn check, const void *ctx, int timeout_ms);

/* Waits up to timeout_ms until `check` fails (the process is gone). */
bool lh_proc_wait_gone(pid_t pid, lh_proc_check_fn check, const void *ctx, int timeout_ms);

void lh_sleep_ms(int ms);

/* For a process that blocks `signals` in every thread and takes them with
 * sigwait or sigtimedwait in this one: gives them a handler that forwards
 * a signal to this thread when the kernel hands it to a thread made
 * before main (a library's or a sanitizer's), which has not the mask and
 * would otherwise take the default action and end the process. Call it
 * from the thread that waits, after blocking the signals. */
void lh_proc_route_signals_here(const sigset_t *signals);

#endif
