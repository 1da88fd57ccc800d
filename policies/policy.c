#include "policy_internal.h"

#include "sy_common.h"

#include <stdlib.h>

sy_policy *sy_policy_new_uniform(void)
{
    sy_policy *p = sy_xcalloc(1, sizeof(*p));
    p->kind = SY_POLICY_UNIFORM;
    return p;
}

void sy_policy_free(sy_policy *p)
{
    if (!p)
        return;
    free(p->block);
    free(p->cl_block);
    free(p->arms);
    free(p);
}

const char *sy_policy_name(const sy_policy *p)
{
    return sy_policy_kind_name(p->kind);
}

size_t sy_policy_n_arms(const sy_policy *p)
{
    return p->n_arms;
}

size_t sy_policy_dim(const sy_policy *p)
{
    return p->dim;
}

/* Collect eligible arms in index order; returns how many. */
static size_t collect_eligible(const sy_decide_in *in, size_t *elig)
{
    size_t n = 0;
    for (size_t a = 0; a < in->n_arms; a++)
        if (!in->eligible || in->eligible[a])
            elig[n++] = a;
    return n;
}

/* The request fits the snapshot: arm count, generator, and a context where one is read. */
static int input_ok(const sy_policy *p, const sy_decide_in *in)
{
    if (in->n_arms == 0 || in->n_arms > SY_POLICY_MAX_ARMS || !in->rng)
        return 0;
    if (p->n_arms && in->n_arms != p->n_arms)
        return 0;
    if (sy_policy_kind_is_contextual(p->kind) && (!in->x || in->dim != p->dim))
        return 0;
    return 1;
}

int sy_policy_decide(const sy_policy *p, const sy_decide_in *in, sy_decide_out *out)
{
    if (!input_ok(p, in))
        return SY_ERR_INVALID;
    size_t elig[SY_POLICY_MAX_ARMS];
    size_t n = collect_eligible(in, elig);
    if (n == 0)
        return SY_ERR_INVALID;
    sy_decide_out tmp;
    tmp.constraint_fallback = 0;
    switch (p->kind) {
    case SY_POLICY_UNIFORM:
        sy_decide_uniform(in, elig, n, &tmp);
        break;
    case SY_POLICY_FIXED:
        sy_decide_fixed(p, elig, n, &tmp);
        break;
    case SY_POLICY_WEIGHTED:
        sy_decide_weighted(p, in, elig, n, &tmp);
        break;
    case SY_POLICY_ROUND_ROBIN:
        sy_decide_round_robin(in, elig, n, &tmp);
        break;
    case SY_POLICY_EPSILON_GREEDY:
    case SY_POLICY_UCB1:
    case SY_POLICY_LINUCB:
        sy_decide_greedy(p, in, elig, n, &tmp);
        break;
    case SY_POLICY_THOMPSON:
    case SY_POLICY_LINEAR_THOMPSON:
    case SY_POLICY_CLUSTER_THOMPSON:
        sy_decide_thompson(p, in, elig, n, &tmp);
        break;
    }
    *out = tmp;
    return SY_OK;
}

int sy_policy_score(const sy_policy *p, size_t arm, const sy_decide_in *in, double *utility,
                    double *violation)
{
    switch (p->kind) {
    case SY_POLICY_UNIFORM:
    case SY_POLICY_FIXED:
    case SY_POLICY_WEIGHTED:
    case SY_POLICY_ROUND_ROBIN:
        return SY_ERR_INVALID;
    default:
        break;
    }
    if (arm >= p->n_arms ||
        (sy_policy_kind_is_contextual(p->kind) && (!in->x || in->dim != p->dim)))
        return SY_ERR_INVALID;
    double v[SY_POLICY_MAX_DIM];
    sy_score sc;
    sy_obj_scale scale;
    sy_objective_scales(p, in, NULL, p->n_arms, &scale);
    sy_arm_score(p, in, arm, v, &scale, &sc);
    *utility = sc.util;
    *violation = sc.viol;
    return SY_OK;
}
