/*
 * linreg: Bayesian linear regression of quality on the context, with a
 * Normal–inverse-gamma posterior — the model behind linear Thompson sampling (Agrawal &
 * Goyal, 2013) and LinUCB (Li et al., 2010).
 *
 * Model: r = xᵀθ + e, e ~ N(0, σ²); prior σ² ~ InvGamma(a0, b0), θ | σ² ~ N(μ0, σ²Λ0⁻¹)
 * with Λ0 = diag(bias_precision, ridge, …, ridge) and μ0 = bias_mean·e0: coordinate 0 is
 * the constant bias feature, so a priori every context predicts bias_mean. With weighted
 * data sums A = Σw·x·xᵀ, c = Σw·r·x, n = Σw, S = Σw·r² the posterior is
 *   Λ = Λ0 + A,   μ = Λ⁻¹(Λ0μ0 + c),   a = a0 + n/2,   b = b0 + ½(S + μ0ᵀΛ0μ0 − μᵀΛμ).
 * With μ0 = 0 and Λ0 = λI, μ is the ridge-regression solution.
 *
 * The posterior keeps the Cholesky factor Λ = L·Lᵀ (computed once per snapshot), its
 * lower triangle packed column by column (column j: L_jj … L_(d−1)j, d(d+1)/2 doubles in
 * all) with the reciprocal diagonal, which is the layout the hot-path forward
 * substitution streams. Nothing ever inverts Λ.
 *
 * The same stats serve the non-contextual Beta model through n and sum_r alone
 * (d = 0: xr and xx are NULL).
 */
#ifndef SY_LINREG_H
#define SY_LINREG_H

#include <gsl/gsl_rng.h>
#include <stddef.h>

typedef struct sy_linreg_stats {
    double t;      /* clock stamp the data was last decayed to */
    double n;      /* Σw */
    double sum_r;  /* Σw·r */
    double sum_rr; /* Σw·r² */
    double *xr;    /* Σw·r·x, d entries */
    double *xx;    /* Σw·x·xᵀ, upper triangle packed row by row, d(d+1)/2 entries */
} sy_linreg_stats;

typedef struct sy_linreg_prior {
    double bias_mean, bias_precision, ridge, a0, b0;
} sy_linreg_prior;

/* Storage (ut, inv_diag, mu) is owned by whoever built the posterior. */
typedef struct sy_linreg_post {
    size_t d;
    double *ut;       /* d(d+1)/2: L packed column by column (= Lᵀ's rows) */
    double *inv_diag; /* d: 1/L_ii */
    double *mu;       /* d: posterior mean */
    double a, b;      /* σ² ~ InvGamma(a, b) */
} sy_linreg_post;

size_t sy_linreg_packed_len(size_t d);
void sy_linreg_stats_init(sy_linreg_stats *s, size_t d); /* zeroed, allocated */
void sy_linreg_stats_free(sy_linreg_stats *s);
void sy_linreg_add(sy_linreg_stats *s, size_t d, const double *x, double r, double w);
void sy_linreg_scale(sy_linreg_stats *s, size_t d, double f);

/*
 * Compute the posterior of the data in s, every sum multiplied by `decay` (the discount
 * since s->t; 1 for none), into out (whose arrays hold d(d+1)/2, d and d doubles); work
 * holds d doubles. Returns SY_OK, or SY_ERR_STATE when Λ is not positive definite
 * (only possible after inconsistent negative weights): out is then the prior alone.
 */
int sy_linreg_posterior(const sy_linreg_prior *pr, const sy_linreg_stats *s, size_t d, double decay,
                        double *work, sy_linreg_post *out);

/*
 * The posterior of xᵀθ given σ²: N(xᵀμ, σ²·xᵀΛ⁻¹x). Sets *mean = xᵀμ and
 * *scale = sqrt(xᵀΛ⁻¹x) = ‖L⁻¹x‖ by one forward substitution (d²/2 multiply-adds);
 * v receives L⁻¹x (d doubles of scratch).
 */
void sy_linreg_project(const sy_linreg_post *p, const double *x, double *v, double *mean,
                       double *scale);

/* σ² ~ InvGamma(a, b), as 1/Gamma(shape a, scale 1/b). */
double sy_linreg_sample_sigma2(const sy_linreg_post *p, gsl_rng *rng);

/* θ ~ N(μ, σ²Λ⁻¹): ε ~ N(0, I), solve Lᵀz = ε, θ = μ + σ·z (Cov z = L⁻ᵀL⁻¹ = Λ⁻¹). */
void sy_linreg_sample_theta(const sy_linreg_post *p, double sigma2, gsl_rng *rng, double *theta);

#endif
