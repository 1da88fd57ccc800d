/*
 * The featurizer (policies/featurize.c, featurize_text.c): the dense features against
 * their formulas, the hashed block against an independent reimplementation (Python,
 * FNV-1a + splitmix64, little-endian bigram keys) so that a change to the hashing, which
 * would silently invalidate every stored context vector, fails here; the text detectors
 * on positive and negative examples; the tokenizer; limits and errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "featurize.h"
#include "sy_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DIM (SY_FEATURE_DENSE + 13) /* 13 hashed buckets, whatever the dense block */

static void featurize_text(const char *text, double *x, size_t dim)
{
    sy_feature_input in = {.user_text = text, .user_len = strlen(text), .prompt_bytes = 100};
    assert_int_equal(sy_featurize(&in, x, dim), SY_OK);
}

static void test_dense_and_hashed(void **state)
{
    (void)state;
    const char *text = "What is the capital of France?";
    sy_feature_input in = {.user_text = text,
                           .user_len = strlen(text),
                           .prompt_bytes = 100,
                           .turn = 3,
                           .escalation = 2,
                           .has_system = 7, /* any nonzero */
                           .has_tools = 0};
    double x[DIM];
    assert_int_equal(sy_featurize(&in, x, DIM), SY_OK);
    assert_true(x[SY_F_BIAS] == 1);
    assert_true(fabs(x[SY_F_LOG_PROMPT] - log(101) / 10) < 1e-15);
    assert_true(fabs(x[SY_F_LOG_USER] - log(31) / 10) < 1e-15);
    assert_true(fabs(x[SY_F_TURN] - 0.4) < 1e-15); /* ln 4 / ln 32 */
    assert_true(x[SY_F_ESCALATION] == 0.5);
    assert_true(x[SY_F_CODE] == 0 && x[SY_F_MATH] == 0 && x[SY_F_TOOLS] == 0);
    assert_true(x[SY_F_SYSTEM] == 1 && x[SY_F_NON_LATIN] == 0 && x[SY_F_CHOICE] == 0);

    /* tokens what, is, the, capital, of, france and their 5 bigrams into 13 signed
     * buckets; counts (−1, 1, 1, 1, 2, −1, 1, −1 at 1, 2, 4, 5, 6, 8, 9, 12) / √11 */
    double want[DIM - SY_FEATURE_DENSE] = {0};
    const int idx[8] = {1, 2, 4, 5, 6, 8, 9, 12};
    const double cnt[8] = {-1, 1, 1, 1, 2, -1, 1, -1};
    for (int i = 0; i < 8; i++)
        want[idx[i]] = cnt[i] / sqrt(11);
    for (size_t i = 0; i < DIM - SY_FEATURE_DENSE; i++)
        assert_true(fabs(x[SY_FEATURE_DENSE + i] - want[i]) < 1e-15);

    /* deterministic; escalation capped at 4; turn 0 → 0 */
    double y[DIM];
    in.escalation = 9;
    in.turn = 0;
    assert_int_equal(sy_featurize(&in, y, DIM), SY_OK);
    assert_true(y[SY_F_ESCALATION] == 1 && y[SY_F_TURN] == 0);
    assert_memory_equal(x + SY_FEATURE_DENSE, y + SY_FEATURE_DENSE,
                        (DIM - SY_FEATURE_DENSE) * sizeof(double));
}

/* Hashed block of "Hello, WORLD 42 x1": tokens hello, world, <num>, x1 (case folded,
 * the digits one token) and three bigrams: (−1, 1, 2, 1 at 1, 6, 8, 10) / √7. */
static void test_hashed_tokens(void **state)
{
    (void)state;
    double x[DIM], want[DIM - SY_FEATURE_DENSE] = {0};
    featurize_text("Hello, WORLD 42 x1", x, DIM);
    want[1] = -1 / sqrt(7);
    want[6] = 1 / sqrt(7);
    want[8] = 2 / sqrt(7);
    want[10] = 1 / sqrt(7);
    for (size_t i = 0; i < DIM - SY_FEATURE_DENSE; i++)
        assert_true(fabs(x[SY_FEATURE_DENSE + i] - want[i]) < 1e-15);
    /* the same words differently cased and spaced, another number: the same vector */
    double y[DIM];
    featurize_text("hello   world 7, X1!", y, DIM);
    assert_memory_equal(x + SY_FEATURE_DENSE, y + SY_FEATURE_DENSE,
                        (DIM - SY_FEATURE_DENSE) * sizeof(double));
    /* an empty message hashes to zeros; any other to a unit vector */
    featurize_text("", x, DIM);
    for (size_t i = SY_FEATURE_DENSE; i < DIM; i++)
        assert_true(x[i] == 0);
    double z[64], ss = 0;
    featurize_text("Translate this sentence into German, please.", z, 64);
    for (size_t i = SY_FEATURE_DENSE; i < 64; i++)
        ss += z[i] * z[i];
    assert_true(fabs(ss - 1) < 1e-12);
}

typedef struct tok_log {
    char buf[256];
    size_t len;
} tok_log;

static void log_token(const char *tok, size_t len, void *ctx)
{
    tok_log *l = ctx;
    memcpy(l->buf + l->len, tok, len);
    l->len += len;
    l->buf[l->len++] = '|';
    l->buf[l->len] = 0;
}

static void test_tokenizer(void **state)
{
    (void)state;
    tok_log l = {.len = 0};
    const char *s = "Hello, WORLD 42 x1 café";
    sy_text_tokens(s, strlen(s), log_token, &l);
    assert_string_equal(l.buf, "hello|world|<num>|x1|café|");
    char longword[100];
    memset(longword, 'A', sizeof(longword));
    l.len = 0;
    sy_text_tokens(longword, sizeof(longword), log_token, &l);
    assert_int_equal(l.len, 65); /* 64 bytes kept, lower-cased, then the separator */
    assert_true(l.buf[0] == 'a' && l.buf[63] == 'a' && l.buf[64] == '|');
    l.len = 0;
    l.buf[0] = 0;
    sy_text_tokens("  ,;  ", 6, log_token, &l);
    assert_int_equal(l.len, 0);
}

#define YES(fn, s) assert_true(fn(s, strlen(s)) == 1)
#define NO(fn, s)  assert_true(fn(s, strlen(s)) == 0)

static void test_detectors(void **state)
{
    (void)state;
    YES(sy_text_has_code, "look:\n```\nx = 1\n```");
    YES(sy_text_has_code, "def f(x): return x");
    YES(sy_text_has_code, "write a Python script");
    YES(sy_text_has_code, "I love C++");
    NO(sy_text_has_code, "the return of the king");
    NO(sy_text_has_code, "let me know what you think");

    YES(sy_text_has_math, "simplify \\frac{1}{2}");
    YES(sy_text_has_math, "what is 3 + 4");
    YES(sy_text_has_math, "3*4");
    YES(sy_text_has_math, "Solve for x");
    NO(sy_text_has_math, "call me at 555-1234");
    NO(sy_text_has_math, "in 2024 we moved");

    YES(sy_text_is_non_latin, "Привет, как дела?");
    YES(sy_text_is_non_latin, "東京はどこですか");
    NO(sy_text_is_non_latin, "café au lait");
    NO(sy_text_is_non_latin, "я"); /* under 4 bytes counts as nothing */

    YES(sy_text_has_choices, "Pick one:\nA) red\nB) blue");
    YES(sy_text_has_choices, "(A) x\n(B) y");
    YES(sy_text_has_choices, "Q\\nA. yes\\nB. no"); /* escaped line breaks */
    NO(sy_text_has_choices, "A) only one option");
    NO(sy_text_has_choices, "A)B) glued");
    NO(sy_text_has_choices, "Plan A. Then B. Done");
    /* how many options: two (a binary choice) or more */
    assert_int_equal(
        sy_text_choice_options("Pick one:\nA) red\nB) blue", strlen("Pick one:\nA) red\nB) blue")),
        2);
    assert_int_equal(sy_text_choice_options("Q\\nA) x\\nB) y\\nC) z\\nD) w",
                                            strlen("Q\\nA) x\\nB) y\\nC) z\\nD) w")),
                     4);
    assert_int_equal(sy_text_choice_options("C) z\nD) w", strlen("C) z\nD) w")),
                     0); /* no A and B */
    double v[DIM];
    featurize_text("Q?\nA) x\nB) y", v, DIM);
    assert_true(v[SY_F_CHOICE] == 1 && v[SY_F_MANY_CHOICES] == 0);
    featurize_text("Q?\nA) x\nB) y\nC) z", v, DIM);
    assert_true(v[SY_F_CHOICE] == 1 && v[SY_F_MANY_CHOICES] == 1);

    /* the flags land in the vector */
    double x[DIM];
    featurize_text("Pick one:\nA) 2 + 2\nB) ```code```", x, DIM);
    assert_true(x[SY_F_CODE] == 1 && x[SY_F_MATH] == 1 && x[SY_F_CHOICE] == 1);
    sy_feature_input in = {.has_tools = 1};
    assert_int_equal(sy_featurize(&in, x, DIM), SY_OK); /* no text at all */
    assert_true(x[SY_F_TOOLS] == 1 && x[SY_F_LOG_USER] == 0 && x[SY_F_CODE] == 0);
}

/* Only the first SY_FEATURE_SCAN_BYTES are read (the length feature uses the whole). */
static void test_limits_and_errors(void **state)
{
    (void)state;
    double x[DIM], y[DIM];
    sy_feature_input in = {.user_text = NULL, .user_len = 5};
    assert_int_equal(sy_featurize(&in, x, DIM), SY_ERR_INVALID);
    in.user_text = "hello";
    assert_int_equal(sy_featurize(&in, x, SY_FEATURE_DENSE), SY_ERR_INVALID);
    assert_int_equal(sy_featurize(&in, x, SY_FEATURE_DENSE + 1), SY_OK);
    assert_true(x[SY_FEATURE_DENSE] == 1 || x[SY_FEATURE_DENSE] == -1);

    size_t n = SY_FEATURE_SCAN_BYTES + 5000;
    char *big = sy_xmalloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = "lorem ipsum dolor "[i % 18];
    memcpy(big + SY_FEATURE_SCAN_BYTES + 100, "```", 3); /* past the scan window */
    sy_feature_input a = {.user_text = big, .user_len = n};
    sy_feature_input b = {.user_text = big, .user_len = SY_FEATURE_SCAN_BYTES};
    assert_int_equal(sy_featurize(&a, x, DIM), SY_OK);
    assert_int_equal(sy_featurize(&b, y, DIM), SY_OK);
    assert_true(x[SY_F_CODE] == 0);
    assert_true(x[SY_F_LOG_USER] == log1p((double)n) / 10);
    x[SY_F_LOG_USER] = y[SY_F_LOG_USER];
    assert_memory_equal(x, y, sizeof(x));
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_and_hashed),  cmocka_unit_test(test_hashed_tokens),
        cmocka_unit_test(test_tokenizer),         cmocka_unit_test(test_detectors),
        cmocka_unit_test(test_limits_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
