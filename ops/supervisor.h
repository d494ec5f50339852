/*
 * supervisor.h — the background process `lakehouse up` leaves running.
 *
 * It starts nats-server (JetStream, store under the data directory), then
 * one `lakehouse serve ACTOR` per actor in dependency order, each waited
 * for by a discovery ping; records pid files and stack.env; reports
 * readiness to `up` over a pipe; and then supervises: a process that dies
 * is restarted with exponential backoff (1 s doubling to 30 s, reset once
 * it has stayed up 60 s), each death and restart logged. SIGTERM stops the
 * actors in reverse order and nats-server last, then removes the pid files.
 */
#ifndef LH_OPS_SUPERVISOR_H
#define LH_OPS_SUPERVISOR_H

#include <limits.h>

#include "ops/stack.h"

#define LH_NATS_SERVER_DEFAULT "/usr/sbin/nats-server"

typedef struct lh_supervisor_opts {
    lh_stack stack;
    char self_exe[PATH_MAX];    /* the lakehouse binary, for `serve` */
    char nats_server[PATH_MAX]; /* the nats-server binary */
    char http_addr[64];
    int nats_port;
    int http_port;
    int workers;                /* --workers for every actor; 0 = their default */
    int lock_fd;                /* DATA/run/supervisor.lock, held for life */
} lh_supervisor_opts;

/* Call in the child right after fork(): detaches (new session, stdio to
 * DATA/logs/supervisor.log), starts the stack, writes "ok\n" or
 * "error: MESSAGE\n" to ready_fd and closes it, then supervises until
 * SIGTERM. Returns the process exit status. */
int lh_supervisor_run(const lh_supervisor_opts *o, int ready_fd);

#endif
