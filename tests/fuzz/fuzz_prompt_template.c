/* Fuzz target: prompt templates (experiments/prompt_template.c). Input: a JSON document
 * {"definition": {...}, "variables": {...}, "request": {...}}; the definition is parsed
 * and, when it is a valid template, rendered with the variables into the request under
 * a small size bound, so placeholder scanning, variable binding and substitution all
 * see hostile input. */
#include "prompt_template.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *doc = cJSON_ParseWithLength((const char *)data, size);
    if (!doc)
        return 0;
    sy_prompt_error err;
    sy_prompt_template *t =
        sy_prompt_template_parse(cJSON_GetObjectItemCaseSensitive(doc, "definition"), &err);
    if (t) {
        cJSON *req = cJSON_DetachItemFromObjectCaseSensitive(doc, "request");
        if (!cJSON_IsObject(req)) {
            cJSON_Delete(req);
            req = cJSON_CreateObject();
        }
        sy_prompt_render(t, cJSON_GetObjectItemCaseSensitive(doc, "variables"), req, 1 << 16, &err);
        cJSON_Delete(req);
        sy_prompt_template_free(t);
    }
    cJSON_Delete(doc);
    return 0;
}
