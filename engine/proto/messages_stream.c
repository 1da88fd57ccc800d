/*
 * messages_stream.c: OpenAI chat.completion.chunk payloads as Anthropic's stream events
 * (messages_ingress.h):
 *
 *   message_start (usage input 0: chat streams report usage at their end)
 *   content_block_start / content_block_delta (text_delta | input_json_delta) /
 *   content_block_stop, a new block index per text run and per tool call
 *   message_delta (stop_reason, usage with input, cache and output tokens), message_stop
 *
 * or, when the stream is cut, an `event: error` after what was sent. Content switching
 * between text and a tool call closes the open block; a tool call's later argument
 * pieces go to its own block index even if another block opened meanwhile (the chat
 * form allows interleaving, Anthropic's SDKs accumulate by index).
 */
#include "messages_ingress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOOLS 1024 /* tool calls tracked per message; later ones are dropped */

enum { OPEN_NONE, OPEN_TEXT, OPEN_TOOL };

struct sy_messages_stream {
    char *id, *model;
    int started; /* message_start written */
    int done;    /* message_stop or an error written: nothing more */
    int open;    /* OPEN_*: the kind of the open block, index open_index */
    int open_index;
    int next_index;  /* the next content block's index */
    int *tool_block; /* by chat tool call index: its block index + 1 (0: none yet) */
    size_t n_tools;
    int called;      /* a tool call was seen */
    char finish[32]; /* the chat finish_reason ("" until known) */
    cJSON *usage;    /* the chat usage object, once seen */
};

sy_messages_stream *sy_messages_stream_new(const char *id, const char *model)
{
    sy_messages_stream *s = sy_xcalloc(1, sizeof(*s));
    s->id = sy_xstrdup(id ? id : "");
    s->model = sy_xstrdup(model ? model : "");
    return s;
}

void sy_messages_stream_free(sy_messages_stream *s)
{
    if (!s)
        return;
    free(s->id);
    free(s->model);
    free(s->tool_block);
    cJSON_Delete(s->usage);
    free(s);
}

/* One event: "event: TYPE" and its data (o, deleted here). */
static void emit(sy_buf *out, const char *type, cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    sy_buf_printf(out, "event: %s\ndata: %s\n\n", type, s ? s : "{}");
    cJSON_free(s);
    cJSON_Delete(o);
}

static cJSON *event(const char *type)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    return o;
}

static void start(sy_messages_stream *s, sy_buf *out)
{
    if (s->started)
        return;
    s->started = 1;
    cJSON *e = event("message_start");
    cJSON *m = cJSON_AddObjectToObject(e, "message");
    cJSON_AddStringToObject(m, "id", s->id);
    cJSON_AddStringToObject(m, "type", "message");
    cJSON_AddStringToObject(m, "role", "assistant");
    cJSON_AddStringToObject(m, "model", s->model);
    cJSON_AddArrayToObject(m, "content");
    cJSON_AddNullToObject(m, "stop_reason");
    cJSON_AddNullToObject(m, "stop_sequence");
    cJSON_AddItemToObject(m, "usage", sy_messages_usage(NULL));
    emit(out, "message_start", e);
}

static void close_block(sy_messages_stream *s, sy_buf *out)
{
    if (s->open == OPEN_NONE)
        return;
    cJSON *e = event("content_block_stop");
    cJSON_AddNumberToObject(e, "index", s->open_index);
    emit(out, "content_block_stop", e);
    s->open = OPEN_NONE;
}

/* Open a block of kind at the next index; block is its content_block (taken). */
static int open_block(sy_messages_stream *s, int kind, cJSON *block, sy_buf *out)
{
    close_block(s, out);
    cJSON *e = event("content_block_start");
    cJSON_AddNumberToObject(e, "index", s->next_index);
    cJSON_AddItemToObject(e, "content_block", block);
    emit(out, "content_block_start", e);
    s->open = kind;
    s->open_index = s->next_index++;
    return s->open_index;
}

static void delta(sy_buf *out, int index, const char *type, const char *key, const char *value)
{
    cJSON *e = event("content_block_delta");
    cJSON_AddNumberToObject(e, "index", index);
    cJSON *d = cJSON_AddObjectToObject(e, "delta");
    cJSON_AddStringToObject(d, "type", type);
    cJSON_AddStringToObject(d, key, value);
    emit(out, "content_block_delta", e);
}

static void text(sy_messages_stream *s, const char *t, sy_buf *out)
{
    if (!t[0])
        return;
    if (s->open != OPEN_TEXT) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "type", "text");
        cJSON_AddStringToObject(b, "text", "");
        open_block(s, OPEN_TEXT, b, out);
    }
    delta(out, s->open_index, "text_delta", "text", t);
}

/* One tool call delta: its first piece opens a tool_use block (id, name, input {}), the
 * arguments text goes out as input_json_delta. */
static void tool_piece(sy_messages_stream *s, const cJSON *call, int position, sy_buf *out)
{
    const cJSON *idx = cJSON_GetObjectItemCaseSensitive(call, "index");
    double k = cJSON_IsNumber(idx) ? idx->valuedouble : position;
    if (!(k >= 0 && k < MAX_TOOLS))
        return;
    size_t i = (size_t)k;
    if (i >= s->n_tools) {
        size_t n = i + 1 > 2 * s->n_tools ? i + 1 : 2 * s->n_tools;
        s->tool_block = sy_xrealloc(s->tool_block, n * sizeof(int));
        memset(s->tool_block + s->n_tools, 0, (n - s->n_tools) * sizeof(int));
        s->n_tools = n;
    }
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(call, "function");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
    if (!s->tool_block[i]) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(call, "id");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "type", "tool_use");
        if (cJSON_IsString(id) && id->valuestring[0]) {
            cJSON_AddStringToObject(b, "id", id->valuestring);
        } else {
            sy_buf fresh = {0};
            sy_buf_printf(&fresh, "toolu_%.60s_%zu", s->id, i);
            cJSON_AddStringToObject(b, "id", fresh.data);
            sy_buf_free(&fresh);
        }
        cJSON_AddStringToObject(b, "name", cJSON_IsString(name) ? name->valuestring : "");
        cJSON_AddObjectToObject(b, "input");
        s->tool_block[i] = open_block(s, OPEN_TOOL, b, out) + 1;
        s->called = 1;
    }
    if (cJSON_IsString(args) && args->valuestring[0])
        delta(out, s->tool_block[i] - 1, "input_json_delta", "partial_json", args->valuestring);
}

/* The error event for a chat {"error":{...}} payload or a cut stream. */
static void error_event(sy_messages_stream *s, const char *code, const char *message, sy_buf *out)
{
    cJSON *e = event("error");
    cJSON *err = cJSON_AddObjectToObject(e, "error");
    cJSON_AddStringToObject(err, "type", sy_messages_stream_error_type(code));
    cJSON_AddStringToObject(err, "message", message && message[0] ? message : "stream failed");
    emit(out, "error", e);
    s->done = 1;
}

static void choice(sy_messages_stream *s, const cJSON *c, sy_buf *out)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(c, "delta");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(d, "content");
    const cJSON *refusal = cJSON_GetObjectItemCaseSensitive(d, "refusal");
    if (cJSON_IsString(content))
        text(s, content->valuestring, out);
    if (cJSON_IsString(refusal))
        text(s, refusal->valuestring, out);
    int position = 0;
    const cJSON *call;
    cJSON_ArrayForEach(call, cJSON_GetObjectItemCaseSensitive(d, "tool_calls"))
        tool_piece(s, call, position++, out);
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(c, "finish_reason");
    if (cJSON_IsString(fr) && fr->valuestring[0]) {
        snprintf(s->finish, sizeof(s->finish), "%s", fr->valuestring);
        close_block(s, out);
    }
}

void sy_messages_stream_chunk(sy_messages_stream *s, const char *data, size_t len, sy_buf *out)
{
    if (s->done || (len == 6 && memcmp(data, "[DONE]", 6) == 0))
        return;
    cJSON *root = cJSON_ParseWithLength(data, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root); /* the adapter reports undecodable upstream events itself */
        return;
    }
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (cJSON_IsObject(err)) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "message");
        error_event(s, cJSON_IsString(code) ? code->valuestring : NULL,
                    cJSON_IsString(msg) ? msg->valuestring : NULL, out);
        cJSON_Delete(root);
        return;
    }
    start(s, out);
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
    if (cJSON_IsObject(usage)) {
        cJSON_Delete(s->usage);
        s->usage = cJSON_Duplicate(usage, 1);
    }
    const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "choices"), 0);
    if (cJSON_IsObject(c))
        choice(s, c, out);
    cJSON_Delete(root);
}

void sy_messages_stream_close(sy_messages_stream *s, const char *code, const char *message,
                              sy_buf *out)
{
    if (s->done)
        return;
    if (code) {
        error_event(s, code, message, out);
        return;
    }
    start(s, out);
    close_block(s, out);
    cJSON *e = event("message_delta");
    cJSON *d = cJSON_AddObjectToObject(e, "delta");
    cJSON_AddStringToObject(d, "stop_reason",
                            sy_messages_stop_reason(s->finish[0] ? s->finish : NULL, s->called));
    cJSON_AddNullToObject(d, "stop_sequence");
    cJSON_AddItemToObject(e, "usage", sy_messages_usage(s->usage));
    emit(out, "message_delta", e);
    emit(out, "message_stop", event("message_stop"));
    s->done = 1;
}
