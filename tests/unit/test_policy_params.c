/*
 * Policy parameters (policies/policy_params.c, policy_state.c): documented defaults,
 * kind names, validation of every field, and arm updates that keep the statistics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "policy.h"
#include "sy_common.h"

#include <gsl/gsl_errno.h>
#include <math.h>

static void test_defaults(void **state)
{
    (void)state;
    sy_policy_params p;
    sy_policy_params_init(&p, SY_POLICY_LINEAR_THOMPSON, 3, 24);
    assert_true(p.kind == SY_POLICY_LINEAR_THOMPSON && p.n_arms == 3 && p.dim == 24);
    assert_true(p.objective.w_quality == 1 && p.objective.w_cost == 0 &&
                p.objective.w_latency == 0 && p.objective.max_cost_usd == 0 &&
                p.objective.latency_slo_s == 0);
    assert_true(p.discount.half_life == 0 && p.discount.unit == SY_HALF_LIFE_OBSERVATIONS);
    assert_true(p.epsilon == 0.1 && p.ucb_c == 1 && p.linucb_alpha == 1 && p.ts_scale == 1);
    assert_true(p.ridge == 1 && p.noise_var == 0.25 && p.noise_strength == 4);
    assert_true(p.fixed_arm == 0 && p.propensity_draws == SY_POLICY_DEFAULT_DRAWS && !p.arms);
    assert_int_equal(sy_policy_params_check(&p), SY_OK);

    sy_arm_params a;
    sy_arm_params_init(&a);
    assert_true(a.price_in_per_mtok == 0 && a.price_out_per_mtok == 0 &&
                a.cost_model == SY_COST_PRICED);
    assert_true(a.prior_quality == 0.5 && a.prior_quality_strength == 2);
    assert_true(a.prior_latency_s == 1 && a.prior_output_tokens == 256 &&
                a.prior_cost_usd == 0.001 && a.prior_outcome_strength == 2 && a.weight == 1);
    assert_int_equal(sy_arm_params_check(&a), SY_OK);
}

static void test_kind_names(void **state)
{
    (void)state;
    const char *names[] = {"uniform", "fixed",  "weighted", "round_robin",     "epsilon_greedy",
                           "ucb1",    "linucb", "thompson", "linear_thompson", "cluster_thompson"};
    for (int k = 0; k < 10; k++) {
        sy_policy_kind kind;
        assert_string_equal(sy_policy_kind_name((sy_policy_kind)k), names[k]);
        assert_int_equal(sy_policy_kind_parse(names[k], &kind), SY_OK);
        assert_int_equal(kind, k);
        assert_int_equal(sy_policy_kind_is_contextual(kind),
                         kind == SY_POLICY_LINUCB || kind == SY_POLICY_LINEAR_THOMPSON ||
                             kind == SY_POLICY_CLUSTER_THOMPSON);
    }
    sy_policy_kind kind = SY_POLICY_FIXED;
    assert_int_equal(sy_policy_kind_parse("Thompson", &kind), SY_ERR_NOTFOUND);
    assert_int_equal(sy_policy_kind_parse("", &kind), SY_ERR_NOTFOUND);
    assert_int_equal(kind, SY_POLICY_FIXED);
    assert_string_equal(sy_policy_kind_name((sy_policy_kind)10), "unknown");
}

typedef void (*mutate_fn)(sy_policy_params *p, sy_arm_params *a);

#define MUT(name, body)                                                                            \
    static void name(sy_policy_params *p, sy_arm_params *a)                                        \
    {                                                                                              \
        (void)p;                                                                                   \
        (void)a;                                                                                   \
        body;                                                                                      \
    }

MUT(m_kind, p->kind = (sy_policy_kind)9)
MUT(m_no_arms, p->n_arms = 0)
MUT(m_many_arms, p->n_arms = SY_POLICY_MAX_ARMS + 1)
MUT(m_dim, p->dim = SY_POLICY_MAX_DIM + 1)
MUT(m_ctx_dim0, p->kind = SY_POLICY_LINUCB; p->dim = 0)
MUT(m_wq, p->objective.w_quality = -1)
MUT(m_wc, p->objective.w_cost = NAN)
MUT(m_wl, p->objective.w_latency = INFINITY)
MUT(m_cap, p->objective.max_cost_usd = -0.01)
MUT(m_slo, p->objective.latency_slo_s = -1)
MUT(m_hl, p->discount.half_life = -5)
MUT(m_hl_inf, p->discount.half_life = INFINITY)
MUT(m_unit, p->discount.unit = (sy_half_life_unit)7)
MUT(m_eps, p->epsilon = 1.5)
MUT(m_eps_nan, p->epsilon = NAN)
MUT(m_ucb, p->ucb_c = -1)
MUT(m_alpha, p->linucb_alpha = -1)
MUT(m_scale, p->ts_scale = -0.1)
MUT(m_ridge, p->ridge = 0)
MUT(m_noise, p->noise_var = 0)
MUT(m_noise_n, p->noise_strength = -1)
MUT(m_fixed, p->fixed_arm = 2)
MUT(m_price, a->price_in_per_mtok = -1)
MUT(m_price_out, a->price_out_per_mtok = NAN)
MUT(m_model, a->cost_model = (sy_cost_model)3)
MUT(m_q, a->prior_quality = 1.01)
MUT(m_qs, a->prior_quality_strength = 0)
MUT(m_lat, a->prior_latency_s = 0)
MUT(m_tok, a->prior_output_tokens = -1)
MUT(m_cost, a->prior_cost_usd = -1)
MUT(m_os, a->prior_outcome_strength = 0)
MUT(m_w, a->weight = -1)

/* Each single bad field makes the parameters invalid; state_new refuses them and leaves
 * *out alone. The unmutated parameters pass. */
static void test_validation(void **state)
{
    (void)state;
    const mutate_fn muts[] = {
        m_kind,  m_no_arms, m_many_arms, m_dim,    m_ctx_dim0, m_wq,    m_wc,      m_wl,
        m_cap,   m_slo,     m_hl,        m_hl_inf, m_unit,     m_eps,   m_eps_nan, m_ucb,
        m_alpha, m_scale,   m_ridge,     m_noise,  m_noise_n,  m_fixed, m_price,   m_price_out,
        m_model, m_q,       m_qs,        m_lat,    m_tok,      m_cost,  m_os,      m_w};
    for (size_t i = 0; i < SY_ARRAY_LEN(muts); i++) {
        sy_policy_params p;
        sy_arm_params arms[2];
        sy_policy_params_init(&p, SY_POLICY_THOMPSON, 2, 0);
        sy_arm_params_init(&arms[0]);
        sy_arm_params_init(&arms[1]);
        p.arms = arms;
        assert_int_equal(sy_policy_params_check(&p), SY_OK);
        muts[i](&p, &arms[1]);
        if (sy_policy_params_check(&p) != SY_ERR_INVALID)
            fail_msg("mutation %zu was accepted", i);
        sy_policy_state *st = (sy_policy_state *)&p; /* sentinel */
        assert_int_equal(sy_policy_state_new(&p, &st), SY_ERR_INVALID);
        assert_ptr_equal(st, &p);
    }
    /* edges that are valid */
    sy_policy_params p;
    sy_policy_params_init(&p, SY_POLICY_EPSILON_GREEDY, SY_POLICY_MAX_ARMS, SY_POLICY_MAX_DIM);
    p.epsilon = 1;
    p.ts_scale = 0;
    p.discount.half_life = 0;
    p.fixed_arm = SY_POLICY_MAX_ARMS - 1;
    p.propensity_draws = 0;
    assert_int_equal(sy_policy_params_check(&p), SY_OK);
}

/* A price change on reload: the arm's parameters change, its statistics stay. */
static void test_set_arm(void **state)
{
    (void)state;
    sy_policy_params pp;
    sy_policy_params_init(&pp, SY_POLICY_THOMPSON, 2, 0);
    sy_policy_state *st = NULL;
    assert_int_equal(sy_policy_state_new(&pp, &st), SY_OK);
    sy_quality_obs q = {.arm = 1, .reward = 1, .weight = 1};
    sy_policy_state_observe_quality(st, &q, NULL);
    sy_arm_params a;
    sy_arm_params_init(&a);
    a.price_in_per_mtok = 3;
    assert_int_equal(sy_policy_state_set_arm(st, 1, &a), SY_OK);
    assert_int_equal(sy_policy_state_set_arm(st, 2, &a), SY_ERR_INVALID);
    a.prior_quality = 2;
    assert_int_equal(sy_policy_state_set_arm(st, 1, &a), SY_ERR_INVALID);
    assert_true(sy_policy_state_params(st)->arms[1].price_in_per_mtok == 3);
    sy_policy *p = sy_policy_state_snapshot(st, 0);
    sy_arm_summary s;
    sy_policy_arm_summary(p, 1, 1e6, &s); /* a million input tokens at 3 USD */
    assert_true(fabs(s.cost_mean_usd - 3) < 1e-12 && s.ratings == 1);
    sy_policy_free(p);
    sy_policy_state_free(st);
}

int main(void)
{
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_set_arm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
