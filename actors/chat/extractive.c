/*
 * extractive.c — the built-in chat provider: it generates nothing. It
 * cuts the retrieved passages into sentences, ranks them by how many of
 * the question's words (stemmed, stopwords aside) they hold, and answers
 * with the best few quoted verbatim, each followed by the [n] of its
 * passage. So the stack answers out of the box, offline, and every word of
 * an answer can be checked against its source. Asked to stream, it makes
 * the answer as always, then hands it to the sink a word at a time (each
 * with the space after it), so a streaming client sees what it would see
 * of a generating model.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/chat/provider.h"
#include "lib/english/english.h"

#define LH_EX_MAX_TERMS 64
#define LH_EX_QUOTES 3               /* sentences in an answer */
#define LH_EX_MAX_SENTENCE_BYTES 400 /* a longer one is cut, on a character */
#define LH_EX_TERM_BYTES (LH_ENGLISH_MAX_STEM_WORD + 1)

/* The question's distinct stems. */
typedef struct lh_ex_terms {
    unsigned char v[LH_EX_MAX_TERMS][LH_EX_TERM_BYTES];
    size_t len[LH_EX_MAX_TERMS];
    size_t n;
} lh_ex_terms;

/* A sentence of a passage, and how many question terms it holds. */
typedef struct lh_ex_sentence {
    size_t passage;
    const char *s;
    size_t len;
    unsigned hits;
} lh_ex_sentence;

static bool lh_ex_word_byte(unsigned char c) { return isalnum(c) || c >= 0x80; }

/* Calls fn(user, stem, len) for each word of text that is not a stopword. */
static void lh_ex_words(lh_english_stemmer *st, const char *text, size_t n,
                        void (*fn)(void *user, const unsigned char *stem, size_t len), void *user)
{
    unsigned char stem[LH_EX_TERM_BYTES];
    for (size_t i = 0; i < n;) {
        if (!lh_ex_word_byte((unsigned char)text[i])) {
            i++;
            continue;
        }
        size_t start = i;
        while (i < n && lh_ex_word_byte((unsigned char)text[i]))
            i++;
        const unsigned char *w = (const unsigned char *)text + start;
        size_t len = i - start;
        if (len > LH_ENGLISH_MAX_STEM_WORD || lh_english_stopword(w, len))
            continue;
        fn(user, stem, lh_english_stem(st, w, len, stem));
    }
}

static int lh_ex_term_index(const lh_ex_terms *t, const unsigned char *stem, size_t len)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->len[i] == len && !memcmp(t->v[i], stem, len))
            return (int)i;
    return -1;
}

static void lh_ex_add_term(void *user, const unsigned char *stem, size_t len)
{
    lh_ex_terms *t = user;
    if (t->n < LH_EX_MAX_TERMS && lh_ex_term_index(t, stem, len) < 0) {
        memcpy(t->v[t->n], stem, len);
        t->len[t->n++] = len;
    }
}

typedef struct lh_ex_seen {
    const lh_ex_terms *q;
    unsigned long long mask;
} lh_ex_seen;

static void lh_ex_mark_term(void *user, const unsigned char *stem, size_t len)
{
    lh_ex_seen *s = user;
    int i = lh_ex_term_index(s->q, stem, len);
    if (i >= 0)
        s->mask |= 1ULL << i;
}

/* Cuts text into sentences (after . ! ? followed by a space, and at line
 * breaks), trimmed; appends them to *out. */
static void lh_ex_sentences(size_t passage, lh_str text, lh_ex_sentence **out, size_t *n,
                            size_t *cap)
{
    size_t start = 0;
    for (size_t i = 0; i <= text.len; i++) {
        bool end = i == text.len || text.s[i] == '\n' ||
                   ((text.s[i] == '.' || text.s[i] == '!' || text.s[i] == '?') &&
                    (i + 1 == text.len || isspace((unsigned char)text.s[i + 1])));
        if (!end)
            continue;
        size_t stop = i < text.len && text.s[i] != '\n' ? i + 1 : i;
        while (start < stop && isspace((unsigned char)text.s[start]))
            start++;
        while (stop > start && isspace((unsigned char)text.s[stop - 1])) /* "\r" of CRLF */
            stop--;
        if (stop > start + 2) {
            if (*n == *cap) {
                *cap = *cap ? 2 * *cap : 64;
                *out = realloc(*out, *cap * sizeof **out);
                if (!*out)
                    abort(); /* out of memory: as lh_buf does, we do not limp on */
            }
            (*out)[(*n)++] = (lh_ex_sentence){passage, text.s + start, stop - start, 0};
        }
        start = i + 1;
    }
}

/* Best first: more question terms, then the better passage, then earlier. */
static int lh_ex_order(const void *pa, const void *pb)
{
    const lh_ex_sentence *a = pa, *b = pb;
    if (a->hits != b->hits)
        return a->hits > b->hits ? -1 : 1;
    if (a->passage != b->passage)
        return a->passage < b->passage ? -1 : 1;
    return a->s < b->s ? -1 : a->s > b->s;
}

/* Appends a sentence, cut on a UTF-8 character boundary if too long. */
static void lh_ex_quote(lh_buf *out, const lh_ex_sentence *s)
{
    size_t len = s->len;
    bool cut = len > LH_EX_MAX_SENTENCE_BYTES;
    if (cut) {
        len = LH_EX_MAX_SENTENCE_BYTES;
        while (len && ((unsigned char)s->s[len] & 0xC0) == 0x80)
            len--;
    }
    lh_buf_append(out, "\"", 1);
    lh_buf_append(out, s->s, len);
    lh_buf_append_str(out, cut ? "...\"" : "\"");
}

/* The best sentences, ranked; how many were picked. */
static size_t lh_ex_pick(const lh_chat_prompt *p, lh_ex_sentence **picked)
{
    lh_english_stemmer *st = lh_english_stemmer_new();
    lh_ex_terms *q = calloc(1, sizeof *q);
    if (!q)
        abort();
    lh_ex_words(st, p->question.s, p->question.len, lh_ex_add_term, q);
    lh_ex_sentence *all = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < p->n_passages; i++)
        lh_ex_sentences(i, p->passages[i].text, &all, &n, &cap);
    for (size_t i = 0; i < n; i++) {
        lh_ex_seen seen = {q, 0};
        lh_ex_words(st, all[i].s, all[i].len, lh_ex_mark_term, &seen);
        all[i].hits = (unsigned)__builtin_popcountll(seen.mask);
    }
    qsort(all, n, sizeof *all, lh_ex_order);
    size_t keep = 0;
    while (keep < n && keep < LH_EX_QUOTES && (all[keep].hits > 0 || keep == 0))
        keep++;
    free(q);
    lh_english_stemmer_free(st);
    *picked = all;
    return keep;
}

static void lh_ex_cite(const lh_chat_prompt *p, const lh_ex_sentence *s, int64_t n,
                       lh_arena *arena, lh_chat_citation *c)
{
    const lh_chat_passage *from = &p->passages[s->passage];
    size_t len = s->len < LH_EX_MAX_SENTENCE_BYTES ? s->len : LH_EX_MAX_SENTENCE_BYTES;
    while (len < s->len && len && ((unsigned char)s->s[len] & 0xC0) == 0x80)
        len--;
    *c = (lh_chat_citation){.corpus = from->corpus, .id = from->id,
                            .snippet = {lh_arena_strndup(arena, s->s, len), len}};
    LH_SET(c, n, n);
}

/* Writes the answer: each quote with the [n] of its passage, numbered in
 * order of first citation. */
static void lh_ex_answer(const lh_chat_prompt *p, const lh_ex_sentence *q, size_t n_quotes,
                         lh_arena *arena, lh_buf *out, lh_chat_complete_reply *rep)
{
    int64_t *number = lh_arena_alloc(arena, (p->n_passages + 1) * sizeof *number);
    lh_chat_citation *cites = lh_arena_alloc(arena, (n_quotes + 1) * sizeof *cites);
    size_t n_cites = 0;
    lh_buf_append_str(out, "From the indexed documents (quoted, not generated):");
    for (size_t i = 0; i < n_quotes; i++) {
        if (!number[q[i].passage]) {
            number[q[i].passage] = (int64_t)n_cites + 1;
            lh_ex_cite(p, &q[i], (int64_t)n_cites + 1, arena, &cites[n_cites]);
            n_cites++;
        }
        lh_buf_append_str(out, "\n\n");
        lh_ex_quote(out, &q[i]);
        lh_buf_appendf(out, " [%lld]", (long long)number[q[i].passage]);
    }
    rep->citations = (lh_objs){cites, n_cites};
}

/* Cuts the answer after max_tokens words (a token is counted as a word). */
static bool lh_ex_limit(lh_buf *out, int64_t max_tokens)
{
    size_t words = 0;
    for (size_t i = 0; i < out->len; i++) {
        bool starts = !isspace((unsigned char)out->data[i]) &&
                      (i == 0 || isspace((unsigned char)out->data[i - 1]));
        if (starts && (int64_t)words++ == max_tokens) {
            out->len = i;
            while (out->len && isspace((unsigned char)out->data[out->len - 1]))
                out->len--;
            return true;
        }
    }
    return false;
}

/* After a cut: only the passages whose [n] is still in the answer. */
static void lh_ex_drop_uncited(const lh_buf *out, lh_chat_complete_reply *rep)
{
    lh_chat_citation *c = rep->citations.v;
    size_t kept = 0;
    for (size_t i = 0; i < rep->citations.n; i++) {
        char marker[32]; /* as the answer writes it, after the quote's closing mark */
        int n = snprintf(marker, sizeof marker, "\" [%lld]", (long long)c[i].n);
        if (out->len && memmem(out->data, out->len, marker, (size_t)n))
            c[kept++] = c[i];
    }
    rep->citations.n = kept;
}

/* Hands the answer to the sink word by word, each piece a word and the
 * whitespace after it, so the pieces join to the answer exactly. */
static lh_err *lh_ex_stream(lh_chat_sink *sink, lh_str answer)
{
    for (size_t i = 0; i < answer.len;) {
        size_t start = i;
        while (i < answer.len && !isspace((unsigned char)answer.s[i]))
            i++;
        while (i < answer.len && isspace((unsigned char)answer.s[i]))
            i++;
        lh_err *err = sink->delta(sink->user, answer.s + start, i - start);
        if (err)
            return err; /* the requester went away: no more */
    }
    return NULL;
}

static lh_err *lh_ex_complete(lh_chat_provider *self, const lh_chat_prompt *p, lh_arena *arena,
                              lh_chat_complete_reply *rep)
{
    (void)self;
    lh_buf out;
    lh_buf_init(&out);
    lh_ex_sentence *picked = NULL;
    size_t n = p->n_passages ? lh_ex_pick(p, &picked) : 0;
    if (n)
        lh_ex_answer(p, picked, n, arena, &out, rep);
    else
        lh_buf_append_str(&out, "No indexed passage answers this: the extractive model only "
                                "quotes documents, and retrieval found none.");
    free(picked);
    bool cut = p->req->has_max_tokens && lh_ex_limit(&out, p->req->max_tokens);
    if (cut)
        lh_ex_drop_uncited(&out, rep);
    lh_chat_message *m = lh_arena_alloc(arena, sizeof *m);
    m->role = (lh_str){"assistant", 9};
    m->content = (lh_str){lh_arena_strndup(arena, out.data ? out.data : "", out.len), out.len};
    rep->message = m;
    rep->finish_reason = cut ? (lh_str){"length", 6} : (lh_str){"stop", 4};
    rep->usage = lh_chat_usage_make(p, m->content, NULL, NULL, arena);
    lh_buf_free(&out);
    return p->sink ? lh_ex_stream(p->sink, m->content) : NULL;
}

static void lh_ex_destroy(lh_chat_provider *p) { free(p); }

lh_chat_provider *lh_chat_extractive_create(void)
{
    lh_chat_provider *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    *p = (lh_chat_provider){.name = "extractive", .type = "extractive",
                            .complete = lh_ex_complete, .destroy = lh_ex_destroy};
    return p;
}
