/*
 * vector_state.c — vectord's table of open indexes: a sorted array of
 * collections under one mutex. Lookups hand out references, so a search
 * can finish on an index that is being dropped.
 */
#include "actors/vector/vector_internal.h"

#include <stdlib.h>
#include <string.h>

#include "actors/vector/params.h"

size_t lh_vec_state_position(const lh_vec_state *st, const char *name, bool *found)
{
    size_t lo = 0, hi = st->n_cols;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(lh_vec_collection_params(st->cols[mid])->name, name);
        if (cmp == 0) {
            *found = true;
            return mid;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

lh_err *lh_vec_state_insert(lh_vec_state *st, size_t at, lh_vec_collection *c)
{
    if (st->n_cols == st->cap_cols) {
        size_t cap = st->cap_cols ? st->cap_cols * 2 : 8;
        lh_vec_collection **cols = realloc(st->cols, cap * sizeof *cols);
        if (!cols)
            return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
        st->cols = cols;
        st->cap_cols = cap;
    }
    memmove(st->cols + at + 1, st->cols + at, (st->n_cols - at) * sizeof *st->cols);
    st->cols[at] = c;
    st->n_cols++;
    return NULL;
}

void lh_vec_state_remove(lh_vec_state *st, size_t at)
{
    lh_vec_collection *c = st->cols[at];
    memmove(st->cols + at, st->cols + at + 1, (st->n_cols - at - 1) * sizeof *st->cols);
    st->n_cols--;
    lh_vec_collection_unref(c);
}

lh_err *lh_vec_state_find(lh_vec_state *st, const lh_str *name, const char *field,
                          lh_vec_collection **out)
{
    lh_err *err = lh_vec_check_name(name, field);
    if (err)
        return err;
    char key[LH_VECTOR_MAX_INDEX_NAME + 1];
    memcpy(key, name->s, name->len);
    key[name->len] = '\0';
    bool found;
    pthread_mutex_lock(&st->mu);
    size_t at = lh_vec_state_position(st, key, &found);
    if (found) {
        *out = st->cols[at];
        lh_vec_collection_ref(*out);
    }
    pthread_mutex_unlock(&st->mu);
    return found ? NULL : lh_err_new(LH_ENOTFOUND, field, "no index named '%s'", key);
}

lh_vec_collection **lh_vec_state_all(lh_vec_state *st, size_t *n)
{
    pthread_mutex_lock(&st->mu);
    lh_vec_collection **cols = malloc((st->n_cols ? st->n_cols : 1) * sizeof *cols);
    *n = cols ? st->n_cols : 0;
    for (size_t i = 0; i < *n; i++) {
        cols[i] = st->cols[i];
        lh_vec_collection_ref(cols[i]);
    }
    pthread_mutex_unlock(&st->mu);
    return cols;
}

void lh_vec_state_release(lh_vec_collection **cols, size_t n)
{
    for (size_t i = 0; i < n; i++)
        lh_vec_collection_unref(cols[i]);
    free(cols);
}

void lh_vec_state_maybe_rebuild(lh_vec_state *st, lh_vec_collection *c)
{
    if (!lh_vec_collection_wants_rebuild(c, st->rebuild_min_deleted))
        return;
    pthread_mutex_lock(&st->mu); /* st->bg goes away under it at stop */
    if (st->bg)
        lh_vec_background_kick(st->bg);
    pthread_mutex_unlock(&st->mu);
}
