/*
 * Outcome posteriors (policies/nig.c, arm_stats.c, snapshot.c, objective.c): the
 * Normal–inverse-gamma posterior against the textbook (sum of squares) form, the
 * predicted latency, output tokens and cost of an arm, the utility built from them, and
 * the distribution of Thompson draws of latency and tokens against the normal
 * probability it implies (seeded; 5-standard-error tolerances from the sample size).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "arm_stats.h"
#include "nig.h"
#include "policy.h"
#include "sy_common.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <math.h>

#define Z975 1.959963984540054

static sy_policy_state *new_state(const sy_policy_params *pp)
{
    sy_policy_state *st = NULL;
    assert_int_equal(sy_policy_state_new(pp, &st), SY_OK);
    return st;
}

static void outcome(sy_policy_state *st, size_t arm, double lat, double tok, double cost)
{
    sy_outcome_obs o = {.arm = arm, .latency_s = lat, .output_tokens = tok, .cost_usd = cost};
    assert_int_equal(sy_policy_state_observe_outcome(st, &o), SY_OK);
}

/* The posterior of N(μ, σ²) data under the NIG prior, written the textbook way (BDA
 * §3.3): with n = Σw, ȳ = Σw·y/n and SS = Σw(y − ȳ)²,
 *   κ = κ0 + n, m = (κ0·m0 + n·ȳ)/κ, a = a0 + n/2, b = b0 + SS/2 + κ0·n(ȳ − m0)²/(2κ). */
static void nig_by_hand(const sy_nig_prior *pr, const double *y, const double *w, int n_obs,
                        sy_nig_post *out)
{
    double n = 0, s = 0;
    for (int i = 0; i < n_obs; i++) {
        n += w[i];
        s += w[i] * y[i];
    }
    double ybar = s / n, ss = 0;
    for (int i = 0; i < n_obs; i++)
        ss += w[i] * (y[i] - ybar) * (y[i] - ybar);
    out->kappa = pr->kappa0 + n;
    out->m = (pr->kappa0 * pr->m0 + n * ybar) / out->kappa;
    out->a = pr->a0 + n / 2;
    out->b =
        pr->b0 + ss / 2 + pr->kappa0 * n * (ybar - pr->m0) * (ybar - pr->m0) / (2 * out->kappa);
}

/* Posterior of E[e^y] = e^(μ + σ²/2) as the library parametrises it (nig.h):
 * base = m + σ̂²/2, sd = σ̂/√κ with σ̂² = b/a. */
static void lognormal_by_hand(const sy_nig_post *p, double *base, double *sd)
{
    *base = p->m + p->b / p->a / 2;
    *sd = sqrt(p->b / p->a / p->kappa);
}

static void test_nig_closed_form(void **state)
{
    (void)state;
    sy_nig_prior pr;
    sy_nig_prior_make(&pr, 0.5, 0.6, 3); /* κ0 = 3, a0 = 1.5, b0 = 1.5·0.36 */
    assert_true(pr.m0 == 0.5 && pr.kappa0 == 3 && pr.a0 == 1.5 && fabs(pr.b0 - 0.54) < 1e-15);

    const double y[] = {0.1, 0.4, 1.2, -0.3}, w[] = {1, 2, 0.5, 1.5};
    sy_nig_stats s = {0};
    for (int i = 0; i < 4; i++)
        sy_nig_add(&s, y[i], w[i]);
    sy_nig_post got, want;
    sy_nig_posterior(&pr, &s, &got);
    nig_by_hand(&pr, y, w, 4, &want);
    assert_true(fabs(got.kappa - want.kappa) < 1e-12 && fabs(got.m - want.m) < 1e-12);
    assert_true(fabs(got.a - want.a) < 1e-12 && fabs(got.b - want.b) < 1e-12);

    sy_lognormal_mean l;
    sy_nig_lognormal_mean(&got, &l);
    double base, sd;
    lognormal_by_hand(&want, &base, &sd);
    assert_true(fabs(l.base - base) < 1e-12 && fabs(l.sd - sd) < 1e-12);
    assert_true(fabs(sy_lognormal_expect(&l) - exp(base + sd * sd / 2)) < 1e-12);

    /* scaling the data by f is the same as weights f·w */
    sy_nig_scale(&s, 0.5);
    const double w2[] = {0.5, 1, 0.25, 0.75};
    sy_nig_posterior(&pr, &s, &got);
    nig_by_hand(&pr, y, w2, 4, &want);
    assert_true(fabs(got.m - want.m) < 1e-12 && fabs(got.b - want.b) < 1e-12);

    /* no data: the prior itself */
    sy_nig_stats none = {0};
    sy_nig_posterior(&pr, &none, &got);
    assert_true(got.m == pr.m0 && got.kappa == pr.kappa0 && got.a == pr.a0 && got.b == pr.b0);
}

/*
 * An arm's predicted latency, output tokens and cost after three requests, against the
 * closed form: the priors (1 s, 256 tokens, strength 2; log-scale spreads 0.5 and 1)
 * updated with ln(latency) and ln(1 + tokens).
 */
static void test_predicted_latency_tokens_cost(void **state)
{
    (void)state;
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_EPSILON_GREEDY, 2, 0);
    pp.objective = (sy_objective){.w_quality = 1, .w_cost = 10, .w_latency = 0.1};
    sy_arm_params arms[2];
    sy_arm_params_init(&arms[0]);
    sy_arm_params_init(&arms[1]);
    arms[0].price_in_per_mtok = 2;
    arms[0].price_out_per_mtok = 8;
    arms[1].cost_model = SY_COST_LEARNED; /* prior 0.001 USD, learned from observed costs */
    pp.arms = arms;
    sy_policy_state *st = new_state(&pp);
    const double lat[] = {0.5, 2, 1.5}, tok[] = {100, 300, 200}, cost[] = {0.002, 0.004, 0.003};
    for (int i = 0; i < 3; i++) {
        outcome(st, 0, lat[i], tok[i], NAN);
        outcome(st, 1, lat[i], tok[i], cost[i]);
    }
    sy_policy *p = sy_policy_state_snapshot(st, 0);

    const double one[] = {1, 1, 1};
    double ylat[3], ytok[3], ycost[3];
    for (int i = 0; i < 3; i++) {
        ylat[i] = log(lat[i]);
        ytok[i] = log(1 + tok[i]);
        ycost[i] = log(1 + cost[i] * 1e6);
    }
    sy_nig_prior pl = {.m0 = 0, .kappa0 = 2, .a0 = 1, .b0 = 0.25};
    sy_nig_prior pt = {.m0 = log(257), .kappa0 = 2, .a0 = 1, .b0 = 1};
    sy_nig_prior pc = {.m0 = log(1001), .kappa0 = 2, .a0 = 1, .b0 = 1};
    sy_nig_post post;
    double lb, lsd, tb, tsd, cb, csd;
    nig_by_hand(&pl, ylat, one, 3, &post);
    lognormal_by_hand(&post, &lb, &lsd);
    nig_by_hand(&pt, ytok, one, 3, &post);
    lognormal_by_hand(&post, &tb, &tsd);
    nig_by_hand(&pc, ycost, one, 3, &post);
    lognormal_by_hand(&post, &cb, &csd);

    double lat_mean = exp(lb + lsd * lsd / 2);
    double tok_mean = exp(tb + tsd * tsd / 2) - 1;
    double cost0 = (2 * 1000 + 8 * tok_mean) * 1e-6; /* 1000 input tokens */
    double cost1 = (exp(cb + csd * csd / 2) - 1) * 1e-6;

    sy_arm_summary s;
    assert_int_equal(sy_policy_arm_summary(p, 0, 1000, &s), SY_OK);
    assert_true(fabs(s.requests - 3) < 1e-12);
    assert_true(fabs(s.latency_mean_s - lat_mean) < 1e-12);
    assert_true(fabs(s.latency_lo_s - exp(lb - Z975 * lsd)) < 1e-12);
    assert_true(fabs(s.latency_hi_s - exp(lb + Z975 * lsd)) < 1e-12);
    assert_true(fabs(s.output_tokens_mean - tok_mean) < 1e-9);
    assert_true(fabs(s.cost_mean_usd - cost0) < 1e-15);
    assert_true(fabs(s.cost_lo_usd - (2000 + 8 * (exp(tb - Z975 * tsd) - 1)) * 1e-6) < 1e-15);
    assert_true(s.cost_lo_usd < s.cost_mean_usd && s.cost_mean_usd < s.cost_hi_usd);
    assert_int_equal(sy_policy_arm_summary(p, 1, 1000, &s), SY_OK);
    assert_true(fabs(s.cost_mean_usd - cost1) < 1e-15);

    /* utility = w_q·E[q] − w_c·E[cost] − w_l·E[latency], E[q] = 0.5 (no ratings) */
    sy_decide_in in = {.input_tokens = 1000};
    double u, v;
    assert_int_equal(sy_policy_score(p, 0, &in, &u, &v), SY_OK);
    assert_true(fabs(u - (0.5 - 10 * cost0 - 0.1 * lat_mean)) < 1e-12 && v == 0);
    assert_int_equal(sy_policy_score(p, 1, &in, &u, &v), SY_OK);
    assert_true(fabs(u - (0.5 - 10 * cost1 - 0.1 * lat_mean)) < 1e-12);
    sy_policy_free(p);
    sy_policy_state_free(st);
}

/* Bad values reject the whole observation; NAN fields are skipped; latency is floored
 * at 1 ms. */
static void test_outcome_validation(void **state)
{
    (void)state;
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_THOMPSON, 1, 0);
    sy_policy_state *st = new_state(&pp);
    sy_outcome_obs bad[] = {
        {.arm = 0, .latency_s = -1, .output_tokens = 10, .cost_usd = 0},
        {.arm = 0, .latency_s = 1, .output_tokens = INFINITY, .cost_usd = 0},
        {.arm = 0, .latency_s = 1, .output_tokens = 10, .cost_usd = -0.5},
        {.arm = 1, .latency_s = 1, .output_tokens = 10, .cost_usd = 0},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++)
        assert_int_equal(sy_policy_state_observe_outcome(st, &bad[i]), SY_ERR_INVALID);
    outcome(st, 0, NAN, 100, NAN); /* tokens only */
    outcome(st, 0, 0, NAN, NAN);   /* latency 0 → 1 ms */
    sy_policy *p = sy_policy_state_snapshot(st, 0);
    sy_arm_summary s;
    sy_policy_arm_summary(p, 0, 0, &s);
    assert_true(fabs(s.requests - 1) < 1e-12); /* one latency observation */
    sy_nig_prior pl = {.m0 = 0, .kappa0 = 2, .a0 = 1, .b0 = 0.25};
    double y = log(1e-3), w = 1, base, sd;
    sy_nig_post post;
    nig_by_hand(&pl, &y, &w, 1, &post);
    lognormal_by_hand(&post, &base, &sd);
    assert_true(fabs(s.latency_mean_s - exp(base + sd * sd / 2)) < 1e-12);
    assert_true(sy_y_latency(0) == log(1e-3) && sy_y_latency(2) == log(2));
    sy_policy_free(p);
    sy_policy_state_free(st);
}

static double phi_upper(double z) /* P(Z > z) */
{
    return 0.5 * erfc(z / M_SQRT2);
}

/*
 * Thompson draws of E[latency] are e^(base + sd·z): between two arms scored on latency
 * alone, arm 0 leads with P(e^(b0 + s0·z0) < e^(b1 + s1·z1)) = Φ((b1 − b0)/√(s0² + s1²)).
 * The same holds for output tokens when both arms have the same output price and no
 * input price (cost ∝ E[tokens]). Frequencies and mean propensities must match it.
 */
static void race(sy_policy *p, double p0, unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    sy_decide_in in = {.n_arms = 2, .rng = rng, .input_tokens = 500};
    sy_decide_out out;
    const int N = 20000;
    double lead0 = 0, sum = 0, sum2 = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
        if (out.ranking[0] == 0) {
            lead0++;
            sum += out.propensity;
            sum2 += out.propensity * out.propensity;
        }
    }
    assert_true(fabs(lead0 / N - p0) < 5 * sqrt(p0 * (1 - p0) / N));
    double mean = sum / lead0, var = sum2 / lead0 - mean * mean;
    assert_true(fabs(mean - p0) < 5 * sqrt(var / lead0));
    gsl_rng_free(rng);
}

static void test_latency_and_token_draws(void **state)
{
    (void)state;
    const double lat0[] = {0.8, 1.0, 1.2, 0.9}, lat1[] = {1.1, 1.3, 0.9};
    const double tok0[] = {150, 180, 120, 160}, tok1[] = {170, 210, 190};
    const double one[] = {1, 1, 1, 1};
    double y[4], b0, s0, b1, s1;
    sy_nig_post post;

    /* latency */
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_THOMPSON, 2, 0);
    pp.objective = (sy_objective){.w_quality = 0, .w_latency = 1};
    sy_policy_state *st = new_state(&pp);
    for (int i = 0; i < 4; i++)
        outcome(st, 0, lat0[i], tok0[i], NAN);
    for (int i = 0; i < 3; i++)
        outcome(st, 1, lat1[i], tok1[i], NAN);
    sy_policy *p = sy_policy_state_snapshot(st, 0);
    sy_nig_prior pl = {.m0 = 0, .kappa0 = 2, .a0 = 1, .b0 = 0.25};
    for (int i = 0; i < 4; i++)
        y[i] = log(lat0[i]);
    nig_by_hand(&pl, y, one, 4, &post);
    lognormal_by_hand(&post, &b0, &s0);
    for (int i = 0; i < 3; i++)
        y[i] = log(lat1[i]);
    nig_by_hand(&pl, y, one, 3, &post);
    lognormal_by_hand(&post, &b1, &s1);
    double p0 = phi_upper(-(b1 - b0) / sqrt(s0 * s0 + s1 * s1));
    assert_true(p0 > 0.55 && p0 < 0.9); /* informative: neither a coin nor a certainty */
    race(p, p0, 21);
    sy_policy_free(p);
    sy_policy_state_free(st);

    /* output tokens: same output price, no input price */
    sy_arm_params arms[2];
    for (int k = 0; k < 2; k++) {
        sy_arm_params_init(&arms[k]);
        arms[k].price_out_per_mtok = 1000;
    }
    pp.arms = arms;
    pp.objective = (sy_objective){.w_quality = 0, .w_cost = 1};
    st = new_state(&pp);
    for (int i = 0; i < 4; i++)
        outcome(st, 0, lat0[i], tok0[i], NAN);
    for (int i = 0; i < 3; i++)
        outcome(st, 1, lat1[i], tok1[i], NAN);
    p = sy_policy_state_snapshot(st, 0);
    sy_nig_prior pt = {.m0 = log(257), .kappa0 = 2, .a0 = 1, .b0 = 1};
    for (int i = 0; i < 4; i++)
        y[i] = log1p(tok0[i]);
    nig_by_hand(&pt, y, one, 4, &post);
    lognormal_by_hand(&post, &b0, &s0);
    for (int i = 0; i < 3; i++)
        y[i] = log1p(tok1[i]);
    nig_by_hand(&pt, y, one, 3, &post);
    lognormal_by_hand(&post, &b1, &s1);
    p0 = phi_upper(-(b1 - b0) / sqrt(s0 * s0 + s1 * s1));
    assert_true(p0 > 0.55 && p0 < 0.95);
    race(p, p0, 22);
    sy_policy_free(p);
    sy_policy_state_free(st);
}

int main(void)
{
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nig_closed_form),
        cmocka_unit_test(test_predicted_latency_tokens_cost),
        cmocka_unit_test(test_outcome_validation),
        cmocka_unit_test(test_latency_and_token_draws),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
