/*
 * embed_openai: POST /v1/embeddings to an OpenAI-compatible upstream ({base}/embeddings).
 * The request goes almost verbatim: the upstream model name, and encoding_format forced
 * to "float" (the gateway encodes base64 itself, embed_adapter.h).
 */
#include "embed_adapter.h"
#include "provider_util.h"

#include <stdlib.h>

extern const sy_adapter sy_adapter_openai;

static int embed_openai_build(const sy_provider_cfg *prov, const sy_model_cfg *model, cJSON *req,
                              int stream, sy_relay_state *rs, sy_upstream_call *out,
                              const char **bad_param, const char **why)
{
    (void)stream;
    if (!sy_embed_begin(req, rs, bad_param, why))
        return SY_ERR_INVALID;
    cJSON_ReplaceItemInObjectCaseSensitive(req, "model", cJSON_CreateString(model->upstream_name));
    cJSON_DeleteItemFromObjectCaseSensitive(req, "encoding_format");
    cJSON_AddStringToObject(req, "encoding_format", "float");
    sy_buf_printf(&out->url, "%s/embeddings", prov->base_url);
    sy_buf auth = {0};
    if (prov->api_key)
        sy_buf_printf(&auth, "Authorization: Bearer %s", prov->api_key);
    int rc = sy_upstream_finish(out, cJSON_PrintUnformatted(req), 0, auth.data, NULL, NULL,
                                bad_param, why);
    sy_buf_free(&auth);
    return rc;
}

/*
 * OpenAI's answer: "data" entries each with "index" and an "embedding" array, and
 * "usage". Entries are placed by their index (every input exactly once).
 */
static int embed_openai_response(const char *body, size_t len, sy_relay_state *rs, sy_buf *out)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    const sy_embed_state *st = rs->priv;
    size_t n = st ? st->sum.n_inputs : 0;
    int rc = SY_ERR_INVALID;
    const cJSON **vecs = sy_xcalloc(n ? n : 1, sizeof(*vecs));
    size_t got = 0;
    for (const cJSON *e = cJSON_IsArray(data) ? data->child : NULL; e; e = e->next) {
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(e, "index");
        double i = cJSON_IsNumber(ix) ? ix->valuedouble : -1;
        if (i < 0 || i >= (double)n || i != (double)(size_t)i || vecs[(size_t)i])
            goto done;
        vecs[(size_t)i] = cJSON_GetObjectItemCaseSensitive(e, "embedding");
        got++;
    }
    if (got != n || n == 0)
        goto done;
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
    if (cJSON_IsObject(usage) && cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens"))
        sy_usage_from_openai(usage, &rs->usage);
    rs->usage.completion_tokens = 0; /* an embedding has no output tokens */
    rc = sy_embed_render(vecs, n, rs, out);
done:
    free(vecs);
    cJSON_Delete(root);
    return rc;
}

static void embed_openai_error(long status, const char *body, size_t len, const char *retry_after,
                               sy_mapped_error *out)
{
    sy_adapter_openai.error(status, body, len, retry_after, out);
}

const sy_adapter sy_embed_openai = {
    .dialect = SY_DIALECT_OPENAI,
    .build = embed_openai_build,
    .response = embed_openai_response,
    .error = embed_openai_error,
    .release = sy_embed_release,
};
