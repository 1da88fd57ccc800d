/*
 * policy: the interface every routing policy implements (DESIGN.md §5).
 *
 * A policy ranks the eligible arms of one route for one request. The ranking is also
 * the fallback order, and `propensity` is the probability with which the policy would
 * have picked ranking[0] given this context: what makes logged traffic usable for
 * offline evaluation. Policies are pure: no I/O, no clocks, no globals; randomness comes
 * from the caller's gsl_rng so that each worker thread owns its own generator.
 *
 * A sy_policy is immutable once built and may be shared by threads that each pass
 * their own rng.
 */
#ifndef SY_POLICY_H
#define SY_POLICY_H

#include <gsl/gsl_rng.h>
#include <stddef.h>
#include <stdint.h>

#define SY_POLICY_MAX_ARMS 64

typedef struct sy_decide_in {
    size_t n_arms;          /* arms 0..n_arms-1 of the route, at most SY_POLICY_MAX_ARMS */
    const uint8_t *eligible; /* n_arms flags (nonzero = eligible); NULL = all eligible */
    const double *x;        /* context vector (NULL for non-contextual policies) */
    size_t dim;             /* length of x */
    gsl_rng *rng;           /* caller-owned generator */
} sy_decide_in;

typedef struct sy_decide_out {
    size_t ranking[SY_POLICY_MAX_ARMS]; /* eligible arms, best first */
    size_t n_ranked;
    double propensity; /* P(ranking[0] chosen | context), exact or Monte Carlo */
} sy_decide_out;

typedef struct sy_policy sy_policy;

/* Uniform random choice among eligible arms; propensity is exactly 1/eligible. */
sy_policy *sy_policy_new_uniform(void);
void sy_policy_free(sy_policy *p);
const char *sy_policy_name(const sy_policy *p);

/*
 * Rank the eligible arms. Returns 0, or SY_ERR_INVALID when no arm is eligible or
 * n_arms exceeds SY_POLICY_MAX_ARMS (out is then untouched).
 */
int sy_policy_decide(const sy_policy *p, const sy_decide_in *in, sy_decide_out *out);

#endif
