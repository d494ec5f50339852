/*
 * harness_nats.c — a real nats-server per test (JetStream on, store in a
 * temporary directory), plus the nats.c helpers tests share: a connection
 * that survives server restarts, and the ADR-32 discovery ping.
 *
 * "Started" means usable: the server answers a protocol PING and JetStream
 * answers $JS.API.INFO, so a test may create streams right away.
 */
#include "tests/support/harness.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define NATS_SERVER_PATH "/usr/sbin/nats-server"

enum {
    NATS_READY_TIMEOUT_MS = 10000,
    NATS_STOP_TIMEOUT_MS = 10000,
    NATS_PROBE_TIMEOUT_MS = 1000,
    /* A fresh free port can be taken by someone else before the server binds it. */
    NATS_PORT_ATTEMPTS = 3,
    LOG_TAIL_LINES = 40,
};

typedef enum { NATS_UP, NATS_EXITED, NATS_SILENT } nats_readiness;

/* ---- probing a starting server ------------------------------------------ */

static int probe_socket(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {.tv_sec = NATS_PROBE_TIMEOUT_MS / 1000,
                         .tv_usec = (NATS_PROBE_TIMEOUT_MS % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads until `want` appears in what the server sent (or error/timeout/-ERR). */
static bool read_until(int fd, const char *want, char *buf, size_t cap, size_t *used)
{
    for (;;) {
        buf[*used] = '\0';
        if (strstr(buf, want) != NULL)
            return true;
        if (strstr(buf, "-ERR") != NULL || *used + 1 >= cap)
            return false;
        ssize_t got = recv(fd, buf + *used, cap - *used - 1, 0);
        if (got <= 0)
            return false;
        *used += (size_t)got;
    }
}

/* Speaks the NATS protocol directly: INFO from the server, then PING -> PONG. */
static bool answers_protocol_ping(int port)
{
    int fd = probe_socket(port);
    if (fd < 0)
        return false;
    static const char hello[] = "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPING\r\n";
    char buf[8192];
    size_t used = 0;
    bool ok = read_until(fd, "\r\n", buf, sizeof buf, &used) && strncmp(buf, "INFO", 4) == 0 &&
              send(fd, hello, sizeof hello - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof hello - 1) &&
              read_until(fd, "PONG\r\n", buf, sizeof buf, &used);
    close(fd);
    return ok;
}

static bool jetstream_answers(const char *url)
{
    natsConnection *nc = NULL;
    if (natsConnection_ConnectTo(&nc, url) != NATS_OK)
        return false;
    natsMsg *reply = NULL;
    natsStatus s =
        natsConnection_RequestString(&reply, nc, "$JS.API.INFO", "", NATS_PROBE_TIMEOUT_MS);
    bool ok = s == NATS_OK && reply != NULL && !natsMsg_IsNoResponders(reply) &&
              strstr(natsMsg_GetData(reply) ? natsMsg_GetData(reply) : "", "\"error\"") == NULL;
    natsMsg_Destroy(reply);
    natsConnection_Destroy(nc);
    return ok;
}

/* Returns true (and clears n->pid) if the server process has ended. */
static bool server_exited(lh_test_nats *n)
{
    if (waitpid(n->pid, NULL, WNOHANG) != n->pid)
        return false;
    n->pid = 0;
    return true;
}

static nats_readiness wait_until_up(lh_test_nats *n)
{
    int64_t deadline = lh_test_now_ms() + NATS_READY_TIMEOUT_MS;
    for (;;) {
        if (server_exited(n))
            return NATS_EXITED;
        if (answers_protocol_ping(n->port) && jetstream_answers(n->url))
            return NATS_UP;
        if (lh_test_now_ms() >= deadline)
            return NATS_SILENT;
        lh_test_sleep_ms(20);
    }
}

/* ---- lifecycle ---------------------------------------------------------- */

static void log_path(const lh_test_nats *n, char *out, size_t cap)
{
    snprintf(out, cap, "%s/nats.log", n->dir);
}

static void launch(lh_test_nats *n)
{
    char port[16], store[600], log[600];
    snprintf(port, sizeof port, "%d", n->port);
    snprintf(store, sizeof store, "%s/js", n->dir);
    log_path(n, log, sizeof log);
    snprintf(n->url, sizeof n->url, "nats://127.0.0.1:%d", n->port);
    /* As `lakehouse up` does: 8 MiB messages (one storage part and more). */
    char conf[600];
    snprintf(conf, sizeof conf, "%s/nats.conf", n->dir);
    FILE *cf = fopen(conf, "w");
    if (!cf)
        fail_msg("cannot write %s", conf);
    fputs("max_payload: 8388608\n", cf);
    fclose(cf);
    char *argv[] = {NATS_SERVER_PATH, "-a", "127.0.0.1", "-p", port, "-js", "-sd", store,
                    "-c", conf, NULL};
    lh_test_proc proc;
    lh_test_spawn(&proc, argv, NULL, log);
    n->pid = proc.pid;
}

static void ensure_dir(lh_test_nats *n)
{
    if (n->dir[0] != '\0')
        return;
    char *dir = lh_test_tmpdir();
    snprintf(n->dir, sizeof n->dir, "%s", dir); /* /tmp/lhtest-XXXXXX always fits */
    free(dir);
}

void lh_test_nats_start(lh_test_nats *n)
{
    assert(n != NULL && n->pid == 0);
    ensure_dir(n);
    bool port_fixed = n->port != 0;
    nats_readiness state = NATS_EXITED;
    for (int attempt = 0; attempt < NATS_PORT_ATTEMPTS; attempt++) {
        if (!port_fixed)
            n->port = lh_test_free_port();
        launch(n);
        state = wait_until_up(n);
        if (state != NATS_EXITED || port_fixed)
            break;
    }
    if (state == NATS_UP)
        return;
    lh_test_nats_stop(n);
    char log[600];
    log_path(n, log, sizeof log);
    lh_test_log_tail(log, LOG_TAIL_LINES);
    fail_msg("nats-server on port %d %s (log: %s)", n->port,
             state == NATS_EXITED ? "exited during startup" : "did not become ready", log);
}

void lh_test_nats_stop(lh_test_nats *n)
{
    assert(n != NULL);
    if (n->pid <= 0)
        return;
    lh_test_proc proc = {.pid = n->pid};
    lh_test_signal_wait(&proc, SIGTERM, NATS_STOP_TIMEOUT_MS);
    n->pid = 0;
}

void lh_test_nats_restart(lh_test_nats *n)
{
    assert(n != NULL && n->port != 0 && n->dir[0] != '\0');
    lh_test_nats_stop(n);
    lh_test_nats_start(n);
}

void lh_test_nats_destroy(lh_test_nats *n)
{
    assert(n != NULL);
    lh_test_nats_stop(n);
    lh_test_rmrf(n->dir);
    memset(n, 0, sizeof *n);
}

/* ---- client helpers ----------------------------------------------------- */

natsConnection *lh_test_nats_try_connect(const char *url)
{
    natsOptions *opts = NULL;
    natsConnection *nc = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = natsOptions_SetURL(opts, url);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(opts, 50);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(opts, 600);
    if (s == NATS_OK) /* no flush timer: requests in tests go out at once */
        s = natsOptions_SetSendAsap(opts, true);
    if (s == NATS_OK)
        s = natsConnection_Connect(&nc, opts);
    natsOptions_Destroy(opts);
    return s == NATS_OK ? nc : NULL;
}

natsConnection *lh_test_nats_connect(const char *url)
{
    natsConnection *nc = lh_test_nats_try_connect(url);
    if (nc == NULL) {
        const char *why = nats_GetLastError(NULL);
        fail_msg("connect to %s: %s", url, why != NULL ? why : "failed");
    }
    return nc;
}

bool lh_test_ping_conn(natsConnection *nc, const char *actor, int timeout_ms)
{
    assert(nc != NULL && actor != NULL);
    char subject[256];
    snprintf(subject, sizeof subject, "$SRV.PING.%s", actor);
    natsMsg *reply = NULL;
    natsStatus s = natsConnection_RequestString(&reply, nc, subject, "", timeout_ms);
    bool answered = s == NATS_OK && reply != NULL && !natsMsg_IsNoResponders(reply);
    natsMsg_Destroy(reply);
    return answered;
}

bool lh_test_ping(const char *nats_url, const char *actor, int timeout_ms)
{
    natsConnection *nc = NULL;
    if (natsConnection_ConnectTo(&nc, nats_url) != NATS_OK)
        return false;
    bool answered = lh_test_ping_conn(nc, actor, timeout_ms);
    natsConnection_Destroy(nc);
    return answered;
}
