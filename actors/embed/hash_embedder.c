/*
 * hash_embedder.c — the built-in offline embedders `hash` and `hash2`.
 *
 * Feature hashing ("the hashing trick"): every feature of a text is hashed
 * to 64 bits; the hash picks one of `dim` buckets and a sign, and the
 * feature's weight is added there. Signed buckets make collisions cancel
 * on average instead of piling up, so dot products stay unbiased.
 *
 * Features, with their weights:
 *   - word unigrams, 1.0 — the main signal;
 *   - adjacent word bigrams, 0.7 — word order and phrases, weaker than
 *     words so one reordering does not dominate;
 *   - byte n-grams (n = 3..5) of each word padded as "<word>", 0.3 each —
 *     a 5-letter word has 12 of them and 12 * 0.3^2 ~= 1.0^2, so a typical
 *     word's grams together carry about the energy of its unigram. They let
 *     "embedding" and "embeddings" share most of their vector.
 * Identical features are counted (sort the hashes, count runs) and weighed
 * sublinearly, family_weight * (1 + ln(count)), so repetition helps but
 * cannot drown everything else.
 *
 * That is scheme `hash` (models hash-<dim>), frozen: stored indexes hold
 * its vectors, so tests/test_hash_embedder.c pins its bits. Scheme `hash2`
 * (models hash2-<dim>) runs the same pipeline with English in mind, each
 * change measured on the man-page known-item set (ops/eval/):
 *   - English stopwords are dropped (english.h) unless nothing else is
 *     left: in a 200-word text they fill the vector and match everything;
 *   - unigrams and bigrams hash the word's Snowball stem, so "contents"
 *     meets "content" as a whole word, not only through shared grams;
 *   - bigrams weigh 0.35: they keep word order visible, but on long texts
 *     their many one-off pairs mostly add collisions;
 *   - byte n-grams are n = 4..6: 3-grams are shared by too many words;
 *   - a repeated feature weighs family_weight * sqrt(count), which keeps
 *     more of a text's main words than 1 + ln(count) did.
 *
 * Determinism across machines: hashes are plain integer arithmetic, the
 * summation order is the sorted hash order, the logarithm is computed here
 * from +,-,*,/ only (libm's log may differ by an ulp between libraries) and
 * sqrt is correctly rounded by IEEE 754. This assumes no FMA contraction,
 * which is GCC's default under -std=c11. hash2 also depends on libstemmer's
 * English stems, which its golden vectors pin.
 */
#include "actors/embed/hash_embedder.h"

#include "lib/english/english.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The family tag lives in the two low bits of each feature hash, so a
 * feature's weight is still known after the hashes are sorted; buckets are
 * taken from the bits above it and the sign from the top bit. */
enum feature_family { FAMILY_UNIGRAM = 0, FAMILY_BIGRAM = 1, FAMILY_CHARGRAM = 2 };
#define FAMILY_BITS 2
#define FAMILY_MASK ((uint64_t)3)

/* Arbitrary odd constants: distinct seeds keep the families' hash streams
 * independent, so the gram "cat" never lands systematically on the word. */
static const uint64_t family_seed[] = {
    [FAMILY_UNIGRAM] = 0x9e3779b97f4a7c15ULL,
    [FAMILY_BIGRAM] = 0xc2b2ae3d27d4eb4fULL,
    [FAMILY_CHARGRAM] = 0x165667b19e3779f9ULL,
};
/* What differs between the schemes; everything else is shared. */
typedef struct {
    bool english; /* drop stopwords, hash stems as the words' terms */
    size_t gram_min, gram_max;
    double family_weight[3];
    bool sqrt_tf; /* a repeated feature weighs sqrt(count), else 1 + ln(count) */
} hash_scheme;

static const hash_scheme scheme_hash = {
    .english = false,
    .gram_min = 3,
    .gram_max = 5,
    .family_weight = {[FAMILY_UNIGRAM] = 1.0, [FAMILY_BIGRAM] = 0.7, [FAMILY_CHARGRAM] = 0.3},
    .sqrt_tf = false,
};

static const hash_scheme scheme_hash2 = {
    .english = true,
    .gram_min = 4,
    .gram_max = 6,
    .family_weight = {[FAMILY_UNIGRAM] = 1.0, [FAMILY_BIGRAM] = 0.35, [FAMILY_CHARGRAM] = 0.3},
    .sqrt_tf = true,
};

/* Scratch that fits stays on the stack; a typical sentence needs well
 * under a kilobyte of it, a query 384 doubles more. */
#define STACK_SCRATCH_BYTES (16 * 1024)

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

/* ---- text ---------------------------------------------------------------- */

/* Bytes >= 0x80 count as word bytes so UTF-8 words stay whole without
 * decoding; ASCII is classified by hand so no locale can change the result. */
static bool is_word_byte(unsigned char c)
{
    if (c >= 0x80)
        return true;
    unsigned char folded = c | 0x20;
    return (c >= '0' && c <= '9') || (folded >= 'a' && folded <= 'z');
}

static unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

typedef struct {
    const unsigned char *start;
    size_t len;
} word_span;

/* Advances *pos past the next word and returns it; false at the end. */
static bool next_word(const unsigned char *text, size_t len, size_t *pos, word_span *word)
{
    size_t i = *pos;
    while (i < len && !is_word_byte(text[i]))
        i++;
    if (i == len) {
        *pos = len;
        return false;
    }
    size_t start = i;
    while (i < len && is_word_byte(text[i]))
        i++;
    word->start = text + start;
    word->len = i - start;
    *pos = i;
    return true;
}

/* Byte i of "<word>" (lowercased), without building the padded copy. */
static unsigned char padded_byte(word_span word, size_t i)
{
    if (i == 0)
        return '<';
    if (i == word.len + 1)
        return '>';
    return ascii_lower(word.start[i - 1]);
}

static size_t chargram_count(const hash_scheme *scheme, size_t word_len)
{
    size_t padded = word_len + 2;
    size_t total = 0;
    for (size_t n = scheme->gram_min; n <= scheme->gram_max; n++)
        if (padded >= n)
            total += padded - n + 1;
    return total;
}

/* ---- hashing ------------------------------------------------------------- */

/* FNV-1a mixes each byte in cheaply but leaves the high bits weak for short
 * inputs; murmur3's fmix64 finaliser then spreads every input bit over all
 * 64 output bits, which the bucket and sign selection rely on. */
static uint64_t fmix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static uint64_t fnv_begin(enum feature_family family)
{
    return FNV_OFFSET ^ family_seed[family];
}

static uint64_t fnv_byte(uint64_t h, unsigned char c)
{
    return (h ^ c) * FNV_PRIME;
}

static uint64_t fnv_word(uint64_t h, word_span word)
{
    for (size_t i = 0; i < word.len; i++)
        h = fnv_byte(h, ascii_lower(word.start[i]));
    return h;
}

static uint64_t fnv_finish(uint64_t h, enum feature_family family)
{
    return (fmix64(h) & ~FAMILY_MASK) | (uint64_t)family;
}

static uint64_t unigram_feature(word_span word)
{
    return fnv_finish(fnv_word(fnv_begin(FAMILY_UNIGRAM), word), FAMILY_UNIGRAM);
}

/* The space separates the words ("ab c" vs "a bc"); it cannot occur inside
 * a word, so the encoding is unambiguous. */
static uint64_t bigram_feature(word_span first, word_span second)
{
    uint64_t h = fnv_word(fnv_begin(FAMILY_BIGRAM), first);
    h = fnv_byte(h, ' ');
    return fnv_finish(fnv_word(h, second), FAMILY_BIGRAM);
}

/* Writes the word's padded n-gram hashes to out; returns how many. */
static size_t collect_chargrams(const hash_scheme *scheme, word_span word, uint64_t *out)
{
    size_t padded = word.len + 2;
    size_t count = 0;
    for (size_t n = scheme->gram_min; n <= scheme->gram_max; n++) {
        for (size_t at = 0; at + n <= padded; at++) {
            uint64_t h = fnv_begin(FAMILY_CHARGRAM);
            for (size_t i = at; i < at + n; i++)
                h = fnv_byte(h, padded_byte(word, i));
            out[count++] = fnv_finish(h, FAMILY_CHARGRAM);
        }
    }
    assert(count == chargram_count(scheme, word.len));
    return count;
}

/* ---- words --------------------------------------------------------------- */

/* One word that makes features: its n-grams come from the word as written,
 * its unigram and bigrams from its term (the word itself, or its stem). */
typedef struct {
    word_span word;
    word_span term;
} text_word;

/* What the first pass learns, so one block of scratch fits everything. */
typedef struct {
    size_t words;        /* words that make features */
    size_t stem_room;    /* bytes for their stems (a stem is never longer) */
    size_t features;
    bool keep_stopwords; /* the text is stopwords only: they are its topic */
} text_shape;

static bool drops(const hash_scheme *scheme, const text_shape *shape, word_span word)
{
    return scheme->english && !shape->keep_stopwords &&
           lh_english_stopword(word.start, word.len);
}

static text_shape measure(const hash_scheme *scheme, const unsigned char *text, size_t len)
{
    text_shape shape = {0};
    for (int round = 0; round < 2 && shape.words == 0; round++) {
        shape = (text_shape){.keep_stopwords = round == 1};
        size_t pos = 0;
        word_span word;
        while (next_word(text, len, &pos, &word)) {
            if (drops(scheme, &shape, word))
                continue;
            shape.words++;
            shape.stem_room += scheme->english ? word.len : 0;
            shape.features += 1 + chargram_count(scheme, word.len);
        }
        if (!scheme->english)
            break; /* nothing was dropped: a second round would find the same */
    }
    if (shape.words > 1)
        shape.features += shape.words - 1; /* one bigram per adjacent pair */
    return shape;
}

/* Fills words[0..shape->words); stems go to stem_bytes. */
static void split_words(const hash_scheme *scheme, const text_shape *shape,
                        const unsigned char *text, size_t len, text_word *words,
                        unsigned char *stem_bytes)
{
    lh_english_stemmer *stemmer = scheme->english ? lh_english_stemmer_new() : NULL;
    size_t pos = 0, n = 0;
    word_span word;
    while (next_word(text, len, &pos, &word)) {
        if (drops(scheme, shape, word))
            continue;
        words[n].word = word;
        words[n].term = word;
        if (stemmer) {
            words[n].term.start = stem_bytes;
            words[n].term.len = lh_english_stem(stemmer, word.start, word.len, stem_bytes);
            stem_bytes += word.len;
        }
        n++;
    }
    assert(n == shape->words);
    lh_english_stemmer_free(stemmer);
}

/* ---- features ------------------------------------------------------------ */

static size_t collect_features(const hash_scheme *scheme, const text_word *words, size_t n,
                               uint64_t *out)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        out[count++] = unigram_feature(words[i].term);
        if (i > 0)
            out[count++] = bigram_feature(words[i - 1].term, words[i].term);
        count += collect_chargrams(scheme, words[i].word, out + count);
    }
    return count;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* ---- weighting ----------------------------------------------------------- */

/* ln(x) for x >= 1 from basic arithmetic only, so every machine computes the
 * same bits: x = m * 2^e with m in [sqrt(1/2), sqrt(2)], then
 * ln(m) = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172, whose odd power series
 * is below one ulp after eleven terms. */
static double portable_ln(double x)
{
    assert(x >= 1.0);
    int exponent;
    double m = frexp(x, &exponent); /* exact: m in [0.5, 1) */
    if (m < 0.70710678118654752) {
        m *= 2.0;
        exponent--;
    }
    double s = (m - 1.0) / (m + 1.0);
    double s2 = s * s, power = s, series = 0.0;
    for (int k = 1; k <= 21; k += 2) {
        series += power / k;
        power *= s2;
    }
    return exponent * 0.69314718055994531 + 2.0 * series;
}

static double sublinear_tf(const hash_scheme *scheme, size_t count)
{
    if (count == 1)
        return 1.0;
    return scheme->sqrt_tf ? sqrt((double)count) : 1.0 + portable_ln((double)count);
}

/* Adds each distinct feature once, weighted by how often it occurred;
 * features must be sorted so equal hashes are adjacent. */
static void accumulate(const hash_scheme *scheme, const uint64_t *features, size_t count,
                       int dim, double *acc)
{
    size_t i = 0;
    while (i < count) {
        size_t run = 1;
        while (i + run < count && features[i + run] == features[i])
            run++;
        uint64_t h = features[i];
        double weight = scheme->family_weight[h & FAMILY_MASK] * sublinear_tf(scheme, run);
        size_t bucket = (size_t)((h >> FAMILY_BITS) % (uint64_t)dim);
        acc[bucket] += (h >> 63) ? -weight : weight;
        i += run;
    }
}

/* Stores acc / |acc| as floats; false when acc is all zero. */
static bool normalize_into(const double *acc, int dim, float *out)
{
    double sum = 0.0;
    for (int i = 0; i < dim; i++)
        sum += acc[i] * acc[i];
    if (sum == 0.0)
        return false;
    double norm = sqrt(sum);
    for (int i = 0; i < dim; i++)
        out[i] = (float)(acc[i] / norm);
    return true;
}

/* ---- entry point --------------------------------------------------------- */

static void *scratch_alloc(size_t bytes)
{
    void *p = malloc(bytes);
    if (!p) {
        fprintf(stderr, "lakehouse: out of memory (%zu bytes)\n", bytes);
        abort();
    }
    return p;
}

/* The scratch of one call, carved from one block: acc, features, words,
 * stem bytes (largest alignment first). */
typedef struct {
    double *acc;
    uint64_t *features;
    text_word *words;
    unsigned char *stem_bytes;
    void *heap;
} scratch;

static void scratch_take(const text_shape *shape, int dim, void *stack, size_t stack_bytes,
                         scratch *s)
{
    size_t acc_bytes = (size_t)dim * sizeof *s->acc;
    size_t feature_bytes = shape->features * sizeof *s->features;
    size_t word_bytes = shape->words * sizeof *s->words;
    assert(shape->features < SIZE_MAX / 64 && shape->stem_room < SIZE_MAX / 2);
    size_t total = acc_bytes + feature_bytes + word_bytes + shape->stem_room;
    s->heap = total > stack_bytes ? scratch_alloc(total) : NULL;
    char *block = s->heap ? s->heap : stack;
    s->acc = (double *)block;
    s->features = (uint64_t *)(block + acc_bytes);
    s->words = (text_word *)(block + acc_bytes + feature_bytes);
    s->stem_bytes = (unsigned char *)(block + acc_bytes + feature_bytes + word_bytes);
    memset(s->acc, 0, acc_bytes);
}

static bool embed_with(const hash_scheme *scheme, const char *text, size_t len, int dim,
                       float *out)
{
    assert(dim >= 8);
    assert(out != NULL);
    assert(text != NULL || len == 0);
    memset(out, 0, (size_t)dim * sizeof *out);
    const unsigned char *bytes = (const unsigned char *)text;
    text_shape shape = measure(scheme, bytes, len);
    if (shape.words == 0)
        return false;

    _Alignas(double) char stack[STACK_SCRATCH_BYTES];
    scratch s;
    scratch_take(&shape, dim, stack, sizeof stack, &s);
    split_words(scheme, &shape, bytes, len, s.words, s.stem_bytes);
    size_t collected = collect_features(scheme, s.words, shape.words, s.features);
    assert(collected == shape.features);
    qsort(s.features, collected, sizeof *s.features, compare_u64);
    accumulate(scheme, s.features, collected, dim, s.acc);
    bool ok = normalize_into(s.acc, dim, out);
    free(s.heap);
    return ok;
}

bool lh_hash_embed(const char *text, size_t len, int dim, float *out)
{
    return embed_with(&scheme_hash, text, len, dim, out);
}

bool lh_hash2_embed(const char *text, size_t len, int dim, float *out)
{
    return embed_with(&scheme_hash2, text, len, dim, out);
}
