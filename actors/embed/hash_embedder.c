/*
 * hash_embedder.c — the built-in offline embedding provider `hash`.
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
 * Determinism across machines: hashes are plain integer arithmetic, the
 * summation order is the sorted hash order, the logarithm is computed here
 * from +,-,*,/ only (libm's log may differ by an ulp between libraries) and
 * sqrt is correctly rounded by IEEE 754. This assumes no FMA contraction,
 * which is GCC's default under -std=c11.
 */
#include "actors/embed/hash_embedder.h"

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
static const double family_weight[] = {
    [FAMILY_UNIGRAM] = 1.0,
    [FAMILY_BIGRAM] = 0.7,
    [FAMILY_CHARGRAM] = 0.3,
};

#define GRAM_MIN 3
#define GRAM_MAX 5

/* Scratch that fits these stays on the stack (about 12 KiB); a typical
 * sentence has well under a hundred features. */
#define STACK_FEATURES 512
#define STACK_DIM 1024

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

static size_t chargram_count(size_t word_len)
{
    size_t padded = word_len + 2;
    size_t total = 0;
    for (size_t n = GRAM_MIN; n <= GRAM_MAX; n++)
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
static size_t collect_chargrams(word_span word, uint64_t *out)
{
    size_t padded = word.len + 2;
    size_t count = 0;
    for (size_t n = GRAM_MIN; n <= GRAM_MAX; n++) {
        for (size_t at = 0; at + n <= padded; at++) {
            uint64_t h = fnv_begin(FAMILY_CHARGRAM);
            for (size_t i = at; i < at + n; i++)
                h = fnv_byte(h, padded_byte(word, i));
            out[count++] = fnv_finish(h, FAMILY_CHARGRAM);
        }
    }
    assert(count == chargram_count(word.len));
    return count;
}

/* ---- features ------------------------------------------------------------ */

static size_t count_features(const unsigned char *text, size_t len)
{
    size_t pos = 0, total = 0, words = 0;
    word_span word;
    while (next_word(text, len, &pos, &word)) {
        total += 1 + chargram_count(word.len);
        words++;
    }
    return words > 1 ? total + words - 1 : total; /* plus one bigram per adjacent pair */
}

static size_t collect_features(const unsigned char *text, size_t len, uint64_t *out)
{
    size_t pos = 0, count = 0;
    word_span word, previous = {0};
    bool has_previous = false;
    while (next_word(text, len, &pos, &word)) {
        out[count++] = unigram_feature(word);
        if (has_previous)
            out[count++] = bigram_feature(previous, word);
        count += collect_chargrams(word, out + count);
        previous = word;
        has_previous = true;
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

static double sublinear_tf(size_t count)
{
    return count == 1 ? 1.0 : 1.0 + portable_ln((double)count);
}

/* Adds each distinct feature once, weighted by how often it occurred;
 * features must be sorted so equal hashes are adjacent. */
static void accumulate(const uint64_t *features, size_t count, int dim, double *acc)
{
    size_t i = 0;
    while (i < count) {
        size_t run = 1;
        while (i + run < count && features[i + run] == features[i])
            run++;
        uint64_t h = features[i];
        double weight = family_weight[h & FAMILY_MASK] * sublinear_tf(run);
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

bool lh_hash_embed(const char *text, size_t len, int dim, float *out)
{
    assert(dim >= 8);
    assert(out != NULL);
    assert(text != NULL || len == 0);
    memset(out, 0, (size_t)dim * sizeof *out);
    const unsigned char *bytes = (const unsigned char *)text;
    size_t count = count_features(bytes, len);
    if (count == 0)
        return false;

    uint64_t stack_features[STACK_FEATURES];
    double stack_acc[STACK_DIM];
    uint64_t *features = stack_features;
    double *acc = stack_acc;
    void *heap = NULL;
    if (count > STACK_FEATURES || dim > STACK_DIM) {
        /* one block for both, so a long text costs one malloc */
        assert(count < SIZE_MAX / 16 - (size_t)dim);
        heap = scratch_alloc(count * sizeof *features + (size_t)dim * sizeof *acc);
        features = heap;
        acc = (double *)(features + count);
    }
    memset(acc, 0, (size_t)dim * sizeof *acc);

    size_t collected = collect_features(bytes, len, features);
    assert(collected == count);
    qsort(features, collected, sizeof *features, compare_u64);
    accumulate(features, collected, dim, acc);
    bool ok = normalize_into(acc, dim, out);
    free(heap);
    return ok;
}
