/*
 * responses_stream: chat.completion.chunk data as the Responses API's stream events
 * (responses.h). The sequence a client sees:
 *
 *   response.created, response.in_progress           (with the first chunk)
 *   text:  response.output_item.added (message), response.content_part.added,
 *          response.output_text.delta ..., then at its end response.output_text.done,
 *          response.content_part.done, response.output_item.done
 *   calls: response.output_item.added (function_call),
 *          response.function_call_arguments.delta ..., then
 *          response.function_call_arguments.done, response.output_item.done
 *   response.completed (or response.incomplete) with every item and the usage
 *
 * A message item ends when a tool call starts; every item still open ends at the close.
 * Errors: an {"error":...} chunk (an adapter's in-band error) or a cut stream become an
 * "error" event and response.failed, and nothing follows. Every event carries a
 * sequence_number counting from 0.
 */
#include "responses.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 256 /* tool calls beyond this are dropped (a hostile upstream) */

typedef struct item {
    int chat_index; /* the chat tool call's index; -1 for the message */
    char id[96];
    char call_id[96];
    char *name;
    sy_buf text; /* the message's text or the call's arguments so far */
    int open;
} item;

struct sy_responses_stream {
    char *id, *model;
    int64_t created;
    int64_t seq;
    int started, ended;
    item *items; /* by output_index */
    size_t n, cap;
    int text_open; /* items[n-1] is the open message */
    char finish[32];
    cJSON *usage; /* the chat usage object, when it came */
};

sy_responses_stream *sy_responses_stream_new(const sy_responses_meta *m)
{
    sy_responses_stream *s = sy_xcalloc(1, sizeof(*s));
    s->id = sy_xstrdup(m->id ? m->id : "");
    s->model = sy_xstrdup(m->model ? m->model : "");
    s->created = m->created;
    return s;
}

void sy_responses_stream_free(sy_responses_stream *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->items[i].name);
        sy_buf_free(&s->items[i].text);
    }
    free(s->items);
    cJSON_Delete(s->usage);
    free(s->id);
    free(s->model);
    free(s);
}

static void emit(sy_responses_stream *s, cJSON *ev, sy_buf *out)
{
    sy_responses_event(ev, s->seq++, out);
    cJSON_Delete(ev);
}

static cJSON *event(const char *type)
{
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "type", type);
    return ev;
}

static cJSON *shell(const sy_responses_stream *s, const char *status)
{
    sy_responses_meta m = {.id = s->id, .model = s->model, .created = s->created};
    return sy_responses_shell(&m, status);
}

/* An item as JSON: in progress (no text yet) or completed (with everything so far). */
static cJSON *item_json(const item *it, int done)
{
    const char *text = it->text.data ? it->text.data : "";
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "id", it->id);
    cJSON_AddStringToObject(j, "type", it->chat_index < 0 ? "message" : "function_call");
    cJSON_AddStringToObject(j, "status", done ? "completed" : "in_progress");
    if (it->chat_index < 0) {
        cJSON_AddStringToObject(j, "role", "assistant");
        cJSON *content = cJSON_AddArrayToObject(j, "content");
        if (done) {
            cJSON *p = cJSON_CreateObject();
            cJSON_AddStringToObject(p, "type", "output_text");
            cJSON_AddStringToObject(p, "text", text);
            cJSON_AddArrayToObject(p, "annotations");
            cJSON_AddArrayToObject(p, "logprobs");
            cJSON_AddItemToArray(content, p);
        }
    } else {
        cJSON_AddStringToObject(j, "call_id", it->call_id);
        cJSON_AddStringToObject(j, "name", it->name ? it->name : "");
        cJSON_AddStringToObject(j, "arguments", done ? text : "");
    }
    return j;
}

/* The item event members: item_id, output_index (and content_index for text). */
static cJSON *item_event(const char *type, size_t idx, const item *it)
{
    cJSON *ev = event(type);
    cJSON_AddStringToObject(ev, "item_id", it->id);
    cJSON_AddNumberToObject(ev, "output_index", (double)idx);
    if (it->chat_index < 0)
        cJSON_AddNumberToObject(ev, "content_index", 0);
    return ev;
}

static cJSON *text_part(const char *text)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "type", "output_text");
    cJSON_AddStringToObject(p, "text", text);
    cJSON_AddArrayToObject(p, "annotations");
    cJSON_AddArrayToObject(p, "logprobs");
    return p;
}

static void start(sy_responses_stream *s, sy_buf *out)
{
    if (s->started)
        return;
    s->started = 1;
    cJSON *ev = event("response.created");
    cJSON_AddItemToObject(ev, "response", shell(s, "in_progress"));
    emit(s, ev, out);
    ev = event("response.in_progress");
    cJSON_AddItemToObject(ev, "response", shell(s, "in_progress"));
    emit(s, ev, out);
}

/* A new item (output_item.added, and content_part.added for the message); NULL when
 * there are too many. */
static item *add_item(sy_responses_stream *s, int chat_index, const char *call_id, const char *name,
                      sy_buf *out)
{
    if (s->n >= MAX_ITEMS)
        return NULL;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4;
        s->items = sy_xrealloc(s->items, s->cap * sizeof(*s->items));
    }
    size_t idx = s->n++;
    item *it = &s->items[idx];
    memset(it, 0, sizeof(*it));
    it->chat_index = chat_index;
    it->open = 1;
    if (chat_index < 0) {
        snprintf(it->id, sizeof(it->id), "msg_%s_%zu", s->id, idx);
    } else {
        snprintf(it->id, sizeof(it->id), "fc_%s_%zu", s->id, idx);
        if (call_id && call_id[0])
            snprintf(it->call_id, sizeof(it->call_id), "%s", call_id);
        else
            snprintf(it->call_id, sizeof(it->call_id), "call_%s_%zu", s->id, idx);
        it->name = sy_xstrdup(name ? name : "");
    }
    cJSON *ev = event("response.output_item.added");
    cJSON_AddNumberToObject(ev, "output_index", (double)idx);
    cJSON_AddItemToObject(ev, "item", item_json(it, 0));
    emit(s, ev, out);
    if (chat_index < 0) {
        ev = item_event("response.content_part.added", idx, it);
        cJSON_AddItemToObject(ev, "part", text_part(""));
        emit(s, ev, out);
    }
    return it;
}

/* The done events of an open item. */
static void end_item(sy_responses_stream *s, size_t idx, sy_buf *out)
{
    item *it = &s->items[idx];
    if (!it->open)
        return;
    it->open = 0;
    const char *text = it->text.data ? it->text.data : "";
    cJSON *ev;
    if (it->chat_index < 0) {
        ev = item_event("response.output_text.done", idx, it);
        cJSON_AddStringToObject(ev, "text", text);
        cJSON_AddArrayToObject(ev, "logprobs");
        emit(s, ev, out);
        ev = item_event("response.content_part.done", idx, it);
        cJSON_AddItemToObject(ev, "part", text_part(text));
        emit(s, ev, out);
        s->text_open = 0;
    } else {
        ev = item_event("response.function_call_arguments.done", idx, it);
        cJSON_AddStringToObject(ev, "arguments", text);
        emit(s, ev, out);
    }
    ev = event("response.output_item.done");
    cJSON_AddNumberToObject(ev, "output_index", (double)idx);
    cJSON_AddItemToObject(ev, "item", item_json(it, 1));
    emit(s, ev, out);
}

static void text_delta(sy_responses_stream *s, const char *text, sy_buf *out)
{
    if (!text[0])
        return;
    if (!s->text_open) {
        if (!add_item(s, -1, NULL, NULL, out))
            return;
        s->text_open = 1;
    }
    size_t idx = s->n - 1;
    item *it = &s->items[idx];
    sy_buf_puts(&it->text, text);
    cJSON *ev = item_event("response.output_text.delta", idx, it);
    cJSON_AddStringToObject(ev, "delta", text);
    cJSON_AddArrayToObject(ev, "logprobs");
    emit(s, ev, out);
}

/* One entry of a chunk's delta.tool_calls. */
static void call_delta(sy_responses_stream *s, const cJSON *tc, sy_buf *out)
{
    const cJSON *index = cJSON_GetObjectItemCaseSensitive(tc, "index");
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
    int k = cJSON_IsNumber(index) && index->valuedouble >= 0 && index->valuedouble < 1e6
                ? (int)index->valuedouble
                : 0;
    size_t idx = s->n;
    for (size_t i = 0; i < s->n; i++)
        if (s->items[i].chat_index == k)
            idx = i;
    if (idx == s->n) { /* a new call: the message before it is over */
        if (s->text_open)
            end_item(s, s->n - 1, out);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(tc, "id");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
        if (!add_item(s, k, cJSON_IsString(id) ? id->valuestring : NULL,
                      cJSON_IsString(name) ? name->valuestring : NULL, out))
            return;
    }
    item *it = &s->items[idx];
    if (!cJSON_IsString(args) || !args->valuestring[0] || !it->open)
        return;
    sy_buf_puts(&it->text, args->valuestring);
    cJSON *ev = item_event("response.function_call_arguments.delta", idx, it);
    cJSON_AddStringToObject(ev, "delta", args->valuestring);
    emit(s, ev, out);
}

/* The error event and response.failed; the stream is over. */
static void fail(sy_responses_stream *s, const char *code, const char *message, sy_buf *out)
{
    s->ended = 1;
    cJSON *ev = event("error");
    cJSON_AddStringToObject(ev, "code", code ? code : "upstream_error");
    cJSON_AddStringToObject(ev, "message", message ? message : "");
    cJSON_AddNullToObject(ev, "param");
    emit(s, ev, out);
    if (!s->started)
        return;
    cJSON *r = shell(s, "failed");
    cJSON *err = cJSON_CreateObject();
    cJSON_AddStringToObject(err, "code", "server_error");
    cJSON_AddStringToObject(err, "message", message ? message : "");
    cJSON_ReplaceItemInObjectCaseSensitive(r, "error", err);
    ev = event("response.failed");
    cJSON_AddItemToObject(ev, "response", r);
    emit(s, ev, out);
}

void sy_responses_stream_chunk(sy_responses_stream *s, const char *data, size_t len, sy_buf *out)
{
    if (s->ended || (len == 6 && memcmp(data, "[DONE]", 6) == 0))
        return;
    cJSON *root = cJSON_ParseWithLength(data, len);
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (!cJSON_IsObject(root) || err) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "message");
        fail(s, cJSON_IsString(code) ? code->valuestring : "upstream_malformed_event",
             cJSON_IsString(msg) ? msg->valuestring : "the provider sent an undecodable event",
             out);
        cJSON_Delete(root);
        return;
    }
    start(s, out);
    const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "choices"), 0);
    const cJSON *delta = cJSON_GetObjectItemCaseSensitive(c0, "delta");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(delta, "content");
    const cJSON *refusal = cJSON_GetObjectItemCaseSensitive(delta, "refusal");
    if (cJSON_IsString(content))
        text_delta(s, content->valuestring, out);
    if (cJSON_IsString(refusal))
        text_delta(s, refusal->valuestring, out);
    const cJSON *tc;
    cJSON_ArrayForEach(tc, cJSON_GetObjectItemCaseSensitive(delta, "tool_calls"))
    {
        if (cJSON_IsObject(tc))
            call_delta(s, tc, out);
    }
    const cJSON *finish = cJSON_GetObjectItemCaseSensitive(c0, "finish_reason");
    if (cJSON_IsString(finish))
        snprintf(s->finish, sizeof(s->finish), "%s", finish->valuestring);
    cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
    if (cJSON_IsObject(usage)) {
        cJSON_Delete(s->usage);
        s->usage = cJSON_DetachItemViaPointer(root, usage);
    }
    cJSON_Delete(root);
}

void sy_responses_stream_close(sy_responses_stream *s, const char *code, const char *message,
                               sy_buf *out)
{
    if (s->ended)
        return;
    if (code) {
        fail(s, code, message, out);
        return;
    }
    s->ended = 1;
    start(s, out);
    for (size_t i = 0; i < s->n; i++)
        end_item(s, i, out);
    int incomplete = strcmp(s->finish, "length") == 0 || strcmp(s->finish, "content_filter") == 0;
    cJSON *r = shell(s, incomplete ? "incomplete" : "completed");
    if (incomplete) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(
            d, "reason", strcmp(s->finish, "length") == 0 ? "max_output_tokens" : "content_filter");
        cJSON_ReplaceItemInObjectCaseSensitive(r, "incomplete_details", d);
    }
    cJSON *output = cJSON_GetObjectItemCaseSensitive(r, "output");
    for (size_t i = 0; i < s->n; i++)
        cJSON_AddItemToArray(output, item_json(&s->items[i], 1));
    cJSON *usage = sy_responses_usage(s->usage);
    if (usage)
        cJSON_ReplaceItemInObjectCaseSensitive(r, "usage", usage);
    cJSON *ev = event(incomplete ? "response.incomplete" : "response.completed");
    cJSON_AddItemToObject(ev, "response", r);
    emit(s, ev, out);
}
