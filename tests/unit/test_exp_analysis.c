/*
 * experiments/exp_analysis: the recommendation rule of exp_analysis.h on constructed
 * aggregates (A/A → keep running, a clear winner → ship, a cost breach → stop, a 45/55
 * split of a 50/50 design → SRM), its plumbing (Holm across treatments, the running
 * minimum of the always-valid p-value, guardrail states), and a seeded simulation of
 * repeatedly peeked A/A experiments: the rule must recommend shipping in at most about
 * alpha of them, which the fixed-horizon test peeked as often does not achieve.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "exp_analysis.h"
#include "sy_common.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <string.h>

static sy_exp_config base_config(void)
{
    return (sy_exp_config){
        .primary = SY_EXP_METRIC_PROP,
        .alpha = 0.05,
        .tau2 = 0.05 * 0.05,
        .prior_a = 1,
        .prior_b = 1,
        .max_cost_increase = 0.10,
        .max_p95_increase = 0.20,
        .max_error_increase = 0.01,
        .min_sample = 500,
    };
}

/* A variant with `ups` thumbs-up out of `rated` ratings, 2·rated requests with a cost
 * per request of mean `cost` and sd cost/5, `errors` failed requests and a p95. */
static sy_exp_variant_input variant(double ups, double rated, double cost, double errors,
                                    double p95)
{
    double req = 2 * rated;
    return (sy_exp_variant_input){
        .units = req,
        .weight = 1,
        .primary_prop = {ups, rated},
        .cost = {req, cost, (cost / 5) * (cost / 5)},
        .p95_latency = p95,
        .errors = {errors, req},
        .prev_p_always = NAN,
    };
}

static void analyze(const sy_exp_config *cfg, const sy_exp_variant_input *v, size_t k,
                    sy_exp_variant_result *out, sy_exp_verdict *vd)
{
    assert_int_equal(sy_exp_analyze(cfg, v, k, out, vd), SY_OK);
    print_message("%s: %s\n", sy_exp_rec_name(vd->rec), vd->reason);
}

/* Two arms with the same rate and the same guardrail metrics: nothing to ship. */
static void test_aa_keeps_running(void **state)
{
    (void)state;
    sy_exp_config cfg = base_config();
    sy_exp_variant_input v[2] = {variant(500, 1000, 0.01, 10, 1000),
                                 variant(507, 1000, 0.01, 11, 1010)};
    sy_exp_variant_result out[2];
    sy_exp_verdict vd;
    analyze(&cfg, v, 2, out, &vd);
    assert_int_equal(vd.rec, SY_EXP_REC_KEEP_RUNNING);
    assert_false(vd.srm_warning);
    assert_true(vd.srm_p > 0.5);
    assert_true(out[1].primary.p_value > 0.5);
    assert_true(out[1].p_always > 0.5);
    assert_true(out[1].cs_lo < 0 && out[1].cs_hi > 0);
    assert_true(out[1].p_beat > 0.3 && out[1].p_beat < 0.8);
    assert_non_null(strstr(vd.reason, "no significant difference"));
    /* each variant's rate with its Wilson interval */
    double lo, hi;
    sy_stats_wilson(&v[1].primary_prop, 0.05, &lo, &hi);
    assert_true(out[1].rate == 0.507 && out[1].rate_lo == lo && out[1].rate_hi == hi);
    assert_true(out[0].rate == 0.5 && out[0].rate_lo < 0.5 && out[0].rate_hi > 0.5);
    /* the control row carries only its estimate */
    assert_true(fabs(out[0].primary.control - 0.5) < 1e-15);
    assert_true(isnan(out[0].p_always) && isnan(out[0].primary.p_value));
    assert_int_equal(out[0].guard[SY_EXP_GUARD_COST].status, SY_EXP_GUARD_OFF);
}

/* 15% → 21% thumbs-up on 2,000 ratings each, equal cost, errors and latency. */
static void test_clear_winner_ships(void **state)
{
    (void)state;
    sy_exp_config cfg = base_config();
    sy_exp_variant_input v[2] = {variant(300, 2000, 0.01, 10, 1000),
                                 variant(420, 2000, 0.01, 12, 1020)};
    sy_exp_variant_result out[2];
    sy_exp_verdict vd;
    analyze(&cfg, v, 2, out, &vd);
    assert_int_equal(vd.rec, SY_EXP_REC_SHIP_VARIANT);
    assert_int_equal(vd.variant, 1);
    assert_true(out[1].p_always < 0.001);
    assert_true(out[1].p_always >= out[1].primary.p_value); /* always-valid costs power */
    assert_true(out[1].cs_lo > 0);
    assert_true(out[1].p_beat > 0.999);
    assert_true(out[1].expected_loss < 1e-6);
    for (size_t g = 0; g < SY_EXP_GUARD_COUNT; g++)
        assert_int_equal(out[1].guard[g].status, SY_EXP_GUARD_OK);
    assert_true(fabs(out[1].guard[SY_EXP_GUARD_P95].observed - 0.02) < 1e-12);
    assert_non_null(strstr(vd.reason, "ship variant 1"));

    /* the same data below min_sample: no verdict of any kind */
    cfg.min_sample = 5000;
    analyze(&cfg, v, 2, out, &vd);
    assert_int_equal(vd.rec, SY_EXP_REC_KEEP_RUNNING);
    assert_int_equal(out[1].guard[SY_EXP_GUARD_COST].status, SY_EXP_GUARD_PENDING);
    assert_non_null(strstr(vd.reason, "observations required"));
}

/* The winner costs 50% more per request, far beyond the +10% guardrail. */
static void test_cost_breach_stops(void **state)
{
    (void)state;
    sy_exp_config cfg = base_config();
    sy_exp_variant_input v[2] = {variant(300, 2000, 0.010, 10, 1000),
                                 variant(420, 2000, 0.015, 10, 1000)};
    sy_exp_variant_result out[2];
    sy_exp_verdict vd;
    analyze(&cfg, v, 2, out, &vd);
    assert_int_equal(vd.rec, SY_EXP_REC_STOP_GUARDRAIL);
    assert_int_equal(vd.variant, 1);
    assert_int_equal(vd.guardrail, SY_EXP_GUARD_COST);
    const sy_exp_guard_verdict *g = &out[1].guard[SY_EXP_GUARD_COST];
    assert_int_equal(g->status, SY_EXP_GUARD_BREACHED);
    assert_true(fabs(g->observed - 0.5) < 1e-12);
    assert_true(g->lo > 0.10 && g->hi > g->lo);
    assert_non_null(strstr(vd.reason, "cost"));

    /* +8% with this much noise: neither shown within +10% nor beyond it */
    v[1].cost.mean = 0.0108;
    v[1].cost.var = v[0].cost.var = 0.01 * 0.01;
    analyze(&cfg, v, 2, out, &vd);
    assert_int_equal(out[1].guard[SY_EXP_GUARD_COST].status, SY_EXP_GUARD_PENDING);
    assert_int_equal(vd.rec, SY_EXP_REC_KEEP_RUNNING);
    assert_non_null(strstr(vd.reason, "cost guardrail is not yet shown"));

    /* the error rate: 0.5% → 4% of 4,000 requests against a +1 point maximum */
    v[1] = variant(420, 2000, 0.01, 160, 1000);
    v[0] = variant(300, 2000, 0.01, 20, 1000);
    analyze(&cfg, v, 2, out, &vd);
    assert_int_equal(vd.rec, SY_EXP_REC_STOP_GUARDRAIL);
    assert_int_equal(vd.guardrail, SY_EXP_GUARD_ERRORS);

    /* p95 latency +30% against +20% */
    v[1] = variant(420, 2000, 0.01, 20, 1300);
    analyze(&cfg, v, 2, out, &vd);
    assert_int_equal(vd.rec, SY_EXP_REC_STOP_GUARDRAIL);
    assert_int_equal(vd.guardrail, SY_EXP_GUARD_P95);

    /* guardrails not configured are OFF and do not block shipping */
    cfg.max_p95_increase = NAN;
    analyze(&cfg, v, 2, out, &vd);
    assert_int_equal(out[1].guard[SY_EXP_GUARD_P95].status, SY_EXP_GUARD_OFF);
    assert_int_equal(vd.rec, SY_EXP_REC_SHIP_VARIANT);
}

/* A 45/55 split of a 50/50 design: the SRM warning blocks even a clear winner. */
static void test_srm_warns(void **state)
{
    (void)state;
    sy_exp_config cfg = base_config();
    sy_exp_variant_input v[2] = {variant(300, 2000, 0.01, 10, 1000),
                                 variant(420, 2000, 0.01, 12, 1020)};
    v[0].units = 4500;
    v[1].units = 5500;
    sy_exp_variant_result out[2];
    sy_exp_verdict vd;
    analyze(&cfg, v, 2, out, &vd);
    assert_true(vd.srm_warning);
    assert_true(fabs(vd.srm_chi2 - 100) < 1e-9); /* (500² + 500²)/5000 */
    assert_true(vd.srm_p < 1e-20);
    assert_int_equal(vd.rec, SY_EXP_REC_INVESTIGATE_SRM);
    assert_non_null(strstr(vd.reason, "sample ratio mismatch"));

    /* the same split in a 45/55 design is fine */
    v[0].weight = 45;
    v[1].weight = 55;
    analyze(&cfg, v, 2, out, &vd);
    assert_false(vd.srm_warning);
    assert_int_equal(vd.rec, SY_EXP_REC_SHIP_VARIANT);
}

/* Three arms: Holm across the two treatments, the best qualifying one ships, and the
 * running minimum of the always-valid p-value survives a worse look. */
static void test_three_arms_holm_and_running_min(void **state)
{
    (void)state;
    sy_exp_config cfg = base_config();
    sy_exp_variant_input v[3] = {variant(300, 2000, 0.01, 10, 1000),
                                 variant(310, 2000, 0.01, 10, 1000),
                                 variant(420, 2000, 0.01, 10, 1000)};
    sy_exp_variant_result out[3];
    sy_exp_verdict vd;
    analyze(&cfg, v, 3, out, &vd);
    assert_int_equal(vd.rec, SY_EXP_REC_SHIP_VARIANT);
    assert_int_equal(vd.variant, 2);
    /* Holm with two tests: the smaller p doubles, the larger is at least that */
    double p1 = out[1].primary.p_value, p2 = out[2].primary.p_value;
    assert_true(p2 < p1);
    assert_true(fabs(out[2].p_holm - 2 * p2) < 1e-15);
    assert_true(fabs(out[1].p_holm - fmax(p1, 2 * p2)) < 1e-15);
    assert_true(fabs(out[2].p_always_holm - fmin(1, 2 * out[2].p_always)) < 1e-15);

    /* a previous look's smaller always-valid p is kept */
    v[1].prev_p_always = 0.004;
    analyze(&cfg, v, 3, out, &vd);
    assert_true(out[1].p_always == 0.004);
    assert_true(fabs(out[1].p_always_holm - fmax(0.004, 2 * out[2].p_always)) < 1e-15);
    /* …a larger one is not, and a garbage one is ignored */
    v[1].prev_p_always = 5;
    analyze(&cfg, v, 3, out, &vd);
    assert_true(out[1].p_always <= 1 && out[1].p_always > 0.3);

    /* both treatments good: the higher rate ships */
    v[1] = variant(440, 2000, 0.01, 10, 1000);
    analyze(&cfg, v, 3, out, &vd);
    assert_int_equal(vd.rec, SY_EXP_REC_SHIP_VARIANT);
    assert_int_equal(vd.variant, 1);
}

/* Every treatment clearly worse: keep control. */
static void test_all_worse_keeps_control(void **state)
{
    (void)state;
    sy_exp_config cfg = base_config();
    sy_exp_variant_input v[2] = {variant(420, 2000, 0.01, 10, 1000),
                                 variant(300, 2000, 0.01, 10, 1000)};
    sy_exp_variant_result out[2];
    sy_exp_verdict vd;
    analyze(&cfg, v, 2, out, &vd);
    assert_int_equal(vd.rec, SY_EXP_REC_KEEP_CONTROL);
    assert_true(out[1].p_beat < 1e-3);
    assert_true(out[1].expected_loss > 0.05);
}

/* A user-level experiment: per-user sums of ratings (x) and thumbs-up (y). */
static void ratio_users(gsl_rng *r, double rate, size_t users, sy_ratio_moments *m)
{
    *m = (sy_ratio_moments){0};
    for (size_t i = 0; i < users; i++) {
        double x = 1 + gsl_ran_poisson(r, 3);
        double y = gsl_ran_binomial(r, rate, (unsigned)x);
        m->n += 1;
        m->sum_x += x;
        m->sum_y += y;
        m->sum_xx += x * x;
        m->sum_yy += y * y;
        m->sum_xy += x * y;
    }
}

static void test_ratio_metric(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 6);
    sy_exp_config cfg = base_config();
    cfg.primary = SY_EXP_METRIC_RATIO;
    sy_exp_variant_input v[2] = {variant(0, 1000, 0.01, 10, 1000),
                                 variant(0, 1000, 0.01, 10, 1000)};
    ratio_users(r, 0.15, 1500, &v[0].primary_ratio);
    ratio_users(r, 0.21, 1500, &v[1].primary_ratio);
    sy_exp_variant_result out[2];
    sy_exp_verdict vd;
    analyze(&cfg, v, 2, out, &vd);
    assert_int_equal(vd.rec, SY_EXP_REC_SHIP_VARIANT);
    assert_false(isnan(out[1].primary.df));
    for (int i = 0; i < 2; i++) {
        assert_true(out[i].rate_lo < out[i].rate && out[i].rate < out[i].rate_hi);
        assert_true(out[i].rate_hi - out[i].rate_lo < 0.05);
    }
    assert_true(fabs(out[1].primary.treatment - out[1].rate) < 1e-15);
    /* the normal posterior: P(beat) = Φ(diff/sd) with sd from the interval */
    double sd = (out[1].primary.diff_hi - out[1].primary.diff) /
                gsl_cdf_tdist_Qinv(0.025, out[1].primary.df);
    assert_true(fabs(out[1].p_beat - gsl_cdf_ugaussian_P(out[1].primary.diff / sd)) < 1e-12);

    ratio_users(r, 0.15, 1500, &v[1].primary_ratio);
    analyze(&cfg, v, 2, out, &vd);
    assert_int_equal(vd.rec, SY_EXP_REC_KEEP_RUNNING);
    gsl_rng_free(r);
}

static void test_invalid(void **state)
{
    (void)state;
    sy_exp_variant_input v[2] = {variant(1, 10, 1, 0, 1), variant(1, 10, 1, 0, 1)};
    sy_exp_variant_result out[2];
    sy_exp_verdict vd;
    sy_exp_config cfg = base_config();
    assert_int_equal(sy_exp_analyze(&cfg, v, 1, out, &vd), SY_ERR_INVALID);
    cfg.alpha = 1;
    assert_int_equal(sy_exp_analyze(&cfg, v, 2, out, &vd), SY_ERR_INVALID);
    cfg = base_config();
    cfg.tau2 = 0;
    assert_int_equal(sy_exp_analyze(&cfg, v, 2, out, &vd), SY_ERR_INVALID);
    cfg = base_config();
    cfg.max_error_increase = 0;
    assert_int_equal(sy_exp_analyze(&cfg, v, 2, out, &vd), SY_ERR_INVALID);
    cfg = base_config();
    cfg.prior_b = -1;
    assert_int_equal(sy_exp_analyze(&cfg, v, 2, out, &vd), SY_ERR_INVALID);

    /* empty variants are not an error: everything NAN, keep running */
    cfg = base_config();
    cfg.min_sample = 0;
    sy_exp_variant_input e[2] = {{.weight = 1, .prev_p_always = NAN},
                                 {.weight = 1, .prev_p_always = NAN}};
    assert_int_equal(sy_exp_analyze(&cfg, e, 2, out, &vd), SY_OK);
    assert_int_equal(vd.rec, SY_EXP_REC_KEEP_RUNNING);
    assert_true(isnan(vd.srm_p) && !vd.srm_warning);
    assert_true(isnan(out[1].p_always) && isnan(out[1].primary.p_value));

    assert_string_equal(sy_exp_rec_name(SY_EXP_REC_STOP_GUARDRAIL), "stop_guardrail");
    assert_string_equal(sy_exp_guardrail_name(SY_EXP_GUARD_P95), "p95_latency");
    assert_string_equal(sy_exp_guard_status_name(SY_EXP_GUARD_BREACHED), "breached");
}

/*
 * 200 seeded A/A experiments (true thumbs-up rate 0.3 in both arms, 100 ratings per arm
 * between looks, 30 looks, the running minimum carried between looks as the engine
 * does). The rule may ship in at most alpha = 5% of them in expectation (the mSPRT
 * guarantee, up to its normal approximation): the check allows 5 binomial standard
 * errors above 10 (25.4). Peeking at the fixed-horizon z-test as often rejects in far
 * more of them; the check requires more than 10% (its expected rate here is about 25%).
 */
static void test_aa_simulation_peeking(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 2026);
    sy_exp_config cfg = base_config();
    cfg.min_sample = 100;
    cfg.max_cost_increase = cfg.max_p95_increase = cfg.max_error_increase = NAN;
    const int runs = 200, looks = 30, per_look = 100;
    int shipped = 0, naive = 0;
    for (int run = 0; run < runs; run++) {
        sy_exp_variant_input v[2] = {{.weight = 1, .prev_p_always = NAN},
                                     {.weight = 1, .prev_p_always = NAN}};
        int ship = 0, reject = 0;
        for (int l = 0; l < looks; l++) {
            for (int i = 0; i < 2; i++) {
                v[i].primary_prop.successes += gsl_ran_binomial(r, 0.3, per_look);
                v[i].primary_prop.trials += per_look;
                v[i].units += per_look;
            }
            sy_exp_variant_result out[2];
            sy_exp_verdict vd;
            assert_int_equal(sy_exp_analyze(&cfg, v, 2, out, &vd), SY_OK);
            v[1].prev_p_always = out[1].p_always;
            ship |= vd.rec == SY_EXP_REC_SHIP_VARIANT || vd.rec == SY_EXP_REC_KEEP_CONTROL;
            reject |= out[1].primary.p_value < cfg.alpha;
        }
        shipped += ship;
        naive += reject;
    }
    print_message("A/A: always-valid rule decided in %d of %d runs, peeked z-test in %d\n", shipped,
                  runs, naive);
    assert_true(shipped <= 25);
    assert_true(naive > runs / 10);
    gsl_rng_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aa_keeps_running),
        cmocka_unit_test(test_clear_winner_ships),
        cmocka_unit_test(test_cost_breach_stops),
        cmocka_unit_test(test_srm_warns),
        cmocka_unit_test(test_three_arms_holm_and_running_min),
        cmocka_unit_test(test_all_worse_keeps_control),
        cmocka_unit_test(test_ratio_metric),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_aa_simulation_peeking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
