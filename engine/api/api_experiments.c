/*
 * api_experiments.c — experiments over the admin listener (docs/api.md, "Experiments"):
 *   GET  /admin/experiments                     every experiment's document
 *   POST /admin/experiments                     create a draft from a definition (201)
 *   GET  /admin/experiments/{id}                one document (status, allocation history)
 *   POST /admin/experiments/{id}/start          draft → running
 *   POST /admin/experiments/{id}/stop           running → stopped
 *   PUT  /admin/experiments/{id}/allocation     {"traffic", "weights"}: a new allocation version
 *   GET  /admin/experiments/{id}/results        statistics and a recommendation
 *   GET  /admin/experiments/{id}/assignment?unit=U   where unit U lands (debugging, tests)
 * A change that alters what is served (start, stop, a running allocation) republishes
 * the configuration to every worker before it is acknowledged.
 */
#include "api_experiments.h"

#include "api_cluster.h"
#include "api_common.h"

#include "assign.h"
#include "clock.h"
#include "cluster_node.h"
#include "exp_results.h"
#include "exp_tracker.h"
#include "experiments.h"
#include "server.h"
#include "sha256.h"
#include "worker.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void answer(sy_http_req *req, sy_exp_reply *r)
{
    if (r->status < 300) {
        sy_http_respond(req, r->status, "application/json", NULL, r->body.data, r->body.len);
    } else {
        const char *code = r->status == 404   ? "not_found"
                           : r->status == 409 ? "conflict"
                           : r->status == 503 ? "store_unavailable"
                           : r->status == 500 ? "apply_failed"
                                              : "invalid_request";
        sy_http_respond_error(req, r->status,
                              r->status >= 500 ? "server_error" : "invalid_request_error", code,
                              r->param[0] ? r->param : NULL, r->message,
                              r->status == 503 ? "Retry-After: 1\r\n" : NULL);
    }
    sy_buf_free(&r->body);
}

/* The file configuration experiments are validated against (under reload_lock). */
static const sy_config *file_config_locked(sy_server *s)
{
    pthread_mutex_lock(&s->reload_lock);
    return s->file_cfg;
}

/* The answer to a change: in cluster mode a published change (seq) is answered once the
 * other live nodes confirmed it, naming those that lag (api_cluster.h). */
static void answer_change(sy_worker *w, sy_http_req *req, sy_exp_reply *r, uint64_t seq)
{
    if (!seq || r->status >= 300)
        return answer(req, r);
    sy_api_cluster_answer_confirmed(w, req, r->status, &r->body, seq);
    sy_buf_free(&r->body);
}

/* After a change to what runs: republish; a failure here is the server's (500). */
static void republish(sy_worker *w, sy_http_req *req, sy_exp_reply *r, uint64_t seq)
{
    sy_buf errs = {0};
    if (sy_server_rebuild(w->server, &errs) != 0) {
        sy_buf_free(&r->body);
        r->status = 500;
        snprintf(r->message, sizeof(r->message),
                 "the change is stored but could not be applied: %.400s",
                 errs.data ? errs.data : "unknown error");
    }
    sy_buf_free(&errs);
    answer_change(w, req, r, seq);
}

/* GET …/assignment?unit=U: the bucket, enrolment and variant of unit U. */
static void assignment(sy_worker *w, sy_http_req *req, const char *id)
{
    const char *q = req->query, *u = strstr(q, "unit=");
    if (!u || (u != q && u[-1] != '&') || !u[5])
        return sy_http_respond_error(req, 400, "invalid_request_error", "invalid_request", "unit",
                                     "give the unit as ?unit=<id>", NULL);
    char unit[256];
    size_t n = strcspn(u + 5, "&");
    if (n >= sizeof(unit))
        n = sizeof(unit) - 1;
    memcpy(unit, u + 5, n);
    unit[n] = '\0';
    const sy_exp_table *t = w->rt->experiments;
    const sy_exp_rt *e = NULL;
    for (size_t i = 0; t && i < t->n && !e; i++)
        if (strcmp(t->exps[i].id, id) == 0)
            e = &t->exps[i];
    if (!e)
        return sy_http_respond_error(req, 404, "invalid_request_error", "not_found", "id",
                                     "no running experiment with this id", NULL);
    const void *key = unit;
    size_t key_len = n;
    uint8_t conv[SY_SHA256_LEN];
    if (e->unit == SY_EXP_UNIT_CONVERSATION) { /* as the pipeline derives it from the header */
        sy_sha256_ctx c;
        sy_sha256_init(&c);
        sy_sha256_update(&c, "h:", 2);
        sy_sha256_update(&c, unit, n);
        sy_sha256_final(&c, conv);
        key = conv;
        key_len = 16;
    }
    unsigned lb = sy_exp_bucket(e->layer_salt, key, key_len);
    unsigned vb = sy_exp_bucket(e->salt, key, key_len);
    int enrolled = lb >= e->layer_start && lb < e->layer_end;
    sy_buf b = {0};
    sy_buf_puts(&b, "{\"experiment\":");
    sy_buf_json_string(&b, e->id, strlen(e->id));
    sy_buf_printf(&b,
                  ",\"layer_bucket\":%u,\"layer_range\":[%u,%u],\"bucket\":%u,\"enrolled\":%s,"
                  "\"variant\":",
                  lb, e->layer_start, e->layer_end, vb, enrolled ? "true" : "false");
    if (enrolled) {
        const char *v = e->variants[sy_exp_pick(e->weights, e->n_variants, vb)].name;
        sy_buf_json_string(&b, v, strlen(v));
    } else {
        sy_buf_puts(&b, "null");
    }
    sy_buf_printf(&b, ",\"allocation_version\":%u}", e->alloc_version);
    sy_http_respond(req, 200, "application/json", NULL, b.data, b.len);
    sy_buf_free(&b);
}

static void results(sy_worker *w, sy_http_req *req, const char *id)
{
    cJSON *doc = sy_exp_registry_doc(w->server->experiments, id);
    if (!doc)
        return sy_http_respond_error(req, 404, "invalid_request_error", "not_found", "id",
                                     "no such experiment", NULL);
    sy_exp_agg agg;
    if (sy_exp_tracker_get(w->server->exp_tracker, id, &agg) != 0)
        memset(&agg, 0, sizeof(agg));
    sy_buf b = {0};
    sy_exp_results_json(doc, &agg, &b);
    sy_http_respond(req, 200, "application/json", NULL, b.data, b.len);
    sy_buf_free(&b);
    cJSON_Delete(doc);
}

typedef enum { OP_CREATE, OP_TRANSITION, OP_ALLOCATION } exp_op;

/* Cluster mode: hand the committed document to every other node (they adopt it with its
 * allocation version and serve it within the propagation delay; docs/scale-out.md). */
static uint64_t publish_to_cluster(sy_server *s, const char *id, const sy_exp_reply *r)
{
    char made[SY_EXP_ID_MAX];
    uint64_t seq = 0;
    if (!s->cluster || r->status >= 300)
        return 0;
    if (!id) { /* created: the id is in the answer */
        cJSON *body = cJSON_ParseWithLength(r->body.data ? r->body.data : "", r->body.len);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "id");
        snprintf(made, sizeof(made), "%s", cJSON_IsString(v) ? v->valuestring : "");
        cJSON_Delete(body);
        id = made;
    }
    cJSON *doc = sy_exp_registry_doc(s->experiments, id);
    char *json = doc ? cJSON_PrintUnformatted(doc) : NULL;
    if (json)
        seq = sy_cluster_publish_def(s->cluster, "experiment", json);
    free(json);
    cJSON_Delete(doc);
    return seq;
}

/* Run one registry change against the loaded file configuration, then answer (and
 * republish first when it changed what runs). body may be NULL (start/stop). */
static void change(sy_worker *w, sy_http_req *req, exp_op op, const char *id, const char *action,
                   int needs_body)
{
    sy_server *s = w->server;
    cJSON *body = needs_body ? sy_api_json_body(req, NULL, 0) : NULL;
    if (needs_body && !body)
        return; /* answered */
    sy_exp_reply r;
    int changed = 0;
    const sy_config *fc = file_config_locked(s);
    if (op == OP_CREATE)
        sy_exp_admin_create(s->experiments, fc, body, sy_wall_ms(), &r);
    else if (op == OP_TRANSITION)
        sy_exp_admin_transition(s->experiments, fc, id, action, sy_wall_ms(), &r, &changed);
    else
        sy_exp_admin_allocation(s->experiments, id, body, sy_wall_ms(), &r, &changed);
    pthread_mutex_unlock(&s->reload_lock);
    cJSON_Delete(body);
    uint64_t seq = publish_to_cluster(s, id, &r);
    if (changed)
        republish(w, req, &r, seq);
    else
        answer_change(w, req, &r, seq);
}

void sy_api_admin_experiments(sy_worker *w, sy_http_req *req, const char *rest)
{
    sy_server *s = w->server;
    sy_exp_reply r;
    if (!rest || !*rest) {
        if (sy_http_req_method_is(req, "GET")) {
            sy_exp_admin_list(s->experiments, &r);
            return answer(req, &r);
        }
        if (!sy_http_req_method_is(req, "POST"))
            return sy_api_method_not_allowed(req, "GET, POST");
        return change(w, req, OP_CREATE, NULL, NULL, 1);
    }
    char id[SY_EXP_ID_MAX];
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    if (n == 0 || n >= sizeof(id))
        return sy_api_not_found(req);
    memcpy(id, rest, n);
    id[n] = '\0';
    const char *sub = slash ? slash + 1 : "";
    if (!*sub || strcmp(sub, "results") == 0 || strcmp(sub, "assignment") == 0) {
        if (!sy_http_req_method_is(req, "GET"))
            return sy_api_method_not_allowed(req, "GET");
        if (strcmp(sub, "results") == 0)
            return results(w, req, id);
        if (strcmp(sub, "assignment") == 0)
            return assignment(w, req, id);
        sy_exp_admin_get(s->experiments, id, &r);
        return answer(req, &r);
    }
    if (strcmp(sub, "start") == 0 || strcmp(sub, "stop") == 0) {
        if (!sy_http_req_method_is(req, "POST"))
            return sy_api_method_not_allowed(req, "POST");
        return change(w, req, OP_TRANSITION, id, sub, 0);
    }
    if (strcmp(sub, "allocation") == 0) {
        if (!sy_http_req_method_is(req, "PUT"))
            return sy_api_method_not_allowed(req, "PUT");
        return change(w, req, OP_ALLOCATION, id, NULL, 1);
    }
    sy_api_not_found(req);
}
