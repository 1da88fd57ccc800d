/* embed_common: what every embeddings dialect shares (embed_adapter.h). */
#include "embed_adapter.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

sy_embed_state *sy_embed_begin(const cJSON *req, sy_relay_state *rs, const char **bad_param,
                               const char **why)
{
    char param[64];
    sy_embed_state *st = sy_xcalloc(1, sizeof(*st));
    rs->priv = st;
    if (!sy_embed_validate(req, &st->sum, param, sizeof(param), why)) {
        *bad_param = "input";
        return NULL;
    }
    st->sum.first_text = NULL;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(req, "model");
    st->model = sy_xstrdup(rs->client_model ? rs->client_model : m->valuestring);
    return st;
}

/* One vector's values as doubles (malloc'd, *n set), or NULL when it is not an array of
 * numbers a float32 can hold. */
static double *vector_values(const cJSON *vec, size_t *n)
{
    if (!cJSON_IsArray(vec))
        return NULL;
    size_t k = (size_t)cJSON_GetArraySize(vec), i = 0;
    double *v = sy_xcalloc(k ? k : 1, sizeof(double));
    for (const cJSON *x = vec->child; x; x = x->next, i++) {
        if (!cJSON_IsNumber(x) || !(fabs(x->valuedouble) <= FLT_MAX)) { /* float32 range */
            free(v);
            return NULL;
        }
        v[i] = x->valuedouble;
    }
    *n = k;
    return v;
}

/* One entry of "data": the vector as a float array or a base64 string. */
static void render_one(const double *v, size_t k, size_t index, int base64, sy_buf *out)
{
    sy_buf_printf(out, "%s{\"object\":\"embedding\",\"index\":%zu,\"embedding\":", index ? "," : "",
                  index);
    if (base64) {
        sy_buf_puts(out, "\"");
        sy_embed_base64_f32(v, k, out);
        sy_buf_puts(out, "\"}");
        return;
    }
    sy_buf_puts(out, "[");
    for (size_t i = 0; i < k; i++)
        sy_buf_printf(out, "%s%.9g", i ? "," : "", (double)(float)v[i]);
    sy_buf_puts(out, "]}");
}

int sy_embed_render(const cJSON *const *vectors, size_t n, sy_relay_state *rs, sy_buf *out)
{
    sy_embed_state *st = rs->priv;
    if (!st || n != st->sum.n_inputs)
        return SY_ERR_INVALID;
    size_t start = out->len;
    sy_buf_puts(out, "{\"object\":\"list\",\"data\":[");
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        double *v = vector_values(vectors[i], &k);
        if (!v || !k) {
            free(v);
            out->len = start;
            return SY_ERR_INVALID;
        }
        render_one(v, k, i, st->sum.base64, out);
        free(v);
    }
    /* the provider's count, or when it said nothing the gateway's estimate */
    int64_t prompt = rs->usage.have ? rs->usage.prompt_tokens : sy_embed_estimate_tokens(&st->sum);
    sy_buf_puts(out, "],\"model\":");
    sy_buf_json_string(out, st->model, strlen(st->model));
    sy_buf_printf(out, ",\"usage\":{\"prompt_tokens\":%lld,\"total_tokens\":%lld}}",
                  (long long)prompt, (long long)prompt);
    return SY_OK;
}

void sy_embed_release(sy_relay_state *rs)
{
    sy_embed_state *st = rs->priv;
    if (st)
        free(st->model);
    free(st);
    rs->priv = NULL;
}
