/*
 * harness.h — the integration-test harness linked into every test.
 *
 * Integration tests run the real thing: a real nats-server (JetStream on,
 * a throwaway store) on a free loopback port, real `lakehouse serve ...`
 * processes, and real HTTP through libcurl. This header gives them the few
 * helpers that makes pleasant: start/stop/restart a server, spawn and stop
 * processes, wait (boundedly) for ports and actors, and speak HTTP.
 *
 * Helpers that cannot continue call cmocka's fail_msg (after printing the
 * relevant log tail), so a test reads as a list of steps with no error
 * plumbing. Every wait is a bounded polling loop; nothing here asserts time.
 * Spawned children receive SIGKILL when the test process dies, so a crashed
 * test never leaves servers behind. (The kernel ties that to the *thread*
 * that spawned them: spawn from the test's main thread, as cmocka does.)
 *
 * A group's whole set-up is one lh_test_stack (nats-server, the test's
 * connection, a data directory, actors in this process or as processes)
 * and every request to an actor is one typed call that names a contract.
 *
 * Including this header also brings in cmocka and nats.c in the right order.
 */
#ifndef LH_TESTS_HARNESS_H
#define LH_TESTS_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>
#include <jansson.h>
#include <nats/nats.h>

#include "bus/actor.h"
#include "bus/contract.h"
#include "bus/mux.h"

#ifndef LH_BINARY
#error "LH_BINARY must be defined (absolute path of the lakehouse executable)"
#endif
#ifndef LH_SOURCE_DIR
#error "LH_SOURCE_DIR must be defined (the source tree root)"
#endif

/* ---- files and ports ---------------------------------------------------- */

/* A fresh directory /tmp/lhtest-XXXXXX; malloc'd path, caller frees. */
char *lh_test_tmpdir(void);
/* Removes a tree (no symlink following). Refuses anything not under /tmp/. */
void lh_test_rmrf(const char *path);
/* Reads a whole file, NUL-terminated; NULL if it cannot be opened.
 * `len` (may be NULL) receives the length without the NUL. */
char *lh_test_read_file(const char *path, size_t *len);
/* The sha256 of data[0..len) as 64 lowercase hex digits and a NUL. */
void lh_test_sha256_hex(const void *data, size_t len, char out[65]);
/* Prints the last `lines` lines of a log to stderr, for failure messages. */
void lh_test_log_tail(const char *path, int lines);

/* A port that was free a moment ago (bind 127.0.0.1:0, read it, close). */
int lh_test_free_port(void);
/* Polls until a TCP connect to 127.0.0.1:port succeeds. */
bool lh_test_wait_port(int port, int timeout_ms);

/* ---- nats-server -------------------------------------------------------- */

typedef struct lh_test_nats {
    pid_t pid;      /* 0 when not running */
    int port;
    char dir[512];  /* holds js/ (the JetStream store) and nats.log */
    char url[128];  /* nats://127.0.0.1:PORT */
} lh_test_nats;

/* Starts nats-server with JetStream and waits until it answers PING and
 * JetStream answers $JS.API.INFO. Zero-initialize `n` first: a zero port
 * picks a free one and an empty dir makes a fresh one (preset either to
 * reuse it). Fails the test with the log tail when the server won't come up. */
void lh_test_nats_start(lh_test_nats *n);
/* SIGTERM and reap (SIGKILL after 10 s). Keeps port, dir and url. */
void lh_test_nats_stop(lh_test_nats *n);
/* Stop, then start again on the same port and store. */
void lh_test_nats_restart(lh_test_nats *n);
/* Stop if running and remove the directory. */
void lh_test_nats_destroy(lh_test_nats *n);

/* A connection for tests: reconnects quickly and for up to about 30 s, so
 * a test can restart the server under it. Fails the test on error. */
natsConnection *lh_test_nats_connect(const char *url);
/* The same connection, or NULL when the server cannot be reached. */
natsConnection *lh_test_nats_try_connect(const char *url);

/* An actor's reply as a test reads it: the body as JSON (a msgpack reply
 * converted), and the ADR-32 error when there is one. */
typedef struct lh_test_reply {
    int code;            /* 0 on success, else Nats-Service-Error-Code; -1 no reply */
    json_t *body;        /* NULL when there was no reply or it was unreadable */
    const char *field;   /* the error's field, in body; NULL when none */
    const char *message; /* the error's message, in body (or why code is -1) */
    const char *subject; /* what was asked, for failure messages (borrowed) */
} lh_test_reply;

/* Reads a reply message (which stays the caller's). Never fails the test. */
lh_test_reply lh_test_reply_of(natsMsg *m);
/* One request with an optional Lh-Request-Id. Never fails the test, so
 * threads may use it: no reply or an unreadable one is code -1. */
lh_test_reply lh_test_request(natsConnection *nc, const char *subject, const void *data,
                              size_t len, const char *request_id, int timeout_ms);

/* ---- typed calls (harness_reply.c) -------------------------------------- */

enum { LH_TEST_CALL_TIMEOUT_MS = 60000 };

/* The one way a test asks an actor: `body` (JSON text or msgpack) to the
 * contract's subject. A success reply must decode through the contract's
 * reply schema; one that does not is code -1 saying why, so a reply that
 * drifts from its contract fails whichever test reads it. Never fails the
 * test, so threads may use it. `request_id` may be NULL. `msg` (may be
 * NULL) also receives the reply message, for tests that read its bytes;
 * the caller destroys it (NULL when no reply came). */
lh_test_reply lh_test_call_msg(natsConnection *nc, const lh_contract *k, const void *body,
                               size_t len, const char *request_id, natsMsg **msg);
/* The same without request id or message. */
lh_test_reply lh_test_call(natsConnection *nc, const lh_contract *k, const void *body,
                           size_t len);
/* With a JSON text. */
lh_test_reply lh_test_call_s(natsConnection *nc, const lh_contract *k, const char *json);
/* With a jansson document, which is consumed. */
lh_test_reply lh_test_call_j(natsConnection *nc, const lh_contract *k, json_t *doc);

/* A success reply's body (the caller's to free); fails the test with the
 * subject, code and message otherwise. */
json_t *lh_test_ok(lh_test_reply r);
/* Fails the test unless the reply is the error `code`, naming `field` and
 * saying `words` (each NULL: not checked); frees the reply. */
void lh_test_expect(lh_test_reply r, int code, const char *field, const char *words);

/* Requests $SRV.PING.<actor>; true on any reply that is not "no responders". */
bool lh_test_ping(const char *nats_url, const char *actor, int timeout_ms);
bool lh_test_ping_conn(natsConnection *nc, const char *actor, int timeout_ms);

/* ---- processes ---------------------------------------------------------- */

typedef struct lh_test_proc {
    pid_t pid;      /* 0 once reaped */
    char log[512];  /* where stdout+stderr go */
} lh_test_proc;

/* Spawns argv (argv[0] looked up in PATH if it has no slash) with the
 * current environment plus `env` ("K=V" strings, NULL-terminated, may be
 * NULL; they override inherited variables of the same name). stdout and
 * stderr are appended to log_path (or go to /dev/null when it is NULL).
 * The child inherits no descriptor beyond 0-2. Fails the test if the
 * program cannot be executed. */
void lh_test_spawn(lh_test_proc *p, char *const argv[], char *const env[],
                   const char *log_path);

/* Spawns `LH_BINARY serve <actors...> <args...>` with LH_NATS_URL=nats_url
 * plus `env`, and waits (up to 60 s) until every actor answers
 * $SRV.PING.<name>. Fails the test with the log tail if the process exits
 * or an actor stays silent. `args` and `env` are NULL-terminated or NULL. */
void lh_test_serve(lh_test_proc *p, const char *nats_url, const char *const actors[],
                   const char *const args[], char *const env[], const char *log_path);

/* Sends `sig`, then waits up to timeout_ms for the process to end. Returns
 * its wait status (WIFEXITED etc.), or -1 if it outlived the timeout (it is
 * then SIGKILLed and reaped) or was not running. */
int lh_test_signal_wait(lh_test_proc *p, int sig, int timeout_ms);
/* Stops a process started with lh_test_serve (SIGTERM, up to 30 s) and
 * fails the test, with its log's tail, unless it exited with status 0.
 * Does nothing when it is not running. */
void lh_test_serve_stop(lh_test_proc *p);
/* Waits up to timeout_ms for the process to end on its own. Returns its
 * wait status, or -1 on timeout (the process keeps running) or if it was
 * not running. */
int lh_test_wait_exit(lh_test_proc *p, int timeout_ms);
/* Runs argv (as lh_test_spawn, output appended to `log`) to completion and
 * returns its exit status, -1 when a signal ended it. Fails the test, with
 * the log's tail, if it outlives timeout_ms (it is then killed). */
int lh_test_run(char *const argv[], char *const env[], const char *log, int timeout_ms);

/* ---- a group's stack (harness_stack.c) ---------------------------------- */

enum { LH_TEST_STACK_MAX = 16 };

/* What an integration group runs on: one nats-server, the test's own
 * connection to it, one data directory, and actors, in this process
 * (lh_actor_create: fast, and a test can restart one on the same
 * directory) or as `lakehouse serve` processes (for signals and exits).
 * Every actor gets LH_NATS_URL, LH_DATA_DIR and LH_HTTP_PORT from here, so
 * a gateway anywhere in the stack listens on http_port. */
typedef struct lh_test_stack {
    lh_test_nats nats;
    natsConnection *nc; /* the test's connection */
    lh_conn *conn;      /* the runtime's kind, made by lh_test_stack_conn */
    char data_dir[600]; /* <nats.dir>/data */
    char log[600];      /* where `lakehouse serve` processes write: <nats.dir>/serve.log */
    int http_port;
    lh_actor *actors[LH_TEST_STACK_MAX]; /* in this process; NULL once dropped */
    const lh_actor_def *defs[LH_TEST_STACK_MAX];
    lh_test_proc procs[LH_TEST_STACK_MAX]; /* pid 0 once ended */
    const char *const *served[LH_TEST_STACK_MAX]; /* each process's actors (borrowed) */
} lh_test_stack;

/* A group's actors, for lh_test_stack_new. Every member may be left zero. */
typedef struct lh_test_stack_opts {
    const lh_actor_def *const *actors; /* in this process, started in order; NULL-terminated */
    int workers;                       /* per endpoint of each of them; 0 means 2 */
    const char *const *serve;          /* one `lakehouse serve` of these; NULL-terminated */
    const char *const *args;           /* its arguments after the actors */
    char *const *env;                  /* its extra "K=V" variables */
} lh_test_stack_opts;

/* Starts nats-server, connects, makes the data directory, then the actors
 * of `opts` (may be NULL: none), each answering $SRV.PING and a gateway
 * listening before it returns. Fails the test when anything won't start. */
lh_test_stack *lh_test_stack_new(const lh_test_stack_opts *opts);
/* Stops every actor still running, processes first (each must exit
 * cleanly: the test fails with its log otherwise), then the connection and
 * nats-server, and removes every directory. Accepts NULL. */
void lh_test_stack_free(lh_test_stack *s);
/* Stops every actor and process and empties the data directory, leaving
 * nats-server and the connection: the per-test reset. */
void lh_test_stack_clear(lh_test_stack *s);

/* Starts `def` in this process with `workers` threads per endpoint. */
lh_actor *lh_test_stack_add(lh_test_stack *s, const lh_actor_def *def, int workers);
/* Stops the in-process actor `def` (nothing when it is not running). */
void lh_test_stack_drop(lh_test_stack *s, const lh_actor_def *def);
/* lh_test_stack_drop, then lh_test_stack_add on the same data directory. */
lh_actor *lh_test_stack_restart(lh_test_stack *s, const lh_actor_def *def, int workers);
/* A bus connection of the runtime's own kind (lh_conn), as an actor or
 * the gateway holds one, for tests of lh_call, the mux and events; made
 * on first use, drained and closed by lh_test_stack_free (after anything
 * using it, such as a mux, is gone). */
lh_conn *lh_test_stack_conn(lh_test_stack *s);
/* A new request multiplexer on that connection; the caller destroys it
 * (lh_mux_destroy) before lh_test_stack_free. */
lh_mux *lh_test_stack_mux(lh_test_stack *s);
/* The in-process actor `def`, or NULL when it is not running. */
lh_actor *lh_test_stack_actor(lh_test_stack *s, const lh_actor_def *def);
/* The process serving `actor` (a running one first), or NULL. */
lh_test_proc *lh_test_stack_proc(lh_test_stack *s, const char *actor);
/* `lakehouse serve <actors> <args>` with the stack's variables plus `env`
 * (which win); returns once every actor answers (and a gateway listens).
 * The process is the stack's: signal it freely; whatever still runs at
 * clear or free must then exit cleanly. */
lh_test_proc *lh_test_stack_serve(lh_test_stack *s, const char *const actors[],
                                  const char *const args[], char *const env[]);

/* Runs argv (argv[0] is LH_BINARY: a `lakehouse` command) against the
 * stack's bus with its output in `log`, and returns its exit status (-1
 * when a signal ended it). Fails the test when it outlives timeout_ms. */
int lh_test_stack_run(lh_test_stack *s, char *const argv[], const char *log, int timeout_ms);

/* cmocka set-ups for a state that is the stack itself: a stack with no
 * actors yet, its end, and the per-test reset (lh_test_stack_clear). */
int lh_test_stack_setup(void **state);
int lh_test_stack_teardown(void **state);
int lh_test_stack_reset(void **state);

/* ---- HTTP --------------------------------------------------------------- */

/* One HTTP exchange through libcurl (no proxy, 60 s overall limit).
 * headers: NULL-terminated "Name: value" list or NULL. body may be NULL (no
 * request body; POST/PUT/PATCH then send Content-Length: 0); otherwise
 * body_len bytes are sent. HEAD asks for headers only. The response body is
 * returned NUL-terminated in *resp_body (malloc'd) and its length in
 * *resp_len; raw response headers in *resp_headers (malloc'd). Each of the
 * three outputs may be NULL. Returns the HTTP status, or -1 on a transport
 * error (then the outputs are set to NULL / 0). */
long lh_test_http(const char *method, const char *url, const char *const headers[],
                  const char *body, size_t body_len, char **resp_body, size_t *resp_len,
                  char **resp_headers);

/* An HTTP response as tests read it. */
typedef struct lh_test_response {
    long status;
    char *body;    /* NUL-terminated */
    size_t len;
    char *headers; /* as received */
    json_t *json;  /* the body as JSON; NULL when it is not JSON */
} lh_test_response;

/* One exchange with http://127.0.0.1:<port><path>, as lh_test_http (body
 * NULL: none). Fails the test on a transport error. */
lh_test_response lh_test_fetch(int port, const char *method, const char *path,
                               const char *const headers[], const char *body, size_t len);
void lh_test_response_free(lh_test_response *r);
/* A response header's value (the name in any case), copied into `out`;
 * NULL when the response has no such header. */
const char *lh_test_header(const lh_test_response *r, const char *name, char *out, size_t cap);

/* ---- internal, shared by the harness files ------------------------------ */

int64_t lh_test_now_ms(void);   /* monotonic */
void lh_test_sleep_ms(int ms);

#endif
