/*
 * cmd_serve.c — `lakehouse serve ACTOR...`: run actors in this process
 * until SIGTERM or SIGINT, then stop them gracefully (no new requests,
 * in-flight ones finished) and exit 0.
 *
 * The stop signals are blocked in every thread and taken by sigwait in the
 * main thread. They are blocked before any actor exists, so the threads
 * nats.c and the actors create inherit the mask and never take the signal
 * themselves; a thread made before main has not the mask, so the signals
 * also have a handler that forwards them here (lh_proc_route_signals_here).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <nats/nats.h>

#include "bus/actor.h"
#include "bus/config.h"
#include "bus/log.h"
#include "ops/cli.h"
#include "ops/proc.h"
#include "ops/registry.h"

#define LH_SERVE_MAX_ACTORS 64

static const char lh_serve_usage[] =
    "usage: lakehouse serve ACTOR... [--workers N]\n"
    "\n"
    "Runs the named actors in this process, in the foreground, until SIGTERM or\n"
    "SIGINT; then stops taking requests, finishes those in flight and exits 0.\n"
    "An actor is named by its service name (embedd) or its domain (embed).\n"
    "\n"
    "  --workers N   subscribers per endpoint (parallel requests); default\n"
    "                $LH_WORKERS or 1\n"
    "\n"
    "The bus is $LH_NATS_URL (default nats://127.0.0.1:4222); state goes under\n"
    "$LH_DATA_DIR. `lakehouse up` runs one `serve` per actor for you.\n";

typedef struct lh_serve_args {
    const lh_actor_def *actors[LH_SERVE_MAX_ACTORS];
    size_t n;
    int workers; /* 0: from the config */
} lh_serve_args;

static int lh_serve_unknown(const char *name)
{
    size_t n;
    const lh_actor_def *const *all = lh_registry_all(&n);
    fprintf(stderr, "lakehouse serve: unknown actor '%s'; known actors:", name);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s %s", i ? "," : "", all[i]->name);
    fputc('\n', stderr);
    return LH_EXIT_USAGE;
}

static int lh_serve_add(lh_serve_args *a, const char *name)
{
    const lh_actor_def *def = lh_registry_find(name);
    if (!def)
        return lh_serve_unknown(name);
    for (size_t i = 0; i < a->n; i++)
        if (a->actors[i] == def)
            return lh_cli_usage_error(&lh_cmd_serve, "actor %s named twice", def->name);
    if (a->n == LH_SERVE_MAX_ACTORS)
        return lh_cli_usage_error(&lh_cmd_serve, "too many actors");
    a->actors[a->n++] = def;
    return LH_EXIT_OK;
}

/* Returns -1 to go on, or the exit status (help or a usage error). */
static int lh_serve_parse(int argc, char **argv, lh_serve_args *a)
{
    static const lh_cli_opt opts[] = {{"workers", true}};
    memset(a, 0, sizeof *a);
    lh_cli_scan scan;
    lh_cli_scan_init(&scan, &lh_cmd_serve, opts, 1, argc, argv);
    int opt, rc;
    const char *value;
    for (;;) {
        switch (lh_cli_scan_next(&scan, &opt, &value)) {
        case LH_CLI_END:
            return a->n ? -1 : lh_cli_usage_error(&lh_cmd_serve, "name at least one actor");
        case LH_CLI_HELP:
            lh_cli_print_usage(&lh_cmd_serve, stdout);
            return LH_EXIT_OK;
        case LH_CLI_ERROR:
            return LH_EXIT_USAGE;
        case LH_CLI_POSITIONAL:
            if ((rc = lh_serve_add(a, value)))
                return rc;
            break;
        case LH_CLI_OPTION:
            if (!lh_cli_parse_int(value, 1, 256, &a->workers))
                return lh_cli_usage_error(&lh_cmd_serve,
                                          "--workers expects a number in 1..256, not '%s'",
                                          value);
        }
    }
}

static void lh_serve_stop(lh_actor **running, size_t n)
{
    for (size_t i = n; i-- > 0;)
        lh_actor_destroy(running[i]);
    nats_Close(); /* releases the library's threads and memory */
}

/* Blocks the stop signals in this thread and so in every thread made after. */
static sigset_t lh_serve_block_stop_signals(void)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    lh_proc_route_signals_here(&stop);
    signal(SIGPIPE, SIG_IGN);
    return stop;
}

/* Starts every actor, or none: on a failure the started ones are stopped. */
static bool lh_serve_start(const lh_serve_args *args, const lh_actor_opts *opts,
                           lh_actor **running)
{
    for (size_t n = 0; n < args->n; n++) {
        lh_err *err = lh_actor_create(args->actors[n], opts, &running[n]);
        if (err) {
            /* The runtime's message already names the actor ("start gateway: ..."). */
            fprintf(stderr, "lakehouse serve: %s\n", lh_err_message(err));
            lh_err_free(err);
            lh_serve_stop(running, n);
            return false;
        }
    }
    return true;
}

static int lh_serve_run(int argc, char **argv)
{
    lh_serve_args args;
    int rc = lh_serve_parse(argc, argv, &args);
    if (rc >= 0)
        return rc;
    lh_log_init(args.n == 1 ? args.actors[0]->name : "lakehouse");
    lh_config cfg;
    lh_config_load(&cfg);
    lh_actor_opts opts = {.config = &cfg, .workers = args.workers ? args.workers : cfg.workers};
    sigset_t stop = lh_serve_block_stop_signals(); /* before any actor thread exists */
    lh_actor *running[LH_SERVE_MAX_ACTORS];
    if (!lh_serve_start(&args, &opts, running))
        return LH_EXIT_FAIL;
    int sig = 0;
    sigwait(&stop, &sig);
    lh_info("received %s; finishing in-flight requests", strsignal(sig));
    lh_serve_stop(running, args.n);
    lh_info("stopped");
    return LH_EXIT_OK;
}

const lh_command lh_cmd_serve = {
    .name = "serve",
    .run = lh_serve_run,
    .summary = "run actors in this process (foreground)",
    .usage = lh_serve_usage,
};
