/* policies/cache_arm: the cache arm's features, context vector, eligibility and zero
 * price, and that a linear policy given those features learns where cached answers are
 * good (above a similarity) and where a model is better. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cache_arm.h"
#include "policy.h"
#include "sy_common.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>

/* One request's rating q and outcome (10 tokens, cost_usd) on arm with context x[dim]. */
static void observe(sy_policy_state *st, size_t arm, const double *x, size_t dim, double q,
                    double cost_usd, int t)
{
    sy_quality_obs qo = {.arm = arm, .x = x, .dim = dim, .reward = q, .weight = 1, .t = t};
    assert_int_equal(sy_policy_state_observe_quality(st, &qo, NULL), SY_OK);
    sy_outcome_obs oo = {
        .arm = arm, .latency_s = NAN, .output_tokens = 10, .cost_usd = cost_usd, .t = t};
    assert_int_equal(sy_policy_state_observe_outcome(st, &oo), SY_OK);
}

static void test_features(void **state)
{
    (void)state;
    double f[SY_CACHE_ARM_FEATURES];
    sy_cache_arm_features(&(sy_cache_candidate){.has = 0, .similarity = 0.97, .tau = 0.8}, NULL, f);
    assert_true(f[0] == 0 && f[1] == 0 && f[2] == 0); /* no candidate: all 0 */
    sy_cache_arm_features(&(sy_cache_candidate){.has = 1, .similarity = 0.9, .tau = 0.8}, NULL, f);
    assert_true(fabs(f[0] - 0.9) < 1e-12 && fabs(f[1] - 0.5) < 1e-12 && f[2] == 0);
    sy_cache_arm_features(&(sy_cache_candidate){.has = 1, .similarity = 0.7, .tau = 0.8}, NULL,
                          f); /* below τ: no ramp */
    assert_true(fabs(f[0] - 0.7) < 1e-12 && f[1] == 0 && f[2] == 0);
    sy_cache_arm_features(&(sy_cache_candidate){.has = 1, .similarity = 1.2, .tau = 0.8}, NULL,
                          f); /* clamped; an exact repeat */
    assert_true(f[0] == 1 && fabs(f[1] - 1) < 1e-12 && f[2] == 1);
    sy_cache_arm_features(&(sy_cache_candidate){.has = 1, .similarity = -0.3, .tau = 0.8}, NULL, f);
    assert_true(f[0] == 0 && f[1] == 0 && f[2] == 0);
    sy_cache_arm_features(&(sy_cache_candidate){.has = 1, .similarity = NAN, .tau = 0.8}, NULL, f);
    assert_true(f[0] == 0 && f[1] == 0 && f[2] == 0);
    sy_cache_arm_features(&(sy_cache_candidate){.has = 1, .similarity = 0.9, .tau = 1.0}, NULL,
                          f); /* τ out of [0, 1): no ramp */
    assert_true(f[0] == 0.9 && f[1] == 0);
}

/* What users said of the entry: a count ramp and the posterior mean's shift from the
 * neutral prior; the similarity curve times the prompt's format flags. */
static void test_rating_and_kind_features(void **state)
{
    (void)state;
    double f[SY_CACHE_ARM_FEATURES], plain[SY_FEATURE_DENSE] = {0};
    enum { N = 3, EV = 4, S_CODE = 5, R_CODE = 6, S_MATH = 7, R_MATH = 8, S_MC = 9, R_MC = 10 };
    sy_cache_arm_features(&(sy_cache_candidate){.has = 1, .similarity = 0.9, .tau = 0.8}, NULL, f);
    assert_true(f[N] == 0 && f[EV] == 0); /* never rated */
    /* rated 3 times, 0 each: n/(n+1) = 0.75, (0 − 0.5·3)/4 = −0.375 */
    sy_cache_arm_features(
        &(sy_cache_candidate){
            .has = 1, .similarity = 0.9, .tau = 0.8, .rating_sum = 0, .rating_n = 3},
        NULL, f);
    assert_true(fabs(f[N] - 0.75) < 1e-12 && fabs(f[EV] + 0.375) < 1e-12);
    /* rated 3 times, 1 each: +0.375; a sum above n is clamped to n */
    sy_cache_arm_features(
        &(sy_cache_candidate){
            .has = 1, .similarity = 0.9, .tau = 0.8, .rating_sum = 7, .rating_n = 3},
        NULL, f);
    assert_true(fabs(f[N] - 0.75) < 1e-12 && fabs(f[EV] - 0.375) < 1e-12);
    /* nonsense counts are "never rated" */
    sy_cache_arm_features(
        &(sy_cache_candidate){
            .has = 1, .similarity = 0.9, .tau = 0.8, .rating_sum = 1, .rating_n = NAN},
        NULL, f);
    assert_true(f[N] == 0 && f[EV] == 0);
    sy_cache_arm_features(
        &(sy_cache_candidate){
            .has = 1, .similarity = 0.9, .tau = 0.8, .rating_sum = -1, .rating_n = -2},
        NULL, f);
    assert_true(f[N] == 0 && f[EV] == 0);
    /* no format flag: no products; without a candidate, nothing at all */
    sy_cache_arm_features(&(sy_cache_candidate){.has = 1, .similarity = 0.9, .tau = 0.8}, plain, f);
    for (size_t i = S_CODE; i < SY_CACHE_ARM_FEATURES; i++)
        assert_true(f[i] == 0);
    plain[SY_F_CODE] = 1, plain[SY_F_CHOICE] = 1;
    sy_cache_arm_features(&(sy_cache_candidate){.has = 1, .similarity = 0.9, .tau = 0.8}, plain, f);
    assert_true(fabs(f[S_CODE] - 0.9) < 1e-12 && fabs(f[R_CODE] - 0.5) < 1e-12);
    assert_true(f[S_MATH] == 0 && f[R_MATH] == 0);
    assert_true(fabs(f[S_MC] - 0.9) < 1e-12 && fabs(f[R_MC] - 0.5) < 1e-12);
    sy_cache_arm_features(
        &(sy_cache_candidate){.has = 0, .similarity = 0.9, .tau = 0.8, .rating_n = 2}, plain, f);
    for (size_t i = 0; i < SY_CACHE_ARM_FEATURES; i++)
        assert_true(f[i] == 0);
}

static void test_featurize_appends_to_the_ordinary_features(void **state)
{
    (void)state;
    enum { DIM = 32, BASE = DIM - SY_CACHE_ARM_FEATURES };
    const char *text = "Write a Python function that reverses a list.";
    sy_feature_input in = {.user_text = text, .user_len = strlen(text), .prompt_bytes = 46};
    double x[DIM], plain[BASE];
    assert_int_equal(
        sy_cache_arm_featurize(
            &in,
            &(sy_cache_candidate){
                .has = 1, .similarity = 0.95, .tau = 0.9, .rating_sum = 2, .rating_n = 2},
            x, DIM),
        SY_OK);
    assert_int_equal(sy_featurize(&in, plain, BASE), SY_OK);
    assert_memory_equal(x, plain, sizeof plain);
    assert_true(plain[SY_F_CODE] == 1 && plain[SY_F_MATH] == 0); /* a coding prompt */
    const double *f = x + BASE;
    assert_true(fabs(f[0] - 0.95) < 1e-12 && fabs(f[1] - 0.5) < 1e-9 && f[2] == 0);
    assert_true(fabs(f[3] - 2.0 / 3) < 1e-12 && fabs(f[4] - 1.0 / 3) < 1e-12);
    assert_true(fabs(f[5] - 0.95) < 1e-12 && fabs(f[6] - 0.5) < 1e-9 && f[7] == 0);
    assert_int_equal(
        sy_cache_arm_featurize(&in, &(sy_cache_candidate){.has = 0, .similarity = 0.95, .tau = 0.9},
                               x, DIM),
        SY_OK);
    for (size_t i = BASE; i < DIM; i++)
        assert_true(x[i] == 0);
    assert_int_equal(
        sy_cache_arm_featurize(&in, &(sy_cache_candidate){.has = 1, .similarity = 0.9, .tau = 0.9},
                               x, SY_FEATURE_DENSE + SY_CACHE_ARM_FEATURES),
        SY_ERR_INVALID);
}

static void test_eligibility_and_price(void **state)
{
    (void)state;
    uint8_t e[3] = {1, 0, 1};
    sy_cache_arm_eligible(e, 2, 0);
    assert_true(e[0] == 1 && e[1] == 0 && e[2] == 0);
    sy_cache_arm_eligible(e, 2, 1);
    assert_true(e[0] == 1 && e[1] == 0 && e[2] == 1);
    sy_arm_params ap;
    sy_cache_arm_params(&ap);
    assert_int_equal(sy_arm_params_check(&ap), SY_OK);
    assert_int_equal(ap.cost_model, SY_COST_PRICED);
    assert_true(ap.price_in_per_mtok == 0 && ap.price_out_per_mtok == 0);
}

/* Why long: one learning scenario, trained then probed. */
static void test_a_linear_policy_learns_where_the_cache_is_good(void **state)
{
    (void)state;
    enum { DIM = 24, K = 2, CACHE = 1 };
    sy_arm_params arms[K];
    sy_arm_params_init(&arms[0]);
    arms[0].price_in_per_mtok = 10; /* the model: 100 input tokens cost $0.001 */
    sy_cache_arm_params(&arms[CACHE]);
    sy_policy_params p;
    sy_policy_params_init(&p, SY_POLICY_LINEAR_THOMPSON, K, DIM);
    p.arms = arms;
    p.objective.w_cost_rel = 0.1;
    sy_policy_state *st;
    assert_int_equal(sy_policy_state_new(&p, &st), SY_OK);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 7);
    const char *text = "What is the capital of Austria?";
    sy_feature_input in = {.user_text = text, .user_len = strlen(text), .prompt_bytes = 31};
    double x[DIM];
    /* users like the model 70% of the time; a cached answer when s ≥ 0.9 (same question),
     * not below (a near-miss) */
    for (int i = 0; i < 4000; i++) {
        double s = 0.7 + 0.3 * gsl_rng_uniform(r);
        assert_int_equal(
            sy_cache_arm_featurize(
                &in, &(sy_cache_candidate){.has = 1, .similarity = s, .tau = 0.85}, x, DIM),
            SY_OK);
        size_t arm = (size_t)(i % 2);
        double q = arm == CACHE ? (s >= 0.9) : gsl_rng_uniform(r) < 0.7;
        observe(st, arm, x, DIM, q, arm == CACHE ? 0 : 0.001, i);
    }
    sy_policy *snap = sy_policy_state_snapshot(st, 4000);
    double u[K], v;
    sy_decide_in din = {.n_arms = K, .x = x, .dim = DIM, .rng = r, .input_tokens = 100};
    assert_int_equal(
        sy_cache_arm_featurize(
            &in, &(sy_cache_candidate){.has = 1, .similarity = 0.98, .tau = 0.85}, x, DIM),
        SY_OK);
    for (size_t k = 0; k < K; k++)
        assert_int_equal(sy_policy_score(snap, k, &din, &u[k], &v), SY_OK);
    assert_true(u[CACHE] > u[0]); /* a near-certain repeat: serve the cache */
    assert_int_equal(
        sy_cache_arm_featurize(
            &in, &(sy_cache_candidate){.has = 1, .similarity = 0.75, .tau = 0.85}, x, DIM),
        SY_OK);
    for (size_t k = 0; k < K; k++)
        assert_int_equal(sy_policy_score(snap, k, &din, &u[k], &v), SY_OK);
    assert_true(u[CACHE] < u[0]); /* a probable near-miss: call the model */
    /* without a candidate the cache arm is never chosen */
    uint8_t elig[K] = {1, 1};
    sy_cache_arm_eligible(elig, CACHE, 0);
    assert_int_equal(
        sy_cache_arm_featurize(&in, &(sy_cache_candidate){.has = 0, .similarity = 0, .tau = 0.85},
                               x, DIM),
        SY_OK);
    din.eligible = elig;
    for (int i = 0; i < 200; i++) {
        sy_decide_out out;
        assert_int_equal(sy_policy_decide(snap, &din, &out), SY_OK);
        assert_int_equal(out.ranking[0], 0);
        assert_int_equal(out.n_ranked, 1);
    }
    sy_policy_free(snap);
    sy_policy_state_free(st);
    gsl_rng_free(r);
}

/* A cost hint (what the cached answer cost on the model) replaces the model's learned
 * cost in the decision: the same cached answer is worth serving for a dear question and
 * not for a cheap one, under an absolute cost weight. Without a hint (NULL, or NAN for
 * the arm) the learned cost decides, as for any route. */
static void test_cost_hint_prices_the_saving(void **state)
{
    (void)state;
    enum { DIM = 24, K = 2, CACHE = 1 };
    sy_arm_params arms[K];
    sy_arm_params_init(&arms[0]);
    arms[0].cost_model = SY_COST_LEARNED;
    arms[0].prior_cost_usd = 0.005;
    sy_cache_arm_params(&arms[CACHE]);
    sy_policy_params p;
    sy_policy_params_init(&p, SY_POLICY_LINEAR_THOMPSON, K, DIM);
    p.arms = arms;
    p.objective.w_cost = 40; /* $0.005 = 0.2 of quality */
    sy_policy_state *st;
    assert_int_equal(sy_policy_state_new(&p, &st), SY_OK);
    const char *text = "What is the capital of Austria?";
    sy_feature_input in = {.user_text = text, .user_len = strlen(text), .prompt_bytes = 31};
    double x[DIM];
    sy_cache_candidate c = {.has = 1, .similarity = 0.9, .tau = 0.85};
    assert_int_equal(sy_cache_arm_featurize(&in, &c, x, DIM), SY_OK);
    /* the model is right 90% of the time at $0.005; the cached answer 75% */
    for (int i = 0; i < 2000; i++) {
        size_t arm = (size_t)(i % 2);
        double q = arm == CACHE ? (i % 8 != 1 ? 0.9 : 0.3) : 0.9;
        observe(st, arm, x, DIM, q, arm == CACHE ? 0 : 0.005, i);
    }
    sy_policy *snap = sy_policy_state_snapshot(st, 2000);
    double u[K], v, cheap[K] = {0.001, NAN}, dear[K] = {0.02, NAN}, none[K] = {NAN, NAN};
    sy_decide_in din = {.n_arms = K, .x = x, .dim = DIM};
    const double *hints[] = {NULL, none, cheap, dear};
    double model_u[4];
    for (size_t h = 0; h < SY_ARRAY_LEN(hints); h++) {
        din.cost_hint = hints[h];
        for (size_t k = 0; k < K; k++)
            assert_int_equal(sy_policy_score(snap, k, &din, &u[k], &v), SY_OK);
        model_u[h] = u[0];
        /* learned cost ≈ $0.005 (0.2): the model 0.9 − 0.2 vs the cache 0.75 */
        if (h < 2)
            assert_true(u[CACHE] > u[0]);
        if (h == 2) /* a $0.001 question: call the model (0.86 > 0.75) */
            assert_true(u[0] > u[CACHE]);
        if (h == 3) /* a $0.02 question: 0.9 − 0.8 ≪ 0.75 */
            assert_true(u[CACHE] > u[0] + 0.5);
    }
    assert_true(model_u[0] == model_u[1]); /* NAN = no hint */
    assert_true(fabs((model_u[2] - model_u[3]) - 40 * 0.019) < 1e-9);
    sy_policy_free(snap);
    sy_policy_state_free(st);
}

int main(void)
{
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features),
        cmocka_unit_test(test_rating_and_kind_features),
        cmocka_unit_test(test_featurize_appends_to_the_ordinary_features),
        cmocka_unit_test(test_eligibility_and_price),
        cmocka_unit_test(test_a_linear_policy_learns_where_the_cache_is_good),
        cmocka_unit_test(test_cost_hint_prices_the_saving),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
