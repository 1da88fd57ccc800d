/*
 * fake_gemini: the Google Gemini generateContent dialect of fake-provider.
 *
 * Routes: POST /v1beta/models/{model}:generateContent and :streamGenerateContent (also
 * under /v1), GET /v1beta/models. The model and whether to stream come from the path
 * (parse_path); the server strips the query, so ?alt=sse is implied by the method name.
 * The key is the x-goog-api-key header.
 *
 * Bodies follow Gemini's shapes: GenerateContentResponse with candidates[].content.parts,
 * finishReason, usageMetadata, modelVersion and responseId; a stream is one whole
 * GenerateContentResponse per SSE event, separated by "\r\n\r\n" as Google sends them,
 * with no opening event and no terminator — the last chunk carries finishReason and the
 * full usageMetadata. Errors are google.rpc.Status objects
 * ({"error":{"code","message","status","details"}}). Written with sy_buf directly, like
 * fake_openai.c, because fake-provider doubles as a benchmark upstream.
 */
#include "fake_dialect.h"

#include <stdlib.h>
#include <string.h>

#define GM_EOL "\r\n\r\n"

/* The part of a chat path after ".../models/", or NULL. */
static const char *model_part(const char *path)
{
    static const char *const prefixes[] = {"/v1beta/models/", "/v1/models/"};
    for (size_t i = 0; i < SY_ARRAY_LEN(prefixes); i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(path, prefixes[i], n) == 0)
            return path + n;
    }
    return NULL;
}

/* The method after the last ':' of a chat path: 0 generateContent, 1 streamGenerateContent,
 * -1 neither. */
static int chat_method(const char *rest, const char **colon_out)
{
    const char *colon = rest ? strrchr(rest, ':') : NULL;
    if (!colon || colon == rest)
        return -1;
    *colon_out = colon;
    if (strcmp(colon + 1, "generateContent") == 0)
        return 0;
    if (strcmp(colon + 1, "streamGenerateContent") == 0)
        return 1;
    return -1;
}

static fp_route_kind gm_route(const char *path)
{
    if (strcmp(path, "/v1beta/models") == 0)
        return FP_ROUTE_MODELS;
    const char *colon;
    return chat_method(model_part(path), &colon) >= 0 ? FP_ROUTE_CHAT : FP_ROUTE_NONE;
}

/* Model (percent-decoded) and streaming from the path. */
static int gm_parse_path(const char *path, fp_chat *c, sy_buf *err)
{
    const char *rest = model_part(path), *colon = NULL;
    int stream = chat_method(rest, &colon);
    if (stream < 0)
        return fp_invalid(err, "The request path does not name a model and a method.");
    sy_buf model = {0};
    for (const char *p = rest; p < colon; p++) {
        int hi, lo;
        if (*p == '%' && p + 2 < colon && (hi = sy_hex_digit(p[1])) >= 0 &&
            (lo = sy_hex_digit(p[2])) >= 0) {
            char ch = (char)(hi * 16 + lo);
            sy_buf_append(&model, &ch, 1);
            p += 2;
        } else {
            sy_buf_append(&model, p, 1);
        }
    }
    if (!model.len || memchr(model.data, '\0', model.len)) {
        sy_buf_free(&model);
        return fp_invalid(err, "The model name in the request path is invalid.");
    }
    free(c->model);
    c->model = model.data; /* the sy_buf's NUL-terminated storage */
    c->stream = stream;
    return SY_OK;
}

/* Text of a Content's text parts, appended to out when out is not NULL; the byte count.
 * functionResponse parts count with the size of their response JSON text. */
static size_t content_text(const cJSON *content, sy_buf *out, int *has_text, int *has_result)
{
    size_t total = 0;
    const cJSON *part;
    cJSON_ArrayForEach(part, cJSON_GetObjectItemCaseSensitive(content, "parts"))
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
        const cJSON *fr = cJSON_GetObjectItemCaseSensitive(part, "functionResponse");
        if (cJSON_IsString(t)) {
            total += fp_take_text(t->valuestring, out);
            if (has_text)
                *has_text = 1;
        } else if (cJSON_IsObject(fr)) {
            char *s = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(fr, "response"));
            total += s ? strlen(s) : 0;
            cJSON_free(s);
            if (has_result)
                *has_result = 1;
        }
    }
    return total;
}

/*
 * The function the fake will call, into c->tool_name: the first allowedFunctionNames
 * entry when functionCallingConfig.mode is ANY, else the first functionDeclarations name;
 * none when mode is NONE or no function is declared.
 */
static int parse_tools(const cJSON *body, fp_chat *c, sy_buf *err)
{
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(body, "tools");
    if (!tools)
        return SY_OK;
    if (!cJSON_IsArray(tools))
        return fp_invalid(err, "Invalid value at 'tools': expected a list.");
    const cJSON *first = NULL, *t;
    size_t i = 0;
    cJSON_ArrayForEach(t, tools)
    {
        const cJSON *decls = cJSON_GetObjectItemCaseSensitive(t, "functionDeclarations");
        const cJSON *d;
        size_t j = 0;
        cJSON_ArrayForEach(d, decls)
        {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(d, "name");
            if (!fp_nonempty_string(name))
                return fp_invalid(err,
                                  "* GenerateContentRequest.tools[%zu].function_declarations[%zu]."
                                  "name: Name cannot be empty.",
                                  i, j);
            if (!first)
                first = name;
            j++;
        }
        i++;
    }
    const cJSON *fcc = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(body, "toolConfig"), "functionCallingConfig");
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(fcc, "mode");
    const char *m = cJSON_IsString(mode) ? mode->valuestring : "AUTO";
    if (strcmp(m, "NONE") == 0)
        return SY_OK;
    const cJSON *allowed =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(fcc, "allowedFunctionNames"), 0);
    if (strcmp(m, "ANY") == 0 && fp_nonempty_string(allowed))
        first = allowed;
    fp_chat_set_tool(c, first);
    return SY_OK;
}

/*
 * Validate what the fake depends on (contents, generationConfig.maxOutputTokens, tools);
 * everything else is accepted as is. The echo is the text of the last user turn that has
 * text; a last turn holding a functionResponse is a tool result.
 */
static int gm_parse_chat(const cJSON *body, fp_chat *c, sy_buf *err)
{
    if (!cJSON_IsObject(body))
        return fp_invalid(err, "Invalid JSON payload received. Expected an object.");
    const cJSON *contents = cJSON_GetObjectItemCaseSensitive(body, "contents");
    if (!cJSON_IsArray(contents) || cJSON_GetArraySize(contents) == 0)
        return fp_invalid(err, "* GenerateContentRequest.contents: contents is not specified");
    const cJSON *content, *last_user = NULL;
    int last_result = 0;
    size_t i = 0;
    cJSON_ArrayForEach(content, contents)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(content, "role");
        const cJSON *parts = cJSON_GetObjectItemCaseSensitive(content, "parts");
        if (!cJSON_IsObject(content) || (role && !cJSON_IsString(role)) || !cJSON_IsArray(parts) ||
            cJSON_GetArraySize(parts) == 0)
            return fp_invalid(err,
                              "* GenerateContentRequest.contents[%zu].parts: contents.parts "
                              "must not be empty.",
                              i);
        int has_text = 0;
        last_result = 0;
        c->prompt_bytes += content_text(content, NULL, &has_text, &last_result);
        if (has_text && (!role || strcmp(role->valuestring, "user") == 0))
            last_user = content;
        i++;
    }
    c->prompt_bytes +=
        content_text(cJSON_GetObjectItemCaseSensitive(body, "systemInstruction"), NULL, NULL, NULL);
    if (last_user)
        content_text(last_user, &c->echo, NULL, NULL);
    c->last_is_tool_result = last_result;
    if (parse_tools(body, c, err) != SY_OK)
        return SY_ERR_INVALID;

    c->max_tokens = -1;
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(body, "generationConfig"), "maxOutputTokens");
    if (max && !cJSON_IsNull(max)) {
        if (!fp_positive_int(max, &c->max_tokens))
            return fp_invalid(err, "* GenerateContentRequest.generation_config.max_output_tokens: "
                                   "must be a positive integer.");
    }
    return SY_OK;
}

static const char *finish_reason(const fp_exchange *x)
{
    return x->truncated && !x->tool_name ? "MAX_TOKENS" : "STOP";
}

/* usageMetadata; before the last chunk of a stream only the prompt is counted. */
static void usage_metadata(const fp_exchange *x, int final, sy_buf *out)
{
    long completion = final ? x->completion_tokens : 0;
    sy_buf_printf(out, ",\"usageMetadata\":{\"promptTokenCount\":%ld", x->prompt_tokens);
    if (final)
        sy_buf_printf(out, ",\"candidatesTokenCount\":%ld", completion);
    sy_buf_printf(out, ",\"totalTokenCount\":%ld", x->prompt_tokens + completion);
    if (x->cached_tokens > 0)
        sy_buf_printf(out, ",\"cachedContentTokenCount\":%ld", x->cached_tokens);
    sy_buf_printf(out, ",\"promptTokensDetails\":[{\"modality\":\"TEXT\",\"tokenCount\":%ld}]}",
                  x->prompt_tokens);
}

/* modelVersion and responseId (the exchange id without its OpenAI prefix), closing the
 * response object. */
static void tail(const fp_exchange *x, sy_buf *out)
{
    const char *id = fp_id_suffix(x->id, "chatcmpl-");
    sy_buf_puts(out, ",\"modelVersion\":");
    fp_put_string(out, x->model);
    sy_buf_puts(out, ",\"responseId\":");
    fp_put_string(out, id);
    sy_buf_puts(out, "}");
}

/* {"candidates":[{"content":{"parts":[ ... up to the parts. */
static void open_candidate(sy_buf *out)
{
    sy_buf_puts(out, "{\"candidates\":[{\"content\":{\"parts\":[");
}

/* ...],"role":"model"}, finishReason when given, index}] */
static void close_candidate(const char *finish, sy_buf *out)
{
    sy_buf_puts(out, "],\"role\":\"model\"}");
    if (finish)
        sy_buf_printf(out, ",\"finishReason\":\"%s\"", finish);
    sy_buf_puts(out, ",\"index\":0}]");
}

static void text_part(const char *text, size_t len, sy_buf *out)
{
    sy_buf_puts(out, "{\"text\":");
    sy_buf_json_string(out, text, len);
    sy_buf_puts(out, "}");
}

/* The call as Gemini returns it: whole, args as a JSON object (not a string). */
static void function_call_part(const fp_exchange *x, sy_buf *out)
{
    sy_buf_puts(out, "{\"functionCall\":{\"name\":");
    fp_put_string(out, x->tool_name);
    sy_buf_puts(out, ",\"args\":");
    sy_buf_puts(out, fp_tool_args(x));
    sy_buf_puts(out, "}}");
}

static void gm_render_completion(const fp_exchange *x, const char *text, size_t len, sy_buf *out)
{
    open_candidate(out);
    if (x->tool_name)
        function_call_part(x, out);
    else
        text_part(text, len, out);
    close_candidate(finish_reason(x), out);
    usage_metadata(x, 1, out);
    tail(x, out);
}

/* Gemini streams have no opening event: the first chunk already carries content. */
static void gm_render_stream_open(const fp_exchange *x, sy_buf *out) {}

/* One streamed GenerateContentResponse with one part — text, or the whole function call
 * when call is set; the last one (finish given) carries finishReason and full usage. */
static void stream_chunk(const fp_exchange *x, const char *text, size_t len, int call,
                         const char *finish, sy_buf *out)
{
    sy_buf_puts(out, "data: ");
    open_candidate(out);
    if (call)
        function_call_part(x, out);
    else
        text_part(text, len, out);
    close_candidate(finish, out);
    usage_metadata(x, finish != NULL, out);
    tail(x, out);
    sy_buf_puts(out, GM_EOL);
}

static void gm_render_stream_delta(const fp_exchange *x, const char *text, size_t len, sy_buf *out)
{
    stream_chunk(x, text, len, 0, NULL, out);
}

/* A function call arrives whole, in one chunk. */
static void gm_render_stream_tool_call(const fp_exchange *x, sy_buf *out)
{
    stream_chunk(x, NULL, 0, 1, NULL, out);
}

/* The last chunk: an empty text part, finishReason and the full usage. */
static void gm_render_stream_close(const fp_exchange *x, sy_buf *out)
{
    stream_chunk(x, "", 0, 0, finish_reason(x), out);
}

static void gm_render_stream_error(const fp_exchange *x, sy_buf *out)
{
    sy_buf_puts(out, "data: {\"error\":{\"code\":500,\"message\":\"An internal error has "
                     "occurred. Please retry or report in "
                     "https://developers.generativeai.google/guide/troubleshooting\","
                     "\"status\":\"INTERNAL\"}}" GM_EOL);
}

/* Truncated JSON: the object is opened and never closed (a valid SSE frame, though). */
static void gm_render_malformed(const fp_exchange *x, int stream, sy_buf *out)
{
    if (stream)
        sy_buf_puts(out, "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":" GM_EOL);
    else
        sy_buf_puts(out, "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Lorem ips");
}

/*
 * google.rpc.Status bodies. A rate limit carries QuotaFailure and RetryInfo details (the
 * scripted delay itself goes out in the Retry-After header; RetryInfo says 1s, the
 * scenario default); a spent quota says billing and carries no RetryInfo. Gemini has no
 * 529: overload is a 503.
 */
static const fp_error_row gm_errors[FP_ERR_COUNT] = {
    [FP_ERR_INVALID_REQUEST] = {400, "INVALID_ARGUMENT", NULL, "Invalid JSON payload received."},
    [FP_ERR_INJECTED_400] = {400, "INVALID_ARGUMENT", NULL,
                             "Request contains an invalid argument. (injected by fake-provider)"},
    [FP_ERR_UNAUTHORIZED] = {401, "UNAUTHENTICATED", NULL,
                             "API key not valid. Please pass a valid API key.",
                             "[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\","
                             "\"reason\":\"API_KEY_INVALID\",\"domain\":\"googleapis.com\"}]"},
    [FP_ERR_MODEL_NOT_FOUND] = {404, "NOT_FOUND", NULL,
                                "The model is not found for API version v1beta, or is not "
                                "supported for generateContent."},
    [FP_ERR_RATE_LIMIT] = {429, "RESOURCE_EXHAUSTED", NULL,
                           "You exceeded your current quota, please check your plan and "
                           "billing details.",
                           "[{\"@type\":\"type.googleapis.com/google.rpc.QuotaFailure\","
                           "\"violations\":[{\"quotaMetric\":\"generativelanguage.googleapis."
                           "com/generate_content_requests\",\"quotaId\":"
                           "\"GenerateRequestsPerMinutePerProjectPerModel\"}]},"
                           "{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\","
                           "\"retryDelay\":\"1s\"}]"},
    [FP_ERR_QUOTA] = {429, "RESOURCE_EXHAUSTED", NULL,
                      "Your prepayment credits are depleted. Please go to AI Studio to manage "
                      "your project and billing."},
    [FP_ERR_SERVER] = {500, "INTERNAL", NULL,
                       "An internal error has occurred. Please retry or report in "
                       "https://developers.generativeai.google/guide/troubleshooting"},
    [FP_ERR_UNAVAILABLE] = {503, "UNAVAILABLE", NULL, "The service is currently unavailable."},
    [FP_ERR_OVERLOADED] = {503, "UNAVAILABLE", NULL,
                           "The model is overloaded. Please try again later."},
    [FP_ERR_NOT_FOUND] = {404, "NOT_FOUND", NULL, "Method not found."},
    [FP_ERR_METHOD] = {405, "UNIMPLEMENTED", NULL, "Method not allowed for this URL."},
};

/* {"error":{"code","message","status"[,"details"]}} */
static int gm_render_error(fp_error_code code, const char *message, sy_buf *out)
{
    fp_error_row e = fp_error_lookup(gm_errors, code, message);
    sy_buf_printf(out, "{\"error\":{\"code\":%d,\"message\":", e.status);
    fp_put_string(out, e.message);
    sy_buf_printf(out, ",\"status\":\"%s\"", e.type);
    if (e.details)
        sy_buf_printf(out, ",\"details\":%s", e.details);
    sy_buf_puts(out, "}}");
    return e.status;
}

static void gm_render_models(const char *const *names, size_t n, int64_t created, sy_buf *out)
{
    sy_buf_puts(out, "{\"models\":[");
    for (size_t i = 0; i < n; i++) {
        sy_buf full = {0};
        sy_buf_printf(&full, "models/%s", names[i]);
        sy_buf_puts(out, i ? ",{\"name\":" : "{\"name\":");
        sy_buf_json_string(out, full.data, full.len);
        sy_buf_free(&full);
        sy_buf_puts(out, ",\"version\":\"001\",\"displayName\":");
        fp_put_string(out, names[i]);
        sy_buf_puts(out, ",\"description\":\"A fake-provider model.\","
                         "\"inputTokenLimit\":1048576,\"outputTokenLimit\":65536,"
                         "\"supportedGenerationMethods\":[\"generateContent\","
                         "\"countTokens\"]}");
    }
    sy_buf_puts(out, "]}");
}

const fp_dialect fp_dialect_gemini = {
    .name = "gemini",
    .auth_header = "x-goog-api-key",
    .auth_scheme = "",
    .stream_content_type = "text/event-stream",
    .route = gm_route,
    .parse_chat = gm_parse_chat,
    .parse_path = gm_parse_path,
    .render_completion = gm_render_completion,
    .render_stream_open = gm_render_stream_open,
    .render_stream_delta = gm_render_stream_delta,
    .render_stream_close = gm_render_stream_close,
    .render_stream_tool_call = gm_render_stream_tool_call,
    .render_stream_error = gm_render_stream_error,
    .render_malformed = gm_render_malformed,
    .render_error = gm_render_error,
    .render_models = gm_render_models,
};
