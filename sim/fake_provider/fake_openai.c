/*
 * fake_openai: the OpenAI Chat Completions dialect of fake-provider.
 *
 * Bodies follow OpenAI's shapes exactly (chat.completion, chat.completion.chunk, the
 * list of models, {"error":{message,type,param,code}}), including the details clients
 * and gateways parse: "usage": null on every chunk when stream_options.include_usage is
 * set, a final chunk with "choices": [] carrying usage, and "data: [DONE]". Bodies are
 * written with sy_buf directly rather than built as cJSON trees: fake-provider doubles
 * as a benchmark upstream, and this is its hot path.
 */
#include "fake_dialect.h"

#include <string.h>

#define OAI_FINGERPRINT "fp_fake"

static fp_route_kind oai_route(const char *path)
{
    if (strcmp(path, "/v1/chat/completions") == 0)
        return FP_ROUTE_CHAT;
    if (strcmp(path, "/v1/models") == 0)
        return FP_ROUTE_MODELS;
    return FP_ROUTE_NONE;
}

/* A positive integer limit field, or -1 when absent/null. */
static int limit_field(const cJSON *body, const char *key, long *out, sy_buf *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    *out = -1;
    if (!v || cJSON_IsNull(v))
        return SY_OK;
    if (!fp_positive_int(v, out))
        return fp_invalid(err, "Invalid '%s': expected a positive integer.", key);
    return SY_OK;
}

/*
 * Validate the parts of a Chat Completions request the fake depends on (model,
 * messages, stream, stream_options, max_tokens / max_completion_tokens, tools); everything
 * else is accepted as is. Any role is accepted, so tool results ({"role":"tool",
 * "tool_call_id":…}) and assistant turns with tool_calls and null content pass; the
 * last message being a "tool" (or legacy "function") result sets last_is_tool_result.
 * The output limit is the smaller of the two limit fields.
 */
static int oai_parse_chat(const cJSON *body, fp_chat *c, sy_buf *err)
{
    if (fp_parse_model(body, c, "you must provide a model parameter", err) != SY_OK)
        return SY_ERR_INVALID;

    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(body, "messages");
    if (!cJSON_IsArray(messages))
        return fp_invalid(err, "Missing required parameter: 'messages'.");
    const cJSON *last_user = NULL, *m;
    const char *last_role = "";
    size_t i = 0;
    cJSON_ArrayForEach(m, messages)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsObject(m) || !cJSON_IsString(role))
            return fp_invalid(err, "Invalid 'messages[%zu]': expected an object with a 'role'.", i);
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        c->prompt_bytes += fp_content_text(content, NULL);
        if (strcmp(role->valuestring, "user") == 0)
            last_user = content;
        last_role = role->valuestring;
        i++;
    }
    if (i == 0)
        return fp_invalid(err, "Invalid 'messages': empty array. Expected an array with minimum "
                               "length 1.");
    if (last_user)
        fp_content_text(last_user, &c->echo);
    c->last_is_tool_result = strcmp(last_role, "tool") == 0 || strcmp(last_role, "function") == 0;
    if (fp_parse_tools(body, "function", c, err) != SY_OK)
        return SY_ERR_INVALID;

    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(body, "stream");
    if (stream && !cJSON_IsNull(stream) && !cJSON_IsBool(stream))
        return fp_invalid(err, "Invalid 'stream': expected a boolean.");
    c->stream = cJSON_IsTrue(stream);
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(body, "stream_options");
    if (opts && !cJSON_IsNull(opts)) {
        if (!cJSON_IsObject(opts))
            return fp_invalid(err, "Invalid 'stream_options': expected an object.");
        if (!c->stream)
            return fp_invalid(err,
                              "The 'stream_options' parameter is only allowed when 'stream' is "
                              "enabled.");
        c->include_usage = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(opts, "include_usage"));
    }
    long a, b;
    if (limit_field(body, "max_tokens", &a, err) ||
        limit_field(body, "max_completion_tokens", &b, err))
        return SY_ERR_INVALID;
    c->max_tokens = a < 0 ? b : (b < 0 || a < b ? a : b);
    return SY_OK;
}

static void usage_object(const fp_exchange *x, sy_buf *out)
{
    sy_buf_printf(out,
                  "{\"prompt_tokens\":%ld,\"completion_tokens\":%ld,\"total_tokens\":%ld,"
                  "\"prompt_tokens_details\":{\"cached_tokens\":%ld,\"audio_tokens\":0},"
                  "\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,"
                  "\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}",
                  x->prompt_tokens, x->completion_tokens, x->prompt_tokens + x->completion_tokens,
                  x->cached_tokens);
}

static const char *finish_reason(const fp_exchange *x)
{
    if (x->tool_name)
        return "tool_calls";
    return x->truncated ? "length" : "stop";
}

/* The fields every body and chunk starts with, up to and excluding "choices". */
static void head(const fp_exchange *x, const char *object, sy_buf *out)
{
    sy_buf_printf(out, "{\"id\":\"%s\",\"object\":\"%s\",\"created\":%lld,\"model\":", x->id,
                  object, (long long)x->created);
    fp_put_string(out, x->model);
    sy_buf_puts(out, ",\"system_fingerprint\":\"" OAI_FINGERPRINT "\"");
}

/* "id", "type" and "function" of a tool call; arguments is the JSON text as a string. */
static void tool_call_fields(const fp_exchange *x, const char *arguments, size_t len, sy_buf *out)
{
    sy_buf_puts(out, "\"id\":");
    fp_put_string(out, x->tool_call_id);
    sy_buf_puts(out, ",\"type\":\"function\",\"function\":{\"name\":");
    fp_put_string(out, x->tool_name);
    sy_buf_puts(out, ",\"arguments\":");
    sy_buf_json_string(out, arguments, len);
    sy_buf_puts(out, "}");
}

/* The answer: text, or (x->tool_name set) content null and one tool call; text unused. */
static void oai_render_completion(const fp_exchange *x, const char *text, size_t len, sy_buf *out)
{
    head(x, "chat.completion", out);
    sy_buf_puts(out, ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                     "\"content\":");
    if (x->tool_name) {
        sy_buf_puts(out, "null,\"tool_calls\":[{");
        tool_call_fields(x, x->tool_args_json, strlen(x->tool_args_json), out);
        sy_buf_puts(out, "}]");
    } else {
        sy_buf_json_string(out, text, len);
    }
    sy_buf_printf(out,
                  ",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"%s\"}],"
                  "\"usage\":",
                  finish_reason(x));
    usage_object(x, out);
    sy_buf_puts(out, "}");
}

/* One chat.completion.chunk event around a choices array given as JSON text. */
static void chunk(const fp_exchange *x, const char *delta_json, size_t delta_len,
                  const char *finish, sy_buf *out)
{
    sy_buf_puts(out, "data: ");
    head(x, "chat.completion.chunk", out);
    sy_buf_puts(out, ",\"choices\":[{\"index\":0,\"delta\":");
    sy_buf_append(out, delta_json, delta_len);
    if (finish)
        sy_buf_printf(out, ",\"logprobs\":null,\"finish_reason\":\"%s\"}]", finish);
    else
        sy_buf_puts(out, ",\"logprobs\":null,\"finish_reason\":null}]");
    if (x->include_usage)
        sy_buf_puts(out, ",\"usage\":null");
    sy_buf_puts(out, "}\n\n");
}

/* The role event; content is null ahead of a tool call, as OpenAI sends it. */
static void oai_render_stream_open(const fp_exchange *x, sy_buf *out)
{
    static const char text[] = "{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}";
    static const char call[] = "{\"role\":\"assistant\",\"content\":null,\"refusal\":null}";
    if (x->tool_name)
        chunk(x, call, sizeof call - 1, NULL, out);
    else
        chunk(x, text, sizeof text - 1, NULL, out);
}

static void oai_render_stream_delta(const fp_exchange *x, const char *text, size_t len, sy_buf *out)
{
    sy_buf delta = {0};
    sy_buf_puts(&delta, "{\"content\":");
    sy_buf_json_string(&delta, text, len);
    sy_buf_puts(&delta, "}");
    chunk(x, delta.data, delta.len, NULL, out);
    sy_buf_free(&delta);
}

/* Chunks of streamed tool-call arguments (at most; short arguments take fewer). */
#define OAI_ARGUMENT_PIECES 3

/*
 * A tool call as OpenAI streams it: one chunk announcing the call (index, id, type,
 * name, empty arguments), then the arguments JSON text split into up to
 * OAI_ARGUMENT_PIECES pieces of about equal size, never inside a UTF-8 character, each
 * in its own chunk carrying only index and function.arguments. Clients concatenate the
 * pieces.
 */
static void oai_render_stream_tool_call(const fp_exchange *x, sy_buf *out)
{
    sy_buf delta = {0};
    sy_buf_puts(&delta, "{\"tool_calls\":[{\"index\":0,");
    tool_call_fields(x, "", 0, &delta);
    sy_buf_puts(&delta, "}]}");
    chunk(x, delta.data, delta.len, NULL, out);

    const char *args = x->tool_args_json;
    size_t len = strlen(args), start = 0;
    for (size_t k = 1; k <= OAI_ARGUMENT_PIECES && start < len; k++) {
        size_t end = len * k / OAI_ARGUMENT_PIECES;
        while (end < len && ((unsigned char)args[end] & 0xC0) == 0x80)
            end++;
        if (end <= start)
            continue;
        sy_buf_reset(&delta);
        sy_buf_puts(&delta, "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":");
        sy_buf_json_string(&delta, args + start, end - start);
        sy_buf_puts(&delta, "}}]}");
        chunk(x, delta.data, delta.len, NULL, out);
        start = end;
    }
    sy_buf_free(&delta);
}

static void oai_render_stream_close(const fp_exchange *x, sy_buf *out)
{
    chunk(x, "{}", 2, finish_reason(x), out);
    if (x->include_usage) {
        sy_buf_puts(out, "data: ");
        head(x, "chat.completion.chunk", out);
        sy_buf_puts(out, ",\"choices\":[],\"usage\":");
        usage_object(x, out);
        sy_buf_puts(out, "}\n\n");
    }
    sy_buf_puts(out, "data: [DONE]\n\n");
}

/* An in-stream error event, as OpenAI sends one mid-stream. */
static void oai_render_stream_error(const fp_exchange *x, sy_buf *out)
{
    (void)x;
    sy_buf_puts(out, "data: {\"error\":{\"message\":\"The server had an error while "
                     "processing your request.\",\"type\":\"server_error\",\"param\":"
                     "null,\"code\":null}}\n\n");
}

/* Truncated JSON: the object is opened and never closed (a valid SSE frame, though). */
static void oai_render_malformed(const fp_exchange *x, int stream, sy_buf *out)
{
    if (stream) {
        sy_buf_puts(out, "data: ");
        head(x, "chat.completion.chunk", out);
        sy_buf_puts(out, ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\n\n");
    } else {
        head(x, "chat.completion", out);
        sy_buf_puts(out, ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                         "\"content\":\"Lorem ips");
    }
}

static const fp_error_row oai_errors[FP_ERR_COUNT] = {
    [FP_ERR_INVALID_REQUEST] = {400, "invalid_request_error", NULL, "Invalid request."},
    [FP_ERR_INJECTED_400] = {400, "invalid_request_error", NULL,
                             "Invalid request (injected by fake-provider)."},
    [FP_ERR_UNAUTHORIZED] = {401, "invalid_request_error", "invalid_api_key",
                             "Incorrect API key provided."},
    [FP_ERR_MODEL_NOT_FOUND] = {404, "invalid_request_error", "model_not_found",
                                "The model does not exist or you do not have access to it."},
    [FP_ERR_RATE_LIMIT] = {429, "requests", "rate_limit_exceeded",
                           "Rate limit reached for requests. Please try again later."},
    [FP_ERR_QUOTA] = {429, "insufficient_quota", "insufficient_quota",
                      "You exceeded your current quota, please check your plan and billing "
                      "details."},
    [FP_ERR_SERVER] = {500, "server_error", NULL,
                       "The server had an error while processing your request. Sorry about "
                       "that!"},
    [FP_ERR_UNAVAILABLE] = {503, "server_error", NULL,
                            "The engine is currently overloaded, please try again later."},
    [FP_ERR_OVERLOADED] = {529, "overloaded_error", "overloaded", "Overloaded."},
    [FP_ERR_NOT_FOUND] = {404, "invalid_request_error", "unknown_url", "Unknown request URL."},
    [FP_ERR_METHOD] = {405, "invalid_request_error", "method_not_supported",
                       "Method not allowed for this URL."},
};

/* {"error":{"message","type","param":null,"code"}} */
static int oai_render_error(fp_error_code code, const char *message, sy_buf *out)
{
    fp_error_row e = fp_error_lookup(oai_errors, code, message);
    sy_buf_puts(out, "{\"error\":{\"message\":");
    fp_put_string(out, e.message);
    sy_buf_printf(out, ",\"type\":\"%s\",\"param\":null,\"code\":", e.type);
    if (e.code)
        sy_buf_printf(out, "\"%s\"}}", e.code);
    else
        sy_buf_puts(out, "null}}");
    return e.status;
}

static void oai_render_models(const char *const *names, size_t n, int64_t created, sy_buf *out)
{
    sy_buf_puts(out, "{\"object\":\"list\",\"data\":[");
    for (size_t i = 0; i < n; i++) {
        sy_buf_puts(out, i ? ",{\"id\":" : "{\"id\":");
        sy_buf_json_string(out, names[i], strlen(names[i]));
        sy_buf_printf(out, ",\"object\":\"model\",\"created\":%lld,\"owned_by\":\"fake-provider\"}",
                      (long long)created);
    }
    sy_buf_puts(out, "]}");
}

const fp_dialect fp_dialect_openai = {
    .name = "openai",
    .auth_header = "Authorization",
    .auth_scheme = "Bearer ",
    .stream_content_type = "text/event-stream; charset=utf-8",
    .route = oai_route,
    .parse_chat = oai_parse_chat,
    .render_completion = oai_render_completion,
    .render_stream_open = oai_render_stream_open,
    .render_stream_delta = oai_render_stream_delta,
    .render_stream_close = oai_render_stream_close,
    .render_stream_tool_call = oai_render_stream_tool_call,
    .render_stream_error = oai_render_stream_error,
    .render_malformed = oai_render_malformed,
    .render_error = oai_render_error,
    .render_models = oai_render_models,
};
