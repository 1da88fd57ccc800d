/* Fuzz target: POST /v1/embeddings. The input is a client's request body — JSON parsing
 * with the server's nesting limit, the schema checks (engine/proto/embed_validate.c) and,
 * for valid requests, the OpenAI and Gemini translations to an upstream call — and also,
 * unchanged, an upstream answer to a fixed two-input request in both dialects
 * (engine/providers/embed_*.c: placing, validating and encoding the vectors). */
#include "embed_validate.h"
#include "fuzz_input.h"
#include "provider.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static const sy_provider_cfg prov = {
    .name = "p", .base_url = "http://127.0.0.1:1/v1", .api_key = "k"};
static const sy_model_cfg model = {.name = "m", .upstream_name = "u", .embedding = 1};

/* Build the request `root` for dialect d; when body is not NULL, parse it as the answer. */
static void exchange(sy_dialect d, cJSON *root, const uint8_t *body, size_t len)
{
    const sy_adapter *ad = sy_embed_adapter_for(d);
    sy_relay_state rs = {.client_model = "m"};
    sy_upstream_call up = {0};
    const char *bad = NULL, *why = NULL;
    if (ad->build(&prov, &model, root, 0, &rs, &up, &bad, &why) == 0 && body) {
        sy_buf out = {0};
        ad->response((const char *)body, len, &rs, &out);
        sy_buf_free(&out);
    }
    sy_upstream_call_free(&up);
    ad->release(&rs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 20)
        return 0;
    if (fz_too_deep(data, size)) /* the server refuses deep nesting before parsing */
        return 0;
    cJSON *root = cJSON_ParseWithLength((const char *)data, size);
    char param[96];
    const char *msg;
    sy_embed_summary s;
    if (root && sy_embed_validate(root, &s, param, sizeof(param), &msg)) {
        cJSON *copy = cJSON_Duplicate(root, 1);
        exchange(SY_DIALECT_OPENAI, root, NULL, 0);
        exchange(SY_DIALECT_GEMINI, copy, NULL, 0);
        cJSON_Delete(copy);
    }
    cJSON_Delete(root);
    static const char fixed[] = "{\"model\":\"m\",\"input\":[\"a\",\"b\"],\"encoding_format\":"
                                "\"base64\"}";
    for (int d = 0; d < 2; d++) {
        cJSON *req = cJSON_Parse(fixed);
        exchange(d ? SY_DIALECT_GEMINI : SY_DIALECT_OPENAI, req, data, size);
        cJSON_Delete(req);
    }
    return 0;
}
