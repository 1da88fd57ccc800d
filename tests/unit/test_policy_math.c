/*
 * The non-contextual policies against known values: Beta posterior updates in closed
 * form, discounting by a half-life in observations, retraction, exact ε-greedy and
 * weighted propensities (and their empirical frequencies), Thompson sampling's choice
 * probability against a numerical integral, UCB1 indices by hand, and ranking with hard
 * constraints. Seeded; tolerances are 4.5 standard errors of the sample size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "sy_common.h"

static sy_policy_state *make_state(sy_policy_kind kind, size_t k, const sy_arm_params *arms,
                                   void (*tweak)(sy_policy_params *))
{
    sy_policy_params p;
    sy_policy_params_init(&p, kind, k, 0);
    p.arms = arms;
    if (tweak)
        tweak(&p);
    sy_policy_state *st = NULL;
    assert_int_equal(sy_policy_state_new(&p, &st), SY_OK);
    return st;
}

static void rate(sy_policy_state *st, size_t arm, double r, double t)
{
    sy_quality_obs q = {.arm = arm, .reward = r, .weight = 1, .t = t};
    assert_int_equal(sy_policy_state_observe_quality(st, &q, NULL), SY_OK);
}

static sy_arm_summary summary(const sy_policy_state *st, size_t arm)
{
    sy_policy *snap = sy_policy_state_snapshot(st, 0);
    sy_arm_summary s;
    assert_int_equal(sy_policy_arm_summary(snap, arm, 0, &s), SY_OK);
    sy_policy_free(snap);
    return s;
}

static void assert_close(double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("got %.12g, want %.12g (±%g)", got, want, tol);
}

/* Prior mean 0.5 worth 2 ratings is Beta(1,1); ratings 1,1,0,1 and 0.25 give
 * Beta(1 + 3.25, 1 + 1.75). */
static void test_beta_posterior_closed_form(void **state)
{
    sy_policy_state *st = make_state(SY_POLICY_THOMPSON, 2, NULL, NULL);
    double rs[] = {1, 1, 0, 1, 0.25};
    for (size_t i = 0; i < 5; i++)
        rate(st, 0, rs[i], (double)i);
    sy_arm_summary s = summary(st, 0);
    double a = 1 + 3.25, b = 1 + 1.75;
    assert_close(s.ratings, 5, 1e-12);
    assert_close(s.quality_mean, a / (a + b), 1e-12);
    assert_close(s.quality_lo, gsl_cdf_beta_Pinv(0.025, a, b), 1e-9);
    assert_close(s.quality_hi, gsl_cdf_beta_Pinv(0.975, a, b), 1e-9);
    sy_arm_summary untouched = summary(st, 1);
    assert_close(untouched.quality_mean, 0.5, 1e-12);
    assert_close(untouched.ratings, 0, 1e-12);
    sy_policy_state_free(st);
}

static void prior_09(sy_arm_params *a)
{
    sy_arm_params_init(a);
    a->prior_quality = 0.9;
    a->prior_quality_strength = 10;
}

/* A configured prior: mean 0.9 worth 10 ratings is Beta(9, 1). */
static void test_configured_prior(void **state)
{
    sy_arm_params arms[2];
    prior_09(&arms[0]);
    sy_arm_params_init(&arms[1]);
    sy_policy_state *st = make_state(SY_POLICY_THOMPSON, 2, arms, NULL);
    rate(st, 0, 0, 0);
    assert_close(summary(st, 0).quality_mean, 9.0 / 11.0, 1e-12);
    sy_policy_state_free(st);
}

static void half_life_one(sy_policy_params *p)
{
    p->discount.half_life = 1;
    p->discount.unit = SY_HALF_LIFE_OBSERVATIONS;
}

static void half_life_10s(sy_policy_params *p)
{
    p->discount.half_life = 10;
    p->discount.unit = SY_HALF_LIFE_SECONDS;
}

/* Half-life of one rating: each new rating halves the weight of everything before it
 * (all arms of the route). Ratings 1 then 0 on arm 0 then 1 on arm 1:
 * arm 0: Σw = 0.25 + 0.5, Σw·r = 0.25 → Beta(1.25, 1.5); arm 1: Beta(2, 1). */
static void test_discount_in_observations(void **state)
{
    sy_policy_state *st = make_state(SY_POLICY_THOMPSON, 2, NULL, half_life_one);
    rate(st, 0, 1, 0);
    rate(st, 0, 0, 0);
    rate(st, 1, 1, 0);
    sy_arm_summary s0 = summary(st, 0), s1 = summary(st, 1);
    assert_close(s0.ratings, 0.75, 1e-12);
    assert_close(s0.quality_mean, 1.25 / 2.75, 1e-12);
    assert_close(s1.ratings, 1, 1e-12);
    assert_close(s1.quality_mean, 2.0 / 3.0, 1e-12);
    sy_policy_state_free(st);
}

/* Half-life of 10 s: a rating at t=0 counts 2^(-20/10) = 1/4 in a snapshot at t=20. */
static void test_discount_in_seconds(void **state)
{
    sy_policy_state *st = make_state(SY_POLICY_THOMPSON, 1, NULL, half_life_10s);
    rate(st, 0, 1, 0);
    sy_policy *snap = sy_policy_state_snapshot(st, 20);
    sy_arm_summary s;
    assert_int_equal(sy_policy_arm_summary(snap, 0, 0, &s), SY_OK);
    assert_close(s.ratings, 0.25, 1e-12);
    assert_close(s.quality_mean, 1.25 / 2.25, 1e-12);
    sy_policy_free(snap);
    sy_policy_state_free(st);
}

/* A re-rating retracts the old rating exactly, also after it has decayed. */
static void test_retract_restores(void **state)
{
    sy_policy_state *st = make_state(SY_POLICY_THOMPSON, 1, NULL, half_life_10s);
    sy_quality_obs q = {.arm = 0, .reward = 1, .weight = 1, .t = 0};
    double stamp;
    assert_int_equal(sy_policy_state_observe_quality(st, &q, &stamp), SY_OK);
    rate(st, 0, 0, 5);
    q.t = 10;
    assert_int_equal(sy_policy_state_retract_quality(st, &q, stamp), SY_OK);
    /* left: the 0 rated at t=5, worth 2^(-5/10) at t=10 */
    sy_policy *snap = sy_policy_state_snapshot(st, 10);
    sy_arm_summary s;
    sy_policy_arm_summary(snap, 0, 0, &s);
    double w = pow(2, -0.5);
    assert_close(s.ratings, w, 1e-9);
    assert_close(s.quality_mean, 1 / (2 + w), 1e-9);
    sy_policy_free(snap);
    sy_policy_state_free(st);
}

static void eps_02(sy_policy_params *p)
{
    p->epsilon = 0.2;
}

/* ε-greedy over 4 arms with a unique best: P(best) = 1 − ε + ε/4 = 0.85, P(other) =
 * ε/4 = 0.05, reported exactly, and the empirical frequencies agree. */
static void test_epsilon_greedy_propensity(void **state)
{
    sy_arm_params arms[4];
    for (int i = 0; i < 4; i++)
        sy_arm_params_init(&arms[i]);
    arms[2].prior_quality = 0.8;
    sy_policy_state *st = make_state(SY_POLICY_EPSILON_GREEDY, 4, arms, eps_02);
    sy_policy *snap = sy_policy_state_snapshot(st, 0);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    enum { N = 40000 };
    size_t count[4] = {0};
    for (int i = 0; i < N; i++) {
        sy_decide_in in = {.n_arms = 4, .rng = rng};
        sy_decide_out out;
        assert_int_equal(sy_policy_decide(snap, &in, &out), SY_OK);
        assert_int_equal(out.n_ranked, 4);
        assert_close(out.propensity, out.ranking[0] == 2 ? 0.85 : 0.05, 1e-12);
        count[out.ranking[0]]++;
    }
    for (int a = 0; a < 4; a++) {
        double p = a == 2 ? 0.85 : 0.05;
        assert_close((double)count[a] / N, p, 4.5 * sqrt(p * (1 - p) / N));
    }
    gsl_rng_free(rng);
    sy_policy_free(snap);
    sy_policy_state_free(st);
}

/* Weighted: propensity is the weight share, exactly; frequencies agree. */
static void test_weighted_propensity(void **state)
{
    sy_arm_params arms[3];
    for (int i = 0; i < 3; i++)
        sy_arm_params_init(&arms[i]);
    arms[0].weight = 1;
    arms[1].weight = 3;
    arms[2].weight = 0;
    sy_policy_state *st = make_state(SY_POLICY_WEIGHTED, 3, arms, NULL);
    sy_policy *snap = sy_policy_state_snapshot(st, 0);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 11);
    enum { N = 20000 };
    size_t count[3] = {0};
    for (int i = 0; i < N; i++) {
        sy_decide_in in = {.n_arms = 3, .rng = rng};
        sy_decide_out out;
        assert_int_equal(sy_policy_decide(snap, &in, &out), SY_OK);
        assert_close(out.propensity, out.ranking[0] == 0 ? 0.25 : 0.75, 1e-12);
        count[out.ranking[0]]++;
    }
    assert_int_equal(count[2], 0);
    assert_close((double)count[1] / N, 0.75, 4.5 * sqrt(0.75 * 0.25 / N));
    gsl_rng_free(rng);
    sy_policy_free(snap);
    sy_policy_state_free(st);
}

typedef struct beta_pair {
    double a0, b0, a1, b1;
} beta_pair;

static double integrand(double x, void *ud)
{
    const beta_pair *p = ud;
    return gsl_ran_beta_pdf(x, p->a0, p->b0) * gsl_cdf_beta_P(x, p->a1, p->b1);
}

/* Thompson sampling picks arm 0 with probability P(X0 > X1), X_i ~ its Beta posterior:
 * Beta(4,2) against Beta(2,3), computed by quadrature. */
static void test_thompson_choice_probability(void **state)
{
    sy_policy_state *st = make_state(SY_POLICY_THOMPSON, 2, NULL, NULL);
    rate(st, 0, 1, 0);
    rate(st, 0, 1, 0);
    rate(st, 0, 1, 0);
    rate(st, 0, 0, 0); /* Beta(4, 2) */
    rate(st, 1, 1, 0);
    rate(st, 1, 0, 0);
    rate(st, 1, 0, 0); /* Beta(2, 3) */
    beta_pair bp = {4, 2, 2, 3};
    gsl_integration_workspace *ws = gsl_integration_workspace_alloc(1000);
    gsl_function f = {integrand, &bp};
    double p0, err;
    gsl_integration_qags(&f, 0, 1, 1e-12, 1e-10, 1000, ws, &p0, &err);
    gsl_integration_workspace_free(ws);

    sy_policy *snap = sy_policy_state_snapshot(st, 0);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 3);
    enum { N = 40000 };
    size_t first = 0;
    double prop_sum = 0;
    for (int i = 0; i < N; i++) {
        sy_decide_in in = {.n_arms = 2, .rng = rng};
        sy_decide_out out;
        assert_int_equal(sy_policy_decide(snap, &in, &out), SY_OK);
        if (out.ranking[0] == 0) {
            first++;
            prop_sum += out.propensity;
        }
    }
    assert_close((double)first / N, p0, 4.5 * sqrt(p0 * (1 - p0) / N));
    /* the Monte Carlo propensity of arm 0, averaged over its picks, estimates p0 */
    assert_close(prop_sum / (double)first, p0, 0.05);
    gsl_rng_free(rng);
    sy_policy_free(snap);
    sy_policy_state_free(st);
}

/* UCB1 index: mean + c·sqrt(2 ln N / n). Arm 0: 9 up of 10; arm 1: 1 up of 3; N = 13:
 * 0.9 + sqrt(2 ln 13 / 10) = 1.6163 against 0.3333 + sqrt(2 ln 13 / 3) = 1.6429, so
 * arm 1 leads; with c = 0.5 the order flips (1.2582 against 0.9881). An untried arm
 * leads every tried one. */
static double ucb(double ups, double n, double total, double c)
{
    return ups / n + c * sqrt(2 * log(total) / n);
}

static void ucb_c_half(sy_policy_params *p)
{
    p->ucb_c = 0.5;
}

static void check_ucb(void (*tweak)(sy_policy_params *), double c, size_t want_first)
{
    sy_policy_state *st = make_state(SY_POLICY_UCB1, 3, NULL, tweak);
    for (int i = 0; i < 10; i++)
        rate(st, 0, i < 9 ? 1 : 0, 0);
    for (int i = 0; i < 3; i++)
        rate(st, 1, i < 1 ? 1 : 0, 0);
    double u0 = ucb(9, 10, 13, c), u1 = ucb(1, 3, 13, c);
    assert_true(want_first == 0 ? u0 > u1 : u1 > u0);
    sy_policy *snap = sy_policy_state_snapshot(st, 0);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    uint8_t tried[3] = {1, 1, 0};
    sy_decide_in in = {.n_arms = 3, .eligible = tried, .rng = rng};
    sy_decide_out out;
    assert_int_equal(sy_policy_decide(snap, &in, &out), SY_OK);
    assert_int_equal(out.ranking[0], want_first);
    assert_int_equal(out.ranking[1], 1 - want_first);
    assert_close(out.propensity, 1, 0);
    in.eligible = NULL; /* arm 2 never rated: it leads */
    assert_int_equal(sy_policy_decide(snap, &in, &out), SY_OK);
    assert_int_equal(out.ranking[0], 2);
    gsl_rng_free(rng);
    sy_policy_free(snap);
    sy_policy_state_free(st);
}

static void test_ucb1_indices(void **state)
{
    check_ucb(NULL, 1.0, 1);
    check_ucb(ucb_c_half, 0.5, 0);
}

static void greedy_capped(sy_policy_params *p)
{
    p->epsilon = 0; /* pure greedy: a deterministic ranking */
    p->objective.max_cost_usd = 0.01;
}

static void greedy_capped_low(sy_policy_params *p)
{
    p->epsilon = 0;
    p->objective.max_cost_usd = 1e-9;
}

/* Ranking with a cost cap: the arms within it first, by utility; then the violators,
 * least violating first; when every arm violates, constraint_fallback is set. */
static void test_ranking_and_constraints(void **state)
{
    sy_arm_params arms[3];
    for (int i = 0; i < 3; i++)
        sy_arm_params_init(&arms[i]);
    arms[0].prior_quality = 0.95; /* best quality, far too expensive */
    arms[0].price_out_per_mtok = 1000;
    arms[0].price_in_per_mtok = 1000;
    arms[1].prior_quality = 0.6;
    arms[1].price_out_per_mtok = 0.01;
    arms[2].prior_quality = 0.7;
    arms[2].price_out_per_mtok = 0.02;
    sy_policy_state *st = make_state(SY_POLICY_EPSILON_GREEDY, 3, arms, greedy_capped);
    sy_policy *snap = sy_policy_state_snapshot(st, 0);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    sy_decide_in in = {.n_arms = 3, .rng = rng, .input_tokens = 1000};
    sy_decide_out out;
    assert_int_equal(sy_policy_decide(snap, &in, &out), SY_OK);
    size_t want[3] = {2, 1, 0};
    assert_memory_equal(out.ranking, want, sizeof(want));
    assert_false(out.constraint_fallback);
    assert_close(out.propensity, 1, 0);
    sy_policy_free(snap);
    sy_policy_state_free(st);

    /* every arm over a tiny cap: ranked by relative excess, cheapest first */
    st = make_state(SY_POLICY_EPSILON_GREEDY, 3, arms, greedy_capped_low);
    snap = sy_policy_state_snapshot(st, 0);
    assert_int_equal(sy_policy_decide(snap, &in, &out), SY_OK);
    size_t want2[3] = {1, 2, 0};
    assert_memory_equal(out.ranking, want2, sizeof(want2));
    assert_true(out.constraint_fallback);
    uint8_t elig[3] = {1, 0, 1}; /* an ineligible arm is never ranked */
    in.eligible = elig;
    assert_int_equal(sy_policy_decide(snap, &in, &out), SY_OK);
    assert_int_equal(out.n_ranked, 2);
    assert_int_equal(out.ranking[0], 2);
    gsl_rng_free(rng);
    sy_policy_free(snap);
    sy_policy_state_free(st);
}

/* Round-robin: arms in turn by the request sequence number. Its propensity is 1/n, as
 * if the turn were drawn at random, which is what keeps IPS estimates on round-robin
 * logs unbiased over whole cycles. */
static void test_round_robin(void **state)
{
    sy_policy_state *st = make_state(SY_POLICY_ROUND_ROBIN, 3, NULL, NULL);
    sy_policy *snap = sy_policy_state_snapshot(st, 0);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    for (uint64_t seq = 0; seq < 9; seq++) {
        sy_decide_in in = {.n_arms = 3, .rng = rng, .seq = seq};
        sy_decide_out out;
        assert_int_equal(sy_policy_decide(snap, &in, &out), SY_OK);
        assert_int_equal(out.ranking[0], seq % 3);
        assert_close(out.propensity, 1.0 / 3.0, 1e-15);
    }
    gsl_rng_free(rng);
    sy_policy_free(snap);
    sy_policy_state_free(st);
}

int main(void)
{
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_beta_posterior_closed_form),
        cmocka_unit_test(test_configured_prior),
        cmocka_unit_test(test_discount_in_observations),
        cmocka_unit_test(test_discount_in_seconds),
        cmocka_unit_test(test_retract_restores),
        cmocka_unit_test(test_epsilon_greedy_propensity),
        cmocka_unit_test(test_weighted_propensity),
        cmocka_unit_test(test_thompson_choice_probability),
        cmocka_unit_test(test_ucb1_indices),
        cmocka_unit_test(test_ranking_and_constraints),
        cmocka_unit_test(test_round_robin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
