/*
 * decide_static: the model-free baselines. They read no statistics, no objective and no
 * constraints; their propensities are exact (uniform 1/n, fixed 1, weighted w/Σw,
 * round-robin 1/n).
 */
#include "policy_internal.h"

#include <string.h>

/* A uniformly random permutation (Fisher-Yates): each arm leads with probability 1/n. */
void sy_decide_uniform(const sy_decide_in *in, const size_t *elig, size_t n, sy_decide_out *out)
{
    memcpy(out->ranking, elig, n * sizeof(*elig));
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)gsl_rng_uniform_int(in->rng, i + 1);
        size_t t = out->ranking[i];
        out->ranking[i] = out->ranking[j];
        out->ranking[j] = t;
    }
    out->n_ranked = n;
    out->propensity = 1.0 / (double)n;
}

/* The configured arm, or the first eligible one when it is not eligible; the others
 * follow in index order. Deterministic: propensity 1. */
void sy_decide_fixed(const sy_policy *p, const size_t *elig, size_t n, sy_decide_out *out)
{
    size_t lead = 0;
    for (size_t i = 0; i < n; i++)
        if (elig[i] == p->fixed_arm)
            lead = i;
    size_t m = 0;
    out->ranking[m++] = elig[lead];
    for (size_t i = 0; i < n; i++)
        if (i != lead)
            out->ranking[m++] = elig[i];
    out->n_ranked = n;
    out->propensity = 1.0;
}

/*
 * Sampling without replacement in proportion to weight: the leader is arm k with
 * probability w_k / Σ eligible w (exact propensity), and the fallback order continues
 * the same way among the rest. Zero-weight arms come last in random order; when every
 * eligible arm weighs 0 the choice is uniform.
 */
void sy_decide_weighted(const sy_policy *p, const sy_decide_in *in, const size_t *elig, size_t n,
                        sy_decide_out *out)
{
    size_t rest[SY_POLICY_MAX_ARMS];
    memcpy(rest, elig, n * sizeof(*elig));
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += p->arms[elig[i]].ap.weight;
    double lead_w = 0;
    for (size_t m = 0; m < n; m++) {
        size_t left = n - m;
        double w_left = 0;
        for (size_t i = 0; i < left; i++)
            w_left += p->arms[rest[i]].ap.weight;
        size_t pick = left - 1;
        if (w_left > 0) {
            double u = gsl_rng_uniform(in->rng) * w_left;
            for (size_t i = 0; i < left; i++) {
                u -= p->arms[rest[i]].ap.weight;
                if (u < 0 && p->arms[rest[i]].ap.weight > 0) {
                    pick = i;
                    break;
                }
            }
            while (p->arms[rest[pick]].ap.weight <= 0) /* rounding ran past the end */
                pick--;
        } else {
            pick = (size_t)gsl_rng_uniform_int(in->rng, left);
        }
        out->ranking[m] = rest[pick];
        if (m == 0)
            lead_w = p->arms[rest[pick]].ap.weight;
        rest[pick] = rest[left - 1];
    }
    out->n_ranked = n;
    out->propensity = total > 0 ? lead_w / total : 1.0 / (double)n;
}

/*
 * Turn seq mod n among the eligible arms, then the others in rotation. The choice is a
 * function of the sequence number alone, never of the request, so given the context each
 * eligible arm leads 1/n of the time: the propensity is 1/n, the weight that keeps IPS
 * estimates on round-robin logs unbiased (reporting 1 would weight every logged request
 * as if the policy had chosen it for its context and shrink estimates by n).
 */
void sy_decide_round_robin(const sy_decide_in *in, const size_t *elig, size_t n, sy_decide_out *out)
{
    size_t start = (size_t)(in->seq % n);
    for (size_t m = 0; m < n; m++)
        out->ranking[m] = elig[(start + m) % n];
    out->n_ranked = n;
    out->propensity = 1.0 / (double)n;
}
