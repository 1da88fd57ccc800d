/*
 * Route blocks for the simulator (engine/config/config.c sy_route_block_parse): the block means
 * what it means in switchyard.json — policy, params, objective, half_life, priors — its
 * candidates default to every dataset arm, and mistakes are reported by JSON path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "config.h"
#include "sy_common.h"

#include <math.h>
#include <string.h>

static const char *const arms[] = {"big", "mid", "small"};

static sy_route_cfg *parse(const char *json, sy_config_errors *errs)
{
    return sy_route_block_parse(json, strlen(json), arms, 3, errs);
}

static void test_full_block(void **state)
{
    (void)state;
    sy_config_errors errs = {0};
    sy_route_cfg *r =
        parse("{\"policy\": \"linear_thompson\", \"params\": {\"ts_scale\": 0.3, \"dim\": 16},"
              " \"objective\": {\"quality\": 1, \"cost_per_usd\": 25, \"latency_slo_ms\": 2000},"
              " \"half_life\": {\"requests\": 500},"
              " \"priors\": {\"mid\": {\"quality\": 0.8, \"quality_strength\": 5}}}",
              &errs);
    assert_int_equal(errs.n, 0);
    assert_non_null(r);
    assert_int_equal(r->params.kind, SY_POLICY_LINEAR_THOMPSON);
    assert_int_equal(r->params.dim, 16);
    assert_true(fabs(r->params.ts_scale - 0.3) < 1e-12);
    assert_true(fabs(r->params.objective.w_cost - 25) < 1e-12);
    assert_true(fabs(r->params.objective.latency_slo_s - 2) < 1e-12);
    assert_true(fabs(r->params.discount.half_life - 500) < 1e-12);
    assert_int_equal(r->n_candidates, 3); /* default: every arm */
    assert_true(fabs(r->arms[1].prior_quality - 0.8) < 1e-12);
    sy_route_cfg_free(r);
    sy_config_errors_free(&errs);
}

static void test_candidates_subset(void **state)
{
    (void)state;
    sy_config_errors errs = {0};
    sy_route_cfg *r =
        parse("{\"candidates\": [\"small\", \"big\"], \"policy\": \"thompson\"}", &errs);
    assert_non_null(r);
    assert_int_equal(r->n_candidates, 2);
    assert_int_equal(r->candidates[0], 2);
    assert_int_equal(r->candidates[1], 0);
    sy_route_cfg_free(r);
    sy_config_errors_free(&errs);
}

static void test_errors(void **state)
{
    (void)state;
    sy_config_errors errs = {0};
    assert_null(parse("{\"policy\": \"thompsn\", \"objective\": {\"cost\": 1}}", &errs));
    assert_true(errs.n >= 2);
    int unknown = 0, key = 0;
    for (size_t i = 0; i < errs.n; i++) {
        unknown |= strstr(errs.items[i], "$.route.policy: unknown policy \"thompsn\"") != NULL;
        key |= strstr(errs.items[i], "$.route.objective") != NULL;
    }
    assert_true(unknown);
    assert_true(key);
    sy_config_errors_free(&errs);
    assert_null(parse("{\"candidates\": [\"huge\"]}", &errs));
    assert_int_equal(errs.n, 1);
    assert_non_null(strstr(errs.items[0], "unknown model \"huge\""));
    sy_config_errors_free(&errs);
    assert_null(parse("{oops", &errs));
    assert_non_null(strstr(errs.items[0], "not valid JSON"));
    sy_config_errors_free(&errs);
    assert_null(parse("[1, 2]", &errs));
    assert_non_null(strstr(errs.items[0], "must be a JSON object"));
    sy_config_errors_free(&errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_block),
        cmocka_unit_test(test_candidates_subset),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
