/*
 * cluster_thompson (policies/cluster.c): format clusters from the dense flags, the
 * shrinkage chain global → level 1 → level 2, and the behaviour it exists for — two
 * kinds of prompt whose best models differ each go to their own model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "cluster.h"
#include "featurize.h"
#include "policy.h"
#include "policy_state.h"
#include "sy_common.h"

#include <gsl/gsl_rng.h>
#include <math.h>
#include <string.h>

#define DIM SY_FEATURE_DEFAULT_DIM

static void context(const char *text, double *x)
{
    sy_feature_input in = {
        .user_text = text, .user_len = strlen(text), .prompt_bytes = strlen(text)};
    assert_int_equal(sy_featurize(&in, x, DIM), SY_OK);
}

static void test_slots(void **state)
{
    (void)state;
    double a[DIM], b[DIM], c[DIM], d[DIM];
    context("Write a python function that reverses a list.", a);
    context("Write a python function that sorts a list of numbers.", b);
    context("Which is right?\nA) yes\nB) no", c);
    context("Which is right?\nA) yes\nB) no\nC) maybe", d);
    size_t sa[2], sb[2], sc[2], sd[2];
    sy_cluster_slots(a, DIM, sa);
    sy_cluster_slots(b, DIM, sb);
    sy_cluster_slots(c, DIM, sc);
    sy_cluster_slots(d, DIM, sd);
    assert_true(sa[0] == sb[0] && sa[1] == sb[1]); /* same format, same length class */
    assert_true(sa[0] != sc[0] && sc[0] != sd[0]); /* code, binary choice, 3+ options */
    for (int i = 0; i < 2; i++)
        assert_true(sa[i] < SY_CLUSTER_SLOTS && sd[i] < SY_CLUSTER_SLOTS);
}

static void test_shrinkage(void **state)
{
    (void)state;
    double cl[2 * SY_CLUSTER_LEVELS * SY_CLUSTER_SLOTS] = {0};
    size_t slot[2] = {3, 5};
    double al, be;
    /* no cluster data: the parent's mean, with at most `pool` of its strength */
    sy_cluster_beta(80, 20, cl, slot, 10, &al, &be);
    assert_true(fabs(al - 8) < 1e-12 && fabs(be - 2) < 1e-12);
    sy_cluster_beta(0.8, 0.2, cl, slot, 10, &al, &be); /* never more sure than the parent */
    assert_true(fabs(al - 0.8) < 1e-12 && fabs(be - 0.2) < 1e-12);
    /* level-1 data moves the mean; level 2 inherits it */
    cl[2 * 3] = 20;    /* Σw at level 1, slot 3 */
    cl[2 * 3 + 1] = 2; /* Σw·r */
    sy_cluster_beta(80, 20, cl, slot, 10, &al, &be);
    /* level 1: Beta(8 + 2, 2 + 18) → mean 1/3, strength 30 → level 2 takes 10 of it */
    assert_true(fabs(al / (al + be) - 1.0 / 3) < 1e-12 && fabs(al + be - 10) < 1e-12);
}

/* Ratings: arm 0 is right on code prompts and wrong on choice prompts, arm 1 the other
 * way round, arm 2 mediocre on both. */
static void test_each_kind_to_its_model(void **state)
{
    (void)state;
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_CLUSTER_THOMPSON, 3, DIM);
    sy_policy_state *st;
    assert_int_equal(sy_policy_state_new(&pp, &st), SY_OK);
    double code[DIM], choice[DIM];
    context("Write a python function that reverses a list.", code);
    context("Which is right?\nA) yes\nB) no\nC) maybe", choice);
    for (int i = 0; i < 60; i++)
        for (size_t k = 0; k < 3; k++) {
            double rc = k == 0 ? 0.9 : k == 1 ? 0.2 : 0.5, rq = k == 1 ? 0.9 : k == 0 ? 0.2 : 0.5;
            sy_quality_obs a = {.arm = k, .x = code, .dim = DIM, .reward = rc, .weight = 1};
            sy_quality_obs b = {.arm = k, .x = choice, .dim = DIM, .reward = rq, .weight = 1};
            assert_int_equal(sy_policy_state_observe_quality(st, &a, NULL), SY_OK);
            assert_int_equal(sy_policy_state_observe_quality(st, &b, NULL), SY_OK);
        }
    sy_policy *p = sy_policy_state_snapshot(st, 0);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 3);
    size_t n_code[3] = {0}, n_choice[3] = {0};
    for (int i = 0; i < 500; i++) {
        sy_decide_in in = {.n_arms = 3, .x = code, .dim = DIM, .rng = rng};
        sy_decide_out out;
        assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
        n_code[out.ranking[0]]++;
        in.x = choice;
        assert_int_equal(sy_policy_decide(p, &in, &out), SY_OK);
        n_choice[out.ranking[0]]++;
        assert_true(out.propensity > 0 && out.propensity <= 1);
    }
    assert_true(n_code[0] >= 450 && n_choice[1] >= 450);
    /* the deterministic score agrees: posterior means in each context */
    double u0, u1, v;
    sy_decide_in in = {.n_arms = 3, .x = code, .dim = DIM};
    assert_int_equal(sy_policy_score(p, 0, &in, &u0, &v), SY_OK);
    assert_int_equal(sy_policy_score(p, 1, &in, &u1, &v), SY_OK);
    assert_true(u0 > 0.75 && u1 < 0.35);
    /* a context without an x, or of another dim, is refused */
    sy_decide_in bad = {.n_arms = 3, .x = NULL, .dim = DIM, .rng = rng};
    sy_decide_out out;
    assert_int_equal(sy_policy_decide(p, &bad, &out), SY_ERR_INVALID);
    gsl_rng_free(rng);
    sy_policy_free(p);
    sy_policy_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slots),
        cmocka_unit_test(test_shrinkage),
        cmocka_unit_test(test_each_kind_to_its_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
