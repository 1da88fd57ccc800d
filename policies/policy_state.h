/*
 * policy_state: the mutable learning state of one route (DESIGN.md §2, §5).
 *
 * A state holds the route's parameters and, per arm, additive sufficient statistics of
 * three kinds of evidence, each as data only (the priors are added when a snapshot is
 * taken, so discounting decays the data toward the prior):
 *   - quality (ratings in [0,1], weighted): Σw, Σw·r, Σw·r², and for contextual routes
 *     Σw·r·x and Σw·x·xᵀ — enough for both the Beta and the linear model, so a route
 *     may switch policy kind without losing what it learned;
 *   - outcome signals, observed on every request: log latency, log(1 + output tokens)
 *     and log(1 + cost in micro-USD), each as Σw, Σw·y, Σw·y².
 *
 * One writer (the engine's store thread, or the simulator's loop) owns a state; nothing
 * here is thread-safe. Readers never touch it: they decide on immutable snapshots made
 * by sy_policy_state_snapshot() (policy.h).
 *
 * Time. Every call that changes statistics takes the current time `t` (any monotonic
 * unit, seconds in the server). With a half-life in seconds, data is decayed by
 * 2^(−Δt/half_life) before new data is added. With a half-life in observations, `t` is
 * ignored and the state counts observations of the route instead (one clock for
 * ratings, one for outcomes): all arms decay by 2^(−1/half_life) per observation, the
 * discounted Thompson sampling of Raj & Kalyani (2017).
 */
#ifndef SY_POLICY_STATE_H
#define SY_POLICY_STATE_H

#include "policy_params.h"

#include <stddef.h>

typedef struct sy_policy_state sy_policy_state;

/* A finished request: fields that were not observed are NAN and are skipped. */
typedef struct sy_outcome_obs {
    size_t arm;
    double latency_s;     /* total latency, seconds (> 0; floored at 1 ms) */
    double output_tokens; /* completion tokens (≥ 0) */
    double cost_usd;      /* what the request cost (≥ 0) */
    double t;             /* current time */
} sy_outcome_obs;

/* A rating of one decision. */
typedef struct sy_quality_obs {
    size_t arm;
    const double *x; /* the context vector of the decision (dim entries); may be NULL
                        only when the state's dim is 0 */
    size_t dim;
    double reward; /* in [0,1]: up = 1, down = 0, or a graded value */
    double weight; /* > 0: 1 for an explicit rating, less for implicit signals */
    double t;      /* current time */
} sy_quality_obs;

/* Validate params (sy_policy_params_check) and build an empty state: SY_OK or
 * SY_ERR_INVALID (then *out is untouched). The caller owns *out. */
int sy_policy_state_new(const sy_policy_params *params, sy_policy_state **out);
void sy_policy_state_free(sy_policy_state *st);
const sy_policy_params *sy_policy_state_params(const sy_policy_state *st);

/* Replace one arm's parameters (a price change on config reload), keeping its
 * statistics. SY_ERR_INVALID for a bad arm index or bad parameters. */
int sy_policy_state_set_arm(sy_policy_state *st, size_t arm, const sy_arm_params *ap);

/* Add one request's latency, output tokens and cost. SY_ERR_INVALID for a bad arm or a
 * negative/infinite value (nothing is changed then). */
int sy_policy_state_observe_outcome(sy_policy_state *st, const sy_outcome_obs *o);

/*
 * Add one rating. On success *stamp (if not NULL) receives the clock value the rating
 * was recorded at; keep it to retract the rating later. SY_ERR_INVALID for a bad arm,
 * a reward outside [0,1], a weight ≤ 0, or a missing/mismatched context.
 */
int sy_policy_state_observe_quality(sy_policy_state *st, const sy_quality_obs *q, double *stamp);

/*
 * Remove a rating added earlier with the same q->arm, x, reward and weight and the
 * stamp it returned (re-rating = retract the old, observe the new). Under discounting
 * the old rating has decayed since, so exactly its decayed remainder is subtracted.
 * q->t is the current time. Same errors as observe.
 */
int sy_policy_state_retract_quality(sy_policy_state *st, const sy_quality_obs *q, double stamp);

/*
 * Serialisation: one arm's statistics as a flat array of doubles, for the store.
 * Layout (version 1, d = dim):
 *   [0] version (1)  [1] d
 *   quality:  [2] stamp [3] Σw [4] Σw·r [5] Σw·r² [6 .. 6+d) Σw·r·x
 *             then Σw·x·xᵀ, upper triangle packed row by row (d(d+1)/2)
 *   latency, tokens, cost: four each — stamp, Σw, Σw·y, Σw·y²
 * Every entry except version, d and the stamps is an additive sum.
 */
size_t sy_policy_state_export_len(const sy_policy_state *st);
/* SY_ERR_INVALID for a bad arm or len != export_len. */
int sy_policy_state_export_arm(const sy_policy_state *st, size_t arm, double *out, size_t len);
/* Overwrite an arm's statistics. SY_ERR_INVALID for a bad arm, a length, version or d
 * that does not match, or non-finite values; the arm is unchanged then. In observation
 * mode the state's clocks are advanced to the largest stamp imported. */
int sy_policy_state_import_arm(sy_policy_state *st, size_t arm, const double *in, size_t len);
/* Add serialised statistics to an arm's own: both are decayed to the later stamp first,
 * so merging deltas from several writers composes. Same errors as import. */
int sy_policy_state_merge_arm(sy_policy_state *st, size_t arm, const double *in, size_t len);

#endif
