/*
 * proc.h — looking at and stopping processes by recorded pid.
 *
 * `lakehouse down` and `lakehouse up` act on pids read from pid files, and a
 * pid can be reused by an unrelated process after a crash. So nothing is
 * signalled until /proc/PID/cmdline shows it is still the process we
 * recorded (a `lakehouse` with the expected subcommand, or the nats-server
 * with our store directory). Processes are never found by name.
 */
#ifndef LH_OPS_PROC_H
#define LH_OPS_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bus/err.h"

/* Absolute path of the running executable (readlink /proc/self/exe). */
lh_err *lh_proc_self_exe(char *out, size_t cap);

/* True while the process exists and is not a zombie. */
bool lh_proc_alive(pid_t pid);

/* True when pid is a live `lakehouse ARG1 [ARG2 ...]` (ARG2 NULL: any). */
bool lh_proc_is_lakehouse(pid_t pid, const char *arg1, const char *arg2);

/* True when pid is a live nats-server whose store (-sd) is store_dir. */
bool lh_proc_is_nats(pid_t pid, const char *store_dir);

/* Decides whether a pid is still the process we mean to stop. */
typedef bool (*lh_proc_check_fn)(pid_t pid, const void *ctx);

/* Stops a process that is not our child: SIGTERM, up to timeout_ms for it
 * to go, then SIGKILL. Every signal is preceded by `check`. Returns true
 * when the process is gone (or was never ours). */
bool lh_proc_stop(pid_t pid, lh_proc_check_fn check, const void *ctx, int timeout_ms);

/* Waits up to timeout_ms until `check` fails (the process is gone). */
bool lh_proc_wait_gone(pid_t pid, lh_proc_check_fn check, const void *ctx, int timeout_ms);

void lh_sleep_ms(int ms);

#endif
