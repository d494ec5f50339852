/*
 * english.c — stopwords and stemming for the `hash2` embedder (english.h).
 * The stemmer is Snowball's, through libstemmer, rather than our own
 * suffix stripper: it is the reference Porter2 implementation, and the
 * golden vectors in tests/test_hash_embedder.c fail if a libstemmer
 * upgrade ever changes a stem (hash2 vectors would change with it).
 */
#include "lib/english/english.h"

#include <libstemmer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* NLTK's English list without contractions' fragments; sorted, for bsearch. */
static const char *const stopwords[] = {
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any",
    "are", "as", "at", "be", "because", "been", "before", "being", "below", "between",
    "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during",
    "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her",
    "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into",
    "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor",
    "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours",
    "ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such",
    "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there",
    "these", "they", "this", "those", "through", "to", "too", "under", "until", "up",
    "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom",
    "why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves",
};
#define LONGEST_STOPWORD 10

static unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

static int compare_word(const void *key, const void *entry)
{
    return strcmp(key, *(const char *const *)entry);
}

bool lh_english_stopword(const unsigned char *w, size_t n)
{
    if (n == 0 || n > LONGEST_STOPWORD)
        return false;
    char lower[LONGEST_STOPWORD + 1];
    for (size_t i = 0; i < n; i++)
        lower[i] = (char)ascii_lower(w[i]);
    lower[n] = '\0';
    return bsearch(lower, stopwords, sizeof stopwords / sizeof stopwords[0], sizeof stopwords[0],
                   compare_word) != NULL;
}

struct lh_english_stemmer {
    struct sb_stemmer *snowball;
};

lh_english_stemmer *lh_english_stemmer_new(void)
{
    lh_english_stemmer *s = malloc(sizeof *s);
    /* NULL encoding is UTF-8; "english" is Porter2 (libstemmer's "porter"
     * is the older algorithm). */
    if (s)
        s->snowball = sb_stemmer_new("english", NULL);
    if (!s || !s->snowball) {
        fprintf(stderr, "lakehouse: out of memory (English stemmer)\n");
        abort();
    }
    return s;
}

void lh_english_stemmer_free(lh_english_stemmer *s)
{
    if (!s)
        return;
    sb_stemmer_delete(s->snowball);
    free(s);
}

static bool stemmable(const unsigned char *w, size_t n)
{
    if (n > LH_ENGLISH_MAX_STEM_WORD)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = ascii_lower(w[i]);
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

size_t lh_english_stem(lh_english_stemmer *s, const unsigned char *w, size_t n,
                       unsigned char *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = ascii_lower(w[i]);
    if (!stemmable(w, n))
        return n;
    const sb_symbol *stem = sb_stemmer_stem(s->snowball, out, (int)n);
    if (!stem) { /* its only failure; a silent fallback would change vectors */
        fprintf(stderr, "lakehouse: out of memory (English stemmer)\n");
        abort();
    }
    int len = sb_stemmer_length(s->snowball);
    /* Porter2 only removes or shortens suffixes; were a stem ever longer,
     * the lowercased word stands in (it would not fit in out). */
    if (len < 0 || (size_t)len > n)
        return n;
    memmove(out, stem, (size_t)len);
    return (size_t)len;
}
