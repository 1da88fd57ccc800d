/*
 * prompt_apply.c: the `prompt` field of a chat request, resolved from the in-memory
 * registry and rendered into the request (see prompt_apply.h).
 */
#include "prompt_apply.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* See prompt_apply.h. */
int sy_prompt_ref(const cJSON *ref, const char **name, unsigned *version, const char **label,
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
    } else if (sy_prompt_ref(ref, &name, &version, &label, &param) != 0) {
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
