/*
 * Discounting and persistence of the learning state (policies/discount.c, arm_stats.c,
 * policy_state.c, stats_io.c): decay factors, the separate clocks of ratings and
 * outcomes, decay of the linear statistics, exact retraction of a decayed rating,
 * export/import round trips, and merging deltas as if one writer had seen everything.
 * (test_policy_math.c covers the Beta posterior under both half-life units.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "discount.h"
#include "policy.h"
#include "sy_common.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define D 3

static sy_policy_state *new_state(const sy_policy_params *pp)
{
    sy_policy_state *st = NULL;
    assert_int_equal(sy_policy_state_new(pp, &st), SY_OK);
    return st;
}

static void rate_x(sy_policy_state *st, size_t arm, const double *x, double r, double w, double t)
{
    size_t d = sy_policy_state_params(st)->dim;
    sy_quality_obs q = {.arm = arm, .x = x, .dim = d, .reward = r, .weight = w, .t = t};
    assert_int_equal(sy_policy_state_observe_quality(st, &q, NULL), SY_OK);
}

static void outcome(sy_policy_state *st, size_t arm, double lat, double t)
{
    sy_outcome_obs o = {
        .arm = arm, .latency_s = lat, .output_tokens = 100, .cost_usd = NAN, .t = t};
    assert_int_equal(sy_policy_state_observe_outcome(st, &o), SY_OK);
}

static sy_arm_summary summary(const sy_policy *p, size_t arm)
{
    sy_arm_summary s;
    assert_int_equal(sy_policy_arm_summary(p, arm, 1000, &s), SY_OK);
    return s;
}

/* LinUCB score of an arm at x (it reads both μ and Λ). */
static double linucb(const sy_policy *p, size_t arm, const double *x)
{
    sy_decide_in in = {.x = x, .dim = D};
    double u, v;
    assert_int_equal(sy_policy_score(p, arm, &in, &u, &v), SY_OK);
    return u;
}

static void test_factor(void **state)
{
    (void)state;
    sy_discount h10 = {.half_life = 10, .unit = SY_HALF_LIFE_SECONDS};
    sy_discount off = {.half_life = 0, .unit = SY_HALF_LIFE_SECONDS};
    assert_true(sy_discount_factor(&h10, 10) == 0.5);
    assert_true(sy_discount_factor(&h10, 30) == 0.125);
    assert_true(fabs(sy_discount_factor(&h10, 5) - M_SQRT1_2) < 1e-15);
    assert_true(sy_discount_factor(&h10, 0) == 1 && sy_discount_factor(&h10, -4) == 1);
    assert_true(sy_discount_factor(&off, 1e9) == 1);
}

/*
 * Half-life of 2 observations. Ratings and outcomes have separate clocks: arm 0's one
 * outcome is followed by two outcomes of arm 1 (worth 2^(−2/2) = 0.5 then), and the
 * three ratings in between do not age it.
 */
static void test_separate_clocks(void **state)
{
    (void)state;
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_THOMPSON, 2, 0);
    pp.discount = (sy_discount){.half_life = 2, .unit = SY_HALF_LIFE_OBSERVATIONS};
    sy_policy_state *st = new_state(&pp);
    outcome(st, 0, 1.0, 0);
    for (int i = 0; i < 3; i++)
        rate_x(st, 1, NULL, 1, 1, 0);
    outcome(st, 1, 1.0, 0);
    outcome(st, 1, 1.0, 0);
    sy_policy *p = sy_policy_state_snapshot(st, 12345); /* time ignored in this unit */
    assert_true(fabs(summary(p, 0).requests - 0.5) < 1e-12);
    assert_true(fabs(summary(p, 1).requests - (pow(2, -0.5) + 1)) < 1e-12);
    assert_true(fabs(summary(p, 1).ratings - (0.5 + pow(2, -0.5) + 1)) < 1e-12);
    assert_true(fabs(summary(p, 0).ratings) < 1e-12);
    sy_policy_free(p);
    sy_policy_state_free(st);
}

/* Decaying linear statistics by f is the same as having weighted the ratings by f:
 * ratings at t = 0 seen 10 s later with a 10 s half-life equal weight-0.5 ratings now. */
static void test_linear_decay(void **state)
{
    (void)state;
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_LINUCB, 2, D);
    pp.discount = (sy_discount){.half_life = 10, .unit = SY_HALF_LIFE_SECONDS};
    sy_policy_state *a = new_state(&pp), *b = new_state(&pp);
    const double xs[4][D] = {{1, 0.2, -1}, {1, 0.9, 0.3}, {1, -0.5, 0.5}, {1, 0.1, 0.8}};
    const double rs[4] = {1, 0, 0.5, 1};
    for (int i = 0; i < 4; i++) {
        rate_x(a, (size_t)i % 2, xs[i], rs[i], 1, 0);
        rate_x(b, (size_t)i % 2, xs[i], rs[i], 0.5, 10);
    }
    sy_policy *pa = sy_policy_state_snapshot(a, 10), *pb = sy_policy_state_snapshot(b, 10);
    const double x[D] = {1, 0.4, -0.2};
    for (size_t k = 0; k < 2; k++) {
        assert_true(fabs(linucb(pa, k, x) - linucb(pb, k, x)) < 1e-12);
        assert_true(fabs(summary(pa, k).ratings - 1) < 1e-12);
    }
    /* and never forgetting differs: the test can tell */
    sy_policy *p0 = sy_policy_state_snapshot(a, 0);
    assert_true(fabs(linucb(p0, 0, x) - linucb(pa, 0, x)) > 1e-3);
    sy_policy_free(p0);
    sy_policy_free(pa);
    sy_policy_free(pb);
    sy_policy_state_free(a);
    sy_policy_state_free(b);
}

/* Half-life of 2 ratings: a rating retracted two ratings later has decayed to half and
 * exactly that half is removed; the state equals one that never saw it. */
static void test_retract_decayed_in_observations(void **state)
{
    (void)state;
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_LINUCB, 2, D);
    pp.discount = (sy_discount){.half_life = 2, .unit = SY_HALF_LIFE_OBSERVATIONS};
    sy_policy_state *st = new_state(&pp), *ref = new_state(&pp);
    const double x0[D] = {1, 0.5, 0.5}, x1[D] = {1, -1, 0.25};
    sy_quality_obs q = {.arm = 0, .x = x0, .dim = D, .reward = 1, .weight = 1};
    double stamp;
    assert_int_equal(sy_policy_state_observe_quality(st, &q, &stamp), SY_OK);
    assert_true(stamp == 1);
    rate_x(st, 1, x1, 0, 1, 0);
    rate_x(st, 0, x1, 1, 1, 0);
    assert_int_equal(sy_policy_state_retract_quality(st, &q, stamp), SY_OK);
    /* the reference sees only the other two ratings, at the same relative ages */
    rate_x(ref, 1, x1, 0, 1, 0);
    rate_x(ref, 0, x1, 1, 1, 0);
    sy_policy *p = sy_policy_state_snapshot(st, 0), *pr = sy_policy_state_snapshot(ref, 0);
    const double x[D] = {1, 0.3, 0.1};
    for (size_t k = 0; k < 2; k++) {
        assert_true(fabs(linucb(p, k, x) - linucb(pr, k, x)) < 1e-12);
        assert_true(fabs(summary(p, k).ratings - summary(pr, k).ratings) < 1e-12);
    }
    assert_true(fabs(summary(p, 0).ratings - 1) < 1e-12);
    sy_policy_free(p);
    sy_policy_free(pr);
    sy_policy_state_free(st);
    sy_policy_state_free(ref);
}

/* Export layout, round trip, and rejection of anything that does not fit. */
static void test_export_import(void **state)
{
    (void)state;
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_LINUCB, 2, D);
    pp.discount = (sy_discount){.half_life = 100, .unit = SY_HALF_LIFE_SECONDS};
    sy_policy_state *a = new_state(&pp), *b = new_state(&pp);
    const double xs[3][D] = {{1, 0.2, -1}, {1, 0.9, 0.3}, {1, -0.5, 0.5}};
    for (int i = 0; i < 3; i++) {
        rate_x(a, 1, xs[i], i == 1 ? 0 : 1, 1, 10.0 * i);
        outcome(a, 1, 0.5 + i, 10.0 * i);
    }
    size_t len = sy_policy_state_export_len(a);
    assert_int_equal(len, 2 + 4 + D + D * (D + 1) / 2 + 12);
    double buf[64], bad[64];
    assert_int_equal(sy_policy_state_export_arm(a, 1, buf, len), SY_OK);
    assert_true(buf[0] == 1 && buf[1] == D && buf[2] == 20); /* version, d, quality stamp */
    /* Σw and Σw·r decayed to that stamp (half-life 100 s; ratings 1, 0, 1 at 0, 10, 20 s) */
    assert_true(fabs(buf[3] - (pow(2, -0.2) + pow(2, -0.1) + 1)) < 1e-12);
    assert_true(fabs(buf[4] - (pow(2, -0.2) + 1)) < 1e-12);
    assert_int_equal(sy_policy_state_export_arm(a, 2, buf, len), SY_ERR_INVALID);
    assert_int_equal(sy_policy_state_export_arm(a, 1, buf, len - 1), SY_ERR_INVALID);

    memcpy(bad, buf, len * sizeof(double));
    bad[0] = 2; /* version */
    assert_int_equal(sy_policy_state_import_arm(b, 0, bad, len), SY_ERR_INVALID);
    bad[0] = 1;
    bad[1] = D + 1; /* dimension */
    assert_int_equal(sy_policy_state_import_arm(b, 0, bad, len), SY_ERR_INVALID);
    bad[1] = D;
    bad[7] = NAN;
    assert_int_equal(sy_policy_state_import_arm(b, 0, bad, len), SY_ERR_INVALID);
    assert_int_equal(sy_policy_state_import_arm(b, 0, buf, len + 1), SY_ERR_INVALID);
    assert_int_equal(sy_policy_state_import_arm(b, 2, buf, len), SY_ERR_INVALID);
    sy_policy *pb = sy_policy_state_snapshot(b, 20);
    assert_true(summary(pb, 0).ratings == 0 && summary(pb, 0).requests == 0); /* unchanged */
    sy_policy_free(pb);

    assert_int_equal(sy_policy_state_import_arm(b, 0, buf, len), SY_OK);
    sy_policy *pa = sy_policy_state_snapshot(a, 50);
    pb = sy_policy_state_snapshot(b, 50);
    const double x[D] = {1, 0.1, 0.1};
    assert_true(linucb(pa, 1, x) == linucb(pb, 0, x));
    sy_arm_summary sa = summary(pa, 1), sb = summary(pb, 0);
    assert_true(sa.ratings == sb.ratings && sa.requests == sb.requests);
    assert_true(sa.latency_mean_s == sb.latency_mean_s && sa.cost_mean_usd == sb.cost_mean_usd);
    assert_true(fabs(sa.ratings - (pow(2, -0.5) + pow(2, -0.4) + pow(2, -0.3))) < 1e-12);
    sy_policy_free(pa);
    sy_policy_free(pb);
    sy_policy_state_free(a);
    sy_policy_state_free(b);
}

/*
 * Two writers each see part of the traffic (seconds, half-life 20 s); merging one's
 * export into the other gives the state of a single writer that saw all of it, in
 * either direction (older into newer, newer into older).
 */
static void test_merge_is_union(void **state)
{
    (void)state;
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_LINUCB, 2, D);
    pp.discount = (sy_discount){.half_life = 20, .unit = SY_HALF_LIFE_SECONDS};
    sy_policy_state *a = new_state(&pp), *b = new_state(&pp), *all = new_state(&pp);
    for (int i = 0; i < 10; i++) {
        const double x[D] = {1, sin(i), cos(2.0 * i)};
        double r = (i * 7 % 10) / 10.0, t = 3.0 * i, lat = 0.2 + 0.1 * i;
        size_t arm = (size_t)(i % 2);
        sy_policy_state *part = i < 6 ? a : b;
        rate_x(part, arm, x, r, 1, t);
        outcome(part, arm, lat, t);
        rate_x(all, arm, x, r, 1, t);
        outcome(all, arm, lat, t);
    }
    size_t len = sy_policy_state_export_len(b);
    double from_a[2][64], from_b[2][64];
    for (size_t k = 0; k < 2; k++) {
        assert_int_equal(sy_policy_state_export_arm(a, k, from_a[k], len), SY_OK);
        assert_int_equal(sy_policy_state_export_arm(b, k, from_b[k], len), SY_OK);
    }
    for (size_t k = 0; k < 2; k++) {
        assert_int_equal(sy_policy_state_merge_arm(a, k, from_b[k], len), SY_OK);
        assert_int_equal(sy_policy_state_merge_arm(b, k, from_a[k], len), SY_OK);
    }
    from_a[0][0] = 9;
    assert_int_equal(sy_policy_state_merge_arm(a, 0, from_a[0], len), SY_ERR_INVALID);
    sy_policy *pall = sy_policy_state_snapshot(all, 40);
    sy_policy *pm[2] = {sy_policy_state_snapshot(a, 40), sy_policy_state_snapshot(b, 40)};
    const double x[D] = {1, 0.3, -0.6};
    for (int m = 0; m < 2; m++) {
        for (size_t k = 0; k < 2; k++) {
            assert_true(fabs(linucb(pm[m], k, x) - linucb(pall, k, x)) < 1e-12);
            sy_arm_summary sm = summary(pm[m], k), sa = summary(pall, k);
            assert_true(fabs(sm.ratings - sa.ratings) < 1e-12);
            assert_true(fabs(sm.requests - sa.requests) < 1e-12);
            assert_true(fabs(sm.latency_mean_s - sa.latency_mean_s) < 1e-12);
        }
        sy_policy_free(pm[m]);
    }
    sy_policy_free(pall);
    sy_policy_state_free(a);
    sy_policy_state_free(b);
    sy_policy_state_free(all);
}

/* In observation mode an import moves the clocks past the imported stamps, so new
 * evidence is newer than what was restored. */
static void test_import_advances_clock(void **state)
{
    (void)state;
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_THOMPSON, 1, 0);
    pp.discount = (sy_discount){.half_life = 1, .unit = SY_HALF_LIFE_OBSERVATIONS};
    sy_policy_state *a = new_state(&pp), *b = new_state(&pp);
    for (int i = 0; i < 5; i++)
        rate_x(a, 0, NULL, 1, 1, 0);
    double buf[32];
    size_t len = sy_policy_state_export_len(a);
    sy_policy_state_export_arm(a, 0, buf, len);
    assert_int_equal(sy_policy_state_import_arm(b, 0, buf, len), SY_OK);
    sy_quality_obs q = {.arm = 0, .reward = 0, .weight = 1};
    double stamp;
    assert_int_equal(sy_policy_state_observe_quality(b, &q, &stamp), SY_OK);
    assert_true(stamp == 6);
    /* five ratings of 1 (1 + 1/2 + … + 1/16, then halved) and the new 0 */
    sy_policy *p = sy_policy_state_snapshot(b, 0);
    double w1 = (1 + 0.5 + 0.25 + 0.125 + 0.0625) * 0.5;
    assert_true(fabs(summary(p, 0).ratings - (w1 + 1)) < 1e-12);
    assert_true(fabs(summary(p, 0).quality_mean - (1 + w1) / (2 + w1 + 1)) < 1e-12);
    sy_policy_free(p);
    sy_policy_state_free(a);
    sy_policy_state_free(b);
}

int main(void)
{
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_factor),
        cmocka_unit_test(test_separate_clocks),
        cmocka_unit_test(test_linear_decay),
        cmocka_unit_test(test_retract_decayed_in_observations),
        cmocka_unit_test(test_export_import),
        cmocka_unit_test(test_merge_is_union),
        cmocka_unit_test(test_import_advances_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
