/*
 * decide_thompson: Beta–Bernoulli and linear Thompson sampling over the route's
 * multi-objective utility, with Monte Carlo propensities.
 *
 * One decision draws, for every eligible arm, a posterior sample of its expected
 * quality q̃, cost c̃ and latency l̃, scores U = w_q·q̃ − w_c·c̃ − w_l·l̃, and ranks arms by
 * (constraint violation, −U). For the linear model only xᵀθ matters, so instead of
 * drawing θ ~ N(μ, σ²Λ⁻¹) (d normals and a triangular solve per arm and draw) we draw
 * xᵀθ from its exact marginal N(xᵀμ, σ²·xᵀΛ⁻¹x): one forward substitution L·v = x per arm
 * and decision gives xᵀΛ⁻¹x = ‖v‖², then each draw costs one InvGamma and one normal
 * variate. Arms are independent, so the ranking has exactly the distribution that
 * sampling full θ vectors would give (tests/unit/test_policy_linreg.c checks the
 * moments of both samplers).
 *
 * Propensity of the chosen arm j: M fresh draws of every arm (independent of the draw
 * that decided), each reduced by conditioning on everything except j's quality noise
 * (Rao–Blackwellisation): given the other arms' draws and j's cost and latency, j wins
 * with probability
 *   1                          if j's violation is below every other arm's,
 *   0                          if it is above the smallest other violation,
 *   P(w_q·q̃_j > U* − U_j⁰)    if tied (typically: all satisfy), U* the best other
 *                              utility in that tier and U_j⁰ = −w_c·c̃_j − w_l·l̃_j,
 * where the last term is a normal tail (linear model, given a σ̃² draw) or a Beta
 * tail. The M draws share one draw of each arm's cost, latency and σ̃² and differ in the
 * quality noise (see propensity()). The estimate is the mean over M draws: unbiased,
 * never an indicator's 0/1 noise, floored at SY_PROPENSITY_FLOOR. M = 0 skips it (NAN).
 * A single eligible arm has propensity exactly 1. Exact ties at the top (only when no
 * quality noise enters a score) are broken uniformly at random and shared equally in
 * the estimate.
 */
#include "policy_internal.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <math.h>

/* Per-arm, per-decision quantities: for the linear model E[xᵀθ] and sqrt(xᵀΛ⁻¹x)·scale;
 * for the Beta kinds the posterior's α, β in this context. */
typedef struct ts_proj {
    double mean, scale;
    double alpha, beta;
} ts_proj;

static int is_linear(const sy_policy *p)
{
    return p->kind == SY_POLICY_LINEAR_THOMPSON;
}

/* One posterior draw of the arm's expected quality in this context. */
static double draw_quality(const sy_policy *p, const sy_snap_arm *a, const ts_proj *pr,
                           gsl_rng *rng)
{
    if (!is_linear(p))
        return gsl_ran_beta(rng, pr->alpha, pr->beta);
    double sigma = sqrt(sy_linreg_sample_sigma2(&a->lin, rng));
    return pr->mean + sigma * pr->scale * gsl_ran_gaussian_ziggurat(rng, 1.0);
}

/*
 * P(lead wins | everything but its quality noise): P(q̃ > tau) for tau the quality it must
 * beat, a normal tail of sd `sd` (linear model: the projection's scale times one σ̃²
 * draw) or a Beta tail. A lead whose quality is a point mass (linear model with ts_scale
 * 0 or xᵀΛ⁻¹x = 0) compares its mean with tau instead, sharing an exact tie with the
 * `tied` other arms at the best utility.
 */
static double quality_tail(const sy_policy *p, const ts_proj *pr, double sd, double tau,
                           size_t tied)
{
    if (!is_linear(p)) {
        if (tau <= 0)
            return 1;
        if (tau >= 1)
            return 0;
        return gsl_cdf_beta_Q(tau, pr->alpha, pr->beta);
    }
    if (!(sd > 0))
        return pr->mean > tau ? 1.0 : pr->mean == tau ? 1.0 / (double)(tied + 1) : 0.0;
    return 0.5 * erfc((tau - pr->mean) / (sd * M_SQRT2));
}

/* Draw one arm's cost, latency and quality into a score. */
static void draw_score(const sy_policy *p, const sy_decide_in *in, size_t arm, const ts_proj *pr,
                       const sy_obj_scale *scale, sy_score *sc)
{
    const sy_snap_arm *a = &p->arms[arm];
    double cost, lat;
    sy_arm_outcome(p, a, in, in->rng, &cost, &lat);
    double u = -sy_objective_penalty(&p->obj, cost, lat, scale);
    if (p->obj.w_quality > 0)
        u += p->obj.w_quality * draw_quality(p, a, pr, in->rng);
    sc->arm = arm;
    sc->viol = sy_objective_violation(&p->obj, cost, lat);
    sc->util = u;
}

/* One arm's share of the propensity draws: its cost and latency drawn once, as a
 * violation and a partial utility (without quality), and for the linear model the sd of
 * its quality noise given one σ̃² draw. */
typedef struct prop_arm {
    double viol, util0, qsd;
} prop_arm;

/* Draw arm elig[i]'s shared components into *pa. */
static void prop_arm_draw(const sy_policy *p, const sy_decide_in *in, size_t arm, const ts_proj *pr,
                          const sy_obj_scale *scale, prop_arm *pa)
{
    const sy_snap_arm *a = &p->arms[arm];
    double cost, lat;
    sy_arm_outcome(p, a, in, in->rng, &cost, &lat);
    pa->viol = sy_objective_violation(&p->obj, cost, lat);
    pa->util0 = -sy_objective_penalty(&p->obj, cost, lat, scale);
    pa->qsd = is_linear(p) && p->obj.w_quality > 0
                  ? sqrt(sy_linreg_sample_sigma2(&a->lin, in->rng)) * pr->scale
                  : 0;
}

/*
 * The Rao–Blackwellised Monte Carlo estimate of P(lead arm wins) described above.
 * elig/proj are the eligible arms and their projections; lead indexes them. Exact ties
 * (possible only when no quality noise enters: w_quality = 0 with equal or no costs, or a
 * point-mass linear posterior) are shared equally, as decide breaks them at random.
 *
 * Why this shape (issue 14, the decision budget): the M draws share one draw of every
 * arm's cost, latency and (linear model) noise variance σ̃², and differ in the quality
 * noise only. Each of the M terms still has exactly the distribution of an independent
 * draw, so their mean stays unbiased; only the part of the variance that comes from the
 * shared components does not shrink with M. Those are the signals whose posteriors
 * narrow fastest (they arrive with every request), and sharing them cuts the cost of a
 * draw from four normal variates, a gamma variate and two exponentials per arm to one
 * normal (linear model): at K = 11 a decision costs over a third less (docs/policies.md).
 */
static double propensity(const sy_policy *p, const sy_decide_in *in, const size_t *elig,
                         const ts_proj *proj, const sy_obj_scale *scale, size_t n, size_t lead)
{
    prop_arm pa[SY_POLICY_MAX_ARMS];
    double min_viol = INFINITY; /* the other arms' best tier: fixed across the draws */
    for (size_t i = 0; i < n; i++) {
        prop_arm_draw(p, in, elig[i], &proj[i], scale, &pa[i]);
        if (i != lead && pa[i].viol < min_viol)
            min_viol = pa[i].viol;
    }
    const prop_arm *j = &pa[lead];
    if (j->viol < min_viol)
        return 1;
    if (j->viol > min_viol)
        return SY_PROPENSITY_FLOOR;
    double wq = p->obj.w_quality, acc = 0;
    for (unsigned m = 0; m < p->draws; m++) {
        double best = -INFINITY;
        size_t tied = 0; /* other arms at (min_viol, best) */
        for (size_t i = 0; i < n; i++) {
            if (i == lead || pa[i].viol != min_viol)
                continue;
            double u = pa[i].util0;
            if (wq > 0)
                u += wq * (is_linear(p)
                               ? proj[i].mean + pa[i].qsd * gsl_ran_gaussian_ziggurat(in->rng, 1.0)
                               : gsl_ran_beta(in->rng, proj[i].alpha, proj[i].beta));
            if (u > best) {
                best = u;
                tied = 1;
            } else if (u == best) {
                tied++;
            }
        }
        if (wq > 0)
            acc += quality_tail(p, &proj[lead], j->qsd, (best - j->util0) / wq, tied);
        else
            acc += j->util0 > best ? 1.0 : j->util0 == best ? 1.0 / (double)(tied + 1) : 0.0;
    }
    double est = acc / p->draws;
    return est > SY_PROPENSITY_FLOOR ? est : SY_PROPENSITY_FLOOR;
}

void sy_decide_thompson(const sy_policy *p, const sy_decide_in *in, const size_t *elig, size_t n,
                        sy_decide_out *out)
{
    ts_proj proj[SY_POLICY_MAX_ARMS];
    double v[SY_POLICY_MAX_DIM];
    if (is_linear(p)) {
        for (size_t i = 0; i < n; i++) {
            sy_linreg_project(&p->arms[elig[i]].lin, in->x, v, &proj[i].mean, &proj[i].scale);
            proj[i].scale *= p->ts_scale;
        }
    } else if (p->kind == SY_POLICY_CLUSTER_THOMPSON) {
        /* ts_scale tempers the posterior: same mean, spread × ts_scale */
        double temper = 1 / (p->ts_scale * p->ts_scale);
        for (size_t i = 0; i < n; i++) {
            sy_cluster_arm_beta(p, &p->arms[elig[i]], in->x, &proj[i].alpha, &proj[i].beta);
            proj[i].alpha *= temper;
            proj[i].beta *= temper;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            proj[i].alpha = p->arms[elig[i]].alpha;
            proj[i].beta = p->arms[elig[i]].beta;
        }
    }
    sy_obj_scale scale;
    sy_objective_scales(p, in, elig, n, &scale);
    sy_score sc[SY_POLICY_MAX_ARMS];
    for (size_t i = 0; i < n; i++)
        draw_score(p, in, elig[i], &proj[i], &scale, &sc[i]);
    sy_score_sort(sc, n);
    size_t ties = 1; /* exact ties at the top: the leader is drawn uniformly among them */
    while (ties < n && sc[ties].viol == sc[0].viol && sc[ties].util == sc[0].util)
        ties++;
    if (ties > 1) {
        size_t k = (size_t)gsl_rng_uniform_int(in->rng, ties);
        sy_score t = sc[0];
        sc[0] = sc[k];
        sc[k] = t;
    }
    size_t lead = 0;
    while (elig[lead] != sc[0].arm)
        lead++;
    for (size_t i = 0; i < n; i++)
        out->ranking[i] = sc[i].arm;
    out->n_ranked = n;
    out->constraint_fallback = sc[0].viol > 0;
    if (n == 1)
        out->propensity = 1.0;
    else if (p->draws == 0)
        out->propensity = NAN;
    else
        out->propensity = propensity(p, in, elig, proj, &scale, n, lead);
}
