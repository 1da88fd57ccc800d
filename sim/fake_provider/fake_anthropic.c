/*
 * fake_anthropic: the Anthropic Messages dialect of fake-provider.
 *
 * Route: POST /v1/messages (GET /v1/models stays with the OpenAI dialect, which owns
 * that path). The key is the x-api-key header. Bodies follow Anthropic's shapes: a
 * Message ({"id":"msg_…","type":"message","role":"assistant","content":[…],
 * "stop_reason","stop_sequence","usage"}), and a stream as Anthropic sends it, each event
 * an "event: TYPE" line plus a "data:" line whose JSON repeats the type:
 *
 *   message_start (input usage, output_tokens 1), content_block_start, ping,
 *   content_block_delta × n (text_delta, or input_json_delta for a tool call),
 *   content_block_stop, message_delta (stop_reason, cumulative output usage), message_stop
 *
 * Errors are {"type":"error","error":{"type","message"},"request_id"}, with Anthropic's
 * statuses (529 overloaded_error, 429 rate_limit_error ...); an in-stream error is an
 * "error" event. Written with sy_buf directly, like fake_openai.c, because fake-provider
 * doubles as a benchmark upstream.
 */
#include "fake_dialect.h"

#include <string.h>

static fp_route_kind an_route(const char *path)
{
    return strcmp(path, "/v1/messages") == 0 ? FP_ROUTE_CHAT : FP_ROUTE_NONE;
}

/* Text of a content value (a string, or text blocks), appended to out when out is not
 * NULL; the byte count, tool_result contents included. *has_text / *has_result are set
 * when text / a tool_result block is seen. */
static size_t content_text(const cJSON *content, sy_buf *out, int *has_text, int *has_result)
{
    if (cJSON_IsString(content)) {
        size_t n = fp_take_text(content->valuestring, out);
        if (has_text && n)
            *has_text = 1;
        return n;
    }
    size_t total = 0;
    if (!cJSON_IsArray(content))
        return 0;
    const cJSON *blk;
    cJSON_ArrayForEach(blk, content)
    {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(blk, "type");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(blk, "text");
        if (cJSON_IsString(type) && strcmp(type->valuestring, "tool_result") == 0) {
            if (has_result)
                *has_result = 1;
            total +=
                content_text(cJSON_GetObjectItemCaseSensitive(blk, "content"), NULL, NULL, NULL);
        } else if (cJSON_IsString(t)) {
            size_t n = fp_take_text(t->valuestring, out);
            if (has_text && n)
                *has_text = 1;
            total += n;
        }
    }
    return total;
}

/*
 * The tool the fake will call, into c->tool_name: the tool named by tool_choice
 * {"type":"tool","name":…}, else the first of `tools`; none when tool_choice is
 * {"type":"none"} or no tool is offered. Each tool needs a name and an input_schema.
 */
static int parse_tools(const cJSON *body, fp_chat *c, sy_buf *err)
{
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(body, "tools");
    if (!tools)
        return SY_OK;
    if (!cJSON_IsArray(tools))
        return fp_invalid(err, "tools: Input should be a valid list");
    const cJSON *t, *first = NULL;
    size_t i = 0;
    cJSON_ArrayForEach(t, tools)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
        if (!fp_nonempty_string(name))
            return fp_invalid(err, "tools.%zu.name: Field required", i);
        if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(t, "input_schema")))
            return fp_invalid(err, "tools.%zu.custom.input_schema: Field required", i);
        if (!first)
            first = name;
        i++;
    }
    const cJSON *choice = cJSON_GetObjectItemCaseSensitive(body, "tool_choice");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(choice, "type");
    const cJSON *forced = cJSON_GetObjectItemCaseSensitive(choice, "name");
    if (choice && !(cJSON_IsObject(choice) && cJSON_IsString(type)))
        return fp_invalid(err, "tool_choice: Input should be an object with a type");
    if (cJSON_IsString(type) && strcmp(type->valuestring, "none") == 0)
        return SY_OK;
    if (cJSON_IsString(type) && strcmp(type->valuestring, "tool") == 0 &&
        fp_nonempty_string(forced))
        first = forced;
    fp_chat_set_tool(c, first);
    return SY_OK;
}

/*
 * Validate what a Messages request must have (model, max_tokens, messages with user or
 * assistant roles and non-empty content, a string or text-block system, boolean stream,
 * tools); everything else is accepted as is. The echo is the text of the last user
 * message with text; a last message holding a tool_result is a tool result.
 */
static int an_parse_chat(const cJSON *body, fp_chat *c, sy_buf *err)
{
    if (fp_parse_model(body, c, "model: Field required", err) != SY_OK)
        return SY_ERR_INVALID;
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(body, "max_tokens");
    if (!fp_positive_int(max, &c->max_tokens))
        return fp_invalid(err, max ? "max_tokens: Input should be a positive integer"
                                   : "max_tokens: Field required");

    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(body, "messages");
    if (!cJSON_IsArray(messages) || cJSON_GetArraySize(messages) == 0)
        return fp_invalid(err, "messages: Field required (a non-empty list)");
    const cJSON *m, *last_user = NULL;
    size_t i = 0;
    cJSON_ArrayForEach(m, messages)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        int user = cJSON_IsString(role) && strcmp(role->valuestring, "user") == 0;
        int assistant = cJSON_IsString(role) && strcmp(role->valuestring, "assistant") == 0;
        if (!user && !assistant)
            return fp_invalid(err, "messages.%zu.role: Input should be 'user' or 'assistant'", i);
        if (!fp_nonempty_string(content) &&
            !(cJSON_IsArray(content) && cJSON_GetArraySize(content) > 0))
            return fp_invalid(err, "messages.%zu: all messages must have non-empty content", i);
        int text = 0, result = 0;
        c->prompt_bytes += content_text(content, NULL, &text, &result);
        if (user && text)
            last_user = content;
        c->last_is_tool_result = user && result;
        i++;
    }
    if (last_user)
        content_text(last_user, &c->echo, NULL, NULL);
    const cJSON *system = cJSON_GetObjectItemCaseSensitive(body, "system");
    if (system && !cJSON_IsString(system) && !cJSON_IsArray(system))
        return fp_invalid(err, "system: Input should be a string or a list of text blocks");
    c->prompt_bytes += content_text(system, NULL, NULL, NULL);
    if (parse_tools(body, c, err) != SY_OK)
        return SY_ERR_INVALID;
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(body, "stream");
    if (stream && !cJSON_IsBool(stream))
        return fp_invalid(err, "stream: Input should be a valid boolean");
    c->stream = cJSON_IsTrue(stream);
    c->include_usage = 1; /* Anthropic always reports usage */
    return SY_OK;
}

/* The exchange id with Anthropic's prefix instead of OpenAI's ("msg_…", "toolu_…"). */
static void put_id(sy_buf *out, const char *prefix, const char *id, const char *strip)
{
    sy_buf_printf(out, "\"%s%s\"", prefix, fp_id_suffix(id, strip));
}

static const char *stop_reason(const fp_exchange *x)
{
    if (x->tool_name)
        return "tool_use";
    return x->truncated ? "max_tokens" : "end_turn";
}

/* The usage object; `output` is the output count to report (a stream's message_start
 * says 1). The fake's cached tokens are cache reads, its cache-write tokens cache
 * creation; input_tokens excludes both, as Anthropic's does. */
static void usage(const fp_exchange *x, long output, sy_buf *out)
{
    sy_buf_printf(out,
                  "{\"input_tokens\":%ld,\"cache_creation_input_tokens\":%ld,"
                  "\"cache_read_input_tokens\":%ld,\"output_tokens\":%ld,"
                  "\"service_tier\":\"standard\"}",
                  x->prompt_tokens - x->cached_tokens - x->cache_write_tokens,
                  x->cache_write_tokens, x->cached_tokens, output);
}

/* {"id","type","role","model","content":[ — up to the content blocks. */
static void message_head(const fp_exchange *x, sy_buf *out)
{
    sy_buf_puts(out, "{\"id\":");
    put_id(out, "msg_", x->id, "chatcmpl-");
    sy_buf_puts(out, ",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
    fp_put_string(out, x->model);
    sy_buf_puts(out, ",\"content\":[");
}

static void tool_use_head(const fp_exchange *x, sy_buf *out)
{
    sy_buf_puts(out, "{\"type\":\"tool_use\",\"id\":");
    put_id(out, "toolu_", x->tool_call_id, "call_");
    sy_buf_puts(out, ",\"name\":");
    fp_put_string(out, x->tool_name);
    sy_buf_puts(out, ",\"input\":");
}

static void an_render_completion(const fp_exchange *x, const char *text, size_t len, sy_buf *out)
{
    message_head(x, out);
    if (x->tool_name) {
        tool_use_head(x, out);
        sy_buf_puts(out, fp_tool_args(x));
        sy_buf_puts(out, "}");
    } else {
        sy_buf_puts(out, "{\"type\":\"text\",\"text\":");
        sy_buf_json_string(out, text, len);
        sy_buf_puts(out, "}");
    }
    sy_buf_printf(out,
                  "],\"stop_reason\":\"%s\",\"stop_sequence\":null,\"usage\":", stop_reason(x));
    usage(x, x->completion_tokens, out);
    sy_buf_puts(out, "}");
}

/* "event: TYPE\ndata: " — the event's JSON follows, then "\n\n". */
static void event(const char *type, sy_buf *out)
{
    sy_buf_printf(out, "event: %s\ndata: ", type);
}

/* message_start; for a text answer also the text block's start; then a ping. A tool
 * call answer opens its block in render_stream_tool_call. */
static void an_render_stream_open(const fp_exchange *x, sy_buf *out)
{
    event("message_start", out);
    sy_buf_puts(out, "{\"type\":\"message_start\",\"message\":");
    message_head(x, out);
    sy_buf_puts(out, "],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":");
    usage(x, 1, out);
    sy_buf_puts(out, "}}\n\n");
    if (!x->tool_name) {
        event("content_block_start", out);
        sy_buf_puts(out, "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
                         "{\"type\":\"text\",\"text\":\"\"}}\n\n");
    }
    event("ping", out);
    sy_buf_puts(out, "{\"type\":\"ping\"}\n\n");
}

static void an_render_stream_delta(const fp_exchange *x, const char *text, size_t len, sy_buf *out)
{
    event("content_block_delta", out);
    sy_buf_puts(out, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
                     "\"text_delta\",\"text\":");
    sy_buf_json_string(out, text, len);
    sy_buf_puts(out, "}}\n\n");
}

static void json_delta(const char *piece, size_t len, sy_buf *out)
{
    event("content_block_delta", out);
    sy_buf_puts(out, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
                     "\"input_json_delta\",\"partial_json\":");
    sy_buf_json_string(out, piece, len);
    sy_buf_puts(out, "}}\n\n");
}

/*
 * A tool call streamed as Anthropic does: the tool_use block opens with an empty input,
 * the arguments arrive as input_json_delta pieces (an empty one first, then the JSON in
 * two halves split at an ASCII byte, so clients must reassemble), and the block closes.
 */
static void an_render_stream_tool_call(const fp_exchange *x, sy_buf *out)
{
    const char *args = fp_tool_args(x);
    size_t n = strlen(args), half = n / 2;
    while (half > 0 && (unsigned char)args[half] >= 0x80)
        half--;
    event("content_block_start", out);
    sy_buf_puts(out, "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":");
    tool_use_head(x, out);
    sy_buf_puts(out, "{}}}\n\n");
    json_delta("", 0, out);
    json_delta(args, half, out);
    json_delta(args + half, n - half, out);
    event("content_block_stop", out);
    sy_buf_puts(out, "{\"type\":\"content_block_stop\",\"index\":0}\n\n");
}

static void an_render_stream_close(const fp_exchange *x, sy_buf *out)
{
    if (!x->tool_name) {
        event("content_block_stop", out);
        sy_buf_puts(out, "{\"type\":\"content_block_stop\",\"index\":0}\n\n");
    }
    event("message_delta", out);
    sy_buf_printf(out,
                  "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"%s\","
                  "\"stop_sequence\":null},\"usage\":{\"output_tokens\":%ld}}\n\n",
                  stop_reason(x), x->completion_tokens);
    event("message_stop", out);
    sy_buf_puts(out, "{\"type\":\"message_stop\"}\n\n");
}

static void an_render_stream_error(const fp_exchange *x, sy_buf *out)
{
    event("error", out);
    sy_buf_puts(out, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                     "\"message\":\"Overloaded\"}}\n\n");
}

/* Truncated JSON: the event's object is opened and never closed (a valid SSE frame). */
static void an_render_malformed(const fp_exchange *x, int stream, sy_buf *out)
{
    if (stream) {
        event("content_block_delta", out);
        sy_buf_puts(out, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
                         "\"text_delta\",\"text\":\n\n");
    } else {
        sy_buf_puts(out, "{\"id\":\"msg_x\",\"type\":\"message\",\"content\":[{\"type\":"
                         "\"text\",\"text\":\"Lorem ips");
    }
}

/* Anthropic's error types and statuses. A spent quota is a 429 whose details say
 * enforced_spend_limit_reached (sent without Retry-After). */
static const fp_error_row an_errors[FP_ERR_COUNT] = {
    [FP_ERR_INVALID_REQUEST] = {400, "invalid_request_error", NULL, "Invalid request"},
    [FP_ERR_INJECTED_400] = {400, "invalid_request_error", NULL,
                             "Invalid request (injected by fake-provider)"},
    [FP_ERR_UNAUTHORIZED] = {401, "authentication_error", NULL, "invalid x-api-key"},
    [FP_ERR_MODEL_NOT_FOUND] = {404, "not_found_error", NULL, "model: not found"},
    [FP_ERR_RATE_LIMIT] = {429, "rate_limit_error", NULL,
                           "This request would exceed the rate limit for your organization "
                           "of 50 requests per minute. Please retry after the time in the "
                           "retry-after header."},
    [FP_ERR_QUOTA] = {429, "rate_limit_error", NULL,
                      "You have reached your specified API usage limits. You will regain "
                      "access on the first day of next month at 00:00 UTC.",
                      "{\"error_code\":\"enforced_spend_limit_reached\"}"},
    [FP_ERR_SERVER] = {500, "api_error", NULL, "Internal server error"},
    [FP_ERR_UNAVAILABLE] = {503, "api_error", NULL, "Service unavailable"},
    [FP_ERR_OVERLOADED] = {529, "overloaded_error", NULL, "Overloaded"},
    [FP_ERR_NOT_FOUND] = {404, "not_found_error", NULL, "Not found"},
    [FP_ERR_METHOD] = {405, "invalid_request_error", NULL, "Method not allowed"},
};

/* {"type":"error","error":{"type","message"[,"details"]},"request_id"} */
static int an_render_error(fp_error_code code, const char *message, sy_buf *out)
{
    fp_error_row e = fp_error_lookup(an_errors, code, message);
    sy_buf_printf(out, "{\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":", e.type);
    fp_put_string(out, e.message);
    if (e.details)
        sy_buf_printf(out, ",\"details\":%s", e.details);
    sy_buf_puts(out, "},\"request_id\":\"req_fake\"}");
    return e.status;
}

const fp_dialect fp_dialect_anthropic = {
    .name = "anthropic",
    .auth_header = "x-api-key",
    .auth_scheme = "",
    .stream_content_type = "text/event-stream; charset=utf-8",
    .route = an_route,
    .parse_chat = an_parse_chat,
    .render_completion = an_render_completion,
    .render_stream_open = an_render_stream_open,
    .render_stream_delta = an_render_stream_delta,
    .render_stream_close = an_render_stream_close,
    .render_stream_tool_call = an_render_stream_tool_call,
    .render_stream_error = an_render_stream_error,
    .render_malformed = an_render_malformed,
    .render_error = an_render_error,
};
