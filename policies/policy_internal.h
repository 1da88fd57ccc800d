/*
 * policy_internal: the layout of states and snapshots, shared by the files of
 * policies/ only. Nothing outside this folder includes it.
 */
#ifndef SY_POLICY_INTERNAL_H
#define SY_POLICY_INTERNAL_H

#include "arm_stats.h"
#include "cluster.h"
#include "linreg.h"
#include "nig.h"
#include "policy.h"

/* Prior spread (σ on the log scale) of the outcome signals, before any data. */
#define SY_PRIOR_SPREAD_LATENCY 0.5
#define SY_PRIOR_SPREAD_TOKENS  1.0
#define SY_PRIOR_SPREAD_COST    1.0

struct sy_policy_state {
    sy_policy_params params; /* params.arms points to arms */
    sy_arm_params *arms;
    sy_arm_stats *stats;
    double clock_q, clock_o; /* observation counts (half-life in observations) */
    double *cl; /* cluster kind: n_arms × levels × slots × (t, Σw, Σw·r), else NULL */
    struct sy_lin_memo *memo; /* contextual kinds: per arm, its last factored posterior */
};

/*
 * The last linear posterior snapshot.c factored for one arm, with everything it was made
 * from (the prior, the discount factor and an exact copy of the rating sums). A snapshot
 * whose inputs for the arm are bit-for-bit the same copies it instead of factoring again:
 * without time discounting most arms of a converged route get no rating between two
 * snapshots. Owned by the state; written only by sy_policy_state_snapshot (so snapshots
 * of one state must not run concurrently — the learner's thread and the simulator each
 * own theirs).
 */
typedef struct sy_lin_memo {
    int valid, fallback;
    sy_linreg_prior prior;
    double decay;
    double in[4]; /* q.t, q.n, q.sum_r, q.sum_rr */
    double *sums; /* d + d(d+1)/2: q.xr, q.xx */
    double *post; /* d(d+1)/2 + 2d: ut, inv_diag, mu */
    double a, b;
} sy_lin_memo;

/* One arm as a snapshot sees it: posteriors ready to sample. */
typedef struct sy_snap_arm {
    sy_arm_params ap;
    double ratings, sum_r; /* decayed Σw and Σw·r of ratings */
    double alpha, beta;    /* Beta posterior of quality */
    sy_linreg_post lin;    /* linear posterior (lin.d = 0 when non-contextual) */
    int prior_fallback;
    double requests; /* decayed Σw of latency observations */
    sy_lognormal_mean lat, tok, cost;
    const double *cl; /* cluster kind: levels × slots × (Σw, Σw·r) decayed, else NULL */
} sy_snap_arm;

struct sy_policy {
    sy_policy_kind kind;
    size_t n_arms, dim; /* n_arms = 0: stateless uniform */
    sy_objective obj;
    int need_cost, need_latency; /* the objective reads them at all */
    double epsilon, ucb_c, linucb_alpha, ts_scale, pool;
    size_t fixed_arm;
    unsigned draws;
    double total_ratings;
    sy_snap_arm *arms;
    double *block;    /* storage of every arm's linear posterior */
    double *cl_block; /* storage of every arm's cluster sums (cluster kind) */
};

/* The cluster kind's Beta parameters of arm a's quality in context x. */
void sy_cluster_arm_beta(const sy_policy *p, const sy_snap_arm *a, const double *x, double *alpha,
                         double *beta);

/* One arm's place in a ranking: lower violation first, then higher utility. */
typedef struct sy_score {
    size_t arm;
    double viol; /* relative constraint violation, 0 = satisfies */
    double util;
} sy_score;

/* Sum of relative excesses over the route's constraints (0 when all hold). */
double sy_objective_violation(const sy_objective *o, double cost_usd, double latency_s);
/* 1 if a ranks strictly before b. */
int sy_score_before(const sy_score *a, const sy_score *b);
/* Stable sort, best first. */
void sy_score_sort(sy_score *s, size_t n);

/* An arm's cost (USD) and latency (s) for the request in (its input tokens and cost
 * hints): a posterior draw of their expected values when rng is given, their posterior
 * means when rng is NULL; a finite, non-negative in->cost_hint[arm] replaces the
 * cost. Signals the objective ignores are 0 and cost no draw. */
void sy_arm_outcome(const sy_policy *p, const sy_snap_arm *a, const sy_decide_in *in, gsl_rng *rng,
                    double *cost_usd, double *latency_s);

/* The relative objective's scales for one request: geometric means of the eligible
 * arms' posterior-mean cost and latency (0 when the objective does not use them). */
typedef struct sy_obj_scale {
    double cost, latency;
} sy_obj_scale;
void sy_objective_scales(const sy_policy *p, const sy_decide_in *in, const size_t *elig, size_t n,
                         sy_obj_scale *s);
/* The relative terms of sy_objective_penalty (out of line: logarithms). */
double sy_objective_rel_penalty(const sy_objective *o, double cost_usd, double latency_s,
                                const sy_obj_scale *s);
/* w_cost·c + w_latency·l + the relative terms: what an outcome costs in utility (latency
 * NAN counts 0). Inline: it runs for every arm of every draw. */
static inline double sy_objective_penalty(const sy_objective *o, double cost_usd, double latency_s,
                                          const sy_obj_scale *s)
{
    double lat = latency_s == latency_s ? latency_s : 0;
    double pen = o->w_cost * cost_usd + o->w_latency * lat;
    if (o->w_cost_rel > 0 || o->w_latency_rel > 0)
        pen += sy_objective_rel_penalty(o, cost_usd, lat, s);
    return pen;
}

/* An arm's deterministic score: the kind's quality score (see sy_policy_score) with the
 * posterior means of cost and latency. v is scratch of dim doubles. */
void sy_arm_score(const sy_policy *p, const sy_decide_in *in, size_t arm, double *v,
                  const sy_obj_scale *scale, sy_score *sc);

/* Per-kind deciders: elig[0..n) are the eligible arms in index order (n ≥ 1); each
 * fills out->ranking, n_ranked, propensity and constraint_fallback. */
void sy_decide_uniform(const sy_decide_in *in, const size_t *elig, size_t n, sy_decide_out *out);
void sy_decide_fixed(const sy_policy *p, const size_t *elig, size_t n, sy_decide_out *out);
void sy_decide_weighted(const sy_policy *p, const sy_decide_in *in, const size_t *elig, size_t n,
                        sy_decide_out *out);
void sy_decide_round_robin(const sy_decide_in *in, const size_t *elig, size_t n,
                           sy_decide_out *out);
void sy_decide_greedy(const sy_policy *p, const sy_decide_in *in, const size_t *elig, size_t n,
                      sy_decide_out *out);
void sy_decide_thompson(const sy_policy *p, const sy_decide_in *in, const size_t *elig, size_t n,
                        sy_decide_out *out);

#endif
