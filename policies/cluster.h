/*
 * cluster: the discrete context of cluster_thompson (docs/policies.md) — hierarchical
 * Beta–Bernoulli Thompson sampling over format clusters of the featurizer's dense flags.
 *
 * A request falls in one level-1 cluster (its format: code, math, a choice between two
 * options, between three or more, non-Latin script, tools, system prompt, a follow-up
 * turn) and one level-2 cluster (the same and the latest message's length: under 256
 * bytes, under 4 KiB, longer). Keys are hashed into SY_CLUSTER_SLOTS slots per level.
 * Each arm keeps, per slot, the decayed Σw and Σw·r of its ratings. The quality of an
 * arm in a context is Beta(α2, β2) from the chain
 *   global Beta posterior (the `thompson` one) → level 1 → level 2,
 * where each level takes its parent's mean as prior, with strength min(pool, α+β of the
 * parent) — shrinkage that never claims more certainty than the parent has — and adds
 * its own ratings. Early on a route behaves like non-contextual Thompson sampling;
 * clusters with evidence of their own specialise.
 */
#ifndef SY_CLUSTER_H
#define SY_CLUSTER_H

#include <stddef.h>

#define SY_CLUSTER_SLOTS  32 /* per level */
#define SY_CLUSTER_LEVELS 2

/* The level-1 and level-2 slots of a context vector (dim > SY_F_MANY_CHOICES). */
void sy_cluster_slots(const double *x, size_t dim, size_t slot[SY_CLUSTER_LEVELS]);

/* Beta parameters of the quality in the slots' context, from the global posterior
 * (alpha0, beta0) and the arm's per-slot sums cl (SY_CLUSTER_LEVELS × SY_CLUSTER_SLOTS
 * pairs Σw, Σw·r) with pooling strength `pool`. */
void sy_cluster_beta(double alpha0, double beta0, const double *cl, const size_t *slot, double pool,
                     double *alpha, double *beta);

#endif
