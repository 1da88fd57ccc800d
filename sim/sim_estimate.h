/*
 * sim_estimate: off-policy estimators of a target policy's value from logged bandit data
 * (DESIGN.md §10, docs/simulator.md), each with a 95% normal interval.
 *
 * Per logged event i: r[i] the observed reward of the logged arm, p[i] the logging
 * propensity of that arm, pi[i] the target policy's probability of that arm in that
 * context, rhat[i] a reward model's prediction for the logged arm and rhat_pi[i] its
 * prediction averaged over the target's action distribution.
 *   IPS    V = mean(w·r),                 w = pi/p
 *   SNIPS  V = Σ w·r / Σ w                (interval by the delta method)
 *   DR     V = mean(rhat_pi + w·(r − rhat))
 *   replay V = mean of r over the events where the target chose the logged arm
 *          (Li et al. 2011: unbiased when the logging policy was uniform)
 */
#ifndef SY_SIM_ESTIMATE_H
#define SY_SIM_ESTIMATE_H

#include "sim_data.h"
#include "sim_run.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sy_sim_estimate {
    double value, lo, hi, se;
    size_t n; /* events used */
} sy_sim_estimate;

void sy_sim_ips(const double *r, const double *p, const double *pi, size_t n, sy_sim_estimate *out);
void sy_sim_snips(const double *r, const double *p, const double *pi, size_t n,
                  sy_sim_estimate *out);
void sy_sim_dr(const double *r, const double *p, const double *pi, const double *rhat,
               const double *rhat_pi, size_t n, sy_sim_estimate *out);
void sy_sim_replay(const double *r, const uint8_t *match, size_t n, sy_sim_estimate *out);

/*
 * The reward model of DR: per arm, ridge regression (penalty lambda, bias unpenalised
 * like every other coordinate — it is a small, simple model) of r on x, cross-fitted in
 * two folds (even / odd events) so an event's prediction never uses its own reward.
 * Fills pred[i*n_arms + k] for every event i and arm k; an arm without data in the other
 * fold predicts that fold's mean reward.
 */
void sy_sim_reward_model(const double *x, size_t dim, const size_t *arm, const double *r, size_t n,
                         size_t n_arms, double lambda, double *pred);

/*
 * The target policy's distribution over arms for one context: one decision when the
 * policy reports an exact propensity of 1 (deterministic), else the share of `draws`
 * decisions each arm led. dist has n_arms entries.
 */
void sy_sim_action_dist(const sy_policy *p, const sy_decide_in *in, unsigned draws, double *dist);

/* The four estimates of a target on a log. */
typedef struct sy_sim_ope {
    sy_sim_estimate ips, snips, dr, replay;
    double mean_logged; /* on-policy value of the logging policy */
    double ess;         /* effective sample size (Σw)²/Σw² */
} sy_sim_ope;

/*
 * Evaluate a learning target policy (params) on a log, progressively: before event i
 * the target has learned from events 0..i−1 exactly as the gateway's learner would (every
 * logged request's outcome and rating, through observe_outcome / observe_quality), and a
 * snapshot is refreshed every `refresh` events. The replay estimate runs its own copy of
 * the target that learns only from the events it matched (Li et al.). Rewards are the
 * utility under params->objective. SY_ERR_INVALID when params are rejected or the log's
 * context dimension does not fit a contextual target.
 */
int sy_sim_evaluate_log(const sy_sim_log *lg, const sy_policy_params *params, unsigned draws,
                        size_t refresh, unsigned long seed, sy_sim_ope *out, char *err,
                        size_t err_len);

/*
 * Evaluate fixed action distributions on a log: target[i*n_arms + k] = π(k | event i).
 * Used for OBD's uniform and empirical targets.
 */
void sy_sim_evaluate_dist(const sy_sim_log *lg, const double *target, sy_sim_ope *out);

/* Supervised-to-bandit validation (docs/simulator.md). */
typedef struct sy_sim_validation {
    size_t n_train, n_test;
    unsigned seeds;
    double true_value;
    size_t covered_ips, covered_snips, covered_dr, covered_replay;
    double mean_ips, mean_snips, mean_dr, mean_replay;
    double width_ips, width_snips, width_dr, width_replay; /* mean interval width */
} sy_sim_validation;

/*
 * Split the dataset in halves (fixed shuffle); train the target (params, one bandit pass
 * over the first half) and freeze it; its value on the second half is computed exactly
 * from full information. Then for each seed, log the second half with the logging policy
 * `logger` (a model-free kind with exact propensities, e.g. weighted or uniform), estimate
 * the target's value with the four estimators, and count how often each 95% interval
 * covers the true value.
 */
int sy_sim_validate(const sy_sim_dataset *ds, size_t dim, const sy_policy_params *target,
                    const sy_policy_params *logger, unsigned seeds, unsigned long seed0,
                    sy_sim_validation *out, char *err, size_t err_len);

#endif
