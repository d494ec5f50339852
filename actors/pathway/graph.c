/*
 * graph.c — the lineage graph of graph.h. Keys:
 *
 *   n<node>               the node (lh_pathway_node, msgpack)
 *   o<from>\0<to>         the edge (lh_pathway_edge, msgpack)
 *   i<to>\0<from>         the same edge, found from its end
 *   t<time>\0<from>\0<to> the same edge, found by when it was made
 *   s                     the last sequence of the log kept
 *
 * A node's name holds no NUL (lh_pw_node_valid), so `o<from>\0` is
 * exactly the prefix of from's edges.
 */
#include "actors/pathway/graph.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/buf.h"
#include "lib/state/state.h"

struct lh_pw_graph {
    lh_state_db db;
    leveldb_writeoptions_t *unsynced;
    pthread_mutex_t mu; /* changes: each reads before it writes */
    char *first_error;  /* LevelDB's, since the last keep */
};

static const char lh_pw_seq_key[] = "s";

bool lh_pw_node_valid(lh_str id)
{
    if (!id.s || id.len < 3 || id.len > LH_PATHWAY_NODE_MAX)
        return false;
    size_t k = 0;
    if (id.s[0] < 'a' || id.s[0] > 'z')
        return false;
    while (k < id.len && id.s[k] != ':') {
        char c = id.s[k];
        if (k > 31 || !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
        k++;
    }
    if (k == id.len || k + 1 == id.len)
        return false; /* no colon, or nothing after it */
    for (size_t i = k + 1; i < id.len; i++)
        if ((unsigned char)id.s[i] < 0x20 || id.s[i] == 0x7f)
            return false;
    return true;
}

/* ---- keys ---- */

static void lh_pw_key(lh_buf *k, char tag, lh_str a, lh_str b, lh_str c)
{
    lh_buf_reset(k);
    lh_buf_append(k, &tag, 1);
    lh_buf_append(k, a.s, a.len);
    if (b.s) {
        lh_buf_append(k, "", 1);
        lh_buf_append(k, b.s, b.len);
    }
    if (c.s) {
        lh_buf_append(k, "", 1);
        lh_buf_append(k, c.s, c.len);
    }
}

#define LH_PW_NONE ((lh_str){NULL, 0})

/* ---- changes (mu held) ---- */

static void lh_pw_failed(lh_pw_graph *g, char *msg)
{
    if (!msg)
        return;
    if (g->first_error)
        leveldb_free(msg);
    else
        g->first_error = msg;
}

static void lh_pw_put(lh_pw_graph *g, const lh_buf *k, const void *v, size_t vlen)
{
    char *msg = NULL;
    leveldb_put(g->db.db, g->unsynced, k->data, k->len, v, vlen, &msg);
    lh_pw_failed(g, msg);
}

static void lh_pw_del(lh_pw_graph *g, const lh_buf *k)
{
    char *msg = NULL;
    leveldb_delete(g->db.db, g->unsynced, k->data, k->len, &msg);
    lh_pw_failed(g, msg);
}

static void lh_pw_put_node(lh_pw_graph *g, const lh_buf *k, const lh_pathway_node *n)
{
    lh_buf v;
    lh_buf_init(&v);
    lh_message_encode(&lh_pathway_node_schema, n, &v);
    lh_pw_put(g, k, v.data, v.len);
    lh_buf_free(&v);
}

static bool lh_pw_get_node(lh_pw_graph *g, const lh_buf *k, lh_arena *arena,
                           lh_pathway_node *out)
{
    size_t len = 0;
    char *msg = NULL;
    char *v = leveldb_get(g->db.db, g->db.read, k->data, k->len, &len, &msg);
    leveldb_free(msg);
    if (!v)
        return false;
    lh_pathway_node *n = NULL;
    lh_err *err = lh_schema_decode_reply(&lh_pathway_node_schema, v, len, arena, (void **)&n);
    leveldb_free(v);
    if (err) {
        lh_err_free(err);
        return false;
    }
    *out = *n;
    return true;
}

static bool lh_pw_earlier(lh_str a, lh_str b)
{
    int c = memcmp(a.s, b.s, a.len < b.len ? a.len : b.len);
    return c < 0 || (c == 0 && a.len < b.len);
}

/* The node made if new, or (revive) made to live again (mu held). Its time is the
 * earliest it was named at, whatever the order it is told in: a recorded
 * edge is applied at once and again when the log comes round to it, and
 * the graph must not depend on which came first. */
static void lh_pw_touch_locked(lh_pw_graph *g, lh_str id, lh_str time, bool revive,
                               lh_arena *arena)
{
    lh_buf k;
    lh_buf_init(&k);
    lh_pw_key(&k, 'n', id, LH_PW_NONE, LH_PW_NONE);
    lh_pathway_node n = {0};
    bool known = lh_pw_get_node(g, &k, arena, &n);
    bool earlier = known && lh_pw_earlier(time, n.time);
    if (!known || (revive && n.deleted.s) || earlier) {
        const char *colon = memchr(id.s, ':', id.len);
        assert(colon); /* the node was checked */
        lh_str deleted = revive ? (lh_str){0} : n.deleted;
        n = (lh_pathway_node){.id = id, .kind = {id.s, (size_t)(colon - id.s)},
                              .time = known && !earlier ? n.time : time, .deleted = deleted};
        lh_pw_put_node(g, &k, &n);
    }
    lh_buf_free(&k);
}

void lh_pw_graph_touch(lh_pw_graph *g, lh_str id, lh_str time)
{
    lh_arena *arena = lh_arena_create();
    pthread_mutex_lock(&g->mu);
    lh_pw_touch_locked(g, id, time, true, arena);
    pthread_mutex_unlock(&g->mu);
    lh_arena_destroy(arena);
}

void lh_pw_graph_delete(lh_pw_graph *g, lh_str prefix, bool versions, lh_str time)
{
    lh_arena *arena = lh_arena_create();
    lh_buf k;
    lh_buf_init(&k);
    lh_pw_key(&k, 'n', prefix, LH_PW_NONE, LH_PW_NONE);
    size_t plen = k.len;
    char *pfx = malloc(plen);
    memcpy(pfx, k.data, plen);
    pthread_mutex_lock(&g->mu);
    leveldb_iterator_t *it = leveldb_create_iterator(g->db.db, g->db.read);
    for (leveldb_iter_seek(it, pfx, plen); leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t klen = 0, vlen = 0;
        const char *key = leveldb_iter_key(it, &klen);
        if (klen < plen || memcmp(key, pfx, plen))
            break;
        const char *v = leveldb_iter_value(it, &vlen);
        lh_pathway_node *n = NULL;
        lh_err *err = lh_schema_decode_reply(&lh_pathway_node_schema, v, vlen, arena,
                                             (void **)&n);
        if (err) {
            lh_err_free(err);
            continue;
        }
        if (!versions && klen > plen)
            break; /* the one node only, and it is not there */
        if (n->deleted.s || memchr(key + plen, '@', klen - plen))
            continue; /* gone already, or not a version of prefix's artifact */
        n->deleted = time;
        lh_buf_reset(&k);
        lh_buf_append(&k, key, klen);
        lh_pw_put_node(g, &k, n);
    }
    leveldb_iter_destroy(it);
    lh_pathway_node n = {0};
    lh_buf_reset(&k);
    lh_buf_append(&k, pfx, plen);
    if (!versions && !lh_pw_get_node(g, &k, arena, &n)) {
        /* told gone before it was told made (the log's start has aged
         * out): remembered as gone, so an edge naming it later leaves it
         * so, applied once or again */
        const char *colon = memchr(prefix.s, ':', prefix.len);
        assert(colon);
        n = (lh_pathway_node){.id = prefix, .kind = {prefix.s, (size_t)(colon - prefix.s)},
                              .time = time, .deleted = time};
        lh_pw_put_node(g, &k, &n);
    }
    pthread_mutex_unlock(&g->mu);
    free(pfx);
    lh_buf_free(&k);
    lh_arena_destroy(arena);
}

/* The edge between the same two nodes, if any (mu held). */
static lh_pathway_edge *lh_pw_get_edge(lh_pw_graph *g, lh_str from, lh_str to, lh_arena *arena)
{
    lh_buf k;
    lh_buf_init(&k);
    lh_pw_key(&k, 'o', from, to, LH_PW_NONE);
    size_t len = 0;
    char *msg = NULL;
    char *v = leveldb_get(g->db.db, g->db.read, k.data, k.len, &len, &msg);
    leveldb_free(msg);
    lh_buf_free(&k);
    if (!v)
        return NULL;
    lh_pathway_edge *e = NULL;
    lh_err *err = lh_schema_decode_reply(&lh_pathway_edge_schema, v, len, arena, (void **)&e);
    leveldb_free(v);
    lh_err_free(err);
    return err ? NULL : e;
}

void lh_pw_graph_join(lh_pw_graph *g, const lh_pathway_edge *e, bool makes_to)
{
    assert(lh_pw_node_valid(e->from) && lh_pw_node_valid(e->to) && e->time.s);
    lh_arena *arena = lh_arena_create();
    lh_buf k, v;
    lh_buf_init(&k);
    lh_buf_init(&v);
    pthread_mutex_lock(&g->mu);
    lh_pw_touch_locked(g, e->from, e->time, false, arena);
    lh_pw_touch_locked(g, e->to, e->time, makes_to, arena);
    lh_pathway_edge *old = lh_pw_get_edge(g, e->from, e->to, arena);
    if (old && old->time.s) {
        lh_pw_key(&k, 't', old->time, e->from, e->to);
        lh_pw_del(g, &k);
    }
    lh_message_encode(&lh_pathway_edge_schema, e, &v);
    lh_pw_key(&k, 'o', e->from, e->to, LH_PW_NONE);
    lh_pw_put(g, &k, v.data, v.len);
    lh_pw_key(&k, 'i', e->to, e->from, LH_PW_NONE);
    lh_pw_put(g, &k, "", 0);
    lh_pw_key(&k, 't', e->time, e->from, e->to);
    lh_pw_put(g, &k, "", 0);
    pthread_mutex_unlock(&g->mu);
    lh_buf_free(&k);
    lh_buf_free(&v);
    lh_arena_destroy(arena);
}

lh_err *lh_pw_graph_keep(lh_pw_graph *g, uint64_t seq)
{
    char v[24];
    int n = snprintf(v, sizeof v, "%llu", (unsigned long long)seq);
    pthread_mutex_lock(&g->mu);
    char *msg = g->first_error;
    g->first_error = NULL;
    if (!msg)
        leveldb_put(g->db.db, g->db.sync_write, lh_pw_seq_key, 1, v, (size_t)n, &msg);
    pthread_mutex_unlock(&g->mu);
    return msg ? lh_state_db_err(msg, "keep the lineage graph") : NULL;
}

/* ---- reads ---- */

uint64_t lh_pw_graph_applied(lh_pw_graph *g)
{
    size_t len = 0;
    char *msg = NULL;
    char *v = leveldb_get(g->db.db, g->db.read, lh_pw_seq_key, 1, &len, &msg);
    leveldb_free(msg);
    uint64_t seq = 0;
    for (size_t i = 0; v && i < len && v[i] >= '0' && v[i] <= '9'; i++)
        seq = seq * 10 + (uint64_t)(v[i] - '0');
    leveldb_free(v);
    return seq;
}

bool lh_pw_graph_node(lh_pw_graph *g, lh_str id, lh_arena *arena, lh_pathway_node *out)
{
    lh_buf k;
    lh_buf_init(&k);
    lh_pw_key(&k, 'n', id, LH_PW_NONE, LH_PW_NONE);
    bool found = lh_pw_get_node(g, &k, arena, out);
    lh_buf_free(&k);
    return found;
}

/* Calls each(user, key, klen, value, vlen) for the keys under prefix. */
typedef bool (*lh_pw_scan_fn)(void *user, const char *key, size_t klen, const char *v,
                              size_t vlen);

static void lh_pw_scan(lh_pw_graph *g, const lh_buf *prefix, const char *from, size_t from_len,
                       lh_pw_scan_fn each, void *user)
{
    leveldb_iterator_t *it = leveldb_create_iterator(g->db.db, g->db.read);
    leveldb_iter_seek(it, from ? from : prefix->data, from ? from_len : prefix->len);
    for (; leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t klen = 0, vlen = 0;
        const char *key = leveldb_iter_key(it, &klen);
        if (klen < prefix->len || memcmp(key, prefix->data, prefix->len))
            break;
        const char *v = leveldb_iter_value(it, &vlen);
        if (!each(user, key, klen, v, vlen))
            break;
    }
    leveldb_iter_destroy(it);
}

typedef struct lh_pw_walk {
    lh_pw_graph *g;
    lh_arena *arena;
    size_t skip; /* the prefix's length */
    bool down;
    lh_str node;
    lh_pw_edge_fn fn;
    void *user;
} lh_pw_walk;

static bool lh_pw_each_edge(void *user, const char *key, size_t klen, const char *v, size_t vlen)
{
    lh_pw_walk *w = user;
    lh_pathway_edge *e = NULL;
    if (w->down) {
        lh_err *err = lh_schema_decode_reply(&lh_pathway_edge_schema, v, vlen, w->arena,
                                             (void **)&e);
        lh_err_free(err);
    } else { /* i<to>\0<from>: the edge is kept under o<from>\0<to> */
        lh_str from = {lh_arena_strndup(w->arena, key + w->skip, klen - w->skip),
                       klen - w->skip};
        e = lh_pw_get_edge(w->g, from, w->node, w->arena);
    }
    return e ? w->fn(w->user, e) : true;
}

void lh_pw_graph_edges(lh_pw_graph *g, lh_str id, bool down, lh_arena *arena, lh_pw_edge_fn fn,
                       void *user)
{
    lh_buf k;
    lh_buf_init(&k);
    lh_pw_key(&k, down ? 'o' : 'i', id, (lh_str){"", 0}, LH_PW_NONE);
    lh_pw_walk w = {g, arena, k.len, down, id, fn, user};
    lh_pw_scan(g, &k, NULL, 0, lh_pw_each_edge, &w);
    lh_buf_free(&k);
}

typedef struct lh_pw_timed_walk {
    lh_pw_graph *g;
    lh_arena *arena;
    lh_pw_timed_fn fn;
    void *user;
} lh_pw_timed_walk;

static bool lh_pw_each_timed(void *user, const char *key, size_t klen, const char *v,
                             size_t vlen)
{
    (void)v, (void)vlen;
    lh_pw_timed_walk *w = user;
    /* t<time>\0<from>\0<to> */
    const char *from = memchr(key, 0, klen);
    const char *to = from ? memchr(from + 1, 0, (size_t)(key + klen - from - 1)) : NULL;
    if (!to)
        return true;
    lh_str f = {from + 1, (size_t)(to - from - 1)}, t = {to + 1, (size_t)(key + klen - to - 1)};
    lh_pathway_edge *e = lh_pw_get_edge(w->g, f, t, w->arena);
    return e ? w->fn(w->user, e, key, klen) : true;
}

void lh_pw_graph_by_time(lh_pw_graph *g, const char *since, const char *at, size_t at_len,
                         lh_arena *arena, lh_pw_timed_fn fn, void *user)
{
    lh_buf prefix, from;
    lh_buf_init(&prefix);
    lh_buf_init(&from);
    lh_buf_append(&prefix, "t", 1);
    if (at)
        lh_buf_append(&from, at, at_len);
    else
        lh_pw_key(&from, 't', (lh_str){since ? since : "", since ? strlen(since) : 0},
                  LH_PW_NONE, LH_PW_NONE);
    lh_pw_timed_walk w = {g, arena, fn, user};
    lh_pw_scan(g, &prefix, from.data, from.len, lh_pw_each_timed, &w);
    lh_buf_free(&prefix);
    lh_buf_free(&from);
}

/* ---- opening ---- */

lh_err *lh_pw_graph_open(const char *dir, lh_pw_graph **out)
{
    lh_pw_graph *g = calloc(1, sizeof *g);
    if (!g)
        abort(); /* out of memory: as lh_buf does, we do not limp on */
    lh_err *err = lh_state_mkdirs(dir);
    if (!err)
        err = lh_state_db_open(&g->db, dir, 0);
    if (err) {
        free(g);
        return lh_err_wrap(err, "open the lineage graph");
    }
    g->unsynced = leveldb_writeoptions_create();
    pthread_mutex_init(&g->mu, NULL);
    *out = g;
    return NULL;
}

void lh_pw_graph_close(lh_pw_graph *g)
{
    if (!g)
        return;
    leveldb_free(g->first_error);
    leveldb_writeoptions_destroy(g->unsynced);
    lh_state_db_close(&g->db);
    pthread_mutex_destroy(&g->mu);
    free(g);
}
