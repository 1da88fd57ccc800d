#include "policy_params.h"

#include "sy_common.h"

#include <math.h>
#include <string.h>

static const char *const kind_names[] = {
    [SY_POLICY_UNIFORM] = "uniform",
    [SY_POLICY_FIXED] = "fixed",
    [SY_POLICY_WEIGHTED] = "weighted",
    [SY_POLICY_ROUND_ROBIN] = "round_robin",
    [SY_POLICY_EPSILON_GREEDY] = "epsilon_greedy",
    [SY_POLICY_UCB1] = "ucb1",
    [SY_POLICY_LINUCB] = "linucb",
    [SY_POLICY_THOMPSON] = "thompson",
    [SY_POLICY_LINEAR_THOMPSON] = "linear_thompson",
    [SY_POLICY_CLUSTER_THOMPSON] = "cluster_thompson",
};

const char *sy_policy_kind_name(sy_policy_kind kind)
{
    if ((unsigned)kind >= SY_ARRAY_LEN(kind_names))
        return "unknown";
    return kind_names[kind];
}

int sy_policy_kind_parse(const char *name, sy_policy_kind *out)
{
    for (size_t k = 0; k < SY_ARRAY_LEN(kind_names); k++) {
        if (strcmp(name, kind_names[k]) == 0) {
            *out = (sy_policy_kind)k;
            return SY_OK;
        }
    }
    return SY_ERR_NOTFOUND;
}

int sy_policy_kind_is_contextual(sy_policy_kind kind)
{
    return kind == SY_POLICY_LINUCB || kind == SY_POLICY_LINEAR_THOMPSON ||
           kind == SY_POLICY_CLUSTER_THOMPSON;
}

void sy_arm_params_init(sy_arm_params *a)
{
    memset(a, 0, sizeof(*a));
    a->cost_model = SY_COST_PRICED;
    a->prior_quality = 0.5;
    a->prior_quality_strength = 2;
    a->prior_latency_s = 1;
    a->prior_output_tokens = 256;
    a->prior_cost_usd = 0.001;
    a->prior_outcome_strength = 2;
    a->weight = 1;
}

void sy_policy_params_init(sy_policy_params *p, sy_policy_kind kind, size_t n_arms, size_t dim)
{
    memset(p, 0, sizeof(*p));
    p->kind = kind;
    p->n_arms = n_arms;
    p->dim = dim;
    p->objective.w_quality = 1;
    p->discount.unit = SY_HALF_LIFE_OBSERVATIONS;
    p->epsilon = 0.1;
    p->ucb_c = 1;
    p->linucb_alpha = 1;
    p->ts_scale = 1;
    p->ridge = 1;
    p->noise_var = 0.25;
    p->noise_strength = 4;
    p->pool_strength = 8;
    p->propensity_draws = SY_POLICY_DEFAULT_DRAWS;
}

/* x is finite and ≥ 0 */
static int nonneg(double x)
{
    return isfinite(x) && x >= 0;
}

/* x is finite and > 0 */
static int positive(double x)
{
    return isfinite(x) && x > 0;
}

int sy_arm_params_check(const sy_arm_params *a)
{
    int ok = nonneg(a->price_in_per_mtok) && nonneg(a->price_out_per_mtok) &&
             (a->cost_model == SY_COST_PRICED || a->cost_model == SY_COST_LEARNED) &&
             isfinite(a->prior_quality) && a->prior_quality >= 0 && a->prior_quality <= 1 &&
             positive(a->prior_quality_strength) && positive(a->prior_latency_s) &&
             nonneg(a->prior_output_tokens) && nonneg(a->prior_cost_usd) &&
             positive(a->prior_outcome_strength) && nonneg(a->weight);
    return ok ? SY_OK : SY_ERR_INVALID;
}

int sy_policy_params_check(const sy_policy_params *p)
{
    const sy_objective *o = &p->objective;
    if ((unsigned)p->kind >= SY_ARRAY_LEN(kind_names) || p->n_arms == 0 ||
        p->n_arms > SY_POLICY_MAX_ARMS || p->dim > SY_POLICY_MAX_DIM ||
        (sy_policy_kind_is_contextual(p->kind) && p->dim == 0))
        return SY_ERR_INVALID;
    if (!nonneg(o->w_quality) || !nonneg(o->w_cost) || !nonneg(o->w_latency) ||
        !nonneg(o->w_cost_rel) || !nonneg(o->w_latency_rel) || !nonneg(o->max_cost_usd) ||
        !nonneg(o->latency_slo_s))
        return SY_ERR_INVALID;
    if (!nonneg(p->discount.half_life) ||
        (p->discount.unit != SY_HALF_LIFE_OBSERVATIONS && p->discount.unit != SY_HALF_LIFE_SECONDS))
        return SY_ERR_INVALID;
    if (!(p->epsilon >= 0 && p->epsilon <= 1) || !nonneg(p->ucb_c) || !nonneg(p->linucb_alpha) ||
        !nonneg(p->ts_scale) || !positive(p->ridge) || !positive(p->noise_var) ||
        !positive(p->noise_strength) || !positive(p->pool_strength) ||
        !nonneg(p->population_strength) || p->fixed_arm >= p->n_arms)
        return SY_ERR_INVALID;
    for (size_t k = 0; p->arms && k < p->n_arms; k++)
        if (sy_arm_params_check(&p->arms[k]) != SY_OK)
            return SY_ERR_INVALID;
    return SY_OK;
}
