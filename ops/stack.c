/*
 * stack.c — the on-disk footprint of a running stack (directories, pid
 * files, the lock, stack.env) and the ports it needs. Files are replaced
 * atomically (write a temporary, rename) so a reader never sees half a pid.
 */
#include "ops/stack.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ops/registry.h"
#include "bus/config.h"
#include "ops/proc.h"

static lh_err *lh_join(char *out, size_t cap, const char *dir, const char *name,
                       const char *suffix)
{
    int n = snprintf(out, cap, "%s/%s%s", dir, name, suffix);
    if (n < 0 || (size_t)n >= cap)
        return lh_err_new(LH_EBADREQ, NULL, "path too long: %s/%s%s", dir, name, suffix);
    return NULL;
}

static lh_err *lh_mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return lh_err_new(LH_EBADREQ, NULL, "path too long: %s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return lh_err_new(LH_EINTERNAL, NULL, "create %s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return lh_err_new(LH_EINTERNAL, NULL, "create %s: %s", tmp, strerror(errno));
    return NULL;
}

/* Makes `dir` absolute without requiring it to exist. */
static lh_err *lh_absolute(const char *dir, char *out, size_t cap)
{
    if (!*dir)
        return lh_err_new(LH_EBADREQ, NULL, "empty data directory");
    if (dir[0] == '/') {
        if (snprintf(out, cap, "%s", dir) >= (int)cap)
            return lh_err_new(LH_EBADREQ, NULL, "path too long: %s", dir);
        return NULL;
    }
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return lh_err_new(LH_EINTERNAL, NULL, "getcwd: %s", strerror(errno));
    return lh_join(out, cap, cwd, dir, "");
}

/* Resolves symlinks in place, so pid files and cmdlines name one path. */
static lh_err *lh_resolve(char *path, size_t cap)
{
    char real[PATH_MAX];
    if (!realpath(path, real))
        return lh_err_new(LH_EINTERNAL, NULL, "resolve %s: %s", path, strerror(errno));
    if (snprintf(path, cap, "%s", real) >= (int)cap)
        return lh_err_new(LH_EBADREQ, NULL, "path too long: %s", real);
    return NULL;
}

lh_err *lh_stack_init(lh_stack *st, const char *data_dir, bool create)
{
    memset(st, 0, sizeof *st);
    lh_err *err = lh_absolute(data_dir, st->data_dir, sizeof st->data_dir);
    if (!err && create)
        err = lh_mkdir_p(st->data_dir);
    if (!err && create)
        err = lh_resolve(st->data_dir, sizeof st->data_dir);
    else if (!err && access(st->data_dir, F_OK) == 0)
        lh_err_free(lh_resolve(st->data_dir, sizeof st->data_dir));
    if (!err)
        err = lh_join(st->run_dir, sizeof st->run_dir, st->data_dir, "run", "");
    if (!err)
        err = lh_join(st->log_dir, sizeof st->log_dir, st->data_dir, "logs", "");
    if (!err)
        err = lh_join(st->nats_dir, sizeof st->nats_dir, st->data_dir, "nats", "");
    const char *dirs[] = {st->run_dir, st->log_dir, st->nats_dir};
    for (size_t i = 0; !err && create && i < 3; i++)
        err = lh_mkdir_p(dirs[i]);
    return lh_err_wrap(err, "data directory %s", data_dir);
}

void lh_stack_pick_data_dir(const char *flag, char *out, size_t cap)
{
    if (flag && *flag) {
        snprintf(out, cap, "%s", flag);
        return;
    }
    lh_config cfg;
    lh_config_load(&cfg);
    snprintf(out, cap, "%s", cfg.data_dir);
}

lh_err *lh_stack_pid_path(const lh_stack *st, const char *name, char *out, size_t cap)
{
    return lh_join(out, cap, st->run_dir, name, ".pid");
}

lh_err *lh_stack_log_path(const lh_stack *st, const char *name, char *out, size_t cap)
{
    return lh_join(out, cap, st->log_dir, name, ".log");
}

/* Writes `text` to path through a temporary file and a rename. */
static lh_err *lh_write_atomic(const char *path, const char *text)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return lh_err_new(LH_EBADREQ, NULL, "path too long: %s", path);
    FILE *f = fopen(tmp, "we");
    if (!f)
        return lh_err_new(LH_EINTERNAL, NULL, "write %s: %s", tmp, strerror(errno));
    int failed = fputs(text, f) < 0;
    failed |= fclose(f) != 0;
    if (failed || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return lh_err_new(LH_EINTERNAL, NULL, "write %s: %s", path, strerror(e));
    }
    return NULL;
}

lh_err *lh_stack_write_pid(const lh_stack *st, const char *name, pid_t pid)
{
    char path[PATH_MAX], text[PATH_MAX + 96];
    unsigned long long start;
    lh_err *err = lh_stack_pid_path(st, name, path, sizeof path);
    if (err)
        return err;
    if (!lh_proc_start_time(pid, &start))
        return lh_err_new(LH_EINTERNAL, NULL, "record %s: process %d is gone", name, (int)pid);
    snprintf(text, sizeof text, "%d\nstart_time %llu\ndata_dir %s\n", (int)pid, start,
             st->data_dir);
    return lh_write_atomic(path, text);
}

/* Reads "KEY VALUE" from the record's next line into value (cap bytes). */
static bool lh_rec_line(FILE *f, const char *key, char *value, size_t cap)
{
    char line[PATH_MAX + 64];
    size_t klen = strlen(key);
    if (!fgets(line, sizeof line, f) || strncmp(line, key, klen) || line[klen] != ' ')
        return false;
    line[strcspn(line, "\n")] = '\0';
    return snprintf(value, cap, "%s", line + klen + 1) < (int)cap;
}

static bool lh_rec_parse(FILE *f, const char *data_dir, lh_stack_rec *rec)
{
    char pid_text[32], start_text[32], dir[PATH_MAX];
    if (!fgets(pid_text, sizeof pid_text, f) ||
        !lh_rec_line(f, "start_time", start_text, sizeof start_text) ||
        !lh_rec_line(f, "data_dir", dir, sizeof dir) || strcmp(dir, data_dir))
        return false;
    char *end_pid, *end_start;
    long pid = strtol(pid_text, &end_pid, 10);
    unsigned long long start = strtoull(start_text, &end_start, 10);
    if (pid <= 1 || pid > 4194304 || *end_pid != '\n' || end_start == start_text ||
        *end_start)
        return false;
    *rec = (lh_stack_rec){(pid_t)pid, start};
    return true;
}

bool lh_stack_read_pid(const lh_stack *st, const char *name, lh_stack_rec *rec)
{
    char path[PATH_MAX];
    lh_err *too_long = lh_stack_pid_path(st, name, path, sizeof path);
    if (too_long) { /* such a file cannot exist */
        lh_err_free(too_long);
        return false;
    }
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    bool ok = lh_rec_parse(f, st->data_dir, rec);
    fclose(f);
    return ok;
}

bool lh_stack_legacy_pid(const lh_stack *st, const char *name, pid_t *pid)
{
    char path[PATH_MAX], line[32], more[8];
    lh_err *too_long = lh_stack_pid_path(st, name, path, sizeof path);
    if (too_long) {
        lh_err_free(too_long);
        return false;
    }
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    bool bare = fgets(line, sizeof line, f) && !fgets(more, sizeof more, f);
    fclose(f);
    char *end;
    long n = bare ? strtol(line, &end, 10) : 0;
    if (n <= 1 || n > 4194304 || (*end != '\n' && *end != '\0'))
        return false;
    *pid = (pid_t)n;
    return kill(*pid, 0) == 0 || errno == EPERM; /* alive: not ours to judge, not to delete */
}

void lh_stack_remove_pid(const lh_stack *st, const char *name)
{
    char path[PATH_MAX];
    lh_err *too_long = lh_stack_pid_path(st, name, path, sizeof path);
    if (!too_long)
        unlink(path);
    lh_err_free(too_long);
}

lh_err *lh_stack_lock(const lh_stack *st, int *fd)
{
    char path[PATH_MAX];
    lh_err *err = lh_join(path, sizeof path, st->run_dir, "supervisor", ".lock");
    if (err)
        return err;
    int lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock < 0)
        return lh_err_new(LH_EINTERNAL, NULL, "open %s: %s", path, strerror(errno));
    if (flock(lock, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(lock);
        if (e == EWOULDBLOCK)
            return lh_err_new(LH_ECONFLICT, NULL, "another supervisor holds %s", path);
        return lh_err_new(LH_EINTERNAL, NULL, "lock %s: %s", path, strerror(e));
    }
    *fd = lock;
    return NULL;
}

lh_err *lh_stack_write_env(const lh_stack *st, const char *nats_url, const char *http_url)
{
    char path[PATH_MAX];
    lh_err *err = lh_join(path, sizeof path, st->run_dir, "stack", ".env");
    if (err)
        return err;
    char text[PATH_MAX + 1024];
    snprintf(text, sizeof text, "LH_NATS_URL=%s\nLH_HTTP_URL=%s\nLH_DATA_DIR=%s\n", nats_url,
             http_url, st->data_dir);
    return lh_write_atomic(path, text);
}

bool lh_stack_env_get(const lh_stack *st, const char *key, char *out, size_t cap)
{
    char path[PATH_MAX], line[PATH_MAX + 64];
    if (lh_join(path, sizeof path, st->run_dir, "stack", ".env"))
        return false;
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    size_t klen = strlen(key);
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) || line[klen] != '=')
            continue;
        line[strcspn(line, "\n")] = '\0';
        found = snprintf(out, cap, "%s", line + klen + 1) < (int)cap;
    }
    fclose(f);
    return found;
}

void lh_stack_remove_env(const lh_stack *st)
{
    char path[PATH_MAX];
    if (!lh_join(path, sizeof path, st->run_dir, "stack", ".env"))
        unlink(path);
}

void lh_stack_bus_url(const char *data_dir_flag, char *out, size_t cap)
{
    const char *env = getenv("LH_NATS_URL");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return;
    }
    char dir[PATH_MAX];
    lh_stack st;
    lh_stack_pick_data_dir(data_dir_flag, dir, sizeof dir);
    lh_err *err = lh_stack_init(&st, dir, false);
    if (!err && lh_stack_env_get(&st, "LH_NATS_URL", out, cap))
        return;
    lh_err_free(err);
    lh_config cfg;
    lh_config_load(&cfg);
    snprintf(out, cap, "%s", cfg.nats_url);
}

size_t lh_stack_components(const char *out[], size_t cap)
{
    size_t n_actors, n = 0;
    const lh_actor_def *const *actors = lh_registry_all(&n_actors);
    if (n < cap)
        out[n++] = LH_STACK_NATS;
    for (size_t i = 0; i < n_actors && n < cap; i++)
        out[n++] = actors[i]->name;
    return n;
}

bool lh_stack_rec_running(const lh_stack_rec *rec)
{
    return lh_proc_is(rec->pid, rec->start);
}

bool lh_stack_running(const lh_stack *st, const char *name, lh_stack_rec *rec)
{
    lh_stack_rec r;
    if (!lh_stack_read_pid(st, name, &r))
        return false;
    if (rec)
        *rec = r;
    return lh_stack_rec_running(&r);
}

static bool lh_ipv4(const char *addr, int port, struct sockaddr_in *out)
{
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, addr, &out->sin_addr) == 1;
}

int lh_port_check(const char *addr, int port)
{
    struct sockaddr_in sa;
    if (!lh_ipv4(addr, port, &sa))
        return EINVAL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    /* Like the servers themselves, so lingering TIME_WAIT does not count. */
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(fd, 1) == 0 ? 0 : errno;
    close(fd);
    return rc;
}

bool lh_port_accepts(int port)
{
    struct sockaddr_in sa;
    lh_ipv4("127.0.0.1", port, &sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

bool lh_file_last_line(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    char line[1024];
    bool found = false;
    /* Logs can be long; only the tail matters. */
    if (fseek(f, -16384, SEEK_END) != 0)
        rewind(f);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0]) {
            snprintf(out, cap, "%s", line);
            found = true;
        }
    }
    fclose(f);
    return found;
}
