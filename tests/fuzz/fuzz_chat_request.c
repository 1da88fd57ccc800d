/* Fuzz target: a client's chat request body — JSON parsing with the nesting limit the
 * server applies, the schema checks (engine/proto/chat_validate.c), and for valid requests
 * the OpenAI adapter's translation to an upstream call. */
#include "chat_validate.h"
#include "provider.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 20)
        return 0;
    size_t depth = 0, max = 0;
    for (size_t i = 0; i < size; i++) { /* the server refuses deep nesting before parsing */
        if (data[i] == '{' || data[i] == '[')
            max = ++depth > max ? depth : max;
        else if ((data[i] == '}' || data[i] == ']') && depth)
            depth--;
    }
    if (max > 64)
        return 0;
    cJSON *root = cJSON_ParseWithLength((const char *)data, size);
    char param[96];
    const char *msg;
    if (root && sy_chat_validate(root, param, sizeof(param), &msg)) {
        sy_provider_cfg prov = {.name = "p",
                                .base_url = "http://127.0.0.1:1/v1",
                                .api_key = "k",
                                .dialect = SY_DIALECT_OPENAI};
        sy_model_cfg model = {.name = "m", .upstream_name = "u"};
        sy_relay_state rs = {.client_model = "m"};
        sy_upstream_call up = {0};
        const char *bad = NULL, *why = NULL;
        const sy_adapter *ad = sy_adapter_for(SY_DIALECT_OPENAI);
        int stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "stream"));
        ad->build(&prov, &model, root, stream, &rs, &up, &bad, &why);
        sy_upstream_call_free(&up);
        if (ad->release)
            ad->release(&rs);
    }
    cJSON_Delete(root);
    return 0;
}
