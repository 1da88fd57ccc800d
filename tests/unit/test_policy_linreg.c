/*
 * Bayesian linear regression (policies/linreg.c) against closed forms: the posterior
 * mean is the (weighted) ridge solution, a and b match their textbook expressions, the
 * θ sampler has mean μ and covariance σ²Λ⁻¹, and the projected sampler used by linear
 * Thompson sampling gives xᵀθ the same distribution as sampling θ in full.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "linreg.h"
#include "sy_common.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define D    3
#define NOBS 20

/* Solve m·x = rhs (n×n, row-major, copied) by Gauss–Jordan with partial pivoting:
 * an independent check on the Cholesky path. */
static void gauss_solve(const double *m_in, const double *rhs, double *x, size_t n)
{
    double m[16 * 17];
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++)
            m[i * (n + 1) + j] = m_in[i * n + j];
        m[i * (n + 1) + n] = rhs[i];
    }
    for (size_t c = 0; c < n; c++) {
        size_t piv = c;
        for (size_t r = c + 1; r < n; r++)
            if (fabs(m[r * (n + 1) + c]) > fabs(m[piv * (n + 1) + c]))
                piv = r;
        for (size_t j = 0; j <= n; j++) {
            double t = m[c * (n + 1) + j];
            m[c * (n + 1) + j] = m[piv * (n + 1) + j];
            m[piv * (n + 1) + j] = t;
        }
        for (size_t r = 0; r < n; r++) {
            if (r == c)
                continue;
            double f = m[r * (n + 1) + c] / m[c * (n + 1) + c];
            for (size_t j = c; j <= n; j++)
                m[r * (n + 1) + j] -= f * m[c * (n + 1) + j];
        }
    }
    for (size_t i = 0; i < n; i++)
        x[i] = m[i * (n + 1) + n] / m[i * (n + 1) + i];
}

/* Inverse by solving against unit vectors. */
static void invert(const double *m, double *inv, size_t n)
{
    double e[16], col[16];
    for (size_t j = 0; j < n; j++) {
        memset(e, 0, sizeof(e));
        e[j] = 1;
        gauss_solve(m, e, col, n);
        for (size_t i = 0; i < n; i++)
            inv[i * n + j] = col[i];
    }
}

typedef struct fixture {
    double x[NOBS][D], r[NOBS], w[NOBS];
    sy_linreg_stats st;
    double ut[D * D], inv_diag[D], mu[D], work[D * D];
    sy_linreg_post post;
} fixture;

/* A fixed, well-conditioned design: bias column, two varied features. */
static void fill(fixture *f)
{
    sy_linreg_stats_init(&f->st, D);
    for (int i = 0; i < NOBS; i++) {
        f->x[i][0] = 1;
        f->x[i][1] = sin(1.3 * i);
        f->x[i][2] = cos(0.7 * i) * 0.5 + 0.1 * i / NOBS;
        f->r[i] = 0.3 + 0.4 * f->x[i][1] - 0.2 * f->x[i][2] + 0.05 * sin(5.1 * i);
        f->w[i] = 0.5 + (i % 3) * 0.25;
        sy_linreg_add(&f->st, D, f->x[i], f->r[i], f->w[i]);
    }
    f->post.ut = f->ut;
    f->post.inv_diag = f->inv_diag;
    f->post.mu = f->mu;
}

static int setup(void **state)
{
    gsl_set_error_handler_off();
    fixture *f = sy_xcalloc(1, sizeof(*f));
    fill(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sy_linreg_stats_free(&f->st);
    free(f);
    return 0;
}

/* Λ0 + Σw·x·xᵀ assembled directly from the observations. */
static void precision(const fixture *f, const sy_linreg_prior *pr, double *lam)
{
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++) {
            double s = i == j ? (i == 0 ? pr->bias_precision : pr->ridge) : 0;
            for (int k = 0; k < NOBS; k++)
                s += f->w[k] * f->x[k][i] * f->x[k][j];
            lam[i * D + j] = s;
        }
}

static void test_mean_is_weighted_ridge(void **state)
{
    fixture *f = *state;
    sy_linreg_prior pr = {.bias_mean = 0, .bias_precision = 0.7, .ridge = 0.7, .a0 = 1, .b0 = 1};
    assert_int_equal(sy_linreg_posterior(&pr, &f->st, D, 1.0, f->work, &f->post), SY_OK);
    double lam[D * D], xr[D] = {0}, ridge[D];
    precision(f, &pr, lam);
    for (int k = 0; k < NOBS; k++)
        for (int i = 0; i < D; i++)
            xr[i] += f->w[k] * f->r[k] * f->x[k][i];
    gauss_solve(lam, xr, ridge, D);
    for (int i = 0; i < D; i++)
        assert_true(fabs(f->mu[i] - ridge[i]) < 1e-10);
}

/* a = a0 + n/2, b = b0 + ½[Σw(r − xᵀμ)² + (μ − μ0)ᵀΛ0(μ − μ0)], with a prior mean. */
static void test_nig_a_b_by_hand(void **state)
{
    fixture *f = *state;
    sy_linreg_prior pr = {.bias_mean = 0.6, .bias_precision = 2, .ridge = 0.5, .a0 = 2, .b0 = 0.3};
    assert_int_equal(sy_linreg_posterior(&pr, &f->st, D, 1.0, f->work, &f->post), SY_OK);

    double lam[D * D], rhs[D] = {0}, mu[D];
    precision(f, &pr, lam);
    for (int k = 0; k < NOBS; k++)
        for (int i = 0; i < D; i++)
            rhs[i] += f->w[k] * f->r[k] * f->x[k][i];
    rhs[0] += pr.bias_precision * pr.bias_mean;
    gauss_solve(lam, rhs, mu, D);
    for (int i = 0; i < D; i++)
        assert_true(fabs(f->mu[i] - mu[i]) < 1e-10);

    double n = 0, sse = 0;
    for (int k = 0; k < NOBS; k++) {
        double pred = 0;
        for (int i = 0; i < D; i++)
            pred += f->x[k][i] * mu[i];
        sse += f->w[k] * (f->r[k] - pred) * (f->r[k] - pred);
        n += f->w[k];
    }
    double dev = pr.bias_precision * (mu[0] - pr.bias_mean) * (mu[0] - pr.bias_mean) +
                 pr.ridge * (mu[1] * mu[1] + mu[2] * mu[2]);
    assert_true(fabs(f->post.a - (pr.a0 + n / 2)) < 1e-12);
    assert_true(fabs(f->post.b - (pr.b0 + 0.5 * (sse + dev))) < 1e-10);
}

/* No data: μ = μ0 = bias_mean·e0, a = a0, b = b0, L = sqrt(Λ0). */
static void test_prior_only(void **state)
{
    (void)state;
    sy_linreg_stats st;
    sy_linreg_stats_init(&st, D);
    double ut[D * D], inv[D], mu[D], work[D * D];
    sy_linreg_post post = {.ut = ut, .inv_diag = inv, .mu = mu};
    sy_linreg_prior pr = {.bias_mean = 0.8, .bias_precision = 4, .ridge = 9, .a0 = 3, .b0 = 2};
    assert_int_equal(sy_linreg_posterior(&pr, &st, D, 1.0, work, &post), SY_OK);
    assert_true(fabs(mu[0] - 0.8) < 1e-14 && fabs(mu[1]) < 1e-14 && fabs(mu[2]) < 1e-14);
    assert_true(post.a == 3 && fabs(post.b - 2) < 1e-14);
    assert_true(fabs(ut[0] - 2) < 1e-14 && fabs(ut[D] - 3) < 1e-14); /* L_00, L_11 packed */
    sy_linreg_stats_free(&st);
}

/* The decay argument scales every data sum: posterior(f) == posterior of scaled stats. */
static void test_decay_argument(void **state)
{
    fixture *f = *state;
    sy_linreg_prior pr = {.bias_mean = 0.5, .bias_precision = 1, .ridge = 1, .a0 = 1, .b0 = 0.2};
    assert_int_equal(sy_linreg_posterior(&pr, &f->st, D, 0.25, f->work, &f->post), SY_OK);
    double mu1[D] = {f->mu[0], f->mu[1], f->mu[2]}, a1 = f->post.a, b1 = f->post.b;
    sy_linreg_scale(&f->st, D, 0.25);
    assert_int_equal(sy_linreg_posterior(&pr, &f->st, D, 1.0, f->work, &f->post), SY_OK);
    for (int i = 0; i < D; i++)
        assert_true(fabs(mu1[i] - f->mu[i]) < 1e-12);
    assert_true(fabs(a1 - f->post.a) < 1e-12 && fabs(b1 - f->post.b) < 1e-12);
}

/* scale² = xᵀΛ⁻¹x and mean = xᵀμ, against an explicit inverse. */
static void test_project(void **state)
{
    fixture *f = *state;
    sy_linreg_prior pr = {.bias_mean = 0.5, .bias_precision = 1, .ridge = 1, .a0 = 1, .b0 = 0.2};
    sy_linreg_posterior(&pr, &f->st, D, 1.0, f->work, &f->post);
    double lam[D * D], inv[D * D];
    precision(f, &pr, lam);
    invert(lam, inv, D);
    double x[D] = {1, -0.4, 0.9}, v[D], mean, scale, q = 0, m = 0;
    sy_linreg_project(&f->post, x, v, &mean, &scale);
    for (int i = 0; i < D; i++) {
        m += x[i] * f->mu[i];
        for (int j = 0; j < D; j++)
            q += x[i] * inv[i * D + j] * x[j];
    }
    assert_true(fabs(mean - m) < 1e-12);
    assert_true(fabs(scale * scale - q) < 1e-12);
}

/* The blocked forward substitution (four columns at a time, then a scalar tail) at
 * d = 4, 11 and 16: mean and scale² against Gauss–Jordan solves Λ·y = x, y = Λ⁻¹x, on
 * a posterior from 60 random observations. */
static void test_project_blocked(void **state)
{
    (void)state;
    const size_t dims[] = {4, 11, 16};
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 77);
    for (int t = 0; t < 3; t++) {
        size_t d = dims[t];
        sy_linreg_stats st;
        sy_linreg_stats_init(&st, d);
        double x[16];
        for (int n = 0; n < 60; n++) {
            for (size_t i = 0; i < d; i++)
                x[i] = i == 0 ? 1 : gsl_ran_gaussian(rng, 1);
            sy_linreg_add(&st, d, x, gsl_rng_uniform(rng), 0.5 + gsl_rng_uniform(rng));
        }
        sy_linreg_prior pr = {
            .bias_mean = 0.5, .bias_precision = 2, .ridge = 3, .a0 = 1, .b0 = 0.2};
        double ut[16 * 16], inv_diag[16], mu[16], work[16 * 16];
        sy_linreg_post post = {.ut = ut, .inv_diag = inv_diag, .mu = mu};
        assert_int_equal(sy_linreg_posterior(&pr, &st, d, 1.0, work, &post), SY_OK);
        double lam[16 * 16]; /* Λ = Λ0 + A from the packed sums */
        const double *row = st.xx;
        for (size_t i = 0; i < d; i++) {
            for (size_t j = i; j < d; j++)
                lam[i * d + j] = lam[j * d + i] = row[j - i];
            lam[i * d + i] += i == 0 ? pr.bias_precision : pr.ridge;
            row += d - i;
        }
        for (size_t i = 0; i < d; i++)
            x[i] = gsl_ran_gaussian(rng, 1);
        double y[16], v[16], mean, scale, q = 0, m = 0;
        gauss_solve(lam, x, y, d);
        for (size_t i = 0; i < d; i++) {
            q += x[i] * y[i];
            m += x[i] * mu[i];
        }
        sy_linreg_project(&post, x, v, &mean, &scale);
        assert_true(fabs(mean - m) < 1e-12);
        assert_true(fabs(scale * scale - q) < 1e-10 * q);
        sy_linreg_stats_free(&st);
    }
    gsl_rng_free(rng);
}

/* 100k seeded draws of θ | σ²: sample mean within 5 standard errors of μ, sample
 * covariance within 3% (relative to the diagonal scale) of σ²Λ⁻¹. */
static void test_theta_moments(void **state)
{
    fixture *f = *state;
    sy_linreg_prior pr = {.bias_mean = 0.5, .bias_precision = 1, .ridge = 1, .a0 = 1, .b0 = 0.2};
    sy_linreg_posterior(&pr, &f->st, D, 1.0, f->work, &f->post);
    double lam[D * D], inv[D * D];
    precision(f, &pr, lam);
    invert(lam, inv, D);

    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 42);
    const int N = 100000;
    const double sigma2 = 0.5;
    double sum[D] = {0}, sxx[D * D] = {0}, th[D];
    for (int n = 0; n < N; n++) {
        sy_linreg_sample_theta(&f->post, sigma2, rng, th);
        for (int i = 0; i < D; i++) {
            double di = th[i] - f->mu[i];
            sum[i] += di;
            for (int j = 0; j < D; j++)
                sxx[i * D + j] += di * (th[j] - f->mu[j]);
        }
    }
    for (int i = 0; i < D; i++) {
        double se = sqrt(sigma2 * inv[i * D + i] / N);
        assert_true(fabs(sum[i] / N) < 5 * se);
        for (int j = 0; j < D; j++) {
            double want = sigma2 * inv[i * D + j];
            double scale = sigma2 * sqrt(inv[i * D + i] * inv[j * D + j]);
            assert_true(fabs(sxx[i * D + j] / N - want) < 0.03 * scale);
        }
    }
    gsl_rng_free(rng);
}

/* σ² ~ InvGamma(a, b): mean b/(a − 1). Then xᵀθ from full θ draws and from the
 * projected draw (mean + σ·scale·z) share mean xᵀμ and variance b/(a−1)·xᵀΛ⁻¹x. */
static void test_projected_matches_full(void **state)
{
    fixture *f = *state;
    sy_linreg_prior pr = {.bias_mean = 0.5, .bias_precision = 1, .ridge = 1, .a0 = 4, .b0 = 1};
    sy_linreg_posterior(&pr, &f->st, D, 1.0, f->work, &f->post);
    double a = f->post.a, b = f->post.b;
    double x[D] = {1, 0.7, -0.3}, v[D], mean, scale;
    sy_linreg_project(&f->post, x, v, &mean, &scale);
    double var = b / (a - 1) * scale * scale;

    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    const int N = 100000;
    double s2 = 0, sf = 0, sf2 = 0, sp = 0, sp2 = 0, th[D];
    for (int n = 0; n < N; n++) {
        s2 += sy_linreg_sample_sigma2(&f->post, rng);
        sy_linreg_sample_theta(&f->post, sy_linreg_sample_sigma2(&f->post, rng), rng, th);
        double full = x[0] * th[0] + x[1] * th[1] + x[2] * th[2] - mean;
        double proj = sqrt(sy_linreg_sample_sigma2(&f->post, rng)) * scale *
                      gsl_ran_gaussian_ziggurat(rng, 1.0);
        sf += full;
        sf2 += full * full;
        sp += proj;
        sp2 += proj * proj;
    }
    assert_true(fabs(s2 / N - b / (a - 1)) < 0.02 * b / (a - 1));
    assert_true(fabs(sf / N) < 5 * sqrt(var / N));
    assert_true(fabs(sp / N) < 5 * sqrt(var / N));
    assert_true(fabs(sf2 / N - var) < 0.04 * var);
    assert_true(fabs(sp2 / N - var) < 0.04 * var);
    gsl_rng_free(rng);
}

/* Negative weights that leave Λ indefinite: SY_ERR_STATE and the prior posterior. */
static void test_indefinite_falls_back_to_prior(void **state)
{
    (void)state;
    sy_linreg_stats st;
    sy_linreg_stats_init(&st, D);
    double x[D] = {1, 2, 0};
    sy_linreg_add(&st, D, x, 1.0, -5.0);
    double ut[D * D], inv[D], mu[D], work[D * D];
    sy_linreg_post post = {.ut = ut, .inv_diag = inv, .mu = mu};
    sy_linreg_prior pr = {.bias_mean = 0.3, .bias_precision = 1, .ridge = 1, .a0 = 1, .b0 = 0.5};
    assert_int_equal(sy_linreg_posterior(&pr, &st, D, 1.0, work, &post), SY_ERR_STATE);
    assert_true(fabs(mu[0] - 0.3) < 1e-14 && post.a == 1 && post.b == 0.5);
    sy_linreg_stats_free(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mean_is_weighted_ridge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nig_a_b_by_hand, setup, teardown),
        cmocka_unit_test(test_prior_only),
        cmocka_unit_test_setup_teardown(test_decay_argument, setup, teardown),
        cmocka_unit_test_setup_teardown(test_project, setup, teardown),
        cmocka_unit_test(test_project_blocked),
        cmocka_unit_test_setup_teardown(test_theta_moments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_projected_matches_full, setup, teardown),
        cmocka_unit_test(test_indefinite_falls_back_to_prior),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
