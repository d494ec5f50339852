/*
 * test_harness.c — tests for the integration-test harness itself, so that
 * when an integration test fails we know it is the product and not the
 * harness: files and ports, spawning and stopping processes (including the
 * promise that children die with the test), a real nats-server that keeps
 * its JetStream store across a restart, discovery pings, and HTTP.
 */
#include "tests/support/harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static bool path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Polls a log until it contains `text`; false after timeout_ms. */
static bool log_contains_within(const char *path, const char *text, int timeout_ms)
{
    int64_t deadline = lh_test_now_ms() + timeout_ms;
    for (;;) {
        char *log = lh_test_read_file(path, NULL);
        bool found = log != NULL && strstr(log, text) != NULL;
        free(log);
        if (found || lh_test_now_ms() >= deadline)
            return found;
        lh_test_sleep_ms(20);
    }
}

/* ---- files and ports ---------------------------------------------------- */

static void test_free_port_can_be_bound(void **state)
{
    (void)state;
    int port = lh_test_free_port();
    assert_true(port > 0 && port < 65536);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_true(lh_test_wait_port(port, 5000));
    close(fd);
    assert_false(lh_test_wait_port(port, 100));
}

static void test_tmpdir_files_and_rmrf(void **state)
{
    (void)state;
    char *dir = lh_test_tmpdir();
    assert_int_equal(strncmp(dir, "/tmp/lhtest-", 12), 0);
    char sub[600], file[700];
    snprintf(sub, sizeof sub, "%s/a", dir);
    snprintf(file, sizeof file, "%s/a/f.txt", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs("line1\nline2\n", f);
    fclose(f);

    size_t len = 0;
    char *text = lh_test_read_file(file, &len);
    assert_string_equal(text, "line1\nline2\n");
    assert_int_equal(len, 12);
    free(text);
    lh_test_log_tail(file, 1); /* shows "line2" on stderr; must not crash */

    lh_test_rmrf(dir);
    assert_false(path_exists(dir));
    assert_null(lh_test_read_file(file, NULL));
    free(dir);
}

/* ---- processes ---------------------------------------------------------- */

/* Runs argv to completion with its output in dir/name; returns status and output. */
static int run_to_end(const char *dir, const char *name, char *const argv[], char *const env[],
                      char **output)
{
    char log[600];
    snprintf(log, sizeof log, "%s/%s", dir, name);
    lh_test_proc p;
    lh_test_spawn(&p, argv, env, log);
    assert_true(p.pid > 0);
    assert_string_equal(p.log, log);
    int status = lh_test_wait_exit(&p, 10000);
    assert_int_equal(p.pid, 0);
    *output = lh_test_read_file(log, NULL);
    assert_non_null(*output);
    return status;
}

static void test_spawn_passes_env_and_captures_output(void **state)
{
    (void)state;
    char *dir = lh_test_tmpdir();
    char *out = NULL;
    /* printenv reads the raw environment: an override appended after the
     * inherited HOME instead of replacing it would print two lines. */
    char *printenv[] = {"printenv", "LH_HARNESS_X", "HOME", NULL};
    char *env[] = {"LH_HARNESS_X=42", "HOME=/harness-home", NULL};
    int status = run_to_end(dir, "env.log", printenv, env, &out);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_string_equal(out, "42\n/harness-home\n");
    free(out);

    char *script[] = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL};
    status = run_to_end(dir, "script.log", script, NULL, &out);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 3);
    assert_string_equal(out, "out\nerr\n");
    free(out);
    lh_test_rmrf(dir);
    free(dir);
}

static void test_sigterm_stops_a_process(void **state)
{
    (void)state;
    char *argv[] = {"/bin/sleep", "30", NULL};
    lh_test_proc p;
    lh_test_spawn(&p, argv, NULL, NULL);
    assert_string_equal(p.log, "/dev/null");
    assert_int_equal(lh_test_wait_exit(&p, 50), -1); /* still running, still ours */
    assert_true(p.pid > 0);

    int status = lh_test_signal_wait(&p, SIGTERM, 10000);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGTERM);
    assert_int_equal(p.pid, 0);
    assert_int_equal(lh_test_signal_wait(&p, SIGTERM, 100), -1); /* nothing left to stop */
}

static void test_process_ignoring_sigterm_is_killed(void **state)
{
    (void)state;
    char *dir = lh_test_tmpdir();
    char log[600];
    snprintf(log, sizeof log, "%s/stubborn.log", dir);
    /* The ignored TERM survives exec, so the sleep itself ignores it. */
    char *argv[] = {"/bin/sh", "-c", "trap '' TERM; echo ready; exec /bin/sleep 30", NULL};
    lh_test_proc p;
    lh_test_spawn(&p, argv, NULL, log);
    assert_true(log_contains_within(log, "ready", 10000));
    pid_t pid = p.pid;

    assert_int_equal(lh_test_signal_wait(&p, SIGTERM, 300), -1);
    assert_int_equal(p.pid, 0);
    assert_int_equal(kill(pid, 0), -1); /* killed and reaped: no zombie left */
    assert_int_equal(errno, ESRCH);
    lh_test_rmrf(dir);
    free(dir);
}

/* The middle process spawns a sleeper, reports its pid, and waits to be killed. */
static _Noreturn void spawn_sleeper_and_wait(int report_fd)
{
    char *argv[] = {"/bin/sleep", "30", NULL};
    lh_test_proc sleeper;
    lh_test_spawn(&sleeper, argv, NULL, NULL);
    if (write(report_fd, &sleeper.pid, sizeof sleeper.pid) != (ssize_t)sizeof sleeper.pid)
        _exit(1);
    for (;;)
        pause();
}

static void test_children_die_with_the_test_process(void **state)
{
    (void)state;
    /* Become the orphan's new parent, so we can see how it ended. */
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    int report[2];
    assert_int_equal(pipe(report), 0);
    pid_t middle = fork();
    assert_true(middle >= 0);
    if (middle == 0) {
        close(report[0]);
        spawn_sleeper_and_wait(report[1]);
    }
    close(report[1]);
    lh_test_proc orphan = {.pid = 0};
    assert_int_equal(read(report[0], &orphan.pid, sizeof orphan.pid), sizeof orphan.pid);
    close(report[0]);

    kill(middle, SIGKILL);
    assert_int_equal(waitpid(middle, NULL, 0), middle);
    int status = lh_test_wait_exit(&orphan, 10000);
    lh_test_signal_wait(&orphan, SIGKILL, 1000); /* only acts if the promise was broken */
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    assert_true(status != -1 && WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
}

/* ---- nats-server -------------------------------------------------------- */

static int nats_setup(void **state)
{
    lh_test_nats *n = calloc(1, sizeof *n);
    if (n == NULL)
        return -1;
    *state = n;
    return 0;
}

/* Runs even when the test fails, so no server or directory is left behind. */
static int nats_teardown(void **state)
{
    lh_test_nats *n = *state;
    lh_test_nats_destroy(n);
    free(n);
    return 0;
}

/* Publishes a unique payload and waits for it on `sub`; retries while the
 * connection may still be reconnecting. */
static bool round_trips(natsConnection *nc, natsSubscription *sub, const char *subject)
{
    static int serial;
    char payload[32];
    snprintf(payload, sizeof payload, "hello-%d", ++serial);
    int64_t deadline = lh_test_now_ms() + 15000;
    while (lh_test_now_ms() < deadline) {
        natsConnection_PublishString(nc, subject, payload);
        natsMsg *msg = NULL;
        while (natsSubscription_NextMsg(&msg, sub, 500) == NATS_OK) {
            bool match = strcmp(natsMsg_GetData(msg), payload) == 0;
            natsMsg_Destroy(msg);
            if (match)
                return true;
        }
    }
    return false;
}

static void create_stream_with_one_message(jsCtx *js)
{
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char *subjects[] = {"harness.js"};
    cfg.Name = "HARNESS";
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    assert_int_equal(js_AddStream(&si, js, &cfg, NULL, &jerr), NATS_OK);
    jsStreamInfo_Destroy(si);
    jsPubAck *ack = NULL;
    assert_int_equal(js_Publish(&ack, js, "harness.js", "kept", 4, NULL, &jerr), NATS_OK);
    jsPubAck_Destroy(ack);
}

static uint64_t stream_messages(jsCtx *js)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    assert_int_equal(js_GetStreamInfo(&si, js, "HARNESS", NULL, &jerr), NATS_OK);
    uint64_t msgs = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return msgs;
}

static void test_nats_start_restart_stop(void **state)
{
    lh_test_nats *n = *state;
    lh_test_nats_start(n);
    assert_true(n->pid > 0 && n->port > 0);
    char url[128];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", n->port);
    assert_string_equal(n->url, url);
    assert_true(lh_test_wait_port(n->port, 1000));

    natsConnection *nc = lh_test_nats_connect(n->url);
    natsSubscription *sub = NULL;
    assert_int_equal(natsConnection_SubscribeSync(&sub, nc, "harness.echo"), NATS_OK);
    assert_true(round_trips(nc, sub, "harness.echo"));
    jsCtx *js = NULL;
    assert_int_equal(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
    create_stream_with_one_message(js);

    int port = n->port;
    lh_test_nats_restart(n);
    assert_int_equal(n->port, port);
    assert_true(n->pid > 0);
    assert_true(round_trips(nc, sub, "harness.echo")); /* the old connection reconnected */
    assert_int_equal(stream_messages(js), 1);           /* the store survived */

    jsCtx_Destroy(js);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);

    lh_test_nats_stop(n);
    assert_int_equal(n->pid, 0);
    assert_false(lh_test_wait_port(port, 100));
    natsConnection *refused = NULL;
    assert_int_not_equal(natsConnection_ConnectTo(&refused, url), NATS_OK);
    assert_true(path_exists(n->dir)); /* stop keeps the store */

    char dir[512];
    snprintf(dir, sizeof dir, "%s", n->dir);
    lh_test_nats_destroy(n);
    assert_false(path_exists(dir));
}

static void answer_ping(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)sub, (void)closure;
    natsConnection_PublishString(nc, natsMsg_GetReply(msg), "{\"type\":\"io.nats.micro.v1.ping_response\"}");
    natsMsg_Destroy(msg);
}

static void test_ping_tells_responders_from_silence(void **state)
{
    lh_test_nats *n = *state;
    lh_test_nats_start(n);
    natsConnection *nc = lh_test_nats_connect(n->url);
    natsSubscription *sub = NULL;
    assert_int_equal(
        natsConnection_Subscribe(&sub, nc, "$SRV.PING.harnessd", answer_ping, NULL), NATS_OK);
    assert_int_equal(natsConnection_Flush(nc), NATS_OK);

    assert_true(lh_test_ping(n->url, "harnessd", 5000));
    assert_false(lh_test_ping(n->url, "nobodyd", 5000));
    assert_false(lh_test_ping_conn(nc, "nobodyd", 5000));

    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    natsConnection_Flush(nc);
    assert_false(lh_test_ping(n->url, "harnessd", 5000));
    natsConnection_Destroy(nc);
}

/* ---- lakehouse serve (only once the executable has been built) ---------- */

static void test_serve_waits_for_actors_and_stops_cleanly(void **state)
{
    lh_test_nats *n = *state;
    if (access(LH_BINARY, X_OK) != 0)
        skip();
    lh_test_nats_start(n);
    char log[600], data[600];
    snprintf(log, sizeof log, "%s/serve.log", n->dir);
    snprintf(data, sizeof data, "LH_DATA_DIR=%s/data", n->dir);
    char *env[] = {data, NULL};
    const char *const actors[] = {"embedd", NULL};
    lh_test_proc p;
    lh_test_serve(&p, n->url, actors, NULL, env, log);
    assert_true(lh_test_ping(n->url, "embedd", 5000));

    int status = lh_test_signal_wait(&p, SIGTERM, 30000);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        lh_test_log_tail(log, 40);
    assert_true(status != -1 && WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_false(lh_test_ping(n->url, "embedd", 1000));
}

/* ---- HTTP --------------------------------------------------------------- */

/* A one-request HTTP server answering "<method>|<X-Req header>|<body>". */
typedef struct tiny_http {
    int listen_fd;
    int port;
    pthread_t thread;
} tiny_http;

static size_t content_length(const char *head)
{
    const char *h = strcasestr(head, "\r\nContent-Length:");
    return h != NULL ? (size_t)strtoul(h + 17, NULL, 10) : 0;
}

/* Reads one request into buf; returns where the body starts, or NULL. */
static char *read_request(int fd, char *buf, size_t cap)
{
    size_t used = 0;
    for (;;) {
        buf[used] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end != NULL && used >= (size_t)(end + 4 - buf) + content_length(buf))
            return end + 4;
        ssize_t got = used + 1 < cap ? recv(fd, buf + used, cap - used - 1, 0) : -1;
        if (got <= 0)
            return NULL;
        used += (size_t)got;
    }
}

static void answer_request(int fd, char *request, char *body)
{
    char xreq[64] = "";
    const char *h = strcasestr(request, "\r\nX-Req: ");
    if (h != NULL)
        sscanf(h + 9, "%63[^\r]", xreq);
    char reply_body[4096];
    int n = snprintf(reply_body, sizeof reply_body, "%.*s|%s|%s",
                     (int)strcspn(request, " "), request, xreq, body);
    char reply[8192];
    int len = snprintf(reply, sizeof reply,
                       "HTTP/1.1 201 Created\r\nX-Harness: yes\r\nContent-Length: %d\r\n"
                       "Connection: close\r\n\r\n%s",
                       n, reply_body);
    send(fd, reply, (size_t)len, MSG_NOSIGNAL);
}

static void *tiny_http_serve_one(void *arg)
{
    tiny_http *t = arg;
    int fd = accept(t->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    char request[4096];
    char *body = read_request(fd, request, sizeof request);
    if (body != NULL)
        answer_request(fd, request, body);
    close(fd);
    return NULL;
}

static void tiny_http_start(tiny_http *t)
{
    t->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(t->listen_fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    assert_int_equal(bind(t->listen_fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(t->listen_fd, 4), 0);
    assert_int_equal(getsockname(t->listen_fd, (struct sockaddr *)&addr, &len), 0);
    t->port = ntohs(addr.sin_port);
    assert_int_equal(pthread_create(&t->thread, NULL, tiny_http_serve_one, t), 0);
}

static void test_http_round_trip_and_transport_error(void **state)
{
    (void)state;
    tiny_http t;
    tiny_http_start(&t);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/thing", t.port);
    const char *const headers[] = {"X-Req: abc", NULL};
    char *body = NULL, *resp_headers = NULL;
    size_t len = 0;
    long status = lh_test_http("PUT", url, headers, "hello", 5, &body, &len, &resp_headers);
    pthread_join(t.thread, NULL);
    close(t.listen_fd);

    assert_int_equal(status, 201);
    assert_string_equal(body, "PUT|abc|hello");
    assert_int_equal(len, strlen("PUT|abc|hello"));
    assert_non_null(strstr(resp_headers, "X-Harness: yes"));
    free(body);
    free(resp_headers);

    /* Nobody listens there any more. */
    status = lh_test_http("GET", url, NULL, NULL, 0, &body, &len, &resp_headers);
    assert_int_equal(status, -1);
    assert_null(body);
    assert_null(resp_headers);
    assert_int_equal(len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* Forking tests first, before nats.c and curl start their threads. */
        cmocka_unit_test(test_children_die_with_the_test_process),
        cmocka_unit_test(test_free_port_can_be_bound),
        cmocka_unit_test(test_tmpdir_files_and_rmrf),
        cmocka_unit_test(test_spawn_passes_env_and_captures_output),
        cmocka_unit_test(test_sigterm_stops_a_process),
        cmocka_unit_test(test_process_ignoring_sigterm_is_killed),
        cmocka_unit_test_setup_teardown(test_nats_start_restart_stop, nats_setup, nats_teardown),
        cmocka_unit_test_setup_teardown(test_ping_tells_responders_from_silence, nats_setup,
                                        nats_teardown),
        cmocka_unit_test_setup_teardown(test_serve_waits_for_actors_and_stops_cleanly, nats_setup,
                                        nats_teardown),
        cmocka_unit_test(test_http_round_trip_and_transport_error),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    nats_CloseAndWait(5000); /* lets LeakSanitizer see nats.c fully released */
    return failed;
}
