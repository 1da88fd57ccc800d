/*
 * sim_scenario: synthetic scenarios described in JSON (schema in docs/simulator.md).
 *
 * Arms have a quality per kind of prompt ("contexts", each with a text the shared
 * featurizer turns into x, and a weight), per-token prices, output tokens and a log-normal
 * latency. Events at step t change an arm's prices, take it out for a number of steps
 * (outage) or change its quality. A scenario is a row source for sim_run: every step
 * draws a context, a Bernoulli quality and a latency for EVERY arm (full information),
 * and gives the expected utility of every arm for regret.
 */
#ifndef SY_SIM_SCENARIO_H
#define SY_SIM_SCENARIO_H

#include "sim_run.h"

typedef struct sy_sim_scenario sy_sim_scenario;

/* Parse a scenario; NULL with err filled on any problem (path and JSON location). */
sy_sim_scenario *sy_sim_scenario_parse(const char *text, size_t len, char *err, size_t err_len);
void sy_sim_scenario_free(sy_sim_scenario *sc);
size_t sy_sim_scenario_n_arms(const sy_sim_scenario *sc);
char *const *sy_sim_scenario_arm_names(const sy_sim_scenario *sc);
/* Step of the first event, or -1 without events. */
long sy_sim_scenario_first_event(const sy_sim_scenario *sc);
/* The scenario as a source (contexts featurised with dim) under objective obj. */
int sy_sim_scenario_source(sy_sim_scenario *sc, size_t dim, const sy_objective *obj,
                           sy_sim_source *src);
/* Expected utility of arm k at step t under the current (post-event) parameters, for
 * tests: the mean over contexts weighted by their weights. */
double sy_sim_scenario_mean_eu(sy_sim_scenario *sc, size_t t, size_t k);
/* 1 if arm k is in an outage at step t. */
int sy_sim_scenario_in_outage(sy_sim_scenario *sc, size_t t, size_t k);

#endif
