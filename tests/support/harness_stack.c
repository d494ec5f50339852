/*
 * harness_stack.c — a group's stack: nats-server, the test's connection,
 * one data directory and the actors under test, started and stopped one
 * way for every integration suite. Actors run in this process
 * (lh_actor_create) when a test must restart them cheaply on the same
 * directory, or as `lakehouse serve` processes when a test signals them.
 * Either way they get their bus, directory and HTTP port from the stack,
 * and are ready (ping answered, gateway listening) before a test runs.
 */
#include "tests/support/harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "bus/config.h"

enum {
    DEFAULT_WORKERS = 2,
    READY_TIMEOUT_MS = 10000,
    PING_TIMEOUT_MS = 1000,
    LISTEN_TIMEOUT_MS = 20000,
    STOP_TIMEOUT_MS = 30000,
    LOG_TAIL_LINES = 40,
};

static bool is_gateway(const char *name) { return strcmp(name, "gateway") == 0; }

static void make_data_dir(lh_test_stack *s)
{
    if (mkdir(s->data_dir, 0700) != 0)
        fail_msg("cannot make %s", s->data_dir);
}

static void wait_listening(lh_test_stack *s)
{
    if (!lh_test_wait_port(s->http_port, LISTEN_TIMEOUT_MS)) {
        lh_test_log_tail(s->log, LOG_TAIL_LINES);
        fail_msg("the gateway is not listening on %d", s->http_port);
    }
}

/* ---- actors in this process ---- */

/* The configuration an actor reads from the environment, pointed at the
 * stack; LH_HTTP_PORT is set only while it is read, so it cannot leak
 * into later processes' environment by surprise. */
static void load_config(lh_test_stack *s, lh_config *cfg)
{
    char port[16];
    snprintf(port, sizeof port, "%d", s->http_port);
    setenv("LH_NATS_URL", s->nats.url, 1);
    setenv("LH_DATA_DIR", s->data_dir, 1);
    setenv("LH_HTTP_PORT", port, 1);
    lh_config_load(cfg);
    unsetenv("LH_HTTP_PORT");
}

static size_t free_actor_slot(lh_test_stack *s)
{
    for (size_t i = 0; i < LH_TEST_STACK_MAX; i++)
        if (!s->actors[i])
            return i;
    fail_msg("more than %d actors in one stack", LH_TEST_STACK_MAX);
    return 0;
}

/* Discovery subscribes after the endpoints on the same connection: once
 * it answers, the server knows every endpoint. */
static void wait_ping(lh_test_stack *s, const char *name)
{
    int64_t deadline = lh_test_now_ms() + READY_TIMEOUT_MS;
    while (!lh_test_ping_conn(s->nc, name, PING_TIMEOUT_MS))
        if (lh_test_now_ms() > deadline)
            fail_msg("%s does not answer $SRV.PING", name);
}

lh_actor *lh_test_stack_add(lh_test_stack *s, const lh_actor_def *def, int workers)
{
    lh_config cfg;
    load_config(s, &cfg);
    lh_actor_opts opts = {.config = &cfg, .workers = workers > 0 ? workers : DEFAULT_WORKERS};
    size_t slot = free_actor_slot(s);
    lh_err *err = lh_actor_create(def, &opts, &s->actors[slot]);
    if (err)
        fail_msg("start %s: %s", def->name, lh_err_message(err));
    s->defs[slot] = def;
    wait_ping(s, def->name);
    if (is_gateway(def->name))
        wait_listening(s);
    return s->actors[slot];
}

/* Stops the in-process actors of `def`, or all of them when NULL, last
 * slot first (a gateway added after its backends goes before them). */
static void drop_matching(lh_test_stack *s, const lh_actor_def *def)
{
    for (size_t i = LH_TEST_STACK_MAX; i-- > 0;) {
        if (s->actors[i] && (!def || s->defs[i] == def)) {
            lh_actor_destroy(s->actors[i]);
            s->actors[i] = NULL;
            s->defs[i] = NULL;
        }
    }
}

void lh_test_stack_drop(lh_test_stack *s, const lh_actor_def *def) { drop_matching(s, def); }

lh_conn *lh_test_stack_conn(lh_test_stack *s)
{
    if (s->conn)
        return s->conn;
    lh_conn_opts o = {.url = s->nats.url, .name = "test", .wait_for_server = false};
    lh_err *err = lh_conn_create(&o, &s->conn);
    if (err)
        fail_msg("connect: %s", lh_err_message(err));
    return s->conn;
}

lh_mux *lh_test_stack_mux(lh_test_stack *s)
{
    lh_mux *m = NULL;
    lh_err *err = lh_mux_create(lh_test_stack_conn(s), &m);
    if (err)
        fail_msg("mux: %s", lh_err_message(err));
    return m;
}

lh_actor *lh_test_stack_actor(lh_test_stack *s, const lh_actor_def *def)
{
    for (size_t i = 0; i < LH_TEST_STACK_MAX; i++)
        if (s->actors[i] && s->defs[i] == def)
            return s->actors[i];
    return NULL;
}

lh_actor *lh_test_stack_restart(lh_test_stack *s, const lh_actor_def *def, int workers)
{
    lh_test_stack_drop(s, def);
    return lh_test_stack_add(s, def, workers);
}

/* ---- actors as processes ---- */

static bool serves_gateway(const char *const actors[])
{
    for (size_t i = 0; actors[i]; i++)
        if (is_gateway(actors[i]))
            return true;
    return false;
}

/* True when `env` sets the variable of the "K=V" entry `var`. */
static bool env_sets(char *const env[], const char *var)
{
    size_t key = strcspn(var, "=") + 1;
    for (size_t i = 0; env && env[i]; i++)
        if (strncmp(env[i], var, key) == 0)
            return true;
    return false;
}

/* The stack's variables, unless `env` sets them too (the caller's win),
 * then `env`, into `out` (room for both and the NULL); `vars` holds the
 * stack's strings. */
static void serve_env(lh_test_stack *s, char vars[2][700], char *const env[], char **out)
{
    snprintf(vars[0], sizeof vars[0], "LH_DATA_DIR=%s", s->data_dir);
    snprintf(vars[1], sizeof vars[1], "LH_HTTP_PORT=%d", s->http_port);
    size_t n = 0;
    for (size_t i = 0; i < 2; i++)
        if (!env_sets(env, vars[i]))
            out[n++] = vars[i];
    for (size_t i = 0; env && env[i]; i++)
        out[n++] = env[i];
    out[n] = NULL;
}

static lh_test_proc *free_proc_slot(lh_test_stack *s)
{
    for (size_t i = 0; i < LH_TEST_STACK_MAX; i++)
        if (!s->procs[i].pid)
            return &s->procs[i];
    fail_msg("more than %d processes in one stack", LH_TEST_STACK_MAX);
    return NULL;
}

lh_test_proc *lh_test_stack_serve(lh_test_stack *s, const char *const actors[],
                                  const char *const args[], char *const env[])
{
    size_t n_env = 0;
    while (env && env[n_env])
        n_env++;
    char vars[2][700];
    char **full = calloc(n_env + 3, sizeof *full);
    if (!full)
        fail_msg("out of memory");
    serve_env(s, vars, env, full);
    lh_test_proc *p = free_proc_slot(s);
    s->served[p - s->procs] = actors;
    lh_test_serve(p, s->nats.url, actors, args, full, s->log);
    free(full);
    if (serves_gateway(actors))
        wait_listening(s);
    return p;
}

static bool serves(const char *const actors[], const char *actor)
{
    for (size_t i = 0; actors && actors[i]; i++)
        if (strcmp(actors[i], actor) == 0)
            return true;
    return false;
}

lh_test_proc *lh_test_stack_proc(lh_test_stack *s, const char *actor)
{
    lh_test_proc *ended = NULL;
    for (size_t i = 0; i < LH_TEST_STACK_MAX; i++) {
        if (!serves(s->served[i], actor))
            continue;
        if (s->procs[i].pid)
            return &s->procs[i];
        ended = &s->procs[i];
    }
    return ended;
}

/* Stops every process still running, last slot first (so a gateway served
 * after its backends stops before them); false when one of
 * them did not exit cleanly (its log is printed). All are stopped either
 * way, so a failing test leaves nothing running. */
static bool stop_procs(lh_test_stack *s)
{
    bool clean = true;
    for (size_t i = LH_TEST_STACK_MAX; i-- > 0;) {
        lh_test_proc *p = &s->procs[i];
        if (!p->pid)
            continue;
        int st = lh_test_signal_wait(p, SIGTERM, STOP_TIMEOUT_MS);
        if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            lh_test_log_tail(p->log, LOG_TAIL_LINES);
            fprintf(stderr, "harness: lakehouse serve did not exit cleanly (status %d)\n", st);
            clean = false;
        }
    }
    return clean;
}

int lh_test_stack_run(lh_test_stack *s, char *const argv[], const char *log, int timeout_ms)
{
    char url[200];
    snprintf(url, sizeof url, "LH_NATS_URL=%s", s->nats.url);
    char *const env[] = {url, NULL};
    return lh_test_run(argv, env, log, timeout_ms);
}

/* ---- the stack ---- */

static void start_opts(lh_test_stack *s, const lh_test_stack_opts *o)
{
    for (size_t i = 0; o->actors && o->actors[i]; i++)
        lh_test_stack_add(s, o->actors[i], o->workers);
    if (o->serve && o->serve[0])
        lh_test_stack_serve(s, o->serve, o->args, o->env);
}

lh_test_stack *lh_test_stack_new(const lh_test_stack_opts *opts)
{
    lh_test_stack *s = calloc(1, sizeof *s);
    if (!s)
        fail_msg("out of memory");
    lh_test_nats_start(&s->nats);
    s->nc = lh_test_nats_connect(s->nats.url);
    snprintf(s->data_dir, sizeof s->data_dir, "%s/data", s->nats.dir);
    snprintf(s->log, sizeof s->log, "%s/serve.log", s->nats.dir);
    s->http_port = lh_test_free_port();
    make_data_dir(s);
    if (opts)
        start_opts(s, opts);
    return s;
}

void lh_test_stack_clear(lh_test_stack *s)
{
    bool clean = stop_procs(s);
    memset(s->served, 0, sizeof s->served);
    drop_matching(s, NULL);
    lh_test_rmrf(s->data_dir);
    make_data_dir(s);
    if (!clean)
        fail_msg("a lakehouse serve process did not exit cleanly (log: %s)", s->log);
}

void lh_test_stack_free(lh_test_stack *s)
{
    if (!s)
        return;
    bool clean = stop_procs(s);
    drop_matching(s, NULL);
    if (s->conn) {
        lh_conn_drain(s->conn, STOP_TIMEOUT_MS); /* as the runtime does before destroying */
        lh_conn_destroy(s->conn);
    }
    natsConnection_Destroy(s->nc);
    lh_test_nats_destroy(&s->nats);
    char log[sizeof s->log];
    snprintf(log, sizeof log, "%s", s->log);
    free(s);
    if (!clean)
        fail_msg("a lakehouse serve process did not exit cleanly (log: %s)", log);
}

/* ---- cmocka set-ups ---- */

int lh_test_stack_setup(void **state)
{
    *state = lh_test_stack_new(NULL);
    return 0;
}

int lh_test_stack_teardown(void **state)
{
    lh_test_stack_free(*state);
    return 0;
}

int lh_test_stack_reset(void **state)
{
    lh_test_stack_clear(*state);
    return 0;
}
