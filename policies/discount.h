/*
 * discount: the decay factor of discounted statistics (DESIGN.md §5, non-stationarity).
 *
 * Data observed `elapsed` clock units ago (seconds or observations, see sy_discount)
 * counts 2^(−elapsed/half_life) = γ^elapsed with γ = 2^(−1/half_life). Only data decays;
 * priors are added afterwards, so forgetting moves a posterior back toward its prior.
 */
#ifndef SY_DISCOUNT_H
#define SY_DISCOUNT_H

#include "policy_params.h"

/* 1 when discounting is off (half_life ≤ 0) or elapsed ≤ 0 (clocks never run back). */
double sy_discount_factor(const sy_discount *d, double elapsed);

#endif
