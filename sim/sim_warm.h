/*
 * sim_warm: a warm start for the simulator's learners from another full-information
 * dataset (issue 14: how much is prior evidence worth against a cold start?).
 *
 * Before every seed each learning agent observes, for every row of the warm data and
 * every model of it that is also an arm of the evaluated dataset (matched by name), the
 * model's quality as a rating of weight `weight` with the row's context vector, and its
 * cost — exactly the calls a served and rated request makes (sy_policy_state_observe_*),
 * in the warm file's row order, on the learner's clock before the first request. It is
 * what a deployment whose learner had replayed an offline evaluation on its own models
 * would start from. Models of the warm data that are not arms are ignored; arms without
 * warm data start cold. The feed itself is policies/warm.h (shared with the gateway's
 * route option "warm_start", which loads its file through sy_sim_warm_load_alias).
 */
#ifndef SY_SIM_WARM_H
#define SY_SIM_WARM_H

#include "policy_state.h"
#include "sim_data.h"
#include "warm.h"

#include <stddef.h>

typedef sy_warm_data sy_sim_warm; /* rows × arms of the evaluated dataset */

/* Load PATH (a .jsonl file: the generic JSONL; a folder with RouteLLM files: those; else
 * a RouterBench CSV file or folder),
 * map its models onto arm_names and featurise its rows with dim. SY_ERR_INVALID with a
 * message in err on bad data, on a featurizer refusal or when no model matches. */
int sy_sim_warm_load(const char *path, char *const *arm_names, size_t n_arms, size_t dim,
                     double weight, sy_sim_warm *out, char *err, size_t err_len);
/* The same from a loaded dataset. */
int sy_sim_warm_build(const sy_sim_dataset *warm, char *const *arm_names, size_t n_arms, size_t dim,
                      double weight, sy_sim_warm *out, char *err, size_t err_len);
/* The same with a second name per arm (alt_names[k] may be NULL; alt_names may be NULL):
 * arm k takes the warm model named arm_names[k], or else the one named alt_names[k] —
 * the gateway passes its model names and their upstream names. */
int sy_sim_warm_load_alias(const char *path, char *const *arm_names, char *const *alt_names,
                           size_t n_arms, size_t dim, double weight, sy_sim_warm *out, char *err,
                           size_t err_len);
int sy_sim_warm_build_alias(const sy_sim_dataset *warm, char *const *arm_names,
                            char *const *alt_names, size_t n_arms, size_t dim, double weight,
                            sy_sim_warm *out, char *err, size_t err_len);
void sy_sim_warm_free(sy_sim_warm *w);
/* Feed every warm outcome to st (contexts only when `contextual`). */
void sy_sim_warm_feed(const sy_sim_warm *w, sy_policy_state *st, int contextual);

#endif
