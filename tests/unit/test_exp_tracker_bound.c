/*
 * The experiment tracker's per-unit table is bounded (issue 15, item 11): it used to
 * grow with every new user or conversation for the life of the process. At the bound,
 * the events of new units are left out of the experiment and counted as untracked;
 * units already tracked keep counting (exp_tracker.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "exp_tracker.h"

static void decide(sy_exp_tracker *t, const char *variant, uint64_t unit, int rate)
{
    sy_store_request r = {.status = 200, .latency_ms = 10, .cost_usd = 0.01, .propensity = NAN};
    snprintf(r.experiments, sizeof(r.experiments), "e:%s:1:%016llx", variant,
             (unsigned long long)unit);
    sy_store_obs o = {.req = &r};
    sy_exp_tracker_observe(t, &o);
    if (rate) {
        sy_store_obs f = {.is_feedback = 1, .req = &r, .value = 1, .weight = 1};
        sy_exp_tracker_observe(t, &f);
    }
}

static void new_units_beyond_the_bound_are_counted_apart(void **state)
{
    (void)state;
    sy_exp_tracker *t = sy_exp_tracker_new();
    sy_exp_tracker_configure(t, "e", SY_EXP_UNIT_USER, "a", 0);
    sy_exp_tracker_set_max_units(t, 10);
    for (uint64_t u = 1; u <= 30; u++)
        decide(t, u % 2 ? "a" : "b", u, 1);
    decide(t, "a", 1, 1); /* a tracked unit keeps counting */
    sy_exp_tracker_observe(t, NULL);
    sy_exp_agg a;
    assert_int_equal(sy_exp_tracker_get(t, "e", &a), 0);
    double units = 0, requests = 0, rated = 0;
    for (size_t i = 0; i < a.n; i++) {
        units += a.v[i].units;
        requests += a.v[i].requests;
        rated += a.v[i].rated;
    }
    assert_true(units == 10 && requests == 11 && rated == 11);
    assert_true(a.untracked == 40); /* 20 decisions and their 20 ratings */
    sy_exp_tracker_free(t);
}

static void the_default_bound_holds(void **state)
{
    (void)state;
    sy_exp_tracker *t = sy_exp_tracker_new();
    sy_exp_tracker_configure(t, "e", SY_EXP_UNIT_USER, "a", 0);
    for (uint64_t u = 1; u <= SY_EXP_MAX_UNITS + 5000; u++)
        decide(t, "a", u * 2654435761u, 0);
    sy_exp_agg a;
    assert_int_equal(sy_exp_tracker_get(t, "e", &a), 0);
    assert_true(a.v[0].units == SY_EXP_MAX_UNITS);
    assert_true(a.untracked == 5000);
    sy_exp_tracker_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_units_beyond_the_bound_are_counted_apart),
        cmocka_unit_test(the_default_bound_holds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
