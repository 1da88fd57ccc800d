/*
 * Beta–Bernoulli Thompson sampling (policies/snapshot.c, decide_thompson.c): the
 * posterior against its closed form, re-rating, the distribution of the sampled
 * quality, and Monte Carlo propensities against analytic win probabilities.
 *
 * Statistical checks are seeded and use tolerances of 5 standard errors computed from
 * the sample size (binomial frequencies) or from the sample variance (propensity
 * means), so a correct implementation fails with probability below 1e-6 per check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "policy.h"
#include "sy_common.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>

static sy_policy_state *new_state(const sy_policy_params *pp)
{
    sy_policy_state *st = NULL;
    assert_int_equal(sy_policy_state_new(pp, &st), SY_OK);
    return st;
}

static void rate(sy_policy_state *st, size_t arm, double r, double w)
{
    sy_quality_obs q = {.arm = arm, .reward = r, .weight = w};
    assert_int_equal(sy_policy_state_observe_quality(st, &q, NULL), SY_OK);
}

/* ups ratings of 1 and downs of 0 */
static void rate_many(sy_policy_state *st, size_t arm, int ups, int downs)
{
    for (int i = 0; i < ups; i++)
        rate(st, arm, 1, 1);
    for (int i = 0; i < downs; i++)
        rate(st, arm, 0, 1);
}

static gsl_rng *seeded(unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    return r;
}

/* 5 binomial standard errors of a frequency estimated from n trials */
static double binom_tol(double p, double n)
{
    return 5 * sqrt(p * (1 - p) / n);
}

/*
 * P(X > Y) for X ~ Beta(a1, b1), Y ~ Beta(a2, b2) with integer a1 (Evan Miller's closed
 * form): Σ_{i<a1} B(a2 + i, b1 + b2) / ((b1 + i)·B(1 + i, b1)·B(a2, b2)).
 */
static double lbeta(double a, double b)
{
    return lgamma(a) + lgamma(b) - lgamma(a + b);
}

static double beta_win(int a1, int b1, int a2, int b2)
{
    double s = 0;
    for (int i = 0; i < a1; i++)
        s += exp(lbeta(a2 + i, b1 + b2) - log(b1 + i) - lbeta(1 + i, b1) - lbeta(a2, b2));
    return s;
}

/* Prior Beta(1, 1) (mean 0.5, strength 2); 7 ups and 3 downs give Beta(8, 4). */
static void test_posterior_closed_form(void **state)
{
    (void)state;
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_THOMPSON, 2, 0);
    sy_arm_params arms[2];
    sy_arm_params_init(&arms[0]);
    sy_arm_params_init(&arms[1]);
    arms[1].prior_quality = 0.8; /* Beta(4, 1) */
    arms[1].prior_quality_strength = 5;
    pp.arms = arms;
    sy_policy_state *st = new_state(&pp);
    rate_many(st, 0, 7, 3);
    rate(st, 1, 0.25, 2); /* graded, weighted: α += 0.5, β += 1.5 */
    rate(st, 1, 0.5, 1);  /* α += 0.5, β += 0.5 */
    sy_policy *p = sy_policy_state_snapshot(st, 0);

    sy_arm_summary s;
    assert_int_equal(sy_policy_arm_summary(p, 0, 0, &s), SY_OK);
    assert_true(fabs(s.ratings - 10) < 1e-12);
    assert_true(fabs(s.quality_mean - 8.0 / 12.0) < 1e-12);
    /* central 95% interval of Beta(8, 4), from mpmath at 30 digits */
    assert_true(fabs(s.quality_lo - 0.390257440427578765) < 1e-9);
    assert_true(fabs(s.quality_hi - 0.890736556180901869) < 1e-9);

    assert_int_equal(sy_policy_arm_summary(p, 1, 0, &s), SY_OK); /* Beta(5, 3) */
    assert_true(fabs(s.ratings - 3) < 1e-12);
    assert_true(fabs(s.quality_mean - 5.0 / 8.0) < 1e-12);
    assert_true(fabs(s.quality_lo - 0.290420863737342714) < 1e-9);
    assert_true(fabs(s.quality_hi - 0.901011721557492103) < 1e-9);

    /* the deterministic score of a Thompson arm is its posterior mean quality */
    sy_decide_in in = {0};
    double u, v;
    assert_int_equal(sy_policy_score(p, 0, &in, &u, &v), SY_OK);
    assert_true(fabs(u - 8.0 / 12.0) < 1e-12 && v == 0);
    assert_int_equal(sy_policy_arm_summary(p, 2, 0, &s), SY_ERR_INVALID);
    sy_policy_free(p);
    sy_policy_state_free(st);
}

/* Re-rating = retract the old value, observe the new: the posterior is exactly what
 * the new rating alone gives, whatever came in between. */
static void test_rerating(void **state)
{
    (void)state;
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_THOMPSON, 1, 0);
    sy_policy_state *st = new_state(&pp);
    sy_quality_obs q = {.arm = 0, .reward = 1, .weight = 1};
    double stamp = -1;
    assert_int_equal(sy_policy_state_observe_quality(st, &q, &stamp), SY_OK);
    assert_true(stamp == 1); /* observation clock */
    rate(st, 0, 0.5, 1);
    assert_int_equal(sy_policy_state_retract_quality(st, &q, stamp), SY_OK);
    q.reward = 0;
    assert_int_equal(sy_policy_state_observe_quality(st, &q, NULL), SY_OK);
    sy_policy *p = sy_policy_state_snapshot(st, 0);
    sy_arm_summary s;
    sy_policy_arm_summary(p, 0, 0, &s); /* Beta(1 + 0.5, 1 + 0.5 + 1) */
    assert_true(fabs(s.ratings - 2) < 1e-12);
    assert_true(fabs(s.quality_mean - 1.5 / 4.0) < 1e-12);
    sy_policy_free(p);

    /* invalid ratings change nothing */
    q.reward = 1.5;
    assert_int_equal(sy_policy_state_observe_quality(st, &q, NULL), SY_ERR_INVALID);
    q.reward = NAN;
    assert_int_equal(sy_policy_state_observe_quality(st, &q, NULL), SY_ERR_INVALID);
    q.reward = 1;
    q.weight = 0;
    assert_int_equal(sy_policy_state_observe_quality(st, &q, NULL), SY_ERR_INVALID);
    q.weight = 1;
    q.arm = 1;
    assert_int_equal(sy_policy_state_observe_quality(st, &q, NULL), SY_ERR_INVALID);
    p = sy_policy_state_snapshot(st, 0);
    sy_policy_arm_summary(p, 0, 0, &s);
    assert_true(fabs(s.ratings - 2) < 1e-12 && fabs(s.quality_mean - 1.5 / 4.0) < 1e-12);
    sy_policy_free(p);
    sy_policy_state_free(st);
}

/*
 * Two arms, Beta(8, 4) and Beta(5, 3): arm 0 leads with P(X > Y) = 0.5723981900…
 * (closed form above, and mpmath). The frequency of each leader matches it, and the
 * Monte Carlo propensity reported with each decision is unbiased for the leader's
 * probability: its mean over the decisions led by arm 0 is P, by arm 1 is 1 − P.
 */
static void test_win_probability_and_propensity(void **state)
{
    (void)state;
    double p0 = beta_win(8, 4, 5, 3);
    assert_true(fabs(p0 - 0.572398190045248869) < 1e-12);

    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_THOMPSON, 2, 0);
    sy_policy_state *st = new_state(&pp);
    rate_many(st, 0, 7, 3);
    rate_many(st, 1, 4, 2);
    sy_policy *p = sy_policy_state_snapshot(st, 0);
    gsl_rng *rng = seeded(11);
    sy_decide_in in = {.n_arms = 2, .rng = rng};
    sy_decide_out out;
    const int N = 40000;
    double n_lead[2] = {0}, sum[2] = {0}, sum2[2] = {0};
    for (int i = 0; i < N; i++) {
        assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
        assert_int_equal(out.n_ranked, 2);
        assert_true(out.ranking[0] != out.ranking[1]);
        assert_true(out.propensity >= SY_PROPENSITY_FLOOR && out.propensity <= 1);
        size_t k = out.ranking[0];
        n_lead[k]++;
        sum[k] += out.propensity;
        sum2[k] += out.propensity * out.propensity;
    }
    assert_true(fabs(n_lead[0] / N - p0) < binom_tol(p0, N));
    double want[2] = {p0, 1 - p0};
    for (int k = 0; k < 2; k++) {
        double mean = sum[k] / n_lead[k];
        double var = sum2[k] / n_lead[k] - mean * mean;
        assert_true(fabs(mean - want[k]) < 5 * sqrt(var / n_lead[k]) + 1e-9);
    }
    gsl_rng_free(rng);
    sy_policy_free(p);
    sy_policy_state_free(st);
}

/*
 * The distribution of the sampled quality: against an arm pinned at τ (prior of
 * strength 10⁷, posterior sd < 2e-4), a Beta(3, 5) arm leads with probability
 * P(q̃ > τ) = 1 − I_τ(3, 5). Checked at three points of its distribution function
 * (so its location and spread), with the Rao–Blackwellised propensity, which here is
 * that same tail probability in every decision.
 */
static void test_sampled_quality_distribution(void **state)
{
    (void)state;
    const double taus[] = {0.2, 0.375, 0.6};
    const double tails[] = {0.851968, 0.475347042083740234, 0.096256}; /* mpmath */
    gsl_rng *rng = seeded(3);
    for (int t = 0; t < 3; t++) {
        sy_policy_params pp;
        sy_policy_params_init(&pp, SY_POLICY_THOMPSON, 2, 0);
        sy_arm_params arms[2];
        sy_arm_params_init(&arms[0]);
        sy_arm_params_init(&arms[1]);
        arms[0].prior_quality = 3.0 / 8.0;
        arms[0].prior_quality_strength = 8; /* Beta(3, 5) */
        arms[1].prior_quality = taus[t];
        arms[1].prior_quality_strength = 1e7;
        pp.arms = arms;
        sy_policy_state *st = new_state(&pp);
        sy_policy *p = sy_policy_state_snapshot(st, 0);
        sy_decide_in in = {.n_arms = 2, .rng = rng};
        sy_decide_out out;
        const int N = 20000;
        double lead0 = 0, prop0 = 0;
        for (int i = 0; i < N; i++) {
            sy_policy_decide(p, &in, &out);
            if (out.ranking[0] == 0) {
                lead0++;
                prop0 += out.propensity;
            }
        }
        assert_true(fabs(gsl_cdf_beta_Q(taus[t], 3, 5) - tails[t]) < 1e-12);
        assert_true(fabs(lead0 / N - tails[t]) < binom_tol(tails[t], N));
        assert_true(fabs(prop0 / lead0 - tails[t]) < 2e-3);
        sy_policy_free(p);
        sy_policy_state_free(st);
    }
    gsl_rng_free(rng);
}

/* One eligible arm: propensity exactly 1. propensity_draws = 0: NAN, ranking intact. */
static void test_single_arm_and_no_draws(void **state)
{
    (void)state;
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_THOMPSON, 3, 0);
    pp.propensity_draws = 0;
    sy_policy_state *st = new_state(&pp);
    sy_policy *p = sy_policy_state_snapshot(st, 0);
    gsl_rng *rng = seeded(5);
    uint8_t only1[3] = {0, 1, 0};
    sy_decide_in in = {.n_arms = 3, .eligible = only1, .rng = rng};
    sy_decide_out out;
    assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
    assert_true(out.n_ranked == 1 && out.ranking[0] == 1 && out.propensity == 1.0);
    in.eligible = NULL;
    assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
    assert_true(out.n_ranked == 3 && isnan(out.propensity));
    assert_string_equal(sy_policy_name(p), "thompson");
    assert_int_equal(sy_policy_n_arms(p), 3);
    gsl_rng_free(rng);
    sy_policy_free(p);
    sy_policy_state_free(st);
}

/*
 * No quality weight and no cost or latency term: every sampled utility is 0, an exact
 * tie. The leader is then uniform and the propensity exactly 1/n, not an artefact of
 * index order.
 */
static void test_exact_ties_are_uniform(void **state)
{
    (void)state;
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_THOMPSON, 4, 0);
    pp.objective.w_quality = 0;
    sy_policy_state *st = new_state(&pp);
    sy_policy *p = sy_policy_state_snapshot(st, 0);
    gsl_rng *rng = seeded(9);
    sy_decide_in in = {.n_arms = 4, .rng = rng};
    sy_decide_out out;
    const int N = 8000;
    double lead[4] = {0};
    for (int i = 0; i < N; i++) {
        sy_policy_decide(p, &in, &out);
        assert_true(fabs(out.propensity - 0.25) < 1e-12);
        lead[out.ranking[0]]++;
    }
    for (int k = 0; k < 4; k++)
        assert_true(fabs(lead[k] / N - 0.25) < binom_tol(0.25, N));
    gsl_rng_free(rng);
    sy_policy_free(p);
    sy_policy_state_free(st);
}

int main(void)
{
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_posterior_closed_form),
        cmocka_unit_test(test_rerating),
        cmocka_unit_test(test_win_probability_and_propensity),
        cmocka_unit_test(test_sampled_quality_distribution),
        cmocka_unit_test(test_single_arm_and_no_draws),
        cmocka_unit_test(test_exact_ties_are_uniform),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
