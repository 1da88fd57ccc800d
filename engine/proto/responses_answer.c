/*
 * responses_answer: a chat.completion as a Response object (responses.h), and the parts
 * of a Response the stream translation shares (the shell, usage, one SSE event).
 *
 *   choices[0].message.content        -> a message item with one output_text part
 *   choices[0].message.refusal        -> a refusal part of that message
 *   choices[0].message.tool_calls     -> function_call items (call_id, name, arguments)
 *   finish_reason length              -> status incomplete, reason max_output_tokens
 *   finish_reason content_filter      -> status incomplete, reason content_filter
 *   usage                             -> input_tokens (+ cached), output_tokens
 *                                        (+ reasoning), total_tokens
 *
 * Item ids derive from the response id (the gateway's request id), so they are unique
 * per answer and stable within it.
 */
#include "responses.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t count(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e15
               ? (int64_t)v->valuedouble
               : 0;
}

cJSON *sy_responses_usage(const cJSON *u)
{
    if (!cJSON_IsObject(u))
        return NULL;
    int64_t in = count(u, "prompt_tokens"), out = count(u, "completion_tokens");
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "input_tokens", (double)in);
    cJSON_AddNumberToObject(
        cJSON_AddObjectToObject(r, "input_tokens_details"), "cached_tokens",
        (double)count(cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens_details"),
                      "cached_tokens"));
    cJSON_AddNumberToObject(r, "output_tokens", (double)out);
    cJSON_AddNumberToObject(
        cJSON_AddObjectToObject(r, "output_tokens_details"), "reasoning_tokens",
        (double)count(cJSON_GetObjectItemCaseSensitive(u, "completion_tokens_details"),
                      "reasoning_tokens"));
    cJSON_AddNumberToObject(r, "total_tokens", (double)(in + out));
    return r;
}

cJSON *sy_responses_shell(const sy_responses_meta *m, const char *status)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "id", m->id ? m->id : "");
    cJSON_AddStringToObject(r, "object", "response");
    cJSON_AddNumberToObject(r, "created_at", (double)m->created);
    cJSON_AddStringToObject(r, "status", status);
    cJSON_AddFalseToObject(r, "background");
    cJSON_AddNullToObject(r, "error");
    cJSON_AddNullToObject(r, "incomplete_details");
    cJSON_AddNullToObject(r, "instructions");
    cJSON_AddNullToObject(r, "max_output_tokens");
    cJSON_AddStringToObject(r, "model", m->model ? m->model : "");
    cJSON_AddArrayToObject(r, "output");
    cJSON_AddTrueToObject(r, "parallel_tool_calls");
    cJSON_AddNullToObject(r, "previous_response_id");
    cJSON_AddFalseToObject(r, "store");
    cJSON_AddNullToObject(r, "temperature");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(r, "text"), "format"),
                            "type", "text");
    cJSON_AddStringToObject(r, "tool_choice", "auto");
    cJSON_AddArrayToObject(r, "tools");
    cJSON_AddNullToObject(r, "top_p");
    cJSON_AddStringToObject(r, "truncation", "disabled");
    cJSON_AddNullToObject(r, "usage");
    cJSON_AddObjectToObject(r, "metadata");
    return r;
}

void sy_responses_event(cJSON *ev, int64_t seq, sy_buf *out)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
    cJSON_DeleteItemFromObjectCaseSensitive(ev, "sequence_number");
    cJSON_AddNumberToObject(ev, "sequence_number", (double)seq);
    char *s = cJSON_PrintUnformatted(ev);
    sy_buf_puts(out, "event: ");
    sy_buf_puts(out, cJSON_IsString(type) ? type->valuestring : "message");
    sy_buf_puts(out, "\ndata: ");
    sy_buf_puts(out, s ? s : "{}");
    sy_buf_puts(out, "\n\n");
    free(s);
}

/* Status and incomplete_details of a Response from the chat finish reason. */
static void set_status(cJSON *r, const char *finish)
{
    const char *reason = !finish                                 ? NULL
                         : strcmp(finish, "length") == 0         ? "max_output_tokens"
                         : strcmp(finish, "content_filter") == 0 ? "content_filter"
                                                                 : NULL;
    cJSON_ReplaceItemInObjectCaseSensitive(r, "status",
                                           cJSON_CreateString(reason ? "incomplete" : "completed"));
    if (reason) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "reason", reason);
        cJSON_ReplaceItemInObjectCaseSensitive(r, "incomplete_details", d);
    }
}

/* The message item of an answer: output_text and refusal parts. */
static cJSON *message_item(const char *id, const char *text, const char *refusal)
{
    char item_id[96];
    snprintf(item_id, sizeof(item_id), "msg_%s", id);
    cJSON *it = cJSON_CreateObject();
    cJSON_AddStringToObject(it, "id", item_id);
    cJSON_AddStringToObject(it, "type", "message");
    cJSON_AddStringToObject(it, "status", "completed");
    cJSON_AddStringToObject(it, "role", "assistant");
    cJSON *content = cJSON_AddArrayToObject(it, "content");
    if (text) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "type", "output_text");
        cJSON_AddStringToObject(p, "text", text);
        cJSON_AddArrayToObject(p, "annotations");
        cJSON_AddArrayToObject(p, "logprobs");
        cJSON_AddItemToArray(content, p);
    }
    if (refusal) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "type", "refusal");
        cJSON_AddStringToObject(p, "refusal", refusal);
        cJSON_AddItemToArray(content, p);
    }
    return it;
}

/* One chat tool call as a function_call item (the n-th of the answer). */
static cJSON *call_item(const char *id, int n, const cJSON *tc)
{
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
    const cJSON *cid = cJSON_GetObjectItemCaseSensitive(tc, "id");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
    char item_id[96], call_id[96];
    snprintf(item_id, sizeof(item_id), "fc_%s_%d", id, n);
    snprintf(call_id, sizeof(call_id), "call_%s_%d", id, n);
    cJSON *it = cJSON_CreateObject();
    cJSON_AddStringToObject(it, "id", item_id);
    cJSON_AddStringToObject(it, "type", "function_call");
    cJSON_AddStringToObject(it, "status", "completed");
    cJSON_AddStringToObject(
        it, "call_id", cJSON_IsString(cid) && cid->valuestring[0] ? cid->valuestring : call_id);
    cJSON_AddStringToObject(it, "name", cJSON_IsString(name) ? name->valuestring : "");
    cJSON_AddStringToObject(it, "arguments", cJSON_IsString(args) ? args->valuestring : "{}");
    return it;
}

int sy_responses_from_chat(const char *body, size_t len, const sy_responses_meta *m, sy_buf *out)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(choices)) {
        cJSON_Delete(root);
        return -1;
    }
    const cJSON *c0 = cJSON_GetArrayItem(choices, 0);
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(c0, "message");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
    const cJSON *refusal = cJSON_GetObjectItemCaseSensitive(msg, "refusal");
    const cJSON *calls = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls");
    const cJSON *finish = cJSON_GetObjectItemCaseSensitive(c0, "finish_reason");
    cJSON *r = sy_responses_shell(m, "completed");
    set_status(r, cJSON_IsString(finish) ? finish->valuestring : NULL);
    cJSON *output = cJSON_GetObjectItemCaseSensitive(r, "output");
    const char *text = cJSON_IsString(content) ? content->valuestring : NULL;
    const char *ref = cJSON_IsString(refusal) ? refusal->valuestring : NULL;
    int n_calls = cJSON_IsArray(calls) ? cJSON_GetArraySize(calls) : 0;
    /* a message item unless the answer is only tool calls */
    if ((text && (text[0] || !n_calls)) || ref || !n_calls)
        cJSON_AddItemToArray(output, message_item(m->id ? m->id : "",
                                                  text || !ref ? (text ? text : "") : NULL, ref));
    for (int i = 0; i < n_calls; i++)
        cJSON_AddItemToArray(output,
                             call_item(m->id ? m->id : "", i, cJSON_GetArrayItem(calls, i)));
    cJSON *usage = sy_responses_usage(cJSON_GetObjectItemCaseSensitive(root, "usage"));
    if (usage)
        cJSON_ReplaceItemInObjectCaseSensitive(r, "usage", usage);
    char *s = cJSON_PrintUnformatted(r);
    sy_buf_puts(out, s ? s : "");
    free(s);
    cJSON_Delete(r);
    cJSON_Delete(root);
    return 0;
}
