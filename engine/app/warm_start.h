/*
 * warm_start: the route option "warm_start" (docs/policies.md#warm-start) on the app's
 * side — reading the full-information dataset with the simulator's readers (sim/
 * sim_warm.h) into neutral per-route data (policies/warm.h) that the learner feeds
 * (engine/core/learner.c). Files are read here, at start and when a reload or rebuild
 * changes what a route reads; never on a request's path.
 *
 * A route's candidates match the warm data's models by the gateway model name, or else
 * by the model's upstream_name. Rows are featurised with the route's dim.
 */
#ifndef SY_WARM_START_H
#define SY_WARM_START_H

#include "config.h"
#include "runtime.h"
#include "sy_common.h"

/* Read route r's warm start (r->warm_start.path must be set): SY_OK with *out filled
 * (free with sy_warm_data_free), or SY_ERR_INVALID with a message in err. */
int sy_warm_start_load(const sy_config *cfg, const sy_route_cfg *r, sy_warm_data *out, char *err,
                       size_t err_len);

/* Give rt (not yet published) the warm data of each route that has a warm_start, shared
 * with prev (may be NULL) or with another route of rt where it reads the same file the
 * same way. SY_ERR_INVALID after appending "$.routes.NAME.warm_start.path: ...\n" lines
 * to errors (rt is then unchanged). */
int sy_warm_start_attach(sy_runtime *rt, const sy_runtime *prev, sy_buf *errors);

/* check-config: read every route's warm start once; returns how many failed, with a
 * line each appended to errors. */
size_t sy_warm_start_check(const sy_config *cfg, sy_buf *errors);

#endif
