/*
 * decide_greedy: policies that rank arms by a deterministic score — ε-greedy, UCB1 and
 * LinUCB — with the route's objective and constraints applied to posterior means of
 * cost and latency. Exact ties are broken uniformly at random, so propensities are
 * exact: 1/#tied for UCB1 and LinUCB, and for ε-greedy
 *   P(arm) = ε/|X|·[arm ∈ X] + (1 − ε)/|G|·[arm ∈ G],
 * X the exploration set (arms meeting the constraints, or all eligible if none does)
 * and G the arms tied for the best score.
 */
#include "policy_internal.h"

#include <math.h>

/*
 * The quality score each kind ranks by: the UCB1 index (+∞ for an arm UCB1 has never
 * tried), the LinUCB upper bound xᵀμ + α·sqrt(xᵀΛ⁻¹x), and otherwise the posterior mean
 * (Beta for ε-greedy and Thompson, xᵀμ for linear Thompson: sy_policy_score).
 */
static double quality_score(const sy_policy *p, const sy_snap_arm *a, const sy_decide_in *in,
                            double *v)
{
    switch (p->kind) {
    case SY_POLICY_UCB1: {
        if (a->ratings <= 0)
            return INFINITY;
        double n_all = p->total_ratings > 1 ? p->total_ratings : 1;
        return a->sum_r / a->ratings + p->ucb_c * sqrt(2 * log(n_all) / a->ratings);
    }
    case SY_POLICY_LINUCB: {
        double m, s;
        sy_linreg_project(&a->lin, in->x, v, &m, &s);
        return m + p->linucb_alpha * s;
    }
    case SY_POLICY_LINEAR_THOMPSON: {
        double m = 0;
        for (size_t i = 0; i < p->dim; i++)
            m += a->lin.mu[i] * in->x[i];
        return m;
    }
    case SY_POLICY_CLUSTER_THOMPSON: {
        double al, be;
        sy_cluster_arm_beta(p, a, in->x, &al, &be);
        return al / (al + be);
    }
    default:
        return a->alpha / (a->alpha + a->beta);
    }
}

/* Utility of one arm from its quality score and mean cost and latency. An untried UCB1
 * arm outranks every tried one when quality carries any weight. */
void sy_arm_score(const sy_policy *p, const sy_decide_in *in, size_t arm, double *v,
                  const sy_obj_scale *scale, sy_score *sc)
{
    const sy_snap_arm *a = &p->arms[arm];
    double cost, lat;
    sy_arm_outcome(p, a, in, NULL, &cost, &lat);
    double q = quality_score(p, a, in, v);
    double u = -sy_objective_penalty(&p->obj, cost, lat, scale);
    if (isinf(q))
        u = p->obj.w_quality > 0 ? INFINITY : u;
    else
        u += p->obj.w_quality * q;
    sc->arm = arm;
    sc->viol = sy_objective_violation(&p->obj, cost, lat);
    sc->util = u;
}

void sy_decide_greedy(const sy_policy *p, const sy_decide_in *in, const size_t *elig, size_t n,
                      sy_decide_out *out)
{
    double v[SY_POLICY_MAX_DIM];
    sy_score sc[SY_POLICY_MAX_ARMS];
    for (size_t i = 0; i < n; i++) /* shuffled, so the stable sort breaks ties at random */
        sc[i].arm = elig[i];
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)gsl_rng_uniform_int(in->rng, i + 1);
        size_t t = sc[i].arm;
        sc[i].arm = sc[j].arm;
        sc[j].arm = t;
    }
    sy_obj_scale scale;
    sy_objective_scales(p, in, elig, n, &scale);
    for (size_t i = 0; i < n; i++)
        sy_arm_score(p, in, sc[i].arm, v, &scale, &sc[i]);
    sy_score_sort(sc, n);

    size_t ties = 1, satisfying = 0;
    while (ties < n && sc[ties].viol == sc[0].viol && sc[ties].util == sc[0].util)
        ties++;
    for (size_t i = 0; i < n; i++)
        satisfying += sc[i].viol == 0;

    size_t lead = 0;
    double prop = 1.0 / (double)ties;
    if (p->kind == SY_POLICY_EPSILON_GREEDY) {
        size_t nx = satisfying ? satisfying : n; /* X = sc[0..nx): satisfying sort first */
        if (gsl_rng_uniform(in->rng) < p->epsilon)
            lead = (size_t)gsl_rng_uniform_int(in->rng, nx);
        prop = (lead < nx ? p->epsilon / (double)nx : 0) +
               (lead < ties ? (1 - p->epsilon) / (double)ties : 0);
    }
    out->ranking[0] = sc[lead].arm;
    for (size_t i = 0, m = 1; i < n; i++)
        if (i != lead)
            out->ranking[m++] = sc[i].arm;
    out->n_ranked = n;
    out->propensity = prop;
    out->constraint_fallback = sc[lead].viol > 0;
}
