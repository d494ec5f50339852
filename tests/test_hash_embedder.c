/*
 * test_hash_embedder.c — properties of the built-in `hash` embedder:
 * determinism, unit length, the no-feature cases, normalisation (case,
 * separators, UTF-8), and that similar texts land closer than unrelated
 * ones; and golden vectors: stored indexes hold `hash-<dim>` vectors, so
 * a query embedded today must match them bit for bit. The pinned digests
 * and floats were computed before any later scheme (hash2) existed; if
 * they change, old indexes silently stop finding things. Then `hash2`:
 * the same properties, what it adds (stopwords, stems), its own golden
 * vectors (which also pin libstemmer's English stems), and the provider's
 * model names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/english/english.h"
#include "actors/embed/hash_embedder.h"
#include "actors/embed/provider.h"

#define DIM 384
#define MAX_DIM 4096

static const int test_dims[] = {8, 64, 384, 1000, 4096};

static const char *const sample_texts[] = {
    "the cat sat on the mat",
    "a",
    "Hello, World!",
    "quarterly revenue grew eleven percent",
    "x1 y2 z3 2024-01-01 12:00",
    "supercalifragilisticexpialidocious",
    "naïve café crème brûlée",
    "日本語のテキストです",
    "  leading and trailing spaces  ",
    "repeat repeat repeat repeat repeat",
};
#define SAMPLE_COUNT (sizeof sample_texts / sizeof sample_texts[0])

static bool embed(const char *text, int dim, float *out)
{
    return lh_hash_embed(text, strlen(text), dim, out);
}

static double norm_of(const float *v, int dim)
{
    double sum = 0.0;
    for (int i = 0; i < dim; i++)
        sum += (double)v[i] * v[i];
    return sqrt(sum);
}

static double cosine(const char *a, const char *b)
{
    float va[DIM], vb[DIM];
    assert_true(embed(a, DIM, va));
    assert_true(embed(b, DIM, vb));
    double dot = 0.0;
    for (int i = 0; i < DIM; i++)
        dot += (double)va[i] * vb[i];
    return dot;
}

static void assert_same_embedding(const char *a, size_t a_len, const char *b, size_t b_len)
{
    float va[DIM], vb[DIM];
    assert_true(lh_hash_embed(a, a_len, DIM, va));
    assert_true(lh_hash_embed(b, b_len, DIM, vb));
    assert_memory_equal(va, vb, sizeof va);
}

/* ---- determinism and shape ----------------------------------------------- */

static void test_same_text_gives_bitwise_equal_vectors(void **state)
{
    (void)state;
    for (size_t t = 0; t < SAMPLE_COUNT; t++) {
        /* a copy at another address, to show nothing depends on pointers */
        char *copy = strdup(sample_texts[t]);
        assert_non_null(copy);
        assert_same_embedding(sample_texts[t], strlen(sample_texts[t]), copy, strlen(copy));
        free(copy);
    }
}

static void test_vectors_are_unit_length_for_every_dim(void **state)
{
    (void)state;
    static float v[MAX_DIM];
    for (size_t d = 0; d < sizeof test_dims / sizeof test_dims[0]; d++) {
        for (size_t t = 0; t < SAMPLE_COUNT; t++) {
            assert_true(embed(sample_texts[t], test_dims[d], v));
            assert_true(fabs(norm_of(v, test_dims[d]) - 1.0) < 1e-5);
        }
    }
}

static void test_only_dim_entries_are_written(void **state)
{
    (void)state;
    float v[DIM + 4];
    for (int i = 0; i < DIM + 4; i++)
        v[i] = 42.0f;
    assert_true(embed("the cat sat on the mat", DIM, v));
    for (int i = DIM; i < DIM + 4; i++)
        assert_true(v[i] == 42.0f);
}

static void test_texts_without_words_give_false_and_zeros(void **state)
{
    (void)state;
    const char *const empty_texts[] = {"", " ", "   \t\n\r  ", "!?.,;:-- ()[]{}", "\x01\x02\x7f"};
    float v[64];
    for (size_t t = 0; t < sizeof empty_texts / sizeof empty_texts[0]; t++) {
        for (int i = 0; i < 64; i++)
            v[i] = 1.0f;
        assert_false(embed(empty_texts[t], 64, v));
        for (int i = 0; i < 64; i++)
            assert_true(v[i] == 0.0f);
    }
    assert_false(lh_hash_embed(NULL, 0, 64, v));
    assert_false(lh_hash_embed("words past the length", 0, 64, v));
}

/* ---- normalisation ------------------------------------------------------- */

static void test_case_is_ignored(void **state)
{
    (void)state;
    assert_same_embedding("Hello World", 11, "hello world", 11);
    assert_same_embedding("THE CAT SAT", 11, "the cat sat", 11);
}

static void test_any_non_word_bytes_separate_words(void **state)
{
    (void)state;
    const char *plain = "hello world again";
    const char *punctuated = "  hello,\tworld!!\n(again)  ";
    assert_same_embedding(plain, strlen(plain), punctuated, strlen(punctuated));
    const char with_nul[] = "hello\0world again";
    assert_same_embedding(plain, strlen(plain), with_nul, sizeof with_nul - 1);
}

static void test_length_bounds_the_text(void **state)
{
    (void)state;
    assert_same_embedding("hello world", 5, "hello", 5);
}

static void test_word_order_matters_but_little(void **state)
{
    (void)state;
    float a[DIM], b[DIM];
    assert_true(embed("dog bites man", DIM, a));
    assert_true(embed("man bites dog", DIM, b));
    assert_memory_not_equal(a, b, sizeof a);
    assert_true(cosine("dog bites man", "man bites dog") > 0.7);
}

static void test_utf8_bytes_are_word_bytes(void **state)
{
    (void)state;
    float v[DIM], split[DIM];
    assert_true(embed("日本語のテキストです", DIM, v));
    assert_true(fabs(norm_of(v, DIM) - 1.0) < 1e-5);
    /* "naïve" is one word, not "na" and "ve" */
    assert_true(embed("naïve", DIM, v));
    assert_true(embed("na ve", DIM, split));
    assert_memory_not_equal(v, split, sizeof v);
    assert_true(cosine("crème brûlée recipe", "the best crème brûlée") >
                cosine("crème brûlée recipe", "quarterly revenue report"));
}

/* ---- similarity ---------------------------------------------------------- */

typedef struct {
    const char *anchor, *near, *far;
} similarity_triple;

static void test_paraphrases_are_closer_than_unrelated_texts(void **state)
{
    (void)state;
    const similarity_triple triples[] = {
        {"the cat sat on the mat", "a cat was sitting on the mat",
         "quarterly revenue grew eleven percent"},
        {"how do I reset my password", "password reset instructions",
         "the weather in Paris is sunny today"},
        {"vector databases store embeddings", "embeddings are stored in a vector database",
         "the recipe needs two cups of flour"},
        {"install the package with apt-get", "use apt-get to install packages",
         "the team won the championship game"},
        {"NATS subjects route messages to actors", "actors receive messages on NATS subjects",
         "my grandmother knits warm sweaters"},
    };
    for (size_t t = 0; t < sizeof triples / sizeof triples[0]; t++) {
        double near = cosine(triples[t].anchor, triples[t].near);
        double far = cosine(triples[t].anchor, triples[t].far);
        assert_true(near > far);
        assert_true(near > 0.2);
    }
}

static void test_shared_word_pieces_give_positive_similarity(void **state)
{
    (void)state;
    assert_true(cosine("embedding", "embeddings") > 0.5);
    assert_true(cosine("running", "runner") > 0.1);
    assert_true(cosine("embedding", "embeddings") > cosine("embedding", "quarterly"));
}

static void test_repetition_is_damped(void **state)
{
    (void)state;
    /* with raw counts the four "spam"s would swamp "eggs"; sublinear
     * weighting keeps the one-off word visible */
    double with_eggs = cosine("spam spam spam spam eggs", "eggs");
    double other = cosine("spam spam spam spam eggs", "toast");
    assert_true(with_eggs > 0.33); /* raw counts give about 0.27 */
    assert_true(with_eggs > other);
}

/* ---- size ---------------------------------------------------------------- */

static char *repeated_text(const char *piece, size_t total)
{
    size_t piece_len = strlen(piece);
    char *text = malloc(total + 1);
    assert_non_null(text);
    for (size_t i = 0; i < total; i++)
        text[i] = piece[i % piece_len];
    text[total] = '\0';
    return text;
}

static void test_long_text_works(void **state)
{
    (void)state;
    size_t size = 60 * 1024;
    char *text = repeated_text("the cat sat on the mat and watched the birds outside. ", size);
    float a[DIM], b[DIM];
    assert_true(lh_hash_embed(text, size, DIM, a));
    assert_true(lh_hash_embed(text, size, DIM, b));
    assert_memory_equal(a, b, sizeof a);
    assert_true(fabs(norm_of(a, DIM) - 1.0) < 1e-5);
    assert_true(cosine(text, "the cat watched the birds") >
                cosine(text, "quarterly revenue grew eleven percent"));
    free(text);
}

static void test_one_huge_word_works(void **state)
{
    (void)state;
    size_t size = 60 * 1024;
    char *text = repeated_text("abcdefghijklmnopqrstuvwxyz0123456789", size);
    static float v[MAX_DIM];
    assert_true(lh_hash_embed(text, size, MAX_DIM, v));
    assert_true(fabs(norm_of(v, MAX_DIM) - 1.0) < 1e-5);
    free(text);
}

/* ---- golden vectors ------------------------------------------------------ */

static const char *const golden_texts[] = {
    "the cat sat on the mat",
    "list directory contents",
    "Hello, World! naïve café 日本語",
    "repeat repeat repeat x1 y2",
    "Generously connected relational databases",
    "to be or not to be",
};

typedef struct {
    int index;
    float value;
} golden_float;

typedef struct {
    int dim;
    int text;
    uint64_t digest; /* FNV-1a over every float's bits, low byte first */
    golden_float first[3]; /* the first three non-zero entries */
} golden_vector;

static const golden_vector golden_vectors[] = {
    {384, 0, 0xc423d28e58fbfc4cULL,
      {{6, -0x1.52657cp-4f}, {9, 0x1.19ff3cp-2f}, {13, -0x1.52657cp-4f}}},
    {384, 1, 0x682751fc477b337dULL,
      {{17, -0x1.951f94p-4f}, {21, 0x1.951f94p-4f}, {22, 0x1.951f94p-4f}}},
    {384, 2, 0x6c85d178c34f361bULL,
      {{2, -0x1.49b55ep-4f}, {27, 0x1.12c1cep-2f}, {30, -0x1.49b55ep-4f}}},
    {384, 3, 0x7e60f763687b4e35ULL,
      {{9, 0x1.49e9c8p-3f}, {24, -0x1.3a692cp-4f}, {25, -0x1.3a692cp-4f}}},
    {768, 0, 0x9cb9ba0f820ce218ULL,
      {{9, 0x1.19ff3cp-2f}, {13, -0x1.52657cp-4f}, {61, -0x1.52657cp-4f}}},
    {768, 1, 0xc8f4e1af62957dd6ULL,
      {{22, 0x1.9d4a48p-4f}, {57, -0x1.9d4a48p-4f}, {58, -0x1.9d4a48p-4f}}},
    {1024, 2, 0x4bd007754affcd28ULL,
      {{20, -0x1.4797b8p-4f}, {27, 0x1.10fe6ep-2f}, {59, -0x1.4797b8p-4f}}},
    {1024, 3, 0xc53def5a9fab32ddULL,
      {{3, -0x1.49e9c8p-3f}, {89, 0x1.12ed7cp-1f}, {106, -0x1.49e9c8p-3f}}},
};

static uint64_t vector_digest(const float *v, int dim)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < dim; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], sizeof bits);
        for (int byte = 0; byte < 4; byte++)
            h = (h ^ ((bits >> (8 * byte)) & 0xff)) * 0x100000001b3ULL;
    }
    return h;
}

/* hash2's, computed when it was made: a change here means hash2-<dim>
 * indexes no longer match their queries (a libstemmer upgrade that stems
 * differently would show up here first). */
static const golden_vector golden_vectors2[] = {
    {384, 0, 0xc7d7daeafb61edf7ULL,
     {{13, -0x1.311c0ap-3f}, {28, -0x1.311c0ap-3f}, {61, -0x1.311c0ap-3f}}},
    {384, 1, 0x26496a42a3fefeebULL,
     {{17, -0x1.c171acp-4f}, {22, 0x1.c171acp-4f}, {24, 0x1.c171acp-4f}}},
    {384, 4, 0x91aaba4f159f8558ULL,
     {{0, -0x1.526056p-4f}, {3, 0x1.526056p-4f}, {7, -0x1.526056p-4f}}},
    {384, 5, 0x3b8f3bd8286320cbULL,
     {{20, -0x1.40e0dp-3f}, {38, 0x1.c5ca4ep-4f}, {141, 0x1.0b6602p-1f}}},
    {768, 2, 0xf0eef194e54a3688ULL,
     {{20, -0x1.7801b6p-4f}, {27, 0x1.3956c2p-2f}, {30, -0x1.7801b6p-4f}}},
    {768, 3, 0x9b089fe0a8dcc067ULL,
     {{106, -0x1.6482d4p-3f}, {135, 0x1.9ba9dap-4f}, {229, 0x1.6482d4p-3f}}},
};

typedef bool (*embed_fn)(const char *text, size_t len, int dim, float *out);

static void assert_golden(embed_fn fn, const golden_vector *golden, size_t n)
{
    static float v[MAX_DIM];
    for (size_t g = 0; g < n; g++) {
        const golden_vector *want = &golden[g];
        const char *text = golden_texts[want->text];
        assert_true(fn(text, strlen(text), want->dim, v));
        int found = 0;
        for (int i = 0; i < want->dim && found < 3; i++) {
            if (v[i] == 0.0f)
                continue;
            assert_int_equal(i, want->first[found].index);
            assert_true(v[i] == want->first[found].value);
            found++;
        }
        assert_int_equal(found, 3);
        assert_true(vector_digest(v, want->dim) == want->digest);
    }
}

static void test_hash_vectors_match_the_golden_bits(void **state)
{
    (void)state;
    assert_golden(lh_hash_embed, golden_vectors, sizeof golden_vectors / sizeof golden_vectors[0]);
}

static void test_hash2_vectors_match_the_golden_bits(void **state)
{
    (void)state;
    assert_golden(lh_hash2_embed, golden_vectors2,
                  sizeof golden_vectors2 / sizeof golden_vectors2[0]);
}

/* ---- hash2 ----------------------------------------------------------------- */

static double cosine_with(embed_fn fn, const char *a, const char *b)
{
    float va[DIM], vb[DIM];
    assert_true(fn(a, strlen(a), DIM, va));
    assert_true(fn(b, strlen(b), DIM, vb));
    double dot = 0.0;
    for (int i = 0; i < DIM; i++)
        dot += (double)va[i] * vb[i];
    return dot;
}

static void assert_same_hash2(const char *a, const char *b)
{
    float va[DIM], vb[DIM];
    assert_true(lh_hash2_embed(a, strlen(a), DIM, va));
    assert_true(lh_hash2_embed(b, strlen(b), DIM, vb));
    assert_memory_equal(va, vb, sizeof va);
}

static void test_hash2_shape_and_determinism(void **state)
{
    (void)state;
    static float v[MAX_DIM], again[MAX_DIM], old[MAX_DIM];
    for (size_t d = 0; d < sizeof test_dims / sizeof test_dims[0]; d++) {
        for (size_t t = 0; t < SAMPLE_COUNT; t++) {
            const char *text = sample_texts[t];
            assert_true(lh_hash2_embed(text, strlen(text), test_dims[d], v));
            assert_true(lh_hash2_embed(text, strlen(text), test_dims[d], again));
            assert_memory_equal(v, again, (size_t)test_dims[d] * sizeof *v);
            assert_true(fabs(norm_of(v, test_dims[d]) - 1.0) < 1e-5);
        }
    }
    /* a scheme of its own, not the old vectors under a new name */
    assert_true(lh_hash_embed("list directory contents", 23, DIM, old));
    assert_true(lh_hash2_embed("list directory contents", 23, DIM, v));
    assert_memory_not_equal(v, old, DIM * sizeof *v);
    assert_false(lh_hash2_embed("", 0, DIM, v));
    assert_false(lh_hash2_embed(" !? ", 4, DIM, v));
    assert_false(lh_hash2_embed(NULL, 0, DIM, v));
    assert_same_hash2("Hello World", "hello, world");
}

static void test_hash2_drops_stopwords_unless_that_is_all(void **state)
{
    (void)state;
    assert_same_hash2("list the contents of a directory", "list contents directory");
    assert_same_hash2("The Cat and THE mat", "cat mat");
    float v[DIM];
    assert_true(lh_hash2_embed("to be or not to be", 18, DIM, v));
    assert_true(fabs(norm_of(v, DIM) - 1.0) < 1e-5);
    assert_true(cosine_with(lh_hash2_embed, "to be or not to be", "not to be") > 0.5);
    /* with stopwords, two texts on different topics looked alike */
    const char *a = "the name of the file in the directory";
    const char *b = "the size of the queue in the server";
    assert_true(cosine_with(lh_hash2_embed, a, b) < cosine_with(lh_hash_embed, a, b));
}

static void test_hash2_matches_word_forms(void **state)
{
    (void)state;
    const char *pairs[][2] = {
        {"list directory contents", "listing the content of directories"},
        {"connected relational databases", "connecting a relational database"},
        {"compresses files", "compressing a file"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        double now = cosine_with(lh_hash2_embed, pairs[i][0], pairs[i][1]);
        double before = cosine_with(lh_hash_embed, pairs[i][0], pairs[i][1]);
        if (now <= before || now < 0.5)
            fail_msg("'%s' ~ '%s': hash2 %.3f, hash %.3f", pairs[i][0], pairs[i][1], now, before);
    }
    /* the paraphrase property holds for hash2 too */
    assert_true(cosine_with(lh_hash2_embed, "how do I reset my password",
                            "password reset instructions") >
                cosine_with(lh_hash2_embed, "how do I reset my password",
                            "the weather in Paris is sunny today"));
    /* word order still shows, through bigrams */
    float a[DIM], b[DIM];
    assert_true(lh_hash2_embed("dog bites man", 13, DIM, a));
    assert_true(lh_hash2_embed("man bites dog", 13, DIM, b));
    assert_memory_not_equal(a, b, sizeof a);
}

static void test_english_words(void **state)
{
    (void)state;
    assert_true(lh_english_stopword((const unsigned char *)"The", 3));
    assert_true(lh_english_stopword((const unsigned char *)"yourselves", 10));
    assert_true(lh_english_stopword((const unsigned char *)"a", 1));
    assert_false(lh_english_stopword((const unsigned char *)"cat", 3));
    assert_false(lh_english_stopword((const unsigned char *)"thee", 4));
    assert_false(lh_english_stopword((const unsigned char *)"", 0));
    lh_english_stemmer *s = lh_english_stemmer_new();
    unsigned char out[LH_ENGLISH_MAX_STEM_WORD + 8];
    const char *cases[][2] = {
        {"Contents", "content"}, {"listing", "list"}, {"databases", "databas"},
        {"naïve", "naïve"}, {"x11", "x11"}, {"Generously", "generous"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = lh_english_stem(s, (const unsigned char *)cases[i][0], strlen(cases[i][0]), out);
        assert_int_equal(n, strlen(cases[i][1]));
        assert_memory_equal(out, cases[i][1], n);
    }
    /* too long to be English: lowercased, not stemmed */
    char long_word[LH_ENGLISH_MAX_STEM_WORD + 8];
    memset(long_word, 'S', sizeof long_word);
    size_t n = lh_english_stem(s, (const unsigned char *)long_word, sizeof long_word, out);
    assert_int_equal(n, sizeof long_word);
    assert_true(out[0] == 's' && out[n - 1] == 's');
    lh_english_stemmer_free(s);
}

/* ---- the provider's model names -------------------------------------------- */

static void assert_resolves(lh_embed_provider *p, const char *model, const char *name, int dim)
{
    char got[128];
    int got_dim = 0;
    lh_err *err = p->resolve(p, model, got, sizeof got, &got_dim);
    if (err)
        fail_msg("resolve '%s': %s", model ? model : "(default)", lh_err_message(err));
    assert_string_equal(got, name);
    assert_int_equal(got_dim, dim);
}

static void assert_refused(lh_err *err, const char *needle)
{
    assert_non_null(err);
    assert_int_equal(lh_err_code(err), LH_EBADREQ);
    if (!strstr(lh_err_message(err), needle))
        fail_msg("'%s' does not say '%s'", lh_err_message(err), needle);
    lh_err_free(err);
}

static void test_provider_model_names(void **state)
{
    (void)state;
    lh_embed_provider *p = NULL;
    assert_null(lh_embed_hash_provider_create(NULL, 384, &p));
    assert_resolves(p, NULL, "hash2-384", 384);
    assert_resolves(p, "", "hash2-384", 384);
    assert_resolves(p, "hash-384", "hash-384", 384);
    assert_resolves(p, "hash2-768", "hash2-768", 768);
    assert_resolves(p, "hash", "hash-384", 384);
    assert_resolves(p, "hash2-8", "hash2-8", 8);
    char name[128];
    int dim;
    const char *bad[] = {"hash3-384", "hash-7", "hash2-4097", "hash-", "hash-384x", "hash2--1",
                         "hash2-+384", "HASH-384", "hash2x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_refused(p->resolve(p, bad[i], name, sizeof name, &dim), "hash2-<dimension>");

    /* the provider's vectors are the embedder's, by name */
    lh_str text = {"list directory contents", 23};
    lh_strs texts = {&text, 1};
    float v[DIM], want[DIM];
    assert_null(p->embed(p, "hash-384", DIM, &texts, v));
    assert_true(lh_hash_embed(text.s, text.len, DIM, want));
    assert_memory_equal(v, want, sizeof v);
    assert_null(p->embed(p, "hash2-384", DIM, &texts, v));
    assert_true(lh_hash2_embed(text.s, text.len, DIM, want));
    assert_memory_equal(v, want, sizeof v);
    p->destroy(p);

    /* LH_EMBED_MODEL: a full name, or a scheme taking LH_EMBED_DIM */
    assert_null(lh_embed_hash_provider_create("hash-384", 768, &p));
    assert_resolves(p, NULL, "hash-384", 384);
    assert_resolves(p, "hash2", "hash2-384", 384);
    p->destroy(p);
    assert_null(lh_embed_hash_provider_create("hash", 768, &p));
    assert_resolves(p, NULL, "hash-768", 768);
    p->destroy(p);
    assert_refused(lh_embed_hash_provider_create("nomic-embed", 384, &p), "unknown model");
    assert_refused(lh_embed_hash_provider_create(NULL, 5, &p), "out of range");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_text_gives_bitwise_equal_vectors),
        cmocka_unit_test(test_vectors_are_unit_length_for_every_dim),
        cmocka_unit_test(test_only_dim_entries_are_written),
        cmocka_unit_test(test_texts_without_words_give_false_and_zeros),
        cmocka_unit_test(test_case_is_ignored),
        cmocka_unit_test(test_any_non_word_bytes_separate_words),
        cmocka_unit_test(test_length_bounds_the_text),
        cmocka_unit_test(test_word_order_matters_but_little),
        cmocka_unit_test(test_utf8_bytes_are_word_bytes),
        cmocka_unit_test(test_paraphrases_are_closer_than_unrelated_texts),
        cmocka_unit_test(test_shared_word_pieces_give_positive_similarity),
        cmocka_unit_test(test_repetition_is_damped),
        cmocka_unit_test(test_long_text_works),
        cmocka_unit_test(test_one_huge_word_works),
        cmocka_unit_test(test_hash_vectors_match_the_golden_bits),
        cmocka_unit_test(test_hash2_vectors_match_the_golden_bits),
        cmocka_unit_test(test_hash2_shape_and_determinism),
        cmocka_unit_test(test_hash2_drops_stopwords_unless_that_is_all),
        cmocka_unit_test(test_hash2_matches_word_forms),
        cmocka_unit_test(test_english_words),
        cmocka_unit_test(test_provider_model_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
