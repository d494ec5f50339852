/*
 * test_hash_embedder.c — properties of the built-in `hash` embedder:
 * determinism, unit length, the no-feature cases, normalisation (case,
 * separators, UTF-8), and that similar texts land closer than unrelated
 * ones; and golden vectors: stored indexes hold `hash-<dim>` vectors, so
 * a query embedded today must match them bit for bit. The pinned digests
 * and floats were computed before any later scheme (hash2) existed; if
 * they change, old indexes silently stop finding things.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "actors/embed/hash_embedder.h"

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

static void test_hash_vectors_match_the_golden_bits(void **state)
{
    (void)state;
    static float v[MAX_DIM];
    for (size_t g = 0; g < sizeof golden_vectors / sizeof golden_vectors[0]; g++) {
        const golden_vector *want = &golden_vectors[g];
        assert_true(embed(golden_texts[want->text], want->dim, v));
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
