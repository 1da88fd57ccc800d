/*
 * sim_estimate: off-policy estimators, the DR reward model, and the two drivers that use
 * them — progressive evaluation of a learning policy on a log, and the
 * supervised-to-bandit validation (see sim_estimate.h).
 */
#include "sim_estimate.h"

#include "featurize.h"
#include "sy_common.h"

#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define Z95 1.959963984540054

static void finish(double value, double var_of_mean, size_t n, sy_sim_estimate *out)
{
    out->value = value;
    out->se = var_of_mean > 0 ? sqrt(var_of_mean) : 0;
    out->lo = value - Z95 * out->se;
    out->hi = value + Z95 * out->se;
    out->n = n;
}

/* mean and variance of the mean of v[0..n) */
static void mean_var(const double *v, size_t n, double *m, double *vm)
{
    double s = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    *m = n ? s / (double)n : NAN;
    for (size_t i = 0; i < n; i++)
        ss += (v[i] - *m) * (v[i] - *m);
    *vm = n > 1 ? ss / (double)(n - 1) / (double)n : 0;
}

void sy_sim_ips(const double *r, const double *p, const double *pi, size_t n, sy_sim_estimate *out)
{
    double *v = sy_xmalloc((n ? n : 1) * sizeof(double)), m, vm;
    for (size_t i = 0; i < n; i++)
        v[i] = pi[i] / p[i] * r[i];
    mean_var(v, n, &m, &vm);
    finish(m, vm, n, out);
    free(v);
}

void sy_sim_snips(const double *r, const double *p, const double *pi, size_t n,
                  sy_sim_estimate *out)
{
    double sw = 0, swr = 0;
    for (size_t i = 0; i < n; i++) {
        double w = pi[i] / p[i];
        sw += w;
        swr += w * r[i];
    }
    if (!(sw > 0)) {
        finish(NAN, 0, n, out);
        return;
    }
    double v = swr / sw, wbar = sw / (double)n, ss = 0;
    /* delta method: influence of event i is w_i (r_i − V) / mean(w) */
    for (size_t i = 0; i < n; i++) {
        double inf = pi[i] / p[i] * (r[i] - v) / wbar;
        ss += inf * inf;
    }
    finish(v, n > 1 ? ss / (double)(n - 1) / (double)n : 0, n, out);
}

void sy_sim_dr(const double *r, const double *p, const double *pi, const double *rhat,
               const double *rhat_pi, size_t n, sy_sim_estimate *out)
{
    double *v = sy_xmalloc((n ? n : 1) * sizeof(double)), m, vm;
    for (size_t i = 0; i < n; i++)
        v[i] = rhat_pi[i] + pi[i] / p[i] * (r[i] - rhat[i]);
    mean_var(v, n, &m, &vm);
    finish(m, vm, n, out);
    free(v);
}

void sy_sim_replay(const double *r, const uint8_t *match, size_t n, sy_sim_estimate *out)
{
    double *v = sy_xmalloc((n ? n : 1) * sizeof(double)), m, vm;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (match[i])
            v[k++] = r[i];
    mean_var(v, k, &m, &vm);
    finish(m, vm, k, out);
    free(v);
}

void sy_sim_reward_model(const double *x, size_t dim, const size_t *arm, const double *r, size_t n,
                         size_t n_arms, double lambda, double *pred)
{
    size_t d = dim ? dim : 1;
    gsl_matrix *A = gsl_matrix_alloc(d, d);
    gsl_vector *b = gsl_vector_alloc(d), *w = gsl_vector_alloc(d);
    for (int fold = 0; fold < 2; fold++) {
        /* fit on the other fold, predict this one */
        double fsum = 0;
        size_t fn = 0;
        for (size_t i = 0; i < n; i++)
            if ((int)(i & 1) != fold) {
                fsum += r[i];
                fn++;
            }
        double fmean = fn ? fsum / (double)fn : 0;
        for (size_t k = 0; k < n_arms; k++) {
            gsl_matrix_set_identity(A);
            gsl_matrix_scale(A, lambda);
            gsl_vector_set_zero(b);
            size_t cnt = 0;
            for (size_t i = 0; i < n; i++) {
                if ((int)(i & 1) == fold || arm[i] != k)
                    continue;
                const double *xi = dim ? x + i * dim : NULL;
                cnt++;
                for (size_t a = 0; a < d; a++) {
                    double xa = xi ? xi[a] : 1;
                    b->data[a] += xa * r[i];
                    for (size_t c = a; c < d; c++)
                        A->data[a * d + c] += xa * (xi ? xi[c] : 1);
                }
            }
            int ok = cnt > 0;
            if (ok) {
                for (size_t a = 0; a < d; a++)
                    for (size_t c = 0; c < a; c++)
                        A->data[a * d + c] = A->data[c * d + a];
                ok = gsl_linalg_cholesky_decomp1(A) == 0 && gsl_linalg_cholesky_solve(A, b, w) == 0;
            }
            for (size_t i = 0; i < n; i++) {
                if ((int)(i & 1) != fold)
                    continue;
                double y = fmean;
                if (ok) {
                    y = 0;
                    for (size_t a = 0; a < d; a++)
                        y += w->data[a] * (dim ? x[i * dim + a] : 1);
                }
                pred[i * n_arms + k] = y;
            }
        }
    }
    gsl_vector_free(w);
    gsl_vector_free(b);
    gsl_matrix_free(A);
}

void sy_sim_action_dist(const sy_policy *p, const sy_decide_in *in, unsigned draws, double *dist)
{
    sy_decide_out o;
    memset(dist, 0, in->n_arms * sizeof(double));
    if (sy_policy_decide(p, in, &o) != SY_OK)
        return;
    if (o.propensity == 1.0 || draws == 0) {
        dist[o.ranking[0]] = 1;
        return;
    }
    dist[o.ranking[0]] += 1;
    for (unsigned m = 1; m < draws; m++)
        if (sy_policy_decide(p, in, &o) == SY_OK)
            dist[o.ranking[0]] += 1;
    for (size_t k = 0; k < in->n_arms; k++)
        dist[k] /= draws;
}

/* An event's utility. A log shows one arm per event, so the relative terms are
 * measured against the whole log's geometric mean cost and latency. */
static double event_reward(const sy_objective *obj, const sy_sim_log *lg, size_t i,
                           const double scale[2])
{
    double q = isnan(lg->quality[i]) ? 0 : lg->quality[i];
    double c = isnan(lg->cost[i]) ? 0 : lg->cost[i];
    return sy_sim_utility(obj, q, c, lg->latency[i], scale[0], scale[1]);
}

/* The log-wide scales of event_reward. */
static void log_scales(const sy_objective *obj, const sy_sim_log *lg, double scale[2])
{
    scale[0] = obj->w_cost_rel > 0 ? sy_geomean_positive(lg->cost, NULL, lg->n) : 0;
    scale[1] = obj->w_latency_rel > 0 ? sy_geomean_positive(lg->latency, NULL, lg->n) : 0;
}

static void estimates(const double *r, const double *p, const double *pi, const double *rhat,
                      const double *rhat_pi, const uint8_t *match, size_t n, sy_sim_ope *out)
{
    sy_sim_ips(r, p, pi, n, &out->ips);
    sy_sim_snips(r, p, pi, n, &out->snips);
    sy_sim_dr(r, p, pi, rhat, rhat_pi, n, &out->dr);
    sy_sim_replay(r, match, n, &out->replay);
    double sw = 0, sw2 = 0, sr = 0;
    for (size_t i = 0; i < n; i++) {
        double w = pi[i] / p[i];
        sw += w;
        sw2 += w * w;
        sr += r[i];
    }
    out->ess = sw2 > 0 ? sw * sw / sw2 : 0;
    out->mean_logged = n ? sr / (double)n : NAN;
}

typedef struct ope_buf {
    double *r, *p, *pi, *rhat, *rhat_pi, *pred, *dist;
    uint8_t *match;
} ope_buf;

static void ope_alloc(ope_buf *b, size_t n, size_t k)
{
    n = n ? n : 1;
    b->r = sy_xmalloc(n * sizeof(double));
    b->p = sy_xmalloc(n * sizeof(double));
    b->pi = sy_xmalloc(n * sizeof(double));
    b->rhat = sy_xmalloc(n * sizeof(double));
    b->rhat_pi = sy_xmalloc(n * sizeof(double));
    b->pred = sy_xmalloc(n * k * sizeof(double));
    b->dist = sy_xmalloc(k * sizeof(double));
    b->match = sy_xmalloc(n);
}

static void ope_free(ope_buf *b)
{
    free(b->r);
    free(b->p);
    free(b->pi);
    free(b->rhat);
    free(b->rhat_pi);
    free(b->pred);
    free(b->dist);
    free(b->match);
}

static void learn(sy_policy_state *st, const sy_sim_log *lg, size_t i, const double *x, size_t dim)
{
    sy_outcome_obs oo = {.arm = lg->arm[i],
                         .latency_s = lg->latency[i],
                         .output_tokens = NAN,
                         .cost_usd = lg->cost[i],
                         .t = (double)i};
    sy_policy_state_observe_outcome(st, &oo);
    if (!isnan(lg->quality[i])) {
        sy_quality_obs qo = {.arm = lg->arm[i],
                             .x = dim ? x : NULL,
                             .dim = dim,
                             .reward = lg->quality[i] < 0   ? 0
                                       : lg->quality[i] > 1 ? 1
                                                            : lg->quality[i],
                             .weight = 1,
                             .t = (double)i};
        sy_policy_state_observe_quality(st, &qo, NULL);
    }
}

int sy_sim_evaluate_log(const sy_sim_log *lg, const sy_policy_params *params, unsigned draws,
                        size_t refresh, unsigned long seed, sy_sim_ope *out, char *err,
                        size_t err_len)
{
    size_t K = lg->n_arms, n = lg->n;
    sy_policy_params pp = *params;
    pp.n_arms = K;
    pp.propensity_draws = 0;
    int ctx = sy_policy_kind_is_contextual(pp.kind);
    if (ctx && pp.dim != lg->dim) {
        snprintf(err, err_len,
                 "the log's context vectors have %zu features, the %s policy expects %zu", lg->dim,
                 sy_policy_kind_name(pp.kind), pp.dim);
        return SY_ERR_INVALID;
    }
    sy_policy_state *st = NULL, *rst = NULL;
    if (sy_policy_state_new(&pp, &st) != SY_OK || sy_policy_state_new(&pp, &rst) != SY_OK) {
        sy_policy_state_free(st);
        snprintf(err, err_len, "policy parameters rejected (docs/policies.md)");
        return SY_ERR_INVALID;
    }
    ope_buf b;
    ope_alloc(&b, n, K);
    double scale[2];
    log_scales(&pp.objective, lg, scale);
    for (size_t i = 0; i < n; i++)
        b.r[i] = event_reward(&pp.objective, lg, i, scale);
    sy_sim_reward_model(lg->x, lg->dim, lg->arm, b.r, n, K, 1.0, b.pred);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    sy_policy *snap = sy_policy_state_snapshot(st, 0), *rsnap = sy_policy_state_snapshot(rst, 0);
    size_t since = 0, rsince = 0;
    for (size_t i = 0; i < n; i++) {
        const double *x = lg->dim ? lg->x + i * lg->dim : NULL;
        sy_decide_in in = {
            .n_arms = K, .x = ctx ? x : NULL, .dim = ctx ? lg->dim : 0, .rng = rng, .seq = i};
        sy_sim_action_dist(snap, &in, draws, b.dist);
        b.p[i] = lg->propensity[i];
        b.pi[i] = b.dist[lg->arm[i]];
        b.rhat[i] = b.pred[i * K + lg->arm[i]];
        b.rhat_pi[i] = 0;
        for (size_t k = 0; k < K; k++)
            b.rhat_pi[i] += b.dist[k] * b.pred[i * K + k];
        learn(st, lg, i, ctx ? x : NULL, ctx ? lg->dim : 0);
        if (++since >= refresh) {
            sy_policy_free(snap);
            snap = sy_policy_state_snapshot(st, (double)i);
            since = 0;
        }
        sy_decide_out o;
        b.match[i] = sy_policy_decide(rsnap, &in, &o) == SY_OK && o.ranking[0] == lg->arm[i];
        if (b.match[i]) {
            learn(rst, lg, i, ctx ? x : NULL, ctx ? lg->dim : 0);
            if (++rsince >= refresh) {
                sy_policy_free(rsnap);
                rsnap = sy_policy_state_snapshot(rst, (double)i);
                rsince = 0;
            }
        }
    }
    estimates(b.r, b.p, b.pi, b.rhat, b.rhat_pi, b.match, n, out);
    sy_policy_free(snap);
    sy_policy_free(rsnap);
    sy_policy_state_free(st);
    sy_policy_state_free(rst);
    gsl_rng_free(rng);
    ope_free(&b);
    return SY_OK;
}

static size_t sample_dist(gsl_rng *rng, const double *dist, size_t k)
{
    double u = gsl_rng_uniform(rng), c = 0;
    for (size_t a = 0; a < k; a++) {
        c += dist[a];
        if (u < c)
            return a;
    }
    for (size_t a = k; a-- > 0;)
        if (dist[a] > 0)
            return a;
    return 0;
}

void sy_sim_evaluate_dist(const sy_sim_log *lg, const double *target, sy_sim_ope *out)
{
    size_t K = lg->n_arms, n = lg->n;
    ope_buf b;
    ope_alloc(&b, n, K);
    sy_objective obj = {.w_quality = 1};
    double scale[2] = {0, 0};
    for (size_t i = 0; i < n; i++)
        b.r[i] = event_reward(&obj, lg, i, scale);
    sy_sim_reward_model(lg->x, lg->dim, lg->arm, b.r, n, K, 1.0, b.pred);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 1);
    for (size_t i = 0; i < n; i++) {
        const double *d = target + i * K;
        b.p[i] = lg->propensity[i];
        b.pi[i] = d[lg->arm[i]];
        b.rhat[i] = b.pred[i * K + lg->arm[i]];
        b.rhat_pi[i] = 0;
        for (size_t k = 0; k < K; k++)
            b.rhat_pi[i] += d[k] * b.pred[i * K + k];
        b.match[i] = sample_dist(rng, d, K) == lg->arm[i];
    }
    estimates(b.r, b.p, b.pi, b.rhat, b.rhat_pi, b.match, n, out);
    gsl_rng_free(rng);
    ope_free(&b);
}

/* ---- supervised-to-bandit validation ---------------------------------------------- */

int sy_sim_validate(const sy_sim_dataset *ds, size_t dim, const sy_policy_params *target,
                    const sy_policy_params *logger, unsigned seeds, unsigned long seed0,
                    sy_sim_validation *out, char *err, size_t err_len)
{
    size_t K = ds->n_arms, n = ds->n;
    memset(out, 0, sizeof(*out));
    if (n < 4) {
        snprintf(err, err_len, "the dataset is too small to split (%zu prompts)", n);
        return SY_ERR_INVALID;
    }
    sy_policy_params tp = *target, lp = *logger;
    tp.n_arms = lp.n_arms = K;
    tp.propensity_draws = 0;
    int ctx = sy_policy_kind_is_contextual(tp.kind);
    if (ctx && !tp.dim)
        tp.dim = dim;
    if (!ctx)
        tp.dim = 0;
    lp.dim = 0;
    sy_policy_state *st = NULL, *ls = NULL;
    if (sy_policy_state_new(&tp, &st) != SY_OK || sy_policy_state_new(&lp, &ls) != SY_OK) {
        sy_policy_state_free(st);
        snprintf(err, err_len, "target or logging policy parameters rejected");
        return SY_ERR_INVALID;
    }
    size_t d = ctx ? tp.dim : dim;
    double *X = sy_xmalloc(n * d * sizeof(double));
    double *U = sy_xmalloc(n * K * sizeof(double));
    uint8_t *E = sy_xmalloc(n * K);
    size_t *order = sy_xmalloc(n * sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(ds->text[i]);
        sy_feature_input fi = {.user_text = ds->text[i],
                               .user_len = len,
                               .prompt_bytes = ds->bytes[i],
                               .turn = ds->turn[i]};
        sy_featurize(&fi, X + i * d, d);
        for (size_t k = 0; k < K; k++)
            E[i * K + k] = (uint8_t)sy_sim_dataset_eligible(ds, i, k);
        const double *rc = ds->cost + i * SY_SIM_STRIDE, *rl = ds->latency + i * SY_SIM_STRIDE;
        double cs = tp.objective.w_cost_rel > 0 ? sy_geomean_positive(rc, E + i * K, K) : 0;
        double lsc = tp.objective.w_latency_rel > 0 ? sy_geomean_positive(rl, E + i * K, K) : 0;
        for (size_t k = 0; k < K; k++) {
            size_t c = i * SY_SIM_STRIDE + k;
            U[i * K + k] = E[i * K + k] ? sy_sim_utility(&tp.objective, ds->quality[c], ds->cost[c],
                                                         ds->latency[c], cs, lsc)
                                        : 0;
        }
        order[i] = i;
    }
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20241129);
    gsl_ran_shuffle(rng, order, n, sizeof(size_t));
    size_t n_train = n / 2, n_test = n - n_train;
    /* train the target with bandit feedback over the first half, then freeze it */
    sy_policy *snap = sy_policy_state_snapshot(st, 0);
    for (size_t j = 0; j < n_train; j++) {
        size_t i = order[j];
        sy_decide_in in = {.n_arms = K,
                           .eligible = E + i * K,
                           .x = ctx ? X + i * d : NULL,
                           .dim = ctx ? d : 0,
                           .rng = rng,
                           .seq = j};
        sy_decide_out o;
        if (sy_policy_decide(snap, &in, &o) != SY_OK)
            continue;
        size_t a = o.ranking[0], c = i * SY_SIM_STRIDE + a;
        sy_outcome_obs oo = {.arm = a,
                             .latency_s = ds->latency[c],
                             .output_tokens = ds->tokens[c],
                             .cost_usd = ds->cost[c],
                             .t = (double)j};
        sy_policy_state_observe_outcome(st, &oo);
        sy_quality_obs qo = {.arm = a,
                             .x = in.x,
                             .dim = in.dim,
                             .reward = ds->quality[c],
                             .weight = 1,
                             .t = (double)j};
        sy_policy_state_observe_quality(st, &qo, NULL);
        if ((j + 1) % 32 == 0) {
            sy_policy_free(snap);
            snap = sy_policy_state_snapshot(st, (double)j);
        }
    }
    sy_policy_free(snap);
    snap = sy_policy_state_snapshot(st, (double)n_train);
    /* the frozen target's action distribution on the test half, and its true value */
    double *PI = sy_xcalloc(n_test * K, sizeof(double));
    double truth = 0;
    for (size_t j = 0; j < n_test; j++) {
        size_t i = order[n_train + j];
        sy_decide_in in = {.n_arms = K,
                           .eligible = E + i * K,
                           .x = ctx ? X + i * d : NULL,
                           .dim = ctx ? d : 0,
                           .rng = rng,
                           .seq = j};
        sy_sim_action_dist(snap, &in, 256, PI + j * K);
        for (size_t k = 0; k < K; k++)
            truth += PI[j * K + k] * U[i * K + k];
    }
    truth /= (double)n_test;
    sy_policy *logp = sy_policy_state_snapshot(ls, 0);
    ope_buf b;
    ope_alloc(&b, n_test, K);
    size_t *arm = sy_xmalloc(n_test * sizeof(size_t));
    double *Xt = sy_xmalloc(n_test * d * sizeof(double));
    for (size_t j = 0; j < n_test; j++)
        memcpy(Xt + j * d, X + order[n_train + j] * d, d * sizeof(double));
    for (unsigned s = 0; s < seeds; s++) {
        gsl_rng_set(rng, seed0 + s);
        for (size_t j = 0; j < n_test; j++) {
            size_t i = order[n_train + j];
            sy_decide_in in = {.n_arms = K, .eligible = E + i * K, .rng = rng, .seq = j};
            sy_decide_out o;
            sy_policy_decide(logp, &in, &o);
            arm[j] = o.ranking[0];
            b.p[j] = o.propensity;
            b.r[j] = U[i * K + arm[j]];
            b.pi[j] = PI[j * K + arm[j]];
            b.match[j] = sample_dist(rng, PI + j * K, K) == arm[j];
        }
        sy_sim_reward_model(Xt, d, arm, b.r, n_test, K, 1.0, b.pred);
        for (size_t j = 0; j < n_test; j++) {
            b.rhat[j] = b.pred[j * K + arm[j]];
            b.rhat_pi[j] = 0;
            for (size_t k = 0; k < K; k++)
                b.rhat_pi[j] += PI[j * K + k] * b.pred[j * K + k];
        }
        sy_sim_ope e;
        estimates(b.r, b.p, b.pi, b.rhat, b.rhat_pi, b.match, n_test, &e);
        const sy_sim_estimate *es[] = {&e.ips, &e.snips, &e.dr, &e.replay};
        size_t *cov[] = {&out->covered_ips, &out->covered_snips, &out->covered_dr,
                         &out->covered_replay};
        double *mean[] = {&out->mean_ips, &out->mean_snips, &out->mean_dr, &out->mean_replay};
        double *width[] = {&out->width_ips, &out->width_snips, &out->width_dr, &out->width_replay};
        for (size_t q = 0; q < 4; q++) {
            *cov[q] += es[q]->lo <= truth && truth <= es[q]->hi;
            *mean[q] += es[q]->value / seeds;
            *width[q] += (es[q]->hi - es[q]->lo) / seeds;
        }
    }
    out->n_train = n_train;
    out->n_test = n_test;
    out->seeds = seeds;
    out->true_value = truth;
    ope_free(&b);
    free(arm);
    free(Xt);
    free(PI);
    sy_policy_free(logp);
    sy_policy_free(snap);
    sy_policy_state_free(st);
    sy_policy_state_free(ls);
    gsl_rng_free(rng);
    free(order);
    free(E);
    free(U);
    free(X);
    return SY_OK;
}
