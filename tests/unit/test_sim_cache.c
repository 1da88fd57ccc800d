/* sim/sim_cache: the cache scenario's parser, and the three ways of running a route on a
 * stream with repeats and near-misses — invariants of each agent and reproducibility. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sim_cache.h"
#include "sim_data.h"
#include "sy_common.h"

#include <gsl/gsl_errno.h>

static int parse(const char *js, sy_sim_cache_scenario *sc, char *err)
{
    int rc = sy_sim_cache_scenario_parse(js, strlen(js), sc, err, 256);
    if (rc != SY_OK)
        sy_sim_cache_scenario_free(sc);
    return rc;
}

static void test_scenario_parse(void **state)
{
    (void)state;
    sy_sim_cache_scenario sc;
    char err[256];
    assert_int_equal(parse("{}", &sc, err), SY_OK);
    assert_true(sc.repeat > 0 && sc.n_thresholds == 5 && sc.threshold == 0.875 && sc.floor == 0.7);
    assert_true(sc.feedback == 1 && sc.repeat_finds_nearest == 1);
    sy_sim_cache_scenario_free(&sc);
    assert_int_equal(parse("{\"feedback\": 0.25, \"repeat_finds_nearest\": false}", &sc, err),
                     SY_OK);
    assert_true(sc.feedback == 0.25 && sc.repeat_finds_nearest == 0);
    sy_sim_cache_scenario_free(&sc);
    assert_int_equal(parse("{\"repeat\": 0.5, \"near_miss_by_task\": {\"mbpp\": 0.6}, "
                           "\"thresholds\": [0.9], \"paraphrase_similarity\": {\"lo\": 0.8}}",
                           &sc, err),
                     SY_OK);
    assert_true(sc.repeat == 0.5 && sc.n_near_tasks == 1 && sc.near_task_share[0] == 0.6 &&
                strcmp(sc.near_tasks[0], "mbpp") == 0 && sc.n_thresholds == 1 &&
                sc.paraphrase.lo == 0.8 && sc.paraphrase.hi == 1.0);
    sy_sim_cache_scenario_free(&sc);
    static const struct {
        const char *js, *msg;
    } bad[] = {
        {"[]", "$: expected a JSON object"},
        {"{\"repeats\": 0.1}", "$.repeats: unknown field"},
        {"{\"repeat\": 1.5}", "$.repeat: expected a number in [0, 1]"},
        {"{\"near_miss_similarity\": {\"lo\": 0.9, \"hi\": 0.8}}", "$.near_miss_similarity: lo"},
        {"{\"near_miss_similarity\": {\"mode\": 1}}", "$.near_miss_similarity.mode: unknown"},
        {"{\"thresholds\": [0.5, \"x\"]}", "$.thresholds[1]"},
        {"{\"near_miss_by_task\": {\"mbpp\": 2}}", "$.near_miss_by_task.mbpp"},
        {"{\"threshold\": 1}", "$.threshold"},
        {"{\"feedback\": -0.1}", "$.feedback: expected a number in [0, 1]"},
        {"{\"repeat_finds_nearest\": 1}", "$.repeat_finds_nearest: expected true or false"},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        assert_int_equal(parse(bad[i].js, &sc, err), SY_ERR_INVALID);
        assert_non_null(strstr(err, bad[i].msg));
    }
}

/* Two models and 40 prompts: "cheap" is right half the time, "dear" always. */
static void dataset(sy_sim_dataset *ds)
{
    memset(ds, 0, sizeof *ds);
    ds->name = sy_xstrdup("t");
    assert_int_equal(sy_sim_dataset_arm(ds, "cheap", 1), 0);
    assert_int_equal(sy_sim_dataset_arm(ds, "dear", 1), 1);
    for (int i = 0; i < 40; i++) {
        char text[64];
        snprintf(text, sizeof text, "question number %d about %s", i, i % 2 ? "code" : "poems");
        size_t r = sy_sim_dataset_add_row(ds, text, strlen(text), i % 2 ? "a" : "b", 0);
        ds->quality[r * SY_SIM_STRIDE + 0] = i % 2;
        ds->cost[r * SY_SIM_STRIDE + 0] = 0.001;
        ds->quality[r * SY_SIM_STRIDE + 1] = 1;
        ds->cost[r * SY_SIM_STRIDE + 1] = 0.01;
    }
}

static int run(const char *js, unsigned seeds, sy_sim_cache_result *res)
{
    sy_sim_dataset ds;
    dataset(&ds);
    sy_sim_cache_scenario sc;
    char err[256];
    assert_int_equal(parse(js, &sc, err), SY_OK);
    sy_policy_params p;
    sy_policy_params_init(&p, SY_POLICY_LINEAR_THOMPSON, 2, 24);
    p.objective.w_cost_rel = 0.2;
    sy_arm_params arms[2];
    sy_arm_params_init(&arms[0]);
    sy_arm_params_init(&arms[1]);
    int rc = sy_sim_cache_run(&ds, &p, arms, &sc, seeds, 1, 8, res, err, sizeof err);
    sy_sim_cache_scenario_free(&sc);
    sy_sim_dataset_free(&ds);
    return rc;
}

static void test_agents(void **state)
{
    (void)state;
    sy_sim_cache_result res;
    assert_int_equal(run("{\"steps\": 3000, \"thresholds\": [0, 1], \"repeat\": 0.5, \"exact\": "
                         "0.2, \"near_miss\": 0.3}",
                         3, &res),
                     SY_OK);
    assert_int_equal(res.n_agents, 4);
    assert_string_equal(res.names[0], "no cache");
    assert_string_equal(res.names[1], "threshold 0.000");
    assert_string_equal(res.names[3], "cache arm");
    for (size_t s = 0; s < 3; s++) {
        double rep = res.repeats[s];
        assert_true(rep > 0.45 && rep < 0.55);
        assert_true(res.served_cache[0 * 3 + s] == 0 && res.wrong_cache[0 * 3 + s] == 0);
        /* threshold 0 serves every candidate: all repeats but the first askings of a
         * question it served from the cache, and near-misses above the floor */
        assert_true(res.served_cache[1 * 3 + s] > rep * 0.9);
        assert_true(res.wrong_cache[1 * 3 + s] > 0.05);
        /* threshold 1 serves only verbatim repeats: never a wrong answer */
        assert_true(res.served_cache[2 * 3 + s] > 0.05 && res.served_cache[2 * 3 + s] < rep);
        assert_true(res.wrong_cache[2 * 3 + s] == 0);
        /* cached answers cost nothing: more cache, less cost than without */
        assert_true(res.cost[1 * 3 + s] < res.cost[0 * 3 + s]);
        /* the cache arm learns that near-misses are bad: fewer wrong answers than τ = 0 */
        assert_true(res.wrong_cache[3 * 3 + s] < res.wrong_cache[1 * 3 + s]);
        assert_true(res.served_cache[3 * 3 + s] > 0);
        for (size_t a = 0; a < 4; a++)
            assert_true(res.quality[a * 3 + s] >= 0 && res.quality[a * 3 + s] <= 1);
    }
    /* common random numbers and per-agent generators: reproducible */
    sy_sim_cache_result again;
    assert_int_equal(run("{\"steps\": 3000, \"thresholds\": [0, 1], \"repeat\": 0.5, \"exact\": "
                         "0.2, \"near_miss\": 0.3}",
                         3, &again),
                     SY_OK);
    assert_memory_equal(res.quality, again.quality, 4 * 3 * sizeof(double));
    assert_memory_equal(res.cost, again.cost, 4 * 3 * sizeof(double));
    sy_sim_cache_result_free(&again);
    sy_sim_cache_result_free(&res);
}

/* A question served a near-miss's answer finds that entry again when it is repeated:
 * a threshold that served it once serves it every time, so it serves more wrong
 * answers than when repeats of such questions found nothing; the cache arm, which sees
 * the entry's ratings, serves fewer wrong answers than that threshold. Without ratings
 * (feedback 0) no learner learns quality: the cache arm still runs, and what a
 * threshold serves is unchanged. */
static void test_repeats_find_the_near_miss_again(void **state)
{
    (void)state;
    const char *base = "{\"steps\": 3000, \"thresholds\": [0.6], \"repeat\": 0.5, "
                       "\"near_miss\": 0.4, \"floor\": 0.6, ";
    char js[512];
    sy_sim_cache_result on, off, blind;
    snprintf(js, sizeof js, "%s\"repeat_finds_nearest\": true}", base);
    assert_int_equal(run(js, 3, &on), SY_OK);
    snprintf(js, sizeof js, "%s\"repeat_finds_nearest\": false}", base);
    assert_int_equal(run(js, 3, &off), SY_OK);
    snprintf(js, sizeof js, "%s\"feedback\": 0}", base);
    assert_int_equal(run(js, 3, &blind), SY_OK);
    for (size_t s = 0; s < 3; s++) {
        size_t thr = 1 * 3 + s, arm = 2 * 3 + s;
        assert_true(on.repeats[s] == off.repeats[s]); /* the same stream */
        assert_true(on.wrong_cache[thr] > off.wrong_cache[thr] * 1.2);
        assert_true(on.wrong_cache[arm] < on.wrong_cache[thr]);
        assert_true(blind.served_cache[arm] > 0);
        /* a threshold serves by rule: what it serves does not depend on ratings */
        assert_true(blind.served_cache[thr] == on.served_cache[thr]);
    }
    sy_sim_cache_result_free(&on);
    sy_sim_cache_result_free(&off);
    sy_sim_cache_result_free(&blind);
}

static void test_bad_run(void **state)
{
    (void)state;
    sy_sim_dataset ds;
    dataset(&ds);
    sy_sim_cache_scenario sc;
    char err[256];
    assert_int_equal(parse("{}", &sc, err), SY_OK);
    sy_policy_params p;
    sy_policy_params_init(&p, SY_POLICY_LINEAR_THOMPSON, 2, 12); /* too small for the features */
    sy_sim_cache_result res;
    assert_int_equal(sy_sim_cache_run(&ds, &p, NULL, &sc, 1, 1, 8, &res, err, sizeof err),
                     SY_ERR_INVALID);
    assert_non_null(strstr(err, "dim"));
    sy_sim_cache_scenario_free(&sc);
    sy_sim_dataset_free(&ds);
}

int main(void)
{
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenario_parse),
        cmocka_unit_test(test_agents),
        cmocka_unit_test(test_repeats_find_the_near_miss_again),
        cmocka_unit_test(test_bad_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
