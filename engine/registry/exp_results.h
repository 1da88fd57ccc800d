/*
 * exp_results: an experiment's results document (GET /admin/experiments/{id}/results),
 * computed from its definition and the tracker's aggregates with the statistics of
 * experiments/exp_stats.h. Pure apart from the output buffer; the decision rule of the
 * recommendation is documented in docs/experiments.md ("Reading the results").
 */
#ifndef SY_EXP_RESULTS_H
#define SY_EXP_RESULTS_H

#include "exp_tracker.h"

#include <cjson/cJSON.h>

/* Write the results of the experiment described by doc (a registry document) to out. */
void sy_exp_results_json(const cJSON *doc, const sy_exp_agg *agg, sy_buf *out);

#endif
