/*
 * test_down.c — `lakehouse up` and `down` trust what `up` recorded, not
 * names, and a refused `up` leaves no trace.
 *
 * The stack is started by a copy of the binary under another name
 * (lakehouse-0.1), as an installed, versioned binary would be: `down` must
 * still stop every process `up` started, and nothing may come back. A
 * record whose process has gone and whose pid was reused is left alone.
 * An `up` refused for a taken port must not create the data directory or
 * anything in it.
 */
#include "tests/support/harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ops/proc.h"
#include "ops/stack.h"

enum { RUN_TIMEOUT_MS = 120000, MAX_RECORDS = 32 };

typedef struct fixture {
    char *tmp;           /* the renamed binary, command logs */
    char *data_dir;      /* the stack under test */
    char binary[600];    /* tmp/bin/lakehouse-0.1 */
    int nats_port, http_port;
} fixture;

static fixture F;

/* ---- helpers ------------------------------------------------------------- */

static void copy_file(const char *from, const char *to)
{
    size_t len;
    char *data = lh_test_read_file(from, &len);
    assert_non_null(data);
    int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    assert_true(fd >= 0);
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, data + off, len - off);
        assert_true(n > 0);
        off += (size_t)n;
    }
    assert_int_equal(close(fd), 0);
    free(data);
}

typedef struct run_result {
    int status;
    char *output; /* stdout and stderr, NUL-terminated */
} run_result;

/* Runs `binary ARGS...` to completion; its output in one log. */
static run_result run(const char *binary, const char *const args[])
{
    static int seq;
    char *argv[16] = {(char *)binary};
    size_t n = 0;
    while (args[n]) {
        assert_true(n + 2 < sizeof argv / sizeof argv[0]);
        argv[n + 1] = (char *)args[n];
        n++;
    }
    char log[700];
    snprintf(log, sizeof log, "%s/run-%d.log", F.tmp, ++seq);
    int status = lh_test_run(argv, NULL, log, RUN_TIMEOUT_MS);
    assert_true(status >= 0);
    run_result r = {status, lh_test_read_file(log, NULL)};
    assert_non_null(r.output);
    return r;
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, haystack);
}

typedef struct record {
    char name[64];
    pid_t pid;
} record;

/* Every DATA/run/NAME.pid: the pid is the file's first line. */
static size_t read_records(const char *data_dir, record *out, size_t cap)
{
    char run_dir[600];
    snprintf(run_dir, sizeof run_dir, "%s/run", data_dir);
    DIR *d = opendir(run_dir);
    if (!d)
        return 0;
    size_t n = 0;
    for (struct dirent *e; n < cap && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".pid"))
            continue;
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", run_dir, e->d_name);
        char *text = lh_test_read_file(path, NULL);
        if (!text)
            continue;
        snprintf(out[n].name, sizeof out[n].name, "%.*s", (int)(len - 4), e->d_name);
        out[n].pid = (pid_t)atoi(text);
        free(text);
        n++;
    }
    closedir(d);
    return n;
}

static bool has_record(const record *r, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(r[i].name, name))
            return true;
    return false;
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static bool path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A socket listening on a free loopback port; *port gets it. */
static int listen_on_free_port(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* ---- fixture ------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    unsetenv("LH_NATS_URL");
    unsetenv("LH_DATA_DIR");
    unsetenv("LH_NATS_SERVER");
    unsetenv("LH_NATS_PORT");
    F.tmp = lh_test_tmpdir();
    F.data_dir = lh_test_tmpdir();
    char bin[600];
    snprintf(bin, sizeof bin, "%s/bin", F.tmp);
    assert_int_equal(mkdir(bin, 0755), 0);
    snprintf(F.binary, sizeof F.binary, "%s/lakehouse-0.1", bin);
    copy_file(LH_BINARY, F.binary);
    F.nats_port = lh_test_free_port();
    do
        F.http_port = lh_test_free_port();
    while (F.http_port == F.nats_port);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    /* Whatever a failed test left running, by its records. */
    const char *args[] = {"down", "--data-dir", F.data_dir, NULL};
    run_result r = run(LH_BINARY, args);
    free(r.output);
    lh_test_rmrf(F.data_dir);
    lh_test_rmrf(F.tmp);
    free(F.data_dir);
    free(F.tmp);
    return 0;
}

/* ---- down by record ------------------------------------------------------ */

static void test_down_stops_a_stack_started_by_a_renamed_binary(void **state)
{
    (void)state;
    char nats_port[16], http_port[16];
    snprintf(nats_port, sizeof nats_port, "%d", F.nats_port);
    snprintf(http_port, sizeof http_port, "%d", F.http_port);
    const char *up[] = {"up", "--data-dir", F.data_dir, "--nats-port", nats_port,
                        "--http-port", http_port, NULL};
    run_result r = run(F.binary, up);
    if (r.status != 0)
        fail_msg("up exited %d:\n%s", r.status, r.output);
    free(r.output);

    record recs[MAX_RECORDS];
    size_t n = read_records(F.data_dir, recs, MAX_RECORDS);
    assert_true(has_record(recs, n, "supervisor"));
    assert_true(has_record(recs, n, "nats-server"));
    assert_true(has_record(recs, n, "gateway"));
    for (size_t i = 0; i < n; i++)
        if (!lh_proc_alive(recs[i].pid))
            fail_msg("%s (pid %d) is not running after up", recs[i].name, (int)recs[i].pid);

    const char *down[] = {"down", "--data-dir", F.data_dir, NULL};
    r = run(F.binary, down);
    if (r.status != 0)
        fail_msg("down exited %d:\n%s", r.status, r.output);
    assert_contains(r.output, "stopped supervisor");
    assert_contains(r.output, "stopped gateway");
    assert_contains(r.output, "stopped nats-server");
    free(r.output);

    /* Every process up started is gone, the supervisor first among them,
     * so nothing is left that could start nats-server again. */
    for (size_t i = 0; i < n; i++)
        if (lh_proc_alive(recs[i].pid))
            fail_msg("%s (pid %d) still runs after down", recs[i].name, (int)recs[i].pid);
    record after[MAX_RECORDS];
    size_t n_after = read_records(F.data_dir, after, MAX_RECORDS);
    for (size_t i = 0; i < n_after; i++)
        fail_msg("down left a record: %s (pid %d)", after[i].name, (int)after[i].pid);
    if (lh_port_accepts(F.nats_port))
        fail_msg("something serves the bus port %d after down", F.nats_port);

    r = run(F.binary, down);
    assert_int_equal(r.status, 0);
    assert_contains(r.output, "no stack is running");
    free(r.output);
}

/* A live process of no stack (sleep) recorded in a fresh data directory
 * as `name`: with a start time that is not its own (a reused pid), or as
 * an older lakehouse recorded it (a bare pid). */
typedef struct recorded {
    char *dir;
    char path[700];
    lh_test_proc sleeper;
    unsigned long long start; /* the sleeper's real start time */
} recorded;

static recorded record_a_sleeper(const char *name, bool legacy)
{
    recorded r = {.dir = lh_test_tmpdir()};
    char run_dir[600], log[700];
    snprintf(run_dir, sizeof run_dir, "%s/run", r.dir);
    assert_int_equal(mkdir(run_dir, 0755), 0);
    snprintf(log, sizeof log, "%s/sleep-%s.log", F.tmp, name);
    char *argv[] = {"sleep", "600", NULL};
    lh_test_spawn(&r.sleeper, argv, NULL, log);
    assert_true(lh_proc_start_time(r.sleeper.pid, &r.start));
    snprintf(r.path, sizeof r.path, "%s/%s.pid", run_dir, name);
    FILE *f = fopen(r.path, "w");
    assert_non_null(f);
    if (legacy)
        fprintf(f, "%d\n", (int)r.sleeper.pid);
    else
        fprintf(f, "%d\nstart_time %llu\ndata_dir %s\n", (int)r.sleeper.pid, r.start + 1, r.dir);
    fclose(f);
    return r;
}

/* A record whose pid now belongs to another process (the start time
 * differs) is not the stack's: down must not signal it. */
static void test_down_leaves_a_reused_pid_alone(void **state)
{
    (void)state;
    recorded r = record_a_sleeper("embedd", false);

    const char *down[] = {"down", "--data-dir", r.dir, NULL};
    run_result out = run(F.binary, down);
    assert_int_equal(out.status, 0);
    assert_contains(out.output, "no stack is running");
    free(out.output);
    assert_true(lh_proc_is(r.sleeper.pid, r.start));

    assert_true(lh_test_signal_wait(&r.sleeper, SIGKILL, 10000) != -1);
    lh_test_rmrf(r.dir);
    free(r.dir);
}

/* A bare-pid record, as an older lakehouse wrote it, of a live process:
 * down can neither verify nor forget it, so it refuses, says why, and
 * leaves the record and the process alone. */
static void test_down_refuses_an_older_stacks_records(void **state)
{
    (void)state;
    recorded r = record_a_sleeper("supervisor", true);

    const char *down[] = {"down", "--data-dir", r.dir, NULL};
    run_result out = run(F.binary, down);
    assert_int_equal(out.status, 1);
    assert_contains(out.output, "started by an older lakehouse");
    free(out.output);
    assert_true(lh_proc_is(r.sleeper.pid, r.start));
    struct stat st;
    assert_int_equal(stat(r.path, &st), 0); /* the record is kept */

    assert_true(lh_test_signal_wait(&r.sleeper, SIGKILL, 10000) != -1);
    out = run(F.binary, down); /* its process gone, the record is stale: nothing runs */
    assert_int_equal(out.status, 0);
    assert_contains(out.output, "no stack is running");
    free(out.output);
    lh_test_rmrf(r.dir);
    free(r.dir);
}

/* ---- refusals leave no trace --------------------------------------------- */

static void assert_refused_without_trace(const char *which, int taken, int free_port,
                                         const char *flag)
{
    char *parent = lh_test_tmpdir();
    char fresh[600], nats_port[16], http_port[16], expect[128];
    snprintf(fresh, sizeof fresh, "%s/not-yet", parent);
    bool bus = !strcmp(which, "bus");
    snprintf(nats_port, sizeof nats_port, "%d", bus ? taken : free_port);
    snprintf(http_port, sizeof http_port, "%d", bus ? free_port : taken);
    snprintf(expect, sizeof expect, "port %d (%s) is already in use", taken, which);
    const char *dirs[] = {parent, fresh};
    for (size_t i = 0; i < 2; i++) {
        const char *up[] = {"up", "--data-dir", dirs[i], "--nats-port", nats_port,
                            "--http-port", http_port, NULL};
        run_result r = run(F.binary, up);
        assert_int_equal(r.status, 1);
        assert_contains(r.output, expect);
        assert_contains(r.output, flag);
        free(r.output);
    }
    /* The existing directory is as empty as before; the new one was not made. */
    assert_int_equal(count_entries(parent), 0);
    assert_false(path_exists(fresh));
    lh_test_rmrf(parent);
    free(parent);
}

static void test_up_refused_for_a_taken_port_creates_nothing(void **state)
{
    (void)state;
    int taken;
    int fd = listen_on_free_port(&taken);
    int free_port;
    do
        free_port = lh_test_free_port();
    while (free_port == taken);
    assert_refused_without_trace("bus", taken, free_port, "--nats-port");
    assert_refused_without_trace("gateway", taken, free_port, "--http-port");
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_up_refused_for_a_taken_port_creates_nothing),
        cmocka_unit_test(test_down_leaves_a_reused_pid_alone),
        cmocka_unit_test(test_down_refuses_an_older_stacks_records),
        cmocka_unit_test(test_down_stops_a_stack_started_by_a_renamed_binary),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
