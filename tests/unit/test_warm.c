/*
 * policies/warm.c: the warm-start feed shared by the simulator and the gateway's learner
 * (route option "warm_start"): every known outcome becomes one rating of the data's
 * weight, with or without the row's context, at the clock value given (so a time
 * half-life ages it from there); masked arms and refused observations are skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "featurize.h"
#include "policy.h"
#include "policy_state.h"
#include "sy_common.h"
#include "warm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DIM 24

/* Three rows × two arms: arm 0 good on code, arm 1 on the rest; arm 1 has no outcome on
 * row 2. Contexts featurised with DIM. */
static void three_rows(sy_warm_data *w, double weight)
{
    static const char *const text[] = {"```python\ndef f(x): return x\n```", "Write a haiku.",
                                       "```c\nint main(void) { return 0; }\n```"};
    static const double q[] = {1, 0, 0, 1, 1, NAN};
    memset(w, 0, sizeof(*w));
    w->n = 3;
    w->dim = DIM;
    w->n_arms = 2;
    w->weight = weight;
    w->x = sy_xmalloc(3 * DIM * sizeof(double));
    w->quality = sy_xmalloc(6 * sizeof(double));
    w->cost = sy_xmalloc(6 * sizeof(double));
    for (size_t i = 0; i < 3; i++) {
        sy_feature_input fi = {.user_text = text[i], .user_len = strlen(text[i])};
        fi.prompt_bytes = fi.user_len;
        assert_int_equal(sy_featurize(&fi, w->x + i * DIM, DIM), SY_OK);
    }
    memcpy(w->quality, q, sizeof(q));
    for (size_t c = 0; c < 6; c++)
        w->cost[c] = 0.001 * (double)(c % 2 + 1);
    w->matched = 2;
}

static sy_policy_state *state(sy_policy_kind kind, size_t dim, double half_life_s)
{
    static sy_arm_params ap[2];
    for (size_t k = 0; k < 2; k++)
        sy_arm_params_init(&ap[k]);
    sy_policy_params pp;
    sy_policy_params_init(&pp, kind, 2, dim);
    pp.arms = ap;
    if (half_life_s > 0) {
        pp.discount.half_life = half_life_s;
        pp.discount.unit = SY_HALF_LIFE_SECONDS;
    }
    sy_policy_state *st;
    assert_int_equal(sy_policy_state_new(&pp, &st), SY_OK);
    return st;
}

static double ratings(const sy_policy_state *st, size_t arm, double now)
{
    sy_policy *snap = sy_policy_state_snapshot(st, now);
    sy_arm_summary s;
    assert_int_equal(sy_policy_arm_summary(snap, arm, 0, &s), SY_OK);
    sy_policy_free(snap);
    return s.ratings;
}

static void test_feed_every_known_outcome(void **unused)
{
    (void)unused;
    sy_warm_data w;
    three_rows(&w, 0.5);
    sy_policy_state *st = state(SY_POLICY_LINEAR_THOMPSON, DIM, 0);
    assert_int_equal(sy_warm_feed(&w, st, 1, NULL, 0), 5); /* six cells, one missing */
    assert_true(fabs(ratings(st, 0, 0) - 1.5) < 1e-9);
    assert_true(fabs(ratings(st, 1, 0) - 1.0) < 1e-9);
    sy_policy_state_free(st);
    /* non-contextual: the same ratings without contexts; a Beta mean per arm */
    st = state(SY_POLICY_THOMPSON, 0, 0);
    assert_int_equal(sy_warm_feed(&w, st, 0, NULL, 0), 5);
    sy_policy *snap = sy_policy_state_snapshot(st, 0);
    sy_arm_summary a, b;
    assert_int_equal(sy_policy_arm_summary(snap, 0, 0, &a), SY_OK);
    assert_int_equal(sy_policy_arm_summary(snap, 1, 0, &b), SY_OK);
    assert_true(a.quality_mean > b.quality_mean); /* 2 of 3 good against 1 of 2 */
    assert_true(a.requests == 0);                 /* no latency in warm data: none observed */
    sy_policy_free(snap);
    sy_policy_state_free(st);
    sy_warm_data_free(&w);
    assert_null(w.x);
}

static void test_mask_and_refusals(void **unused)
{
    (void)unused;
    sy_warm_data w;
    three_rows(&w, 1);
    sy_policy_state *st = state(SY_POLICY_LINEAR_THOMPSON, DIM, 0);
    const unsigned char only_1[] = {0, 1};
    assert_int_equal(sy_warm_feed(&w, st, 1, only_1, 0), 2);
    assert_true(ratings(st, 0, 0) == 0);
    assert_true(fabs(ratings(st, 1, 0) - 2) < 1e-9);
    sy_policy_state_free(st);
    /* a contextual state without the context: every rating refused, nothing breaks */
    st = state(SY_POLICY_LINEAR_THOMPSON, DIM, 0);
    assert_int_equal(sy_warm_feed(&w, st, 0, NULL, 0), 0);
    sy_policy_state_free(st);
    sy_warm_data_free(&w);
}

/* Fed at clock t, the warm ratings age from t under a time half-life: one half-life
 * later they count half. */
static void test_clock(void **unused)
{
    (void)unused;
    sy_warm_data w;
    three_rows(&w, 1);
    sy_policy_state *st = state(SY_POLICY_LINEAR_THOMPSON, DIM, 10);
    assert_int_equal(sy_warm_feed(&w, st, 1, NULL, 1000), 5);
    assert_true(fabs(ratings(st, 0, 1000) - 3) < 1e-9);
    assert_true(fabs(ratings(st, 0, 1010) - 1.5) < 1e-9);
    sy_policy_state_free(st);
    sy_warm_data_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feed_every_known_outcome),
        cmocka_unit_test(test_mask_and_refusals),
        cmocka_unit_test(test_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
