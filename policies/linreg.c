#include "linreg.h"

#include "sy_common.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t sy_linreg_packed_len(size_t d)
{
    return d * (d + 1) / 2;
}

void sy_linreg_stats_init(sy_linreg_stats *s, size_t d)
{
    memset(s, 0, sizeof(*s));
    if (d) {
        s->xr = sy_xcalloc(d, sizeof(double));
        s->xx = sy_xcalloc(sy_linreg_packed_len(d), sizeof(double));
    }
}

void sy_linreg_stats_free(sy_linreg_stats *s)
{
    free(s->xr);
    free(s->xx);
    s->xr = s->xx = NULL;
}

void sy_linreg_add(sy_linreg_stats *s, size_t d, const double *x, double r, double w)
{
    s->n += w;
    s->sum_r += w * r;
    s->sum_rr += w * r * r;
    double *row = s->xx;
    for (size_t i = 0; i < d; i++) {
        double wxi = w * x[i];
        s->xr[i] += wxi * r;
        for (size_t j = i; j < d; j++)
            row[j - i] += wxi * x[j];
        row += d - i;
    }
}

void sy_linreg_scale(sy_linreg_stats *s, size_t d, double f)
{
    s->n *= f;
    s->sum_r *= f;
    s->sum_rr *= f;
    for (size_t i = 0; i < d; i++)
        s->xr[i] *= f;
    size_t np = sy_linreg_packed_len(d);
    for (size_t k = 0; k < np; k++)
        s->xx[k] *= f;
}

/* Column j of a packed lower-triangular matrix, indexed by row: col(l, d, j)[i] = L_ij
 * for i ≥ j. Columns are stored one after the other, column j holding rows j … d−1,
 * i.e. at offset j·d − j(j−1)/2. */
static inline double *col(double *l, size_t d, size_t j)
{
    return l + j * d - j * (j - 1) / 2 - j;
}
static inline const double *ccol(const double *l, size_t d, size_t j)
{
    return l + j * d - j * (j - 1) / 2 - j;
}

/* Fill lp (packed columns, as above) with the lower triangle of Λ = Λ0 + f·A and rhs
 * with Λ0μ0 + f·c; f = 0 gives the prior alone. The stats pack A's upper triangle row
 * by row, which is the same sequence of entries (A is symmetric). */
static void build_system(const sy_linreg_prior *pr, const sy_linreg_stats *s, size_t d, double f,
                         double *lp, double *rhs)
{
    size_t np = sy_linreg_packed_len(d);
    for (size_t k = 0; k < np; k++)
        lp[k] = f * s->xx[k];
    for (size_t i = 0; i < d; i++) {
        col(lp, d, i)[i] += i == 0 ? pr->bias_precision : pr->ridge;
        rhs[i] = f * s->xr[i];
    }
    rhs[0] += pr->bias_precision * pr->bias_mean;
}

/* In-place left-looking Cholesky factorisation of the packed Λ: column j becomes
 * L_jj … L_(d−1)j with Λ = L·Lᵀ, inv[j] = 1/L_jj; the earlier columns are subtracted
 * four at a time, as in sy_linreg_project. Returns 0 when a pivot is not
 * positive (Λ not positive definite, or NaN). At d ≤ 256 a plain loop beats GSL's
 * blocked routine, whose BLAS calls dominate at this size. */
static int cholesky_packed(double *lp, double *inv, size_t d)
{
    for (size_t j = 0; j < d; j++) {
        double *cj = col(lp, d, j);
        size_t k = 0;
        for (; k + 4 <= j; k += 4) { /* four earlier columns per pass over column j */
            const double *c0 = col(lp, d, k), *c1 = col(lp, d, k + 1), *c2 = col(lp, d, k + 2),
                         *c3 = col(lp, d, k + 3);
            double l0 = c0[j], l1 = c1[j], l2 = c2[j], l3 = c3[j];
            for (size_t i = j; i < d; i++)
                cj[i] -= c0[i] * l0 + c1[i] * l1 + c2[i] * l2 + c3[i] * l3;
        }
        for (; k < j; k++) {
            const double *ck = col(lp, d, k);
            double ljk = ck[j];
            for (size_t i = j; i < d; i++)
                cj[i] -= ck[i] * ljk;
        }
        if (!(cj[j] > 0))
            return 0;
        double l = sqrt(cj[j]);
        cj[j] = l;
        inv[j] = 1.0 / l;
        for (size_t i = j + 1; i < d; i++)
            cj[i] *= inv[j];
    }
    return 1;
}

/* Solve Lᵀ·y = z in place (y overwrites z): back substitution, each step a dot product
 * with a contiguous column of L. */
static void back_substitute(const sy_linreg_post *p, double *z)
{
    size_t d = p->d;
    for (size_t j = d; j-- > 0;) {
        const double *cj = ccol(p->ut, d, j);
        double acc = z[j];
        for (size_t i = j + 1; i < d; i++)
            acc -= cj[i] * z[i];
        z[j] = acc * p->inv_diag[j];
    }
}

/*
 * Factor Λ, solve for μ, keep the factor for the hot path. When the data make Λ
 * indefinite, fall back to the prior (always positive definite since the parameters are
 * checked positive) and report SY_ERR_STATE.
 */
int sy_linreg_posterior(const sy_linreg_prior *pr, const sy_linreg_stats *s, size_t d, double decay,
                        double *work, sy_linreg_post *out)
{
    int rc = SY_OK;
    double f = decay;
    double *rhs = work; /* Λ0μ0 + f·c, kept for μᵀΛμ below */
    out->d = d;
    build_system(pr, s, d, f, out->ut, rhs);
    if (!cholesky_packed(out->ut, out->inv_diag, d)) {
        f = 0;
        rc = SY_ERR_STATE;
        build_system(pr, s, d, 0, out->ut, rhs);
        cholesky_packed(out->ut, out->inv_diag, d);
    }
    /* μ = Λ⁻¹·rhs: L·z = rhs forward, then Lᵀ·μ = z backward */
    for (size_t i = 0; i < d; i++)
        out->mu[i] = rhs[i];
    for (size_t j = 0; j < d; j++) {
        const double *cj = ccol(out->ut, d, j);
        double zj = out->mu[j] * out->inv_diag[j];
        out->mu[j] = zj;
        for (size_t i = j + 1; i < d; i++)
            out->mu[i] -= cj[i] * zj;
    }
    back_substitute(out, out->mu);

    double quad = 0; /* μᵀΛμ = μᵀ(Λ0μ0 + c) */
    for (size_t i = 0; i < d; i++)
        quad += out->mu[i] * rhs[i];
    double n = s->n > 0 ? f * s->n : 0;
    double srr = s->n > 0 ? f * s->sum_rr : 0;
    out->a = pr->a0 + n / 2;
    double b = pr->b0 + 0.5 * (srr + pr->bias_precision * pr->bias_mean * pr->bias_mean - quad);
    out->b = b > pr->b0 ? b : pr->b0;
    return rc;
}

/*
 * Forward substitution L·v = x, column by column: once v_j is known its multiples are
 * removed from the rows below. Columns go four at a time (the triangle between them
 * first, then one pass over the rows below that subtracts all four), so each v_i is
 * loaded and stored once per four columns instead of once per column; the inner loop
 * has no reduction chain. This measured ~2× faster than one column at a time and than
 * gsl_blas_dtrsv at d = 24 (docs/policies.md).
 */
void sy_linreg_project(const sy_linreg_post *p, const double *x, double *v, double *mean,
                       double *scale)
{
    size_t d = p->d;
    const double *inv = p->inv_diag;
    double m = 0, ss = 0;
    for (size_t i = 0; i < d; i++) {
        v[i] = x[i];
        m += p->mu[i] * x[i];
    }
    size_t j = 0;
    for (; j + 4 <= d; j += 4) {
        const double *c0 = ccol(p->ut, d, j), *c1 = ccol(p->ut, d, j + 1),
                     *c2 = ccol(p->ut, d, j + 2), *c3 = ccol(p->ut, d, j + 3);
        double a0 = v[j] * inv[j];
        double a1 = (v[j + 1] - c0[j + 1] * a0) * inv[j + 1];
        double a2 = (v[j + 2] - c0[j + 2] * a0 - c1[j + 2] * a1) * inv[j + 2];
        double a3 = (v[j + 3] - c0[j + 3] * a0 - c1[j + 3] * a1 - c2[j + 3] * a2) * inv[j + 3];
        v[j] = a0;
        v[j + 1] = a1;
        v[j + 2] = a2;
        v[j + 3] = a3;
        ss += a0 * a0 + a1 * a1 + a2 * a2 + a3 * a3;
        for (size_t i = j + 4; i < d; i++)
            v[i] -= c0[i] * a0 + c1[i] * a1 + c2[i] * a2 + c3[i] * a3;
    }
    for (; j < d; j++) {
        double vj = v[j] * inv[j];
        v[j] = vj;
        ss += vj * vj;
        const double *cj = ccol(p->ut, d, j);
        for (size_t i = j + 1; i < d; i++)
            v[i] -= cj[i] * vj;
    }
    *mean = m;
    *scale = sqrt(ss);
}

double sy_linreg_sample_sigma2(const sy_linreg_post *p, gsl_rng *rng)
{
    return 1.0 / gsl_ran_gamma(rng, p->a, 1.0 / p->b);
}

void sy_linreg_sample_theta(const sy_linreg_post *p, double sigma2, gsl_rng *rng, double *theta)
{
    size_t d = p->d;
    for (size_t i = 0; i < d; i++)
        theta[i] = gsl_ran_gaussian_ziggurat(rng, 1.0);
    back_substitute(p, theta);
    double sigma = sqrt(sigma2);
    for (size_t i = 0; i < d; i++)
        theta[i] = p->mu[i] + sigma * theta[i];
}
