/*
 * assign: deterministic experiment assignment (DESIGN.md §8), pure.
 *
 * A unit (a user id, a conversation id or a request id) is hashed together with a salt
 * into one of SY_EXP_BUCKETS buckets. The same salt and unit always give the same bucket,
 * in every process and across restarts; different salts give independent buckets, which
 * is what makes experiments in different layers orthogonal. Within a layer, experiments
 * own disjoint bucket ranges of the layer's own hash (mutually exclusive); within an
 * experiment, variants own consecutive bucket ranges of the experiment's hash in
 * proportion to their weights.
 */
#ifndef SY_EXP_ASSIGN_H
#define SY_EXP_ASSIGN_H

#include <stddef.h>
#include <stdint.h>

#define SY_EXP_BUCKETS 10000u

/* 64-bit hash of salt and unit: FNV-1a over salt, a 0 byte and unit, then the
 * splitmix64 finaliser so that every output bit depends on every input bit. */
uint64_t sy_exp_hash(const char *salt, const void *unit, size_t unit_len);

/* The unit's bucket in [0, SY_EXP_BUCKETS) under salt. */
unsigned sy_exp_bucket(const char *salt, const void *unit, size_t unit_len);

/* The variant owning `bucket` when k variants split the buckets in proportion to their
 * (non-negative, not all zero) weights: variant i owns [B_{i-1}, B_i) with
 * B_i = round(SY_EXP_BUCKETS · Σ_{j≤i} w_j / Σ w). */
size_t sy_exp_pick(const double *weights, size_t k, unsigned bucket);

#endif
