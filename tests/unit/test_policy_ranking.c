/*
 * The route objective and its hard constraints (policies/objective.c): utilities and
 * relative violations by hand from the cold-start priors, the ranking they produce
 * (keepers by utility, then violators by violation), Thompson sampling under the same
 * constraints, the all-violate fallback, and the ranking contract of every kind.
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
#include <string.h>

#define K 5

/* quality prior, typical latency (s), input and output prices per Mtok */
static const double Q[K] = {0.9, 0.8, 0.6, 0.7, 0.95};
static const double L[K] = {4, 1, 0.5, 1, 5};
static const double PIN[K] = {1, 5, 0.1, 0.2, 5};
static const double POUT[K] = {10, 30, 0.4, 0.8, 30};
#define TOKENS 100 /* prior typical output tokens */
#define INPUT  1000
static const sy_objective OBJ = {
    .w_quality = 1, .w_cost = 10, .w_latency = 0.05, .max_cost_usd = 0.005, .latency_slo_s = 3};

static sy_policy *snapshot(sy_policy_kind kind, double strength, sy_objective obj)
{
    sy_arm_params arms[K];
    for (int k = 0; k < K; k++) {
        sy_arm_params_init(&arms[k]);
        arms[k].prior_quality = Q[k];
        arms[k].prior_latency_s = L[k];
        arms[k].price_in_per_mtok = PIN[k];
        arms[k].price_out_per_mtok = POUT[k];
        arms[k].prior_output_tokens = TOKENS;
        arms[k].prior_outcome_strength = strength;
    }
    sy_policy_params pp;
    sy_policy_params_init(&pp, kind, K, sy_policy_kind_is_contextual(kind) ? 1 : 0);
    pp.arms = arms;
    pp.objective = obj;
    pp.epsilon = 0;
    sy_policy_state *st = NULL;
    assert_int_equal(sy_policy_state_new(&pp, &st), SY_OK);
    sy_policy *p = sy_policy_state_snapshot(st, 0);
    sy_policy_state_free(st);
    return p;
}

/*
 * Cold start, prior strength s: log latency has posterior mean ln L, σ̂² = 0.5² and
 * κ = s, so E[latency] = L·e^(0.125 + 0.125/s); log(1 + tokens) has σ̂² = 1, so
 * E[tokens] = (1 + T)·e^(0.5 + 0.5/s) − 1. Quality is the prior mean.
 */
static void by_hand(int k, double s, double *util, double *viol)
{
    double lat = L[k] * exp(0.125 + 0.125 / s);
    double tok = (1 + TOKENS) * exp(0.5 + 0.5 / s) - 1;
    double cost = (PIN[k] * INPUT + POUT[k] * tok) * 1e-6;
    *util = OBJ.w_quality * Q[k] - OBJ.w_cost * cost - OBJ.w_latency * lat;
    *viol = (cost > OBJ.max_cost_usd ? cost / OBJ.max_cost_usd - 1 : 0) +
            (lat > OBJ.latency_slo_s ? lat / OBJ.latency_slo_s - 1 : 0);
}

/*
 * Arm 0 breaks the SLO (4.8 s), arm 1 the cost cap (1.1 ¢), arm 4 both; arms 2 and 3
 * keep both. ε-greedy with ε = 0 ranks by (violation, −utility): 3, 2, then 0, 1, 4.
 */
static void test_scores_and_ranking(void **state)
{
    (void)state;
    sy_policy *p = snapshot(SY_POLICY_EPSILON_GREEDY, 2, OBJ);
    sy_decide_in in = {.input_tokens = INPUT};
    double u[K], v[K];
    for (int k = 0; k < K; k++) {
        double hu, hv;
        by_hand(k, 2, &hu, &hv);
        assert_int_equal(sy_policy_score(p, (size_t)k, &in, &u[k], &v[k]), SY_OK);
        assert_true(fabs(u[k] - hu) < 1e-12 && fabs(v[k] - hv) < 1e-12);
    }
    assert_true(v[0] > 0.5 && v[1] > 1 && v[4] > v[1] && v[2] == 0 && v[3] == 0);
    assert_true(u[4] < u[0]); /* arm 4 has the best quality but not the best utility */

    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    in.n_arms = K;
    in.rng = rng;
    sy_decide_out out;
    assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
    const size_t want[K] = {3, 2, 0, 1, 4};
    assert_memory_equal(out.ranking, want, sizeof(want));
    assert_true(out.propensity == 1.0 && out.constraint_fallback == 0);

    /* without arms 2 and 3 every remaining arm violates: least violation leads */
    const uint8_t elig[K] = {1, 1, 0, 0, 1};
    in.eligible = elig;
    assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
    assert_true(out.n_ranked == 3 && out.ranking[0] == 0 && out.ranking[1] == 1 &&
                out.ranking[2] == 4);
    assert_true(out.constraint_fallback == 1);
    gsl_rng_free(rng);
    sy_policy_free(p);

    /* dropping the constraints changes the order to plain utility */
    sy_objective free_obj = OBJ;
    free_obj.max_cost_usd = free_obj.latency_slo_s = 0;
    p = snapshot(SY_POLICY_EPSILON_GREEDY, 2, free_obj);
    in.eligible = NULL;
    for (int k = 0; k < K; k++) {
        double uu, vv;
        sy_policy_score(p, (size_t)k, &in, &uu, &vv);
        assert_true(vv == 0 && fabs(uu - u[k]) < 1e-12);
    }
    sy_policy_free(p);
}

/*
 * Thompson sampling under the same constraints with tight outcome priors (strength 10⁴,
 * so sampled cost and latency stay within 1% of their means): a violating arm never
 * leads while a keeper is eligible, violators come last in order of violation, and the
 * leader's propensity is a probability. With only violators, the least violating leads
 * and the fallback is flagged.
 */
static void test_thompson_constraints(void **state)
{
    (void)state;
    sy_policy *p = snapshot(SY_POLICY_THOMPSON, 1e4, OBJ);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 8);
    sy_decide_in in = {.n_arms = K, .rng = rng, .input_tokens = INPUT};
    sy_decide_out out;
    int lead3 = 0;
    for (int i = 0; i < 2000; i++) {
        assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
        assert_true(out.ranking[0] == 2 || out.ranking[0] == 3);
        assert_true(out.ranking[2] == 0 && out.ranking[3] == 1 && out.ranking[4] == 4);
        assert_true(out.propensity > 0 && out.propensity < 1 && !out.constraint_fallback);
        lead3 += out.ranking[0] == 3;
    }
    assert_true(lead3 > 1000 && lead3 < 2000); /* both keepers lead, arm 3 more often */
    const uint8_t elig[K] = {1, 1, 0, 0, 1};
    in.eligible = elig;
    for (int i = 0; i < 200; i++) {
        assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
        assert_true(out.ranking[0] == 0 && out.constraint_fallback == 1);
        assert_true(out.propensity == 1.0); /* its violation is always the smallest */
    }
    gsl_rng_free(rng);
    sy_policy_free(p);
}

/*
 * The Monte Carlo propensity under cost and latency noise (issue 14: its M draws share
 * one draw of every arm's cost, latency and noise scale). Cold outcome priors (strength
 * 2: the expected output tokens are uncertain within a factor of ~2), both hard
 * constraints on, absolute or relative cost weights: for each arm, the mean propensity
 * reported when it leads must match how often it leads, within 5 standard errors of the
 * difference. A biased estimator (e.g. one reusing the deciding draw) fails this.
 */
static void check_propensity_unbiased(sy_policy_kind kind, sy_objective obj, unsigned long seed)
{
    sy_policy *p = snapshot(kind, 2, obj);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    const double x[1] = {1};
    sy_decide_in in = {.n_arms = K, .rng = rng, .input_tokens = INPUT};
    if (sy_policy_dim(p)) {
        in.x = x;
        in.dim = 1;
    }
    const int N = 40000;
    double n_lead[K] = {0}, sum[K] = {0}, sum2[K] = {0};
    for (int i = 0; i < N; i++) {
        sy_decide_out out;
        assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
        assert_true(out.propensity >= SY_PROPENSITY_FLOOR && out.propensity <= 1);
        size_t k = out.ranking[0];
        n_lead[k]++;
        sum[k] += out.propensity;
        sum2[k] += out.propensity * out.propensity;
    }
    int checked = 0;
    for (int k = 0; k < K; k++) {
        if (n_lead[k] < 100)
            continue;
        double f = n_lead[k] / N, mean = sum[k] / n_lead[k];
        double var = sum2[k] / n_lead[k] - mean * mean;
        double se = sqrt(var / n_lead[k] + f * (1 - f) / N);
        assert_true(fabs(mean - f) < 5 * se + 1e-9);
        checked++;
    }
    assert_true(checked >= 2);
    gsl_rng_free(rng);
    sy_policy_free(p);
}

static void test_propensity_unbiased_with_outcome_noise(void **state)
{
    (void)state;
    sy_objective rel = {.w_quality = 1, .w_cost_rel = 0.1, .max_cost_usd = 0.005};
    check_propensity_unbiased(SY_POLICY_THOMPSON, OBJ, 21);
    check_propensity_unbiased(SY_POLICY_LINEAR_THOMPSON, OBJ, 22);
    check_propensity_unbiased(SY_POLICY_THOMPSON, rel, 23);
    check_propensity_unbiased(SY_POLICY_LINEAR_THOMPSON, rel, 24);
}

/* Every kind ranks each eligible arm exactly once, never an ineligible one. */
static void test_ranking_contract_all_kinds(void **state)
{
    (void)state;
    const size_t d = 12;
    double x[12] = {1, 0.3, 0.2, 0, 0.25, 1, 0, 0, 1, 0, 0, 1};
    const uint8_t elig[K] = {1, 0, 1, 1, 0};
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    for (int kind = SY_POLICY_UNIFORM; kind <= SY_POLICY_LINEAR_THOMPSON; kind++) {
        sy_policy_params pp;
        int ctx = sy_policy_kind_is_contextual((sy_policy_kind)kind);
        sy_policy_params_init(&pp, (sy_policy_kind)kind, K, ctx ? d : 0);
        pp.objective = OBJ;
        sy_policy_state *st = NULL;
        assert_int_equal(sy_policy_state_new(&pp, &st), SY_OK);
        for (int i = 0; i < 30; i++) {
            sy_quality_obs q = {.arm = (size_t)(i % K),
                                .x = ctx ? x : NULL,
                                .dim = ctx ? d : 0,
                                .reward = (i % 3) / 2.0,
                                .weight = 1};
            assert_int_equal(sy_policy_state_observe_quality(st, &q, NULL), SY_OK);
            sy_outcome_obs o = {
                .arm = (size_t)(i % K), .latency_s = 0.5, .output_tokens = 50, .cost_usd = 0.001};
            assert_int_equal(sy_policy_state_observe_outcome(st, &o), SY_OK);
        }
        sy_policy *p = sy_policy_state_snapshot(st, 0);
        assert_string_equal(sy_policy_name(p), sy_policy_kind_name((sy_policy_kind)kind));
        sy_decide_in in = {.n_arms = K, .eligible = elig, .rng = rng, .seq = 7};
        if (ctx) {
            in.x = x;
            in.dim = d;
        }
        for (int i = 0; i < 50; i++) {
            sy_decide_out out;
            assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
            assert_int_equal(out.n_ranked, 3);
            int seen[K] = {0};
            for (size_t j = 0; j < 3; j++) {
                assert_true(out.ranking[j] < K && elig[out.ranking[j]] && !seen[out.ranking[j]]);
                seen[out.ranking[j]] = 1;
            }
            assert_true(out.propensity > 0 && out.propensity <= 1);
        }
        sy_policy_free(p);
        sy_policy_state_free(st);
    }
    gsl_rng_free(rng);
}

int main(void)
{
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scores_and_ranking),
        cmocka_unit_test(test_thompson_constraints),
        cmocka_unit_test(test_propensity_unbiased_with_outcome_noise),
        cmocka_unit_test(test_ranking_contract_all_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
