/*
 * policy: the interface every routing policy implements (DESIGN.md §5).
 *
 * A policy ranks the eligible arms of one route for one request. The ranking is also
 * the fallback order, and `propensity` is the probability with which the policy would
 * have picked ranking[0] given this context: what makes logged traffic usable for
 * offline evaluation. Policies are pure: no I/O, no clocks, no globals; randomness comes
 * from the caller's gsl_rng so that each worker thread owns its own generator.
 *
 * Life cycle (state vs decision):
 *
 *   params ──sy_policy_state_new──► sy_policy_state   (mutable; ONE writer)
 *                                     │  observe_outcome / observe_quality / retract
 *                                     │  import / merge / export (persistence)
 *                                     ▼
 *                       sy_policy_state_snapshot(st, now)
 *                                     │  decays every arm to `now`, adds the priors,
 *                                     │  factors each precision matrix (Cholesky)
 *                                     ▼
 *                               sy_policy (immutable)  ──sy_policy_decide──► ranking,
 *                               shared by any number        (many threads,    propensity
 *                               of readers                   own rng each)
 *
 * The engine's store thread owns the state, applies events in batches and publishes a
 * new snapshot after each batch (refcounting the published pointer is the engine's
 * job: a sy_policy has no reference count of its own). Workers call sy_policy_decide
 * on whichever snapshot they hold; decide never allocates, never factors a matrix and
 * never writes to the snapshot. sy_policy_new_uniform() builds a stateless snapshot.
 *
 * Snapshots factor each precision matrix themselves (policies/linreg.c) and report one
 * that is not positive definite, which can only arise from retracting ratings that were
 * never added; the arm then decides from its prior (sy_arm_summary.prior_fallback).
 * GSL: programs that link this library must call gsl_set_error_handler_off() once at
 * start-up, so that a domain error in a GSL distribution function is returned rather
 * than aborting (the default handler aborts).
 */
#ifndef SY_POLICY_H
#define SY_POLICY_H

#include "policy_params.h"
#include "policy_state.h"

#include <gsl/gsl_rng.h>
#include <stddef.h>
#include <stdint.h>

/* Propensities below this are reported as this (bounds IPS weights at 1000). */
#define SY_PROPENSITY_FLOOR 1e-3

/* A zero-initialised sy_decide_in plus n_arms and rng is a valid request for any
 * non-contextual policy and decides exactly as the uniform policy always has. */
typedef struct sy_decide_in {
    size_t n_arms;           /* arms 0..n_arms-1 of the route, at most SY_POLICY_MAX_ARMS;
                                must equal the snapshot's arm count (uniform: any) */
    const uint8_t *eligible; /* n_arms flags (nonzero = eligible); NULL = all eligible */
    const double *x;         /* context vector (NULL for non-contextual policies) */
    size_t dim;              /* length of x; must equal the snapshot's dim when used */
    gsl_rng *rng;            /* caller-owned generator */
    uint64_t seq;            /* request sequence number (round-robin turns) */
    double input_tokens;     /* known prompt tokens, for the cost of priced arms */
    const double *cost_hint; /* n_arms known costs (USD) of this request, used instead of
                                the arm's cost model where finite and ≥ 0 (e.g. what the
                                cached answer to this question cost on that model);
                                NULL = none */
} sy_decide_in;

typedef struct sy_decide_out {
    size_t ranking[SY_POLICY_MAX_ARMS]; /* eligible arms, best first */
    size_t n_ranked;
    double propensity;       /* P(ranking[0] chosen | context): exact, or Monte Carlo for the
                                Thompson kinds (NAN when propensity_draws is 0) */
    int constraint_fallback; /* 1 when ranking[0] violates a hard constraint (all did) */
} sy_decide_out;

typedef struct sy_policy sy_policy;

/* Uniform random choice among eligible arms; propensity is exactly 1/eligible. */
sy_policy *sy_policy_new_uniform(void);
void sy_policy_free(sy_policy *p);
const char *sy_policy_name(const sy_policy *p);
size_t sy_policy_n_arms(const sy_policy *p); /* 0 for the stateless uniform policy */
size_t sy_policy_dim(const sy_policy *p);

/*
 * Build an immutable snapshot of a state as of time `now` (ignored with a half-life in
 * observations). Cost O(K·d³/6); never fails. The caller owns the result.
 */
sy_policy *sy_policy_state_snapshot(const sy_policy_state *st, double now);

/*
 * Rank the eligible arms. Returns 0, or SY_ERR_INVALID when no arm is eligible,
 * n_arms exceeds SY_POLICY_MAX_ARMS or differs from the snapshot's, rng is NULL, or a
 * contextual policy gets no x or an x of the wrong dim (out is then untouched).
 */
int sy_policy_decide(const sy_policy *p, const sy_decide_in *in, sy_decide_out *out);

/*
 * The objective's utility of an outcome (see sy_objective): quality, cost and latency
 * (NAN latency counts 0) with the relative terms measured against cost_scale and
 * latency_scale (≤ 0: the term is 0). Pure; the simulator scores outcomes with it.
 */
double sy_objective_utility(const sy_objective *o, double quality, double cost_usd,
                            double latency_s, double cost_scale, double latency_scale);
/* Geometric mean of the positive values v[i] with mask[i] != 0 (mask NULL = all); 0 when
 * there is none. The relative objective's scale. */
double sy_geomean_positive(const double *v, const unsigned char *mask, size_t n);

/*
 * The deterministic score of one arm, for explanations (admin API, simulator reports)
 * and tests: *violation is its relative excess over the hard constraints (0 = keeps
 * them) and *utility = sy_objective_utility(Q, E[cost], E[latency]) with posterior
 * means of cost and latency for a request of in->input_tokens (the relative terms'
 * scales from every arm's posterior means), and Q
 *   ε-greedy, thompson:  the Beta posterior mean of quality;
 *   ucb1:                mean rating + ucb_c·sqrt(2·ln N / n) (+∞ for an untried arm);
 *   linucb:              xᵀμ + linucb_alpha·sqrt(xᵀΛ⁻¹x);
 *   linear_thompson:     xᵀμ.
 * The greedy kinds rank by exactly this; Thompson kinds rank by random draws around it.
 * Reads in->x, in->dim and in->input_tokens only. SY_ERR_INVALID for a model-free kind
 * (uniform, fixed, weighted, round-robin), a bad arm, or a contextual kind without an x
 * of the snapshot's dim.
 */
int sy_policy_score(const sy_policy *p, size_t arm, const sy_decide_in *in, double *utility,
                    double *violation);

/* What the admin API shows for one arm of a snapshot. Intervals are central 95%
 * posterior intervals of the mean; cost is for a request of `input_tokens`. */
typedef struct sy_arm_summary {
    double ratings;                              /* effective (discounted) number of ratings */
    double requests;                             /* effective number of latency observations */
    double quality_mean, quality_lo, quality_hi; /* Beta posterior (non-contextual) */
    double latency_mean_s, latency_lo_s, latency_hi_s;
    double output_tokens_mean;
    double cost_mean_usd, cost_lo_usd, cost_hi_usd;
    int prior_fallback; /* 1 if the linear posterior was unusable (see above) */
} sy_arm_summary;

/* SY_ERR_INVALID for a bad arm or the stateless uniform policy. */
int sy_policy_arm_summary(const sy_policy *p, size_t arm, double input_tokens, sy_arm_summary *out);

#endif
