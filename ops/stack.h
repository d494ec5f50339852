/*
 * stack.h — where a stack started by `lakehouse up` lives on disk.
 *
 * Everything about one stack is under its data directory, so two stacks
 * with two data directories (and two port sets) run side by side:
 *
 *   DATA/nats/                 the nats-server JetStream store
 *   DATA/logs/NAME.log         one log per process (supervisor, nats-server, actors)
 *   DATA/run/NAME.pid          the pid of each running process
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

lh_err *lh_stack_write_pid(const lh_stack *st, const char *name, pid_t pid);
/* The recorded pid, or 0 when there is no (valid) pid file. */
pid_t lh_stack_read_pid(const lh_stack *st, const char *name);
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

/* True when pid is still the process the stack recorded under `name`
 * (supervisor, nats-server or an actor), checked through /proc. */
bool lh_stack_is_ours(const lh_stack *st, const char *name, pid_t pid);
/* Reads NAME's pid file; true (and *pid) when that process is still ours. */
bool lh_stack_running(const lh_stack *st, const char *name, pid_t *pid);

/* 0 when a server could listen on addr:port (IPv4), else the errno of the
 * attempt (EADDRINUSE: something listens there already). */
int lh_port_check(const char *addr, int port);
/* True when a TCP connect to 127.0.0.1:port succeeds. */
bool lh_port_accepts(int port);

/* The last non-empty line of a text file (for "see the log" messages). */
bool lh_file_last_line(const char *path, char *out, size_t cap);

#endif
