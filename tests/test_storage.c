/*
 * test_storage.c — storaged on a real nats-server: put, get by range,
 * head, list (pages, prefixes, delimiter), delete; uploads (many parts,
 * out of order, resent parts, abort, a wrong sha256, two parts in flight
 * on several workers, idle uploads reaped); every bad bucket name and
 * every kind of escaping key refused with nothing written; keys that
 * clash as file and folder; restarts that lose nothing acknowledged;
 * recovery of interrupted commits and stray bytes; SIGKILL during an
 * upload; concurrent uploads to different keys and to the same key; and
 * the events storaged publishes.
 *
 * Most tests run storaged in this process (lh_actor_create), which lets
 * restarts reuse one data directory; the SIGKILL test runs `lakehouse
 * serve storaged` as a real process.
 */
#include "tests/support/harness.h"

#include <dirent.h>
#include <jansson.h>
#include <msgpack.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "actors/storage/meta.h"
#include "actors/storage/storage.h"
#include "bus/actor.h"
#include "bus/codec.h"
#include "bus/json.h"
#include "schemas/storage.h"

#define TIMEOUT_MS 60000
#define MIB (1024 * 1024)

/* The fixture is the stack: nats-server, the test's connection, and
 * storaged in this process on a fresh data directory per test. */
typedef lh_test_stack fixture;

static void start_storaged(fixture *f, int workers)
{
    lh_test_stack_add(f, &lh_storage_actor, workers);
}

static void stop_storaged(fixture *f) { lh_test_stack_drop(f, &lh_storage_actor); }

static void restart_storaged(fixture *f, int workers)
{
    lh_test_stack_restart(f, &lh_storage_actor, workers);
}

static int setup(void **state)
{
    start_storaged(*state, 1);
    return 0;
}

static int teardown(void **state)
{
    lh_test_stack_clear(*state);
    unsetenv("LH_STORAGE_UPLOAD_IDLE_SECONDS");
    return 0;
}

/* ---- talking to storaged ---- */

typedef lh_test_reply reply;

/* ---- msgpack requests (binary data) ---- */

typedef struct mp {
    lh_buf b;
    msgpack_packer pk;
} mp;

static void mp_begin(mp *m, size_t n)
{
    lh_buf_init(&m->b);
    msgpack_packer_init(&m->pk, &m->b, lh_buf_msgpack_write);
    msgpack_pack_map(&m->pk, n);
}

static void mp_str(mp *m, const char *k, const char *v, size_t vlen)
{
    msgpack_pack_str_with_body(&m->pk, k, strlen(k));
    msgpack_pack_str_with_body(&m->pk, v, vlen);
}

static void mp_cstr(mp *m, const char *k, const char *v) { mp_str(m, k, v, strlen(v)); }

static void mp_bin(mp *m, const char *k, const char *v, size_t vlen)
{
    msgpack_pack_str_with_body(&m->pk, k, strlen(k));
    msgpack_pack_bin_with_body(&m->pk, v, vlen);
}

static void mp_int(mp *m, const char *k, int64_t v)
{
    msgpack_pack_str_with_body(&m->pk, k, strlen(k));
    msgpack_pack_int64(&m->pk, v);
}

/* Sends the message and frees it; `msg` (may be NULL) keeps the reply's. */
static reply mp_send(natsConnection *nc, const lh_contract *k, mp *m, natsMsg **msg)
{
    reply r = lh_test_call_msg(nc, k, m->b.data, m->b.len, NULL, msg);
    lh_buf_free(&m->b);
    return r;
}

static reply put_nc(natsConnection *nc, const char *bucket, const char *key, const char *data,
                    size_t len, const char *sha)
{
    mp m;
    mp_begin(&m, sha ? 4 : 3);
    mp_cstr(&m, "bucket", bucket);
    mp_cstr(&m, "key", key);
    mp_bin(&m, "data", data, len);
    if (sha)
        mp_cstr(&m, "sha256", sha);
    return mp_send(nc, &lh_ep_storage_put, &m, NULL);
}

static json_t *put(fixture *f, const char *bucket, const char *key, const char *data, size_t len)
{
    reply r = put_nc(f->nc, bucket, key, data, len, NULL);
    if (r.code)
        fail_msg("put %s/%s refused: %d %s", bucket, key, r.code, r.message);
    return r.body;
}

static void put_text(fixture *f, const char *bucket, const char *key, const char *text)
{
    json_decref(put(f, bucket, key, text, strlen(text)));
}

/* The bin `name` of a msgpack map reply message, copied (NULL when absent). */
static char *reply_bin(natsMsg *m, const char *name, size_t *len)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    char *out = NULL;
    if (msgpack_unpack_next(&u, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), NULL) ==
            MSGPACK_UNPACK_SUCCESS &&
        u.data.type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < u.data.via.map.size; i++) {
            msgpack_object_kv *kv = &u.data.via.map.ptr[i];
            if (kv->key.via.str.size == strlen(name) &&
                !memcmp(kv->key.via.str.ptr, name, strlen(name)) &&
                kv->val.type == MSGPACK_OBJECT_BIN) {
                *len = kv->val.via.bin.size;
                out = malloc(*len + 1);
                memcpy(out, kv->val.via.bin.ptr, *len);
            }
        }
    }
    msgpack_unpacked_destroy(&u);
    return out;
}

/* A range of an object; `msg` (may be NULL) receives the reply message,
 * whose bytes hold the data as a msgpack bin. */
static reply get_range(fixture *f, const char *bucket, const char *key, int64_t offset,
                       int64_t length, natsMsg **msg)
{
    mp m;
    mp_begin(&m, 4);
    mp_cstr(&m, "bucket", bucket);
    mp_cstr(&m, "key", key);
    mp_int(&m, "offset", offset);
    mp_int(&m, "length", length);
    return mp_send(f->nc, &lh_ep_storage_get, &m, msg);
}

/* The whole object, read in ranges of `step` bytes. */
static char *read_all(fixture *f, const char *bucket, const char *key, int64_t step, size_t *len)
{
    lh_buf all;
    lh_buf_init(&all);
    for (bool eof = false; !eof;) {
        natsMsg *m = NULL;
        reply r = get_range(f, bucket, key, (int64_t)all.len, step, &m);
        if (r.code)
            fail_msg("get %s/%s at %zu: %d %s", bucket, key, all.len, r.code, r.message);
        size_t n = 0;
        char *data = reply_bin(m, "data", &n);
        assert_non_null(data);
        assert_int_equal(json_integer_value(json_object_get(r.body, "offset")), all.len);
        lh_buf_append(&all, data, n);
        eof = json_is_true(json_object_get(r.body, "eof"));
        assert_true(eof || n > 0);
        free(data);
        json_decref(r.body);
        natsMsg_Destroy(m);
    }
    *len = all.len;
    lh_buf_cstr(&all);
    return all.data;
}

static reply head(fixture *f, const char *bucket, const char *key)
{
    char body[2048];
    snprintf(body, sizeof body, "{\"bucket\":\"%s\",\"key\":\"%s\"}", bucket, key);
    return lh_test_call_s(f->nc, &lh_ep_storage_head, body);
}

static bool exists(fixture *f, const char *bucket, const char *key)
{
    reply r = head(f, bucket, key);
    bool found = r.code == 0;
    if (r.code && r.code != 404)
        fail_msg("head %s/%s: %d %s", bucket, key, r.code, r.message);
    json_decref(r.body);
    return found;
}

static json_t *list(fixture *f, const char *json)
{
    return lh_test_ok(lh_test_call_s(f->nc, &lh_ep_storage_list, json));
}

static size_t list_count(fixture *f, const char *bucket)
{
    char body[256];
    snprintf(body, sizeof body, "{\"bucket\":\"%s\"}", bucket);
    json_t *l = list(f, body);
    size_t n = json_array_size(json_object_get(l, "objects"));
    json_decref(l);
    return n;
}

/* ---- uploads ---- */

static char *begin_nc(natsConnection *nc, const char *bucket, const char *key)
{
    char body[2048];
    snprintf(body, sizeof body, "{\"bucket\":\"%s\",\"key\":\"%s\"}", bucket, key);
    reply r = lh_test_call_s(nc, &lh_ep_storage_upload_begin, body);
    if (r.code)
        fail_msg("begin %s/%s: %d %s", bucket, key, r.code, r.message);
    char *id = strdup(json_string_value(json_object_get(r.body, "upload")));
    json_decref(r.body);
    return id;
}

static char *begin(fixture *f, const char *bucket, const char *key)
{
    return begin_nc(f->nc, bucket, key);
}

static reply part_nc(natsConnection *nc, const char *upload, int64_t n, const char *data,
                     size_t len)
{
    mp m;
    mp_begin(&m, 3);
    mp_cstr(&m, "upload", upload);
    mp_int(&m, "part", n);
    mp_bin(&m, "data", data, len);
    return mp_send(nc, &lh_ep_storage_upload_part, &m, NULL);
}

static void part_ok_nc(natsConnection *nc, const char *upload, int64_t n, const char *data,
                       size_t len)
{
    reply r = part_nc(nc, upload, n, data, len);
    if (r.code)
        fail_msg("part %lld of %s: %d %s", (long long)n, upload, r.code, r.message);
    assert_int_equal(json_integer_value(json_object_get(r.body, "parts")), n);
    json_decref(r.body);
}

static void part_ok(fixture *f, const char *upload, int64_t n, const char *data, size_t len)
{
    part_ok_nc(f->nc, upload, n, data, len);
}

static reply commit_nc(natsConnection *nc, const char *upload, const char *sha)
{
    char body[256];
    if (sha)
        snprintf(body, sizeof body, "{\"upload\":\"%s\",\"sha256\":\"%s\"}", upload, sha);
    else
        snprintf(body, sizeof body, "{\"upload\":\"%s\"}", upload);
    return lh_test_call_s(nc, &lh_ep_storage_upload_commit, body);
}

static reply commit(fixture *f, const char *upload, const char *sha)
{
    return commit_nc(f->nc, upload, sha);
}

/* ---- data and hashes ---- */

/* len bytes that differ with the seed (and cover all 256 values). */
static char *make_data(size_t len, uint64_t seed)
{
    char *d = malloc(len ? len : 1);
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < len; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        d[i] = (char)(s >> 24);
    }
    return d;
}

/* Regular files under dir (recursively). */
static size_t count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            n += count_files(path);
        else
            n++;
    }
    closedir(d);
    return n;
}

static size_t object_files(fixture *f)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/storaged/objects", f->data_dir);
    return count_files(dir);
}

static size_t temp_files(fixture *f)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/storaged/tmp", f->data_dir);
    return count_files(dir);
}

/* ======================================================================
 * objects
 * ====================================================================== */

static void test_put_get_head(void **state)
{
    fixture *f = *state;
    const char *text = "name,age\nana,31\n";
    json_t *info = lh_test_ok(lh_test_call_s(
        f->nc, &lh_ep_storage_put,
        "{\"bucket\":\"people\",\"key\":\"2024/ana.csv\",\"data\":\"name,age\\nana,31\\n\","
        "\"content_type\":\"text/csv\",\"metadata\":{\"owner\":\"ana\"}}"));
    char sha[65];
    lh_test_sha256_hex(text, strlen(text), sha);
    assert_string_equal(json_string_value(json_object_get(info, "sha256")), sha);
    assert_int_equal(json_integer_value(json_object_get(info, "size")), strlen(text));
    assert_string_equal(json_string_value(json_object_get(info, "content_type")), "text/csv");
    const char *modified = json_string_value(json_object_get(info, "modified"));
    assert_non_null(modified);
    assert_int_equal(strlen(modified), 24); /* 2024-05-01T12:00:00.123Z */
    json_decref(info);

    reply h = head(f, "people", "2024/ana.csv");
    assert_int_equal(h.code, 0);
    assert_string_equal(json_string_value(json_object_get(h.body, "sha256")), sha);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(h.body, "metadata"), "owner")), "ana");
    assert_string_equal(json_string_value(json_object_get(h.body, "key")), "2024/ana.csv");
    json_decref(h.body);

    size_t n = 0;
    char *back = read_all(f, "people", "2024/ana.csv", 0, &n);
    assert_int_equal(n, strlen(text));
    assert_memory_equal(back, text, n);
    free(back);
    lh_test_expect(head(f, "people", "2024/bob.csv"), 404, "key", "no object");
    lh_test_expect(
        lh_test_call_s(f->nc, &lh_ep_storage_get, "{\"bucket\":\"people\",\"key\":\"nope\"}"), 404,
        "key", NULL);
}

static void test_put_replaces_and_binary_roundtrips(void **state)
{
    fixture *f = *state;
    char *a = make_data(300000, 1), *b = make_data(70000, 2);
    json_decref(put(f, "bin", "blob", a, 300000));
    json_decref(put(f, "bin", "blob", b, 70000));
    size_t n = 0;
    char *back = read_all(f, "bin", "blob", 0, &n);
    assert_int_equal(n, 70000);
    assert_memory_equal(back, b, n);
    char sha[65];
    lh_test_sha256_hex(b, 70000, sha);
    reply h = head(f, "bin", "blob");
    assert_string_equal(json_string_value(json_object_get(h.body, "sha256")), sha);
    json_decref(h.body);
    assert_int_equal(list_count(f, "bin"), 1);
    free(back);
    json_decref(put(f, "bin", "empty", "", 0));
    back = read_all(f, "bin", "empty", 0, &n);
    assert_int_equal(n, 0);
    free(back);
    free(a);
    free(b);
}

static void test_put_with_wrong_sha_writes_nothing(void **state)
{
    fixture *f = *state;
    char sha[65];
    lh_test_sha256_hex("other", 5, sha);
    lh_test_expect(put_nc(f->nc, "bin", "checked", "hello", 5, sha), 422, "sha256", "nothing");
    assert_false(exists(f, "bin", "checked"));
    assert_int_equal(object_files(f), 0);
    assert_int_equal(temp_files(f), 0);
    lh_test_sha256_hex("hello", 5, sha);
    reply r = put_nc(f->nc, "bin", "checked", "hello", 5, sha);
    assert_int_equal(r.code, 0);
    json_decref(r.body);
    lh_test_expect(put_nc(f->nc, "bin", "checked2", "hello", 5, "xyz"), 400, "sha256", NULL);
}

static void test_get_ranges(void **state)
{
    fixture *f = *state;
    put_text(f, "ranges", "abc", "0123456789");
    natsMsg *m = NULL;
    reply r = get_range(f, "ranges", "abc", 2, 3, &m);
    size_t n = 0;
    char *d = reply_bin(m, "data", &n);
    assert_int_equal(n, 3);
    assert_memory_equal(d, "234", 3);
    assert_false(json_is_true(json_object_get(r.body, "eof")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r.body, "object"), "size")),
                     10);
    free(d);
    json_decref(r.body);
    natsMsg_Destroy(m);

    r = get_range(f, "ranges", "abc", 7, 0, &m); /* 0: to the end */
    d = reply_bin(m, "data", &n);
    assert_int_equal(n, 3);
    assert_memory_equal(d, "789", 3);
    assert_true(json_is_true(json_object_get(r.body, "eof")));
    free(d);
    json_decref(r.body);
    natsMsg_Destroy(m);

    r = get_range(f, "ranges", "abc", 10, 5, &m); /* at the end: empty, eof */
    d = reply_bin(m, "data", &n);
    assert_int_equal(r.code, 0);
    assert_int_equal(n, 0);
    assert_true(json_is_true(json_object_get(r.body, "eof")));
    free(d);
    json_decref(r.body);
    natsMsg_Destroy(m);

    lh_test_expect(get_range(f, "ranges", "abc", 11, 1, NULL), 400, "offset", "past the end");
    lh_test_expect(get_range(f, "ranges", "abc", 0, 5 * MIB, NULL), 400, "length", NULL);
    lh_test_expect(get_range(f, "ranges", "abc", -1, 1, NULL), 400, "offset", NULL);
}

static void test_large_object_reads_in_4mib_ranges(void **state)
{
    fixture *f = *state;
    size_t len = 9 * MIB + 12345;
    char *data = make_data(len, 3);
    char *id = begin(f, "big", "nine");
    size_t parts = 0;
    for (size_t at = 0; at < len; at += MIB)
        part_ok(f, id, (int64_t)++parts, data + at, len - at < MIB ? len - at : MIB);
    reply c = commit(f, id, NULL);
    assert_int_equal(c.code, 0);
    json_decref(c.body);
    natsMsg *m = NULL;
    reply r = get_range(f, "big", "nine", 0, 0, &m);
    size_t n = 0;
    char *first = reply_bin(m, "data", &n);
    assert_int_equal(n, 4 * MIB); /* one reply carries at most 4 MiB */
    free(first);
    json_decref(r.body);
    natsMsg_Destroy(m);
    char *back = read_all(f, "big", "nine", 0, &n);
    assert_int_equal(n, len);
    assert_memory_equal(back, data, len);
    free(back);
    free(data);
    free(id);
}

static void test_delete(void **state)
{
    fixture *f = *state;
    put_text(f, "del", "a/b/c.txt", "x");
    put_text(f, "del", "keep", "y");
    json_t *d = lh_test_ok(
        lh_test_call_s(f->nc, &lh_ep_storage_delete, "{\"bucket\":\"del\",\"key\":\"a/b/c.txt\"}"));
    assert_true(json_is_true(json_object_get(d, "deleted")));
    json_decref(d);
    d = lh_test_ok(
        lh_test_call_s(f->nc, &lh_ep_storage_delete, "{\"bucket\":\"del\",\"key\":\"a/b/c.txt\"}"));
    assert_false(json_is_true(json_object_get(d, "deleted")));
    json_decref(d);
    assert_false(exists(f, "del", "a/b/c.txt"));
    assert_int_equal(list_count(f, "del"), 1);
    assert_int_equal(object_files(f), 1); /* the emptied folders went too */
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/storaged/objects/del/a", f->data_dir);
    assert_int_equal(access(dir, F_OK), -1);
    /* "a" can now be an object, since no key lives under "a/" */
    put_text(f, "del", "a", "z");
    assert_true(exists(f, "del", "a"));
}

/* ======================================================================
 * listing
 * ====================================================================== */

static const char *obj_key(json_t *l, size_t i)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(l, "objects"), i), "key"));
}

static void test_list_pages_in_key_order(void **state)
{
    fixture *f = *state;
    /* put in a scrambled order; listed in byte order */
    for (int i = 0; i < 25; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%02d", (i * 7) % 25);
        put_text(f, "pages", key, key);
    }
    put_text(f, "other", "k00", "elsewhere");
    char after[64] = "";
    int seen = 0, pages = 0;
    for (bool more = true; more; pages++) {
        char body[256];
        snprintf(body, sizeof body, "{\"bucket\":\"pages\",\"limit\":10%s%s%s}",
                 after[0] ? ",\"after\":\"" : "", after, after[0] ? "\"" : "");
        json_t *l = list(f, body);
        json_t *objs = json_object_get(l, "objects");
        for (size_t i = 0; i < json_array_size(objs); i++, seen++) {
            char want[32];
            snprintf(want, sizeof want, "k%02d", seen);
            assert_string_equal(obj_key(l, i), want);
            assert_int_equal(json_integer_value(json_object_get(json_array_get(objs, i), "size")), 3);
        }
        more = json_is_true(json_object_get(l, "truncated"));
        if (more)
            snprintf(after, sizeof after, "%s", json_string_value(json_object_get(l, "next")));
        else
            assert_null(json_object_get(l, "next"));
        json_decref(l);
    }
    assert_int_equal(seen, 25);
    assert_int_equal(pages, 3);
    json_t *l = list(f, "{\"bucket\":\"pages\",\"prefix\":\"k1\"}");
    assert_int_equal(json_array_size(json_object_get(l, "objects")), 10);
    assert_string_equal(obj_key(l, 0), "k10");
    json_decref(l);
    l = list(f, "{\"bucket\":\"never-written\"}");
    assert_int_equal(json_array_size(json_object_get(l, "objects")), 0);
    json_decref(l);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_storage_list, "{\"bucket\":\"pages\",\"limit\":0}"),
                   400, "limit", NULL);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_storage_list, "{\"bucket\":\"Pages\"}"), 400,
                   "bucket", "lowercase");
}

static const char *prefix_at(json_t *l, size_t i)
{
    return json_string_value(json_array_get(json_object_get(l, "prefixes"), i));
}

static void test_list_delimiter_rolls_up_prefixes(void **state)
{
    fixture *f = *state;
    const char *keys[] = {"a/1", "a/2", "a/x/3", "b/1", "c", "d/e/f", "d/g", "e.txt"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        put_text(f, "tree", keys[i], keys[i]);
    json_t *l = list(f, "{\"bucket\":\"tree\",\"delimiter\":\"/\"}");
    assert_int_equal(json_array_size(json_object_get(l, "prefixes")), 3);
    assert_string_equal(prefix_at(l, 0), "a/");
    assert_string_equal(prefix_at(l, 1), "b/");
    assert_string_equal(prefix_at(l, 2), "d/");
    assert_int_equal(json_array_size(json_object_get(l, "objects")), 2);
    assert_string_equal(obj_key(l, 0), "c");
    assert_string_equal(obj_key(l, 1), "e.txt");
    json_decref(l);

    l = list(f, "{\"bucket\":\"tree\",\"delimiter\":\"/\",\"prefix\":\"a/\"}");
    assert_int_equal(json_array_size(json_object_get(l, "objects")), 2);
    assert_string_equal(obj_key(l, 1), "a/2");
    assert_string_equal(prefix_at(l, 0), "a/x/");
    json_decref(l);

    /* pages of two: prefixes and objects share the limit, `next` may be a prefix */
    const char *expect[] = {"a/", "b/", "c", "d/", "e.txt"};
    char after[64] = "";
    size_t got = 0;
    for (bool more = true; more;) {
        char body[256];
        snprintf(body, sizeof body, "{\"bucket\":\"tree\",\"delimiter\":\"/\",\"limit\":2%s%s%s}",
                 after[0] ? ",\"after\":\"" : "", after, after[0] ? "\"" : "");
        l = list(f, body);
        size_t np = json_array_size(json_object_get(l, "prefixes"));
        size_t no = json_array_size(json_object_get(l, "objects"));
        assert_true(np + no <= 2);
        for (size_t i = 0; i < np; i++)
            assert_non_null(strstr("a/ b/ d/", prefix_at(l, i)));
        got += np + no;
        more = json_is_true(json_object_get(l, "truncated"));
        if (more)
            snprintf(after, sizeof after, "%s", json_string_value(json_object_get(l, "next")));
        json_decref(l);
    }
    assert_int_equal(got, sizeof expect / sizeof expect[0]);
    /* after an object key inside a folder: that folder is not listed again */
    l = list(f, "{\"bucket\":\"tree\",\"delimiter\":\"/\",\"after\":\"a/1\"}");
    assert_string_equal(prefix_at(l, 0), "b/");
    json_decref(l);
}

/* ======================================================================
 * uploads
 * ====================================================================== */

static void test_upload_many_parts(void **state)
{
    fixture *f = *state;
    size_t sizes[] = {MIB, MIB, 1, 77777, MIB, 0, 3};
    size_t total = 0;
    for (size_t i = 0; i < 7; i++)
        total += sizes[i];
    char *data = make_data(total, 4);
    char *id = begin(f, "ups", "parts/many.bin");
    assert_false(exists(f, "ups", "parts/many.bin"));
    size_t at = 0;
    for (size_t i = 0; i < 7; i++) {
        part_ok(f, id, (int64_t)i + 1, data + at, sizes[i]);
        at += sizes[i];
    }
    assert_false(exists(f, "ups", "parts/many.bin")); /* invisible until committed */
    assert_int_equal(list_count(f, "ups"), 0);
    char sha[65];
    lh_test_sha256_hex(data, total, sha);
    reply c = commit(f, id, sha);
    assert_int_equal(c.code, 0);
    assert_string_equal(json_string_value(json_object_get(c.body, "sha256")), sha);
    assert_int_equal(json_integer_value(json_object_get(c.body, "size")), total);
    json_decref(c.body);
    size_t n = 0;
    char *back = read_all(f, "ups", "parts/many.bin", 1000000, &n);
    assert_int_equal(n, total);
    assert_memory_equal(back, data, total);
    lh_test_expect(part_nc(f->nc, id, 8, "x", 1), 404, "upload", NULL); /* finished */
    lh_test_expect(commit(f, id, NULL), 404, "upload", NULL);
    assert_int_equal(temp_files(f), 0);
    free(back);
    free(data);
    free(id);
}

static void test_upload_part_out_of_order_is_409(void **state)
{
    fixture *f = *state;
    char *id = begin(f, "ups", "order");
    lh_test_expect(part_nc(f->nc, id, 3, "c", 1), 409, "part", "expected part 1");
    part_ok(f, id, 1, "a", 1);
    lh_test_expect(part_nc(f->nc, id, 5, "e", 1), 409, "part", "expected part 2");
    lh_test_expect(part_nc(f->nc, id, 0, "z", 1), 400, "part", NULL);
    part_ok(f, id, 2, "b", 1);
    reply c = commit(f, id, NULL);
    assert_int_equal(c.code, 0);
    json_decref(c.body);
    size_t n = 0;
    char *back = read_all(f, "ups", "order", 0, &n);
    assert_int_equal(n, 2);
    assert_memory_equal(back, "ab", 2);
    free(back);
    free(id);
}

/* Sends part n without waiting; the reply is read with await_part. */
static natsSubscription *send_part_async(fixture *f, const char *upload, int64_t n,
                                         const char *data, size_t len)
{
    char inbox[64];
    snprintf(inbox, sizeof inbox, "_INBOX.test.%s.%lld", upload, (long long)n);
    natsSubscription *sub = NULL;
    assert_int_equal(natsConnection_SubscribeSync(&sub, f->nc, inbox), NATS_OK);
    mp m;
    mp_begin(&m, 3);
    mp_cstr(&m, "upload", upload);
    mp_int(&m, "part", n);
    mp_bin(&m, "data", data, len);
    assert_int_equal(natsConnection_PublishRequest(f->nc, "storage.upload.part", inbox, m.b.data,
                                                   (int)m.b.len),
                     NATS_OK);
    natsConnection_Flush(f->nc);
    lh_buf_free(&m.b);
    return sub;
}

/* The reply's error code (0 on success) and its `parts`. */
static int await_part(natsSubscription *sub, int64_t *parts)
{
    natsMsg *m = NULL;
    assert_int_equal(natsSubscription_NextMsg(&m, sub, TIMEOUT_MS), NATS_OK);
    const char *code = NULL;
    int c = natsMsgHeader_Get(m, "Nats-Service-Error-Code", &code) == NATS_OK && code ? atoi(code) : 0;
    lh_buf j;
    lh_buf_init(&j);
    assert_null(lh_msgpack_to_json(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &j));
    json_t *body = json_loadb(j.data, j.len, 0, NULL);
    *parts = json_integer_value(json_object_get(body, "parts"));
    json_decref(body);
    lh_buf_free(&j);
    natsMsg_Destroy(m);
    natsSubscription_Destroy(sub);
    return c;
}

/* A part one ahead of its turn (two in flight, several workers) is held
 * and answered once its predecessor is in; a part two ahead is refused. */
static void test_upload_part_one_ahead_waits_for_its_turn(void **state)
{
    fixture *f = *state;
    char *id = begin(f, "ups", "ahead");
    natsSubscription *second = send_part_async(f, id, 2, "b", 1);
    lh_test_expect(part_nc(f->nc, id, 3, "c", 1), 409, "part", "expected part 1");
    part_ok(f, id, 1, "a", 1);
    int64_t parts = 0;
    assert_int_equal(await_part(second, &parts), 0);
    assert_int_equal(parts, 2);
    reply c = commit(f, id, NULL);
    assert_int_equal(json_integer_value(json_object_get(c.body, "size")), 2);
    json_decref(c.body);
    size_t n = 0;
    char *back = read_all(f, "ups", "ahead", 0, &n);
    assert_memory_equal(back, "ab", 2);
    free(back);
    free(id);
    /* held when the upload ends: answered 404 */
    id = begin(f, "ups", "ahead2");
    second = send_part_async(f, id, 2, "b", 1);
    char body[128];
    snprintf(body, sizeof body, "{\"upload\":\"%s\"}", id);
    json_decref(lh_test_ok(lh_test_call_s(f->nc, &lh_ep_storage_upload_abort, body)));
    assert_int_equal(await_part(second, &parts), 404);
    assert_int_equal(temp_files(f), 0);
    free(id);
}

static void test_upload_resent_part_is_idempotent(void **state)
{
    fixture *f = *state;
    char *p1 = make_data(MIB, 5), *p2 = make_data(1000, 6);
    char *id = begin(f, "ups", "resend");
    part_ok(f, id, 1, p1, MIB);
    part_ok(f, id, 1, p1, MIB); /* the ack was lost: sent again */
    reply r = part_nc(f->nc, id, 1, p2, 1000);
    lh_test_expect(r, 409, "part", "different bytes");
    part_ok(f, id, 2, p2, 1000);
    part_ok(f, id, 2, p2, 1000);
    reply c = commit(f, id, NULL);
    assert_int_equal(json_integer_value(json_object_get(c.body, "size")), MIB + 1000);
    json_decref(c.body);
    size_t n = 0;
    char *back = read_all(f, "ups", "resend", 0, &n);
    assert_int_equal(n, MIB + 1000);
    assert_memory_equal(back, p1, MIB);
    assert_memory_equal(back + MIB, p2, 1000);
    free(back);
    free(p1);
    free(p2);
    free(id);
}

static void test_upload_abort(void **state)
{
    fixture *f = *state;
    char *id = begin(f, "ups", "aborted");
    part_ok(f, id, 1, "abc", 3);
    assert_int_equal(temp_files(f), 1);
    char body[128];
    snprintf(body, sizeof body, "{\"upload\":\"%s\"}", id);
    json_t *a = lh_test_ok(lh_test_call_s(f->nc, &lh_ep_storage_upload_abort, body));
    assert_int_equal(json_integer_value(json_object_get(a, "size")), 3);
    json_decref(a);
    assert_int_equal(temp_files(f), 0);
    lh_test_expect(part_nc(f->nc, id, 2, "d", 1), 404, "upload", "no upload");
    lh_test_expect(commit(f, id, NULL), 404, "upload", NULL);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_storage_upload_abort, body), 404, "upload", NULL);
    assert_false(exists(f, "ups", "aborted"));
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_storage_upload_part,
                                  "{\"upload\":\"nope\",\"part\":1,\"data\":\"x\"}"),
                   404, "upload", "nope");
    free(id);
}

static void test_upload_commit_with_wrong_sha_is_422(void **state)
{
    fixture *f = *state;
    char *data = make_data(2 * MIB + 5, 7);
    char *id = begin(f, "ups", "checked.bin");
    part_ok(f, id, 1, data, MIB);
    part_ok(f, id, 2, data + MIB, MIB);
    part_ok(f, id, 3, data + 2 * MIB, 5);
    lh_test_expect(part_nc(f->nc, id, 4, data, MIB + 1), 413, "data",
                   NULL); /* a part is <= 1 MiB */
    char wrong[65];
    lh_test_sha256_hex("not it", 6, wrong);
    lh_test_expect(commit(f, id, wrong), 422, "sha256", "nothing was written");
    assert_false(exists(f, "ups", "checked.bin"));
    assert_int_equal(list_count(f, "ups"), 0);
    assert_int_equal(object_files(f), 0);
    lh_test_expect(commit(f, id, "abc"), 400, "sha256", NULL);
    char right[65];
    lh_test_sha256_hex(data, 2 * MIB + 5, right);
    for (int i = 0; right[i]; i++) /* either case is accepted */
        right[i] = (char)(right[i] >= 'a' ? right[i] - 32 : right[i]);
    reply c = commit(f, id, right); /* the upload stayed open */
    assert_int_equal(c.code, 0);
    json_decref(c.body);
    assert_true(exists(f, "ups", "checked.bin"));
    free(data);
    free(id);
}

static void test_idle_uploads_are_reaped(void **state)
{
    fixture *f = *state;
    setenv("LH_STORAGE_UPLOAD_IDLE_SECONDS", "1", 1);
    restart_storaged(f, 1);
    char *id = begin(f, "ups", "idle");
    part_ok(f, id, 1, "x", 1);
    assert_int_equal(temp_files(f), 1);
    int64_t deadline = lh_test_now_ms() + 30000;
    while (temp_files(f) > 0) { /* watched from outside: a request would be activity */
        if (lh_test_now_ms() > deadline)
            fail_msg("the idle upload was never reaped");
        lh_test_sleep_ms(100);
    }
    lh_test_expect(part_nc(f->nc, id, 2, "y", 1), 404, "upload", "idle");
    free(id);
}

/* Two parts in flight at once, as the gateway sends them, to a storaged
 * with several workers: they may reach the upload in either order. */
typedef struct pipe_job {
    const char *url;
    const char *upload;
    const char *data;
    size_t part_len;
    int parts;
    int parity; /* this thread sends the parts n with n % 2 == parity */
    atomic_int *sent;  /* highest part number sent so far */
    atomic_int *acked; /* parts acknowledged */
    int failures;
} pipe_job;

static void *pipe_sender(void *arg)
{
    pipe_job *j = arg;
    natsConnection *nc = lh_test_nats_connect(j->url);
    for (int n = 1 + j->parity; n <= j->parts; n += 2) {
        /* part n goes once part n-1 is sent and part n-2 acknowledged: two in flight */
        while (atomic_load(j->sent) < n - 1 || atomic_load(j->acked) < n - 2)
            lh_test_sleep_ms(0);
        atomic_store(j->sent, n);
        reply r = part_nc(nc, j->upload, n, j->data + (size_t)(n - 1) * j->part_len, j->part_len);
        if (r.code)
            j->failures++;
        json_decref(r.body);
        atomic_fetch_add(j->acked, 1);
    }
    natsConnection_Destroy(nc);
    return NULL;
}

static void test_upload_two_parts_in_flight_with_many_workers(void **state)
{
    fixture *f = *state;
    restart_storaged(f, 4);
    const int parts = 24;
    const size_t part_len = 64 * 1024;
    char *data = make_data(parts * part_len, 8);
    char *id = begin(f, "ups", "pipelined");
    atomic_int sent = 0, acked = 0;
    pipe_job jobs[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        jobs[i] = (pipe_job){f->nats.url, id, data, part_len, parts, i, &sent, &acked, 0};
        pthread_create(&t[i], NULL, pipe_sender, &jobs[i]);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(jobs[0].failures + jobs[1].failures, 0);
    char sha[65];
    lh_test_sha256_hex(data, parts * part_len, sha);
    reply c = commit(f, id, sha);
    assert_int_equal(c.code, 0);
    json_decref(c.body);
    free(data);
    free(id);
}

/* ======================================================================
 * names: every refusal is a 400 naming the rule, and nothing is written
 * ====================================================================== */

static void assert_nothing_written(fixture *f)
{
    assert_int_equal(object_files(f), 0);
    assert_int_equal(temp_files(f), 0);
}

/* storage.put, storage.upload.begin and storage.get all refuse the name. */
static void refuse_key(fixture *f, const char *key, size_t key_len, int code, const char *words)
{
    reply r = put_nc(f->nc, "names", key, "x", 1, NULL);
    lh_test_expect(r, code, "key", words);
    mp m;
    mp_begin(&m, 2);
    mp_cstr(&m, "bucket", "names");
    mp_str(&m, "key", key, key_len);
    lh_test_expect(mp_send(f->nc, &lh_ep_storage_upload_begin, &m, NULL), code, "key", words);
    mp_begin(&m, 2);
    mp_cstr(&m, "bucket", "names");
    mp_str(&m, "key", key, key_len);
    lh_test_expect(mp_send(f->nc, &lh_ep_storage_get, &m, NULL), code, "key", words);
    assert_nothing_written(f);
}

static void refuse_key_bytes(fixture *f, const char *key, size_t len, const char *words)
{
    mp m;
    mp_begin(&m, 3);
    mp_cstr(&m, "bucket", "names");
    mp_str(&m, "key", key, len);
    mp_bin(&m, "data", "x", 1);
    lh_test_expect(mp_send(f->nc, &lh_ep_storage_put, &m, NULL), 400, "key", words);
    assert_nothing_written(f);
}

static void test_key_dotdot_refused(void **state)
{
    fixture *f = *state;
    refuse_key(f, "..", 2, 400, "'..' segment");
    refuse_key(f, "../../etc/passwd", 16, 400, "'..' segment");
    refuse_key(f, "a/../../b", 9, 400, "'..' segment");
    refuse_key(f, "a/..", 4, 400, "'..' segment");
    refuse_key(f, "a/./b", 5, 400, "'.' or '..'");
}

static void test_key_absolute_refused(void **state)
{
    fixture *f = *state;
    refuse_key(f, "/etc/passwd", 11, 400, "start with '/'");
}

static void test_key_nul_refused(void **state)
{
    fixture *f = *state;
    refuse_key_bytes(f, "a\0b", 3, "NUL");
}

static void test_key_control_characters_refused(void **state)
{
    fixture *f = *state;
    refuse_key_bytes(f, "a\nb", 3, "control");
    refuse_key_bytes(f, "tab\there", 8, "control");
    refuse_key_bytes(f, "del\x7f", 4, "control");
    refuse_key_bytes(f, "c1\xc2\x85", 4, "control"); /* U+0085, NEL */
}

static void test_key_empty_segments_refused(void **state)
{
    fixture *f = *state;
    refuse_key(f, "a//b", 4, 400, "empty segment");
    refuse_key(f, "folder/", 7, 400, "empty segment");
    refuse_key(f, "", 0, 400, "empty");
}

static void test_key_backslash_refused(void **state)
{
    fixture *f = *state;
    refuse_key(f, "..\\..\\x", 7, 400, "backslash");
}

static void test_key_invalid_utf8_refused(void **state)
{
    fixture *f = *state;
    refuse_key_bytes(f, "\xff\xfe", 2, "UTF-8");
    refuse_key_bytes(f, "\xc0\x80", 2, "UTF-8");         /* overlong NUL */
    refuse_key_bytes(f, "\xed\xa0\x80", 3, "UTF-8");     /* a surrogate */
}

static void test_key_too_long_refused(void **state)
{
    fixture *f = *state;
    char key[1100];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    reply r = put_nc(f->nc, "names", key, "x", 1, NULL);
    lh_test_expect(r, 413, "key", "1024");
    char seg[300];
    memset(seg, 's', sizeof seg - 1);
    seg[sizeof seg - 1] = '\0';
    refuse_key(f, seg, strlen(seg), 400, "255 bytes");
    assert_nothing_written(f);
}

static void refuse_bucket(fixture *f, const char *bucket, const char *words)
{
    char body[256];
    snprintf(body, sizeof body, "{\"bucket\":\"%s\",\"key\":\"k\",\"data\":\"x\"}", bucket);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_storage_put, body), 400, "bucket", words);
    snprintf(body, sizeof body, "{\"bucket\":\"%s\",\"key\":\"k\"}", bucket);
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_storage_upload_begin, body), 400, "bucket", words);
    assert_nothing_written(f);
}

static void test_bucket_names_follow_s3_rules(void **state)
{
    fixture *f = *state;
    refuse_bucket(f, "ab", "3 to 63");
    refuse_bucket(f, "a234567890123456789012345678901234567890123456789012345678901234", "3 to 63");
    refuse_bucket(f, "Photos", "lowercase");
    refuse_bucket(f, "my_bucket", "lowercase");
    refuse_bucket(f, "../x", "lowercase");
    refuse_bucket(f, "-abc", "start and end");
    refuse_bucket(f, "abc.", "start and end");
    refuse_bucket(f, "a..b", "adjacent periods");
    refuse_bucket(f, "192.168.5.4", "IP address");
    refuse_bucket(f, "xn--abc", "prefix");
    refuse_bucket(f, "bucket-s3alias", "suffix");
    put_text(f, "my.bucket-1", "k", "ok"); /* and a good one works */
    assert_true(exists(f, "my.bucket-1", "k"));
}

static void test_metadata_and_content_type_checked(void **state)
{
    fixture *f = *state;
    lh_test_expect(
        lh_test_call_s(f->nc, &lh_ep_storage_put,
                       "{\"bucket\":\"meta\",\"key\":\"k\",\"data\":\"x\",\"metadata\":{\"n\":1}}"),
        400, "metadata", "string");
    lh_test_expect(
        lh_test_call_s(f->nc, &lh_ep_storage_put,
                       "{\"bucket\":\"meta\",\"key\":\"k\",\"data\":\"x\",\"metadata\":[\"a\"]}"),
        400, "metadata", NULL);
    lh_test_expect(
        lh_test_call_s(
            f->nc, &lh_ep_storage_put,
            "{\"bucket\":\"meta\",\"key\":\"k\",\"data\":\"x\",\"content_type\":\"a\\r\\nb\"}"),
        400, "content_type", "printable");
    assert_nothing_written(f);
}

static void test_keys_cannot_be_file_and_folder(void **state)
{
    fixture *f = *state;
    put_text(f, "clash", "a", "file");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_storage_put,
                                  "{\"bucket\":\"clash\",\"key\":\"a/b\",\"data\":\"x\"}"),
                   409, "key", "'a' is an object");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_storage_upload_begin,
                                  "{\"bucket\":\"clash\",\"key\":\"a/b/c\"}"),
                   409, "key", NULL);
    put_text(f, "clash", "x/y", "inside");
    lh_test_expect(lh_test_call_s(f->nc, &lh_ep_storage_put,
                                  "{\"bucket\":\"clash\",\"key\":\"x\",\"data\":\"x\"}"),
                   409, "key", "folder of other objects");
    assert_int_equal(list_count(f, "clash"), 2);
    assert_int_equal(temp_files(f), 0);
}

/* ======================================================================
 * restarts, crashes and recovery
 * ====================================================================== */

static void test_restart_loses_nothing_acknowledged(void **state)
{
    fixture *f = *state;
    char *blob = make_data(3 * MIB + 17, 9);
    json_decref(put(f, "keep", "small", "acknowledged", 12));
    char *id = begin(f, "keep", "upload.bin");
    part_ok(f, id, 1, blob, MIB);
    part_ok(f, id, 2, blob + MIB, MIB);
    restart_storaged(f, 1);
    size_t n = 0;
    char *back = read_all(f, "keep", "small", 0, &n);
    assert_int_equal(n, 12);
    assert_memory_equal(back, "acknowledged", 12);
    free(back);
    /* the upload resumes where it was: part 2 again is a resend, then 3 */
    part_ok(f, id, 2, blob + MIB, MIB);
    lh_test_expect(part_nc(f->nc, id, 4, "x", 1), 409, "part", "expected part 3");
    part_ok(f, id, 3, blob + 2 * MIB, MIB);
    part_ok(f, id, 4, blob + 3 * MIB, 17);
    restart_storaged(f, 1);
    char sha[65];
    lh_test_sha256_hex(blob, 3 * MIB + 17, sha);
    reply c = commit(f, id, sha); /* the hash is rebuilt from the bytes on disk */
    assert_int_equal(c.code, 0);
    json_decref(c.body);
    restart_storaged(f, 1);
    back = read_all(f, "keep", "upload.bin", 0, &n);
    assert_int_equal(n, 3 * MIB + 17);
    assert_memory_equal(back, blob, n);
    assert_int_equal(list_count(f, "keep"), 2);
    json_t *d = lh_test_ok(
        lh_test_call_s(f->nc, &lh_ep_storage_delete, "{\"bucket\":\"keep\",\"key\":\"small\"}"));
    json_decref(d);
    restart_storaged(f, 1);
    assert_false(exists(f, "keep", "small"));
    free(back);
    free(blob);
    free(id);
}

static lh_st_meta *open_meta(fixture *f)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/storaged/meta", f->data_dir);
    lh_st_meta *m = NULL;
    lh_err *err = lh_st_meta_open(dir, &m);
    if (err)
        fail_msg("open meta: %s", lh_err_message(err));
    return m;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static lh_storage_object_info info_of(const char *bucket, const char *key, const char *text)
{
    static char sha[65];
    lh_test_sha256_hex(text, strlen(text), sha);
    return (lh_storage_object_info){
        .bucket = {bucket, strlen(bucket)}, .key = {key, strlen(key)},
        .size = (int64_t)strlen(text), .sha256 = {sha, 64},
        .content_type = {"text/plain", 10}, .modified = {"2024-01-01T00:00:00.000Z", 24}};
}

/* What a crash leaves at each step of a commit (storage_commit.c), put in
 * place by hand while storaged is stopped, and what the next start makes
 * of it. */
static void stage_crash_leftovers(fixture *f, const char *orphan_dir)
{
    char path[1200];
    lh_st_meta *m = open_meta(f);
    /* crashed before the rename: intent and temp file */
    lh_storage_object_info in = info_of("rec", "undone", "new bytes");
    assert_null(lh_st_meta_put_intent(m, &in, "TOKENundone0000000000a"));
    snprintf(path, sizeof path, "%s/storaged/tmp/TOKENundone0000000000a", f->data_dir);
    write_file(path, "new bytes");
    /* crashed after the rename: intent, bytes in place, old description */
    in = info_of("rec", "finished", "new bytes!");
    assert_null(lh_st_meta_put_intent(m, &in, "TOKENfinished00000000a"));
    snprintf(path, sizeof path, "%s/storaged/objects/rec/finished", f->data_dir);
    write_file(path, "new bytes!");
    /* a stray temp file, and bytes no description claims, after an unclean stop */
    snprintf(path, sizeof path, "%s/storaged/tmp/stray", f->data_dir);
    write_file(path, "junk");
    snprintf(path, sizeof path, "%s/deep", orphan_dir);
    mkdir(orphan_dir, 0755);
    write_file(path, "unclaimed");
    bool clean = false;
    assert_null(lh_st_meta_take_clean_mark(m, &clean));
    assert_true(clean);
    lh_st_meta_close(m);
}

static void test_recovery_finishes_or_undoes_interrupted_commits(void **state)
{
    fixture *f = *state;
    put_text(f, "rec", "undone", "old bytes");
    put_text(f, "rec", "finished", "old bytes");
    stop_storaged(f);
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/storaged/objects/rec/orphan", f->data_dir);
    stage_crash_leftovers(f, dir);
    start_storaged(f, 1);
    size_t n = 0;
    char *back = read_all(f, "rec", "undone", 0, &n);
    assert_int_equal(n, 9);
    assert_memory_equal(back, "old bytes", 9);
    free(back);
    back = read_all(f, "rec", "finished", 0, &n);
    assert_int_equal(n, 10);
    assert_memory_equal(back, "new bytes!", 10);
    free(back);
    reply h = head(f, "rec", "finished");
    char sha[65];
    lh_test_sha256_hex("new bytes!", 10, sha);
    assert_string_equal(json_string_value(json_object_get(h.body, "sha256")), sha);
    json_decref(h.body);
    assert_int_equal(temp_files(f), 0);
    assert_int_equal(access(dir, F_OK), -1); /* the orphan and its folder are gone */
    assert_int_equal(list_count(f, "rec"), 2);
    assert_int_equal(object_files(f), 2);
}

static const char *const STORAGED[] = {"storaged", NULL};

/* Sends a part and waits for no answer. */
static void publish_part(fixture *f, const char *upload, int64_t n, const char *data, size_t len)
{
    mp m;
    mp_begin(&m, 3);
    mp_cstr(&m, "upload", upload);
    mp_int(&m, "part", n);
    mp_bin(&m, "data", data, len);
    natsConnection_Publish(f->nc, "storage.upload.part", m.b.data, (int)m.b.len);
    natsConnection_Flush(f->nc);
    lh_buf_free(&m.b);
}

/* SIGKILL of a real storaged process in the middle of an upload. */
static void test_sigkill_during_upload_leaves_nothing_visible(void **state)
{
    fixture *f = *state;
    stop_storaged(f); /* this test runs its own process */
    lh_test_proc *p = lh_test_stack_serve(f, STORAGED, NULL, NULL);
    char *data = make_data(4 * MIB, 10);
    json_decref(put(f, "crash", "before", "kept", 4));
    char *id = begin(f, "crash", "half.bin");
    part_ok(f, id, 1, data, MIB);
    part_ok(f, id, 2, data + MIB, MIB);
    publish_part(f, id, 3, data + 2 * MIB, MIB); /* in flight when the process dies */
    int st = lh_test_signal_wait(p, SIGKILL, 10000);
    assert_true(WIFSIGNALED(st));

    p = lh_test_stack_serve(f, STORAGED, NULL, NULL);
    assert_false(exists(f, "crash", "half.bin"));
    json_t *l = list(f, "{\"bucket\":\"crash\"}");
    assert_int_equal(json_array_size(json_object_get(l, "objects")), 1);
    assert_string_equal(obj_key(l, 0), "before");
    json_decref(l);
    /* the upload survived with what was acknowledged (part 3 perhaps too) */
    reply r = part_nc(f->nc, id, 3, data + 2 * MIB, MIB);
    assert_int_equal(r.code, 0);
    json_decref(r.body);
    part_ok(f, id, 4, data + 3 * MIB, MIB);
    char sha[65];
    lh_test_sha256_hex(data, 4 * MIB, sha);
    reply c = commit(f, id, sha);
    assert_int_equal(c.code, 0);
    json_decref(c.body);
    assert_true(exists(f, "crash", "half.bin"));
    int code = lh_test_signal_wait(p, SIGTERM, 20000);
    assert_true(WIFEXITED(code) && WEXITSTATUS(code) == 0);
    start_storaged(f, 1);
    size_t n = 0;
    char *back = read_all(f, "crash", "half.bin", 0, &n);
    assert_int_equal(n, 4 * MIB);
    assert_memory_equal(back, data, n);
    free(back);
    free(data);
    free(id);
}

/* ======================================================================
 * concurrency
 * ====================================================================== */

typedef struct up_job {
    const char *url;
    const char *bucket;
    char key[64];
    size_t len;
    uint64_t seed;
    char sha[65];
    int code;
} up_job;

static void *uploader(void *arg)
{
    up_job *j = arg;
    natsConnection *nc = lh_test_nats_connect(j->url);
    char *data = make_data(j->len, j->seed);
    lh_test_sha256_hex(data, j->len, j->sha);
    char *id = begin_nc(nc, j->bucket, j->key);
    int64_t n = 0;
    for (size_t at = 0; at < j->len; at += 256 * 1024)
        part_ok_nc(nc, id, ++n, data + at, j->len - at < 256 * 1024 ? j->len - at : 256 * 1024);
    reply c = commit_nc(nc, id, j->sha);
    j->code = c.code;
    json_decref(c.body);
    free(id);
    free(data);
    natsConnection_Destroy(nc);
    return NULL;
}

static void run_uploads(fixture *f, up_job *jobs, int n)
{
    pthread_t t[16];
    for (int i = 0; i < n; i++)
        pthread_create(&t[i], NULL, uploader, &jobs[i]);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < n; i++)
        if (jobs[i].code)
            fail_msg("upload %d of %s failed: %d", i, jobs[i].key, jobs[i].code);
    (void)f;
}

static void test_concurrent_uploads_to_different_keys(void **state)
{
    fixture *f = *state;
    restart_storaged(f, 4);
    up_job jobs[6];
    for (int i = 0; i < 6; i++) {
        jobs[i] = (up_job){.url = f->nats.url, .bucket = "many", .len = MIB + 1000u * i,
                           .seed = 100u + i};
        snprintf(jobs[i].key, sizeof jobs[i].key, "dir/key-%d", i);
    }
    run_uploads(f, jobs, 6);
    for (int i = 0; i < 6; i++) {
        size_t n = 0;
        char *back = read_all(f, "many", jobs[i].key, 0, &n);
        char sha[65];
        lh_test_sha256_hex(back, n, sha);
        assert_int_equal(n, jobs[i].len);
        assert_string_equal(sha, jobs[i].sha);
        free(back);
    }
    assert_int_equal(list_count(f, "many"), 6);
    assert_int_equal(temp_files(f), 0);
}

static void test_concurrent_uploads_to_one_key_leave_one_whole(void **state)
{
    fixture *f = *state;
    restart_storaged(f, 4);
    up_job jobs[5];
    for (int i = 0; i < 5; i++) {
        jobs[i] = (up_job){.url = f->nats.url, .bucket = "same", .len = MIB + 4096u * i,
                           .seed = 200u + i};
        snprintf(jobs[i].key, sizeof jobs[i].key, "contested");
    }
    run_uploads(f, jobs, 5);
    size_t n = 0;
    char *back = read_all(f, "same", "contested", 0, &n);
    char sha[65];
    lh_test_sha256_hex(back, n, sha);
    int match = -1;
    for (int i = 0; i < 5; i++)
        if (!strcmp(sha, jobs[i].sha))
            match = i;
    assert_true(match >= 0); /* one of the uploads, whole */
    assert_int_equal(n, jobs[match].len);
    reply h = head(f, "same", "contested");
    assert_string_equal(json_string_value(json_object_get(h.body, "sha256")), sha);
    json_decref(h.body);
    assert_int_equal(list_count(f, "same"), 1);
    assert_int_equal(object_files(f), 1);
    assert_int_equal(temp_files(f), 0);
    free(back);
}

/* ======================================================================
 * events
 * ====================================================================== */

static void test_events_written_and_deleted(void **state)
{
    fixture *f = *state;
    natsSubscription *sub = NULL;
    assert_int_equal(natsConnection_SubscribeSync(&sub, f->nc, "events.storaged.>"), NATS_OK);
    natsConnection_Flush(f->nc);
    put_text(f, "evs", "k", "v");
    json_decref(lh_test_ok(
        lh_test_call_s(f->nc, &lh_ep_storage_delete, "{\"bucket\":\"evs\",\"key\":\"k\"}")));
    const char *subjects[] = {"events.storaged.written", "events.storaged.deleted"};
    for (int i = 0; i < 2; i++) {
        natsMsg *m = NULL;
        assert_int_equal(natsSubscription_NextMsg(&m, sub, 10000), NATS_OK);
        assert_string_equal(natsMsg_GetSubject(m), subjects[i]);
        lh_buf j;
        lh_buf_init(&j);
        assert_null(lh_msgpack_to_json(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &j));
        json_t *envelope = json_loadb(j.data, j.len, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(envelope, "type")),
                            subjects[i] + 7);
        json_t *e = json_incref(json_object_get(envelope, "data"));
        json_decref(envelope);
        assert_string_equal(json_string_value(json_object_get(e, "bucket")), "evs");
        assert_string_equal(json_string_value(json_object_get(e, "key")), "k");
        if (i == 0)
            assert_int_equal(json_integer_value(json_object_get(e, "size")), 1);
        json_decref(e);
        lh_buf_free(&j);
        natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(sub);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_put_get_head),
        T(test_put_replaces_and_binary_roundtrips),
        T(test_put_with_wrong_sha_writes_nothing),
        T(test_get_ranges),
        T(test_large_object_reads_in_4mib_ranges),
        T(test_delete),
        T(test_list_pages_in_key_order),
        T(test_list_delimiter_rolls_up_prefixes),
        T(test_upload_many_parts),
        T(test_upload_part_out_of_order_is_409),
        T(test_upload_part_one_ahead_waits_for_its_turn),
        T(test_upload_resent_part_is_idempotent),
        T(test_upload_abort),
        T(test_upload_commit_with_wrong_sha_is_422),
        T(test_idle_uploads_are_reaped),
        T(test_upload_two_parts_in_flight_with_many_workers),
        T(test_key_dotdot_refused),
        T(test_key_absolute_refused),
        T(test_key_nul_refused),
        T(test_key_control_characters_refused),
        T(test_key_empty_segments_refused),
        T(test_key_backslash_refused),
        T(test_key_invalid_utf8_refused),
        T(test_key_too_long_refused),
        T(test_bucket_names_follow_s3_rules),
        T(test_metadata_and_content_type_checked),
        T(test_keys_cannot_be_file_and_folder),
        T(test_restart_loses_nothing_acknowledged),
        T(test_recovery_finishes_or_undoes_interrupted_commits),
        T(test_sigkill_during_upload_leaves_nothing_visible),
        T(test_concurrent_uploads_to_different_keys),
        T(test_concurrent_uploads_to_one_key_leave_one_whole),
        T(test_events_written_and_deleted),
    };
    return cmocka_run_group_tests(tests, lh_test_stack_setup, lh_test_stack_teardown);
}
