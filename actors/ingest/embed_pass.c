/*
 * embed_pass.c — a job's second pass: the source is read again, and each
 * good row's text (the embed column) goes, in batches, through
 * embed.request and then vector.upsert with its id (the id column, or the
 * row's position among good rows: "1", "2", ...) and the row's other
 * columns, typed as inferred, as metadata. Rows whose text is null or
 * blank are skipped. The index is created (cosine, hnsw) at the first
 * batch, with the dimension and the model embedd answers, so its text
 * searches keep using that model; an existing one is used, and its
 * recorded model, if any, is the job's when the job names none (a job
 * that names another fails rather than mix two models' vectors). The
 * first batch's model is then asked for by name, so a default changed
 * mid-job cannot mix them either.
 *
 * Bounds: a batch holds at most `batch` rows, 768 KiB of texts to embed
 * (embedd's limit is 1 MiB) and about 4 MiB of items to upsert (the bus
 * carries 8 MiB); a text is cut, at a UTF-8 boundary, to 32 KiB for the
 * embedder and 64 KiB for the index; metadata keeps the columns that fit
 * in LH_VECTOR_MAX_METADATA_BYTES, in column order.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "actors/ingest/ingest_internal.h"
#include "bus/clock.h"
#include "bus/value.h"
#include "schemas/embed.h"
#include "schemas/vector.h"

#define LH_BATCH_EMBED_BYTES (768 * 1024)
#define LH_BATCH_UPSERT_BYTES (4 * 1024 * 1024)
#define LH_VECTOR_BYTES_GUESS (LH_VECTOR_MAX_DIMENSION * 5) /* msgpack float32s */
#define LH_MAP_HEADER_MAX 5

typedef struct lh_batch_item {
    size_t text_off, text_len, embed_len; /* the text; its first embed_len bytes are embedded */
    size_t id_off, id_len;
    size_t meta_off, meta_len;
} lh_batch_item;

typedef struct lh_embed_run {
    lh_ingest_state *st;
    lh_job *job;
    size_t text_col, id_col;
    lh_buf data;  /* the batch's texts, ids and metadata */
    lh_buf entry; /* metadata entries of the row being added */
    lh_batch_item *items;
    size_t n;
    size_t embed_bytes, upsert_bytes;
    bool index_ready;
    char model[LH_VECTOR_MAX_MODEL + 1]; /* pinned by the index or the first batch */
    char recorded[LH_VECTOR_MAX_MODEL + 1]; /* the existing index's model; "" = none */
    bool index_exists;
    int64_t embedded;
    int64_t event_ms;
    lh_arena *arena;
} lh_embed_run;

/* The longest prefix of at most `max` bytes that does not split a UTF-8
 * sequence. */
static size_t lh_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static bool lh_blank_bytes(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return false;
    return true;
}

static bool lh_blank(const lh_tab_field *f)
{
    return !f || f->kind == LH_TAB_NULL || lh_blank_bytes(f->s, f->len);
}

static const lh_tab_field *lh_field_at(const lh_tab_record *rec, size_t col)
{
    return col < rec->n ? &rec->fields[col] : NULL;
}

/* ---- metadata ---- */

static void lh_write_value(lh_vw *w, const lh_tab_field *f, lh_tab_type type)
{
    lh_tab_value v;
    if (!f || !lh_tab_convert(f, type, &v)) {
        if (f && f->kind != LH_TAB_NULL) /* does not fit the type: keep its text */
            lh_vw_str(w, f->s, f->len);
        else
            lh_vw_nil(w);
        return;
    }
    if (v.null)
        lh_vw_nil(w);
    else if (v.type == LH_TAB_TYPE_INTEGER)
        lh_vw_int(w, v.i);
    else if (v.type == LH_TAB_TYPE_REAL)
        lh_vw_double(w, v.r);
    else if (v.type == LH_TAB_TYPE_BOOLEAN)
        lh_vw_bool(w, v.b);
    else
        lh_vw_str(w, v.s, v.len);
}

/* The row's columns but the text one, as a msgpack map in e->data; a
 * column that would push it past the metadata bound is left out. */
static void lh_pack_metadata(lh_embed_run *e, const lh_tab_record *rec, lh_batch_item *item)
{
    const lh_job *job = e->job;
    lh_buf_reset(&e->entry);
    lh_vw w;
    lh_vw_init(&w, &e->entry);
    uint32_t count = 0;
    for (size_t c = 0; c < job->n_schema; c++) {
        if (c == e->text_col)
            continue;
        size_t before = e->entry.len;
        lh_vw_cstr(&w, job->schema[c].name);
        lh_write_value(&w, lh_field_at(rec, c), job->schema[c].type);
        if (e->entry.len + LH_MAP_HEADER_MAX > LH_VECTOR_MAX_METADATA_BYTES)
            e->entry.len = before; /* too big: skip this column, keep the map valid */
        else
            count++;
    }
    item->meta_off = e->data.len;
    lh_vw_init(&w, &e->data);
    lh_vw_map(&w, count);
    lh_buf_append(&e->data, e->entry.data, e->entry.len);
    item->meta_len = e->data.len - item->meta_off;
}

/* ---- one batch ---- */

static lh_str lh_slice(const lh_embed_run *e, size_t off, size_t len)
{
    return (lh_str){len ? e->data.data + off : "", len};
}

static lh_str lh_cstr(const char *s) { return (lh_str){s, strlen(s)}; }

/* Before the first batch: does the index exist, and which model made it? */
static lh_err *lh_look_up_index(lh_embed_run *e)
{
    const lh_job_spec *s = &e->job->spec;
    lh_vector_name_request req = {.index = lh_cstr(s->embed_index)};
    lh_vector_index_info *info = NULL;
    lh_err *err = lh_ingest_call(e->st, &lh_ep_vector_stats, &req, e->arena, (void **)&info);
    if (err && lh_err_code(err) == LH_ENOTFOUND) {
        lh_err_free(err);
        return NULL;
    }
    if (err)
        return err;
    e->index_exists = true;
    snprintf(e->recorded, sizeof e->recorded, "%.*s", (int)info->model.len,
             info->model.s ? info->model.s : "");
    if (!*s->model)
        snprintf(e->model, sizeof e->model, "%s", e->recorded);
    return NULL;
}

/* After the first batch: the index exists with the model just used, or
 * is made with it. */
static lh_err *lh_ensure_index(lh_embed_run *e, const lh_embed_reply *emb)
{
    const lh_job_spec *s = &e->job->spec;
    snprintf(e->model, sizeof e->model, "%.*s", (int)emb->model.len,
             emb->model.s ? emb->model.s : "");
    if (e->index_exists && *e->recorded && strcmp(e->recorded, e->model))
        return lh_err_new(LH_ECONFLICT, "embed.model",
                          "index '%s' holds vectors of model %s; this job embeds with %s",
                          s->embed_index, e->recorded, e->model);
    lh_err *err = NULL;
    if (!e->index_exists) {
        lh_vector_create_request req = {
            .index = lh_cstr(s->embed_index),
            .dimension = emb->dimension,
            .metric = {"cosine", 6},
            .kind = {"hnsw", 4},
            .m = 32,
            .ef_construction = 200,
            .ef_search = 64,
            .model = *e->model ? lh_cstr(e->model) : (lh_str){0},
        };
        err = lh_ingest_call(e->st, &lh_ep_vector_create, &req, NULL, NULL);
        if (err && lh_err_code(err) == LH_ECONFLICT) { /* made meanwhile: upsert checks it */
            lh_err_free(err);
            err = NULL;
        }
    }
    e->index_ready = !err;
    return err;
}

static lh_err *lh_embed_texts(lh_embed_run *e, lh_embed_reply **out)
{
    const lh_job_spec *s = &e->job->spec;
    lh_str *texts = lh_arena_alloc(e->arena, e->n * sizeof *texts);
    for (size_t i = 0; i < e->n; i++)
        texts[i] = lh_slice(e, e->items[i].text_off, e->items[i].embed_len);
    const char *model = *e->model ? e->model : s->model;
    lh_embed_request req = {
        .texts = {texts, e->n},
        .model = *model ? lh_cstr(model) : (lh_str){0},
        .normalize = true,
    };
    lh_err *err = lh_ingest_call(e->st, &lh_ep_embed_request, &req, e->arena, (void **)out);
    if (!err && ((*out)->vectors.rows != e->n || (*out)->dimension < 1))
        err = lh_err_new(LH_EINTERNAL, NULL, "embed.request answered %zu vectors for %zu texts",
                         (*out)->vectors.rows, e->n);
    return err;
}

static lh_err *lh_upsert(lh_embed_run *e, const lh_embed_reply *emb)
{
    const lh_job_spec *s = &e->job->spec;
    lh_vector_item *items = lh_arena_alloc(e->arena, e->n * sizeof *items);
    size_t dim = emb->vectors.cols;
    for (size_t i = 0; i < e->n; i++) {
        const lh_batch_item *b = &e->items[i];
        items[i].id = lh_slice(e, b->id_off, b->id_len);
        items[i].vector = (lh_floats){emb->vectors.v + i * dim, dim};
        items[i].metadata = (lh_raw){e->data.data + b->meta_off, b->meta_len};
        items[i].text = lh_slice(e, b->text_off, b->text_len);
    }
    lh_vector_upsert_request req = {.index = {s->embed_index, strlen(s->embed_index)},
                                    .items = {items, e->n}};
    return lh_ingest_call(e->st, &lh_ep_vector_upsert, &req, NULL, NULL);
}

static void lh_batch_done(lh_embed_run *e)
{
    e->embedded += (int64_t)e->n;
    pthread_mutex_lock(&e->st->mu);
    e->job->rows_embedded = e->embedded;
    pthread_mutex_unlock(&e->st->mu);
    e->n = e->embed_bytes = e->upsert_bytes = 0;
    lh_buf_reset(&e->data);
    int64_t now = lh_clock_ms();
    if (now - e->event_ms >= LH_INGEST_PROGRESS_MS) {
        e->event_ms = now;
        lh_job_progress_event(e->st, e->job, "embed");
    }
}

static lh_err *lh_flush(lh_embed_run *e)
{
    if (!e->n)
        return NULL;
    lh_embed_reply *emb = NULL;
    lh_err *err = e->index_ready ? NULL : lh_look_up_index(e);
    if (!err)
        err = lh_embed_texts(e, &emb);
    if (!err && !e->index_ready)
        err = lh_ensure_index(e, emb);
    if (!err)
        err = lh_upsert(e, emb);
    lh_arena_reset(e->arena);
    if (!err)
        lh_batch_done(e);
    return err;
}

/* ---- rows ---- */

/* The row's id, or false (with a row error) when the id column cannot give one. */
static bool lh_row_id(lh_embed_run *e, const lh_tab_record *rec, char num[24], lh_str *id)
{
    if (e->id_col == LH_JOB_NO_COLUMN) {
        *id = (lh_str){num, (size_t)snprintf(num, 24, "%lld", (long long)rec->index)};
        return true;
    }
    const lh_tab_field *f = lh_field_at(rec, e->id_col);
    const char *why = lh_blank(f) ? "its id is empty"
                      : f->len > LH_VECTOR_MAX_ID_BYTES ? "its id is longer than 256 bytes"
                                                         : NULL;
    if (why) {
        char msg[96];
        snprintf(msg, sizeof msg, "not embedded: %s", why);
        lh_job_add_error(e->st, e->job, rec->line, msg);
        return false;
    }
    *id = (lh_str){f->s, f->len};
    return true;
}

static lh_err *lh_embed_record(void *user, const lh_tab_record *rec)
{
    lh_embed_run *e = user;
    const lh_tab_field *text = lh_field_at(rec, e->text_col);
    char num[24];
    lh_str id;
    if (lh_blank(text))
        return NULL;
    size_t text_len = lh_utf8_cut(text->s, text->len, LH_VECTOR_MAX_TEXT_BYTES);
    size_t embed_len = lh_utf8_cut(text->s, text->len, LH_EMBED_MAX_TEXT_BYTES);
    if (lh_blank_bytes(text->s, embed_len) || !lh_row_id(e, rec, num, &id))
        return NULL; /* blank where the embedder would read it, or no id */
    size_t upsert = text_len + id.len + LH_VECTOR_MAX_METADATA_BYTES + LH_VECTOR_BYTES_GUESS;
    lh_err *err = NULL;
    if (e->embed_bytes + embed_len > LH_BATCH_EMBED_BYTES ||
        e->upsert_bytes + upsert > LH_BATCH_UPSERT_BYTES)
        err = lh_flush(e);
    if (err)
        return err;
    lh_batch_item *it = &e->items[e->n++];
    it->text_off = e->data.len;
    it->text_len = text_len;
    it->embed_len = embed_len;
    lh_buf_append(&e->data, text->s, text_len);
    it->id_off = e->data.len;
    it->id_len = id.len;
    lh_buf_append(&e->data, id.s, id.len);
    lh_pack_metadata(e, rec, it);
    e->embed_bytes += embed_len;
    e->upsert_bytes += upsert;
    return e->n == e->st->batch ? lh_flush(e) : NULL;
}

/* Malformed rows were counted (or failed the job) in pass 1. */
static lh_err *lh_embed_bad(void *user, int64_t line, const char *message)
{
    (void)user, (void)line, (void)message;
    return NULL;
}

lh_err *lh_embed_pass(lh_ingest_state *st, lh_job *job)
{
    lh_embed_run e = {
        .st = st,
        .job = job,
        .text_col = lh_job_column_index(job, job->spec.embed_column),
        .id_col = *job->spec.id_column ? lh_job_column_index(job, job->spec.id_column)
                                       : LH_JOB_NO_COLUMN,
        .items = calloc(st->batch, sizeof(lh_batch_item)),
        .arena = lh_arena_create(),
        .event_ms = lh_clock_ms(),
    };
    lh_buf_init(&e.data);
    lh_buf_init(&e.entry);
    if (!e.items)
        abort();
    lh_tab_handler h = {.record = lh_embed_record, .bad_record = lh_embed_bad, .user = &e};
    lh_tab_reader *reader = NULL;
    lh_err *err = lh_tab_reader_create(&job->spec.opts, &h, &reader);
    if (!err)
        err = lh_job_read_source(st, job, reader, NULL, NULL);
    if (!err)
        err = lh_flush(&e);
    lh_tab_reader_destroy(reader);
    lh_buf_free(&e.data);
    lh_buf_free(&e.entry);
    free(e.items);
    lh_arena_destroy(e.arena);
    return err;
}
