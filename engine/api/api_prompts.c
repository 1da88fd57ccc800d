/*
 * api_prompts.c — the prompt registry over HTTP (docs/api.md, "Prompts"):
 *   GET  /admin/prompts                         every prompt with its labels
 *   GET  /admin/prompts/{name}                  versions, labels and label history
 *   POST /admin/prompts/{name}/versions         create a version (201; 200 if unchanged)
 *   PUT  /admin/prompts/{name}/labels/{label}   {"version": n}: move a label
 *   POST /admin/prompts/{name}/render           {"version"|"label", "variables"}: preview
 * and the `prompt` field of a chat request (sy_api_apply_prompt), which the pipeline
 * resolves from memory before validation.
 */
#include "api_prompts.h"

#include "api_cluster.h"
#include "api_common.h"
#include "cluster_node.h"
#include "prompt_apply.h"

#include "clock.h"
#include "prompt_registry.h"
#include "server.h"
#include "worker.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void answer(sy_http_req *req, sy_prompt_reply *r)
{
    if (r->status < 300) {
        sy_http_respond(req, r->status, "application/json", NULL, r->body.data, r->body.len);
    } else {
        const char *code = r->status == 404   ? "not_found"
                           : r->status == 503 ? "store_unavailable"
                                              : "invalid_request";
        sy_http_respond_error(req, r->status,
                              r->status == 503 ? "server_error" : "invalid_request_error", code,
                              r->param[0] ? r->param : NULL, r->message,
                              r->status == 503 ? "Retry-After: 1\r\n" : NULL);
    }
    sy_buf_free(&r->body);
}

static void render_preview(sy_worker *w, sy_http_req *req, const char *name)
{
    cJSON *body = sy_api_json_body(req, NULL, 0);
    if (!body)
        return; /* answered */
    if (!cJSON_IsObject(body)) {
        cJSON_Delete(body);
        return sy_http_respond_error(req, 400, "invalid_request_error", "invalid_request", NULL,
                                     "body must be a JSON object", NULL);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(body, "id"); /* the path names the prompt */
    cJSON_AddStringToObject(body, "id", name);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddItemToObject(root, "prompt", body);
    sy_api_prompt_result pr;
    int rc = sy_api_apply_prompt(w->server->prompts, root, w->rt->cfg->limits.max_body_bytes, &pr);
    if (rc == 1) {
        cJSON_AddStringToObject(root, "prompt_id", pr.name);
        cJSON_AddNumberToObject(root, "prompt_version", pr.resolved.version);
        cJSON_AddStringToObject(root, "prompt_hash", pr.resolved.hash);
        char *s = cJSON_PrintUnformatted(root);
        sy_http_respond(req, 200, "application/json", NULL, s, strlen(s));
        free(s);
    } else {
        sy_http_respond_error(req, pr.status, "invalid_request_error",
                              pr.status == 404 ? "not_found" : "invalid_request",
                              pr.err.param[0] ? pr.err.param : NULL, pr.err.message, NULL);
    }
    cJSON_Delete(root);
}

void sy_api_admin_prompts(sy_worker *w, sy_http_req *req, const char *rest)
{
    sy_prompt_registry *reg = w->server->prompts;
    sy_prompt_reply r;
    if (!rest || !*rest) {
        if (!sy_http_req_method_is(req, "GET"))
            return sy_api_method_not_allowed(req, "GET");
        sy_prompt_registry_list(reg, &r);
        return answer(req, &r);
    }
    char name[80];
    const char *slash = strchr(rest, '/');
    size_t nlen = slash ? (size_t)(slash - rest) : strlen(rest);
    if (nlen == 0 || nlen >= sizeof(name))
        return sy_api_not_found(req);
    memcpy(name, rest, nlen);
    name[nlen] = '\0';
    const char *sub = slash ? slash + 1 : "";
    if (!*sub) {
        if (!sy_http_req_method_is(req, "GET"))
            return sy_api_method_not_allowed(req, "GET");
        sy_prompt_registry_get(reg, name, &r);
        return answer(req, &r);
    }
    if (strcmp(sub, "render") == 0) {
        if (!sy_http_req_method_is(req, "POST"))
            return sy_api_method_not_allowed(req, "POST");
        return render_preview(w, req, name);
    }
    int is_versions = strcmp(sub, "versions") == 0;
    int is_label = strncmp(sub, "labels/", 7) == 0 && sub[7] && !strchr(sub + 7, '/');
    if (!is_versions && !is_label)
        return sy_api_not_found(req);
    if (!sy_http_req_method_is(req, is_versions ? "POST" : "PUT"))
        return sy_api_method_not_allowed(req, is_versions ? "POST" : "PUT");
    cJSON *body = sy_api_json_body(req, NULL, 0);
    if (!body)
        return; /* answered */
    if (is_versions)
        sy_prompt_registry_create_version(reg, name, body, sy_wall_ms(), &r);
    else
        sy_prompt_registry_move_label(reg, name, sub + 7, body, sy_wall_ms(), &r);
    cJSON_Delete(body);
    sy_cluster *cl = w->server->cluster;
    char *doc = cl && r.status < 300 ? sy_prompt_registry_doc_json(reg, name) : NULL;
    if (!doc)
        return answer(req, &r);
    /* cluster mode: every node adopts the whole document (its versions and labels), and
     * the answer waits for them (api_cluster.h) */
    uint64_t seq = sy_cluster_publish_def(cl, "prompt", doc);
    free(doc);
    sy_api_cluster_answer_confirmed(w, req, r.status, &r.body, seq);
    sy_buf_free(&r.body);
}
