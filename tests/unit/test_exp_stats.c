/*
 * experiments/exp_stats: every function against reference values computed
 * independently of this library. The values come from worked textbook examples and from
 * tests/fixtures/exp_stats/reference.py (statsmodels, scipy, mpmath, exact rational
 * arithmetic), which prints each one under the label quoted next to it here; re-run it
 * with /usr/bin/python3 to check them. Tolerances are relative 1e-9 where the reference
 * has full double precision, and the printed precision where it is a textbook's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "exp_stats.h"

#include <math.h>
#include <time.h>

/* |got − want| ≤ rel·|want| (or ≤ rel when want is 0) */
#define assert_rel(got, want, rel)                                                                 \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        double tol_ = (rel) * (w_ != 0 ? fabs(w_) : 1);                                            \
        if (!(fabs(g_ - w_) <= tol_))                                                              \
            fail_msg("%s = %.17g, want %.17g (tol %.3g)", #got, g_, w_, tol_);                     \
    } while (0)

#define assert_abs(got, want, tol)                                                                 \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        if (!(fabs(g_ - w_) <= (tol)))                                                             \
            fail_msg("%s = %.17g, want %.17g (tol %.3g)", #got, g_, w_, (double)(tol));            \
    } while (0)

#define assert_nan(x)                                                                              \
    do {                                                                                           \
        if (!isnan(x))                                                                             \
            fail_msg("%s = %.17g, want NAN", #x, (double)(x));                                     \
    } while (0)

/* Newcombe (1998), "Two-sided confidence intervals for the single proportion", Stat Med
 * 17:857–872, Table I, method 3 (score interval without continuity correction), 95%:
 * 81/263 → 0.2553–0.3662, 15/148 → 0.0624–0.1605, 0/20 → 0–0.1611, 1/29 → 0.0061–0.1718.
 * Full precision: reference.py "wilson s/n" (statsmodels proportion_confint). */
static void test_wilson(void **state)
{
    (void)state;
    static const struct {
        double s, n, lo4, hi4, lo, hi;
    } cases[] = {
        {81, 263, 0.2553, 0.3662, 0.25528851987827422, 0.36620957698280004},
        {15, 148, 0.0624, 0.1605, 0.062386399530736283, 0.16048724172330803},
        {0, 20, 0.0, 0.1611, 0.0, 0.16112515805281941},
        {1, 29, 0.0061, 0.1718, 0.006113214292762667, 0.17175521879320294},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sy_prop_moments p = {cases[i].s, cases[i].n};
        double lo, hi;
        sy_stats_wilson(&p, 0.05, &lo, &hi);
        assert_abs(lo, cases[i].lo4, 0.5e-4); /* the paper's four decimals */
        assert_abs(hi, cases[i].hi4, 0.5e-4);
        assert_abs(lo, cases[i].lo, 1e-12);
        assert_rel(hi, cases[i].hi, 1e-9);
    }
    double lo, hi;
    sy_prop_moments none = {0, 0}, bad = {5, 3};
    sy_stats_wilson(&none, 0.05, &lo, &hi);
    assert_nan(lo);
    assert_nan(hi);
    sy_stats_wilson(&bad, 0.05, &lo, &hi);
    assert_nan(lo);
    sy_prop_moments ok = {5, 10};
    sy_stats_wilson(&ok, 0, &lo, &hi); /* alpha out of (0, 1) */
    assert_nan(lo);
}

/* The Physicians' Health Study (Agresti, An Introduction to Categorical Data Analysis,
 * 2nd ed., §2.2.3): myocardial infarctions 189/11034 on placebo (control), 104/11037 on
 * aspirin (treatment). Agresti: difference 0.0077, Wald 95% CI (0.005, 0.011) for
 * placebo − aspirin, so (−0.011, −0.005) for treatment − control.
 * Full precision: reference.py "z aspirin …" (statsmodels proportions_ztest, pooled;
 * confint_proportions_2indep wald; the relative interval by the delta method coded in
 * Python). */
static void test_two_prop_z(void **state)
{
    (void)state;
    sy_prop_moments c = {189, 11034}, t = {104, 11037};
    sy_comparison r;
    sy_stats_two_prop_z(&c, &t, 0.05, &r);
    assert_rel(r.control, 189.0 / 11034, 1e-15);
    assert_rel(r.treatment, 104.0 / 11037, 1e-15);
    assert_abs(r.diff, -0.0077, 0.5e-4);
    assert_abs(r.diff_lo, -0.011, 0.5e-3);
    assert_abs(r.diff_hi, -0.005, 0.5e-3);
    assert_rel(r.stat, -5.0013882040083777, 1e-9);
    assert_rel(r.p_value, 5.6918969737408362e-07, 1e-8);
    assert_rel(r.diff_lo, -0.010724297276960126, 1e-9);
    assert_rel(r.diff_hi, -0.0046877506750494383, 1e-9);
    assert_rel(r.rel, (104.0 / 11037) / (189.0 / 11034) - 1, 1e-12);
    assert_rel(r.rel_lo, -0.58072230406897662, 1e-9);
    assert_rel(r.rel_hi, -0.3190477335102484, 1e-9);
    assert_nan(r.df);

    /* swapping the arms flips the sign and keeps the p-value */
    sy_comparison s;
    sy_stats_two_prop_z(&t, &c, 0.05, &s);
    assert_rel(s.stat, 5.0013882040083777, 1e-9);
    assert_rel(s.p_value, r.p_value, 1e-12);

    /* degenerate: no trials, both all-failure (zero pooled variance), zero control rate */
    sy_prop_moments zero = {0, 0}, none0 = {0, 50}, none1 = {0, 80}, some = {4, 80};
    sy_stats_two_prop_z(&zero, &t, 0.05, &s);
    assert_nan(s.diff);
    assert_nan(s.p_value);
    sy_stats_two_prop_z(&none0, &none1, 0.05, &s);
    assert_abs(s.diff, 0, 0);
    assert_nan(s.stat);
    assert_nan(s.p_value);
    assert_nan(s.diff_lo);
    sy_stats_two_prop_z(&none0, &some, 0.05, &s);
    assert_true(s.p_value > 0 && s.p_value < 1);
    assert_nan(s.rel); /* lift relative to a zero control is undefined */
}

/* Welch (a): Wikipedia, "Student's t-test", worked example (screws), unequal variances:
 * SE ≈ 0.04849, df ≈ 7.031, t ≈ 1.959, p = 0.090… (A2 as control, A1 as treatment).
 * Welch (b): R's t.test(ts1, ts2) as printed on a Q&A page: t = −1.8325, df = 17.9,
 * p = 0.08356, 95% CI (−2.1469104, 0.1469104) for ts1 − ts2 (ts1 as control here, so
 * the signs flip). Full precision: reference.py "welch …" (scipy ttest_ind
 * equal_var=False; the interval from scipy's t quantile). */
static void test_welch_t(void **state)
{
    (void)state;
    sy_mean_moments c = {6, 29.920000000000002, 0.011640000000000086};
    sy_mean_moments t = {6, 30.015000000000001, 0.002470000000000026};
    sy_comparison r;
    sy_stats_welch_t(&c, &t, 0.05, &r);
    assert_abs(sqrt(c.var / 6 + t.var / 6), 0.04849, 0.5e-5);
    assert_abs(r.df, 7.031, 0.5e-3);
    assert_abs(r.stat, 1.959, 0.5e-3);
    assert_true(r.p_value >= 0.090 && r.p_value < 0.091);
    assert_rel(r.stat, 1.9590058081081434, 1e-9);
    assert_rel(r.df, 7.0305599598843216, 1e-9);
    assert_rel(r.p_value, 0.090773324285661136, 1e-8);
    assert_rel(r.diff_lo, -0.019569089618898305, 1e-8);
    assert_rel(r.diff_hi, 0.20956908961889603, 1e-8);
    assert_rel(r.rel_lo, -0.00066407972957478268, 1e-7);
    assert_rel(r.rel_hi, 0.0070143471092539243, 1e-8);

    sy_mean_moments c2 = {10, 10.4, 1.3777777777777778}, t2 = {10, 11.4, 1.6000000000000001};
    sy_stats_welch_t(&c2, &t2, 0.05, &r);
    assert_abs(r.stat, 1.8325, 0.5e-4);
    assert_abs(r.df, 17.9, 0.05);
    assert_abs(r.p_value, 0.08356, 0.5e-5);
    assert_abs(r.diff_lo, -0.1469104, 0.5e-7);
    assert_abs(r.diff_hi, 2.1469104, 0.5e-7);
    assert_rel(r.stat, 1.8325416653445783, 1e-9);
    assert_rel(r.df, 17.90031014621179, 1e-9);
    assert_rel(r.p_value, 0.083559791619223292, 1e-8);
    assert_rel(r.rel_lo, -0.019153524800460842, 1e-8);
    assert_rel(r.rel_hi, 0.21146121710815335, 1e-8);

    /* one side with zero variance: df falls back to the other side's n − 1 */
    sy_mean_moments flat = {5, 3, 0}, spread = {8, 4, 2};
    sy_stats_welch_t(&flat, &spread, 0.05, &r);
    assert_rel(r.df, 7, 1e-12);
    /* variances so small that the df formula underflows to 0/0: equal n and variances
     * give exactly n_c + n_t − 2 */
    sy_mean_moments tiny_c = {10, 1, 1e-300}, tiny_t = {10, 1, 1e-300};
    sy_stats_welch_t(&tiny_c, &tiny_t, 0.05, &r);
    assert_rel(r.df, 18, 0);
    assert_rel(r.p_value, 1, 0);
    /* degenerate: n ≤ 1, zero variance on both sides, NaN */
    sy_mean_moments one = {1, 3, 0}, nanm = {10, NAN, 1};
    sy_stats_welch_t(&one, &spread, 0.05, &r);
    assert_nan(r.stat);
    assert_nan(r.diff);
    sy_stats_welch_t(&flat, &flat, 0.05, &r);
    assert_abs(r.diff, 0, 0);
    assert_nan(r.stat);
    assert_nan(r.p_value);
    assert_nan(r.diff_lo);
    sy_stats_welch_t(&nanm, &spread, 0.05, &r);
    assert_nan(r.p_value);
}

/* Per-unit (requests, thumbs-up) samples of reference.py RC and RT; the delta-method
 * variance there uses the statistics module's mean-corrected (co)variances, the Welch
 * test scipy's ttest_ind_from_stats. Labels "ratio control r var", "ratio treatment r
 * var", "ratio welch t df p". */
static void ratio_of(const double (*u)[2], size_t n, sy_ratio_moments *m)
{
    *m = (sy_ratio_moments){0};
    for (size_t i = 0; i < n; i++) {
        m->n += 1;
        m->sum_x += u[i][0];
        m->sum_y += u[i][1];
        m->sum_xx += u[i][0] * u[i][0];
        m->sum_yy += u[i][1] * u[i][1];
        m->sum_xy += u[i][0] * u[i][1];
    }
}

static void test_ratio_delta(void **state)
{
    (void)state;
    static const double rc[][2] = {{3, 1}, {1, 1}, {4, 2}, {2, 0}, {5, 3}, {1, 0}, {2, 2}, {6, 2}};
    static const double rt[][2] = {{2, 2}, {3, 2}, {1, 1}, {4, 3}, {2, 1}, {5, 4}, {3, 1}};
    sy_ratio_moments c, t;
    ratio_of(rc, 8, &c);
    ratio_of(rt, 7, &t);
    double r, v;
    sy_stats_ratio_delta(&c, &r, &v);
    assert_rel(r, 0.45833333333333331, 1e-14);
    assert_rel(v, 0.0074404761904761883, 1e-12);
    sy_stats_ratio_delta(&t, &r, &v);
    assert_rel(r, 0.69999999999999996, 1e-14);
    assert_rel(v, 0.0061833333333333341, 1e-12);

    sy_comparison cmp;
    sy_stats_ratio_welch(&c, &t, 0.05, &cmp);
    assert_rel(cmp.diff, 0.7 - 0.45833333333333331, 1e-12);
    assert_rel(cmp.stat, 2.0704629829498478, 1e-9);
    assert_rel(cmp.df, 12.996918461390715, 1e-9);
    assert_rel(cmp.p_value, 0.058885387633651032, 1e-8);
    assert_true(cmp.diff_lo < 0 && cmp.diff_hi > 0); /* p > 0.05 ⇔ the CI covers 0 */

    /* one request per unit and 0/1 outcomes: the ratio is a proportion and the delta
     * variance is p(1 − p)/(n − 1)·… exactly s²/n of the 0/1 outcomes */
    sy_ratio_moments p = {.n = 10, .sum_x = 10, .sum_y = 3, .sum_xx = 10, .sum_yy = 3, .sum_xy = 3};
    sy_stats_ratio_delta(&p, &r, &v);
    assert_rel(r, 0.3, 1e-15);
    assert_rel(v, (0.3 * 0.7 * 10 / 9) / 10, 1e-12);

    /* degenerate: one unit, zero denominator, NaN */
    sy_ratio_moments one = {.n = 1, .sum_x = 3, .sum_y = 1, .sum_xx = 9, .sum_yy = 1, .sum_xy = 3};
    sy_ratio_moments nox = {.n = 5};
    sy_stats_ratio_delta(&one, &r, &v);
    assert_nan(r);
    assert_nan(v);
    sy_stats_ratio_delta(&nox, &r, &v);
    assert_nan(r);
    sy_stats_ratio_welch(&one, &t, 0.05, &cmp);
    assert_nan(cmp.p_value);
}

/* The mixture likelihood ratio integrated numerically over θ ~ N(0, τ²) (mpmath, 40
 * digits) instead of the closed form; the confidence sequence by root-finding on that
 * integral. reference.py "msprt p …" and "msprt cs …". */
static void test_msprt(void **state)
{
    (void)state;
    assert_rel(sy_stats_msprt_p(0.02, 1e-4, 1e-3), 0.53835656303135759, 1e-10);
    assert_rel(sy_stats_msprt_p(0.005, 4e-5, 1e-4), 1, 0);
    assert_rel(sy_stats_msprt_p(0.001, 1e-4, 1e-3), 1, 0);
    assert_rel(sy_stats_msprt_p(-0.03, 5e-5, 2e-4), 0.0016694166185668884, 1e-10);

    double lo, hi;
    sy_stats_msprt_cs(0.02, 1e-4, 1e-3, 0.05, &lo, &hi);
    assert_rel(lo, -0.010378110214259524, 1e-9);
    assert_rel(hi, 0.050378110214259524, 1e-9);
    sy_stats_msprt_cs(-0.03, 5e-5, 2e-4, 0.1, &lo, &hi);
    assert_rel(lo, -0.049708196420560326, 1e-9);
    assert_rel(hi, -0.010291803579439669, 1e-9);

    /* duality: the CS excludes 0 exactly when the p-value is below alpha */
    for (double d = -0.05; d <= 0.05; d += 0.001) {
        sy_stats_msprt_cs(d, 1e-4, 1e-3, 0.05, &lo, &hi);
        int excl = lo > 0 || hi < 0;
        assert_int_equal(excl, sy_stats_msprt_p(d, 1e-4, 1e-3) < 0.05);
    }

    assert_nan(sy_stats_msprt_p(0.02, 1e-4, 0));
    assert_nan(sy_stats_msprt_p(0.02, 0, 1e-3));
    assert_nan(sy_stats_msprt_p(NAN, 1e-4, 1e-3));
    sy_stats_msprt_cs(0.02, 1e-4, -1, 0.05, &lo, &hi);
    assert_nan(lo);
    assert_nan(hi);
}

static void beta_check(double cs, double cn, double ts, double tn, double a0, double b0,
                       double want_beat, double want_loss, double tol)
{
    sy_prop_moments c = {cs, cn}, t = {ts, tn};
    double pb, el;
    sy_stats_beta_beat(&c, &t, a0, b0, &pb, &el);
    assert_abs(pb, want_beat, tol);
    assert_abs(el, want_loss, tol);
}

/* Exact rationals from Evan Miller's closed form ("beta exact …"), the same closed form
 * summed at 50 digits for large counts ("beta mp …"), and mpmath tanh-sinh quadrature
 * for the Jeffreys prior ("beta jeffreys …"); posteriors Beta(prior + s, prior + f). */
static void test_beta_beat(void **state)
{
    (void)state;
    beta_check(7, 10, 8, 10, 1, 1, 0.68244139761167621, 0.036994660564454614, 1e-9);
    beta_check(3, 20, 9, 20, 1, 1, 0.9784644991175282, 0.0011223479148387205, 1e-9);
    beta_check(40, 100, 52, 100, 1, 1, 0.95498862054233447, 0.0012893588687500558, 1e-9);
    beta_check(120, 400, 95, 400, 1, 1, 0.023225663962538671, 0.062461237203881019, 1e-9);
    beta_check(5000, 50000, 5150, 50000, 1, 1, 0.94186992343772846, 4.7556464274434676e-05, 1e-8);
    beta_check(2400, 50000, 2400, 50000, 1, 1, 0.5, 0.00053941802353997038, 1e-8);
    beta_check(25000, 50000, 25300, 50000, 1, 1, 0.9711114864864584, 3.5193606775560393e-05, 1e-8);
    /* both posterior parameters above 2e5: the library's own incomplete-Beta quadrature */
    beta_check(1000000, 2000000, 1001000, 2000000, 1, 1, 0.84134471582218062,
               4.1657713800372438e-05, 1e-7);
    beta_check(0, 30, 2, 30, 0.5, 0.5, 0.92796457062585269, 0.0018025742354261425, 1e-7);
    beta_check(7, 10, 8, 10, 0.5, 0.5, 0.69521435107862251, 0.035673496552154786, 1e-8);
    /* singular at both edges: P = 1/2 by symmetry; "beta prior 0.3 0/0 0/0" */
    beta_check(0, 0, 0, 0, 0.3, 0.3, 0.5, 0.22292728149189905, 1e-9);

    /* no data at all: two identical uniform posteriors, P = 1/2 and E[(C − T)⁺] = 1/6 */
    beta_check(0, 0, 0, 0, 1, 1, 0.5, 1.0 / 6, 1e-9);
    /* 5e7 trials per arm, identical: P = 1/2 by symmetry; the posteriors are Gaussian to
     * a skewness of 2e-4, so E[(C − T)⁺] = sd/√π (C − T ~ N(0, 2·sd²)) to ~1e-4 relative */
    {
        double a = 1 + 1e7, b = 1 + 4e7, sd = sqrt(a * b / ((a + b) * (a + b) * (a + b + 1)));
        sy_prop_moments c = {1e7, 5e7};
        double pb, el;
        sy_stats_beta_beat(&c, &c, 1, 1, &pb, &el);
        assert_abs(pb, 0.5, 1e-9);
        assert_rel(el, sd / sqrt(M_PI), 1e-3);
    }

    double pb, el;
    sy_prop_moments bad = {11, 10}, ok = {3, 10};
    sy_stats_beta_beat(&bad, &ok, 1, 1, &pb, &el);
    assert_nan(pb);
    assert_nan(el);
    sy_stats_beta_beat(&ok, &ok, 0, 1, &pb, &el);
    assert_nan(pb);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* 50,000 trials per arm must take well under 10 ms (best of five, against noise from
 * other processes on the machine). */
static void test_beta_beat_speed(void **state)
{
    (void)state;
    static const double cases[][4] = {{5000, 50000, 5150, 50000},
                                      {25000, 50000, 25300, 50000},
                                      {49000, 50000, 48900, 50000},
                                      {1000000, 2000000, 1001000, 2000000}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sy_prop_moments c = {cases[i][0], cases[i][1]}, t = {cases[i][2], cases[i][3]};
        double best = 1e9, pb, el;
        for (int r = 0; r < 5; r++) {
            double t0 = now_ms();
            sy_stats_beta_beat(&c, &t, 1, 1, &pb, &el);
            double dt = now_ms() - t0;
            best = dt < best ? dt : best;
        }
        print_message("beta_beat %g/%g vs %g/%g: %.3f ms\n", c.successes, c.trials, t.successes,
                      t.trials, best);
        assert_true(best < 5);
        assert_true(pb >= 0 && pb <= 1 && el >= 0);
    }
}

/* Mendel's dihybrid cross, the textbook goodness-of-fit example (315, 108, 101, 32
 * against 9:3:3:1): χ² = 0.470 on 3 df, p = 0.925. Full precision and the two other
 * cases: reference.py "srm …" (scipy.stats.chisquare). */
static void test_srm(void **state)
{
    (void)state;
    double chi2;
    double obs[] = {315, 108, 101, 32}, w[] = {9, 3, 3, 1};
    double p = sy_stats_srm(obs, w, 4, &chi2);
    assert_abs(chi2, 0.470, 0.5e-3);
    assert_abs(p, 0.925, 0.5e-3);
    assert_rel(chi2, 0.47002398081534769, 1e-12);
    assert_rel(p, 0.92542589510361595, 1e-9);

    double o2[] = {4500, 5500}, w2[] = {0.5, 0.5};
    p = sy_stats_srm(o2, w2, 2, &chi2);
    assert_rel(chi2, 100, 1e-12);
    assert_rel(p, 1.5239706048320995e-23, 1e-8);

    double o3[] = {2010, 1985, 1003}, w3[] = {40, 40, 20};
    p = sy_stats_srm(o3, w3, 3, &chi2);
    assert_rel(chi2, 0.17076830732292916, 1e-12);
    assert_rel(p, 0.91815950230990884, 1e-9);

    double zero[] = {0, 0}, wbad[] = {1, 0};
    assert_nan(sy_stats_srm(zero, w2, 2, &chi2));
    assert_nan(chi2);
    assert_nan(sy_stats_srm(o2, wbad, 2, &chi2));
    assert_nan(sy_stats_srm(o2, w2, 1, NULL));
}

/* statsmodels multipletests(method="holm"), reference.py "holm …". */
static void test_holm(void **state)
{
    (void)state;
    double p1[] = {0.01, 0.04, 0.03, 0.005}, a1[4];
    sy_stats_holm(p1, 4, a1);
    double w1[] = {0.03, 0.06, 0.06, 0.02};
    for (int i = 0; i < 4; i++)
        assert_rel(a1[i], w1[i], 1e-14);

    double p2[] = {0.02, 0.02, 0.5};
    sy_stats_holm(p2, 3, p2); /* in place */
    assert_rel(p2[0], 0.06, 1e-14);
    assert_rel(p2[1], 0.06, 1e-14);
    assert_rel(p2[2], 0.5, 1e-14);

    double p3[] = {0.3, 0.2, 0.9}, a3[3];
    sy_stats_holm(p3, 3, a3);
    assert_rel(a3[0], 0.6, 1e-14);
    assert_rel(a3[1], 0.6, 1e-14);
    assert_rel(a3[2], 0.9, 1e-14);

    /* capped at 1; a NAN p-value stays NAN and does not count */
    double p4[] = {0.6, NAN, 0.01}, a4[3];
    sy_stats_holm(p4, 3, a4);
    assert_rel(a4[0], 0.6, 1e-14);
    assert_nan(a4[1]);
    assert_rel(a4[2], 0.02, 1e-14);
    double p5[] = {0.7, 0.8}, a5[2];
    sy_stats_holm(p5, 2, a5);
    assert_rel(a5[0], 1, 0);
    assert_rel(a5[1], 1, 0);
}

/* GSL's error handler is left at its default (abort): the library must never trip it. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wilson),
        cmocka_unit_test(test_two_prop_z),
        cmocka_unit_test(test_welch_t),
        cmocka_unit_test(test_ratio_delta),
        cmocka_unit_test(test_msprt),
        cmocka_unit_test(test_beta_beat),
        cmocka_unit_test(test_beta_beat_speed),
        cmocka_unit_test(test_srm),
        cmocka_unit_test(test_holm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
