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
void sy_arm_outcome(const sy_policy *p, const sy_snap_arm *a, const sy_decide_in *in, gsl_rng *rng,
                    double *cost_usd, double *latency_s)
{
    double input_tokens = in->input_tokens;
    *cost_usd = 0;
    *latency_s = 0;
    const double *hint = in->cost_hint ? &in->cost_hint[a - p->arms] : NULL;
    if (p->need_cost && hint && isfinite(*hint) && *hint >= 0) {
        *cost_usd = *hint;
    } else if (p->need_cost) {
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

double sy_geomean_positive(const double *v, const unsigned char *mask, size_t n)
{
    double acc = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if ((!mask || mask[i]) && v[i] > 0 && isfinite(v[i])) {
            acc += log(v[i]);
            m++;
        }
    return m ? exp(acc / (double)m) : 0;
}

/* log2(1 + v/scale): ~log2(v/scale) above the scale, ~0 well below it; 0 without one. */
static double rel_term(double v, double scale)
{
    return scale > 0 && v > 0 ? log2(1 + v / scale) : 0;
}

double sy_objective_rel_penalty(const sy_objective *o, double cost_usd, double latency_s,
                                const sy_obj_scale *s)
{
    double pen = 0;
    if (o->w_cost_rel > 0)
        pen += o->w_cost_rel * rel_term(cost_usd, s->cost);
    if (o->w_latency_rel > 0)
        pen += o->w_latency_rel * rel_term(latency_s, s->latency);
    return pen;
}

double sy_objective_utility(const sy_objective *o, double quality, double cost_usd,
                            double latency_s, double cost_scale, double latency_scale)
{
    sy_obj_scale s = {.cost = cost_scale, .latency = latency_scale};
    return o->w_quality * quality - sy_objective_penalty(o, cost_usd, latency_s, &s);
}

/* Posterior means of every listed arm's cost and latency, reduced to geometric means;
 * skipped (0) unless a relative weight asks for them. */
void sy_objective_scales(const sy_policy *p, const sy_decide_in *in, const size_t *elig, size_t n,
                         sy_obj_scale *s)
{
    s->cost = s->latency = 0;
    if (!(p->obj.w_cost_rel > 0) && !(p->obj.w_latency_rel > 0))
        return;
    double c[SY_POLICY_MAX_ARMS], l[SY_POLICY_MAX_ARMS];
    for (size_t i = 0; i < n; i++)
        sy_arm_outcome(p, &p->arms[elig ? elig[i] : i], in, NULL, &c[i], &l[i]);
    if (p->obj.w_cost_rel > 0)
        s->cost = sy_geomean_positive(c, NULL, n);
    if (p->obj.w_latency_rel > 0)
        s->latency = sy_geomean_positive(l, NULL, n);
}
