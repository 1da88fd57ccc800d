/*
 * The reference routers of sim/sim_oracle.c and the warm start of sim/sim_warm.c on
 * hand-built datasets: the task oracle's per-label choice (missing cells, unlabelled rows,
 * hard constraints), the linear oracle routing two kinds of prompt the features tell apart,
 * and a warm start mapping models by name and feeding exactly their outcomes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "policy_state.h"
#include "sim_data.h"
#include "sim_oracle.h"
#include "sim_warm.h"
#include "sy_common.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static size_t row(sy_sim_dataset *ds, const char *text, const char *task, const double *q,
                  const double *c)
{
    size_t i = sy_sim_dataset_add_row(ds, text, strlen(text), task, 0);
    for (size_t k = 0; k < ds->n_arms; k++) {
        ds->quality[i * SY_SIM_STRIDE + k] = q[k];
        ds->cost[i * SY_SIM_STRIDE + k] = c[k];
    }
    return i;
}

static void arms(sy_sim_dataset *ds, const char *const *names, size_t n)
{
    for (size_t k = 0; k < n; k++)
        assert_int_equal(sy_sim_dataset_arm(ds, names[k], 1), (int)k);
}

static void test_task_oracle(void **state)
{
    (void)state;
    sy_sim_dataset ds = {0};
    const char *names[] = {"a", "b", "c"};
    arms(&ds, names, 3);
    const double c[] = {0.01, 0.01, 0.01};
    /* task x: a 0.9/0.8 (mean 0.85), b 0.7/0.7, c 0.8/1.0 (0.9) → c; row 1 cannot use c */
    row(&ds, "p0", "x", (double[]){0.9, 0.7, 0.8}, c);
    row(&ds, "p1", "x", (double[]){0.8, 0.7, NAN}, c);
    row(&ds, "p2", "x", (double[]){0.8, 0.7, 1.0}, c);
    /* task y: b best; unlabelled rows form their own group: a best */
    row(&ds, "p3", "y", (double[]){0.1, 0.9, 0.2}, c);
    row(&ds, "p4", NULL, (double[]){0.6, 0.5, 0.4}, c);
    sy_objective o = {.w_quality = 1, .w_cost = 10};
    long ch[5];
    sy_sim_task_oracle(&ds, &o, ch);
    /* task x means: a (0.9+0.8+0.8)/3, c (0.8+1.0)/2 = 0.9 over its two rows */
    assert_int_equal(ch[0], 2);
    assert_int_equal(ch[1], 0); /* c not eligible: the next best by the task's means, a */
    assert_int_equal(ch[2], 2);
    assert_int_equal(ch[3], 1);
    assert_int_equal(ch[4], 0);
    /* a hard cost cap that only a respects moves every labelled choice to a */
    const double dear[] = {0.001, 0.05, 0.05};
    for (size_t i = 0; i < ds.n; i++)
        for (size_t k = 0; k < 3; k++)
            ds.cost[i * SY_SIM_STRIDE + k] = dear[k];
    o = (sy_objective){.w_quality = 1, .max_cost_usd = 0.01};
    sy_sim_task_oracle(&ds, &o, ch);
    for (size_t i = 0; i < ds.n; i++)
        assert_int_equal(ch[i], 0);
    sy_sim_dataset_free(&ds);
}

/* code prompts: a right, b wrong; chat prompts the other way round */
static void two_kinds(sy_sim_dataset *ds, size_t n)
{
    const char *names[] = {"a", "b"};
    arms(ds, names, 2);
    const double c[] = {0.001, 0.001};
    for (size_t i = 0; i < n; i++) {
        char code[128], chat[128];
        snprintf(code, sizeof(code), "Fix this python code:\n```\ndef f%zu(x):\n    return x\n```",
                 i);
        snprintf(chat, sizeof(chat), "What is a nice name for bakery number %zu?", i);
        row(ds, code, "code", (double[]){1, 0}, c);
        row(ds, chat, "chat", (double[]){0, 1}, c);
    }
}

static void test_linear_oracle(void **state)
{
    (void)state;
    sy_sim_dataset ds = {0};
    two_kinds(&ds, 40);
    sy_objective o = {.w_quality = 1};
    long *ch = malloc(ds.n * sizeof(long));
    assert_int_equal(sy_sim_linear_oracle(&ds, 24, &o, 1.0, ch), SY_OK);
    for (size_t i = 0; i < ds.n; i++)
        assert_int_equal(ch[i], strcmp(ds.task[i], "code") == 0 ? 0 : 1);
    assert_int_equal(sy_sim_linear_oracle(&ds, 5, &o, 1.0, ch), SY_ERR_INVALID); /* dim */
    free(ch);
    sy_sim_dataset_free(&ds);
}

static void test_warm_start(void **state)
{
    (void)state;
    sy_sim_dataset warm = {0};
    two_kinds(&warm, 10);                /* models "a", "b" */
    char *eval_arms[] = {"b", "z", "a"}; /* evaluated in another order, with a new model */
    sy_sim_warm w;
    char err[256];
    assert_int_equal(sy_sim_warm_build(&warm, eval_arms, 3, 24, 0.5, &w, err, sizeof(err)), SY_OK);
    assert_int_equal(w.matched, 2);
    assert_int_equal(w.n, 20);
    for (size_t i = 0; i < w.n; i++) {
        int code = strcmp(warm.task[i], "code") == 0;
        assert_true(w.quality[i * 3 + 0] == (code ? 0 : 1)); /* "b" */
        assert_true(isnan(w.quality[i * 3 + 1]));            /* "z": no warm data */
        assert_true(w.quality[i * 3 + 2] == (code ? 1 : 0)); /* "a" */
    }
    /* fed to a state: "a" and "b" hold 20 ratings of weight 0.5 each, "z" none */
    sy_arm_params ap[3];
    for (size_t k = 0; k < 3; k++)
        sy_arm_params_init(&ap[k]);
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_LINEAR_THOMPSON, 3, 24);
    pp.arms = ap;
    sy_policy_state *st;
    assert_int_equal(sy_policy_state_new(&pp, &st), SY_OK);
    sy_sim_warm_feed(&w, st, 1);
    sy_policy *snap = sy_policy_state_snapshot(st, 0);
    sy_arm_summary s;
    double expect[] = {10, 0, 10};
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(sy_policy_arm_summary(snap, k, 0, &s), SY_OK);
        assert_true(fabs(s.ratings - expect[k]) < 1e-9);
    }
    sy_policy_free(snap);
    sy_policy_state_free(st);
    sy_sim_warm_free(&w);
    char *none[] = {"y"};
    assert_int_equal(sy_sim_warm_build(&warm, none, 1, 24, 1, &w, err, sizeof(err)),
                     SY_ERR_INVALID);
    assert_non_null(strstr(err, "no model"));
    sy_sim_dataset_free(&warm);
}

int main(void)
{
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_task_oracle),
        cmocka_unit_test(test_linear_oracle),
        cmocka_unit_test(test_warm_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
