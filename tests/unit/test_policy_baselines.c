/*
 * The model-free baselines (policies/decide_static.c) and the decide contract
 * (policy.c): uniform with propensity exactly 1/eligible, fixed, weighted sampling
 * without replacement (exact weight shares, and the fallback order's distribution),
 * round-robin over the eligible arms, and the rejection of malformed requests.
 * Frequencies: seeded, 5 binomial standard errors of the sample size.
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

static gsl_rng *seeded(unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    return r;
}

static double tol(double p, double n)
{
    return 5 * sqrt(p * (1 - p) / n) + 1e-12;
}

static sy_policy *snapshot_of(sy_policy_kind kind, size_t k, const sy_arm_params *arms,
                              size_t fixed)
{
    sy_policy_params pp;
    sy_policy_params_init(&pp, kind, k, 0);
    pp.arms = arms;
    pp.fixed_arm = fixed;
    sy_policy_state *st = NULL;
    assert_int_equal(sy_policy_state_new(&pp, &st), SY_OK);
    sy_policy *p = sy_policy_state_snapshot(st, 0);
    sy_policy_state_free(st);
    return p;
}

/* The ranking lists every eligible arm exactly once and nothing else. */
static void assert_permutation(const sy_decide_out *out, const uint8_t *elig, size_t k)
{
    int seen[SY_POLICY_MAX_ARMS] = {0};
    size_t n_elig = 0;
    for (size_t a = 0; a < k; a++)
        n_elig += !elig || elig[a];
    assert_int_equal(out->n_ranked, n_elig);
    for (size_t i = 0; i < out->n_ranked; i++) {
        size_t a = out->ranking[i];
        assert_true(a < k && (!elig || elig[a]) && !seen[a]);
        seen[a] = 1;
    }
}

/* The stateless uniform policy the engine has always used: a zero-initialised request
 * with n_arms and rng decides; propensity is exactly 1/eligible; leaders are uniform. */
static void test_uniform(void **state)
{
    (void)state;
    sy_policy *p = sy_policy_new_uniform();
    assert_string_equal(sy_policy_name(p), "uniform");
    assert_int_equal(sy_policy_n_arms(p), 0);
    assert_int_equal(sy_policy_dim(p), 0);
    gsl_rng *rng = seeded(1);
    const uint8_t elig[5] = {1, 0, 1, 1, 0};
    sy_decide_in in;
    memset(&in, 0, sizeof(in));
    in.n_arms = 5;
    in.rng = rng;
    sy_decide_out out;
    const int N = 30000;
    double lead[5] = {0}, lead_e[5] = {0};
    for (int i = 0; i < N; i++) {
        in.eligible = NULL;
        assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
        assert_permutation(&out, NULL, 5);
        assert_true(out.propensity == 1.0 / 5 && out.constraint_fallback == 0);
        lead[out.ranking[0]]++;
        in.eligible = elig;
        assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
        assert_permutation(&out, elig, 5);
        assert_true(out.propensity == 1.0 / 3);
        lead_e[out.ranking[0]]++;
    }
    for (int a = 0; a < 5; a++) {
        assert_true(fabs(lead[a] / N - 0.2) < tol(0.2, N));
        double want = elig[a] ? 1.0 / 3 : 0;
        assert_true(fabs(lead_e[a] / N - want) < tol(want, N));
    }
    /* the uniform policy takes any number of arms; a stateful one only its own */
    in.n_arms = 64;
    in.eligible = NULL;
    assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
    assert_true(out.propensity == 1.0 / 64);
    sy_policy_free(p);

    p = snapshot_of(SY_POLICY_UNIFORM, 3, NULL, 0);
    in.n_arms = 3;
    assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
    assert_true(out.propensity == 1.0 / 3);
    in.n_arms = 4;
    assert_int_equal(sy_policy_decide(p, &in, &out), SY_ERR_INVALID);
    sy_policy_free(p);
    sy_policy_free(NULL);
    gsl_rng_free(rng);
}

/* Malformed requests are rejected and leave out untouched. */
static void test_invalid_requests(void **state)
{
    (void)state;
    sy_policy *p = sy_policy_new_uniform();
    gsl_rng *rng = seeded(2);
    const uint8_t none[3] = {0, 0, 0};
    sy_decide_out out, before;
    memset(&out, 0xab, sizeof(out));
    before = out;
    sy_decide_in in = {.n_arms = 3, .eligible = none, .rng = rng};
    assert_int_equal(sy_policy_decide(p, &in, &out), SY_ERR_INVALID);
    in.eligible = NULL;
    in.n_arms = 0;
    assert_int_equal(sy_policy_decide(p, &in, &out), SY_ERR_INVALID);
    in.n_arms = SY_POLICY_MAX_ARMS + 1;
    assert_int_equal(sy_policy_decide(p, &in, &out), SY_ERR_INVALID);
    in.n_arms = 3;
    in.rng = NULL;
    assert_int_equal(sy_policy_decide(p, &in, &out), SY_ERR_INVALID);
    assert_memory_equal(&out, &before, sizeof(out));
    double u, v;
    in.rng = rng;
    assert_int_equal(sy_policy_score(p, 0, &in, &u, &v), SY_ERR_INVALID);
    sy_arm_summary s;
    assert_int_equal(sy_policy_arm_summary(p, 0, 0, &s), SY_ERR_INVALID);
    sy_policy_free(p);
    gsl_rng_free(rng);
}

/* Fixed: the configured arm, else the first eligible; the rest in index order. */
static void test_fixed(void **state)
{
    (void)state;
    sy_policy *p = snapshot_of(SY_POLICY_FIXED, 4, NULL, 2);
    assert_string_equal(sy_policy_name(p), "fixed");
    gsl_rng *rng = seeded(3);
    sy_decide_in in = {.n_arms = 4, .rng = rng};
    sy_decide_out out;
    assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
    const size_t want[4] = {2, 0, 1, 3};
    assert_memory_equal(out.ranking, want, sizeof(want));
    assert_true(out.propensity == 1.0);
    const uint8_t elig[4] = {0, 1, 0, 1};
    in.eligible = elig;
    assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
    assert_true(out.n_ranked == 2 && out.ranking[0] == 1 && out.ranking[1] == 3);
    assert_true(out.propensity == 1.0);
    double u, v;
    assert_int_equal(sy_policy_score(p, 0, &in, &u, &v), SY_ERR_INVALID);
    sy_policy_free(p);
    gsl_rng_free(rng);
}

/*
 * Weighted, weights 1, 3, 0, 6: the leader is arm k with probability w_k/10 (reported
 * exactly), and the fallback order continues without replacement, so the ranking
 * starts 3, 1 with probability 0.6 · 3/4 = 0.45; the zero-weight arm is always last.
 * Among eligible arms 0 and 2 only (weights 1 and 0): arm 0 always, propensity 1.
 * All weights zero: uniform, 1/n.
 */
static void test_weighted(void **state)
{
    (void)state;
    sy_arm_params arms[4];
    const double w[4] = {1, 3, 0, 6};
    for (int k = 0; k < 4; k++) {
        sy_arm_params_init(&arms[k]);
        arms[k].weight = w[k];
    }
    sy_policy *p = snapshot_of(SY_POLICY_WEIGHTED, 4, arms, 0);
    gsl_rng *rng = seeded(4);
    sy_decide_in in = {.n_arms = 4, .rng = rng};
    sy_decide_out out;
    const int N = 40000;
    double lead[4] = {0}, starts_31 = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
        assert_permutation(&out, NULL, 4);
        assert_true(fabs(out.propensity - w[out.ranking[0]] / 10) < 1e-15);
        assert_true(out.ranking[3] == 2);
        lead[out.ranking[0]]++;
        starts_31 += out.ranking[0] == 3 && out.ranking[1] == 1;
    }
    for (int k = 0; k < 4; k++)
        assert_true(fabs(lead[k] / N - w[k] / 10) < tol(w[k] / 10, N));
    assert_true(fabs(starts_31 / N - 0.45) < tol(0.45, N));

    const uint8_t elig[4] = {1, 0, 1, 0};
    in.eligible = elig;
    for (int i = 0; i < 100; i++) {
        assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
        assert_true(out.ranking[0] == 0 && out.ranking[1] == 2 && out.propensity == 1.0);
    }
    sy_policy_free(p);

    for (int k = 0; k < 4; k++)
        arms[k].weight = 0;
    p = snapshot_of(SY_POLICY_WEIGHTED, 4, arms, 0);
    in.eligible = NULL;
    double lead0 = 0;
    for (int i = 0; i < 8000; i++) {
        assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
        assert_true(out.propensity == 0.25);
        lead0 += out.ranking[0] == 0;
    }
    assert_true(fabs(lead0 / 8000 - 0.25) < tol(0.25, 8000));
    sy_policy_free(p);
    gsl_rng_free(rng);
}

/* Round-robin turns run over the eligible arms: with arms 1 and 3 out, sequence numbers
 * 0, 1, 2, 3 lead with 0, 2, 4, 0 (then the rest in rotation), propensity 1/3. */
static void test_round_robin_eligible(void **state)
{
    (void)state;
    sy_policy *p = snapshot_of(SY_POLICY_ROUND_ROBIN, 5, NULL, 0);
    gsl_rng *rng = seeded(5);
    const uint8_t elig[5] = {1, 0, 1, 0, 1};
    sy_decide_in in = {.n_arms = 5, .eligible = elig, .rng = rng};
    sy_decide_out out;
    const size_t want[4][3] = {{0, 2, 4}, {2, 4, 0}, {4, 0, 2}, {0, 2, 4}};
    for (uint64_t s = 0; s < 4; s++) {
        in.seq = s;
        assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
        assert_int_equal(out.n_ranked, 3);
        assert_memory_equal(out.ranking, want[s], sizeof(want[s]));
        assert_true(out.propensity == 1.0 / 3);
    }
    sy_policy_free(p);
    gsl_rng_free(rng);
}

int main(void)
{
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_invalid_requests),
        cmocka_unit_test(test_fixed),
        cmocka_unit_test(test_weighted),
        cmocka_unit_test(test_round_robin_eligible),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
