/*
 * stack.h — where a stack started by `lakehouse up` lives on disk.
 *
 * Everything about one stack is under its data directory, so two stacks
 * with two data directories (and two port sets) run side by side:
 *
 *   DATA/nats/                 the nats-server JetStream store
 *   DATA/logs/NAME.log         one log per process (supervisor, nats-server, actors)
 *   DATA/run/NAME.pid          each running process: its pid, its start time and
 *                              the data directory (see lh_stack_rec)
 *   DATA/run/supervisor.lock   held (flock) by the supervisor while it lives
 *   DATA/run/stack.env         LH_NATS_URL=... LH_HTTP_URL=... for the tools
 *   DATA/<actor>/              each stateful actor's own state (not ours)
 *
 * `lakehouse down` deletes pid files and stack.env, never anything else.
 */
#ifndef LH_OPS_STACK_H
#define LH_OPS_STACK_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bus/err.h"

#define LH_STACK_SUPERVISOR "supervisor"
#define LH_STACK_NATS "nats-server"
#define LH_STACK_MAX_COMPONENTS 64

typedef struct lh_stack {
    char data_dir[PATH_MAX]; /* absolute */
    char run_dir[PATH_MAX];
    char log_dir[PATH_MAX];
    char nats_dir[PATH_MAX];
} lh_stack;

/* Fills the layout for data_dir (made absolute). With `create`, makes the
 * directories (like mkdir -p) and resolves symlinks. */
lh_err *lh_stack_init(lh_stack *st, const char *data_dir, bool create);

/* The data directory a command should use: --data-dir if given, else
 * LH_DATA_DIR, else the default. */
void lh_stack_pick_data_dir(const char *flag, char *out, size_t cap);

/* DATA/run/NAME.pid and DATA/logs/NAME.log. */
lh_err *lh_stack_pid_path(const lh_stack *st, const char *name, char *out, size_t cap);
lh_err *lh_stack_log_path(const lh_stack *st, const char *name, char *out, size_t cap);

/* What the stack records about a process it started, and how `down` and
 * `up` recognise it later whatever its executable is called: the pid and
 * the process's start time, which together name one process for the
 * machine's life. The pid file also holds the data directory it was
 * written for, so a copy of a data directory never claims the original's
 * processes. The pid is the file's first line, for scripts. */
typedef struct lh_stack_rec {
    pid_t pid;
    unsigned long long start; /* clock ticks after boot, /proc/PID/stat */
} lh_stack_rec;

/* Records pid (a live process, or one not yet reaped) under `name`. */
lh_err *lh_stack_write_pid(const lh_stack *st, const char *name, pid_t pid);
/* The record under `name`; false when there is none, it cannot be read,
 * or it was written for another data directory. */
bool lh_stack_read_pid(const lh_stack *st, const char *name, lh_stack_rec *rec);
/* True when `name`'s pid file has the older format (a bare pid: no start
 * time, no data directory) and that pid is alive: a stack an older
 * lakehouse started, which this one can neither verify nor forget. */
bool lh_stack_legacy_pid(const lh_stack *st, const char *name, pid_t *pid);
void lh_stack_remove_pid(const lh_stack *st, const char *name);

/* Takes DATA/run/supervisor.lock without waiting; *fd keeps it (O_CLOEXEC,
 * so the lock is held by this process and any fork of it, not by exec'd
 * children). Fails with 409 when another supervisor holds it. */
lh_err *lh_stack_lock(const lh_stack *st, int *fd);

lh_err *lh_stack_write_env(const lh_stack *st, const char *nats_url, const char *http_url);
/* Reads KEY from DATA/run/stack.env into out. */
bool lh_stack_env_get(const lh_stack *st, const char *key, char *out, size_t cap);
void lh_stack_remove_env(const lh_stack *st);

/* The bus a tool should talk to: $LH_NATS_URL, else the running stack's
 * (DATA/run/stack.env), else the default. */
void lh_stack_bus_url(const char *data_dir_flag, char *out, size_t cap);

/* The processes a stack runs, in start order: every actor of the registry,
 * with nats-server first. Returns the count. */
size_t lh_stack_components(const char *out[], size_t cap);

/* True while the recorded process runs (checked through /proc). */
bool lh_stack_rec_running(const lh_stack_rec *rec);
/* Reads NAME's record; true (and *rec, which may be NULL) when that
 * process still runs. */
bool lh_stack_running(const lh_stack *st, const char *name, lh_stack_rec *rec);

/* 0 when a server could listen on addr:port (IPv4), else the errno of the
 * attempt (EADDRINUSE: something listens there already). */
int lh_port_check(const char *addr, int port);
/* True when a TCP connect to 127.0.0.1:port succeeds. */
bool lh_port_accepts(int port);

/* The last non-empty line of a text file (for "see the log" messages). */
bool lh_file_last_line(const char *path, char *out, size_t cap);

#endif
