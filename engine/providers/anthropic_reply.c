/*
 * anthropic_reply.c — the reply half of the Anthropic Messages dialect (anthropic.h):
 * a whole Message becomes an OpenAI chat.completion, the typed SSE events of a stream
 * become chat.completion.chunk events, Anthropic's errors become mapped errors.
 */
#include "anthropic.h"

#include "messages_ingress.h"

#include <stdlib.h>
#include <string.h>

/* ---- usage, finish reasons */

/* Read whichever of Anthropic's counters `u` carries into st (a stream's message_delta
 * repeats some of them cumulatively), then rebuild rs->usage in OpenAI's convention:
 * prompt = input + cache reads + cache writes. */
static void read_usage(const cJSON *u, an_state *st, sy_usage *out)
{
    static const struct {
        const char *name;
        size_t off;
    } counters[] = {
        {"input_tokens", offsetof(an_state, input)},
        {"cache_read_input_tokens", offsetof(an_state, cache_read)},
        {"cache_creation_input_tokens", offsetof(an_state, cache_write)},
        {"output_tokens", offsetof(an_state, output)},
    };
    if (!cJSON_IsObject(u))
        return;
    for (size_t i = 0; i < SY_ARRAY_LEN(counters); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(u, counters[i].name);
        if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9e15)
            *(int64_t *)((char *)st + counters[i].off) = (int64_t)v->valuedouble;
    }
    out->prompt_tokens = st->input + st->cache_read + st->cache_write;
    out->cached_tokens = st->cache_read;
    out->cache_write_tokens = st->cache_write;
    out->completion_tokens = st->output;
    out->reasoning_tokens = 0;
    out->have = 1;
}

/* Anthropic's stop_reason as OpenAI's finish_reason. A paused turn (server tools) or a
 * full context window is incomplete output: "length". JSON mode's forced call is the
 * answer, so it stops normally. */
static const char *map_finish(const char *reason, int json_mode)
{
    if (strcmp(reason, "max_tokens") == 0 || strcmp(reason, "pause_turn") == 0 ||
        strcmp(reason, "model_context_window_exceeded") == 0)
        return "length";
    if (strcmp(reason, "tool_use") == 0)
        return json_mode ? "stop" : "tool_calls";
    if (strcmp(reason, "refusal") == 0)
        return "content_filter";
    return "stop"; /* end_turn, stop_sequence, and reasons added later */
}

/* A tool_use block's id as the client's tool call id; a block without one gets a fresh
 * "call_" id, written to fresh. */
static const char *call_id(const cJSON *blk, char fresh[32])
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(blk, "id");
    if (cJSON_IsString(id) && id->valuestring[0])
        return id->valuestring;
    sy_new_call_id(fresh);
    return fresh;
}

/* ---- response translation */

/*
 * A complete Message → chat.completion: text blocks joined into content, tool_use
 * blocks as tool_calls (their input as the arguments text), the JSON-mode call as
 * content, thinking and server-tool blocks left out.
 */
int sy_anthropic_response(const char *body, size_t len, sy_relay_state *rs, sy_buf *out)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(root, "content");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(content) || (type && !sy_is(type, "message"))) {
        cJSON_Delete(root);
        return SY_ERR_INVALID;
    }
    an_state *st = an_state_for(rs, NULL);
    sy_buf text = {0}, json = {0};
    int had_text = 0, had_json = 0;
    cJSON *calls = cJSON_CreateArray();
    const cJSON *blk;
    cJSON_ArrayForEach(blk, content)
    {
        const cJSON *bt = cJSON_GetObjectItemCaseSensitive(blk, "type");
        if (sy_is(bt, "text")) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(blk, "text");
            if (cJSON_IsString(t)) {
                sy_buf_puts(&text, t->valuestring);
                had_text = 1;
            }
        } else if (sy_is(bt, "tool_use")) {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(blk, "name");
            const cJSON *input = cJSON_GetObjectItemCaseSensitive(blk, "input");
            char *args = cJSON_IsObject(input) ? cJSON_PrintUnformatted(input) : NULL;
            if (st->json_mode && sy_is(name, AN_JSON_TOOL)) {
                sy_buf_puts(&json, args ? args : "{}");
                had_json = 1;
            } else {
                char fresh[32];
                cJSON_AddItemToArray(calls,
                                     sy_tool_call(-1, call_id(blk, fresh),
                                                  cJSON_IsString(name) ? name->valuestring : NULL,
                                                  args ? args : "{}"));
            }
            cJSON_free(args);
        }
    }
    const cJSON *sr = cJSON_GetObjectItemCaseSensitive(root, "stop_reason");
    const char *finish =
        map_finish(cJSON_IsString(sr) ? sr->valuestring : "end_turn", st->json_mode);
    int called = cJSON_GetArraySize(calls) > 0;
    if (called && strcmp(finish, "stop") == 0)
        finish = "tool_calls";
    sy_set_finish(rs, finish);

    cJSON *o = cJSON_CreateObject();
    sy_add_head(o, &st->head, "chat.completion");
    const char *answer = had_json ? json.data : had_text ? (text.data ? text.data : "") : NULL;
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "choices"), sy_choice(0, answer, calls, finish));
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(root, "usage");
    if (cJSON_IsObject(u)) {
        read_usage(u, st, &rs->usage);
        cJSON_AddItemToObject(o, "usage", sy_usage_json(&rs->usage));
    }
    sy_print_to(o, out);
    cJSON_Delete(o);
    cJSON_Delete(root);
    sy_buf_free(&text);
    sy_buf_free(&json);
    return SY_OK;
}

/* ---- errors */

/* Whether an error type is safe to quote: Anthropic's are short snake_case words. */
static int plain_type(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 40)
        return 0;
    for (const char *p = t; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
            return 0;
    return 1;
}

/*
 * Map an Anthropic error object (and the HTTP status it came with, or the status its type
 * stands for inside a stream) to the client's error. A 429 whose details say
 * enforced_spend_limit_reached is a spend limit: not retryable. Auth failures never quote
 * the provider's message.
 */
static void map_error(long status, const cJSON *err, int in_stream, sy_mapped_error *out)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(err, "message");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(err, "type");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(err, "details"), "error_code");
    const char *msg = cJSON_IsString(m) ? m->valuestring : "";
    const char *type = cJSON_IsString(t) && plain_type(t->valuestring) ? t->valuestring : NULL;
    sy_error_prefix(&out->message, status, in_stream);
    if (type)
        sy_buf_printf(&out->message, " (%s)", type);
    int quota = status == 429 && sy_is(code, "enforced_spend_limit_reached");
    int with_message = sy_map_http_status(status, quota, out);
    sy_error_quote(&out->message, with_message, msg, AN_MAX_MESSAGE);
}

void sy_anthropic_error(long status, const char *body, size_t len, const char *retry_after,
                        sy_mapped_error *out)
{
    (void)retry_after; /* the pipeline honours Retry-After itself */
    cJSON *root = cJSON_ParseWithLength(body, len);
    map_error(status, cJSON_GetObjectItemCaseSensitive(root, "error"), 0, out);
    cJSON_Delete(root);
}

/* ---- streaming */

/* The finish chunk, once. */
static void emit_finish(an_state *st, sy_relay_state *rs, const char *finish, sy_buf *out)
{
    if (st->finished)
        return;
    if (st->next_tool > 0 && strcmp(finish, "stop") == 0)
        finish = "tool_calls";
    sy_emit_chunk(&st->head, 0, NULL, finish, out);
    sy_set_finish(rs, finish);
    st->finished = 1;
}

/* An error event → an OpenAI-shaped in-band error event; nothing after it is relayed. */
static void emit_stream_error(an_state *st, const cJSON *err, sy_relay_state *rs, sy_buf *out)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(err, "type");
    /* the status Anthropic documents for the type: errors inside a stream come after the
     * 200 (the table is shared with the Messages ingress) */
    long status = sy_anthropic_error_status(cJSON_IsString(t) ? t->valuestring : "");
    sy_mapped_error e = {0};
    map_error(status, err, 1, &e);
    sy_emit_error_event(&e, rs, out);
    sy_mapped_error_free(&e);
    st->broken = 1;
}

/* The block at a content index, grown on demand; NULL for an unusable index. */
static an_block *block_at(an_state *st, const cJSON *index)
{
    if (!sy_is_integer(index) || index->valuedouble < 0 || index->valuedouble >= AN_MAX_BLOCKS)
        return NULL;
    size_t i = (size_t)index->valuedouble;
    if (i >= st->n_blocks) {
        size_t n = i + 1 > 2 * st->n_blocks ? i + 1 : 2 * st->n_blocks;
        st->blocks = sy_xrealloc(st->blocks, n * sizeof *st->blocks);
        memset(st->blocks + st->n_blocks, 0, (n - st->n_blocks) * sizeof *st->blocks);
        st->n_blocks = n;
    }
    return &st->blocks[i];
}

/* content_block_start: a tool_use block opens a tool call (id and name, no arguments
 * yet); a text block's initial text (normally empty) is content. */
static void block_start(an_state *st, const cJSON *ev, sy_relay_state *rs, sy_buf *out)
{
    an_block *blk = block_at(st, cJSON_GetObjectItemCaseSensitive(ev, "index"));
    const cJSON *cb = cJSON_GetObjectItemCaseSensitive(ev, "content_block");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(cb, "type");
    if (!blk)
        return;
    if (sy_is(type, "text")) {
        blk->kind = BLK_TEXT;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(cb, "text");
        if (cJSON_IsString(t) && t->valuestring[0]) {
            cJSON *delta = cJSON_CreateObject();
            cJSON_AddStringToObject(delta, "content", t->valuestring);
            sy_emit_chunk(&st->head, 0, delta, NULL, out);
            cJSON_Delete(delta);
            sy_count_content(rs, strlen(t->valuestring));
        }
        return;
    }
    if (!sy_is(type, "tool_use")) {
        blk->kind = BLK_IGNORED; /* thinking, redacted_thinking, server tools ... */
        return;
    }
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(cb, "name");
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(cb, "input");
    /* the input normally arrives in input_json_delta events; a whole one is relayed too */
    char *args = cJSON_IsObject(input) && input->child ? cJSON_PrintUnformatted(input) : NULL;
    cJSON *delta = cJSON_CreateObject();
    if (st->json_mode && sy_is(name, AN_JSON_TOOL)) {
        blk->kind = BLK_JSON;
        if (args) {
            cJSON_AddStringToObject(delta, "content", args);
            sy_emit_chunk(&st->head, 0, delta, NULL, out);
        }
    } else {
        blk->kind = BLK_TOOL;
        blk->tool_index = st->next_tool++;
        char fresh[32];
        cJSON *call =
            sy_tool_call(blk->tool_index, call_id(cb, fresh),
                         cJSON_IsString(name) ? name->valuestring : NULL, args ? args : "");
        cJSON_AddItemToArray(cJSON_AddArrayToObject(delta, "tool_calls"), call);
        sy_emit_chunk(&st->head, 0, delta, NULL, out);
    }
    sy_count_content(rs, args ? strlen(args) : 0);
    cJSON_free(args);
    cJSON_Delete(delta);
}

/* content_block_delta: text_delta → content; input_json_delta → tool call arguments (or
 * content in JSON mode); thinking, signature and citation deltas are not relayed. */
static void block_delta(an_state *st, const cJSON *ev, sy_relay_state *rs, sy_buf *out)
{
    an_block *blk = block_at(st, cJSON_GetObjectItemCaseSensitive(ev, "index"));
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(ev, "delta");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(d, "type");
    if (!blk)
        return;
    const cJSON *piece = NULL;
    if (sy_is(type, "text_delta") && blk->kind == BLK_TEXT)
        piece = cJSON_GetObjectItemCaseSensitive(d, "text");
    else if (sy_is(type, "input_json_delta") && (blk->kind == BLK_TOOL || blk->kind == BLK_JSON))
        piece = cJSON_GetObjectItemCaseSensitive(d, "partial_json");
    if (!cJSON_IsString(piece) || !piece->valuestring[0])
        return;
    cJSON *delta = cJSON_CreateObject();
    if (blk->kind == BLK_TOOL) {
        cJSON *call = cJSON_CreateObject();
        cJSON_AddNumberToObject(call, "index", blk->tool_index);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(call, "function"), "arguments",
                                piece->valuestring);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(delta, "tool_calls"), call);
    } else {
        cJSON_AddStringToObject(delta, "content", piece->valuestring);
    }
    sy_emit_chunk(&st->head, 0, delta, NULL, out);
    cJSON_Delete(delta);
    sy_count_content(rs, strlen(piece->valuestring));
}

/*
 * One SSE event of a Messages stream. message_start opens the client's stream with the
 * role chunk and reports the input usage; content blocks become content and tool-call
 * deltas; message_delta carries the stop reason (→ the finish chunk) and the output
 * usage; message_stop ends the stream with the usage chunk (if the client asked) and
 * [DONE]. ping and event types Anthropic may add later are ignored; an error event
 * becomes an in-band error; an undecodable event marks the stream broken. Nothing after
 * the end, an error or a broken event is translated.
 */
void sy_anthropic_stream_event(const char *event, size_t event_len, const char *data,
                               size_t data_len, const char *raw, size_t raw_len, sy_relay_state *rs,
                               sy_buf *out)
{
    (void)event, (void)event_len, (void)raw, (void)raw_len; /* data carries its own type */
    an_state *st = an_state_for(rs, NULL);
    if (st->broken || rs->saw_done || data_len == 0)
        return;
    cJSON *root = cJSON_ParseWithLength(data, data_len);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (!cJSON_IsObject(root) || !cJSON_IsString(type)) {
        /* undecodable: the pipeline replaces the attempt before the client saw anything;
         * after that this is the stream's one in-band error */
        cJSON_Delete(root);
        sy_emit_malformed_event(rs, out);
        st->broken = 1;
        return;
    }
    const char *t = type->valuestring;
    if (strcmp(t, "message_start") == 0) {
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "message");
        read_usage(cJSON_GetObjectItemCaseSensitive(msg, "usage"), st, &rs->usage);
        if (!st->started) {
            cJSON *delta = cJSON_CreateObject();
            cJSON_AddStringToObject(delta, "role", "assistant");
            cJSON_AddStringToObject(delta, "content", "");
            sy_emit_chunk(&st->head, 0, delta, NULL, out);
            cJSON_Delete(delta);
            st->started = 1;
        }
    } else if (strcmp(t, "content_block_start") == 0) {
        block_start(st, root, rs, out);
    } else if (strcmp(t, "content_block_delta") == 0) {
        block_delta(st, root, rs, out);
    } else if (strcmp(t, "message_delta") == 0) {
        read_usage(cJSON_GetObjectItemCaseSensitive(root, "usage"), st, &rs->usage);
        const cJSON *sr = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(root, "delta"), "stop_reason");
        if (cJSON_IsString(sr))
            emit_finish(st, rs, map_finish(sr->valuestring, st->json_mode), out);
    } else if (strcmp(t, "message_stop") == 0) {
        emit_finish(st, rs, "stop", out);
        sy_emit_done(&st->head, rs, out);
    } else if (strcmp(t, "error") == 0) {
        emit_stream_error(st, cJSON_GetObjectItemCaseSensitive(root, "error"), rs, out);
    }
    cJSON_Delete(root);
}

void sy_anthropic_release(sy_relay_state *rs)
{
    an_state *st = rs->priv;
    if (st) {
        sy_chat_head_free(&st->head);
        free(st->blocks);
        free(st);
    }
    rs->priv = NULL;
}
