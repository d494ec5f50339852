/*
 * keyword.c — an index's keyword side (keyword.h): each item with text has
 * a document number, reused after it is deleted, that keys its id, its
 * text (for snippets) and its terms in the BM25 index (bm25.c). Texts are
 * cut by keyword_text.c.
 */
#include "actors/vector/keyword.h"

#include <stdlib.h>
#include <string.h>

#include "actors/vector/keyword_internal.h"

static lh_err *lh_kw_find_tokenizer(lh_vec_keyword *k)
{
    fts5_api *api = NULL;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(k->db, "SELECT fts5(?1)", -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_pointer(s, 1, (void *)&api, "fts5_api_ptr", NULL);
        sqlite3_step(s);
    }
    sqlite3_finalize(s);
    if (!api || api->xFindTokenizer(api, "porter", &k->tokenizer_ctx, &k->tokenizer) != SQLITE_OK)
        return lh_err_new(LH_EINTERNAL, NULL, "keyword index: SQLite has no FTS5 porter tokenizer");
    return NULL;
}

lh_err *lh_vec_keyword_create(lh_vec_keyword **out)
{
    lh_vec_keyword *k = calloc(1, sizeof *k);
    if (!k)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    lh_err *err = NULL;
    if (sqlite3_open_v2(":memory:", &k->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK)
        err = lh_err_new(LH_EINTERNAL, NULL, "keyword index: %s",
                         k->db ? sqlite3_errmsg(k->db) : "out of memory");
    if (!err)
        err = lh_kw_find_tokenizer(k);
    if (err) {
        lh_vec_keyword_destroy(k);
        return err;
    }
    k->index = lh_bm25_create();
    k->mask = 255;
    k->slots = calloc(k->mask + 1, sizeof *k->slots);
    if (!k->slots)
        abort(); /* out of memory: as lh_buf does, we do not limp on */
    *out = k;
    return NULL;
}

void lh_vec_keyword_destroy(lh_vec_keyword *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < k->n_docs; i++) {
        free(k->docs[i].id);
        free(k->docs[i].text);
    }
    free(k->docs);
    free(k->free_docs);
    free(k->slots);
    lh_bm25_destroy(k->index);
    sqlite3_close(k->db);
    free(k);
}

/* ---- ids ---- */

static size_t lh_kw_home(const lh_vec_keyword *k, const char *id, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)id[i]) * 0x100000001b3ULL;
    return (size_t)h & k->mask;
}

/* The slot of `id`, or the empty slot where it would go. */
static size_t lh_kw_slot(const lh_vec_keyword *k, const char *id, size_t len)
{
    for (size_t i = lh_kw_home(k, id, len);; i = (i + 1) & k->mask) {
        if (!k->slots[i])
            return i;
        const lh_kw_doc *d = &k->docs[k->slots[i] - 1];
        if (d->id_len == len && !memcmp(d->id, id, len))
            return i;
    }
}

static void lh_kw_grow_ids(lh_vec_keyword *k)
{
    uint32_t *old = k->slots;
    size_t old_n = k->mask + 1;
    k->mask = 2 * old_n - 1;
    k->slots = calloc(k->mask + 1, sizeof *k->slots);
    if (!k->slots)
        abort();
    for (size_t i = 0; i < old_n; i++)
        if (old[i]) {
            const lh_kw_doc *d = &k->docs[old[i] - 1];
            k->slots[lh_kw_slot(k, d->id, d->id_len)] = old[i];
        }
    free(old);
}

/* Linear probing's deletion: later entries of the run move back into the
 * hole when their home slot allows, so no lookup stops early. */
static void lh_kw_unslot(lh_vec_keyword *k, size_t hole)
{
    k->slots[hole] = 0;
    for (size_t j = (hole + 1) & k->mask; k->slots[j]; j = (j + 1) & k->mask) {
        const lh_kw_doc *d = &k->docs[k->slots[j] - 1];
        size_t home = lh_kw_home(k, d->id, d->id_len);
        bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays)
            continue;
        k->slots[hole] = k->slots[j];
        k->slots[j] = 0;
        hole = j;
    }
}

/* ---- documents ---- */

static uint32_t lh_kw_new_doc(lh_vec_keyword *k)
{
    if (k->n_free)
        return k->free_docs[--k->n_free];
    if (k->n_docs == k->docs_cap) {
        k->docs_cap = k->docs_cap ? 2 * k->docs_cap : 64;
        k->docs = realloc(k->docs, k->docs_cap * sizeof *k->docs);
        if (!k->docs)
            abort();
    }
    k->docs[k->n_docs] = (lh_kw_doc){0};
    return (uint32_t)k->n_docs++;
}

static char *lh_kw_copy(const char *s, size_t len)
{
    char *c = malloc(len ? len : 1);
    if (!c)
        abort();
    memcpy(c, s, len);
    return c;
}

typedef struct lh_kw_bag {
    lh_buf bytes;  /* every token, one after another */
    size_t *off;   /* where each token starts; its length is the next's start */
    size_t n, cap;
} lh_kw_bag;

static int lh_kw_bag_add(void *user, int flags, const char *token, int len, int start,
                          int end)
{
    (void)flags;
    (void)start;
    (void)end;
    lh_kw_bag *b = user;
    if (b->n + 1 >= b->cap) {
        b->cap = b->cap ? 2 * b->cap : 256;
        b->off = realloc(b->off, b->cap * sizeof *b->off);
        if (!b->off)
            abort();
    }
    b->off[b->n++] = b->bytes.len;
    lh_buf_append(&b->bytes, token, (size_t)len);
    return SQLITE_OK;
}

static int lh_kw_term_order(const void *pa, const void *pb)
{
    const lh_bm25_term *a = pa, *b = pb;
    int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* Indexes doc's text: its tokens sorted, each distinct one with its count. */
static lh_err *lh_kw_index_text(lh_vec_keyword *k, uint32_t doc)
{
    const lh_kw_doc *d = &k->docs[doc];
    lh_kw_bag bag = {0};
    lh_buf_init(&bag.bytes);
    lh_err *err = lh_kw_tokenize(k, false, d->text, d->text_len, lh_kw_bag_add, &bag);
    lh_bm25_term *terms = malloc((bag.n ? bag.n : 1) * sizeof *terms);
    if (!terms)
        abort();
    for (size_t i = 0; i < bag.n; i++) {
        size_t end = i + 1 < bag.n ? bag.off[i + 1] : bag.bytes.len;
        terms[i] = (lh_bm25_term){bag.bytes.data + bag.off[i], end - bag.off[i], 1};
    }
    qsort(terms, bag.n, sizeof *terms, lh_kw_term_order);
    size_t distinct = 0;
    for (size_t i = 0; i < bag.n; i++) {
        if (distinct && !lh_kw_term_order(&terms[distinct - 1], &terms[i]))
            terms[distinct - 1].tf++;
        else
            terms[distinct++] = terms[i];
    }
    if (!err)
        lh_bm25_add(k->index, doc, terms, distinct, (uint32_t)bag.n);
    free(terms);
    free(bag.off);
    lh_buf_free(&bag.bytes);
    return err;
}

static void lh_kw_forget(lh_vec_keyword *k, size_t slot)
{
    uint32_t doc = k->slots[slot] - 1;
    lh_kw_doc *d = &k->docs[doc];
    lh_bm25_remove(k->index, doc);
    lh_kw_unslot(k, slot);
    free(d->id);
    free(d->text);
    *d = (lh_kw_doc){0};
    if (k->n_free == k->free_cap) {
        k->free_cap = k->free_cap ? 2 * k->free_cap : 64;
        k->free_docs = realloc(k->free_docs, k->free_cap * sizeof *k->free_docs);
        if (!k->free_docs)
            abort();
    }
    k->free_docs[k->n_free++] = doc;
    k->n_ids--;
}

lh_err *lh_vec_keyword_put(lh_vec_keyword *k, const char *id, size_t id_len, const char *text,
                           size_t text_len)
{
    size_t slot = lh_kw_slot(k, id, id_len);
    if (k->slots[slot])
        lh_kw_forget(k, slot);
    if (2 * (k->n_ids + 1) > k->mask + 1) /* keep the table at most half full */
        lh_kw_grow_ids(k);
    uint32_t doc = lh_kw_new_doc(k);
    k->docs[doc] = (lh_kw_doc){lh_kw_copy(id, id_len), id_len, lh_kw_copy(text, text_len),
                               text_len};
    k->slots[lh_kw_slot(k, id, id_len)] = doc + 1;
    k->n_ids++;
    lh_err *err = lh_kw_index_text(k, doc);
    if (err)
        lh_kw_forget(k, lh_kw_slot(k, id, id_len));
    return err;
}

void lh_vec_keyword_remove(lh_vec_keyword *k, const char *id, size_t id_len)
{
    size_t slot = lh_kw_slot(k, id, id_len);
    if (k->slots[slot])
        lh_kw_forget(k, slot);
}

/* ---- search ---- */

lh_err *lh_vec_keyword_search(lh_vec_keyword *k, const char *query, size_t len, size_t limit,
                              lh_vec_keyword_fn fn, void *user)
{
    lh_vec_kw_query q;
    lh_buf_init(&q.bytes);
    lh_err *err = lh_kw_query_parse(k, query, len, &q);
    lh_bm25_hit *hits = malloc((limit ? limit : 1) * sizeof *hits);
    if (!hits)
        abort();
    size_t n = err ? 0 : lh_bm25_search(k->index, q.terms, q.n, limit, hits);
    for (size_t i = 0; i < n; i++) {
        const lh_kw_doc *d = &k->docs[hits[i].doc];
        lh_vec_keyword_match m = {d->id, d->id_len, hits[i].score, hits[i].doc, &q};
        if (!fn(user, &m))
            break;
    }
    free(hits);
    lh_buf_free(&q.bytes);
    return err;
}
