/*
 * harness.c — the plain parts of the test harness: clocks, temporary
 * directories, files and logs, checksums, and loopback ports. Processes
 * live in harness_proc.c, nats-server in harness_nats.c, HTTP in
 * harness_http.c, a group's stack in harness_stack.c, typed calls in
 * harness_reply.c.
 */
#include "tests/support/harness.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Only the end of a log matters in a failure message; big logs are not read whole. */
enum { LOG_TAIL_WINDOW = 64 * 1024 };

int64_t lh_test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void lh_test_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

char *lh_test_tmpdir(void)
{
    char *path = strdup("/tmp/lhtest-XXXXXX");
    assert(path != NULL);
    if (mkdtemp(path) == NULL) {
        int err = errno;
        free(path);
        fail_msg("mkdtemp under /tmp: %s", strerror(err));
    }
    return path;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    if (remove(path) != 0 && errno != ENOENT)
        fprintf(stderr, "harness: cannot remove %s: %s\n", path, strerror(errno));
    return 0; /* keep going: remove as much as possible */
}

void lh_test_rmrf(const char *path)
{
    if (path == NULL || path[0] == '\0')
        return;
    /* A test bug must never turn into deleting something that matters. */
    if (strncmp(path, "/tmp/", 5) != 0 || strlen(path) <= 5 || strstr(path, "/..") != NULL)
        fail_msg("lh_test_rmrf refuses %s: only paths under /tmp/", path);
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

char *lh_test_read_file(const char *path, size_t *len)
{
    if (len != NULL)
        *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, used = 0;
    char *data = malloc(cap);
    assert(data != NULL);
    size_t got;
    while ((got = fread(data + used, 1, cap - used - 1, f)) > 0) {
        used += got;
        if (cap - used - 1 == 0) {
            cap *= 2;
            data = realloc(data, cap);
            assert(data != NULL);
        }
    }
    fclose(f);
    data[used] = '\0';
    if (len != NULL)
        *len = used;
    return data;
}

void lh_test_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Reads at most the last LOG_TAIL_WINDOW bytes of a file, NUL-terminated. */
static char *read_file_end(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    long start = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        start = size > LOG_TAIL_WINDOW ? size - LOG_TAIL_WINDOW : 0;
    }
    fseek(f, start, SEEK_SET);
    char *data = malloc(LOG_TAIL_WINDOW + 1);
    assert(data != NULL);
    size_t got = fread(data, 1, LOG_TAIL_WINDOW, f);
    fclose(f);
    data[got] = '\0';
    return data;
}

void lh_test_log_tail(const char *path, int lines)
{
    assert(lines > 0);
    char *text = path != NULL ? read_file_end(path) : NULL;
    if (text == NULL) {
        fprintf(stderr, "---- (no log at %s) ----\n", path != NULL ? path : "(null)");
        return;
    }
    size_t len = strlen(text);
    while (len > 0 && text[len - 1] == '\n')
        len--;
    size_t start = len;
    for (int seen = 0; start > 0; start--) {
        if (text[start - 1] == '\n' && ++seen == lines)
            break;
    }
    fprintf(stderr, "---- last %d lines of %s ----\n%.*s\n---- end of %s ----\n", lines, path,
            (int)(len - start), text + start, path);
    free(text);
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

int lh_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fail_msg("socket: %s", strerror(errno));
    struct sockaddr_in addr = loopback(0);
    socklen_t addr_len = sizeof addr;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &addr_len) != 0) {
        int err = errno;
        close(fd);
        fail_msg("finding a free port: %s", strerror(err));
    }
    close(fd);
    return ntohs(addr.sin_port);
}

static bool port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in addr = loopback(port);
    bool ok = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    close(fd);
    return ok;
}

bool lh_test_wait_port(int port, int timeout_ms)
{
    int64_t deadline = lh_test_now_ms() + timeout_ms;
    for (;;) {
        if (port_accepts(port))
            return true;
        if (lh_test_now_ms() >= deadline)
            return false;
        lh_test_sleep_ms(20);
    }
}
