/*
 * fake_responses: OpenAI's Responses API (POST /v1/responses) in fake-provider, the
 * upstream of a provider configured with "responses_api": true.
 *
 * Request: model, input (a string or items: messages with text parts, function_call,
 * function_call_output), instructions, tools in the flat function shape
 * ({"type":"function","name",…}), tool_choice, max_output_tokens, stream. The answer
 * is the same deterministic content as the chat dialect (or one call of the first
 * function tool, unless the last item is a function_call_output), as a Response:
 *
 *   {"id":"resp_…","object":"response","created_at","status":"completed"|"incomplete",
 *    "model","output":[{"type":"message",…,"content":[{"type":"output_text","text"}]}
 *    or {"type":"function_call","call_id","name","arguments"}],"usage":{input_tokens,
 *    input_tokens_details.cached_tokens, output_tokens, output_tokens_details,
 *    total_tokens},…}
 *
 * A stream is OpenAI's event sequence, each "event: TYPE" + "data: JSON" with a
 * sequence_number: response.created, response.in_progress, output_item.added,
 * content_part.added, output_text.delta × n (or function_call_arguments.delta × n),
 * the done events, response.completed with the whole response. Errors are OpenAI's
 * (the chat dialect's table); an in-stream error is an "error" event.
 */
#include "fake_dialect.h"

#include <string.h>

static fp_route_kind rs_route(const char *path)
{
    return strcmp(path, "/v1/responses") == 0 ? FP_ROUTE_CHAT : FP_ROUTE_NONE;
}

static int is_type(const cJSON *item, const char *type)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(item, "type");
    return cJSON_IsString(t) && strcmp(t->valuestring, type) == 0;
}

/* The input items: prompt bytes, the last user text (echo), the last item's kind. */
static int parse_input(const cJSON *input, fp_chat *c, sy_buf *err)
{
    if (cJSON_IsString(input)) {
        c->prompt_bytes += fp_content_text(input, &c->echo);
        return SY_OK;
    }
    if (!cJSON_IsArray(input) || cJSON_GetArraySize(input) == 0)
        return fp_invalid(err, "Missing required parameter: 'input'.");
    const cJSON *item, *last_user = NULL;
    size_t i = 0;
    cJSON_ArrayForEach(item, input)
    {
        if (!cJSON_IsObject(item))
            return fp_invalid(err, "Invalid 'input[%zu]': expected an object.", i);
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(item, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(item, "content");
        c->last_is_tool_result = is_type(item, "function_call_output");
        if (c->last_is_tool_result)
            c->prompt_bytes +=
                fp_content_text(cJSON_GetObjectItemCaseSensitive(item, "output"), NULL);
        else if (is_type(item, "function_call"))
            c->prompt_bytes +=
                fp_content_text(cJSON_GetObjectItemCaseSensitive(item, "arguments"), NULL);
        else
            c->prompt_bytes += fp_content_text(content, NULL);
        if (cJSON_IsString(role) && strcmp(role->valuestring, "user") == 0)
            last_user = content;
        i++;
    }
    if (last_user)
        fp_content_text(last_user, &c->echo);
    return SY_OK;
}

static int rs_parse_chat(const cJSON *body, fp_chat *c, sy_buf *err)
{
    if (fp_parse_model(body, c, "Missing required parameter: 'model'.", err) != SY_OK)
        return SY_ERR_INVALID;
    if (parse_input(cJSON_GetObjectItemCaseSensitive(body, "input"), c, err) != SY_OK)
        return SY_ERR_INVALID;
    const cJSON *instr = cJSON_GetObjectItemCaseSensitive(body, "instructions");
    if (cJSON_IsString(instr))
        c->prompt_bytes += strlen(instr->valuestring);
    if (fp_parse_tools(body, NULL, c, err) != SY_OK)
        return SY_ERR_INVALID;
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(body, "stream");
    if (stream && !cJSON_IsNull(stream) && !cJSON_IsBool(stream))
        return fp_invalid(err, "Invalid 'stream': expected a boolean.");
    c->stream = cJSON_IsTrue(stream);
    c->include_usage = 1; /* response.completed always carries usage */
    const cJSON *mot = cJSON_GetObjectItemCaseSensitive(body, "max_output_tokens");
    c->max_tokens = -1;
    if (mot && !cJSON_IsNull(mot) && !fp_positive_int(mot, &c->max_tokens))
        return fp_invalid(err, "Invalid 'max_output_tokens': expected a positive integer.");
    return SY_OK;
}

/* ---- rendering */

static void put_id(sy_buf *out, const char *prefix, const fp_exchange *x)
{
    sy_buf_printf(out, "\"%s%s\"", prefix, fp_id_suffix(x->id, "chatcmpl-"));
}

static void usage(const fp_exchange *x, sy_buf *out)
{
    sy_buf_printf(out,
                  "{\"input_tokens\":%ld,\"input_tokens_details\":{\"cached_tokens\":%ld},"
                  "\"output_tokens\":%ld,\"output_tokens_details\":{\"reasoning_tokens\":0},"
                  "\"total_tokens\":%ld}",
                  x->prompt_tokens, x->cached_tokens, x->completion_tokens,
                  x->prompt_tokens + x->completion_tokens);
}

/* The output item: the message with its whole text, or the function call. */
static void item(const fp_exchange *x, const char *status, int whole, sy_buf *out)
{
    if (x->tool_name) {
        sy_buf_puts(out, "{\"id\":");
        put_id(out, "fc_", x);
        sy_buf_printf(out, ",\"type\":\"function_call\",\"status\":\"%s\",\"call_id\":", status);
        fp_put_string(out, x->tool_call_id);
        sy_buf_puts(out, ",\"name\":");
        fp_put_string(out, x->tool_name);
        sy_buf_puts(out, ",\"arguments\":");
        fp_put_string(out, whole ? fp_tool_args(x) : "");
        sy_buf_puts(out, "}");
        return;
    }
    sy_buf_puts(out, "{\"id\":");
    put_id(out, "msg_", x);
    sy_buf_printf(out,
                  ",\"type\":\"message\",\"status\":\"%s\",\"role\":\"assistant\",\"content\":[",
                  status);
    if (whole) {
        sy_buf_puts(out, "{\"type\":\"output_text\",\"text\":");
        sy_buf_json_string(out, x->text ? x->text : "", x->text_len);
        sy_buf_puts(out, ",\"annotations\":[],\"logprobs\":[]}");
    }
    sy_buf_puts(out, "]}");
}

/* A Response object; `done`: with its output and usage. */
static void response(const fp_exchange *x, const char *status, int done, sy_buf *out)
{
    sy_buf_puts(out, "{\"id\":");
    put_id(out, "resp_", x);
    sy_buf_printf(out,
                  ",\"object\":\"response\",\"created_at\":%lld,\"status\":\"%s\","
                  "\"error\":null,\"incomplete_details\":",
                  (long long)x->created, status);
    if (done && x->truncated)
        sy_buf_puts(out, "{\"reason\":\"max_output_tokens\"}");
    else
        sy_buf_puts(out, "null");
    sy_buf_puts(out, ",\"model\":");
    fp_put_string(out, x->model);
    sy_buf_puts(out, ",\"output\":[");
    if (done)
        item(x, "completed", 1, out);
    sy_buf_puts(out, "],\"parallel_tool_calls\":true,\"tool_choice\":\"auto\",\"tools\":[],"
                     "\"store\":false,\"usage\":");
    if (done)
        usage(x, out);
    else
        sy_buf_puts(out, "null");
    sy_buf_puts(out, "}");
}

static const char *final_status(const fp_exchange *x)
{
    return x->truncated && !x->tool_name ? "incomplete" : "completed";
}

static void rs_render_completion(const fp_exchange *x, const char *text, size_t len, sy_buf *out)
{
    fp_exchange whole = *x; /* the text given (the content built for this answer) */
    whole.text = text;
    whole.text_len = len;
    response(&whole, final_status(x), 1, out);
}

/* "event: TYPE\ndata: {"type":TYPE,"sequence_number":N," — the caller closes it. */
static void ev_open(const fp_exchange *x, const char *type, sy_buf *out)
{
    sy_buf_printf(out, "event: %s\ndata: {\"type\":\"%s\",\"sequence_number\":%lld,", type, type,
                  (long long)(x->seq ? (*x->seq)++ : 0));
}

static void ev_item(const fp_exchange *x, const char *type, const char *prefix, sy_buf *out)
{
    ev_open(x, type, out);
    sy_buf_puts(out, "\"item_id\":");
    put_id(out, prefix, x);
    sy_buf_puts(out, ",\"output_index\":0");
}

static void item_event(const fp_exchange *x, const char *type, int done, sy_buf *out)
{
    ev_open(x, type, out);
    sy_buf_puts(out, "\"output_index\":0,\"item\":");
    item(x, done ? "completed" : "in_progress", done, out);
    sy_buf_puts(out, "}\n\n");
}

static void text_part_event(const fp_exchange *x, const char *type, int done, sy_buf *out)
{
    ev_item(x, type, "msg_", out);
    sy_buf_puts(out, ",\"content_index\":0,\"part\":{\"type\":\"output_text\",\"text\":");
    sy_buf_json_string(out, done && x->text ? x->text : "", done ? x->text_len : 0);
    sy_buf_puts(out, ",\"annotations\":[],\"logprobs\":[]}}\n\n");
}

static void rs_render_stream_open(const fp_exchange *x, sy_buf *out)
{
    ev_open(x, "response.created", out);
    sy_buf_puts(out, "\"response\":");
    response(x, "in_progress", 0, out);
    sy_buf_puts(out, "}\n\n");
    ev_open(x, "response.in_progress", out);
    sy_buf_puts(out, "\"response\":");
    response(x, "in_progress", 0, out);
    sy_buf_puts(out, "}\n\n");
    if (x->tool_name)
        return; /* the call's item comes with its arguments */
    item_event(x, "response.output_item.added", 0, out);
    text_part_event(x, "response.content_part.added", 0, out);
}

static void rs_render_stream_delta(const fp_exchange *x, const char *text, size_t len, sy_buf *out)
{
    ev_item(x, "response.output_text.delta", "msg_", out);
    sy_buf_puts(out, ",\"content_index\":0,\"delta\":");
    sy_buf_json_string(out, text, len);
    sy_buf_puts(out, ",\"logprobs\":[]}\n\n");
}

#define ARGUMENT_PIECES 3

/* The call's item, its arguments in up to ARGUMENT_PIECES deltas (never inside a UTF-8
 * character), and its done events. */
static void rs_render_stream_tool_call(const fp_exchange *x, sy_buf *out)
{
    item_event(x, "response.output_item.added", 0, out);
    const char *args = fp_tool_args(x);
    size_t len = strlen(args), start = 0;
    for (size_t k = 1; k <= ARGUMENT_PIECES && start < len; k++) {
        size_t end = len * k / ARGUMENT_PIECES;
        while (end < len && ((unsigned char)args[end] & 0xC0) == 0x80)
            end++;
        if (end <= start)
            continue;
        ev_item(x, "response.function_call_arguments.delta", "fc_", out);
        sy_buf_puts(out, ",\"delta\":");
        sy_buf_json_string(out, args + start, end - start);
        sy_buf_puts(out, "}\n\n");
        start = end;
    }
    ev_item(x, "response.function_call_arguments.done", "fc_", out);
    sy_buf_puts(out, ",\"arguments\":");
    fp_put_string(out, args);
    sy_buf_puts(out, "}\n\n");
    item_event(x, "response.output_item.done", 1, out);
}

static void rs_render_stream_close(const fp_exchange *x, sy_buf *out)
{
    if (!x->tool_name) {
        ev_item(x, "response.output_text.done", "msg_", out);
        sy_buf_puts(out, ",\"content_index\":0,\"text\":");
        sy_buf_json_string(out, x->text ? x->text : "", x->text_len);
        sy_buf_puts(out, ",\"logprobs\":[]}\n\n");
        text_part_event(x, "response.content_part.done", 1, out);
        item_event(x, "response.output_item.done", 1, out);
    }
    const char *status = final_status(x);
    ev_open(x, strcmp(status, "completed") == 0 ? "response.completed" : "response.incomplete",
            out);
    sy_buf_puts(out, "\"response\":");
    response(x, status, 1, out);
    sy_buf_puts(out, "}\n\n");
}

static void rs_render_stream_error(const fp_exchange *x, sy_buf *out)
{
    ev_open(x, "error", out);
    sy_buf_puts(out, "\"code\":\"server_error\",\"message\":\"The server had an error while "
                     "processing your request.\",\"param\":null}\n\n");
}

/* Truncated JSON: the event's object is opened and never closed. */
static void rs_render_malformed(const fp_exchange *x, int stream, sy_buf *out)
{
    if (stream) {
        ev_item(x, "response.output_text.delta", "msg_", out);
        sy_buf_puts(out, ",\"delta\":\n\n");
    } else {
        sy_buf_puts(out, "{\"id\":");
        put_id(out, "resp_", x);
        sy_buf_puts(out,
                    ",\"object\":\"response\",\"output\":[{\"type\":\"message\",\"content\":[");
    }
}

/* OpenAI's error bodies: the chat dialect's table. */
static int rs_render_error(fp_error_code code, const char *message, sy_buf *out)
{
    return fp_dialect_openai.render_error(code, message, out);
}

const fp_dialect fp_dialect_responses = {
    .name = "responses",
    .auth_header = "Authorization",
    .auth_scheme = "Bearer ",
    .stream_content_type = "text/event-stream; charset=utf-8",
    .route = rs_route,
    .parse_chat = rs_parse_chat,
    .render_completion = rs_render_completion,
    .render_stream_open = rs_render_stream_open,
    .render_stream_delta = rs_render_stream_delta,
    .render_stream_close = rs_render_stream_close,
    .render_stream_tool_call = rs_render_stream_tool_call,
    .render_stream_error = rs_render_stream_error,
    .render_malformed = rs_render_malformed,
    .render_error = rs_render_error,
};
