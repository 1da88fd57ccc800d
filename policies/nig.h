/*
 * nig: conjugate Normal–inverse-gamma posterior of one scalar signal y ~ N(μ, σ²).
 *
 * Used for log latency, log(1 + output tokens) and log(1 + cost in µUSD) per arm.
 * Prior: σ² ~ InvGamma(a0, b0), μ | σ² ~ N(m0, σ²/κ0). With weighted data sums
 * n = Σw, s1 = Σw·y, s2 = Σw·y² the posterior is (Gelman et al., BDA §3.3):
 *   κ = κ0 + n,  m = (κ0·m0 + s1)/κ,  a = a0 + n/2,
 *   b = b0 + ½(s2 + κ0·m0² − κ·m²)      (= b0 + ½ weighted SSE + shrinkage term).
 *
 * Thompson draws of the arm's expected value E[e^y] = e^(μ + σ²/2) sample μ from
 * N(m, σ̂²/κ) with the plug-in variance σ̂² = b/a = 1/E[σ⁻²] rather than drawing σ²
 * too: these signals are observed on every request, so their variance posterior is
 * tight within tens of requests, and skipping the gamma draw saves ~35 ns per arm and
 * signal on the hot path. The exact posterior (m, κ, a, b) stays available.
 */
#ifndef SY_NIG_H
#define SY_NIG_H

typedef struct sy_nig_prior {
    double m0, kappa0, a0, b0;
} sy_nig_prior;

/* Data part only, with the clock stamp it was last decayed to. */
typedef struct sy_nig_stats {
    double t, n, s1, s2;
} sy_nig_stats;

typedef struct sy_nig_post {
    double m, kappa, a, b;
} sy_nig_post;

/* e^(base + sd·z), z ~ N(0,1): the posterior of an arm's expected e^y. */
typedef struct sy_lognormal_mean {
    double base; /* m + σ̂²/2 */
    double sd;   /* σ̂/√κ */
} sy_lognormal_mean;

/* Prior centred on y = center, with log-scale spread `spread` (σ̂² = spread² a priori)
 * and worth `strength` observations: κ0 = strength, a0 = strength/2, b0 = a0·spread². */
void sy_nig_prior_make(sy_nig_prior *pr, double center, double spread, double strength);
void sy_nig_add(sy_nig_stats *s, double y, double w);
void sy_nig_scale(sy_nig_stats *s, double f);
/* b is floored at b0, its value for any non-negative weights (guards rounding). */
void sy_nig_posterior(const sy_nig_prior *pr, const sy_nig_stats *s, sy_nig_post *out);
void sy_nig_lognormal_mean(const sy_nig_post *p, sy_lognormal_mean *out);
/* Posterior mean of e^(base + sd·z): e^(base + sd²/2). */
double sy_lognormal_expect(const sy_lognormal_mean *l);

#endif
