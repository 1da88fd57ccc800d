/*
 * arm_stats: one arm's additive sufficient statistics, their decay, and their flat
 * serialisation (layout documented in policy_state.h).
 *
 * Outcome signals are stored on transformed scales where they are roughly normal:
 * y = ln(latency_s) (latency floored at 1 ms), y = ln(1 + output_tokens) and
 * y = ln(1 + cost in micro-USD). The helpers below convert both ways.
 */
#ifndef SY_ARM_STATS_H
#define SY_ARM_STATS_H

#include "linreg.h"
#include "nig.h"
#include "policy_params.h"

#include <stddef.h>

#define SY_ARM_STATS_VERSION 1

typedef struct sy_arm_stats {
    sy_linreg_stats q;           /* ratings */
    sy_nig_stats lat, tok, cost; /* outcome signals */
} sy_arm_stats;

void sy_arm_stats_init(sy_arm_stats *s, size_t d);
void sy_arm_stats_free(sy_arm_stats *s);

/* Decay a block's data to clock value t (no-op if t is not later than its stamp). */
void sy_arm_stats_decay_q(sy_linreg_stats *q, size_t d, const sy_discount *disc, double t);
void sy_arm_stats_decay_nig(sy_nig_stats *s, const sy_discount *disc, double t);

size_t sy_arm_stats_len(size_t d);
void sy_arm_stats_export(const sy_arm_stats *s, size_t d, double *out);
/* SY_ERR_INVALID (s untouched) unless len, version and d match and all values are
 * finite; s must have been initialised with the same d. */
int sy_arm_stats_import(sy_arm_stats *s, size_t d, const double *in, size_t len);
/* Largest clock stamp among the blocks of a serialised array (assumed valid). */
void sy_arm_stats_stamps(const double *in, size_t d, double *t_quality, double *t_outcome);
/* dst += src after decaying both to the later stamp of each block. */
void sy_arm_stats_merge(sy_arm_stats *dst, const sy_arm_stats *src, size_t d,
                        const sy_discount *disc);

double sy_y_latency(double latency_s);
double sy_y_tokens(double tokens);
double sy_y_cost(double cost_usd);
double sy_tokens_from_y(double e_y); /* e_y = E[e^y] → tokens */
double sy_cost_from_y(double e_y);   /* e_y = E[e^y] → USD */

#endif
