/*
 * The scale-free objective (policies/objective.c, DESIGN.md §5): the relative cost term
 * log2(1 + cost / scale) against the geometric mean of the arms' costs, its edge cases
 * (free arms, no priced arm), and the property it exists for — multiplying every price
 * by the same factor changes no utility and no decision — for the greedy and the
 * Thompson deciders. The absolute weights keep their old meaning.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "policy.h"
#include "policy_state.h"
#include "sy_common.h"

#include <gsl/gsl_rng.h>
#include <math.h>
#include <string.h>

static void near(double a, double b, double eps)
{
    if (!(fabs(a - b) <= eps))
        fail_msg("%.17g != %.17g (± %g)", a, b, eps);
}

static void test_utility_and_scale(void **state)
{
    (void)state;
    sy_objective o = {.w_quality = 1, .w_cost_rel = 0.1};
    near(sy_objective_utility(&o, 0.8, 0.002, NAN, 0.002, 0), 0.8 - 0.1, 1e-15); /* at scale */
    near(sy_objective_utility(&o, 0.8, 0.006, NAN, 0.002, 0), 0.8 - 0.2, 1e-15); /* 3× → 2 */
    near(sy_objective_utility(&o, 0.8, 0, NAN, 0.002, 0), 0.8, 0); /* a free arm pays 0 */
    near(sy_objective_utility(&o, 0.8, 0.01, NAN, 0, 0), 0.8, 0);  /* no scale: no term */
    /* invariant under a common price factor */
    near(sy_objective_utility(&o, 0.5, 0.37, NAN, 0.11, 0),
         sy_objective_utility(&o, 0.5, 0.37e-4, NAN, 0.11e-4, 0), 1e-12);
    /* the absolute weights are unchanged: w_cost per USD, w_latency per second */
    sy_objective a = {.w_quality = 1, .w_cost = 100, .w_latency = 0.5};
    near(sy_objective_utility(&a, 0.9, 0.001, 2, 123, 456), 0.9 - 0.1 - 1.0, 1e-15);
    /* relative latency the same way */
    sy_objective l = {.w_quality = 1, .w_latency_rel = 0.2};
    near(sy_objective_utility(&l, 1, 0.01, 3, 0, 1), 1 - 0.2 * 2, 1e-15);

    double v[] = {1e-3, 0, 4e-3, NAN, 16e-3};
    unsigned char mask[] = {1, 1, 1, 1, 0};
    near(sy_geomean_positive(v, NULL, 5), 4e-3, 1e-15); /* 1, 4, 16 (×1e-3) */
    near(sy_geomean_positive(v, mask, 5), 2e-3, 1e-15); /* 1, 4 */
    double zeros[] = {0, 0};
    near(sy_geomean_positive(zeros, NULL, 2), 0, 0);
}

/* A snapshot of `kind` over 4 priced arms whose prices are `factor` × a base list, with
 * the same evidence (ratings and token counts) for every factor. */
static sy_policy *priced_snapshot(sy_policy_kind kind, double factor, double w_cost_rel)
{
    static const double pin[] = {10, 1, 0.2, 0.05}, pout[] = {30, 2, 0.6, 0.1};
    static const double quality[] = {0.9, 0.8, 0.7, 0.4};
    sy_arm_params arms[4];
    for (size_t k = 0; k < 4; k++) {
        sy_arm_params_init(&arms[k]);
        arms[k].price_in_per_mtok = pin[k] * factor;
        arms[k].price_out_per_mtok = pout[k] * factor;
    }
    sy_policy_params pp;
    sy_policy_params_init(&pp, kind, 4, 0);
    pp.arms = arms;
    pp.objective = (sy_objective){.w_quality = 1, .w_cost_rel = w_cost_rel};
    sy_policy_state *st;
    assert_int_equal(sy_policy_state_new(&pp, &st), SY_OK);
    for (size_t k = 0; k < 4; k++)
        for (int i = 0; i < 50; i++) {
            sy_outcome_obs oo = {
                .arm = k, .latency_s = 1, .output_tokens = 200, .cost_usd = NAN, .t = 0};
            assert_int_equal(sy_policy_state_observe_outcome(st, &oo), SY_OK);
            sy_quality_obs qo = {
                .arm = k, .reward = i < quality[k] * 50 ? 1 : 0, .weight = 1, .t = 0};
            assert_int_equal(sy_policy_state_observe_quality(st, &qo, NULL), SY_OK);
        }
    sy_policy *p = sy_policy_state_snapshot(st, 0);
    sy_policy_state_free(st);
    return p;
}

static void test_price_level_changes_nothing(void **state)
{
    (void)state;
    sy_policy_kind kinds[] = {SY_POLICY_EPSILON_GREEDY, SY_POLICY_THOMPSON};
    for (size_t ki = 0; ki < 2; ki++) {
        sy_policy *base = priced_snapshot(kinds[ki], 1, 0.1);
        sy_policy *cheap = priced_snapshot(kinds[ki], 1e-3, 0.1);
        sy_decide_in in = {.n_arms = 4, .input_tokens = 500};
        for (size_t k = 0; k < 4; k++) {
            double u1, v1, u2, v2;
            assert_int_equal(sy_policy_score(base, k, &in, &u1, &v1), SY_OK);
            assert_int_equal(sy_policy_score(cheap, k, &in, &u2, &v2), SY_OK);
            near(u1, u2, 1e-9);
        }
        /* the same random stream gives the same decisions at both price levels */
        gsl_rng *r1 = gsl_rng_alloc(gsl_rng_mt19937), *r2 = gsl_rng_alloc(gsl_rng_mt19937);
        gsl_rng_set(r1, 7);
        gsl_rng_set(r2, 7);
        size_t counts[4] = {0};
        for (int i = 0; i < 2000; i++) {
            sy_decide_in a = {.n_arms = 4, .input_tokens = 500, .rng = r1, .seq = (uint64_t)i};
            sy_decide_in b = a;
            b.rng = r2;
            sy_decide_out oa, ob;
            assert_int_equal(sy_policy_decide(base, &a, &oa), SY_OK);
            assert_int_equal(sy_policy_decide(cheap, &b, &ob), SY_OK);
            assert_int_equal(oa.ranking[0], ob.ranking[0]);
            counts[oa.ranking[0]]++;
        }
        /* and the trade-off bites: at 0.1 per doubling the dearest arm (quality 0.9,
         * ~10× the scale) loses to arm 1 (0.8, ~1× the scale) */
        assert_true(counts[1] > counts[0]);
        gsl_rng_free(r1);
        gsl_rng_free(r2);
        sy_policy_free(base);
        sy_policy_free(cheap);
    }
    /* without a cost weight the best-quality arm leads */
    sy_policy *q = priced_snapshot(SY_POLICY_EPSILON_GREEDY, 1, 0);
    sy_decide_in in = {.n_arms = 4, .input_tokens = 500};
    double u0, u1, v;
    assert_int_equal(sy_policy_score(q, 0, &in, &u0, &v), SY_OK);
    assert_int_equal(sy_policy_score(q, 1, &in, &u1, &v), SY_OK);
    assert_true(u0 > u1);
    sy_policy_free(q);
}

static void test_params_check(void **state)
{
    (void)state;
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_THOMPSON, 2, 0);
    pp.objective.w_cost_rel = -0.1;
    assert_int_equal(sy_policy_params_check(&pp), SY_ERR_INVALID);
    pp.objective.w_cost_rel = 0.1;
    pp.objective.w_latency_rel = NAN;
    assert_int_equal(sy_policy_params_check(&pp), SY_ERR_INVALID);
    pp.objective.w_latency_rel = 0.1;
    assert_int_equal(sy_policy_params_check(&pp), SY_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utility_and_scale),
        cmocka_unit_test(test_price_level_changes_nothing),
        cmocka_unit_test(test_params_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
