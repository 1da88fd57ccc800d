/*
 * exp_analysis: from per-variant aggregates to the statistics of the results page and a
 * recommendation. The rule and every threshold are documented in exp_analysis.h; this
 * file follows it step by step: per-treatment statistics, Holm across treatments, the
 * guardrails, then the recommendation in the header's order.
 */
#include "exp_analysis.h"

#include "sy_common.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const rec_names[] = {"keep_running", "ship_variant", "keep_control",
                                        "stop_guardrail", "investigate_srm"};
static const char *const guard_names[] = {"cost", "p95_latency", "error_rate"};
static const char *const status_names[] = {"off", "pending", "ok", "breached"};

const char *sy_exp_rec_name(sy_exp_rec r)
{
    return (size_t)r < SY_ARRAY_LEN(rec_names) ? rec_names[r] : "unknown";
}

const char *sy_exp_guardrail_name(sy_exp_guardrail g)
{
    return (size_t)g < SY_ARRAY_LEN(guard_names) ? guard_names[g] : "unknown";
}

const char *sy_exp_guard_status_name(sy_exp_guard_status s)
{
    return (size_t)s < SY_ARRAY_LEN(status_names) ? status_names[s] : "unknown";
}

static int valid_threshold(double t)
{
    return isnan(t) || (isfinite(t) && t > 0);
}

static int config_valid(const sy_exp_config *c)
{
    return (c->primary == SY_EXP_METRIC_PROP || c->primary == SY_EXP_METRIC_RATIO) &&
           c->alpha > 0 && c->alpha < 1 && isfinite(c->tau2) && c->tau2 > 0 &&
           isfinite(c->prior_a) && c->prior_a > 0 && isfinite(c->prior_b) && c->prior_b > 0 &&
           isfinite(c->min_sample) && c->min_sample >= 0 && valid_threshold(c->max_cost_increase) &&
           valid_threshold(c->max_p95_increase) && valid_threshold(c->max_error_increase);
}

/* Primary observations of a variant: rated requests, or units for a ratio metric. */
static double primary_n(const sy_exp_config *c, const sy_exp_variant_input *v)
{
    return c->primary == SY_EXP_METRIC_PROP ? v->primary_prop.trials : v->primary_ratio.n;
}

static void result_clear(sy_exp_variant_result *r)
{
    sy_comparison *p = &r->primary;
    p->control = p->treatment = p->diff = p->diff_lo = p->diff_hi = NAN;
    p->rel = p->rel_lo = p->rel_hi = p->stat = p->df = p->p_value = NAN;
    r->rate = r->rate_lo = r->rate_hi = NAN;
    r->p_holm = r->p_always = r->p_always_holm = NAN;
    r->cs_lo = r->cs_hi = r->p_beat = r->expected_loss = NAN;
    r->min_sample_reached = 0;
    for (size_t g = 0; g < SY_EXP_GUARD_COUNT; g++)
        r->guard[g] = (sy_exp_guard_verdict){SY_EXP_GUARD_OFF, NAN, NAN, NAN, NAN};
}

/* The variance of a proportion difference (unpooled), NAN when a side is unusable. */
static double prop_diff_var(const sy_prop_moments *c, const sy_prop_moments *t)
{
    if (!(c->trials > 0) || !(t->trials > 0))
        return NAN;
    double pc = c->successes / c->trials, pt = t->successes / t->trials;
    return pc * (1 - pc) / c->trials + pt * (1 - pt) / t->trials;
}

/*
 * An always-valid interval for a guardrail estimate: the mSPRT confidence sequence with
 * the mixing variance set to the squared threshold (the size of effect the guardrail is
 * about). A zero variance (every observation identical) makes the estimate its own
 * interval.
 */
static void guard_interval(double est, double var, double thr, double alpha, double *lo, double *hi)
{
    if (var == 0 && isfinite(est)) {
        *lo = *hi = est;
        return;
    }
    sy_stats_msprt_cs(est, var, thr * thr, alpha, lo, hi);
}

static void guard_decide(sy_exp_guard_verdict *g, int enough)
{
    if (!enough || isnan(g->lo) || isnan(g->hi))
        g->status = SY_EXP_GUARD_PENDING;
    else if (g->lo > g->threshold)
        g->status = SY_EXP_GUARD_BREACHED;
    else if (g->hi <= g->threshold)
        g->status = SY_EXP_GUARD_OK;
    else
        g->status = SY_EXP_GUARD_PENDING;
}

/*
 * The three guardrails of treatment t against control c (see the header for the rule).
 * `enough`: both arms reached min_sample; before that every configured guardrail is
 * PENDING, whatever the estimates say.
 */
static void guardrails(const sy_exp_config *cfg, const sy_exp_variant_input *c,
                       const sy_exp_variant_input *t, int enough, sy_exp_variant_result *r)
{
    sy_exp_guard_verdict *g = &r->guard[SY_EXP_GUARD_COST];
    if (!isnan(cfg->max_cost_increase)) {
        g->threshold = cfg->max_cost_increase;
        const sy_mean_moments *mc = &c->cost, *mt = &t->cost;
        if (mc->n >= 2 && mt->n >= 2 && mc->mean > 0 && isfinite(mc->mean) && isfinite(mt->mean) &&
            mc->var >= 0 && mt->var >= 0 && isfinite(mc->var) && isfinite(mt->var)) {
            double m0 = mc->mean, m1 = mt->mean, v0 = mc->var / mc->n, v1 = mt->var / mt->n;
            g->observed = m1 / m0 - 1;
            double var = v1 / (m0 * m0) + m1 * m1 * v0 / (m0 * m0 * m0 * m0);
            guard_interval(g->observed, var, g->threshold, cfg->alpha, &g->lo, &g->hi);
        }
        guard_decide(g, enough);
    }

    g = &r->guard[SY_EXP_GUARD_P95];
    if (!isnan(cfg->max_p95_increase)) {
        g->threshold = cfg->max_p95_increase;
        if (c->p95_latency > 0 && isfinite(c->p95_latency) && t->p95_latency >= 0 &&
            isfinite(t->p95_latency))
            g->observed = t->p95_latency / c->p95_latency - 1;
        if (!enough || isnan(g->observed))
            g->status = SY_EXP_GUARD_PENDING;
        else
            g->status = g->observed > g->threshold ? SY_EXP_GUARD_BREACHED : SY_EXP_GUARD_OK;
    }

    g = &r->guard[SY_EXP_GUARD_ERRORS];
    if (!isnan(cfg->max_error_increase)) {
        g->threshold = cfg->max_error_increase;
        const sy_prop_moments *ec = &c->errors, *et = &t->errors;
        if (ec->trials > 0 && et->trials > 0 && ec->successes >= 0 && et->successes >= 0 &&
            ec->successes <= ec->trials && et->successes <= et->trials) {
            g->observed = et->successes / et->trials - ec->successes / ec->trials;
            /* Agresti–Caffo: one error and one success added to each arm */
            double n0 = ec->trials + 2, n1 = et->trials + 2;
            double p0 = (ec->successes + 1) / n0, p1 = (et->successes + 1) / n1;
            double var = p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1;
            guard_interval(p1 - p0, var, g->threshold, cfg->alpha, &g->lo, &g->hi);
        }
        guard_decide(g, enough);
    }
}

/* A variant's own primary estimate with its interval (see rate in the header). */
static void variant_rate(const sy_exp_config *cfg, const sy_exp_variant_input *v,
                         sy_exp_variant_result *r)
{
    if (cfg->primary == SY_EXP_METRIC_PROP) {
        const sy_prop_moments *p = &v->primary_prop;
        if (p->trials > 0 && p->successes >= 0 && p->successes <= p->trials)
            r->rate = p->successes / p->trials;
        sy_stats_wilson(p, cfg->alpha, &r->rate_lo, &r->rate_hi);
        return;
    }
    double var;
    sy_stats_ratio_delta(&v->primary_ratio, &r->rate, &var);
    if (var > 0) {
        double half = gsl_cdf_tdist_Qinv(cfg->alpha / 2, v->primary_ratio.n - 1) * sqrt(var);
        r->rate_lo = r->rate - half;
        r->rate_hi = r->rate + half;
    }
}

/*
 * Primary-metric statistics of treatment t: the fixed-horizon comparison, the mSPRT
 * p-value of this look folded into the running minimum, the confidence sequence, and the
 * Bayesian probability to beat control with its expected loss (Beta posteriors for a
 * proportion; for a ratio metric the normal posterior N(diff, var) of a flat prior, as
 * the Beta model would ignore the clustering of requests within units).
 */
static void primary(const sy_exp_config *cfg, const sy_exp_variant_input *c,
                    const sy_exp_variant_input *t, sy_exp_variant_result *r)
{
    double var = NAN;
    if (cfg->primary == SY_EXP_METRIC_PROP) {
        sy_stats_two_prop_z(&c->primary_prop, &t->primary_prop, cfg->alpha, &r->primary);
        if (!isnan(r->primary.diff))
            var = prop_diff_var(&c->primary_prop, &t->primary_prop);
        sy_stats_beta_beat(&c->primary_prop, &t->primary_prop, cfg->prior_a, cfg->prior_b,
                           &r->p_beat, &r->expected_loss);
    } else {
        sy_stats_ratio_welch(&c->primary_ratio, &t->primary_ratio, cfg->alpha, &r->primary);
        double rc, vc, rt, vt;
        sy_stats_ratio_delta(&c->primary_ratio, &rc, &vc);
        sy_stats_ratio_delta(&t->primary_ratio, &rt, &vt);
        var = vc + vt;
        double d = r->primary.diff;
        if (var > 0 && isfinite(d)) {
            double sd = sqrt(var);
            r->p_beat = gsl_cdf_ugaussian_P(d / sd);
            r->expected_loss =
                sd * exp(-0.5 * d * d / var) / sqrt(2 * M_PI) - d * gsl_cdf_ugaussian_P(-d / sd);
        }
    }

    double now = sy_stats_msprt_p(r->primary.diff, var, cfg->tau2);
    double prev = t->prev_p_always;
    if (!(prev >= 0 && prev <= 1))
        prev = NAN;
    r->p_always = isnan(prev) ? now : isnan(now) ? prev : fmin(prev, now);
    sy_stats_msprt_cs(r->primary.diff, var, cfg->tau2, cfg->alpha, &r->cs_lo, &r->cs_hi);
}

/* A treatment that meets every condition of rule 3 (the header's SHIP_VARIANT). */
static int ship_ok(const sy_exp_config *cfg, const sy_exp_variant_result *ctl,
                   const sy_exp_variant_result *r)
{
    if (!ctl->min_sample_reached || !r->min_sample_reached)
        return 0;
    if (!(r->p_always_holm < cfg->alpha) || !(r->primary.diff > 0) ||
        !(r->p_beat >= SY_EXP_SHIP_P_BEAT))
        return 0;
    for (size_t g = 0; g < SY_EXP_GUARD_COUNT; g++)
        if (r->guard[g].status != SY_EXP_GUARD_OK && r->guard[g].status != SY_EXP_GUARD_OFF)
            return 0;
    return 1;
}

/* The observed increase of a guardrail as text: relative ones in %, the error rate in
 * percentage points. */
static void guard_text(char *buf, size_t len, sy_exp_guardrail g, const sy_exp_guard_verdict *v)
{
    if (g == SY_EXP_GUARD_ERRORS)
        snprintf(buf, len, "%+.2f points of error rate, maximum %+.2f", 100 * v->observed,
                 100 * v->threshold);
    else
        snprintf(buf, len, "%+.1f%%, maximum %+.1f%%", 100 * v->observed, 100 * v->threshold);
}

/*
 * KEEP_RUNNING's reason: what the most promising treatment (highest primary estimate)
 * still lacks, in the order of the ship conditions.
 */
static void keep_running_reason(const sy_exp_config *cfg, const sy_exp_variant_input *v,
                                const sy_exp_variant_result *out, size_t k, char *buf, size_t len)
{
    for (size_t i = 0; i < k; i++)
        if (!out[i].min_sample_reached) {
            snprintf(buf, len, "keep running: variant %zu has %g of the %g observations required",
                     i, primary_n(cfg, &v[i]), cfg->min_sample);
            return;
        }
    size_t best = 0;
    for (size_t i = 1; i < k; i++)
        if (best == 0 || out[i].primary.treatment > out[best].primary.treatment)
            best = i;
    const sy_exp_variant_result *r = &out[best];
    if (!(r->p_always_holm < cfg->alpha))
        snprintf(buf, len,
                 "keep running: no significant difference yet (best: variant %zu, lift %+.4g, "
                 "always-valid p = %.3g after Holm)",
                 best, r->primary.diff, r->p_always_holm);
    else if (!(r->primary.diff > 0))
        snprintf(buf, len, "keep running: variant %zu is significantly worse than control", best);
    else if (!(r->p_beat >= SY_EXP_SHIP_P_BEAT))
        snprintf(buf, len,
                 "keep running: variant %zu is significant but P(beat control) = %.3f < %.2f", best,
                 r->p_beat, SY_EXP_SHIP_P_BEAT);
    else
        for (size_t g = 0; g < SY_EXP_GUARD_COUNT; g++)
            if (r->guard[g].status == SY_EXP_GUARD_PENDING) {
                snprintf(buf, len,
                         "keep running: variant %zu wins on the primary metric, but its %s "
                         "guardrail is not yet shown within +%g%s",
                         best, sy_exp_guardrail_name((sy_exp_guardrail)g),
                         100 * r->guard[g].threshold, g == SY_EXP_GUARD_ERRORS ? " points" : "%");
                return;
            }
}

int sy_exp_analyze(const sy_exp_config *cfg, const sy_exp_variant_input *v, size_t k,
                   sy_exp_variant_result *out, sy_exp_verdict *verdict)
{
    if (!cfg || !v || !out || !verdict || k < 2 || !config_valid(cfg))
        return SY_ERR_INVALID;

    double *buf = sy_xmalloc(4 * k * sizeof(double));
    double *units = buf, *weights = buf + k, *p_fixed = buf + 2 * k, *p_alw = buf + 3 * k;

    for (size_t i = 0; i < k; i++) {
        result_clear(&out[i]);
        units[i] = v[i].units;
        weights[i] = v[i].weight;
        out[i].min_sample_reached = primary_n(cfg, &v[i]) >= cfg->min_sample;
        variant_rate(cfg, &v[i], &out[i]);
    }
    out[0].primary.control = out[0].primary.treatment = out[0].rate;

    for (size_t i = 1; i < k; i++) {
        primary(cfg, &v[0], &v[i], &out[i]);
        int enough = out[0].min_sample_reached && out[i].min_sample_reached;
        guardrails(cfg, &v[0], &v[i], enough, &out[i]);
        p_fixed[i - 1] = out[i].primary.p_value;
        p_alw[i - 1] = out[i].p_always;
    }
    sy_stats_holm(p_fixed, k - 1, p_fixed);
    sy_stats_holm(p_alw, k - 1, p_alw);
    for (size_t i = 1; i < k; i++) {
        out[i].p_holm = p_fixed[i - 1];
        out[i].p_always_holm = p_alw[i - 1];
    }

    verdict->srm_p = sy_stats_srm(units, weights, k, &verdict->srm_chi2);
    verdict->srm_warning = verdict->srm_p < SY_EXP_SRM_ALPHA;
    verdict->variant = 0;
    verdict->guardrail = SY_EXP_GUARD_COUNT;
    free(buf);

    /* 1. a breached guardrail */
    for (size_t i = 1; i < k; i++)
        for (size_t g = 0; g < SY_EXP_GUARD_COUNT; g++)
            if (out[i].guard[g].status == SY_EXP_GUARD_BREACHED) {
                char t[96];
                guard_text(t, sizeof(t), (sy_exp_guardrail)g, &out[i].guard[g]);
                verdict->rec = SY_EXP_REC_STOP_GUARDRAIL;
                verdict->variant = i;
                verdict->guardrail = (sy_exp_guardrail)g;
                snprintf(verdict->reason, sizeof(verdict->reason),
                         "stop: variant %zu breaches the %s guardrail (%s)", i,
                         sy_exp_guardrail_name((sy_exp_guardrail)g), t);
                return SY_OK;
            }

    /* 2. sample ratio mismatch */
    if (verdict->srm_warning) {
        verdict->rec = SY_EXP_REC_INVESTIGATE_SRM;
        snprintf(verdict->reason, sizeof(verdict->reason),
                 "do not ship: sample ratio mismatch (chi2 = %.1f, p = %.2g < %g); investigate "
                 "assignment and logging before trusting any result",
                 verdict->srm_chi2, verdict->srm_p, SY_EXP_SRM_ALPHA);
        return SY_OK;
    }

    /* 3. a winner: the qualifying treatment with the highest primary estimate */
    size_t win = 0;
    for (size_t i = 1; i < k; i++)
        if (ship_ok(cfg, &out[0], &out[i]) &&
            (win == 0 || out[i].primary.treatment > out[win].primary.treatment))
            win = i;
    if (win) {
        const sy_exp_variant_result *r = &out[win];
        verdict->rec = SY_EXP_REC_SHIP_VARIANT;
        verdict->variant = win;
        snprintf(verdict->reason, sizeof(verdict->reason),
                 "ship variant %zu: lift %+.4g (%+.1f%%), always-valid p = %.3g after Holm, "
                 "P(beat control) = %.3f, guardrails ok",
                 win, r->primary.diff, 100 * r->primary.rel, r->p_always_holm, r->p_beat);
        return SY_OK;
    }

    /* 4. every treatment significantly worse */
    int all_worse = out[0].min_sample_reached;
    for (size_t i = 1; i < k && all_worse; i++)
        all_worse = out[i].min_sample_reached && out[i].p_always_holm < cfg->alpha &&
                    out[i].primary.diff < 0;
    if (all_worse) {
        verdict->rec = SY_EXP_REC_KEEP_CONTROL;
        snprintf(verdict->reason, sizeof(verdict->reason),
                 "keep control: every variant is significantly worse on the primary metric");
        return SY_OK;
    }

    /* 5. otherwise */
    verdict->rec = SY_EXP_REC_KEEP_RUNNING;
    snprintf(verdict->reason, sizeof(verdict->reason), "keep running");
    keep_running_reason(cfg, v, out, k, verdict->reason, sizeof(verdict->reason));
    return SY_OK;
}
