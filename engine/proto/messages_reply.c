/*
 * messages_reply.c: what goes back to a Messages API client (messages_ingress.h): a
 * chat.completion as a Message, usage in Anthropic's convention, stop reasons, and
 * errors in Anthropic's shape with the one status ↔ type table the upstream dialect
 * shares.
 */
#include "messages_ingress.h"

#include <stdio.h>
#include <string.h>

/* Anthropic's documented error types and their statuses. */
static const struct {
    int status;
    const char *type;
} error_types[] = {
    {400, "invalid_request_error"}, {401, "authentication_error"},
    {402, "billing_error"},         {403, "permission_error"},
    {404, "not_found_error"},       {413, "request_too_large"},
    {429, "rate_limit_error"},      {500, "api_error"},
    {504, "timeout_error"},         {529, "overloaded_error"},
};

const char *sy_anthropic_error_type(int status)
{
    for (size_t i = 0; i < SY_ARRAY_LEN(error_types); i++)
        if (error_types[i].status == status)
            return error_types[i].type;
    if (status == 503)
        return "overloaded_error"; /* the gateway's overloaded upstream, or itself busy */
    return status >= 400 && status < 500 ? "invalid_request_error" : "api_error";
}

long sy_anthropic_error_status(const char *type)
{
    for (size_t i = 0; i < SY_ARRAY_LEN(error_types); i++)
        if (strcmp(type, error_types[i].type) == 0)
            return error_types[i].status;
    return 500;
}

void sy_messages_error_body(sy_buf *out, int status, const char *type, const char *code,
                            const char *param, const char *message)
{
    (void)type, (void)code;
    const char *t = sy_anthropic_error_type(status);
    sy_buf_printf(out, "{\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":", t);
    if (param && param[0]) { /* Anthropic's shape has no param: "param: message" */
        sy_buf text = {0};
        sy_buf_printf(&text, "%s: %s", param, message);
        sy_buf_json_string(out, text.data, text.len);
        sy_buf_free(&text);
    } else {
        sy_buf_json_string(out, message, strlen(message));
    }
    sy_buf_puts(out, "}}");
}

const char *sy_messages_stream_error_type(const char *code)
{
    if (!code)
        return "api_error";
    if (strstr(code, "overloaded") || strstr(code, "unavailable"))
        return "overloaded_error";
    if (strstr(code, "rate_limit") || strstr(code, "quota") || strstr(code, "budget") ||
        strstr(code, "limit_exceeded"))
        return "rate_limit_error";
    if (strstr(code, "timeout"))
        return "timeout_error";
    return "api_error";
}

const char *sy_messages_stop_reason(const char *finish, int called)
{
    if (!finish)
        return called ? "tool_use" : "end_turn";
    if (strcmp(finish, "length") == 0)
        return "max_tokens";
    if (strcmp(finish, "tool_calls") == 0 || strcmp(finish, "function_call") == 0)
        return "tool_use";
    if (strcmp(finish, "content_filter") == 0)
        return "refusal";
    return called ? "tool_use" : "end_turn"; /* stop, and reasons added later */
}

/* A token count member: its value when it is a number in [0, 1e15), else 0. */
static int64_t count(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e15
               ? (int64_t)v->valuedouble
               : 0;
}

cJSON *sy_messages_usage(const cJSON *u)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens_details");
    int64_t prompt = count(u, "prompt_tokens"), read = count(d, "cached_tokens");
    int64_t written = count(d, "cache_write_tokens");
    int64_t input = prompt - read - written;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "input_tokens", (double)(input > 0 ? input : 0));
    cJSON_AddNumberToObject(o, "cache_creation_input_tokens", (double)written);
    cJSON_AddNumberToObject(o, "cache_read_input_tokens", (double)read);
    cJSON_AddNumberToObject(o, "output_tokens", (double)count(u, "completion_tokens"));
    return o;
}

/* A tool call's arguments text as the tool_use input: the object it holds, else {} (the
 * input must be an object; the model's malformed arguments cannot be one). */
static cJSON *call_input(const cJSON *args)
{
    cJSON *in = cJSON_IsString(args) ? cJSON_Parse(args->valuestring) : NULL;
    if (cJSON_IsObject(in))
        return in;
    cJSON_Delete(in);
    return cJSON_CreateObject();
}

/* The message's text: a string, or the text of its text parts; NULL when it has none. */
static void message_text(const cJSON *content, sy_buf *text)
{
    if (cJSON_IsString(content)) {
        sy_buf_puts(text, content->valuestring);
        return;
    }
    const cJSON *p;
    cJSON_ArrayForEach(p, (cJSON_IsArray(content) ? content : NULL))
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "text");
        if (cJSON_IsString(t))
            sy_buf_puts(text, t->valuestring);
    }
}

/*
 * The Message: a text block for the content (or the refusal), then one tool_use block
 * per tool call, ids kept (a call without one gets "toolu_" + the request id + its
 * position, unique in the gateway).
 */
int sy_messages_answer(const char *body, size_t len, const char *id, const char *model, sy_buf *out)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "choices"), 0);
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(choice, "message");
    if (!cJSON_IsObject(root) || !cJSON_IsObject(msg)) {
        cJSON_Delete(root);
        return SY_ERR_INVALID;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "type", "message");
    cJSON_AddStringToObject(o, "role", "assistant");
    cJSON_AddStringToObject(o, "model", model);
    cJSON *content = cJSON_AddArrayToObject(o, "content");
    sy_buf text = {0};
    message_text(cJSON_GetObjectItemCaseSensitive(msg, "content"), &text);
    if (!text.len)
        message_text(cJSON_GetObjectItemCaseSensitive(msg, "refusal"), &text);
    if (text.len) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "type", "text");
        cJSON_AddStringToObject(b, "text", text.data);
        cJSON_AddItemToArray(content, b);
    }
    sy_buf_free(&text);
    int n = 0;
    const cJSON *call;
    cJSON_ArrayForEach(call, cJSON_GetObjectItemCaseSensitive(msg, "tool_calls"))
    {
        const cJSON *cid = cJSON_GetObjectItemCaseSensitive(call, "id");
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(call, "function");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
        char fresh[96];
        snprintf(fresh, sizeof(fresh), "toolu_%.60s_%d", id, n);
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "type", "tool_use");
        cJSON_AddStringToObject(
            b, "id", cJSON_IsString(cid) && cid->valuestring[0] ? cid->valuestring : fresh);
        cJSON_AddStringToObject(b, "name", cJSON_IsString(name) ? name->valuestring : "");
        cJSON_AddItemToObject(b, "input",
                              call_input(cJSON_GetObjectItemCaseSensitive(fn, "arguments")));
        cJSON_AddItemToArray(content, b);
        n++;
    }
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(choice, "finish_reason");
    cJSON_AddStringToObject(
        o, "stop_reason",
        sy_messages_stop_reason(cJSON_IsString(fr) ? fr->valuestring : NULL, n > 0));
    cJSON_AddNullToObject(o, "stop_sequence");
    cJSON_AddItemToObject(o, "usage",
                          sy_messages_usage(cJSON_GetObjectItemCaseSensitive(root, "usage")));
    char *s = cJSON_PrintUnformatted(o);
    sy_buf_puts(out, s ? s : "{}");
    cJSON_free(s);
    cJSON_Delete(o);
    cJSON_Delete(root);
    return SY_OK;
}
