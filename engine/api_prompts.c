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
#include "api.h"

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

/*
 * Read {"id"?, "version"?, "label"?} into name/version/label (label defaults to
 * "production"). The id is taken from `name_override` when given (admin render).
 * Returns 0, or -1 with the offending field in *param.
 */
static int prompt_ref(const cJSON *ref, const char **name, unsigned *version, const char **label,
                      const char **param)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(ref, "id");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(ref, "version");
    const cJSON *lab = cJSON_GetObjectItemCaseSensitive(ref, "label");
    if (!*name) {
        if (!cJSON_IsString(id) || !id->valuestring[0]) {
            *param = "prompt.id";
            return -1;
        }
        *name = id->valuestring;
    }
    *version = 0;
    *label = "production";
    if (ver && lab) {
        *param = "prompt.version";
        return -1;
    }
    if (ver) {
        if (!cJSON_IsNumber(ver) || ver->valuedouble < 1 || ver->valuedouble > 1e9 ||
            ver->valuedouble != floor(ver->valuedouble)) {
            *param = "prompt.version";
            return -1;
        }
        *version = (unsigned)ver->valuedouble;
    } else if (lab) {
        if (!cJSON_IsString(lab)) {
            *param = "prompt.label";
            return -1;
        }
        *label = lab->valuestring;
    }
    return 0;
}

int sy_api_apply_prompt(sy_prompt_registry *reg, cJSON *root, size_t max_bytes,
                        sy_api_prompt_result *out)
{
    memset(out, 0, sizeof(*out));
    cJSON *ref = cJSON_DetachItemFromObjectCaseSensitive(root, "prompt");
    if (!ref)
        return 0;
    const char *name = NULL, *label = NULL, *param = NULL;
    unsigned version = 0;
    int rc = -1;
    if (!cJSON_IsObject(ref)) {
        out->status = 400;
        snprintf(out->err.param, sizeof(out->err.param), "prompt");
        snprintf(out->err.message, sizeof(out->err.message),
                 "prompt must be an object {\"id\", \"version\" or \"label\", \"variables\"}");
    } else if (prompt_ref(ref, &name, &version, &label, &param) != 0) {
        out->status = 400;
        snprintf(out->err.param, sizeof(out->err.param), "%s", param);
        snprintf(out->err.message, sizeof(out->err.message),
                 "prompt needs a string id and at most one of an integer version >= 1 or a "
                 "string label");
    } else if (sy_prompt_registry_resolve(reg, name, version, label, &out->resolved) != 0) {
        out->status = 404;
        snprintf(out->err.param, sizeof(out->err.param), version ? "prompt.version" : "prompt.id");
        if (version)
            snprintf(out->err.message, sizeof(out->err.message),
                     "prompt '%.64s' does not exist or has no version %u", name, version);
        else
            snprintf(out->err.message, sizeof(out->err.message),
                     "prompt '%.64s' does not exist or has no label '%.64s'", name, label);
    } else if (sy_prompt_render(out->resolved.tmpl,
                                cJSON_GetObjectItemCaseSensitive(ref, "variables"), root, max_bytes,
                                &out->err) != 0) {
        out->status = 400;
    } else {
        snprintf(out->name, sizeof(out->name), "%s", name);
        rc = 1;
    }
    cJSON_Delete(ref);
    return rc;
}

/* POST /admin/prompts/{name}/render: what a request with this reference would send. */
static void render_preview(sy_worker *w, sy_http_req *req, const char *name)
{
    cJSON *body = sy_http_req_json(req);
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
    cJSON *body = sy_http_req_json(req);
    if (!body)
        return sy_http_respond_error(req, 400, "invalid_request_error", "invalid_request", NULL,
                                     "body is not valid JSON", NULL);
    if (is_versions)
        sy_prompt_registry_create_version(reg, name, body, sy_wall_ms(), &r);
    else
        sy_prompt_registry_move_label(reg, name, sub + 7, body, sy_wall_ms(), &r);
    cJSON_Delete(body);
    answer(req, &r);
}
