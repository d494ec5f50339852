/*
 * collection.c — one open index in memory (collection.h).
 */
#include "actors/vector/collection.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "actors/vector/idmap.h"
#include "actors/vector/keyword.h"
#include "bus/log.h"
#include "bus/rwlock.h"

/* Adds run in chunks so searches get the lock between them. */
#define LH_ADD_CHUNK 256

struct lh_vec_collection {
    lh_vec_params params;
    atomic_int refs;
    pthread_mutex_t write_mu;
    pthread_rwlock_t rw;
    lh_fx_index *ix;
    lh_vec_slot *slots; /* by label */
    size_t n_slots, cap_slots;
    lh_vec_idmap *ids;
    lh_vec_keyword *kw; /* the items' text, for keyword search; changes with the slots */
    size_t tombstones;
    size_t blob_bytes;
    uint64_t next_seq; /* write lock */
    bool dropped;      /* write lock */
    atomic_bool dirty;
};

static lh_err *lh_reserve_slots(lh_vec_collection *c, size_t want)
{
    if (want <= c->cap_slots)
        return NULL;
    size_t cap = c->cap_slots ? c->cap_slots : 64;
    while (cap < want)
        cap *= 2;
    lh_vec_slot *s = realloc(c->slots, cap * sizeof *s);
    if (!s)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory for %zu labels", cap);
    memset(s + c->cap_slots, 0, (cap - c->cap_slots) * sizeof *s);
    c->slots = s;
    c->cap_slots = cap;
    return NULL;
}

lh_err *lh_vec_collection_create(const lh_vec_params *p, lh_fx_index *ix,
                                 lh_vec_collection **out)
{
    lh_vec_collection *c = calloc(1, sizeof *c);
    if (!c) {
        lh_fx_destroy(ix);
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    }
    c->params = *p;
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->write_mu, NULL);
    lh_rwlock_init(&c->rw);
    c->ids = lh_vec_idmap_create();
    c->next_seq = 1;
    lh_err *err = NULL;
    if (ix) {
        c->ix = ix;
    } else {
        lh_fx_params fp = lh_vec_fx_params(p);
        err = lh_fx_create(&fp, &c->ix);
    }
    if (!err) {
        c->n_slots = c->tombstones = (size_t)lh_fx_count(c->ix);
        err = lh_reserve_slots(c, c->n_slots);
    }
    if (!err)
        err = lh_vec_keyword_create(&c->kw);
    if (err) {
        lh_vec_collection_unref(c);
        return err;
    }
    *out = c;
    return NULL;
}

static void lh_collection_free(lh_vec_collection *c)
{
    for (size_t i = 0; i < c->n_slots; i++)
        free(c->slots[i].blob);
    free(c->slots);
    lh_vec_idmap_destroy(c->ids);
    lh_vec_keyword_destroy(c->kw);
    if (c->ix)
        lh_fx_destroy(c->ix);
    pthread_rwlock_destroy(&c->rw);
    pthread_mutex_destroy(&c->write_mu);
    free(c);
}

void lh_vec_collection_ref(lh_vec_collection *c) { atomic_fetch_add(&c->refs, 1); }

void lh_vec_collection_unref(lh_vec_collection *c)
{
    if (c && atomic_fetch_sub(&c->refs, 1) == 1)
        lh_collection_free(c);
}

const lh_vec_params *lh_vec_collection_params(const lh_vec_collection *c) { return &c->params; }

void lh_vec_collection_lock_writes(lh_vec_collection *c) { pthread_mutex_lock(&c->write_mu); }
void lh_vec_collection_unlock_writes(lh_vec_collection *c) { pthread_mutex_unlock(&c->write_mu); }
bool lh_vec_collection_dropped(const lh_vec_collection *c) { return c->dropped; }
void lh_vec_collection_mark_dropped(lh_vec_collection *c) { c->dropped = true; }
uint64_t lh_vec_collection_next_seq(const lh_vec_collection *c) { return c->next_seq; }
void lh_vec_collection_set_next_seq(lh_vec_collection *c, uint64_t seq) { c->next_seq = seq; }
bool lh_vec_collection_dirty(const lh_vec_collection *c) { return atomic_load(&c->dirty); }
void lh_vec_collection_set_dirty(lh_vec_collection *c, bool d) { atomic_store(&c->dirty, d); }

/* ---- slots ---- */

static const char *lh_slot_meta(const lh_vec_slot *s) { return s->blob + s->id_len; }
static const char *lh_slot_text(const lh_vec_slot *s) { return s->blob + s->id_len + s->meta_len; }

/* A live slot for r, its blob holding copies of id, metadata and text. */
static lh_err *lh_slot_make(const lh_vec_record *r, lh_vec_slot *out)
{
    size_t size = r->id_len + r->metadata_len + r->text_len;
    char *blob = malloc(size ? size : 1);
    if (!blob)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory for item '%.*s'",
                          (int)(r->id_len > 64 ? 64 : r->id_len), r->id);
    memcpy(blob, r->id, r->id_len);
    if (r->metadata_len)
        memcpy(blob + r->id_len, r->metadata, r->metadata_len);
    if (r->text_len)
        memcpy(blob + r->id_len + r->metadata_len, r->text, r->text_len);
    *out = (lh_vec_slot){
        .seq = r->seq,
        .blob = blob,
        .id_len = (uint32_t)r->id_len,
        .meta_len = (uint32_t)r->metadata_len,
        .text_len = (uint32_t)r->text_len,
        .alive = true,
        .has_text = r->has_text,
    };
    return NULL;
}

static size_t lh_slot_bytes(const lh_vec_slot *s) { return s->id_len + s->meta_len + s->text_len; }

/* Turns a live label into a tombstone (its id entry is already gone or
 * already points elsewhere). */
static void lh_slot_kill(lh_vec_collection *c, int64_t label)
{
    lh_vec_slot *s = &c->slots[label];
    assert(s->alive);
    c->blob_bytes -= lh_slot_bytes(s);
    free(s->blob);
    *s = (lh_vec_slot){0};
    c->tombstones++;
}

/* The keyword side follows the slots; it fails only when its tokenizer
 * does, when a search would miss the item until a restart rebuilds it. */
static void lh_keyword_sync(lh_vec_collection *c, const lh_vec_slot *s)
{
    lh_err *err = NULL;
    if (s->has_text)
        err = lh_vec_keyword_put(c->kw, s->blob, s->id_len, lh_slot_text(s), s->text_len);
    else
        lh_vec_keyword_remove(c->kw, s->blob, s->id_len);
    if (err)
        lh_warn("index '%s': %s", c->params.name, lh_err_message(err));
    lh_err_free(err);
}

/* Puts a made slot at `label`, replacing any live item with its id. */
static bool lh_slot_place(lh_vec_collection *c, int64_t label, const lh_vec_slot *slot)
{
    int64_t old = lh_vec_idmap_get(c->ids, slot->blob, slot->id_len);
    c->slots[label] = *slot;
    c->blob_bytes += lh_slot_bytes(slot);
    lh_vec_idmap_put(c->ids, slot->blob, slot->id_len, label); /* before the old blob goes */
    lh_keyword_sync(c, slot);
    if (old >= 0)
        lh_slot_kill(c, old);
    return old >= 0;
}

/* ---- writes ---- */

static lh_err *lh_add_chunk(lh_vec_collection *c, size_t n, const float *vectors,
                            lh_vec_slot *made, size_t *replaced)
{
    pthread_rwlock_wrlock(&c->rw);
    lh_err *err = lh_reserve_slots(c, c->n_slots + n);
    int64_t base = (int64_t)c->n_slots;
    if (!err)
        err = lh_fx_add(c->ix, n, vectors);
    if (!err) {
        assert(lh_fx_count(c->ix) == base + (int64_t)n);
        c->n_slots += n;
        for (size_t i = 0; i < n; i++)
            *replaced += lh_slot_place(c, base + (int64_t)i, &made[i]);
        atomic_store(&c->dirty, true);
    }
    pthread_rwlock_unlock(&c->rw);
    return err;
}

/* Slots and a contiguous vector buffer for records r[0..n), outside the lock. */
static lh_err *lh_prepare_chunk(const lh_vec_collection *c, const lh_vec_record *r, size_t n,
                                float *vectors, lh_vec_slot *made)
{
    size_t d = (size_t)c->params.dimension;
    for (size_t i = 0; i < n; i++) {
        assert(r[i].dimension == d);
        memcpy(vectors + i * d, r[i].vector, d * sizeof(float));
        lh_err *err = lh_slot_make(&r[i], &made[i]);
        if (err) {
            while (i-- > 0)
                free(made[i].blob);
            return err;
        }
    }
    return NULL;
}

lh_err *lh_vec_collection_add(lh_vec_collection *c, const lh_vec_record *r, size_t n,
                              size_t *replaced)
{
    size_t d = (size_t)c->params.dimension, dummy = 0;
    replaced = replaced ? replaced : &dummy;
    *replaced = 0;
    float *vectors = malloc(LH_ADD_CHUNK * d * sizeof *vectors);
    lh_vec_slot *made = malloc(LH_ADD_CHUNK * sizeof *made);
    lh_err *err = vectors && made ? NULL : lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    for (size_t at = 0; !err && at < n; at += LH_ADD_CHUNK) {
        size_t m = n - at < LH_ADD_CHUNK ? n - at : LH_ADD_CHUNK;
        err = lh_prepare_chunk(c, r + at, m, vectors, made);
        if (err)
            break;
        err = lh_add_chunk(c, m, vectors, made, replaced);
        if (err)
            for (size_t i = 0; i < m; i++)
                free(made[i].blob);
    }
    free(vectors);
    free(made);
    return err;
}

void lh_vec_collection_revive(lh_vec_collection *c, int64_t label, const lh_vec_record *r)
{
    assert(label >= 0 && (size_t)label < c->n_slots && !c->slots[label].alive);
    assert(lh_vec_idmap_get(c->ids, r->id, r->id_len) < 0);
    lh_vec_slot slot;
    lh_err *err = lh_slot_make(r, &slot);
    assert(!err); /* lh_slot_make fails only on out of memory */
    lh_err_free(err);
    pthread_rwlock_wrlock(&c->rw);
    c->tombstones--;
    lh_slot_place(c, label, &slot);
    pthread_rwlock_unlock(&c->rw);
}

size_t lh_vec_collection_delete(lh_vec_collection *c, const lh_str *ids, size_t n)
{
    size_t deleted = 0;
    pthread_rwlock_wrlock(&c->rw);
    for (size_t i = 0; i < n; i++) {
        int64_t label = lh_vec_idmap_get(c->ids, ids[i].s, ids[i].len);
        if (label < 0)
            continue;
        lh_vec_idmap_del(c->ids, ids[i].s, ids[i].len);
        lh_vec_keyword_remove(c->kw, ids[i].s, ids[i].len);
        lh_slot_kill(c, label);
        deleted++;
    }
    pthread_rwlock_unlock(&c->rw);
    return deleted;
}

/* ---- search ---- */

typedef struct lh_keep_ctx {
    const lh_vec_collection *c;
    const lh_vec_filter *filter;
} lh_keep_ctx;

static bool lh_keep(void *user, int64_t label)
{
    const lh_keep_ctx *k = user;
    assert(label >= 0 && (size_t)label < k->c->n_slots);
    const lh_vec_slot *s = &k->c->slots[label];
    if (!s->alive)
        return false;
    return !k->filter || lh_vec_filter_match(k->filter, lh_slot_meta(s), s->meta_len);
}

static double lh_score(const lh_vec_collection *c, float distance)
{
    if (c->params.metric == LH_VEC_L2)
        return sqrt(distance > 0 ? (double)distance : 0.0); /* faiss gives squared L2 */
    /* Unit vectors in float32: a self-match can round to 1 + 2^-23. */
    if (c->params.metric == LH_VEC_COSINE)
        return distance > 1.0f ? 1.0 : distance < -1.0f ? -1.0 : distance;
    return distance;
}

static void lh_fill_hit(const lh_vec_collection *c, int64_t label, float distance,
                        bool with_vector, lh_arena *a, lh_vector_hit *h)
{
    const lh_vec_slot *s = &c->slots[label];
    h->id = (lh_str){lh_arena_strndup(a, s->blob, s->id_len), s->id_len};
    h->score = lh_score(c, distance);
    if (s->meta_len)
        h->metadata = (lh_raw){lh_arena_strndup(a, lh_slot_meta(s), s->meta_len), s->meta_len};
    if (s->has_text)
        h->text = (lh_str){lh_arena_strndup(a, lh_slot_text(s), s->text_len), s->text_len};
    if (with_vector) {
        size_t d = (size_t)c->params.dimension;
        h->vector.v = lh_arena_alloc(a, d * sizeof(float));
        h->vector.n = d;
        lh_fx_reconstruct(c->ix, label, h->vector.v);
    }
}

lh_err *lh_vec_collection_search(lh_vec_collection *c, const lh_vec_query *q, lh_arena *arena,
                                 lh_vector_hit **hits, size_t *n)
{
    float *dist = lh_arena_alloc(arena, q->k * sizeof *dist);
    int64_t *labels = lh_arena_alloc(arena, q->k * sizeof *labels);
    *hits = lh_arena_alloc(arena, q->k * sizeof **hits);
    *n = 0;
    bool filtered = q->filter && q->filter->n > 0;
    lh_keep_ctx kc = {c, filtered ? q->filter : NULL};
    int ef = q->ef_search > 0 ? q->ef_search : c->params.ef_search;
    if (ef < (int)q->k)
        ef = (int)q->k;
    pthread_rwlock_rdlock(&c->rw);
    lh_err *err = NULL;
    if (lh_vec_idmap_count(c->ids) > 0) {
        bool keep_all = !filtered && c->tombstones == 0;
        err = lh_fx_search(c->ix, q->vector, q->k, ef, keep_all ? NULL : lh_keep, &kc, dist,
                           labels);
        for (size_t i = 0; !err && i < q->k && labels[i] >= 0; i++)
            lh_fill_hit(c, labels[i], dist[i], q->include_vectors, arena, &(*hits)[(*n)++]);
    }
    pthread_rwlock_unlock(&c->rw);
    return err;
}

/* ---- keyword search ---- */

typedef struct lh_kw_collect {
    const lh_vec_collection *c;
    const lh_vec_filter *filter;
    size_t k;
    size_t snippets; /* the first this many hits get one */
    lh_arena *arena;
    lh_vector_hit *hits;
    size_t n;
    size_t seen; /* matches looked at: fewer than asked means no more exist */
} lh_kw_collect;

static bool lh_kw_take(void *user, const lh_vec_keyword_match *m)
{
    lh_kw_collect *kc = user;
    kc->seen++;
    int64_t label = lh_vec_idmap_get(kc->c->ids, m->id, m->id_len);
    if (label < 0)
        return true; /* cannot happen under the lock; skipped all the same */
    const lh_vec_slot *s = &kc->c->slots[label];
    if (kc->filter && !lh_vec_filter_match(kc->filter, lh_slot_meta(s), s->meta_len))
        return true;
    lh_vector_hit *h = &kc->hits[kc->n++];
    lh_fill_hit(kc->c, label, 0, false, kc->arena, h);
    h->score = m->score;
    if (kc->n > kc->snippets)
        return kc->n < kc->k;
    lh_buf snippet;
    lh_buf_init(&snippet);
    lh_vec_keyword_snippet(kc->c->kw, m, &snippet);
    h->snippet = (lh_str){lh_arena_strndup(kc->arena, snippet.data ? snippet.data : "",
                                           snippet.len),
                          snippet.len};
    lh_buf_free(&snippet);
    return kc->n < kc->k;
}

lh_err *lh_vec_collection_keyword(lh_vec_collection *c, const lh_str *text,
                                  const lh_vec_filter *filter, size_t k, size_t snippets,
                                  lh_arena *arena, lh_vector_hit **hits, size_t *n)
{
    bool filtered = filter && filter->n > 0;
    lh_kw_collect kc = {c, filtered ? filter : NULL, k, snippets, arena, NULL, 0, 0};
    kc.hits = lh_arena_alloc(arena, k * sizeof *kc.hits);
    lh_err *err = NULL;
    pthread_rwlock_rdlock(&c->rw);
    /* A filter may pass few matches: look further each round, until k
     * pass or the matches run out. */
    for (size_t window = filtered ? 4 * k : k;; window *= 4) {
        kc.n = kc.seen = 0;
        err = lh_vec_keyword_search(c->kw, text->s, text->len, window, lh_kw_take, &kc);
        if (err || kc.n == k || kc.seen < window)
            break;
    }
    pthread_rwlock_unlock(&c->rw);
    *hits = kc.hits;
    *n = kc.n;
    return err;
}

/* ---- reads ---- */

lh_vec_counts lh_vec_collection_counts(lh_vec_collection *c)
{
    pthread_rwlock_rdlock(&c->rw);
    lh_vec_counts k = {
        .live = lh_vec_idmap_count(c->ids),
        .tombstones = c->tombstones,
        .labels = c->n_slots,
        .memory_bytes = lh_fx_memory_bytes(c->ix) + c->blob_bytes +
                        c->cap_slots * sizeof *c->slots + lh_vec_idmap_memory_bytes(c->ids),
    };
    pthread_rwlock_unlock(&c->rw);
    return k;
}

bool lh_vec_collection_wants_rebuild(lh_vec_collection *c, size_t min_deleted)
{
    lh_vec_counts k = lh_vec_collection_counts(c);
    return k.tombstones > min_deleted && k.tombstones * 5 > k.labels;
}

lh_err *lh_vec_collection_view(lh_vec_collection *c, lh_vec_view_fn fn, void *user)
{
    return fn(user, c->ix, c->slots, c->n_slots);
}

/* ---- rebuilds ---- */

lh_err *lh_vec_collection_copy_live(lh_vec_collection *c, int64_t **labels, float **vectors,
                                    size_t *n, size_t *label_count)
{
    size_t d = (size_t)c->params.dimension;
    pthread_rwlock_rdlock(&c->rw);
    size_t live = lh_vec_idmap_count(c->ids);
    *labels = malloc((live ? live : 1) * sizeof **labels);
    *vectors = malloc((live ? live : 1) * d * sizeof **vectors);
    lh_err *err = NULL;
    if (!*labels || !*vectors) {
        err = lh_err_new(LH_EINTERNAL, NULL, "out of memory copying %zu vectors", live);
    } else {
        size_t j = 0;
        for (size_t i = 0; i < c->n_slots; i++) {
            if (!c->slots[i].alive)
                continue;
            (*labels)[j] = (int64_t)i;
            lh_fx_reconstruct(c->ix, (int64_t)i, *vectors + j * d);
            j++;
        }
        assert(j == live);
        *n = live;
        *label_count = c->n_slots;
    }
    pthread_rwlock_unlock(&c->rw);
    return err;
}

/* Adds to `fresh` the live labels added since the copy; their slots go
 * after the copied ones in `slots`. Returns the new slot count via *n. */
static lh_err *lh_carry_over(lh_vec_collection *c, lh_fx_index *fresh, size_t label_count,
                             lh_vec_slot *slots, size_t *n)
{
    size_t d = (size_t)c->params.dimension;
    float *v = malloc(d * sizeof *v);
    if (!v)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    lh_err *err = NULL;
    for (size_t l = label_count; !err && l < c->n_slots; l++) {
        if (!c->slots[l].alive)
            continue;
        lh_fx_reconstruct(c->ix, (int64_t)l, v);
        err = lh_fx_add(fresh, 1, v);
        if (!err)
            slots[(*n)++] = c->slots[l];
    }
    free(v);
    return err;
}

lh_err *lh_vec_collection_swap(lh_vec_collection *c, lh_fx_index *fresh, const int64_t *labels,
                               size_t n, size_t label_count)
{
    /* The write lock keeps every mutation out, so reading slots and the
     * old index here races only with searches, which also just read. */
    assert(label_count <= c->n_slots && lh_fx_count(fresh) == (int64_t)n);
    size_t cap = n + (c->n_slots - label_count) + 64;
    lh_vec_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory for %zu labels", cap);
    for (size_t i = 0; i < n; i++)
        slots[i] = c->slots[labels[i]]; /* dead if deleted meanwhile */
    size_t count = n;
    lh_err *err = lh_carry_over(c, fresh, label_count, slots, &count);
    if (err) {
        free(slots);
        return err;
    }
    lh_vec_idmap *ids = lh_vec_idmap_create();
    size_t tombstones = 0;
    for (size_t i = 0; i < count; i++) {
        if (slots[i].alive)
            lh_vec_idmap_put(ids, slots[i].blob, slots[i].id_len, (int64_t)i);
        else
            tombstones++;
    }
    pthread_rwlock_wrlock(&c->rw);
    lh_fx_index *old_ix = c->ix;
    lh_vec_slot *old_slots = c->slots;
    lh_vec_idmap *old_ids = c->ids;
    c->ix = fresh;
    c->slots = slots;
    c->n_slots = count;
    c->cap_slots = cap;
    c->ids = ids;
    c->tombstones = tombstones;
    atomic_store(&c->dirty, true);
    pthread_rwlock_unlock(&c->rw);
    lh_fx_destroy(old_ix);
    free(old_slots); /* the blobs moved to the new table */
    lh_vec_idmap_destroy(old_ids);
    return NULL;
}
