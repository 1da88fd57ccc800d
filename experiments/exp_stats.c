/*
 * exp_stats: the statistics behind an experiment's results page. See exp_stats.h for the
 * contracts and docs/experiments-statistics.md for the formulas and their sources.
 *
 * Every function validates its moments first and leaves a quantity at NAN when it cannot
 * be computed, so no GSL routine is ever called outside its domain: the library never
 * relies on the program having turned GSL's abort-on-error handler off. In particular the
 * adaptive integration behind the Beta comparison is this file's own (GSL's 15-point
 * Gauss–Kronrod rule, which has no error path, driven by a bounded recursion), and GSL's
 * incomplete Beta function is only called where its continued fraction converges.
 */
#include "exp_stats.h"

#include "sy_common.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_sf_gamma.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>

static int valid_alpha(double alpha)
{
    return alpha > 0 && alpha < 1;
}

/* A proportion is usable when it has at least one trial and 0 ≤ successes ≤ trials. */
static int valid_prop(const sy_prop_moments *p)
{
    return p && isfinite(p->trials) && isfinite(p->successes) && p->trials > 0 &&
           p->successes >= 0 && p->successes <= p->trials;
}

static void comparison_clear(sy_comparison *out)
{
    out->control = out->treatment = NAN;
    out->diff = out->diff_lo = out->diff_hi = NAN;
    out->rel = out->rel_lo = out->rel_hi = NAN;
    out->stat = out->df = out->p_value = NAN;
}

/*
 * The relative lift (t − c)/c and its interval, by the delta method on the ratio t/c of
 * two independent estimates with variances var_c and var_t:
 *   Var(t/c) ≈ var_t/c² + t²·var_c/c⁴.
 * `crit` is the same critical value as the absolute interval's (normal or Welch t), so the
 * two intervals are read at one confidence level. A zero control (no lift defined) or a
 * zero variance leaves the fields NAN.
 */
static void fill_relative(sy_comparison *out, double var_c, double var_t, double crit)
{
    double c = out->control, t = out->treatment;
    if (!(c != 0) || !isfinite(c) || !isfinite(t))
        return;
    out->rel = (t - c) / c;
    double v = var_t / (c * c) + t * t * var_c / (c * c * c * c);
    if (!(v > 0) || !isfinite(v) || !isfinite(crit))
        return;
    double half = crit * sqrt(v);
    out->rel_lo = out->rel - half;
    out->rel_hi = out->rel + half;
}

void sy_stats_wilson(const sy_prop_moments *p, double alpha, double *lo, double *hi)
{
    *lo = *hi = NAN;
    if (!valid_prop(p) || !valid_alpha(alpha))
        return;
    double n = p->trials, ph = p->successes / n;
    double z = gsl_cdf_ugaussian_Qinv(alpha / 2);
    double z2n = z * z / n;
    double center = (ph + z2n / 2) / (1 + z2n);
    double half = z / (1 + z2n) * sqrt(ph * (1 - ph) / n + z2n / (4 * n));
    *lo = center - half > 0 ? center - half : 0;
    *hi = center + half < 1 ? center + half : 1;
}

/*
 * Two-proportion z-test. The statistic uses the pooled proportion, the null hypothesis's
 * estimate of the common rate; the interval of the difference uses each side's own
 * variance, since it is not computed under the null. Both sides all-success or
 * all-failure (zero pooled variance) leave the statistic and p-value NAN.
 */
void sy_stats_two_prop_z(const sy_prop_moments *control, const sy_prop_moments *treatment,
                         double alpha, sy_comparison *out)
{
    comparison_clear(out);
    if (!valid_prop(control) || !valid_prop(treatment) || !valid_alpha(alpha))
        return;
    double n1 = control->trials, n2 = treatment->trials;
    double p1 = control->successes / n1, p2 = treatment->successes / n2;
    out->control = p1;
    out->treatment = p2;
    out->diff = p2 - p1;

    double pool = (control->successes + treatment->successes) / (n1 + n2);
    double se_pool = sqrt(pool * (1 - pool) * (1 / n1 + 1 / n2));
    if (se_pool > 0) {
        out->stat = out->diff / se_pool;
        out->p_value = erfc(fabs(out->stat) / M_SQRT2);
    }

    double z = gsl_cdf_ugaussian_Qinv(alpha / 2);
    double v1 = p1 * (1 - p1) / n1, v2 = p2 * (1 - p2) / n2;
    if (v1 + v2 > 0) {
        double half = z * sqrt(v1 + v2);
        out->diff_lo = out->diff - half;
        out->diff_hi = out->diff + half;
    }
    fill_relative(out, v1, v2, z);
}

/*
 * Welch's test on two estimates with variances v_c, v_t (already divided by their sample
 * sizes) and n_c − 1, n_t − 1 degrees of freedom each: t = (t − c)/√(v_c + v_t), df by
 * Welch–Satterthwaite (v_c + v_t)² / (v_c²/(n_c − 1) + v_t²/(n_t − 1)). Shared by the
 * plain means and the delta-method ratio metrics.
 */
static void welch_core(double est_c, double v_c, double n_c, double est_t, double v_t, double n_t,
                       double alpha, sy_comparison *out)
{
    out->control = est_c;
    out->treatment = est_t;
    out->diff = est_t - est_c;
    double se2 = v_c + v_t;
    if (!(se2 > 0) || !isfinite(se2) || !isfinite(out->diff))
        return;
    /* Welch–Satterthwaite df lies in [min(n_c, n_t) − 1, n_c + n_t − 2]; clamping only
     * absorbs rounding (an underflowed denominator would otherwise give infinity) */
    double df = se2 * se2 / (v_c * v_c / (n_c - 1) + v_t * v_t / (n_t - 1));
    double df_lo = fmin(n_c, n_t) - 1, df_hi = n_c + n_t - 2;
    out->df = isnan(df) ? df_hi : df < df_lo ? df_lo : df > df_hi ? df_hi : df;
    out->stat = out->diff / sqrt(se2);
    out->p_value = 2 * gsl_cdf_tdist_Q(fabs(out->stat), out->df);
    if (out->p_value > 1)
        out->p_value = 1;
    double crit = gsl_cdf_tdist_Qinv(alpha / 2, out->df);
    double half = crit * sqrt(se2);
    out->diff_lo = out->diff - half;
    out->diff_hi = out->diff + half;
    fill_relative(out, v_c, v_t, crit);
}

static int valid_mean(const sy_mean_moments *m)
{
    return m && isfinite(m->n) && isfinite(m->mean) && isfinite(m->var) && m->n >= 2 && m->var >= 0;
}

void sy_stats_welch_t(const sy_mean_moments *control, const sy_mean_moments *treatment,
                      double alpha, sy_comparison *out)
{
    comparison_clear(out);
    if (!valid_mean(control) || !valid_mean(treatment) || !valid_alpha(alpha))
        return;
    welch_core(control->mean, control->var / control->n, control->n, treatment->mean,
               treatment->var / treatment->n, treatment->n, alpha, out);
}

/*
 * Delta method for R = Σy/Σx over n units. With x̄ = Σx/n and the per-unit residual
 * d = y − R·x (whose sum is exactly zero),
 *   Var(R) ≈ s_d² / (n·x̄²),   s_d² = Σd²/(n − 1) = (Σy² − 2R·Σxy + R²·Σx²)/(n − 1),
 * which is the usual (s_y² − 2R·s_xy + R²·s_x²)/(n·x̄²) without the mean corrections
 * (they cancel). A negative s_d² from rounding is clamped to zero.
 */
void sy_stats_ratio_delta(const sy_ratio_moments *m, double *ratio, double *var)
{
    *ratio = *var = NAN;
    if (!m || !isfinite(m->n) || !(m->n >= 2) || !isfinite(m->sum_x) || !(m->sum_x != 0) ||
        !isfinite(m->sum_y) || !isfinite(m->sum_xx) || !isfinite(m->sum_yy) || !isfinite(m->sum_xy))
        return;
    double r = m->sum_y / m->sum_x;
    double xbar = m->sum_x / m->n;
    double ss = m->sum_yy - 2 * r * m->sum_xy + r * r * m->sum_xx;
    if (ss < 0)
        ss = 0;
    *ratio = r;
    *var = ss / ((m->n - 1) * m->n * xbar * xbar);
}

void sy_stats_ratio_welch(const sy_ratio_moments *control, const sy_ratio_moments *treatment,
                          double alpha, sy_comparison *out)
{
    comparison_clear(out);
    if (!control || !treatment || !valid_alpha(alpha))
        return;
    double rc, vc, rt, vt;
    sy_stats_ratio_delta(control, &rc, &vc);
    sy_stats_ratio_delta(treatment, &rt, &vt);
    if (isnan(rc) || isnan(rt))
        return;
    welch_core(rc, vc, control->n, rt, vt, treatment->n, alpha, out);
}

/*
 * log Λ of the normal-mixture SPRT: with diff ~ N(θ, var) and θ ~ N(0, τ²) under the
 * alternative, the likelihood ratio against θ = 0 is
 *   Λ = √(var/(var + τ²)) · exp(τ²·diff² / (2·var·(var + τ²))).
 */
static double msprt_log_lambda(double diff, double var, double tau2)
{
    return 0.5 * log(var / (var + tau2)) + tau2 * diff * diff / (2 * var * (var + tau2));
}

static int valid_msprt(double diff, double var, double tau2)
{
    return isfinite(diff) && isfinite(var) && var > 0 && isfinite(tau2) && tau2 > 0;
}

double sy_stats_msprt_p(double diff, double var, double tau2)
{
    if (!valid_msprt(diff, var, tau2))
        return NAN;
    double ll = msprt_log_lambda(diff, var, tau2);
    return ll > 0 ? exp(-ll) : 1.0;
}

/*
 * Λ(θ0) < 1/α solved for θ0: the mixture statistic is a Gaussian in diff − θ0, so the
 * set is the interval diff ± √(2·var·(var + τ²)/τ² · (log(1/α) + ½·log((var + τ²)/var))).
 */
void sy_stats_msprt_cs(double diff, double var, double tau2, double alpha, double *lo, double *hi)
{
    *lo = *hi = NAN;
    if (!valid_msprt(diff, var, tau2) || !valid_alpha(alpha))
        return;
    double k = -log(alpha) + 0.5 * log((var + tau2) / var);
    double half = sqrt(2 * var * (var + tau2) / tau2 * k);
    *lo = diff - half;
    *hi = diff + half;
}

/* ---- Beta comparison ------------------------------------------------------------------ */

/* Above this smaller parameter GSL's incomplete Beta continued fraction may exhaust its
 * iterations (it does from about 9e5); the density is then a smooth narrow bump, which
 * the quadrature below integrates instead. */
#define SY_BETA_GSL_MAX 2e5
/* Bounds of the adaptive quadrature: recursion depth (intervals down to 2^-40 of a
 * panel) and rule applications per integral. */
#define SY_QUAD_DEPTH  40
#define SY_QUAD_BUDGET 4000

/* Half-width, in standard deviations, of the grid of a Beta with both parameters above
 * SY_BETA_GSL_MAX: mean/sd ≥ √a > 40 then, so the grid lies inside (0, 1), and such a
 * density is Gaussian to within a skewness below 0.005, with no mass to speak of beyond
 * 40 sd (a Gaussian's is 1e-348). */
#define SY_BETA_GRID 40

typedef struct beta_dist {
    double a, b;
    double lnb; /* ln B(a, b) */
    double mean, sd;
    int grid;                          /* tail[] is set: GSL's incomplete Beta is not used */
    double g0;                         /* grid origin mean − SY_BETA_GRID·sd, step sd */
    double norm;                       /* density factor: 1, or 1 / the tabulated mass */
    double tail[2 * SY_BETA_GRID + 1]; /* P(X > g0 + j·sd) */
} beta_dist;

/*
 * The density at x, with y = 1 − x passed alongside so that a point within rounding of
 * 1 keeps its precision (the mapped edge panels below compute y directly). In log space,
 * since x^(a−1)(1−x)^(b−1)/B(a,b) overflows for large a, b; each logarithm from whichever
 * of x, y is the smaller (log1p of the other otherwise).
 */
static double beta_pdf(const beta_dist *d, double x, double y)
{
    if (!(x > 0 && y > 0))
        return 0;
    double lx = x < 0.5 ? log(x) : log1p(-y);
    double ly = y < 0.5 ? log(y) : log1p(-x);
    return d->norm * exp((d->a - 1) * lx + (d->b - 1) * ly - d->lnb);
}

static double beta_pdf_fn(double x, void *arg)
{
    return beta_pdf(arg, x, 1 - x);
}

/* One 15-point Gauss–Kronrod rule: exact to rounding on a one-sd cell of a smooth bump. */
static double qk15_once(const gsl_function *f, double lo, double hi)
{
    double res, err, resabs, resasc;
    gsl_integration_qk15(f, lo, hi, &res, &err, &resabs, &resasc);
    return res;
}

/*
 * A Beta distribution ready for the comparison. When both parameters exceed
 * SY_BETA_GSL_MAX (GSL's incomplete Beta may not converge), the upper tail is tabulated
 * instead at mean + j·sd, j = −40..40, one Gauss–Kronrod rule per cell, and the density
 * is normalised by the tabulated total, so that rounding in ln B(a, b) and in the
 * log-density (terms of order 1e7 for 1e7 trials) cancels.
 */
static void beta_make(beta_dist *d, double a, double b)
{
    d->a = a;
    d->b = b;
    d->lnb = gsl_sf_lnbeta(a, b);
    d->mean = a / (a + b);
    d->sd = sqrt(a * b / ((a + b) * (a + b) * (a + b + 1)));
    d->norm = 1;
    d->grid = a > SY_BETA_GSL_MAX && b > SY_BETA_GSL_MAX;
    if (!d->grid)
        return;
    gsl_function f = {beta_pdf_fn, d};
    size_t n = 2 * SY_BETA_GRID;
    d->g0 = d->mean - SY_BETA_GRID * d->sd;
    d->tail[n] = 0;
    for (size_t j = n; j-- > 0;) {
        double lo = d->g0 + (double)j * d->sd;
        d->tail[j] = d->tail[j + 1] + qk15_once(&f, lo, lo + d->sd);
    }
    d->norm = 1 / d->tail[0];
    for (size_t j = 0; j <= n; j++)
        d->tail[j] *= d->norm;
    /* from here on beta_pdf is normalised by the same total */
}

/*
 * ∫ f over [lo, hi] by GSL's 15-point Gauss–Kronrod rule, bisecting while its error
 * estimate exceeds tol (halved for each half). An interval is also accepted when the
 * estimate is down to rounding (1e3·ε·∫|f|, which no bisection improves), at the depth
 * bound, or once *budget rule applications are spent: it always terminates, in bounded
 * time, with the best estimate it has.
 */
static double quad_adapt(const gsl_function *f, double lo, double hi, double tol, int depth,
                         int *budget)
{
    double res, err, resabs, resasc;
    gsl_integration_qk15(f, lo, hi, &res, &err, &resabs, &resasc);
    --*budget;
    if (err <= tol || err <= 1e3 * DBL_EPSILON * resabs || depth >= SY_QUAD_DEPTH || *budget <= 0 ||
        !isfinite(res))
        return res;
    double mid = 0.5 * (lo + hi);
    double left = quad_adapt(f, lo, mid, tol / 2, depth + 1, budget);
    return left + quad_adapt(f, mid, hi, tol / 2, depth + 1, budget);
}

/* quad_adapt with a fresh budget */
static double quad(const gsl_function *f, double lo, double hi, double tol)
{
    int budget = SY_QUAD_BUDGET;
    return quad_adapt(f, lo, hi, tol, 0, &budget);
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/*
 * Panel boundaries for integrating against the densities in `d`: each density's mean
 * ± {1, 3, 6, 12, 40} standard deviations, clipped to [0, 1], sorted and deduplicated,
 * with 0, 1/2 and 1 always included (the panels only guide the quadrature: nothing
 * outside them is dropped; 1/2 keeps the two edges in separate panels). Returns the
 * count written to pts (at most 3 + 11·nd).
 */
static size_t beta_panels(const beta_dist *const *d, size_t nd, double *pts)
{
    static const double k[] = {0, 1, 3, 6, 12, 40};
    size_t n = 0;
    pts[n++] = 0;
    pts[n++] = 0.5;
    pts[n++] = 1;
    for (size_t i = 0; i < nd; i++)
        for (size_t j = 0; j < SY_ARRAY_LEN(k); j++)
            for (int s = -1; s <= 1; s += 2) {
                double x = d[i]->mean + s * k[j] * d[i]->sd;
                if (x > 0 && x < 1)
                    pts[n++] = x;
                if (j == 0)
                    break;
            }
    qsort(pts, n, sizeof(double), cmp_double);
    size_t m = 1;
    for (size_t i = 1; i < n; i++)
        if (pts[i] > pts[m - 1])
            pts[m++] = pts[i];
    return m;
}

/*
 * Upper tail Q(x) = P(X > x), y = 1 − x: GSL's regularized incomplete Beta (as the lower
 * tail of 1 − X ~ Beta(b, a) at y above the middle, for precision near 1), or from the
 * table (the cells above x's cell plus one rule over the rest of its cell).
 */
static double beta_q(const beta_dist *d, double x, double y)
{
    if (!(x > 0))
        return 1;
    if (!(y > 0))
        return 0;
    if (!d->grid)
        return x <= 0.5 ? gsl_cdf_beta_Q(x, d->a, d->b) : gsl_cdf_beta_P(y, d->b, d->a);
    double u = (x - d->g0) / d->sd;
    if (u <= 0)
        return 1;
    if (u >= 2 * SY_BETA_GRID)
        return 0;
    size_t j = (size_t)u;
    gsl_function f = {beta_pdf_fn, (void *)d};
    double q = d->tail[j + 1] + qk15_once(&f, x, d->g0 + (double)(j + 1) * d->sd);
    return q < 0 ? 0 : q > 1 ? 1 : q;
}

/*
 * The two outer integrands over the treatment's density f_T(t):
 *   P(T > C)         = ∫ f_T(t)·(1 − Q_C(t)) dt
 *   E[max(C − T, 0)] = ∫ f_T(t)·E[(C − t)⁺] dt,
 * with E[(C − t)⁺] = E[C·1{C > t}] − t·Q_C(t) = (m_C − t)·Q_C(t) + t(1 − t)·f_C(t)/(a + b):
 * E[C·1{C > t}] = m_C·Q_{Beta(a+1, b)}(t), and Q_{Beta(a+1,b)} − Q_{Beta(a,b)} =
 * t^a(1 − t)^b/(a·B(a, b)) (the incomplete Beta recurrence).
 */
typedef struct beta_pair {
    const beta_dist *c, *t;
    int loss; /* 0: P(T > C), 1: expected loss */
} beta_pair;

/* The integrand at x (y = 1 − x), given the treatment's density there (times any
 * Jacobian of a change of variable). */
static double pair_eval(const beta_pair *p, double x, double y, double ft)
{
    if (!(ft > 0))
        return 0;
    double q = beta_q(p->c, x, y);
    if (!p->loss)
        return ft * (1 - q);
    const beta_dist *c = p->c;
    double tail = (c->mean - x) * q + x * y * beta_pdf(c, x, y) / (c->a + c->b);
    return ft * (tail > 0 ? tail : 0);
}

static double pair_fn(double x, void *arg)
{
    const beta_pair *p = arg;
    return pair_eval(p, x, 1 - x, beta_pdf(p->t, x, 1 - x));
}

/*
 * The panel touching 0 (or 1) of an integral over a Beta(a, b) density with a < 1 (or
 * b < 1) has an integrable singularity there. The substitution x = w·u^(1/a) (w: panel
 * width; mirrored, 1 − x = w·u^(1/b), at 1) cancels it exactly: the density times the
 * Jacobian is w^a/a · (1 − x)^(b − 1)/B(a, b), free of u's powers, so it is computed in
 * that form (the powers themselves underflow for small a). The small coordinate s is
 * computed directly, keeping the mass within rounding of the edge.
 */
typedef struct panel_map {
    const beta_pair *pair;
    double w; /* panel width */
    int at_one;
} panel_map;

static double panel_mapped(double u, void *arg)
{
    const panel_map *m = arg;
    const beta_dist *d = m->pair->t;
    double e = m->at_one ? d->b : d->a; /* the singular edge's exponent */
    double o = m->at_one ? d->a : d->b; /* the other one */
    double s = m->w * pow(u, 1 / e);    /* distance from the edge */
    double fj = d->norm * exp(e * log(m->w) - log(e) + (o - 1) * log1p(-s) - d->lnb);
    return m->at_one ? pair_eval(m->pair, 1 - s, s, fj) : pair_eval(m->pair, s, 1 - s, fj);
}

/* ∫_0^1 over the treatment's density, panel by panel (pts from beta_panels). */
static double beta_outer(const beta_pair *pair, const double *pts, size_t n, double tol)
{
    const beta_dist *d = pair->t;
    double sum = 0, ptol = tol / (double)(n - 1);
    for (size_t i = 0; i + 1 < n; i++) {
        double lo = pts[i], hi = pts[i + 1];
        if ((lo == 0 && d->a < 1) || (hi == 1 && d->b < 1)) {
            panel_map m = {pair, hi - lo, lo != 0};
            gsl_function g = {panel_mapped, &m};
            sum += quad(&g, 0, 1, ptol);
        } else {
            gsl_function f = {pair_fn, (void *)pair};
            sum += quad(&f, lo, hi, ptol);
        }
    }
    return sum;
}

/*
 * Both posteriors are Beta(prior + successes, prior + failures). Each quantity is one
 * integral over the treatment's density, split into panels around both densities'
 * means so a narrow density (tens of thousands of trials) is never stepped over, and
 * integrated adaptively to 1e-10 absolute.
 */
void sy_stats_beta_beat(const sy_prop_moments *control, const sy_prop_moments *treatment,
                        double prior_a, double prior_b, double *p_beat, double *expected_loss)
{
    *p_beat = *expected_loss = NAN;
    if (!isfinite(prior_a) || !isfinite(prior_b) || !(prior_a > 0) || !(prior_b > 0))
        return;
    if (!control || !treatment || !isfinite(control->trials) || !isfinite(treatment->trials) ||
        !isfinite(control->successes) || !isfinite(treatment->successes) ||
        control->successes < 0 || treatment->successes < 0 ||
        control->successes > control->trials || treatment->successes > treatment->trials)
        return;
    beta_dist c, t;
    beta_make(&c, prior_a + control->successes, prior_b + control->trials - control->successes);
    beta_make(&t, prior_a + treatment->successes,
              prior_b + treatment->trials - treatment->successes);

    const beta_dist *both[2] = {&t, &c};
    double pts[3 + 11 * 2];
    size_t n = beta_panels(both, 2, pts);
    beta_pair beat = {&c, &t, 0}, loss = {&c, &t, 1};
    double pb = beta_outer(&beat, pts, n, 1e-10);
    double el = beta_outer(&loss, pts, n, 1e-10);
    *p_beat = pb < 0 ? 0 : pb > 1 ? 1 : pb;
    *expected_loss = el < 0 ? 0 : el;
}

/* ---- Checks ------------------------------------------------------------------------------ */

double sy_stats_srm(const double *observed, const double *weights, size_t k, double *chi2)
{
    if (chi2)
        *chi2 = NAN;
    if (!observed || !weights || k < 2)
        return NAN;
    double total = 0, wsum = 0;
    for (size_t i = 0; i < k; i++) {
        if (!isfinite(observed[i]) || observed[i] < 0 || !isfinite(weights[i]) || !(weights[i] > 0))
            return NAN;
        total += observed[i];
        wsum += weights[i];
    }
    if (!(total > 0) || !isfinite(wsum))
        return NAN;
    double x2 = 0;
    for (size_t i = 0; i < k; i++) {
        double e = total * weights[i] / wsum;
        x2 += (observed[i] - e) * (observed[i] - e) / e;
    }
    if (chi2)
        *chi2 = x2;
    return gsl_cdf_chisq_Q(x2, (double)(k - 1));
}

/*
 * Holm's step-down: sort the m usable p-values ascending, p_(j)·(m − j) for j = 0..m−1,
 * then a running maximum (so the adjusted values are monotone in the raw ones) capped
 * at 1. A NAN p-value (a test that could not be run) stays NAN and does not count in m:
 * a hypothesis that is never tested is never rejected, so family-wise error control
 * over the tested ones is what is left. Ties keep index order, which gives them equal
 * adjusted values through the running maximum.
 */
void sy_stats_holm(const double *p, size_t k, double *adjusted)
{
    if (k == 0)
        return;
    size_t *idx = sy_xmalloc(k * sizeof(*idx));
    double *raw = sy_xmalloc(k * sizeof(*raw));
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        raw[i] = p[i];
        if (!isnan(p[i]))
            idx[m++] = i;
    }
    /* insertion sort: k is a handful of variants, and it is stable */
    for (size_t i = 1; i < m; i++) {
        size_t v = idx[i], j = i;
        while (j > 0 && raw[idx[j - 1]] > raw[v]) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
    for (size_t i = 0; i < k; i++)
        adjusted[i] = NAN;
    double run = 0;
    for (size_t j = 0; j < m; j++) {
        double a = raw[idx[j]] * (double)(m - j);
        if (a > 1)
            a = 1;
        if (a > run)
            run = a;
        adjusted[idx[j]] = run;
    }
    free(raw);
    free(idx);
}
