#include "policy_internal.h"

#include "discount.h"
#include "sy_common.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Beta parameters below this are raised to it (a prior mean of exactly 0 or 1). */
#define SY_BETA_MIN 1e-3

/* Beta posterior of quality from the decayed rating sums: α = α0 + Σw·r,
 * β = β0 + Σw·(1 − r), with the sums clamped to their valid range; the prior is the
 * configured one plus the population prior Beta(pop_s·pop_mu, pop_s·(1 − pop_mu)). */
static void beta_posterior(sy_snap_arm *a, double pop_mu, double pop_s)
{
    double n = a->ratings > 0 ? a->ratings : 0;
    double s = a->sum_r < 0 ? 0 : a->sum_r > n ? n : a->sum_r;
    double a0 = a->ap.prior_quality * a->ap.prior_quality_strength + pop_s * pop_mu;
    double b0 = (1 - a->ap.prior_quality) * a->ap.prior_quality_strength + pop_s * (1 - pop_mu);
    a->alpha = (a0 > SY_BETA_MIN ? a0 : SY_BETA_MIN) + s;
    a->beta = (b0 > SY_BETA_MIN ? b0 : SY_BETA_MIN) + (n - s);
}

/* Posterior of one outcome signal, decayed from its stamp to now. */
static void outcome_posterior(const sy_nig_stats *s, const sy_discount *disc, double now,
                              double center, double spread, double strength, sy_lognormal_mean *out,
                              double *n_out)
{
    sy_nig_prior pr;
    sy_nig_prior_make(&pr, center, spread, strength);
    sy_nig_stats d = *s;
    sy_arm_stats_decay_nig(&d, disc, now);
    sy_nig_post post;
    sy_nig_posterior(&pr, &d, &post);
    sy_nig_lognormal_mean(&post, out);
    if (n_out)
        *n_out = d.n;
}

/*
 * The arm's linear posterior into out (its arrays owned by the snapshot): copied from the
 * memo when the prior, the discount factor and the rating sums are bit-for-bit those the
 * memo was factored from, else factored (sy_linreg_posterior) and remembered. Returns
 * the prior-fallback flag. Either way out is exactly what factoring would give.
 */
static int linear_posterior(sy_lin_memo *m, const sy_linreg_prior *pr, const sy_linreg_stats *q,
                            size_t d, double decay, double *work, sy_linreg_post *out)
{
    size_t np = sy_linreg_packed_len(d);
    double in[4] = {q->t, q->n, q->sum_r, q->sum_rr};
    if (m->valid && memcmp(&m->prior, pr, sizeof(*pr)) == 0 &&
        memcmp(&m->decay, &decay, sizeof(decay)) == 0 && memcmp(m->in, in, sizeof(in)) == 0 &&
        memcmp(m->sums, q->xr, d * sizeof(double)) == 0 &&
        memcmp(m->sums + d, q->xx, np * sizeof(double)) == 0) {
        out->d = d;
        memcpy(out->ut, m->post, np * sizeof(double));
        memcpy(out->inv_diag, m->post + np, d * sizeof(double));
        memcpy(out->mu, m->post + np + d, d * sizeof(double));
        out->a = m->a;
        out->b = m->b;
        return m->fallback;
    }
    int fallback = sy_linreg_posterior(pr, q, d, decay, work, out) != SY_OK;
    m->valid = 1;
    m->fallback = fallback;
    m->prior = *pr;
    m->decay = decay;
    memcpy(m->in, in, sizeof(in));
    memcpy(m->sums, q->xr, d * sizeof(double));
    memcpy(m->sums + d, q->xx, np * sizeof(double));
    memcpy(m->post, out->ut, np * sizeof(double));
    memcpy(m->post + np, out->inv_diag, d * sizeof(double));
    memcpy(m->post + np + d, out->mu, d * sizeof(double));
    m->a = out->a;
    m->b = out->b;
    return fallback;
}

/*
 * Everything decide needs for one arm, as of the state's clocks (observation mode) or
 * `now` (seconds). The linear posterior is factored here, once per snapshot.
 */
static void snap_arm(const sy_policy_state *st, size_t k, double now_q, double now_o, double pop_mu,
                     double pop_s, double *work, sy_snap_arm *a)
{
    const sy_arm_stats *s = &st->stats[k];
    const sy_discount *disc = &st->params.discount;
    size_t d = st->params.dim;
    a->ap = st->arms[k];

    double fq = now_q > s->q.t ? sy_discount_factor(disc, now_q - s->q.t) : 1.0;
    a->ratings = fq * s->q.n;
    a->sum_r = fq * s->q.sum_r;
    beta_posterior(a, pop_mu, pop_s);
    if (d) {
        double s0 = a->ap.prior_quality_strength;
        sy_linreg_prior pr = {
            .bias_mean = (a->ap.prior_quality * s0 + pop_mu * pop_s) / (s0 + pop_s),
            .bias_precision = s0 + pop_s,
            .ridge = st->params.ridge,
            .a0 = st->params.noise_strength / 2,
            .b0 = st->params.noise_strength / 2 * st->params.noise_var,
        };
        a->prior_fallback = linear_posterior(&st->memo[k], &pr, &s->q, d, fq, work, &a->lin);
    }

    double strength = a->ap.prior_outcome_strength;
    outcome_posterior(&s->lat, disc, now_o, log(a->ap.prior_latency_s), SY_PRIOR_SPREAD_LATENCY,
                      strength, &a->lat, &a->requests);
    outcome_posterior(&s->tok, disc, now_o, sy_y_tokens(a->ap.prior_output_tokens),
                      SY_PRIOR_SPREAD_TOKENS, strength, &a->tok, NULL);
    outcome_posterior(&s->cost, disc, now_o, sy_y_cost(a->ap.prior_cost_usd), SY_PRIOR_SPREAD_COST,
                      strength, &a->cost, NULL);
}

/*
 * The population prior (params.population_strength > 0): the route's models are
 * exchangeable a priori, so each arm's quality prior also takes Beta(S·μ, S·(1 − μ)),
 * fitted by the method of moments to the decayed rating means of the arms with at least
 * one rating: μ their mean, v their variance net of sampling noise, S = μ(1 − μ)/v − 1
 * clamped to [1, population_strength]; nothing with fewer than two rated arms. An
 * untried model is then drawn from what the route's models are like rather than from
 * the configured prior alone. *S = 0 when off or not estimable.
 */
static void population_moments(const sy_policy_state *st, double now_q, double *mu, double *S)
{
    const sy_policy_params *pp = &st->params;
    *mu = 0.5;
    *S = 0;
    if (!(pp->population_strength > 0))
        return;
    double sm = 0, smm = 0, snoise = 0;
    size_t m = 0;
    for (size_t k = 0; k < pp->n_arms; k++) {
        const sy_linreg_stats *q = &st->stats[k].q;
        double f = now_q > q->t ? sy_discount_factor(&pp->discount, now_q - q->t) : 1.0;
        double n = f * q->n, s = f * q->sum_r;
        if (!(n >= 1))
            continue;
        double mean = s / n;
        mean = mean < 0 ? 0 : mean > 1 ? 1 : mean;
        sm += mean;
        smm += mean * mean;
        snoise += mean * (1 - mean) / n;
        m++;
    }
    if (m < 2)
        return;
    double u = sm / (double)m;
    double var = smm / (double)m - u * u - snoise / (double)m;
    double cap = pp->population_strength;
    double floor_var = u * (1 - u) / (cap + 1);
    if (!(var > floor_var))
        var = floor_var;
    double s = u * (1 - u) / var - 1;
    *mu = u;
    *S = s < 1 ? 1 : s > cap ? cap : s;
    if (!(u > 0 && u < 1))
        *S = 0;
}

sy_policy *sy_policy_state_snapshot(const sy_policy_state *st, double now)
{
    const sy_policy_params *pp = &st->params;
    size_t n = pp->n_arms, d = pp->dim;
    int obs = pp->discount.unit == SY_HALF_LIFE_OBSERVATIONS;
    double now_q = obs ? st->clock_q : now;
    double now_o = obs ? st->clock_o : now;

    sy_policy *p = sy_xcalloc(1, sizeof(*p));
    p->kind = pp->kind;
    p->n_arms = n;
    p->dim = d;
    p->obj = pp->objective;
    p->need_cost =
        pp->objective.w_cost > 0 || pp->objective.w_cost_rel > 0 || pp->objective.max_cost_usd > 0;
    p->need_latency = pp->objective.w_latency > 0 || pp->objective.w_latency_rel > 0 ||
                      pp->objective.latency_slo_s > 0;
    p->epsilon = pp->epsilon;
    p->ucb_c = pp->ucb_c;
    p->linucb_alpha = pp->linucb_alpha;
    p->ts_scale = pp->ts_scale;
    p->pool = pp->pool_strength;
    p->fixed_arm = pp->fixed_arm;
    p->draws = pp->propensity_draws;
    p->arms = sy_xcalloc(n, sizeof(*p->arms));

    double *work = NULL;
    if (d) {
        size_t np = sy_linreg_packed_len(d), per = np + 2 * d;
        p->block = sy_xmalloc(n * per * sizeof(double));
        work = sy_xmalloc(d * sizeof(double));
        for (size_t k = 0; k < n; k++) {
            double *base = p->block + k * per;
            p->arms[k].lin.ut = base;
            p->arms[k].lin.inv_diag = base + np;
            p->arms[k].lin.mu = base + np + d;
        }
    }
    double pop_mu, pop_s;
    population_moments(st, now_q, &pop_mu, &pop_s);
    for (size_t k = 0; k < n; k++) {
        snap_arm(st, k, now_q, now_o, pop_mu, pop_s, work, &p->arms[k]);
        p->total_ratings += p->arms[k].ratings > 0 ? p->arms[k].ratings : 0;
    }
    if (st->cl) { /* cluster sums decayed to now, as (Σw, Σw·r) pairs */
        size_t per = SY_CLUSTER_LEVELS * SY_CLUSTER_SLOTS;
        p->cl_block = sy_xmalloc(n * per * 2 * sizeof(double));
        for (size_t k = 0; k < n; k++) {
            double *o = p->cl_block + k * per * 2;
            for (size_t j = 0; j < per; j++) {
                const double *c = st->cl + 3 * (k * per + j);
                double f = now_q > c[0] ? sy_discount_factor(&pp->discount, now_q - c[0]) : 1.0;
                o[2 * j] = f * c[1];
                o[2 * j + 1] = f * c[2];
            }
            p->arms[k].cl = o;
        }
    }
    free(work);
    return p;
}

/* Mean and central 95% interval of e^(base + sd·z). */
static void lognormal_interval(const sy_lognormal_mean *l, double *mean, double *lo, double *hi)
{
    *mean = sy_lognormal_expect(l);
    *lo = exp(l->base - SY_Z95 * l->sd);
    *hi = exp(l->base + SY_Z95 * l->sd);
}

int sy_policy_arm_summary(const sy_policy *p, size_t arm, double input_tokens, sy_arm_summary *out)
{
    if (arm >= p->n_arms)
        return SY_ERR_INVALID;
    const sy_snap_arm *a = &p->arms[arm];
    memset(out, 0, sizeof(*out));
    out->ratings = a->ratings;
    out->requests = a->requests;
    out->prior_fallback = a->prior_fallback;
    out->quality_mean = a->alpha / (a->alpha + a->beta);
    out->quality_lo = gsl_cdf_beta_Pinv(0.025, a->alpha, a->beta);
    out->quality_hi = gsl_cdf_beta_Pinv(0.975, a->alpha, a->beta);
    lognormal_interval(&a->lat, &out->latency_mean_s, &out->latency_lo_s, &out->latency_hi_s);

    double tm, tl, th;
    lognormal_interval(&a->tok, &tm, &tl, &th);
    out->output_tokens_mean = fmax(sy_tokens_from_y(tm), 0);
    if (a->ap.cost_model == SY_COST_LEARNED) {
        double cm, cl, ch;
        lognormal_interval(&a->cost, &cm, &cl, &ch);
        out->cost_mean_usd = fmax(sy_cost_from_y(cm), 0);
        out->cost_lo_usd = fmax(sy_cost_from_y(cl), 0);
        out->cost_hi_usd = fmax(sy_cost_from_y(ch), 0);
    } else {
        double in = a->ap.price_in_per_mtok * input_tokens;
        double po = a->ap.price_out_per_mtok;
        out->cost_mean_usd = (in + po * fmax(sy_tokens_from_y(tm), 0)) * 1e-6;
        out->cost_lo_usd = (in + po * fmax(sy_tokens_from_y(tl), 0)) * 1e-6;
        out->cost_hi_usd = (in + po * fmax(sy_tokens_from_y(th), 0)) * 1e-6;
    }
    return SY_OK;
}

void sy_cluster_arm_beta(const sy_policy *p, const sy_snap_arm *a, const double *x, double *alpha,
                         double *beta)
{
    size_t slot[SY_CLUSTER_LEVELS];
    sy_cluster_slots(x, p->dim, slot);
    sy_cluster_beta(a->alpha, a->beta, a->cl, slot, p->pool, alpha, beta);
}
