/*
 * hash_embedder.h — the built-in offline embedders `hash` and `hash2`.
 *
 * embedd's default provider needs no model, no network and no state: it
 * feature-hashes word unigrams, word bigrams and character n-grams of a
 * text into a fixed number of signed buckets and L2-normalises the result,
 * so texts sharing words and word pieces get a high cosine similarity. It
 * is not semantic, but it is instant, deterministic and good enough for
 * keyword-ish retrieval and for running the whole stack offline.
 *
 * `hash` is the first scheme, frozen bit for bit (indexes hold its
 * vectors); `hash2` drops English stopwords, stems words and reweighs the
 * features, which finds known items far more often (hash_embedder.c).
 */
#ifndef LH_HASH_EMBEDDER_H
#define LH_HASH_EMBEDDER_H

#include <stdbool.h>
#include <stddef.h>

/* Fills out[0..dim) with the unit-length embedding of text[0..len). dim >= 8.
 * Deterministic across runs and machines. Returns false (and zeroes out) when
 * the text yields no features (e.g. empty / all whitespace).
 * Thread-safe; texts of any length work (scratch beyond a small stack buffer
 * is malloc'd once per call, and running out of memory aborts, like lh_buf). */
bool lh_hash_embed(const char *text, size_t len, int dim, float *out);

/* The same contract, scheme `hash2`. A text of stopwords only ("to be or
 * not to be") keeps them, so it still has a vector. */
bool lh_hash2_embed(const char *text, size_t len, int dim, float *out);

#endif
