/*
 * fake_embed: embeddings in `switchyard fake-provider`: OpenAI's POST /v1/embeddings and
 * Gemini's POST /v1beta/models/{model}:batchEmbedContents. Vectors are deterministic
 * unit vectors: each input's text (or token ids) seeds a splitmix64 generator whose
 * draws, normalised, are the components — or, for a model with "embedding": "lexical",
 * the lexical stand-in of fake_lexical.h; "dimensions" (outputDimensionality) is
 * honoured, default FP_EMBED_DIM (random) or FP_LEX_DEFAULT_DIM (lexical). Usage counts text like
 * chat prompts (OpenAI only: Gemini's batchEmbedContents reports none). The model's scenario
 * applies its HTTP error faults (400, 429, 5xx, 529; other faults answer 500); latency is not
 * simulated.
 */
#include "fake_lexical.h"
#include "fake_server.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FP_EMBED_DIM     8
#define FP_EMBED_MAX_DIM 65536

/* The inputs of one request: texts (or token ids rendered as text) and the dimension. */
typedef struct embed_req {
    char *model; /* owned */
    sy_buf *texts;
    size_t n;
    long dim;      /* as asked ("dimensions"); 0 = not asked: the model's default */
    int dim_given; /* a number was given (it must then be in 1..FP_EMBED_MAX_DIM) */
    long prompt_tokens;
} embed_req;

static void embed_req_free(embed_req *e)
{
    for (size_t i = 0; i < e->n; i++)
        sy_buf_free(&e->texts[i]);
    free(e->texts);
    free(e->model);
}

/* Add one input: a string, or a token-id array rendered as "t1,t2,…". */
static int add_input(embed_req *e, const cJSON *v)
{
    sy_buf b = {0};
    if (cJSON_IsString(v) && v->valuestring[0]) {
        sy_buf_puts(&b, v->valuestring);
        e->prompt_tokens += fp_prompt_tokens(b.len);
    } else if (cJSON_IsArray(v) && v->child) {
        for (const cJSON *t = v->child; t; t = t->next) {
            if (!cJSON_IsNumber(t)) {
                sy_buf_free(&b);
                return -1;
            }
            sy_buf_printf(&b, "%s%.0f", t == v->child ? "" : ",", t->valuedouble);
            e->prompt_tokens++;
        }
    } else {
        return -1;
    }
    e->texts = realloc(e->texts, (e->n + 1) * sizeof(*e->texts));
    e->texts[e->n++] = b;
    return 0;
}

/* OpenAI's body: model, input in its four forms, dimensions. */
static int parse_openai(const cJSON *body, embed_req *e)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, "model");
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(body, "input");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(body, "dimensions");
    if (!cJSON_IsString(m) || !m->valuestring[0] || !in)
        return -1;
    e->model = sy_xstrdup(m->valuestring);
    e->dim_given = cJSON_IsNumber(d);
    e->dim = e->dim_given ? (long)d->valuedouble : 0;
    if (cJSON_IsArray(in) && in->child && cJSON_IsNumber(in->child))
        return add_input(e, in);
    if (!cJSON_IsArray(in))
        return add_input(e, in);
    for (const cJSON *v = in->child; v; v = v->next)
        if (add_input(e, v) != 0)
            return -1;
    return e->n ? 0 : -1;
}

/* Gemini's body: requests[].content.parts[].text (concatenated), outputDimensionality
 * of the first request; the model comes from the path. */
static int parse_gemini(const cJSON *body, const char *path, embed_req *e)
{
    const char *p = path + strlen("/v1beta/models/");
    const char *colon = strchr(p, ':');
    e->model = sy_xstrndup(p, (size_t)(colon - p));
    const cJSON *reqs = cJSON_GetObjectItemCaseSensitive(body, "requests");
    for (const cJSON *r = cJSON_IsArray(reqs) ? reqs->child : NULL; r; r = r->next) {
        const cJSON *parts = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(r, "content"), "parts");
        cJSON *text = cJSON_CreateString("");
        for (const cJSON *pt = cJSON_IsArray(parts) ? parts->child : NULL; pt; pt = pt->next) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(pt, "text");
            if (cJSON_IsString(t)) {
                size_t n = strlen(text->valuestring) + strlen(t->valuestring) + 1;
                char *s = malloc(n);
                snprintf(s, n, "%s%s", text->valuestring, t->valuestring);
                cJSON_SetValuestring(text, s);
                free(s);
            }
        }
        int rc = add_input(e, text);
        cJSON_Delete(text);
        if (rc != 0)
            return -1;
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(r, "outputDimensionality");
        if (cJSON_IsNumber(d))
            e->dim_given = 1, e->dim = (long)d->valuedouble;
    }
    return e->n ? 0 : -1;
}

/* The unit vector of a text: FNV-1a seeds splitmix64, draws in [-1, 1), normalised. */
void fp_embed_vector(const char *text, size_t len, long dim, double *out)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)text[i]) * 0x100000001b3ull;
    double norm = 0;
    for (long i = 0; i < dim; i++) {
        uint64_t z = (h += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        out[i] = (double)(z >> 11) / 9007199254740992.0 * 2.0 - 1.0;
        norm += out[i] * out[i];
    }
    norm = sqrt(norm);
    for (long i = 0; i < dim; i++)
        out[i] = norm > 0 ? out[i] / norm : 0;
}

/* The answer in the dialect's shape, with the model's embedder. */
static void render(const embed_req *e, fp_embedding how, int gemini, sy_buf *b)
{
    double *v = sy_xcalloc((size_t)e->dim, sizeof(double));
    sy_buf_puts(b, gemini ? "{\"embeddings\":[" : "{\"object\":\"list\",\"data\":[");
    for (size_t i = 0; i < e->n; i++) {
        if (how == FP_EMBED_LEXICAL)
            fp_embed_lexical(e->texts[i].data, e->texts[i].len, e->dim, v);
        else
            fp_embed_vector(e->texts[i].data, e->texts[i].len, e->dim, v);
        if (gemini)
            sy_buf_puts(b, i ? ",{\"values\":[" : "{\"values\":[");
        else
            sy_buf_printf(b, "%s{\"object\":\"embedding\",\"index\":%zu,\"embedding\":[",
                          i ? "," : "", i);
        for (long k = 0; k < e->dim; k++)
            sy_buf_printf(b, "%s%.8f", k ? "," : "", v[k]);
        sy_buf_puts(b, "]}");
    }
    free(v);
    if (gemini) {
        sy_buf_puts(b, "]}");
        return;
    }
    sy_buf_puts(b, "],\"model\":");
    sy_buf_json_string(b, e->model, strlen(e->model));
    sy_buf_printf(b, ",\"usage\":{\"prompt_tokens\":%ld,\"total_tokens\":%ld}}", e->prompt_tokens,
                  e->prompt_tokens);
}

int fp_embed_route(const char *path)
{
    if (strcmp(path, "/v1/embeddings") == 0)
        return 1;
    size_t n = strlen(path), k = strlen(":batchEmbedContents");
    if (strncmp(path, "/v1beta/models/", 15) == 0 && n > 15 + k &&
        strcmp(path + n - k, ":batchEmbedContents") == 0 && !strchr(path + 15, '/'))
        return 2;
    return 0;
}

/* The scenario's fault for this request as an error code, or -1 for none. */
static int injected_error(fp_server *srv, const fp_model *m, int *retry_after)
{
    static const fp_error_code codes[FP_FAULT_COUNT] = {
        [FP_FAULT_HTTP_400] = FP_ERR_INJECTED_400, [FP_FAULT_HTTP_429] = FP_ERR_RATE_LIMIT,
        [FP_FAULT_HTTP_429_QUOTA] = FP_ERR_QUOTA,  [FP_FAULT_HTTP_500] = FP_ERR_SERVER,
        [FP_FAULT_HTTP_503] = FP_ERR_UNAVAILABLE,  [FP_FAULT_HTTP_529] = FP_ERR_OVERLOADED,
    };
    fp_overrides ov;
    sy_buf err = {0};
    fp_overrides_parse(NULL, NULL, NULL, NULL, NULL, &ov, &err);
    sy_buf_free(&err);
    fp_plan plan;
    fp_plan_make(m, 0, &ov, srv->fault_rng, srv->latency_rng, &plan);
    *retry_after = plan.retry_after_s;
    if (plan.fault == FP_FAULT_NONE)
        return -1;
    return codes[plan.fault] ? (int)codes[plan.fault] : FP_ERR_SERVER;
}

void fp_handle_embed(fp_server *srv, sy_http_req *req, int kind)
{
    const fp_dialect *d = kind == 2 ? &fp_dialect_gemini : &fp_dialect_openai;
    const cJSON *body;
    fp_record *rec = fp_record_start(srv, d, req, &body);
    embed_req e = {0};
    int code = -1, retry = -1;
    const char *outcome = "ok";
    const fp_model *m = NULL;
    if (!fp_authorized(srv, d, req)) {
        code = FP_ERR_UNAUTHORIZED, outcome = "rejected:invalid_api_key";
    } else if (!body || (kind == 2 ? parse_gemini(body, req->path, &e) : parse_openai(body, &e)) ||
               (e.dim_given && (e.dim < 1 || e.dim > FP_EMBED_MAX_DIM))) {
        code = FP_ERR_INVALID_REQUEST, outcome = "rejected:invalid_request";
    } else {
        rec->model = sy_xstrdup(e.model);
        fp_counters_add(&srv->by_model, rec->model);
        if (!(m = fp_scenario_lookup(srv->scenario, e.model)))
            code = FP_ERR_MODEL_NOT_FOUND, outcome = "rejected:model_not_found";
        else if ((code = injected_error(srv, m, &retry)) >= 0)
            outcome = "error:injected";
        else if (e.dim == 0) /* no dimension asked for: the embedder's default */
            e.dim = m->embedding == FP_EMBED_LEXICAL ? FP_LEX_DEFAULT_DIM : FP_EMBED_DIM;
    }
    rec->first_byte_ms = fp_now_ms();
    if (code >= 0) {
        rec->status = fp_send_error(req, d, (fp_error_code)code, NULL, retry, NULL);
    } else {
        sy_buf b = {0};
        render(&e, m->embedding, kind == 2, &b);
        fp_send_json(req, 200, NULL, &b);
        rec->status = 200;
        sy_buf_free(&b);
    }
    fp_record_end(srv, rec, outcome);
    fp_record_unref(rec);
    embed_req_free(&e);
}
