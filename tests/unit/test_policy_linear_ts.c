/*
 * Linear Thompson sampling (policies/decide_thompson.c on the linreg.c posterior): the
 * posterior mean score by hand, the choice probability and Monte Carlo propensity
 * against the Student-t race the Normal–inverse-gamma posterior implies, the degenerate
 * ts_scale = 0 case, the prior fallback, and learning a context-dependent best arm.
 * Seeded; tolerances are 5 standard errors of the sample size or sample variance.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "policy.h"
#include "sy_common.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>

static sy_policy_state *new_state(const sy_policy_params *pp)
{
    sy_policy_state *st = NULL;
    assert_int_equal(sy_policy_state_new(pp, &st), SY_OK);
    return st;
}

static void rate_x(sy_policy_state *st, size_t arm, const double *x, size_t d, double r)
{
    sy_quality_obs q = {.arm = arm, .x = x, .dim = d, .reward = r, .weight = 1};
    assert_int_equal(sy_policy_state_observe_quality(st, &q, NULL), SY_OK);
}

/*
 * d = 2, default priors: bias mean 0.5 of precision 2, ridge 1, σ² ~ InvGamma(2, 0.5)
 * (noise_var 0.25 worth 4 ratings). Posteriors by hand:
 *   arm 0: (1,1)→1, (1,0)→0, (1,2)→1: Λ = [[5,3],[3,6]], μ = (3/7, 2/7), a = 3.5,
 *          b = 0.5 + ½(Σr² + μ0ᵀΛ0μ0 − μᵀΛμ) = 0.5 + ½(2 + 0.5 − 15/7) = 19/28;
 *   arm 1: (1,0)→1, (1,1)→0: Λ = [[4,1],[1,2]], μ = (4/7, −2/7), a = 3,
 *          b = 0.5 + ½(1 + 0.5 − 8/7) = 19/28.
 * At x = (1, 0.5): xᵀμ = 4/7 and 3/7, xᵀΛ⁻¹x = 4.25/21 and 2/7.
 */
static sy_policy_state *two_arms(double ts_scale)
{
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_LINEAR_THOMPSON, 2, 2);
    pp.ts_scale = ts_scale;
    sy_policy_state *st = new_state(&pp);
    const double x0[3][2] = {{1, 1}, {1, 0}, {1, 2}}, r0[3] = {1, 0, 1};
    const double x1[2][2] = {{1, 0}, {1, 1}}, r1[2] = {1, 0};
    for (int i = 0; i < 3; i++)
        rate_x(st, 0, x0[i], 2, r0[i]);
    for (int i = 0; i < 2; i++)
        rate_x(st, 1, x1[i], 2, r1[i]);
    return st;
}

typedef struct t_race {
    double m[2], s[2], nu[2];
} t_race;

/* density of arm 0's draw at u times P(arm 1's draw < u) */
static double race_integrand(double u, void *ud)
{
    const t_race *r = ud;
    return gsl_ran_tdist_pdf((u - r->m[0]) / r->s[0], r->nu[0]) / r->s[0] *
           gsl_cdf_tdist_P((u - r->m[1]) / r->s[1], r->nu[1]);
}

static void test_mean_score(void **state)
{
    (void)state;
    sy_policy_state *st = two_arms(1);
    sy_policy *p = sy_policy_state_snapshot(st, 0);
    assert_int_equal(sy_policy_dim(p), 2);
    assert_string_equal(sy_policy_name(p), "linear_thompson");
    const double x[2] = {1, 0.5};
    sy_decide_in in = {.x = x, .dim = 2};
    double u, v;
    assert_int_equal(sy_policy_score(p, 0, &in, &u, &v), SY_OK);
    assert_true(fabs(u - 4.0 / 7) < 1e-12);
    assert_int_equal(sy_policy_score(p, 1, &in, &u, &v), SY_OK);
    assert_true(fabs(u - 3.0 / 7) < 1e-12);
    sy_policy_free(p);
    sy_policy_state_free(st);
}

/*
 * Each arm's sampled quality xᵀθ̃ is Student-t with 2a degrees of freedom, location
 * xᵀμ and scale sqrt(xᵀΛ⁻¹x · b/a). Arm 0 leads with P = ∫ f₀(u)·F₁(u) du = 0.65605…
 * (GSL quadrature here; mpmath gives 0.6560509368). The library draws differently (a
 * normal given an inverse-gamma σ²), so this checks the sampler's distribution.
 */
static void test_choice_probability_and_propensity(void **state)
{
    (void)state;
    t_race r = {.m = {4.0 / 7, 3.0 / 7},
                .s = {sqrt(4.25 / 21 * (19.0 / 28) / 3.5), sqrt(2.0 / 7 * (19.0 / 28) / 3)},
                .nu = {7, 6}};
    gsl_integration_workspace *ws = gsl_integration_workspace_alloc(1000);
    gsl_function f = {race_integrand, &r};
    double p0, err;
    assert_int_equal(gsl_integration_qagi(&f, 1e-12, 1e-10, 1000, ws, &p0, &err), GSL_SUCCESS);
    gsl_integration_workspace_free(ws);
    assert_true(fabs(p0 - 0.6560509367545064) < 1e-8);

    sy_policy_state *st = two_arms(1);
    sy_policy *p = sy_policy_state_snapshot(st, 0);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 101);
    const double x[2] = {1, 0.5};
    sy_decide_in in = {.n_arms = 2, .rng = rng, .x = x, .dim = 2};
    sy_decide_out out;
    const int N = 40000;
    double n_lead[2] = {0}, sum[2] = {0}, sum2[2] = {0};
    for (int i = 0; i < N; i++) {
        assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
        size_t k = out.ranking[0];
        n_lead[k]++;
        sum[k] += out.propensity;
        sum2[k] += out.propensity * out.propensity;
    }
    assert_true(fabs(n_lead[0] / N - p0) < 5 * sqrt(p0 * (1 - p0) / N));
    const double want[2] = {p0, 1 - p0};
    for (int k = 0; k < 2; k++) {
        double mean = sum[k] / n_lead[k], var = sum2[k] / n_lead[k] - mean * mean;
        assert_true(fabs(mean - want[k]) < 5 * sqrt(var / n_lead[k]));
    }
    gsl_rng_free(rng);
    sy_policy_free(p);
    sy_policy_state_free(st);
}

/*
 * ts_scale = 0 removes the posterior spread: the decision is greedy on xᵀμ and its
 * propensity exactly 1. At cold start every arm then predicts the same 0.5: an exact
 * tie, broken uniformly, propensity exactly 1/3.
 */
static void test_zero_scale(void **state)
{
    (void)state;
    sy_policy_state *st = two_arms(0);
    sy_policy *p = sy_policy_state_snapshot(st, 0);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    const double x[2] = {1, 0.5};
    sy_decide_in in = {.n_arms = 2, .rng = rng, .x = x, .dim = 2};
    sy_decide_out out;
    for (int i = 0; i < 100; i++) {
        assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
        assert_true(out.ranking[0] == 0 && out.propensity == 1.0);
    }
    sy_policy_free(p);
    sy_policy_state_free(st);

    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_LINEAR_THOMPSON, 3, 2);
    pp.ts_scale = 0;
    st = new_state(&pp);
    p = sy_policy_state_snapshot(st, 0);
    in.n_arms = 3;
    const int N = 6000;
    double lead[3] = {0};
    for (int i = 0; i < N; i++) {
        assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
        assert_true(fabs(out.propensity - 1.0 / 3) < 1e-12);
        lead[out.ranking[0]]++;
    }
    for (int k = 0; k < 3; k++)
        assert_true(fabs(lead[k] / N - 1.0 / 3) < 5 * sqrt(2.0 / 9 / N));
    gsl_rng_free(rng);
    sy_policy_free(p);
    sy_policy_state_free(st);
}

/* Retracting a rating that was never added leaves Λ indefinite: the arm decides from
 * its prior (xᵀμ0 = 0.5) and says so, and decisions still succeed. */
static void test_prior_fallback(void **state)
{
    (void)state;
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_LINEAR_THOMPSON, 2, 2);
    sy_policy_state *st = new_state(&pp);
    const double xr[2] = {1, 3};
    sy_quality_obs q = {.arm = 1, .x = xr, .dim = 2, .reward = 1, .weight = 5};
    assert_int_equal(sy_policy_state_retract_quality(st, &q, 0), SY_OK);
    sy_policy *p = sy_policy_state_snapshot(st, 0);
    sy_arm_summary s;
    assert_int_equal(sy_policy_arm_summary(p, 1, 0, &s), SY_OK);
    assert_int_equal(s.prior_fallback, 1);
    assert_int_equal(sy_policy_arm_summary(p, 0, 0, &s), SY_OK);
    assert_int_equal(s.prior_fallback, 0);
    const double x[2] = {1, 0.7};
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    sy_decide_in in = {.n_arms = 2, .rng = rng, .x = x, .dim = 2};
    double u, v;
    assert_int_equal(sy_policy_score(p, 1, &in, &u, &v), SY_OK);
    assert_true(fabs(u - 0.5) < 1e-12);
    sy_decide_out out;
    assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
    assert_true(out.propensity > 0 && out.propensity <= 1);
    gsl_rng_free(rng);
    sy_policy_free(p);
    sy_policy_state_free(st);
}

/*
 * Learning a context: with x = (1, f), f ∈ {0, 1}, arm 0 is rated up with probability
 * 0.8 when f = 0 and 0.2 when f = 1, arm 1 the other way round (0.3, 0.7). After 2000
 * uniformly logged Bernoulli ratings the policy picks arm 0 for f = 0 and arm 1 for
 * f = 1 nearly always, and the propensities it reports for those picks are near 1.
 */
static void test_learns_context(void **state)
{
    (void)state;
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_LINEAR_THOMPSON, 2, 2);
    sy_policy_state *st = new_state(&pp);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 5);
    const double pq[2][2] = {{0.8, 0.2}, {0.3, 0.7}}; /* [arm][f] */
    for (int i = 0; i < 2000; i++) {
        size_t arm = gsl_rng_uniform_int(rng, 2);
        int f = (int)gsl_rng_uniform_int(rng, 2);
        const double x[2] = {1, f};
        rate_x(st, arm, x, 2, gsl_rng_uniform(rng) < pq[arm][f] ? 1 : 0);
    }
    sy_policy *p = sy_policy_state_snapshot(st, 0);
    for (int f = 0; f < 2; f++) {
        const double x[2] = {1, f};
        sy_decide_in in = {.n_arms = 2, .rng = rng, .x = x, .dim = 2};
        sy_decide_out out;
        int best = 0;
        double prop = 0;
        for (int i = 0; i < 1000; i++) {
            sy_policy_decide(p, &in, &out);
            if (out.ranking[0] == (size_t)f) {
                best++;
                prop += out.propensity;
            }
        }
        assert_true(best >= 990);
        assert_true(prop / best > 0.99);
    }
    gsl_rng_free(rng);
    sy_policy_free(p);
    sy_policy_state_free(st);
}

/*
 * A snapshot reuses an arm's factored posterior when its ratings did not change
 * (snapshot.c's memo): after snapshots taken between ratings of arm 0 only, every arm
 * scores exactly as on a state fed the same ratings and never snapshotted before; and a
 * new rating of arm 1 is seen (its score moves).
 */
static void test_snapshot_memo_is_exact(void **state)
{
    (void)state;
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_LINEAR_THOMPSON, 3, 2);
    sy_policy_state *a = new_state(&pp), *b = new_state(&pp);
    const double xs[4][2] = {{1, 0.5}, {1, 2}, {1, 0}, {1, 1}};
    for (int i = 0; i < 4; i++) {
        rate_x(a, (size_t)(i % 3), xs[i], 2, i % 2);
        rate_x(b, (size_t)(i % 3), xs[i], 2, i % 2);
    }
    for (int i = 0; i < 5; i++) { /* snapshots of a between ratings of arm 0 only */
        sy_policy_free(sy_policy_state_snapshot(a, 0));
        rate_x(a, 0, xs[i % 4], 2, 1);
        rate_x(b, 0, xs[i % 4], 2, 1);
    }
    const double x[2] = {1, 0.7};
    sy_decide_in in = {.n_arms = 3, .x = x, .dim = 2};
    double before[3];
    for (int round = 0; round < 2; round++) {
        sy_policy *pa = sy_policy_state_snapshot(a, 0), *pb = sy_policy_state_snapshot(b, 0);
        for (size_t k = 0; k < 3; k++) {
            double ua, ub, va, vb;
            assert_int_equal(sy_policy_score(pa, k, &in, &ua, &va), SY_OK);
            assert_int_equal(sy_policy_score(pb, k, &in, &ub, &vb), SY_OK);
            assert_memory_equal(&ua, &ub, sizeof(ua)); /* bit for bit */
            if (round == 0)
                before[k] = ua;
            else if (k == 1)
                assert_true(ua != before[k]); /* arm 1's new rating was seen */
        }
        sy_policy_free(pa);
        sy_policy_free(pb);
        rate_x(a, 1, xs[1], 2, 0);
        rate_x(b, 1, xs[1], 2, 0);
    }
    sy_policy_state_free(a);
    sy_policy_state_free(b);
}

int main(void)
{
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mean_score),
        cmocka_unit_test(test_choice_probability_and_propensity),
        cmocka_unit_test(test_zero_scale),
        cmocka_unit_test(test_prior_fallback),
        cmocka_unit_test(test_learns_context),
        cmocka_unit_test(test_snapshot_memo_is_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
