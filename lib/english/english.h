/*
 * english.h — English word normalisation, for the `hash2` embedder and for
 * chatd's extractive answers: a small stopword list and Snowball's English
 * (Porter2) stemmer, from Debian's libstemmer, so "contents" and "content",
 * "listing" and "list" are one word and "the", "of" count for nothing.
 */
#ifndef LH_LIB_ENGLISH_H
#define LH_LIB_ENGLISH_H

#include <stdbool.h>
#include <stddef.h>

/* Longer words are left as they are: no English word is this long, and a
 * bound keeps a 32 KiB "word" (base64, a hash) away from the stemmer. */
#define LH_ENGLISH_MAX_STEM_WORD 64

/* True when w[0..n) (any case) is one of about 130 English function words
 * ("the", "of", "which", ...) that carry no topic. */
bool lh_english_stopword(const unsigned char *w, size_t n);

/* A stemmer; one per thread at a time (Snowball's objects are not
 * thread-safe). Creating one costs a few small mallocs; out of memory
 * aborts, like lh_buf. */
typedef struct lh_english_stemmer lh_english_stemmer;
lh_english_stemmer *lh_english_stemmer_new(void);
void lh_english_stemmer_free(lh_english_stemmer *s);

/* Writes the lowercase stem of w[0..n) to out (room for n bytes) and
 * returns its length. Words with a byte outside ASCII letters and digits,
 * or longer than LH_ENGLISH_MAX_STEM_WORD, come back lowercased only. */
size_t lh_english_stem(lh_english_stemmer *s, const unsigned char *w, size_t n,
                       unsigned char *out);

#endif
