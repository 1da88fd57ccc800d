/*
 * warm: a warm start of a policy state from a full-information dataset (issue 14).
 *
 * The data is neutral: per row the context vector (already featurised with the route's
 * dim) and, per arm of the route, the quality and cost of that arm on the row (NAN where
 * the arm has no outcome). Readers of the dataset formats live in sim/ (sim_warm.h);
 * the simulator (before every seed) and the gateway's learner (before the first live
 * event of a route) both feed it here, so both start from identical statistics.
 */
#ifndef SY_WARM_H
#define SY_WARM_H

#include "policy_state.h"

#include <stddef.h>

typedef struct sy_warm_data {
    size_t n, dim, n_arms; /* rows, context length, arms of the route */
    double *x;             /* n × dim (not read when dim is 0) */
    double *quality;       /* n × n_arms, by route arm; NAN = no warm outcome */
    double *cost;          /* n × n_arms; NAN = unknown */
    double weight;         /* weight of each warm rating (> 0) */
    size_t matched;        /* arms with at least one warm outcome */
} sy_warm_data;

/* Free the members (the struct itself is the caller's); w is zeroed. */
void sy_warm_data_free(sy_warm_data *w);

/*
 * Feed every warm outcome to st, row by row in the data's order and arm by arm: its cost
 * as an outcome (latency and tokens unknown) and its quality as a rating of weight
 * w->weight, with the row's context when `contextual` (else none), all at clock value
 * t — exactly the calls a served and rated request makes. Arms k with arms[k] == 0 are
 * skipped (arms may be NULL: all). Observations the state refuses (an arm beyond the
 * state's, a context length it does not take) are skipped. Returns the ratings fed.
 */
size_t sy_warm_feed(const sy_warm_data *w, sy_policy_state *st, int contextual,
                    const unsigned char *arms, double t);

#endif
