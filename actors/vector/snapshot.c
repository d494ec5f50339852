/*
 * snapshot.c — writing and loading index snapshots (snapshot.h).
 *
 * The .labels file, little-endian:
 *   "LHVLABL1" | u32 dimension, metric, kind, m | u64 labels
 *   | u64 .faiss size | u64 .faiss hash
 *   | per label: u64 seq (0 = dead), u32 id length, id bytes
 *   | u64 hash of everything before it
 */
#include "actors/vector/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus/buf.h"

#define LH_LABELS_MAGIC "LHVLABL1"
#define LH_LABELS_HEADER (8 + 4 * 4 + 3 * 8)
#define LH_HASH_SEED 0x6c616b65686f7573ull

/* A word-at-a-time hash: checksums and pairs files, resists accidents
 * only (not malice), and runs near memory speed. */
static uint64_t lh_hash(uint64_t h, const char *data, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, data + i, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ull;
        h ^= h >> 29;
    }
    for (; i < n; i++)
        h = (h ^ (unsigned char)data[i]) * 0x100000001b3ull;
    return h;
}

static void lh_path(char *out, size_t cap, const char *dir, const char *index, const char *ext)
{
    snprintf(out, cap, "%s/%s.%s", dir, index, ext);
}

static lh_err *lh_errno(const char *what, const char *path)
{
    return lh_err_new(errno == ENOENT ? LH_ENOTFOUND : LH_EINTERNAL, NULL, "%s %s: %s", what,
                      path, strerror(errno));
}

/* Size and hash of a whole file (read in chunks that are whole words). */
static lh_err *lh_hash_file(const char *path, uint64_t *size, uint64_t *hash)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lh_errno("open", path);
    enum { CHUNK = 1 << 20 };
    char *buf = malloc(CHUNK);
    uint64_t h = LH_HASH_SEED, total = 0;
    lh_err *err = buf ? NULL : lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    for (ssize_t got; !err && (got = read(fd, buf, CHUNK)) != 0; total += (uint64_t)got) {
        if (got < 0)
            err = lh_errno("read", path);
        else
            h = lh_hash(h, buf, (size_t)got);
    }
    free(buf);
    close(fd);
    *size = total;
    *hash = h;
    return err;
}

static void lh_put(lh_buf *b, const void *v, size_t n) { lh_buf_append(b, v, n); }

static void lh_put_header(lh_buf *b, const lh_vec_params *p, uint64_t n, uint64_t fsize,
                          uint64_t fhash)
{
    uint32_t fields[4] = {(uint32_t)p->dimension, (uint32_t)p->metric, (uint32_t)p->kind,
                          (uint32_t)p->m};
    lh_put(b, LH_LABELS_MAGIC, 8);
    lh_put(b, fields, sizeof fields);
    lh_put(b, &n, 8);
    lh_put(b, &fsize, 8);
    lh_put(b, &fhash, 8);
}

/* ---- writing ---- */

typedef struct lh_write_ctx {
    const char *faiss_path;
    lh_buf *body;
    uint64_t labels;
} lh_write_ctx;

static lh_err *lh_write_view(void *user, const lh_fx_index *ix, const lh_vec_slot *slots,
                             size_t n)
{
    lh_write_ctx *w = user;
    w->labels = n;
    if (n == 0)
        return NULL; /* nothing worth a snapshot: the caller removes the old one */
    lh_err *err = lh_fx_write(ix, w->faiss_path);
    if (err)
        return err;
    for (size_t i = 0; i < n; i++) {
        uint64_t seq = slots[i].alive ? slots[i].seq : 0;
        uint32_t len = slots[i].alive ? slots[i].id_len : 0;
        lh_put(w->body, &seq, 8);
        lh_put(w->body, &len, 4);
        if (len)
            lh_put(w->body, slots[i].blob, len);
    }
    return NULL;
}

static lh_err *lh_write_durably(const char *path, const lh_buf *b)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return lh_errno("create", tmp);
    size_t off = 0;
    while (off < b->len) {
        ssize_t n = write(fd, b->data + off, b->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    lh_err *err = off < b->len || fsync(fd) != 0 ? lh_errno("write", tmp) : NULL;
    close(fd);
    if (!err && rename(tmp, path) != 0)
        err = lh_errno("rename into", path);
    if (err)
        unlink(tmp);
    return err;
}

lh_err *lh_vec_snapshot_write(lh_vec_collection *c, const char *dir)
{
    const lh_vec_params *p = lh_vec_collection_params(c);
    char faiss_path[PATH_MAX], labels_path[PATH_MAX];
    lh_path(faiss_path, sizeof faiss_path, dir, p->name, "faiss");
    lh_path(labels_path, sizeof labels_path, dir, p->name, "labels");
    lh_buf body, file;
    lh_buf_init(&body);
    lh_buf_init(&file);
    lh_write_ctx w = {faiss_path, &body, 0};
    lh_err *err = lh_vec_collection_view(c, lh_write_view, &w);
    uint64_t fsize = 0, fhash = 0;
    if (!err && w.labels == 0) {
        lh_vec_snapshot_remove(dir, p->name); /* an empty index restores from nothing */
        lh_buf_free(&body);
        lh_buf_free(&file);
        return NULL;
    }
    if (!err)
        err = lh_hash_file(faiss_path, &fsize, &fhash);
    if (!err) {
        lh_put_header(&file, p, w.labels, fsize, fhash);
        lh_put(&file, body.data, body.len);
        uint64_t sum = lh_hash(LH_HASH_SEED, file.data, file.len);
        lh_put(&file, &sum, 8);
        err = lh_write_durably(labels_path, &file);
    }
    lh_buf_free(&body);
    lh_buf_free(&file);
    return err ? lh_err_wrap(err, "snapshot index '%s'", p->name) : NULL;
}

/* ---- loading ---- */

static lh_err *lh_read_whole(const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "rbe");
    if (!f)
        return lh_errno("open", path);
    lh_buf b;
    lh_buf_init(&b);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        lh_buf_append(&b, chunk, n);
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        lh_buf_free(&b);
        return lh_err_new(LH_EINTERNAL, NULL, "read %s failed", path);
    }
    *data = b.data ? b.data : calloc(1, 1);
    *len = b.len;
    return NULL;
}

static lh_err *lh_damaged(const char *path, const char *why)
{
    return lh_err_new(LH_EINTERNAL, NULL, "snapshot labels %s: %s", path, why);
}

/* Fills the label table from the entries after the header. */
static lh_err *lh_parse_entries(const char *path, const char *p, const char *end,
                                lh_vec_labels *l)
{
    if (l->n > (size_t)(end - p) / 12)
        return lh_damaged(path, "more labels than the file can hold");
    l->seq = calloc(l->n + 1, sizeof *l->seq);
    l->id = calloc(l->n + 1, sizeof *l->id);
    l->id_len = calloc(l->n + 1, sizeof *l->id_len);
    if (!l->seq || !l->id || !l->id_len)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory for %zu labels", l->n);
    for (size_t i = 0; i < l->n; i++) {
        if (end - p < 12)
            return lh_damaged(path, "truncated label table");
        memcpy(&l->seq[i], p, 8);
        memcpy(&l->id_len[i], p + 8, 4);
        p += 12;
        if ((size_t)(end - p) < l->id_len[i])
            return lh_damaged(path, "truncated id");
        l->id[i] = p;
        p += l->id_len[i];
    }
    return p == end ? NULL : lh_damaged(path, "bytes after the label table");
}

/* Checks the labels file against its checksum and the index settings;
 * *n, *fsize and *fhash get what its header says. */
static lh_err *lh_check_header(const char *path, const char *data, size_t len,
                               const lh_vec_params *p, uint64_t *n, uint64_t *fsize,
                               uint64_t *fhash)
{
    if (len < LH_LABELS_HEADER + 8)
        return lh_damaged(path, "shorter than its header");
    uint64_t sum;
    memcpy(&sum, data + len - 8, 8);
    if (sum != lh_hash(LH_HASH_SEED, data, len - 8))
        return lh_damaged(path, "checksum mismatch");
    if (memcmp(data, LH_LABELS_MAGIC, 8))
        return lh_damaged(path, "not a vectord labels file");
    uint32_t fields[4];
    memcpy(fields, data + 8, sizeof fields);
    if (fields[0] != (uint32_t)p->dimension || fields[1] != (uint32_t)p->metric ||
        fields[2] != (uint32_t)p->kind || fields[3] != (uint32_t)p->m)
        return lh_damaged(path, "made for other index settings");
    memcpy(n, data + 24, 8);
    memcpy(fsize, data + 32, 8);
    memcpy(fhash, data + 40, 8);
    return NULL;
}

static lh_err *lh_load_labels(const char *path, const lh_vec_params *p, lh_vec_labels *l,
                              uint64_t *fsize, uint64_t *fhash)
{
    size_t len = 0;
    lh_err *err = lh_read_whole(path, &l->data, &len);
    uint64_t n = 0;
    if (!err)
        err = lh_check_header(path, l->data, len, p, &n, fsize, fhash);
    if (!err) {
        l->n = (size_t)n;
        err = lh_parse_entries(path, l->data + LH_LABELS_HEADER, l->data + len - 8, l);
    }
    return err;
}

/* The faiss file must be the one the labels were written with. */
static lh_err *lh_load_faiss(const char *path, const lh_vec_params *p, uint64_t fsize,
                             uint64_t fhash, size_t labels, lh_fx_index **ix)
{
    uint64_t size, hash;
    lh_err *err = lh_hash_file(path, &size, &hash);
    if (err)
        return err;
    if (size != fsize || hash != fhash)
        return lh_err_new(LH_EINTERNAL, NULL,
                          "%s is not the file its labels were written with (crash between "
                          "the two?)",
                          path);
    err = lh_fx_read(path, ix);
    if (err)
        return err;
    long long count = (long long)lh_fx_count(*ix);
    int dim = lh_fx_dimension(*ix);
    if (count == (long long)labels && dim == p->dimension)
        return NULL;
    lh_fx_destroy(*ix);
    *ix = NULL;
    return lh_err_new(LH_EINTERNAL, NULL,
                      "%s holds %lld vectors of dimension %d; its labels say %zu of %d", path,
                      count, dim, labels, p->dimension);
}

lh_err *lh_vec_snapshot_load(const char *dir, const lh_vec_params *p, lh_fx_index **ix,
                             lh_vec_labels *labels)
{
    char faiss_path[PATH_MAX], labels_path[PATH_MAX];
    lh_path(faiss_path, sizeof faiss_path, dir, p->name, "faiss");
    lh_path(labels_path, sizeof labels_path, dir, p->name, "labels");
    memset(labels, 0, sizeof *labels);
    *ix = NULL;
    uint64_t fsize = 0, fhash = 0;
    lh_err *err = lh_load_labels(labels_path, p, labels, &fsize, &fhash);
    if (!err)
        err = lh_load_faiss(faiss_path, p, fsize, fhash, labels->n, ix);
    if (err && lh_err_code(err) == LH_ENOTFOUND && labels->data) {
        lh_err_free(err); /* half a snapshot is damage, not absence */
        err = lh_err_new(LH_EINTERNAL, NULL, "%s is missing beside %s", faiss_path, labels_path);
    }
    if (err)
        lh_vec_labels_free(labels);
    return err;
}

void lh_vec_labels_free(lh_vec_labels *l)
{
    free(l->seq);
    free(l->id);
    free(l->id_len);
    free(l->data);
    memset(l, 0, sizeof *l);
}

void lh_vec_snapshot_remove(const char *dir, const char *index)
{
    static const char *const exts[] = {"faiss", "labels", "faiss.tmp", "labels.tmp"};
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        char path[PATH_MAX];
        lh_path(path, sizeof path, dir, index, exts[i]);
        unlink(path);
    }
}

uint64_t lh_vec_snapshot_bytes(const char *dir, const char *index)
{
    uint64_t total = 0;
    static const char *const exts[] = {"faiss", "labels"};
    for (size_t i = 0; i < 2; i++) {
        char path[PATH_MAX];
        struct stat st;
        lh_path(path, sizeof path, dir, index, exts[i]);
        if (stat(path, &st) == 0)
            total += (uint64_t)st.st_size;
    }
    return total;
}
