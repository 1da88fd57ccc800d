#include "linreg.h"

#include "sy_common.h"

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
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

/* Fill the d×d matrix m with Λ = Λ0 + f·A (A from the packed stats) and rhs with
 * Λ0μ0 + f·c; f = 0 gives the prior alone. Returns 1 when every diagonal entry is
 * positive (necessary for a Cholesky factor to exist). */
static int build_system(const sy_linreg_prior *pr, const sy_linreg_stats *s, size_t d, double f,
                        double *m, double *rhs)
{
    const double *row = s->xx;
    for (size_t i = 0; i < d; i++) {
        for (size_t j = i; j < d; j++) {
            double v = f * row[j - i];
            m[i * d + j] = v;
            m[j * d + i] = v;
        }
        m[i * d + i] += i == 0 ? pr->bias_precision : pr->ridge;
        rhs[i] = f * s->xr[i];
        row += d - i;
    }
    rhs[0] += pr->bias_precision * pr->bias_mean;
    for (size_t i = 0; i < d; i++)
        if (!(m[i * d + i] > 0))
            return 0;
    return 1;
}

/*
 * Factor Λ with GSL, solve for μ, and lay the factor out for the hot path. When the
 * data make Λ indefinite, fall back to the prior (always positive definite since the
 * parameters are checked positive) and report SY_ERR_STATE. The GSL error handler must
 * be off (policy.h) for the failing call to return rather than abort.
 */
int sy_linreg_posterior(const sy_linreg_prior *pr, const sy_linreg_stats *s, size_t d, double decay,
                        double *work, sy_linreg_post *out)
{
    int rc = SY_OK;
    double f = decay;
    gsl_matrix_view mv = gsl_matrix_view_array(work, d, d);
    gsl_vector_view rhs = gsl_vector_view_array(out->inv_diag, d); /* scratch until below */
    gsl_vector_view mu = gsl_vector_view_array(out->mu, d);
    if (!build_system(pr, s, d, f, work, out->inv_diag) ||
        gsl_linalg_cholesky_decomp1(&mv.matrix) != GSL_SUCCESS) {
        f = 0;
        rc = SY_ERR_STATE;
        build_system(pr, s, d, 0, work, out->inv_diag);
        gsl_linalg_cholesky_decomp1(&mv.matrix);
    }
    gsl_linalg_cholesky_solve(&mv.matrix, &rhs.vector, &mu.vector);

    double quad = 0; /* μᵀΛμ = μᵀ(Λ0μ0 + c) */
    for (size_t i = 0; i < d; i++)
        quad += out->mu[i] * out->inv_diag[i];
    double n = s->n > 0 ? f * s->n : 0;
    double srr = s->n > 0 ? f * s->sum_rr : 0;
    out->d = d;
    out->a = pr->a0 + n / 2;
    double b = pr->b0 + 0.5 * (srr + pr->bias_precision * pr->bias_mean * pr->bias_mean - quad);
    out->b = b > pr->b0 ? b : pr->b0;

    for (size_t j = 0; j < d; j++) {
        for (size_t i = 0; i < d; i++)
            out->ut[j * d + i] = i >= j ? work[i * d + j] : 0.0;
        out->inv_diag[j] = 1.0 / work[j * d + j];
    }
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
    const double *ut = p->ut, *inv = p->inv_diag;
    double m = 0, ss = 0;
    for (size_t i = 0; i < d; i++) {
        v[i] = x[i];
        m += p->mu[i] * x[i];
    }
    size_t j = 0;
    for (; j + 4 <= d; j += 4) {
        const double *c0 = ut + j * d, *c1 = c0 + d, *c2 = c1 + d, *c3 = c2 + d;
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
        const double *col = ut + j * d;
        for (size_t i = j + 1; i < d; i++)
            v[i] -= col[i] * vj;
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
    gsl_matrix_const_view u = gsl_matrix_const_view_array(p->ut, d, d);
    gsl_vector_view z = gsl_vector_view_array(theta, d);
    gsl_blas_dtrsv(CblasUpper, CblasNoTrans, CblasNonUnit, &u.matrix, &z.vector);
    double sigma = sqrt(sigma2);
    for (size_t i = 0; i < d; i++)
        theta[i] = p->mu[i] + sigma * theta[i];
}
