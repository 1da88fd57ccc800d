/*
 * embed_gemini: POST /v1/embeddings to Gemini's batchEmbedContents
 * ({base}/models/{model}:batchEmbedContents, the key in x-goog-api-key, never in the
 * URL). Each input becomes one request {model, content.parts[0].text,
 * outputDimensionality}; Gemini takes text only, so token-id input is a 400 naming
 * "input". Usage comes from usageMetadata.promptTokenCount when the provider sends it,
 * else from the gateway's estimate.
 */
#include "embed_adapter.h"
#include "provider_util.h"

#include <stdlib.h>

extern const sy_adapter sy_adapter_gemini;

/* One entry of "requests" for the text t. */
static cJSON *embed_request(const char *model_path, const char *t, long dimensions)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "model", model_path);
    cJSON *parts = cJSON_AddArrayToObject(cJSON_AddObjectToObject(r, "content"), "parts");
    cJSON *part = cJSON_CreateObject();
    cJSON_AddStringToObject(part, "text", t);
    cJSON_AddItemToArray(parts, part);
    if (dimensions)
        cJSON_AddNumberToObject(r, "outputDimensionality", (double)dimensions);
    return r;
}

static int embed_gemini_build(const sy_provider_cfg *prov, const sy_model_cfg *model, cJSON *req,
                              int stream, sy_relay_state *rs, sy_upstream_call *out,
                              const char **bad_param, const char **why)
{
    (void)stream;
    const sy_embed_state *st = sy_embed_begin(req, rs, bad_param, why);
    if (!st)
        return SY_ERR_INVALID;
    if (st->sum.tokens) {
        *bad_param = "input";
        *why = "the gemini dialect embeds text only: token-id input is not supported";
        return SY_ERR_INVALID;
    }
    sy_buf path = {0};
    sy_buf_puts(&path, "models/");
    sy_buf_puts(&path, model->upstream_name);
    cJSON *body = cJSON_CreateObject();
    cJSON *reqs = cJSON_AddArrayToObject(body, "requests");
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(req, "input");
    if (cJSON_IsString(in))
        cJSON_AddItemToArray(reqs, embed_request(path.data, in->valuestring, st->sum.dimensions));
    for (const cJSON *e = cJSON_IsArray(in) ? in->child : NULL; e; e = e->next)
        cJSON_AddItemToArray(reqs, embed_request(path.data, e->valuestring, st->sum.dimensions));
    sy_buf_free(&path);
    sy_buf_printf(&out->url, "%s/models/", prov->base_url);
    sy_url_escape(&out->url, model->upstream_name);
    sy_buf_puts(&out->url, ":batchEmbedContents");
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    return sy_upstream_finish(out, text, 0, NULL, "x-goog-api-key", prov->api_key, bad_param, why);
}

/* {"embeddings":[{"values":[…]}, …]} in input order, optional usageMetadata. */
static int embed_gemini_response(const char *body, size_t len, sy_relay_state *rs, sy_buf *out)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *embs = cJSON_GetObjectItemCaseSensitive(root, "embeddings");
    size_t n = cJSON_IsArray(embs) ? (size_t)cJSON_GetArraySize(embs) : 0, i = 0;
    const cJSON **vecs = sy_xcalloc(n ? n : 1, sizeof(*vecs));
    for (const cJSON *e = n ? embs->child : NULL; e; e = e->next)
        vecs[i++] = cJSON_GetObjectItemCaseSensitive(e, "values");
    const cJSON *um = cJSON_GetObjectItemCaseSensitive(root, "usageMetadata");
    if (cJSON_IsObject(um) && cJSON_GetObjectItemCaseSensitive(um, "promptTokenCount")) {
        rs->usage.prompt_tokens = sy_json_count(um, "promptTokenCount");
        rs->usage.have = 1;
    }
    int rc = n ? sy_embed_render(vecs, n, rs, out) : SY_ERR_INVALID;
    free(vecs);
    cJSON_Delete(root);
    return rc;
}

static void embed_gemini_error(long status, const char *body, size_t len, const char *retry_after,
                               sy_mapped_error *out)
{
    sy_adapter_gemini.error(status, body, len, retry_after, out);
}

const sy_adapter sy_embed_gemini = {
    .dialect = SY_DIALECT_GEMINI,
    .build = embed_gemini_build,
    .response = embed_gemini_response,
    .error = embed_gemini_error,
    .release = sy_embed_release,
};
