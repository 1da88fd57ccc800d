/*
 * api_cluster: cluster health in the admin API (docs/scale-out.md): the "cluster" member
 * of GET /admin/status and the switchyard_cluster_* series of /metrics. Without cluster
 * mode the member is null and there are no series.
 */
#ifndef SY_API_CLUSTER_H
#define SY_API_CLUSTER_H

#include "server.h"
#include "worker.h"
#include "sy_common.h"

/* Append ,"cluster":{...} (or null) to an object being written. */
void sy_api_cluster_status(sy_buf *b, sy_server *s);
/* Append the cluster's Prometheus series (nothing without cluster mode). */
void sy_api_cluster_metrics(sy_buf *b, sy_server *s);

/* Cluster mode: answer a successful admin change (status, JSON object body) once the
 * other live nodes have confirmed definition `seq` (sy_cluster_publish_def) or
 * cluster.admin_wait_ms has passed, with ,"cluster":{"confirmed":[..],"lagging":[..],
 * "redis_up":..,"waited_ms":..} added to the body. The worker is not blocked: the request
 * is held and answered from the worker's mailbox (dropped if the client leaves). The
 * body is copied. Without cluster mode it answers at once, unchanged. */
void sy_api_cluster_answer_confirmed(sy_worker *w, sy_http_req *req, int status, const sy_buf *body,
                                     uint64_t seq);

#endif
