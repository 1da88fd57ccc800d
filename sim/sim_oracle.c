#include "sim_oracle.h"

#include "featurize.h"
#include "sim_run.h"
#include "sy_common.h"

#include <gsl/gsl_linalg.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Utility minus violation of every arm in row i (NAN where the arm is not eligible). */
static void row_targets(const sy_sim_dataset *ds, size_t i, const sy_objective *obj, double *y)
{
    size_t K = ds->n_arms;
    uint8_t elig[SY_POLICY_MAX_ARMS];
    for (size_t k = 0; k < K; k++)
        elig[k] = (uint8_t)sy_sim_dataset_eligible(ds, i, k);
    sy_sim_row row = {.quality = ds->quality + i * SY_SIM_STRIDE,
                      .cost = ds->cost + i * SY_SIM_STRIDE,
                      .latency = ds->latency + i * SY_SIM_STRIDE,
                      .tokens = ds->tokens + i * SY_SIM_STRIDE,
                      .eligible = elig};
    double cs, ls;
    sy_sim_row_scales(obj, &row, K, &cs, &ls);
    for (size_t k = 0; k < K; k++)
        y[k] = elig[k] ? sy_sim_utility(obj, row.quality[k], row.cost[k], row.latency[k], cs, ls) -
                             sy_sim_violation(obj, row.cost[k], row.latency[k])
                       : NAN;
}

#define SY_ORACLE_FOLDS 5

/* The cross-fitting fold of row i: a hash of its index (splitmix64), so rows stored in a
 * pattern (tasks alternating, sorted by file) still spread evenly over the folds. */
static int fold_of(size_t i)
{
    uint64_t z = (uint64_t)i + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (int)((z ^ (z >> 31)) % SY_ORACLE_FOLDS);
}

/* The eligible arm of best score in a row (scores indexed by arm; -1 if none). */
static long best_arm(const double *y, const double *score, size_t K)
{
    long best = -1;
    for (size_t k = 0; k < K; k++)
        if (!isnan(y[k]) && (best < 0 || score[k] > score[best]))
            best = (long)k;
    return best;
}

/*
 * Ridge fit of arm k's targets on the rows of the other folds (fold_of(i) != fold):
 * w = (λ·I' + Σ x·xᵀ)⁻¹ Σ x·y, I' = I with a tiny weight on the bias. Returns 0 when the arm
 * has no row there or the system cannot be solved (the caller then predicts nothing).
 */
static int fit_arm(const double *X, const double *Y, size_t n, size_t K, size_t d, size_t k,
                   int fold, double lambda, gsl_matrix *A, gsl_vector *b, gsl_vector *w)
{
    gsl_matrix_set_zero(A);
    gsl_vector_set_zero(b);
    size_t cnt = 0;
    for (size_t i = 0; i < n; i++) {
        double y = Y[i * K + k];
        if (fold_of(i) == fold || isnan(y))
            continue;
        const double *x = X + i * d;
        cnt++;
        for (size_t a = 0; a < d; a++) {
            if (x[a] == 0)
                continue;
            b->data[a] += x[a] * y;
            for (size_t c = a; c < d; c++)
                A->data[a * d + c] += x[a] * x[c];
        }
    }
    if (!cnt)
        return 0;
    for (size_t a = 0; a < d; a++) {
        A->data[a * d + a] += a == 0 ? 1e-6 : lambda;
        for (size_t c = 0; c < a; c++)
            A->data[a * d + c] = A->data[c * d + a];
    }
    return gsl_linalg_cholesky_decomp1(A) == GSL_SUCCESS &&
           gsl_linalg_cholesky_solve(A, b, w) == GSL_SUCCESS;
}

int sy_sim_linear_oracle(const sy_sim_dataset *ds, size_t dim, const sy_objective *obj,
                         double lambda, long *choice)
{
    size_t n = ds->n, K = ds->n_arms, d = dim;
    double *X = sy_xmalloc((n ? n : 1) * d * sizeof(double));
    double *Y = sy_xmalloc((n ? n : 1) * K * sizeof(double));
    double *P = sy_xmalloc((n ? n : 1) * K * sizeof(double));
    int rc = SY_OK;
    for (size_t i = 0; i < n && rc == SY_OK; i++) {
        sy_feature_input fi = {.user_text = ds->text[i],
                               .user_len = strlen(ds->text[i]),
                               .prompt_bytes = ds->bytes[i],
                               .turn = ds->turn[i]};
        rc = sy_featurize(&fi, X + i * d, d);
        row_targets(ds, i, obj, Y + i * K);
    }
    if (rc == SY_OK) {
        gsl_matrix *A = gsl_matrix_alloc(d, d);
        gsl_vector *b = gsl_vector_alloc(d), *w = gsl_vector_alloc(d);
        for (int fold = 0; fold < SY_ORACLE_FOLDS; fold++)
            for (size_t k = 0; k < K; k++) {
                int ok = fit_arm(X, Y, n, K, d, k, fold, lambda, A, b, w);
                for (size_t i = 0; i < n; i++) {
                    if (fold_of(i) != fold)
                        continue;
                    double p = -INFINITY; /* an arm never seen in the other half: last */
                    if (ok) {
                        p = 0;
                        for (size_t a = 0; a < d; a++)
                            p += w->data[a] * X[i * d + a];
                    }
                    P[i * K + k] = p;
                }
            }
        gsl_vector_free(w);
        gsl_vector_free(b);
        gsl_matrix_free(A);
        for (size_t i = 0; i < n; i++)
            choice[i] = best_arm(Y + i * K, P + i * K, K);
    }
    free(X);
    free(Y);
    free(P);
    return rc;
}

void sy_sim_task_oracle(const sy_sim_dataset *ds, const sy_objective *obj, long *choice)
{
    size_t n = ds->n, K = ds->n_arms;
    size_t *group = sy_xmalloc((n ? n : 1) * sizeof(size_t));
    size_t n_groups = 0;
    const char **names = sy_xmalloc((n ? n : 1) * sizeof(char *));
    for (size_t i = 0; i < n; i++) { /* group index per row, by label (NULL: its own group) */
        const char *t = ds->task ? ds->task[i] : NULL;
        size_t g = 0;
        while (g < n_groups && !(names[g] == t || (names[g] && t && strcmp(names[g], t) == 0)))
            g++;
        if (g == n_groups)
            names[n_groups++] = t;
        group[i] = g;
    }
    double *sum = sy_xcalloc(n_groups * K, sizeof(double));
    double *cnt = sy_xcalloc(n_groups * K, sizeof(double));
    double *Y = sy_xmalloc((n ? n : 1) * K * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        row_targets(ds, i, obj, Y + i * K);
        for (size_t k = 0; k < K; k++)
            if (!isnan(Y[i * K + k])) {
                sum[group[i] * K + k] += Y[i * K + k];
                cnt[group[i] * K + k] += 1;
            }
    }
    double *mean = sy_xmalloc(n_groups * K * sizeof(double));
    for (size_t j = 0; j < n_groups * K; j++)
        mean[j] = cnt[j] > 0 ? sum[j] / cnt[j] : -INFINITY;
    for (size_t i = 0; i < n; i++)
        choice[i] = best_arm(Y + i * K, mean + group[i] * K, K);
    free(mean);
    free(Y);
    free(cnt);
    free(sum);
    free(names);
    free(group);
}
