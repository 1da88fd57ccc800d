#include "policy_internal.h"

#include <gsl/gsl_randist.h>
#include <math.h>

/*
 * Relative excess over each hard constraint, summed: an arm expected to cost twice the
 * cap and meet the SLO scores 1.0. Zero means every constraint holds, so ranking by
 * (violation ascending, utility descending) puts every satisfying arm first and orders
 * the violators by how far off they are (the fallback when all violate).
 */
double sy_objective_violation(const sy_objective *o, double cost_usd, double latency_s)
{
    double v = 0;
    if (o->max_cost_usd > 0 && cost_usd > o->max_cost_usd)
        v += cost_usd / o->max_cost_usd - 1;
    if (o->latency_slo_s > 0 && latency_s > o->latency_slo_s)
        v += latency_s / o->latency_slo_s - 1;
    return v;
}

int sy_score_before(const sy_score *a, const sy_score *b)
{
    if (a->viol != b->viol)
        return a->viol < b->viol;
    return a->util > b->util;
}

/* Insertion sort: K ≤ 64 and usually ~10, and stability keeps a prior shuffle's order
 * among exact ties (the greedy policies' random tie-breaking). */
void sy_score_sort(sy_score *s, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        sy_score v = s[i];
        size_t j = i;
        while (j > 0 && sy_score_before(&v, &s[j - 1])) {
            s[j] = s[j - 1];
            j--;
        }
        s[j] = v;
    }
}

/*
 * The posterior mean of an arm's cost and latency for a request of input_tokens (used
 * by the greedy policies and the admin summary) or one posterior draw of them (Thompson
 * sampling). A priced arm costs price_in·input + price_out·E[output tokens]; a learned
 * one costs its learned expected cost per request.
 */
void sy_arm_outcome(const sy_policy *p, const sy_snap_arm *a, double input_tokens, gsl_rng *rng,
                    double *cost_usd, double *latency_s)
{
    *cost_usd = 0;
    *latency_s = 0;
    if (p->need_cost) {
        const sy_lognormal_mean *l = a->ap.cost_model == SY_COST_LEARNED ? &a->cost : &a->tok;
        double e = rng ? exp(l->base + l->sd * gsl_ran_gaussian_ziggurat(rng, 1.0))
                       : sy_lognormal_expect(l);
        if (a->ap.cost_model == SY_COST_LEARNED) {
            double c = sy_cost_from_y(e);
            *cost_usd = c > 0 ? c : 0;
        } else {
            double t = sy_tokens_from_y(e);
            *cost_usd = (a->ap.price_in_per_mtok * input_tokens +
                         a->ap.price_out_per_mtok * (t > 0 ? t : 0)) *
                        1e-6;
        }
    }
    if (p->need_latency)
        *latency_s = rng ? exp(a->lat.base + a->lat.sd * gsl_ran_gaussian_ziggurat(rng, 1.0))
                         : sy_lognormal_expect(&a->lat);
}
