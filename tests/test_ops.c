/*
 * test_ops.c — the `lakehouse` command as an operator uses it, end to end.
 *
 * From a fresh data directory on free ports: `up` starts a real stack
 * (nats-server, embedd, gateway) and prints its URLs; a second `up` and an
 * `up` on a taken port are refused; `status`, `req` and HTTP through the
 * gateway work against it; an actor killed with SIGKILL is restarted by the
 * supervisor; `down` stops exactly what was started and keeps the data.
 * The tests run in order against one stack (cmocka runs a group in order);
 * the group teardown brings the stack down whatever happened.
 */
#include "tests/support/harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

extern char **environ;

enum { RUN_TIMEOUT_MS = 120000, RESTART_TIMEOUT_MS = 60000 };

typedef struct ops_stack {
    char *data_dir;   /* the stack under test */
    char *spare_dir;  /* a second data directory, for refusals */
    char *scratch;    /* command outputs */
    int nats_port, http_port;
    char nats_url[64], http_url[64];
} ops_stack;

static ops_stack S;

/* ---- running the command ------------------------------------------------ */

typedef struct run_result {
    int status;  /* exit status */
    char *out;   /* stdout, NUL-terminated */
    char *err;   /* stderr */
} run_result;

static void run_free(run_result *r)
{
    free(r->out);
    free(r->err);
}

static char **run_argv(const char *const args[])
{
    size_t n = 0;
    while (args[n])
        n++;
    char **argv = calloc(n + 2, sizeof *argv);
    assert_non_null(argv);
    argv[0] = (char *)LH_BINARY;
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    return argv;
}

/* Runs `lakehouse ARGS...` with stdin from `input` (or /dev/null) and
 * collects its exit status, stdout and stderr separately. */
static run_result run_with_input(const char *input, const char *const args[])
{
    char out_path[600], err_path[600];
    snprintf(out_path, sizeof out_path, "%s/out", S.scratch);
    snprintf(err_path, sizeof err_path, "%s/err", S.scratch);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, input ? input : "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char **argv = run_argv(args);
    lh_test_proc p = {0};
    int rc = posix_spawn(&p.pid, LH_BINARY, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    free(argv);
    if (rc != 0)
        fail_msg("spawn %s: %s", LH_BINARY, strerror(rc));
    int status = lh_test_wait_exit(&p, RUN_TIMEOUT_MS);
    if (status == -1) {
        lh_test_signal_wait(&p, SIGKILL, 5000);
        fail_msg("lakehouse %s did not finish", args[0]);
    }
    if (!WIFEXITED(status))
        fail_msg("lakehouse %s died with signal %d", args[0], WTERMSIG(status));
    run_result r = {WEXITSTATUS(status), lh_test_read_file(out_path, NULL),
                    lh_test_read_file(err_path, NULL)};
    assert_non_null(r.out);
    assert_non_null(r.err);
    return r;
}

static run_result run(const char *const args[]) { return run_with_input(NULL, args); }

/* ---- looking at the stack ------------------------------------------------ */

static pid_t read_pid(const char *dir, const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/run/%s.pid", dir, name);
    char *text = lh_test_read_file(path, NULL);
    pid_t pid = text ? (pid_t)atoi(text) : 0;
    free(text);
    return pid;
}

static bool file_exists(const char *dir, const char *rel)
{
    char path[600];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    return stat(path, &st) == 0;
}

/* Alive and not a zombie (an orphaned supervisor may wait to be reaped). */
static bool pid_alive(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    char *stat = lh_test_read_file(path, NULL);
    const char *paren = stat ? strrchr(stat, ')') : NULL;
    bool alive = paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
    free(stat);
    return alive;
}

static bool port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(fd, 1) == 0;
    close(fd);
    return ok;
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, haystack);
}

static void show_logs(void)
{
    const char *names[] = {"supervisor", "nats-server", "embedd", "gateway"};
    for (size_t i = 0; i < 4; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/logs/%s.log", S.data_dir, names[i]);
        lh_test_log_tail(path, 20);
    }
}

/* ---- fixture ------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    /* The commands must find the stack through --data-dir, not the caller's settings. */
    unsetenv("LH_NATS_URL");
    unsetenv("LH_DATA_DIR");
    unsetenv("LH_NATS_SERVER");
    S.data_dir = lh_test_tmpdir();
    S.spare_dir = lh_test_tmpdir();
    S.scratch = lh_test_tmpdir();
    S.nats_port = lh_test_free_port();
    do
        S.http_port = lh_test_free_port();
    while (S.http_port == S.nats_port);
    snprintf(S.nats_url, sizeof S.nats_url, "nats://127.0.0.1:%d", S.nats_port);
    snprintf(S.http_url, sizeof S.http_url, "http://127.0.0.1:%d", S.http_port);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (pid_alive(read_pid(S.data_dir, "supervisor")) || pid_alive(read_pid(S.data_dir, "embedd"))) {
        const char *args[] = {"down", "--data-dir", S.data_dir, NULL};
        run_result r = run(args);
        run_free(&r);
    }
    lh_test_rmrf(S.data_dir);
    lh_test_rmrf(S.spare_dir);
    lh_test_rmrf(S.scratch);
    free(S.data_dir);
    free(S.spare_dir);
    free(S.scratch);
    return 0;
}

/* ---- the command line ---------------------------------------------------- */

static void test_help_for_every_command(void **state)
{
    (void)state;
    const char *top[] = {"--help", NULL};
    run_result r = run(top);
    assert_int_equal(r.status, 0);
    const char *cmds[] = {"up", "down", "status", "req", "serve", "docs"};
    for (size_t i = 0; i < 6; i++) {
        assert_contains(r.out, cmds[i]);
        char usage[64];
        snprintf(usage, sizeof usage, "usage: lakehouse %s", cmds[i]);
        const char *sub[] = {cmds[i], "--help", NULL};
        run_result h = run(sub);
        assert_int_equal(h.status, 0);
        assert_contains(h.out, usage);
        run_free(&h);
        const char *help[] = {"help", cmds[i], NULL};
        h = run(help);
        assert_int_equal(h.status, 0);
        assert_contains(h.out, usage);
        run_free(&h);
    }
    run_free(&r);
    const char *bogus[] = {"frobnicate", NULL};
    r = run(bogus);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "unknown command 'frobnicate'");
    run_free(&r);
}

static void test_serve_unknown_actor_lists_known_ones(void **state)
{
    (void)state;
    const char *args[] = {"serve", "nosuchd", NULL};
    run_result r = run(args);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "unknown actor 'nosuchd'");
    assert_contains(r.err, "embedd");
    assert_contains(r.err, "gateway");
    run_free(&r);
}

static void test_bad_option_is_a_usage_error(void **state)
{
    (void)state;
    const char *args[] = {"up", "--nats-port", "seventy", NULL};
    run_result r = run(args);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "--nats-port");
    run_free(&r);
}

/* serve runs its actors until SIGTERM or SIGINT, then exits 0. */
static void test_serve_stops_cleanly_on_signals(void **state)
{
    (void)state;
    lh_test_nats nats = {0};
    lh_test_nats_start(&nats);
    const int sigs[] = {SIGTERM, SIGINT};
    for (size_t i = 0; i < 2; i++) {
        char log[600];
        snprintf(log, sizeof log, "%s/serve-%zu.log", S.scratch, i);
        const char *actors[] = {"embedd", NULL};
        lh_test_proc p;
        lh_test_serve(&p, nats.url, actors, NULL, NULL, log);
        int status = lh_test_signal_wait(&p, sigs[i], 30000);
        assert_true(status != -1 && WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    lh_test_nats_destroy(&nats);
}

/* An actor that cannot start (its port is taken) makes serve exit 1 and say why. */
static void test_serve_exits_1_when_an_actor_cannot_start(void **state)
{
    (void)state;
    lh_test_nats nats = {0};
    lh_test_nats_start(&nats);
    char url[160], port[32];
    snprintf(url, sizeof url, "LH_NATS_URL=%s", nats.url);
    snprintf(port, sizeof port, "LH_HTTP_PORT=%d", nats.port); /* taken by nats-server */
    char *env[] = {url, port, NULL};
    char *argv[] = {(char *)LH_BINARY, "serve", "gateway", NULL};
    char log[600];
    snprintf(log, sizeof log, "%s/serve-taken.log", S.scratch);
    lh_test_proc p;
    lh_test_spawn(&p, argv, env, log);
    int status = lh_test_wait_exit(&p, 60000);
    if (status == -1)
        lh_test_signal_wait(&p, SIGKILL, 5000);
    assert_true(status != -1 && WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    char *text = lh_test_read_file(log, NULL);
    assert_non_null(text);
    assert_contains(text, "lakehouse serve: start gateway: ");
    free(text);
    lh_test_nats_destroy(&nats);
}

/* ---- the stack ----------------------------------------------------------- */

static void test_up_starts_the_stack(void **state)
{
    (void)state;
    char nats_port[16], http_port[16];
    snprintf(nats_port, sizeof nats_port, "%d", S.nats_port);
    snprintf(http_port, sizeof http_port, "%d", S.http_port);
    const char *args[] = {"up", "--data-dir", S.data_dir, "--nats-port", nats_port,
                          "--http-port", http_port, NULL};
    run_result r = run(args);
    if (r.status != 0) {
        show_logs();
        fail_msg("lakehouse up exited %d: %s", r.status, r.err);
    }
    assert_contains(r.out, S.http_url);
    assert_contains(r.out, S.nats_url);
    assert_contains(r.out, S.data_dir);
    const char *names[] = {"supervisor", "nats-server", "embedd", "gateway"};
    for (size_t i = 0; i < 4; i++)
        assert_true(pid_alive(read_pid(S.data_dir, names[i])));
    assert_true(file_exists(S.data_dir, "run/stack.env"));
    assert_true(file_exists(S.data_dir, "logs/embedd.log"));
    assert_true(lh_test_ping(S.nats_url, "embedd", 2000));
    assert_true(lh_test_ping(S.nats_url, "gateway", 2000));
    run_free(&r);
}

static void test_second_up_on_same_data_dir_is_refused(void **state)
{
    (void)state;
    pid_t supervisor = read_pid(S.data_dir, "supervisor");
    char nats_port[16], http_port[16];
    snprintf(nats_port, sizeof nats_port, "%d", lh_test_free_port());
    snprintf(http_port, sizeof http_port, "%d", lh_test_free_port());
    const char *args[] = {"up", "--data-dir", S.data_dir, "--nats-port", nats_port,
                          "--http-port", http_port, NULL};
    run_result r = run(args);
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "already running");
    assert_int_equal(read_pid(S.data_dir, "supervisor"), supervisor);
    assert_true(pid_alive(supervisor));
    run_free(&r);
}

static void test_up_on_a_taken_port_is_refused(void **state)
{
    (void)state;
    char taken[16], free_port[16];
    snprintf(free_port, sizeof free_port, "%d", lh_test_free_port());
    snprintf(taken, sizeof taken, "%d", S.nats_port);
    const char *bus[] = {"up", "--data-dir", S.spare_dir, "--nats-port", taken,
                         "--http-port", free_port, NULL};
    run_result r = run(bus);
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "already in use");
    assert_contains(r.err, "--nats-port");
    run_free(&r);

    snprintf(taken, sizeof taken, "%d", S.http_port);
    const char *http[] = {"up", "--data-dir", S.spare_dir, "--nats-port", free_port,
                          "--http-port", taken, NULL};
    r = run(http);
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "--http-port");
    run_free(&r);
    assert_false(file_exists(S.spare_dir, "run/supervisor.pid"));
    assert_false(file_exists(S.spare_dir, "run/nats-server.pid"));
}

/* A stack that cannot start is reported, and leaves nothing behind. */
static void test_up_reports_a_failed_start(void **state)
{
    (void)state;
    char nats_port[16], http_port[16];
    snprintf(nats_port, sizeof nats_port, "%d", lh_test_free_port());
    snprintf(http_port, sizeof http_port, "%d", lh_test_free_port());
    const char *args[] = {"up", "--data-dir", S.spare_dir, "--nats-port", nats_port,
                          "--http-port", http_port, NULL};
    setenv("LH_NATS_SERVER", "/bin/false", 1);
    run_result r = run(args);
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "nats-server exited with status 1 during startup");
    run_free(&r);

    setenv("LH_NATS_SERVER", "/nonexistent/nats-server", 1);
    r = run(args);
    unsetenv("LH_NATS_SERVER");
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "/nonexistent/nats-server");
    run_free(&r);
    assert_false(file_exists(S.spare_dir, "run/supervisor.pid"));
    assert_false(file_exists(S.spare_dir, "run/nats-server.pid"));
    assert_false(file_exists(S.spare_dir, "run/stack.env"));
}

static void test_down_with_nothing_running_says_so(void **state)
{
    (void)state;
    const char *args[] = {"down", "--data-dir", S.spare_dir, NULL};
    run_result r = run(args);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "no stack is running");
    run_free(&r);
}

static void test_status_lists_the_actors(void **state)
{
    (void)state;
    const char *args[] = {"status", "--data-dir", S.data_dir, NULL};
    run_result r = run(args);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "SERVICE");
    assert_contains(r.out, "AVG-LATENCY");
    assert_contains(r.out, "embedd");
    assert_contains(r.out, "gateway");
    run_free(&r);
}

static void test_status_without_a_bus_fails_clearly(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", lh_test_free_port());
    setenv("LH_NATS_URL", url, 1);
    const char *args[] = {"status", NULL};
    run_result r = run(args);
    unsetenv("LH_NATS_URL");
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "cannot reach the bus");
    assert_contains(r.err, url);
    run_free(&r);
}

/* The reply of embed.request for one text: one vector of `dimension` floats. */
static void assert_one_vector(const char *reply_json)
{
    json_error_t jerr;
    json_t *reply = json_loads(reply_json, 0, &jerr);
    if (!reply)
        fail_msg("reply is not JSON (%s): %s", jerr.text, reply_json);
    json_t *vectors = json_object_get(reply, "vectors");
    assert_int_equal(json_array_size(vectors), 1);
    json_int_t dim = json_integer_value(json_object_get(reply, "dimension"));
    assert_true(dim > 0);
    assert_int_equal(json_array_size(json_array_get(vectors, 0)), (size_t)dim);
    json_decref(reply);
}

static void test_req_prints_the_reply(void **state)
{
    (void)state;
    const char *args[] = {"req", "embed.request", "{\"texts\":[\"hi\"]}", "--data-dir",
                          S.data_dir, NULL};
    run_result r = run(args);
    assert_int_equal(r.status, 0);
    assert_one_vector(r.out);
    run_free(&r);
}

static void test_req_reads_stdin(void **state)
{
    (void)state;
    char input[600];
    snprintf(input, sizeof input, "%s/request.json", S.scratch);
    FILE *f = fopen(input, "w");
    assert_non_null(f);
    fputs("{\"texts\": [\"from stdin\"]}\n", f);
    fclose(f);
    const char *args[] = {"req", "embed.request", "-", "--data-dir", S.data_dir, NULL};
    run_result r = run_with_input(input, args);
    assert_int_equal(r.status, 0);
    assert_one_vector(r.out);
    run_free(&r);
}

static void test_req_error_reply_goes_to_stderr(void **state)
{
    (void)state;
    const char *bad[] = {"req", "embed.request", "{\"texts\":[]}", "--data-dir", S.data_dir,
                         NULL};
    run_result r = run(bad);
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "error 400: ");
    assert_contains(r.err, "texts");
    assert_string_equal(r.out, "");
    run_free(&r);

    const char *nobody[] = {"req", "nobody.serves.this", "{}", "--data-dir", S.data_dir, NULL};
    r = run(nobody);
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "error 503: ");
    run_free(&r);

    const char *malformed[] = {"req", "embed.request", "{\"texts\":", "--data-dir",
                               S.data_dir, NULL};
    r = run(malformed);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "not valid JSON");
    run_free(&r);
}

static void test_http_through_the_printed_gateway(void **state)
{
    (void)state;
    char url[128];
    snprintf(url, sizeof url, "%s/v1/embed", S.http_url);
    const char *headers[] = {"Content-Type: application/json", NULL};
    const char body[] = "{\"texts\":[\"hello\"]}";
    char *reply = NULL;
    long status = lh_test_http("POST", url, headers, body, sizeof body - 1, &reply, NULL, NULL);
    assert_int_equal(status, 200);
    assert_one_vector(reply);
    free(reply);
}

/* Polls until embedd runs under a new pid and answers pings again. */
static pid_t wait_for_restart(pid_t old)
{
    int64_t deadline = lh_test_now_ms() + RESTART_TIMEOUT_MS;
    while (lh_test_now_ms() < deadline) {
        pid_t now = read_pid(S.data_dir, "embedd");
        if (now > 0 && now != old && pid_alive(now) && lh_test_ping(S.nats_url, "embedd", 500))
            return now;
        lh_test_sleep_ms(50);
    }
    show_logs();
    fail_msg("embedd was not restarted after pid %d was killed", (int)old);
    return 0; /* not reached: fail_msg does not return */
}

static void test_supervisor_restarts_a_killed_actor(void **state)
{
    (void)state;
    pid_t old = read_pid(S.data_dir, "embedd");
    assert_true(pid_alive(old));
    assert_int_equal(kill(old, SIGKILL), 0);
    pid_t now = wait_for_restart(old);
    assert_int_not_equal(now, old);
    char path[600], expect[128];
    snprintf(path, sizeof path, "%s/logs/supervisor.log", S.data_dir);
    snprintf(expect, sizeof expect, "embedd (pid %d) was killed by signal 9", (int)old);
    char *log = lh_test_read_file(path, NULL);
    assert_non_null(log);
    assert_contains(log, expect);
    assert_contains(log, "restarted embedd");
    free(log);
    /* And it serves again. */
    test_req_prints_the_reply(state);
}

static void test_down_stops_everything_and_keeps_data(void **state)
{
    (void)state;
    const char *names[] = {"supervisor", "nats-server", "embedd", "gateway"};
    pid_t pids[4];
    for (size_t i = 0; i < 4; i++) {
        pids[i] = read_pid(S.data_dir, names[i]);
        assert_true(pid_alive(pids[i]));
    }
    const char *args[] = {"down", "--data-dir", S.data_dir, NULL};
    run_result r = run(args);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "stopped embedd");
    assert_contains(r.out, "stopped nats-server");
    run_free(&r);
    for (size_t i = 0; i < 4; i++) {
        if (pid_alive(pids[i]))
            fail_msg("%s (pid %d) still runs after down", names[i], (int)pids[i]);
        char rel[64];
        snprintf(rel, sizeof rel, "run/%s.pid", names[i]);
        assert_false(file_exists(S.data_dir, rel));
    }
    assert_true(port_free(S.nats_port));
    assert_true(port_free(S.http_port));
    assert_true(file_exists(S.data_dir, "nats"));
    assert_true(file_exists(S.data_dir, "logs/supervisor.log"));

    r = run(args);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "no stack is running");
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_for_every_command),
        cmocka_unit_test(test_serve_unknown_actor_lists_known_ones),
        cmocka_unit_test(test_bad_option_is_a_usage_error),
        cmocka_unit_test(test_serve_stops_cleanly_on_signals),
        cmocka_unit_test(test_serve_exits_1_when_an_actor_cannot_start),
        cmocka_unit_test(test_up_starts_the_stack),
        cmocka_unit_test(test_second_up_on_same_data_dir_is_refused),
        cmocka_unit_test(test_up_on_a_taken_port_is_refused),
        cmocka_unit_test(test_up_reports_a_failed_start),
        cmocka_unit_test(test_down_with_nothing_running_says_so),
        cmocka_unit_test(test_status_lists_the_actors),
        cmocka_unit_test(test_status_without_a_bus_fails_clearly),
        cmocka_unit_test(test_req_prints_the_reply),
        cmocka_unit_test(test_req_reads_stdin),
        cmocka_unit_test(test_req_error_reply_goes_to_stderr),
        cmocka_unit_test(test_http_through_the_printed_gateway),
        cmocka_unit_test(test_supervisor_restarts_a_killed_actor),
        cmocka_unit_test(test_down_stops_everything_and_keeps_data),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
