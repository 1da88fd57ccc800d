/*
 * exp_stats: the statistics of an experiment's results (DESIGN.md §8), pure C + GSL.
 *
 * Inputs are per-variant aggregates (moments), never raw events, so the engine's store
 * thread can maintain them incrementally and persist them. Every function is pure: no
 * I/O, no globals, no allocation that outlives the call. Two-sided tests throughout;
 * `alpha` is the significance level (0.05 → 95% intervals). A quantity that cannot be
 * computed (too few observations, zero variance, a zero control mean for a relative
 * lift) is NAN, never a crash.
 *
 * Variant moments come in three shapes:
 *   - a proportion: successes out of trials (thumbs-up rate, error rate);
 *   - a mean: n, mean, sample variance (cost per request, tokens, latency);
 *   - a ratio of per-unit sums (when the randomisation unit is a user or conversation
 *     and the metric is per request: Σy/Σx over units), analysed with the delta method.
 */
#ifndef SY_EXP_STATS_H
#define SY_EXP_STATS_H

#include <stddef.h>

typedef struct sy_prop_moments {
    double successes;
    double trials;
} sy_prop_moments;

typedef struct sy_mean_moments {
    double n;
    double mean;
    double var; /* unbiased sample variance (n − 1 denominator) */
} sy_mean_moments;

/* Per-unit sums for a ratio metric R = Σy / Σx over n units (x: e.g. requests or
 * ratings of the unit, y: e.g. cost or thumbs-up of the unit). */
typedef struct sy_ratio_moments {
    double n; /* units */
    double sum_x, sum_y;
    double sum_xx, sum_yy, sum_xy;
} sy_ratio_moments;

/* A comparison of treatment against control. */
typedef struct sy_comparison {
    double control, treatment; /* the two point estimates */
    double diff, diff_lo, diff_hi; /* absolute lift treatment − control with its CI */
    double rel, rel_lo, rel_hi;    /* relative lift diff / control with its CI (delta
                                      method on the ratio of the two estimates) */
    double stat;                   /* z or t statistic */
    double df;                     /* Welch–Satterthwaite df; NAN for a z-test */
    double p_value;                /* two-sided */
} sy_comparison;

/* Wilson score interval of a proportion. */
void sy_stats_wilson(const sy_prop_moments *p, double alpha, double *lo, double *hi);

/* Two-proportion z-test (pooled standard error for the statistic, unpooled for the
 * interval of the difference). */
void sy_stats_two_prop_z(const sy_prop_moments *control, const sy_prop_moments *treatment,
                         double alpha, sy_comparison *out);

/* Welch's t-test on two means (Welch–Satterthwaite degrees of freedom). */
void sy_stats_welch_t(const sy_mean_moments *control, const sy_mean_moments *treatment,
                      double alpha, sy_comparison *out);

/* Delta-method mean and variance of a ratio metric: *ratio = Σy/Σx and *var the variance
 * of that estimate. */
void sy_stats_ratio_delta(const sy_ratio_moments *m, double *ratio, double *var);

/* Welch t on two ratio metrics, each variance from the delta method (df from Welch–
 * Satterthwaite with each side's units − 1). */
void sy_stats_ratio_welch(const sy_ratio_moments *control, const sy_ratio_moments *treatment,
                          double alpha, sy_comparison *out);

/*
 * Mixture sequential probability ratio test (Johari et al., "Peeking at A/B tests", 2017)
 * for an estimate `diff` of θ with variance `var`, H0: θ = 0, normal mixing
 * distribution N(0, tau2). Returns 1/Λ capped at 1: the always-valid p-value of THIS
 * look. The always-valid p-value of an experiment is the running minimum over its looks
 * (the caller keeps it). tau2 <= 0 → NAN.
 */
double sy_stats_msprt_p(double diff, double var, double tau2);

/* The matching (1 − alpha) confidence sequence for θ: every θ0 with Λ(θ0) < 1/alpha. */
void sy_stats_msprt_cs(double diff, double var, double tau2, double alpha, double *lo,
                       double *hi);

/* Beta-binomial comparison with independent Beta(prior_a, prior_b) priors:
 * P(p_treatment > p_control) and the expected loss of shipping treatment,
 * E[max(p_control − p_treatment, 0)], both computed to at least 1e-6 absolute. */
void sy_stats_beta_beat(const sy_prop_moments *control, const sy_prop_moments *treatment,
                        double prior_a, double prior_b, double *p_beat, double *expected_loss);

/* Sample-ratio-mismatch χ² goodness of fit of k observed counts to the design weights
 * (any positive scale). Returns the p-value; *chi2 receives the statistic. */
double sy_stats_srm(const double *observed, const double *weights, size_t k, double *chi2);

/* Holm–Bonferroni: adjusted[i] for p[i] (monotone, capped at 1). adjusted may alias p. */
void sy_stats_holm(const double *p, size_t k, double *adjusted);

#endif
