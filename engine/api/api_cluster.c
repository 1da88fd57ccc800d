/* api_cluster: see api_cluster.h. */
#include "api_cluster.h"

#include "cluster_node.h"

#include <stdlib.h>
#include <string.h>

typedef struct confirm_call {
    sy_worker_job job; /* first: answered through the worker's mailbox */
    sy_worker *w;
    sy_http_req *req; /* NULL once the client went away */
    int status;
    sy_buf body;
    char *cluster; /* the confirmations (JSON object), set on the cluster thread */
} confirm_call;

static void confirm_abort(sy_http_req *req, void *ud)
{
    confirm_call *k = ud;
    k->req = NULL;
}

/* On the worker: the body with its "cluster" member, or only free (client or worker gone). */
static void confirm_answer(sy_worker_job *job, int live)
{
    confirm_call *k = (confirm_call *)job;
    if (live && k->req) {
        k->req->on_abort = NULL;
        k->req->ud = NULL;
        sy_buf out = {0};
        size_t n = k->body.len;
        while (n && k->body.data[n - 1] != '}')
            n--;
        if (n) { /* an object: the member goes before its closing brace */
            sy_buf_append(&out, k->body.data, n - 1);
            sy_buf_printf(&out, "%s\"cluster\":%s}", n > 2 ? "," : "", k->cluster);
        } else {
            sy_buf_append(&out, k->body.data, k->body.len);
        }
        sy_http_respond(k->req, k->status, "application/json", NULL, out.data, out.len);
        sy_buf_free(&out);
    }
    sy_buf_free(&k->body);
    free(k->cluster);
    free(k);
}

/* On the cluster thread: hand the confirmations to the worker. */
static void confirmed(void *ud, const char *json, size_t len)
{
    confirm_call *k = ud;
    k->cluster = sy_xmalloc(len + 1);
    memcpy(k->cluster, json, len);
    k->cluster[len] = 0;
    sy_worker_post(k->w, &k->job);
}

void sy_api_cluster_answer_confirmed(sy_worker *w, sy_http_req *req, int status, const sy_buf *body,
                                     uint64_t seq)
{
    sy_cluster *cl = w->server->cluster;
    if (!cl) {
        sy_http_respond(req, status, "application/json", NULL, body->data, body->len);
        return;
    }
    confirm_call *k = sy_xcalloc(1, sizeof(*k));
    k->job.run = confirm_answer;
    k->w = w;
    k->req = req;
    k->status = status;
    sy_buf_append(&k->body, body->data, body->len);
    req->ud = k;
    req->on_abort = confirm_abort;
    sy_cluster_await_def(cl, seq, w->rt->cfg->cluster.admin_wait_ms, confirmed, k);
}

void sy_api_cluster_status(sy_buf *b, sy_server *s)
{
    if (!s->cluster) {
        sy_buf_puts(b, ",\"cluster\":null");
        return;
    }
    sy_cluster_status st;
    sy_cluster_status_get(s->cluster, &st);
    sy_buf_puts(b, ",\"cluster\":{\"node_id\":");
    sy_buf_json_string(b, st.node_id, strlen(st.node_id));
    sy_buf_printf(b,
                  ",\"redis_up\":%s,\"auth_failed\":%s,\"nodes_seen\":%zu,\"backlog\":%llu,"
                  "\"published\":%llu,"
                  "\"dropped\":%llu,\"received\":%llu,\"duplicates\":%llu,\"applied\":%llu,"
                  "\"redis_errors\":%llu,\"connects\":%llu,\"budget_fallbacks\":%llu,"
                  "\"lag_ms\":{\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f}}",
                  st.redis_up ? "true" : "false", st.auth_failed ? "true" : "false", st.nodes_seen,
                  (unsigned long long)st.backlog, (unsigned long long)st.published,
                  (unsigned long long)st.dropped, (unsigned long long)st.received,
                  (unsigned long long)st.duplicates, (unsigned long long)st.applied,
                  (unsigned long long)st.redis_errors, (unsigned long long)st.reconnects,
                  (unsigned long long)st.budget_fallbacks, st.lag_ms_p50, st.lag_ms_p99,
                  st.lag_ms_max);
}

/* One series: HELP, TYPE and the value. */
static void series(sy_buf *b, const char *name, const char *type, const char *help, double v)
{
    sy_buf_printf(b, "# HELP switchyard_cluster_%s %s\n# TYPE switchyard_cluster_%s %s\n", name,
                  help, name, type);
    sy_buf_printf(b, "switchyard_cluster_%s %.17g\n", name, v);
}

void sy_api_cluster_metrics(sy_buf *b, sy_server *s)
{
    if (!s->cluster)
        return;
    sy_cluster_status st;
    sy_cluster_status_get(s->cluster, &st);
    series(b, "redis_up", "gauge", "1 while both links to Redis are up.", st.redis_up);
    series(b, "nodes_seen", "gauge", "Nodes with a heartbeat in the last 10 s.",
           (double)st.nodes_seen);
    series(b, "backlog", "gauge", "Commands waiting to be written to Redis.", (double)st.backlog);
    series(b, "published_total", "counter", "Observations acknowledged by Redis.",
           (double)st.published);
    series(b, "dropped_total", "counter", "Observations dropped (backlog full).",
           (double)st.dropped);
    series(b, "applied_total", "counter", "Other nodes' observations learned from.",
           (double)st.applied);
    series(b, "duplicates_total", "counter", "Observations skipped as already applied.",
           (double)st.duplicates);
    series(b, "redis_errors_total", "counter", "Redis error replies and timeouts.",
           (double)st.redis_errors);
    series(b, "budget_fallbacks_total", "counter", "Budget decisions taken without Redis.",
           (double)st.budget_fallbacks);
    series(b, "lag_ms_p99", "gauge", "Propagation delay publish to applied, p99 of the last 1024.",
           st.lag_ms_p99);
}
