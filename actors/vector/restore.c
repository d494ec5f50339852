/*
 * restore.c — opening an index at start (restore.h).
 *
 * LevelDB is walked once. An item whose (id, seq) the snapshot holds at
 * some label revives that label; any other item (written after the
 * snapshot, or the snapshot is unusable) is added afresh, in batches.
 * Snapshot labels nothing revives — deleted or replaced since — stay
 * tombstones, for the next rebuild to drop.
 */
#include "actors/vector/restore.h"

#include <stdlib.h>
#include <string.h>

#include "actors/vector/idmap.h"
#include "actors/vector/snapshot.h"
#include "bus/log.h"

#define LH_RESTORE_BATCH 1024

typedef struct lh_restore {
    lh_vec_collection *c;
    const lh_vec_labels *labels; /* NULL: no snapshot */
    lh_vec_idmap *label_of;      /* snapshot id -> label */
    lh_arena *arena;             /* copies of pending records */
    lh_vec_record *pending;
    size_t n_pending;
    size_t revived, added;
    uint64_t max_seq;
} lh_restore;

static lh_err *lh_flush(lh_restore *r)
{
    lh_err *err = lh_vec_collection_add(r->c, r->pending, r->n_pending, NULL);
    r->added += r->n_pending;
    r->n_pending = 0;
    lh_arena_reset(r->arena);
    return err;
}

static void lh_keep_copy(lh_restore *r, const lh_vec_record *rec)
{
    lh_vec_record *dst = &r->pending[r->n_pending++];
    *dst = *rec;
    dst->id = lh_arena_strndup(r->arena, rec->id, rec->id_len);
    float *v = lh_arena_alloc(r->arena, rec->dimension * sizeof *v);
    memcpy(v, rec->vector, rec->dimension * sizeof *v);
    dst->vector = v;
    dst->metadata = lh_arena_strndup(r->arena, rec->metadata ? rec->metadata : "",
                                     rec->metadata_len);
    dst->text = lh_arena_strndup(r->arena, rec->text ? rec->text : "", rec->text_len);
}

static lh_err *lh_on_item(void *user, const lh_vec_record *rec)
{
    lh_restore *r = user;
    if (rec->seq > r->max_seq)
        r->max_seq = rec->seq;
    int64_t label = r->label_of ? lh_vec_idmap_get(r->label_of, rec->id, rec->id_len) : -1;
    if (label >= 0 && r->labels->seq[label] == rec->seq) {
        lh_vec_collection_revive(r->c, label, rec);
        r->revived++;
        return NULL;
    }
    lh_keep_copy(r, rec);
    return r->n_pending == LH_RESTORE_BATCH ? lh_flush(r) : NULL;
}

/* The snapshot's live labels by id. */
static lh_vec_idmap *lh_index_labels(const lh_vec_labels *l)
{
    lh_vec_idmap *m = lh_vec_idmap_create();
    for (size_t i = 0; i < l->n; i++)
        if (l->seq[i] != 0)
            lh_vec_idmap_put(m, l->id[i], l->id_len[i], (int64_t)i);
    return m;
}

/* The snapshot's index and labels, or NULL ones (logged) to start empty. */
static lh_fx_index *lh_try_snapshot(const char *dir, const lh_vec_params *p, lh_vec_labels *l)
{
    lh_fx_index *ix = NULL;
    lh_err *err = lh_vec_snapshot_load(dir, p, &ix, l);
    if (!err)
        return ix;
    if (lh_err_code(err) == LH_ENOTFOUND)
        lh_info("index '%s': no snapshot; rebuilding from LevelDB", p->name);
    else
        lh_warn("index '%s': snapshot unusable (%s); rebuilding from LevelDB", p->name,
                lh_err_message(err));
    lh_err_free(err);
    return NULL;
}

static lh_err *lh_walk_store(lh_restore *r, lh_vec_store *store, const lh_vec_params *p)
{
    lh_err *err = lh_vec_store_each_item(store, p, lh_on_item, r);
    if (!err && r->n_pending)
        err = lh_flush(r);
    uint64_t next = 1;
    if (!err)
        err = lh_vec_store_next_seq(store, p->name, &next);
    if (!err)
        lh_vec_collection_set_next_seq(r->c, next > r->max_seq ? next : r->max_seq + 1);
    return err;
}

lh_err *lh_vec_restore(lh_vec_store *store, const lh_vec_params *p, const char *dir,
                       lh_vec_collection **out)
{
    lh_vec_labels labels;
    lh_fx_index *ix = lh_try_snapshot(dir, p, &labels);
    lh_restore r = {.labels = ix ? &labels : NULL};
    lh_err *err = lh_vec_collection_create(p, ix, &r.c); /* owns ix from here */
    if (err) {
        if (ix)
            lh_vec_labels_free(&labels);
        return lh_err_wrap(err, "open index '%s'", p->name);
    }
    r.label_of = ix ? lh_index_labels(&labels) : NULL;
    r.arena = lh_arena_create();
    r.pending = malloc(LH_RESTORE_BATCH * sizeof *r.pending);
    err = r.pending ? lh_walk_store(&r, store, p) : lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    free(r.pending);
    lh_arena_destroy(r.arena);
    lh_vec_idmap_destroy(r.label_of);
    if (ix)
        lh_vec_labels_free(&labels);
    if (err) {
        lh_vec_collection_unref(r.c);
        return lh_err_wrap(err, "open index '%s'", p->name);
    }
    /* Anything added afresh is not in a snapshot yet. */
    lh_vec_collection_set_dirty(r.c, r.added > 0 || !ix);
    lh_info("index '%s': %zu items (%zu from the snapshot, %zu re-added)", p->name,
            r.revived + r.added, r.revived, r.added);
    *out = r.c;
    return NULL;
}
