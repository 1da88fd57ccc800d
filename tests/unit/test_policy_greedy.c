/*
 * The score-ranking baselines (policies/decide_greedy.c): UCB1 and LinUCB scores against
 * values computed by hand, and ε-greedy propensities against their analytic values with
 * constraints and ties (ε/|X| + (1 − ε)/|G|), both as reported and as frequencies
 * (seeded; 5 binomial standard errors of the sample size).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "policy.h"
#include "sy_common.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <math.h>

static sy_policy_state *new_state(const sy_policy_params *pp)
{
    sy_policy_state *st = NULL;
    assert_int_equal(sy_policy_state_new(pp, &st), SY_OK);
    return st;
}

static void rate_x(sy_policy_state *st, size_t arm, const double *x, size_t d, double r, double t)
{
    sy_quality_obs q = {.arm = arm, .x = x, .dim = d, .reward = r, .weight = 1, .t = t};
    assert_int_equal(sy_policy_state_observe_quality(st, &q, NULL), SY_OK);
}

static void rate(sy_policy_state *st, size_t arm, double r, double t)
{
    rate_x(st, arm, NULL, 0, r, t);
}

static double score(const sy_policy *p, size_t arm, const double *x, size_t d)
{
    sy_decide_in in = {.x = x, .dim = d};
    double u, v;
    assert_int_equal(sy_policy_score(p, arm, &in, &u, &v), SY_OK);
    assert_true(v == 0);
    return u;
}

/*
 * UCB1 index mean + c·sqrt(2·ln N / n) with c = 0.5 and N = 10 ratings in all:
 *   arm 0: 1, 1, 0          → 2/3 + 0.5·sqrt(2 ln 10 / 3) = 1.286154…
 *   arm 1: 0                → 0   + 0.5·sqrt(2 ln 10)     = 1.072983…
 *   arm 2: 1, 0, 1, 0, 1, 1 → 2/3 + 0.5·sqrt(2 ln 10 / 6) = 1.104710…
 * so the ranking is 0, 2, 1. With a 10 s half-life and a snapshot 10 s later every count
 * halves: n → n/2 and N → 5.
 */
static void test_ucb1_scores(void **state)
{
    (void)state;
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_UCB1, 3, 0);
    pp.ucb_c = 0.5;
    pp.discount = (sy_discount){.half_life = 10, .unit = SY_HALF_LIFE_SECONDS};
    sy_policy_state *st = new_state(&pp);
    const double r0[] = {1, 1, 0}, r2[] = {1, 0, 1, 0, 1, 1};
    for (int i = 0; i < 3; i++)
        rate(st, 0, r0[i], 0);
    rate(st, 1, 0, 0);
    for (int i = 0; i < 6; i++)
        rate(st, 2, r2[i], 0);

    sy_policy *p = sy_policy_state_snapshot(st, 0);
    const double l10 = log(10);
    double want[3] = {2.0 / 3 + 0.5 * sqrt(2 * l10 / 3), 0.5 * sqrt(2 * l10),
                      2.0 / 3 + 0.5 * sqrt(2 * l10 / 6)};
    assert_true(fabs(want[0] - 1.286154) < 1e-6 && fabs(want[1] - 1.072983) < 1e-6 &&
                fabs(want[2] - 1.104710) < 1e-6);
    for (size_t k = 0; k < 3; k++)
        assert_true(fabs(score(p, k, NULL, 0) - want[k]) < 1e-12);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    sy_decide_in in = {.n_arms = 3, .rng = rng};
    sy_decide_out out;
    assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
    assert_true(out.ranking[0] == 0 && out.ranking[1] == 2 && out.ranking[2] == 1);
    assert_true(out.propensity == 1.0);
    sy_policy_free(p);

    p = sy_policy_state_snapshot(st, 10); /* one half-life later */
    const double l5 = log(5);
    double half[3] = {2.0 / 3 + 0.5 * sqrt(2 * l5 / 1.5), 0.5 * sqrt(2 * l5 / 0.5),
                      2.0 / 3 + 0.5 * sqrt(2 * l5 / 3)};
    for (size_t k = 0; k < 3; k++)
        assert_true(fabs(score(p, k, NULL, 0) - half[k]) < 1e-12);
    sy_policy_free(p);

    /* two untried arms: both +∞, tied, each leads half the time with propensity 1/2 */
    sy_policy_params_init(&pp, SY_POLICY_UCB1, 3, 0);
    sy_policy_state_free(st);
    st = new_state(&pp);
    rate(st, 1, 1, 0);
    p = sy_policy_state_snapshot(st, 0);
    assert_true(isinf(score(p, 0, NULL, 0)) && isinf(score(p, 2, NULL, 0)));
    int lead0 = 0;
    for (int i = 0; i < 2000; i++) {
        sy_policy_decide(p, &in, &out);
        assert_true(out.ranking[0] != 1 && out.ranking[2] == 1);
        assert_true(out.propensity == 0.5);
        lead0 += out.ranking[0] == 0;
    }
    assert_true(fabs(lead0 / 2000.0 - 0.5) < 5 * sqrt(0.25 / 2000));
    gsl_rng_free(rng);
    sy_policy_free(p);
    sy_policy_state_free(st);
}

/*
 * LinUCB with d = 2 (bias + one feature), prior quality 0.5 of strength 2 (Λ0 =
 * diag(2, ridge 1), μ0 = (0.5, 0)), α = 1.5. Arm 0 sees x = (1,1) r = 1, (1,0) r = 0,
 * (1,2) r = 1:
 *   Λ = [[5, 3], [3, 6]], Λ0μ0 + Σr·x = (3, 3), Λ⁻¹ = [[6, −3], [−3, 5]]/21,
 *   μ = (3/7, 2/7); at x = (1, 0.5): xᵀμ = 4/7, xᵀΛ⁻¹x = 4.25/21.
 * Arm 1 has no data: xᵀμ = 0.5, xᵀΛ⁻¹x = 1/2 + 0.25.
 */
static void test_linucb_scores(void **state)
{
    (void)state;
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_LINUCB, 2, 2);
    pp.linucb_alpha = 1.5;
    sy_policy_state *st = new_state(&pp);
    const double xs[3][2] = {{1, 1}, {1, 0}, {1, 2}}, rs[3] = {1, 0, 1};
    for (int i = 0; i < 3; i++)
        rate_x(st, 0, xs[i], 2, rs[i], 0);
    sy_policy *p = sy_policy_state_snapshot(st, 0);
    const double x[2] = {1, 0.5};
    double s0 = 4.0 / 7 + 1.5 * sqrt(4.25 / 21), s1 = 0.5 + 1.5 * sqrt(0.75);
    assert_true(fabs(score(p, 0, x, 2) - s0) < 1e-12);
    assert_true(fabs(score(p, 1, x, 2) - s1) < 1e-12);

    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    sy_decide_in in = {.n_arms = 2, .rng = rng, .x = x, .dim = 2};
    sy_decide_out out;
    assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
    assert_true(out.ranking[0] == 1 && out.ranking[1] == 0 && out.propensity == 1.0);

    /* the context is required, of the snapshot's dimension */
    in.x = NULL;
    assert_int_equal(sy_policy_decide(p, &in, &out), SY_ERR_INVALID);
    in.x = x;
    in.dim = 3;
    assert_int_equal(sy_policy_decide(p, &in, &out), SY_ERR_INVALID);
    double u, v;
    assert_int_equal(sy_policy_score(p, 0, &in, &u, &v), SY_ERR_INVALID);
    sy_policy_free(p);
    sy_policy_state_free(st);

    /* α = 0 is greedy on xᵀμ: at x = (1, 2) arm 0 predicts 3/7 + 4/7 = 1 > 0.5 */
    pp.linucb_alpha = 0;
    st = new_state(&pp);
    for (int i = 0; i < 3; i++)
        rate_x(st, 0, xs[i], 2, rs[i], 0);
    p = sy_policy_state_snapshot(st, 0);
    const double x2[2] = {1, 2};
    assert_true(fabs(score(p, 0, x2, 2) - 1) < 1e-12 && fabs(score(p, 1, x2, 2) - 0.5) < 1e-12);
    in.x = x2;
    in.dim = 2;
    assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
    assert_true(out.ranking[0] == 0);
    gsl_rng_free(rng);
    sy_policy_free(p);
    sy_policy_state_free(st);
}

/* Decide n times; every reported propensity must equal want[lead] exactly and the
 * frequencies must match want within 5 binomial standard errors. */
static void check_propensities(const sy_policy *p, size_t k, const double *want, int *fallback)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 17);
    sy_decide_in in = {.n_arms = k, .rng = rng};
    sy_decide_out out;
    const int N = 40000;
    double count[8] = {0};
    *fallback = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
        assert_int_equal(out.n_ranked, k);
        assert_true(fabs(out.propensity - want[out.ranking[0]]) < 1e-12);
        count[out.ranking[0]]++;
        *fallback += out.constraint_fallback;
    }
    for (size_t a = 0; a < k; a++)
        assert_true(fabs(count[a] / N - want[a]) < 5 * sqrt(want[a] * (1 - want[a]) / N) + 1e-12);
    gsl_rng_free(rng);
}

/*
 * ε-greedy explores among the arms that keep the constraints (X) and exploits the best
 * (G, ties shared). With a 2 s latency SLO, arms 2 and 3 (prior latency 5 s) are out of
 * X although arm 3 has the best quality; arm 1 is the best of X. ε = 0.3:
 *   P(1) = 0.3/2 + 0.7 = 0.85, P(0) = 0.15, P(2) = P(3) = 0.
 */
static void test_epsilon_greedy_constraints(void **state)
{
    (void)state;
    sy_arm_params arms[4];
    const double q[4] = {0.5, 0.7, 0.5, 0.9}, lat[4] = {1, 1, 5, 5};
    for (int k = 0; k < 4; k++) {
        sy_arm_params_init(&arms[k]);
        arms[k].prior_quality = q[k];
        arms[k].prior_latency_s = lat[k];
    }
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_EPSILON_GREEDY, 4, 0);
    pp.arms = arms;
    pp.epsilon = 0.3;
    pp.objective.latency_slo_s = 2;
    sy_policy_state *st = new_state(&pp);
    sy_policy *p = sy_policy_state_snapshot(st, 0);
    int fallback;
    const double want[4] = {0.15, 0.85, 0, 0};
    check_propensities(p, 4, want, &fallback);
    assert_int_equal(fallback, 0);
    sy_policy_free(p);
    sy_policy_state_free(st);

    /* every arm violates a 0.1 s SLO: X = all four, G = the least violating (arm 0 or
     * 1 — equal latency, so the higher quality, arm 1): P(1) = 0.3/4 + 0.7 */
    pp.objective.latency_slo_s = 0.1;
    st = new_state(&pp);
    p = sy_policy_state_snapshot(st, 0);
    const double want2[4] = {0.075, 0.775, 0.075, 0.075};
    check_propensities(p, 4, want2, &fallback);
    assert_int_equal(fallback, 40000);
    sy_policy_free(p);
    sy_policy_state_free(st);
}

/* Two arms tied for best share the exploitation: ε = 0.1 over 3 arms,
 * P(0) = P(1) = 0.1/3 + 0.9/2, P(2) = 0.1/3. */
static void test_epsilon_greedy_ties(void **state)
{
    (void)state;
    sy_arm_params arms[3];
    const double q[3] = {0.7, 0.7, 0.5};
    for (int k = 0; k < 3; k++) {
        sy_arm_params_init(&arms[k]);
        arms[k].prior_quality = q[k];
    }
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_EPSILON_GREEDY, 3, 0);
    pp.arms = arms;
    pp.epsilon = 0.1;
    sy_policy_state *st = new_state(&pp);
    sy_policy *p = sy_policy_state_snapshot(st, 0);
    int fallback;
    const double want[3] = {0.1 / 3 + 0.45, 0.1 / 3 + 0.45, 0.1 / 3};
    check_propensities(p, 3, want, &fallback);
    sy_policy_free(p);
    sy_policy_state_free(st);
}

int main(void)
{
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ucb1_scores),
        cmocka_unit_test(test_linucb_scores),
        cmocka_unit_test(test_epsilon_greedy_constraints),
        cmocka_unit_test(test_epsilon_greedy_ties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
