/*
 * keyword_text.c — text as the keyword side sees it: cut and stemmed by
 * SQLite FTS5's `porter` tokenizer (over `unicode61`), reached through the
 * fts5_api of an in-memory database, so the words are exactly those FTS5
 * would index; a user's query turned into terms; and snippets.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "actors/vector/keyword_internal.h"

#define LH_KW_SNIPPET_TOKENS 16
/* 16 tokens are about 100 bytes of English, but one unicode61 token can be
 * a whole run of Chinese, so a snippet is also bounded in bytes. */
#define LH_KW_SNIPPET_MAX_BYTES 480

lh_err *lh_kw_tokenize(lh_vec_keyword *k, bool query, const char *text, size_t len,
                       lh_kw_token_fn fn, void *user)
{
    /* One tokenizer per call: the porter tokenizer keeps a buffer inside,
     * so one instance must not serve two threads. Creating one is cheap. */
    Fts5Tokenizer *tok = NULL;
    if (k->tokenizer.xCreate(k->tokenizer_ctx, NULL, 0, &tok) != SQLITE_OK)
        return lh_err_new(LH_EINTERNAL, NULL, "keyword index: cannot create a tokenizer");
    int rc = len ? k->tokenizer.xTokenize(tok, user,
                                          query ? FTS5_TOKENIZE_QUERY : FTS5_TOKENIZE_DOCUMENT,
                                          text, (int)len, fn)
                 : SQLITE_OK;
    k->tokenizer.xDelete(tok);
    return rc == SQLITE_OK ? NULL
                           : lh_err_new(LH_EINTERNAL, NULL, "keyword index: tokenizer failed");
}

/* ---- queries ---- */

/* English words so common that matching them scores nearly every item:
 * left out of a query (unless it has nothing else), which keeps BM25 from
 * ranking the whole index for "the" and "of". */
static const char *const lh_kw_stopwords[] = {
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in",
    "into", "is", "it", "its", "of", "on", "or", "that", "the", "their", "this", "to",
    "was", "were", "which", "with",
};

static bool lh_kw_stopword(const char *w, size_t n)
{
    for (size_t i = 0; i < sizeof lh_kw_stopwords / sizeof lh_kw_stopwords[0]; i++)
        if (strlen(lh_kw_stopwords[i]) == n && !strncasecmp(lh_kw_stopwords[i], w, n))
            return true;
    return false;
}

typedef struct lh_kw_parse {
    const char *text;
    lh_vec_kw_query *q;
    size_t off[LH_KW_MAX_TERMS]; /* where each term lies in q->bytes */
    bool stopwords;              /* take them (the second pass) */
    size_t n_stopwords;
} lh_kw_parse;

static int lh_kw_take_term(void *user, int flags, const char *token, int len, int start,
                          int end)
{
    (void)flags;
    lh_kw_parse *p = user;
    lh_vec_kw_query *q = p->q;
    if (lh_kw_stopword(p->text + start, (size_t)(end - start))) {
        p->n_stopwords++;
        if (!p->stopwords)
            return SQLITE_OK;
    }
    for (size_t i = 0; i < q->n; i++)
        if (q->terms[i].len == (size_t)len && !memcmp(q->bytes.data + p->off[i], token, (size_t)len))
            return SQLITE_OK; /* each term once */
    if (q->n == LH_KW_MAX_TERMS)
        return SQLITE_OK;
    p->off[q->n] = q->bytes.len;
    q->terms[q->n++] = (lh_bm25_term){NULL, (size_t)len, 1};
    lh_buf_append(&q->bytes, token, (size_t)len);
    return SQLITE_OK;
}

lh_err *lh_kw_query_parse(lh_vec_keyword *k, const char *text, size_t len, lh_vec_kw_query *q)
{
    lh_kw_parse p = {.text = text, .q = q};
    q->n = 0;
    lh_err *err = lh_kw_tokenize(k, true, text, len, lh_kw_take_term, &p);
    if (!err && !q->n && p.n_stopwords) { /* only stopwords: they are the query */
        p.stopwords = true;
        err = lh_kw_tokenize(k, true, text, len, lh_kw_take_term, &p);
    }
    for (size_t i = 0; i < q->n; i++) /* the bytes have stopped moving */
        q->terms[i].s = q->bytes.data + p.off[i];
    return err;
}

lh_err *lh_vec_keyword_terms(lh_vec_keyword *k, const char *text, size_t len, lh_buf *out)
{
    lh_vec_kw_query q;
    lh_buf_init(&q.bytes);
    lh_err *err = lh_kw_query_parse(k, text, len, &q);
    for (size_t i = 0; !err && i < q.n; i++)
        lh_buf_appendf(out, "%s%.*s", i ? " " : "", (int)q.terms[i].len, q.terms[i].s);
    lh_buf_cstr(out);
    lh_buf_free(&q.bytes);
    return err;
}

/* ---- snippets ---- */

typedef struct lh_kw_token {
    int start, end;
    int term; /* the query term it is, or -1 */
} lh_kw_token;

typedef struct lh_kw_tokens {
    const lh_vec_kw_query *q;
    lh_kw_token *v;
    size_t n, cap;
} lh_kw_tokens;

static int lh_kw_take_token(void *user, int flags, const char *token, int len, int start,
                          int end)
{
    (void)flags;
    lh_kw_tokens *t = user;
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->v = realloc(t->v, t->cap * sizeof *t->v);
        if (!t->v)
            abort(); /* out of memory: as lh_buf does, we do not limp on */
    }
    int term = -1;
    for (size_t i = 0; term < 0 && i < t->q->n; i++)
        if (t->q->terms[i].len == (size_t)len && !memcmp(t->q->terms[i].s, token, (size_t)len))
            term = (int)i;
    t->v[t->n++] = (lh_kw_token){start, end, term};
    return SQLITE_OK;
}

/* Distinct query terms in the window, then matches, ranked in one number. */
static uint64_t lh_kw_window_worth(const lh_kw_token *v, size_t from, size_t to)
{
    uint64_t seen = 0, matches = 0;
    for (size_t i = from; i < to; i++)
        if (v[i].term >= 0) {
            seen |= (uint64_t)1 << v[i].term;
            matches++;
        }
    return (uint64_t)__builtin_popcountll(seen) << 32 | matches;
}

/* The best window begins just before one of the matches (two words of
 * lead-in), so only those starts are weighed. */
static size_t lh_kw_best_window(const lh_kw_tokens *t)
{
    size_t best = 0, last = t->n - LH_KW_SNIPPET_TOKENS;
    uint64_t best_worth = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i].term < 0)
            continue;
        size_t from = i > 2 ? i - 2 : 0;
        if (from > last)
            from = last;
        uint64_t w = lh_kw_window_worth(t->v, from, from + LH_KW_SNIPPET_TOKENS);
        if (w > best_worth) {
            best_worth = w;
            best = from;
        }
    }
    return best;
}

/* A snippet being written: `room` bytes left; false once it is full. */
typedef struct lh_kw_pen {
    lh_buf *out;
    size_t room;
} lh_kw_pen;

/* Appends up to the room left, cut on a UTF-8 character boundary, with
 * "..." where it was cut; false when it was. */
static bool lh_kw_write(lh_kw_pen *p, const char *s, size_t n)
{
    if (n <= p->room) {
        lh_buf_append(p->out, s, n);
        p->room -= n;
        return true;
    }
    size_t cut = p->room;
    while (cut && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    lh_buf_append(p->out, s, cut);
    lh_buf_append_str(p->out, "...");
    p->room = 0;
    return false;
}

void lh_vec_keyword_snippet(lh_vec_keyword *k, const lh_vec_keyword_match *m, lh_buf *out)
{
    const lh_kw_doc *d = &k->docs[m->doc];
    lh_kw_tokens t = {.q = m->query};
    lh_err *err = lh_kw_tokenize(k, false, d->text, d->text_len, lh_kw_take_token, &t);
    lh_err_free(err); /* a text that cannot be cut has no snippet; the hit stands */
    size_t from = t.n > LH_KW_SNIPPET_TOKENS ? lh_kw_best_window(&t) : 0;
    size_t to = t.n > LH_KW_SNIPPET_TOKENS ? from + LH_KW_SNIPPET_TOKENS : t.n;
    size_t at = from ? (size_t)t.v[from].start : 0;
    size_t stop = to < t.n ? (size_t)t.v[to - 1].end : d->text_len;
    lh_kw_pen pen = {out, LH_KW_SNIPPET_MAX_BYTES};
    bool open = true;
    if (from)
        lh_buf_append_str(out, "...");
    for (size_t i = from; open && i < to; i++) {
        if (t.v[i].term < 0)
            continue;
        size_t len = (size_t)(t.v[i].end - t.v[i].start);
        open = lh_kw_write(&pen, d->text + at, (size_t)t.v[i].start - at);
        if (open && len + 2 > pen.room) { /* a marked word is whole or not at all */
            lh_buf_append_str(out, "...");
            open = false;
        }
        if (open) {
            lh_buf_append(out, "[", 1);
            lh_kw_write(&pen, d->text + t.v[i].start, len);
            lh_buf_append(out, "]", 1);
            pen.room -= 2;
            at = (size_t)t.v[i].end;
        }
    }
    if (open && lh_kw_write(&pen, d->text + at, stop - at) && to < t.n)
        lh_buf_append_str(out, "...");
    free(t.v);
}
