/*
 * The full-information runner (sim/sim_run.c): oracle and fixed-arm choices with
 * missing outcomes and hard constraints, per-seed means and regret on a four-prompt
 * source computed by hand, best-fixed-in-hindsight selection, a learning agent that
 * finds the better arm; and synthetic scenarios (sim/sim_scenario.c): parsing errors and
 * the price change, outage and quality drop events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "sim_report.h"
#include "sim_run.h"
#include "sim_scenario.h"
#include "sy_common.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void near(double a, double b, double tol)
{
    if (!(fabs(a - b) <= tol))
        fail_msg("%.12g != %.12g", a, b);
}

/* four prompts, two arms; arm 0 cannot serve prompt 3 */
static const double Q[4][2] = {{1, 0}, {0, 1}, {1, 1}, {1, 0}};
static const double C[4][2] = {{0.01, 0}, {0.01, 0}, {0.01, 0}, {0.01, 0}};
static const double L[4][2] = {{NAN, NAN}, {NAN, NAN}, {NAN, NAN}, {NAN, NAN}};
static const uint8_t E[4][2] = {{1, 1}, {1, 1}, {1, 1}, {0, 1}};
static const double X[2] = {1, 0};

static void tiny_begin(void *ctx, unsigned long seed)
{
    (void)ctx;
    (void)seed;
}

static void tiny_row(void *ctx, size_t t, sy_sim_row *row)
{
    (void)ctx;
    *row = (sy_sim_row){.x = X,
                        .input_tokens = 10,
                        .quality = Q[t % 4],
                        .cost = C[t % 4],
                        .latency = L[t % 4],
                        .tokens = L[t % 4],
                        .eligible = E[t % 4],
                        .task = -1};
}

static void test_oracle_and_fixed(void **state)
{
    (void)state;
    sy_objective obj = {.w_quality = 1, .w_cost = 10};
    sy_sim_row row;
    tiny_row(NULL, 0, &row);
    assert_int_equal(sy_sim_oracle_arm(&obj, &row, 2), 0); /* 0.9 vs 0 */
    tiny_row(NULL, 2, &row);
    assert_int_equal(sy_sim_oracle_arm(&obj, &row, 2), 1); /* 0.9 vs 1 */
    tiny_row(NULL, 3, &row);
    assert_int_equal(sy_sim_oracle_arm(&obj, &row, 2), 1); /* arm 0 missing */
    assert_int_equal(sy_sim_fixed_arm(0, &row, 2), 1);     /* falls back like `fixed` */
    assert_int_equal(sy_sim_fixed_arm(1, &row, 2), 1);
    /* a hard cost limit comes before utility */
    obj.max_cost_usd = 0.005;
    tiny_row(NULL, 0, &row);
    assert_int_equal(sy_sim_oracle_arm(&obj, &row, 2), 1);
    near(sy_sim_utility(&obj, 1, 0.01, NAN, 0, 0), 0.9, 1e-12);
    obj.w_latency = 0.5;
    near(sy_sim_utility(&obj, 1, 0.01, 2, 0, 0), -0.1, 1e-12);
}

static void test_run_by_hand(void **state)
{
    (void)state;
    sy_sim_source src = {.n_arms = 2, .dim = 2, .steps = 4, .begin = tiny_begin, .row = tiny_row};
    sy_sim_agent ag[3];
    memset(ag, 0, sizeof(ag));
    strcpy(ag[0].name, "oracle");
    ag[0].kind = SY_SIM_ORACLE;
    strcpy(ag[1].name, "a0");
    ag[1].kind = SY_SIM_FIXED;
    ag[1].arm = 0;
    strcpy(ag[2].name, "a1");
    ag[2].kind = SY_SIM_FIXED;
    ag[2].arm = 1;
    sy_sim_opts o = {
        .obj = {.w_quality = 1, .w_cost = 10}, .seeds = 2, .refresh = 1, .curve_points = 4};
    sy_sim_result res;
    char err[128];
    assert_int_equal(sy_sim_run(&src, ag, 3, &o, &res, err, sizeof(err)), SY_OK);
    /* oracle 0.9 + 1 + 1 + 0; arm 0: 0.9 − 0.1 + 0.9 + (arm 1) 0; arm 1: 0 + 1 + 1 + 0 */
    near(res.agents[0].utility[1], 2.9 / 4, 1e-12);
    near(res.agents[1].utility[0], 1.7 / 4, 1e-12);
    near(res.agents[2].utility[0], 2.0 / 4, 1e-12);
    near(res.agents[1].quality[0], 2.0 / 4, 1e-12); /* 1, 0, 1, then arm 1: 0 */
    near(res.agents[1].cost[0], 0.03 / 4, 1e-12);
    near(res.agents[2].regret_oracle[0], 0.9 / 4, 1e-12);
    near(res.agents[0].regret_oracle[0], 0, 1e-12);
    /* cumulative regret of arm 1 after each prompt: 0.9, 0.9, 0.9, 0.9 */
    near(res.agents[2].cum_regret[0], 0.9, 1e-12);
    near(res.agents[2].cum_regret[3], 0.9, 1e-12);
    assert_int_equal(sy_sim_best_fixed(&res, ag), 2);
    double m, h;
    sy_sim_mean_ci(res.agents[2].utility, 2, &m, &h);
    near(h, 0, 1e-15); /* deterministic: no spread across seeds */
    /* buckets of a 10-step run in 4 points end after steps 3, 5, 8, 10 */
    assert_int_equal(sy_sim_bucket_end(0, 10, 4), 3);
    assert_int_equal(sy_sim_bucket_end(1, 10, 4), 5);
    assert_int_equal(sy_sim_bucket_end(2, 10, 4), 8);
    assert_int_equal(sy_sim_bucket_end(3, 10, 4), 10);
    assert_int_equal(sy_sim_bucket_end(0, 4, 4), 1);
    sy_sim_result_free(&res);
}

/* A learner on a stream where arm 1 is always right and arm 0 always wrong. */
static const double Q2[2] = {0, 1}, C2[2] = {0, 0}, N2[2] = {NAN, NAN};
static void easy_row(void *ctx, size_t t, sy_sim_row *row)
{
    (void)ctx;
    (void)t;
    *row = (sy_sim_row){.x = X, .quality = Q2, .cost = C2, .latency = N2, .tokens = N2, .task = -1};
}

static void test_learner_finds_the_better_arm(void **state)
{
    (void)state;
    sy_sim_source src = {.n_arms = 2, .steps = 400, .begin = tiny_begin, .row = easy_row};
    sy_sim_agent ag;
    memset(&ag, 0, sizeof(ag));
    strcpy(ag.name, "thompson");
    ag.kind = SY_SIM_LEARNER;
    sy_policy_params_init(&ag.params, SY_POLICY_THOMPSON, 2, 0);
    for (int k = 0; k < 2; k++)
        sy_arm_params_init(&ag.arms[k]);
    sy_sim_opts o = {
        .obj = {.w_quality = 1}, .seeds = 3, .seed0 = 1, .refresh = 4, .curve_points = 10};
    sy_sim_result res;
    char err[128];
    assert_int_equal(sy_sim_run(&src, &ag, 1, &o, &res, err, sizeof(err)), SY_OK);
    for (int s = 0; s < 3; s++)
        assert_true(res.agents[0].quality[s] > 0.9);
    /* regret grows fast at first, then flattens */
    assert_true(res.agents[0].cum_regret[9] - res.agents[0].cum_regret[5] <
                res.agents[0].cum_regret[1]);
    sy_sim_result_free(&res);
    /* rejected parameters are an error, not a crash */
    ag.params.epsilon = 2;
    ag.params.kind = SY_POLICY_EPSILON_GREEDY;
    assert_int_equal(sy_sim_run(&src, &ag, 1, &o, &res, err, sizeof(err)), SY_ERR_INVALID);
}

static const char k_scenario[] =
    "{\"steps\": 1000,"
    " \"contexts\": [{\"name\": \"a\", \"text\": \"hello\"}, {\"name\": \"b\", \"text\": \"x\", "
    "\"weight\": 3}],"
    " \"arms\": [{\"name\": \"p\", \"quality\": {\"a\": 0.9, \"b\": 0.5}, \"price_in\": 0, "
    "\"price_out\": 10, \"output_tokens\": 1000, \"latency_ms\": 1000, \"latency_sigma\": 0},"
    "          {\"name\": \"q\", \"default_quality\": 0.6}],"
    " \"events\": [{\"t\": 600, \"arm\": \"q\", \"quality_delta\": -0.5},"
    "            {\"t\": 200, \"arm\": \"p\", \"price_out\": 100},"
    "            {\"t\": 400, \"arm\": \"q\", \"outage_steps\": 50}]}";

static void test_scenario_events(void **state)
{
    (void)state;
    char err[256];
    sy_sim_scenario *sc = sy_sim_scenario_parse(k_scenario, strlen(k_scenario), err, sizeof(err));
    if (!sc)
        fail_msg("%s", err);
    assert_int_equal(sy_sim_scenario_n_arms(sc), 2);
    assert_int_equal(sy_sim_scenario_first_event(sc), 200); /* events are sorted */
    sy_objective obj = {.w_quality = 1, .w_cost = 10};
    sy_sim_source src;
    assert_int_equal(sy_sim_scenario_source(sc, 24, &obj, &src), SY_OK);
    /* p: quality (0.9·1 + 0.5·3)/4 = 0.6, cost 10 $/M × 1000 tokens = $0.01 */
    near(sy_sim_scenario_mean_eu(sc, 0, 0), 0.6 - 0.1, 1e-12);
    near(sy_sim_scenario_mean_eu(sc, 199, 0), 0.5, 1e-12);
    near(sy_sim_scenario_mean_eu(sc, 200, 0), 0.6 - 1.0, 1e-12); /* price ×10 */
    near(sy_sim_scenario_mean_eu(sc, 599, 1), 0.6, 1e-12);
    near(sy_sim_scenario_mean_eu(sc, 600, 1), 0.1, 1e-12); /* quality −0.5 */
    assert_false(sy_sim_scenario_in_outage(sc, 399, 1));
    assert_true(sy_sim_scenario_in_outage(sc, 400, 1));
    assert_true(sy_sim_scenario_in_outage(sc, 449, 1));
    assert_false(sy_sim_scenario_in_outage(sc, 450, 1));
    /* as a source: the outage makes the arm ineligible, rows carry expected utilities */
    src.begin(src.ctx, 1);
    sy_sim_row row;
    for (size_t t = 0; t <= 420; t++)
        src.row(src.ctx, t, &row);
    assert_int_equal(row.eligible[1], 0);
    assert_int_equal(row.eligible[0], 1);
    assert_true(row.quality[0] == 0 || row.quality[0] == 1);
    near(row.latency[0], 1.0, 1e-12); /* sigma 0 */
    sy_sim_scenario_free(sc);
}

static void expect_bad(const char *json, const char *needle)
{
    char err[256] = "";
    sy_sim_scenario *sc = sy_sim_scenario_parse(json, strlen(json), err, sizeof(err));
    assert_null(sc);
    if (!strstr(err, needle))
        fail_msg("error \"%s\" lacks \"%s\"", err, needle);
}

static void test_scenario_errors(void **state)
{
    (void)state;
    expect_bad("[1]", "not a JSON object");
    expect_bad("{nope", "not valid JSON");
    expect_bad("{\"contexts\": []}", "missing \"steps\"");
    expect_bad(
        "{\"steps\": 10, \"contexts\": [{\"name\": \"a\", \"text\": \"t\"}], \"arms\": "
        "[{\"name\": \"x\"}], \"events\": [{\"t\": 1, \"arm\": \"y\", \"outage_steps\": 2}]}",
        "$.events[0].arm");
    expect_bad("{\"steps\": 10, \"contexts\": [{\"name\": \"a\", \"text\": \"t\"}], \"arms\": "
               "[{\"name\": \"x\"}], \"events\": [{\"t\": 1, \"arm\": \"x\", \"outage_steps\": 2, "
               "\"price_in\": 3}]}",
               "exactly one change");
    expect_bad("{\"steps\": 10, \"contexts\": [{\"name\": \"a\", \"text\": \"t\"}], \"arms\": "
               "[{\"name\": \"x\", \"quality\": {\"zz\": 0.5}}]}",
               "$.arms[0].quality.zz: not a context name");
    expect_bad("{\"steps\": 10, \"contexts\": [{\"name\": \"a\", \"text\": \"t\"}], \"arms\": "
               "[{\"name\": \"x\"}, {\"name\": \"x\"}]}",
               "$.arms[1].name");
    expect_bad("{\"steps\": 10, \"contexts\": [{\"name\": \"a\", \"text\": \"t\"}], \"arms\": "
               "[{\"name\": \"x\", \"latency_ms\": -1}]}",
               "$.arms[0].latency_ms");
}

int main(void)
{
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oracle_and_fixed),
        cmocka_unit_test(test_run_by_hand),
        cmocka_unit_test(test_learner_finds_the_better_arm),
        cmocka_unit_test(test_scenario_events),
        cmocka_unit_test(test_scenario_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
