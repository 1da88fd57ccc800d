/*
 * cache_arm: the semantic cache as an arm of a route's policy (issue 22;
 * docs/cache-evaluation.md "The cache as an arm", docs/simulator.md).
 *
 * Instead of a fixed similarity threshold, a route may let its policy choose between
 * serving the nearest cached answer and calling one of its models, so ratings teach it
 * where cached answers satisfy users. The route then has one more arm, the CACHE ARM
 * (by convention its last arm), which:
 *   - is eligible only when the cache has a candidate for the request (the nearest
 *     entry the index returned, at or above the route's candidate floor); otherwise
 *     sy_cache_arm_eligible marks it ineligible through the ordinary `eligible` flags of
 *     sy_decide_in, so the policy never picks it;
 *   - costs nothing upstream (sy_cache_arm_params: priced at 0 per token, so its expected
 *     cost is exactly 0 and it stays out of the relative objective's cost scale), so a
 *     cost-aware objective prefers it wherever its learned quality holds up;
 *   - is described to the policy by SY_CACHE_ARM_FEATURES context features appended to
 *     the request's ordinary features (sy_cache_arm_featurize): the similarity s of the
 *     candidate, a ramp above the route's calibrated threshold τ, an exact-repeat flag,
 *     what users said of the entry's answer when it was served before (how often it was
 *     rated, and how far its mean rating lies from a neutral prior), and s and the ramp
 *     times the prompt's format flags (code, math, multiple choice) — all 0 when there is
 *     no candidate. A linear policy (linear_thompson, linucb) thus learns the cached
 *     answer's quality as a function of s, bent per kind of prompt, and stops serving an
 *     entry whose answer users rated badly (a near-miss that keeps coming back) — what no
 *     fixed threshold can do.
 * Only contextual kinds see the features; any kind can use the arm.
 *
 * How the gateway uses it: for a cache-arm route with policy dim d (> SY_FEATURE_DENSE +
 * SY_CACHE_ARM_FEATURES), fill an sy_cache_candidate from the index and the entry's
 * stored ratings, featurize with sy_cache_arm_featurize(in, &candidate, x, d) instead of
 * sy_featurize, set the eligible flags with sy_cache_arm_eligible, and price the model
 * that produced the candidate's answer at what that answer cost
 * (sy_decide_in.cost_hint[model]; NAN for the other arms) — for a repeat that is what
 * calling it again costs, and without it a cost-aware objective prices every call at the
 * model's mean cost and under-values caching dear questions (docs/simulator.md). Decide
 * as usual; if the cache arm wins, serve the candidate; the request's outcome (cost 0)
 * and rating are observed on the cache arm with the same x, and the rating is added to
 * the entry's rating_sum / rating_n. Pure, like the rest of policies/.
 */
#ifndef SY_CACHE_ARM_H
#define SY_CACHE_ARM_H

#include "featurize.h"
#include "policy_params.h"

#include <stddef.h>
#include <stdint.h>

#define SY_CACHE_ARM_FEATURES 11
/* A similarity at or above this counts as an exact repeat (feature 2). */
#define SY_CACHE_ARM_EXACT 0.9995
/* The entry's ratings are read against a Beta-like prior of this mean and weight
 * (features 3 and 4): one neutral pseudo-rating. */
#define SY_CACHE_ARM_PRIOR_MEAN 0.5
#define SY_CACHE_ARM_PRIOR_N    1.0

/* What the cache offers for one request: the nearest entry (if any) and what is known of
 * it. The caller fills it from its index and store; rating_n is 0 when the entry's answer
 * was never rated (or the caller does not track ratings). */
typedef struct sy_cache_candidate {
    int has;           /* a nearest entry at or above the route's candidate floor */
    double similarity; /* its cosine similarity to the request (clamped to [0, 1]) */
    double tau;        /* the route's calibrated threshold, in [0, 1) */
    double rating_sum; /* Σ ratings in [0, 1] its answer received when served from the cache */
    double rating_n;   /* how many (or their total weight); 0 = never rated */
} sy_cache_candidate;

/*
 * The cache features of a request, written to f[0..SY_CACHE_ARM_FEATURES), with
 * n = rating_n, r = rating_sum, m₀ = SY_CACHE_ARM_PRIOR_MEAN, n₀ = SY_CACHE_ARM_PRIOR_N:
 *   f[0] = s                              the candidate's cosine similarity (clamped to [0,1])
 *   f[1] = max(0, s − τ) / (1 − τ)         how far above the calibrated threshold τ
 *   f[2] = 1 if s ≥ SY_CACHE_ARM_EXACT      an exact (or verbatim) repeat
 *   f[3] = n / (n + n₀)                    how much the entry was rated (0 never)
 *   f[4] = (r − m₀·n) / (n + n₀)           its posterior mean rating minus m₀ (0 never rated)
 *   f[5], f[6] = f[0], f[1] × code flag    the similarity curve bent per kind of prompt
 *   f[7], f[8] = f[0], f[1] × math flag
 *   f[9], f[10] = f[0], f[1] × multiple-choice flag
 * The flags are plain[SY_F_CODE], plain[SY_F_MATH] and plain[SY_F_CHOICE] of the request's
 * ordinary features (plain may be NULL: those products are 0). All 0 when c->has is 0
 * (or c is NULL). τ outside [0, 1): f[1] is 0. Ratings that are not finite, or n ≤ 0,
 * count as never rated; r is clamped to [0, n].
 */
void sy_cache_arm_features(const sy_cache_candidate *c, const double *plain, double *f);

/*
 * A cache-arm route's context vector of dimension dim: x[0..dim−F) exactly as
 * sy_featurize(in, x, dim − F), then the cache features of c and those x (F =
 * SY_CACHE_ARM_FEATURES).
 * SY_ERR_INVALID when dim − F is too small for sy_featurize (dim ≤ SY_FEATURE_DENSE + F)
 * or sy_featurize refuses in.
 */
int sy_cache_arm_featurize(const sy_feature_input *in, const sy_cache_candidate *c, double *x,
                           size_t dim);

/* Mark the cache arm eligible exactly when there is a candidate (other flags untouched). */
void sy_cache_arm_eligible(uint8_t *eligible, size_t cache_arm, int has_candidate);

/* The cache arm's parameters: sy_arm_params_init defaults with SY_COST_PRICED at 0 USD
 * per token (its expected cost is exactly 0, whatever is observed). */
void sy_cache_arm_params(sy_arm_params *ap);

#endif
