/*
 * sim_oracle: two reference routers for a full-information dataset, computed once from
 * every model's outcome on every prompt (issue 14: how much can routing on the gateway's
 * features gain at all, before any learning?).
 *
 *   linear oracle  per model, a ridge regression of the prompt's utility on the context
 *                  vector the policies see (sy_featurize, `dim` features), cross-fitted in
 *                  five folds (rows split by a hash of their index): each prompt is
 *                  routed to the model of best prediction by the fit on the other folds. What a
 * linear model in these features could reach with full information and no exploration; an online
 * learner can only approach it. task oracle    per task label of the data, the model of best mean
 * utility over that task's prompts, in hindsight (labels the policies never see).
 *
 * The target is the route objective's utility minus the constraint violation (a relative
 * excess of 1 costs 1 of utility), so hard constraints weigh in without a second model.
 * choice[i] is the arm for dataset row i (always eligible for that row; -1 only for a row
 * no arm can serve, which compacted datasets do not have).
 */
#ifndef SY_SIM_ORACLE_H
#define SY_SIM_ORACLE_H

#include "policy.h"
#include "sim_data.h"

#include <stddef.h>

/* SY_ERR_INVALID when the featurizer rejects dim. lambda > 0 is the ridge on every weight
 * but the bias. */
int sy_sim_linear_oracle(const sy_sim_dataset *ds, size_t dim, const sy_objective *obj,
                         double lambda, long *choice);
/* Rows without a task label form one group of their own. */
void sy_sim_task_oracle(const sy_sim_dataset *ds, const sy_objective *obj, long *choice);

#endif
