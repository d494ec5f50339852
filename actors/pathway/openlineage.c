/*
 * openlineage.c — the graph's runs as OpenLineage 2-0-2 RunEvents, so a
 * Marquez server (or any OpenLineage consumer) can take the lineage in.
 *
 * A run is a step and a run id (an ingest job, an event); its inputs are
 * the nodes its edges leave, its outputs those they reach. Each run gives
 * a START at its first edge's time and a COMPLETE at its last. A job is
 * the step, in namespace `lakehouse`; a dataset is a node's name in
 * namespace `lakehouse.<kind>`. The runId is a UUID made from the step
 * and run id, so exporting twice gives the same ids (Marquez takes a run
 * again as an update): a run whose edges straddle a page is in both.
 * Pages go on from a cursor, the exact time key where the last one
 * stopped, so many runs in one millisecond never hold paging in place.
 */
#include "actors/pathway/pathway_internal.h"

#include <stdio.h>
#include <string.h>

#include "bus/buf.h"
#include "bus/digest.h"
#include "bus/strmap.h"

#define LH_OL_PRODUCER "urn:lakehouse:pathwayd"
#define LH_OL_SCHEMA "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent"

typedef struct lh_ol_run {
    lh_str step, run, first, last;
    lh_buf inputs, outputs; /* node ids, NUL after each */
} lh_ol_run;

typedef struct lh_ol_export {
    lh_arena *arena;
    int64_t limit;
    lh_strmap at;
    lh_ol_run *runs;
    size_t n;
    lh_buf key;
    bool more;
    lh_str next_cursor;
} lh_ol_export;

static const char lh_ol_hex[] = "0123456789abcdef";

/* The time key an edge was found at, as a cursor. */
static lh_str lh_ol_cursor(lh_arena *arena, const char *key, size_t klen)
{
    char *c = lh_arena_alloc(arena, 2 * klen + 1);
    for (size_t i = 0; i < klen; i++) {
        c[2 * i] = lh_ol_hex[(unsigned char)key[i] >> 4];
        c[2 * i + 1] = lh_ol_hex[(unsigned char)key[i] & 15];
    }
    c[2 * klen] = '\0';
    return (lh_str){c, 2 * klen};
}

static int lh_ol_nibble(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool lh_pw_cursor_key(lh_str cursor, lh_arena *arena, const char **key, size_t *klen)
{
    if (cursor.len < 2 || cursor.len % 2)
        return false;
    char *k = lh_arena_alloc(arena, cursor.len / 2 + 1);
    for (size_t i = 0; i < cursor.len / 2; i++) {
        int hi = lh_ol_nibble(cursor.s[2 * i]), lo = lh_ol_nibble(cursor.s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        k[i] = (char)(hi << 4 | lo);
    }
    if (k[0] != 't')
        return false; /* not a time key: not one of ours */
    *key = k;
    *klen = cursor.len / 2;
    return true;
}

/* Adds id to a NUL-separated list unless there already. */
static void lh_ol_add(lh_buf *list, lh_str id)
{
    for (size_t i = 0; i < list->len;) {
        size_t len = strlen(list->data + i);
        if (len == id.len && !memcmp(list->data + i, id.s, id.len))
            return;
        i += len + 1;
    }
    lh_buf_append(list, id.s, id.len);
    lh_buf_append(list, "", 1);
}

static bool lh_ol_edge(void *user, const lh_pathway_edge *e, const char *key, size_t klen)
{
    lh_ol_export *x = user;
    lh_buf_reset(&x->key);
    lh_buf_append(&x->key, e->step.s, e->step.len);
    lh_buf_append(&x->key, "", 1);
    lh_buf_append(&x->key, e->run.s, e->run.len);
    size_t at = lh_strmap_get(&x->at, x->key.data, x->key.len);
    if (at == LH_STRMAP_ABSENT) {
        if ((int64_t)x->n == x->limit) {
            x->more = true;
            x->next_cursor = lh_ol_cursor(x->arena, key, klen);
            return false;
        }
        at = x->n++;
        lh_strmap_put(&x->at, x->key.data, x->key.len, at);
        lh_ol_run *r = &x->runs[at];
        *r = (lh_ol_run){.step = e->step, .run = e->run, .first = e->time};
        lh_buf_init(&r->inputs);
        lh_buf_init(&r->outputs);
    }
    lh_ol_run *r = &x->runs[at];
    r->last = e->time;
    lh_ol_add(&r->inputs, e->from);
    lh_ol_add(&r->outputs, e->to);
    return true;
}

static lh_str lh_ol_copy(lh_arena *arena, const char *s, size_t n)
{
    return (lh_str){lh_arena_strndup(arena, s, n), n};
}

/* A UUID (version 5's layout) from the run's step and id. */
static lh_str lh_ol_run_id(lh_arena *arena, const lh_ol_run *r)
{
    lh_buf b;
    lh_buf_init(&b);
    lh_buf_append(&b, r->step.s, r->step.len);
    lh_buf_append(&b, "", 1);
    lh_buf_append(&b, r->run.s, r->run.len);
    char hex[65], uuid[37];
    lh_sha256_hex(b.data, b.len, hex);
    lh_buf_free(&b);
    snprintf(uuid, sizeof uuid, "%.8s-%.4s-5%.3s-%c%.3s-%.12s", hex, hex + 8, hex + 13,
             "89ab"[hex[16] % 4], hex + 17, hex + 20);
    return lh_ol_copy(arena, uuid, 36);
}

/* The datasets of a NUL-separated list of nodes. */
static lh_objs lh_ol_datasets(lh_arena *arena, const lh_buf *list)
{
    size_t n = 0;
    for (size_t i = 0; i < list->len; i += strlen(list->data + i) + 1)
        n++;
    lh_openlineage_named *v = lh_arena_alloc(arena, (n + 1) * sizeof *v);
    n = 0;
    for (size_t i = 0; i < list->len; i += strlen(list->data + i) + 1) {
        const char *id = list->data + i, *colon = strchr(id, ':');
        char ns[48];
        int nl = snprintf(ns, sizeof ns, "lakehouse.%.*s", (int)(colon - id), id);
        v[n++] = (lh_openlineage_named){.namespace = lh_ol_copy(arena, ns, (size_t)nl),
                                        .name = lh_ol_copy(arena, colon + 1, strlen(colon + 1))};
    }
    return (lh_objs){v, n};
}

static void lh_ol_events(lh_arena *arena, const lh_ol_run *r, lh_openlineage_run_event *ev)
{
    lh_openlineage_run *run = lh_arena_alloc(arena, sizeof *run);
    lh_openlineage_named *job = lh_arena_alloc(arena, sizeof *job);
    *run = (lh_openlineage_run){.runId = lh_ol_run_id(arena, r)};
    *job = (lh_openlineage_named){.namespace = {"lakehouse", 9}, .name = r->step};
    lh_openlineage_run_event base = {
        .run = run, .job = job,
        .inputs = lh_ol_datasets(arena, &r->inputs),
        .outputs = lh_ol_datasets(arena, &r->outputs),
        .producer = {LH_OL_PRODUCER, sizeof LH_OL_PRODUCER - 1},
        .schemaURL = {LH_OL_SCHEMA, sizeof LH_OL_SCHEMA - 1},
    };
    ev[0] = base;
    ev[0].eventType = (lh_str){"START", 5};
    ev[0].eventTime = r->first;
    ev[1] = base;
    ev[1].eventType = (lh_str){"COMPLETE", 8};
    ev[1].eventTime = r->last;
}

void lh_pw_openlineage(lh_pw_graph *g, const char *since, const char *at, size_t at_len,
                       int64_t limit, lh_arena *arena, lh_pathway_openlineage_reply *rep)
{
    lh_ol_export x = {.arena = arena, .limit = limit};
    x.runs = lh_arena_alloc(arena, (size_t)limit * sizeof *x.runs);
    lh_buf_init(&x.key);
    lh_pw_graph_by_time(g, since, at, at_len, arena, lh_ol_edge, &x);
    lh_openlineage_run_event *ev = lh_arena_alloc(arena, (2 * x.n + 1) * sizeof *ev);
    for (size_t i = 0; i < x.n; i++) {
        lh_ol_events(arena, &x.runs[i], &ev[2 * i]);
        lh_buf_free(&x.runs[i].inputs);
        lh_buf_free(&x.runs[i].outputs);
    }
    *rep = (lh_pathway_openlineage_reply){.events = {ev, 2 * x.n}, .more = x.more,
                                          .next_cursor = x.next_cursor};
    lh_strmap_free(&x.at);
    lh_buf_free(&x.key);
}
