/*
 * api_cluster: cluster health in the admin API (docs/scale-out.md): the "cluster" member
 * of GET /admin/status and the switchyard_cluster_* series of /metrics. Without cluster
 * mode the member is null and there are no series.
 */
#ifndef SY_API_CLUSTER_H
#define SY_API_CLUSTER_H

#include "server.h"
#include "sy_common.h"

/* Append ,"cluster":{...} (or null) to an object being written. */
void sy_api_cluster_status(sy_buf *b, sy_server *s);
/* Append the cluster's Prometheus series (nothing without cluster mode). */
void sy_api_cluster_metrics(sy_buf *b, sy_server *s);

#endif
