/*
 * matrix.h — the messages of matrixd (`matrix.*`): hybrid retrieval over
 * several vector indexes ("corpora"), each searched by its vectors and by
 * keyword (BM25), the rankings fused with weighted reciprocal rank fusion.
 */
#ifndef LH_SCHEMAS_MATRIX_H
#define LH_SCHEMAS_MATRIX_H

#include "bus/contract.h"
#include "bus/schema.h"
#include "schemas/vector.h"

/* Bounds; the docs and the 400/413 messages quote them. */
#define LH_MATRIX_MAX_CORPORA 16
#define LH_MATRIX_MAX_K 1000          /* as vector.search's k */
#define LH_MATRIX_MAX_CANDIDATES 1000 /* per list: a corpus and a mode */
#define LH_MATRIX_DEFAULT_CANDIDATES 50
#define LH_MATRIX_MAX_QUERY_BYTES 8192
#define LH_MATRIX_MAX_TIMEOUT_MS 600000
/* Fusion defaults, tuned on the tune half of ops/eval/manpages.py's set with
 * the built-in embedder (docs/BENCHMARKS.md, "Retrieval"): its vectors are
 * lexical too, so the keyword ranking leads and the top ranks count most. */
#define LH_MATRIX_DEFAULT_RRF_K 5
#define LH_MATRIX_DEFAULT_VECTOR_WEIGHT 0.4
#define LH_MATRIX_DEFAULT_KEYWORD_WEIGHT 1.0

/* ---- matrix.retrieve ---- */

#define LH_MATRIX_WEIGHTS(F, T)                                                             \
    F(T, vector, FLOAT, .min = 0, .max = 1000, .def = LH_MATRIX_DEFAULT_VECTOR_WEIGHT,      \
      .doc = "Weight of the vector rankings (default 0.4; 0 leaves them out).")             \
    F(T, keyword, FLOAT, .min = 0, .max = 1000, .def = LH_MATRIX_DEFAULT_KEYWORD_WEIGHT,    \
      .doc = "Weight of the keyword rankings (default 1; 0 leaves them out).")
LH_MESSAGE(lh_matrix_weights, LH_MATRIX_WEIGHTS, "How much each kind of ranking counts.")

#define LH_MATRIX_RETRIEVE_REQUEST(F, T)                                                    \
    F(T, query, STRING, .required = true, .max = LH_MATRIX_MAX_QUERY_BYTES,                 \
      .flags = LH_F_NONBLANK, .doc = "What to find, as words (at most 8 KiB).")             \
    F(T, corpora, STRINGS, .required = true, .min = 1, .max = LH_MATRIX_MAX_CORPORA,        \
      .item_max = LH_VECTOR_MAX_INDEX_NAME, .flags = LH_F_NONBLANK | LH_F_ONE_OR_MANY,      \
      .doc = "The vector indexes to search, 1 to 16, each named once (a single name is "    \
             "taken as a list of one).")                                                    \
    F(T, k, INT, .min = 1, .max = LH_MATRIX_MAX_K, .def = 10,                               \
      .doc = "Hits to return, 1 to 1,000 (fewer when fewer match).")                        \
    F(T, mode, STRING, .choices = "hybrid|vector|keyword",                                  \
      .doc = "`hybrid` (default): vector and keyword rankings fused. `vector` or "          \
             "`keyword`: one kind only (still fused across corpora by rank).")              \
    F(T, candidates, INT, .min = 1, .max = LH_MATRIX_MAX_CANDIDATES, .flags = LH_F_OMIT_UNSET,\
      .doc = "Hits taken from each ranking (a corpus and a mode) before fusion, 1 to "      \
             "1,000; at least k. Default: 50, or k when k is larger.")                      \
    F(T, rrf_k, INT, .min = 0, .max = 100000, .def = LH_MATRIX_DEFAULT_RRF_K,               \
      .doc = "Reciprocal rank fusion constant: a hit at rank r (from 1) in a ranking "      \
             "adds weight / (rrf_k + r). Smaller favours the top of each ranking. Default "  \
             "5, measured best with the built-in embedder (60 is the usual elsewhere).")    \
    F(T, weights, OBJECT, .sub = &lh_matrix_weights_schema,                                 \
      .doc = "Weights of the two kinds of ranking, `{vector, keyword}`, each 0 to 1,000 "   \
             "(default 0.4 and 1, measured best with the built-in embedder).")              \
    F(T, filter, ANY, .max = LH_VECTOR_MAX_FILTER_BYTES,                                    \
      .doc = "Metadata equality, as in vector.search, applied to both kinds of ranking.")   \
    F(T, include_text, BOOL, .def = 1, .doc = "Return each hit's text (default true).")     \
    F(T, timeout_ms, INT, .min = 1, .max = LH_MATRIX_MAX_TIMEOUT_MS, .flags = LH_F_OMIT_UNSET,\
      .doc = "How long to wait for each corpus; one that has not answered by then is "      \
             "reported in `per_corpus` and the rest is answered. Default: three quarters "  \
             "of LH_REQUEST_TIMEOUT_MS.")
LH_MESSAGE(lh_matrix_retrieve_request, LH_MATRIX_RETRIEVE_REQUEST,
           "Find the items that best answer a query across corpora.")

#define LH_MATRIX_RANKS(F, T)                                                               \
    F(T, vector, INT, .flags = LH_F_OMIT_UNSET,                                             \
      .doc = "Rank (from 1) in its corpus's vector ranking; absent when not in it.")        \
    F(T, keyword, INT, .flags = LH_F_OMIT_UNSET,                                            \
      .doc = "Rank (from 1) in its corpus's keyword ranking; absent when not in it.")
LH_MESSAGE(lh_matrix_ranks, LH_MATRIX_RANKS, "Where a hit stood in each ranking.")

#define LH_MATRIX_SCORES(F, T)                                                              \
    F(T, vector, FLOAT, .flags = LH_F_OMIT_UNSET,                                           \
      .doc = "Its vector.search score (by the index's metric); absent when not ranked.")    \
    F(T, keyword, FLOAT, .flags = LH_F_OMIT_UNSET,                                          \
      .doc = "Its BM25 score; absent when not ranked.")
LH_MESSAGE(lh_matrix_scores, LH_MATRIX_SCORES, "A hit's scores in each ranking.")

#define LH_MATRIX_HIT(F, T)                                                                 \
    F(T, corpus, STRING, .doc = "The index the item is in.")                                \
    F(T, id, STRING, .doc = "Item id.")                                                     \
    F(T, score, FLOAT,                                                                      \
      .doc = "Fused score: the sum of weight / (rrf_k + rank) over the rankings that hold " \
             "the hit. Hits are best first.")                                               \
    F(T, text, STRING, .doc = "The item's text (unless include_text is false).")            \
    F(T, snippet, STRING,                                                                   \
      .doc = "When keyword search ranked it near its top (deep enough that keyword rank "   \
             "alone could bring it among the k): the text around the matched words, which " \
             "stand between [ and ].")                                                      \
    F(T, metadata, ANY, .doc = "The item's metadata, when it has any.")                     \
    F(T, ranks, OBJECT, .sub = &lh_matrix_ranks_schema, .doc = "Its rank in each ranking.") \
    F(T, scores, OBJECT, .sub = &lh_matrix_scores_schema,                                   \
      .doc = "Its score in each ranking, before fusion.")
LH_MESSAGE(lh_matrix_hit, LH_MATRIX_HIT, "One fused hit.")

#define LH_MATRIX_CORPUS_REPORT(F, T)                                                       \
    F(T, corpus, STRING, .doc = "The index.")                                               \
    F(T, vector_hits, INT, .doc = "Hits its vector ranking gave (0 when not asked).")       \
    F(T, keyword_hits, INT, .doc = "Hits its keyword ranking gave (0 when not asked).")     \
    F(T, took_ms, FLOAT, .doc = "Until its last ranking came back (or failed).")            \
    F(T, status, INT, .flags = LH_F_OMIT_UNSET,                                             \
      .doc = "When a ranking failed: its status (504 for a timeout, 503 when no vectord "   \
             "answered); the others were used.")                                            \
    F(T, error, STRING, .doc = "When a ranking failed: why.")
LH_MESSAGE(lh_matrix_corpus_report, LH_MATRIX_CORPUS_REPORT, "How one corpus answered.")

#define LH_MATRIX_RETRIEVE_REPLY(F, T)                                                      \
    F(T, hits, OBJECTS, .sub = &lh_matrix_hit_schema, .doc = "At most k hits, best first.") \
    F(T, mode, STRING, .doc = "The mode used.")                                             \
    F(T, took_ms, FLOAT, .doc = "Time spent in matrixd, fan-out to reply.")                 \
    F(T, per_corpus, OBJECTS, .sub = &lh_matrix_corpus_report_schema,                       \
      .doc = "How each corpus answered, in request order.")
LH_MESSAGE(lh_matrix_retrieve_reply, LH_MATRIX_RETRIEVE_REPLY,
           "The fused hits and how each corpus answered.")

/* ---- contracts ---- */

#define LH_MATRIX_ENDPOINTS(E, S)                                                           \
    E(S, matrix_retrieve, "retrieve", "matrix.retrieve", lh_matrix_retrieve_request,        \
      lh_matrix_retrieve_reply,                                                             \
      "Search corpora by vectors and keywords in parallel and fuse the rankings (RRF). "    \
      "404 for an unknown corpus, 422 when the query embeds to another dimension than a "   \
      "corpus holds, 504 only when no corpus answered in time.")
LH_SERVICE("matrixd", LH_MATRIX_ENDPOINTS, LH_NO_EVENTS)

#endif
