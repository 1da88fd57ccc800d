/*
 * gemini_reply.c — the reply half of the Gemini dialect (gemini.h): a whole
 * GenerateContentResponse becomes an OpenAI chat.completion, each streamed response a
 * chat.completion.chunk, Gemini's errors mapped errors.
 */
#include "gemini.h"

#include <stdlib.h>
#include <string.h>

/* ---- response translation */

/* usageMetadata → sy_usage: tool-use prompt tokens are input; thinking is billed as
 * output, so it is part of completion_tokens (and reported as reasoning_tokens). */
static void usage_from_gemini(const cJSON *um, sy_usage *u)
{
    if (!cJSON_IsObject(um))
        return;
    u->prompt_tokens =
        sy_json_count(um, "promptTokenCount") + sy_json_count(um, "toolUsePromptTokenCount");
    u->cached_tokens = sy_json_count(um, "cachedContentTokenCount");
    u->reasoning_tokens = sy_json_count(um, "thoughtsTokenCount");
    u->completion_tokens = sy_json_count(um, "candidatesTokenCount") + u->reasoning_tokens;
    u->cache_write_tokens = 0;
    u->have = 1;
}

/* Gemini's finishReason as OpenAI's finish_reason; a normal stop after function calls
 * is "tool_calls". */
static const char *map_finish(const char *reason, int called)
{
    static const char *const filtered[] = {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
    };
    if (strcmp(reason, "MAX_TOKENS") == 0)
        return "length";
    for (size_t i = 0; i < SY_ARRAY_LEN(filtered); i++)
        if (strcmp(reason, filtered[i]) == 0)
            return "content_filter";
    return called && strcmp(reason, "STOP") == 0 ? "tool_calls" : "stop";
}

/* A candidate's index: its "index" member, else its position. */
static int candidate_index(const cJSON *cand, int position)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cand, "index");
    return sy_is_integer(v) && v->valuedouble >= 0 && v->valuedouble < 1e6 ? (int)v->valuedouble
                                                                           : position;
}

/*
 * Read a candidate's parts: visible text (thought parts excluded) appended to text,
 * each functionCall appended to calls as an OpenAI tool call with a fresh id and its
 * args as a JSON string; when next_index is not NULL (streams) each call also gets the
 * next "index". Returns whether any text part was seen; *arg_bytes grows by the bytes
 * of arguments text.
 */
static int read_parts(const cJSON *cand, sy_buf *text, cJSON *calls, int *next_index,
                      int64_t *arg_bytes)
{
    int had_text = 0;
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cand, "content"), "parts");
    const cJSON *p;
    cJSON_ArrayForEach(p, parts)
    {
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "thought")))
            continue;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "text");
        const cJSON *fc = cJSON_GetObjectItemCaseSensitive(p, "functionCall");
        if (cJSON_IsString(t)) {
            sy_buf_puts(text, t->valuestring);
            had_text = 1;
        } else if (cJSON_IsObject(fc)) {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(fc, "name");
            const cJSON *args = cJSON_GetObjectItemCaseSensitive(fc, "args");
            char id[32];
            sy_new_call_id(id);
            char *a = cJSON_IsObject(args) ? cJSON_PrintUnformatted(args) : NULL;
            cJSON_AddItemToArray(
                calls, sy_tool_call(next_index ? (*next_index)++ : -1, id,
                                    cJSON_IsString(name) ? name->valuestring : NULL, a ? a : "{}"));
            *arg_bytes += (int64_t)(a ? strlen(a) : 2);
            cJSON_free(a);
        }
    }
    return had_text;
}

/*
 * A complete GenerateContentResponse → chat.completion. A prompt blocked before any
 * candidate (promptFeedback.blockReason) becomes one choice with null content and
 * finish_reason "content_filter"; a body with neither candidates nor a block reason is
 * not a valid response.
 */
int sy_gemini_response(const char *body, size_t len, sy_relay_state *rs, sy_buf *out)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *cands = cJSON_GetObjectItemCaseSensitive(root, "candidates");
    const cJSON *block = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "promptFeedback"), "blockReason");
    int n = cJSON_IsArray(cands) ? cJSON_GetArraySize(cands) : 0;
    if (!cJSON_IsObject(root) || (n == 0 && !cJSON_IsString(block))) {
        cJSON_Delete(root);
        return SY_ERR_INVALID;
    }
    gm_state *st = gm_state_for(rs, NULL);
    cJSON *o = cJSON_CreateObject();
    sy_add_head(o, &st->head, "chat.completion");
    cJSON *choices = cJSON_AddArrayToObject(o, "choices");
    int64_t arg_bytes = 0;
    if (n == 0) {
        cJSON_AddItemToArray(choices, sy_choice(0, NULL, NULL, "content_filter"));
        sy_set_finish(rs, "content_filter");
    }
    int pos = 0;
    const cJSON *cand;
    cJSON_ArrayForEach(cand, cands)
    {
        int index = candidate_index(cand, pos++);
        sy_buf text = {0};
        cJSON *calls = cJSON_CreateArray();
        int had_text = read_parts(cand, &text, calls, NULL, &arg_bytes);
        int called = cJSON_GetArraySize(calls) > 0;
        const cJSON *fr = cJSON_GetObjectItemCaseSensitive(cand, "finishReason");
        const char *finish = map_finish(cJSON_IsString(fr) ? fr->valuestring : "STOP", called);
        cJSON_AddItemToArray(
            choices,
            sy_choice(index, had_text ? (text.data ? text.data : "") : NULL, calls, finish));
        if (index == 0 || !rs->finish_reason[0])
            sy_set_finish(rs, finish);
        sy_buf_free(&text);
    }
    const cJSON *um = cJSON_GetObjectItemCaseSensitive(root, "usageMetadata");
    if (cJSON_IsObject(um)) {
        usage_from_gemini(um, &rs->usage);
        cJSON_AddItemToObject(o, "usage", sy_usage_json(&rs->usage));
    }
    sy_print_to(o, out);
    cJSON_Delete(o);
    cJSON_Delete(root);
    return SY_OK;
}

/* ---- errors */

/* RetryInfo.retryDelay of a Google error ("7s"), or NULL. */
static const char *retry_delay(const cJSON *err)
{
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(err, "details"))
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, "retryDelay");
        if (cJSON_IsString(v) && v->valuestring[0])
            return v->valuestring;
    }
    return NULL;
}

/* Gemini answers a bad key with 400 INVALID_ARGUMENT and an ErrorInfo reason. */
static int key_rejected(const cJSON *err)
{
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(err, "details"))
    {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(d, "reason");
        if (cJSON_IsString(r) && (strcmp(r->valuestring, "API_KEY_INVALID") == 0 ||
                                  strcmp(r->valuestring, "API_KEY_SERVICE_BLOCKED") == 0))
            return 1;
    }
    return 0;
}

/* Whether a 429's message is about billing rather than a rate or quota window. Every
 * Gemini quota message ends in "check your plan and billing details", per-minute limits
 * included, so that phrase alone does not count. */
static int says_billing(const char *msg)
{
    sy_buf low = {0};
    for (const char *p = msg; *p; p++) {
        char c = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        sy_buf_append(&low, &c, 1);
    }
    int billing = 0;
    if (low.data) {
        static const char generic[] = "plan and billing details";
        for (char *g; (g = strstr(low.data, generic));)
            memset(g, ' ', sizeof generic - 1);
        billing = strstr(low.data, "billing") || strstr(low.data, "credits are depleted");
    }
    sy_buf_free(&low);
    return billing;
}

/* Map a Google error object (and the HTTP status it came with, or its "code" inside a
 * stream) to the client's error. Shared by non-2xx responses and in-stream errors. */
static void map_error(long status, const cJSON *err, const char *retry_after, int in_stream,
                      sy_mapped_error *out)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(err, "message");
    const char *msg = cJSON_IsString(m) ? m->valuestring : "";
    const char *delay = retry_delay(err);
    sy_error_prefix(&out->message, status, in_stream);
    if (status == 400 && key_rejected(err))
        status = 401;
    int quota = status == 429 && !delay && !retry_after && says_billing(msg);
    int with_message = sy_map_http_status(status, quota, out);
    sy_error_quote(&out->message, with_message, msg, GM_MAX_MESSAGE);
    if (delay)
        sy_buf_printf(&out->message, " (retry in %.16s)", delay);
}

void sy_gemini_error(long status, const char *body, size_t len, const char *retry_after,
                     sy_mapped_error *out)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    map_error(status, cJSON_GetObjectItemCaseSensitive(root, "error"), retry_after, 0, out);
    cJSON_Delete(root);
}

/* ---- streaming */

/* An error object inside the stream → an OpenAI-shaped in-band error event. */
static void emit_stream_error(gm_state *st, const cJSON *err, sy_relay_state *rs, sy_buf *out)
{
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
    long status = sy_is_integer(code) ? (long)code->valuedouble : 500;
    sy_mapped_error e = {0};
    map_error(status, err, NULL, 1, &e);
    sy_emit_error_event(&e, rs, out);
    sy_mapped_error_free(&e);
    st->broken = 1;
}

/*
 * One SSE event of streamGenerateContent: a whole GenerateContentResponse. Per candidate,
 * the first chunk carries delta.role; text and function calls become deltas; a
 * finishReason becomes a finish chunk. Gemini sends no terminator, and usageMetadata
 * rides on the chunks (the last one carries the totals, on the chunk with finishReason):
 * once every candidate seen has finished, the usage chunk (if the client asked) and
 * [DONE] follow at once. Nothing after that, or after an error, is translated.
 */
void sy_gemini_stream_event(const char *event, size_t event_len, const char *data, size_t data_len,
                            const char *raw, size_t raw_len, sy_relay_state *rs, sy_buf *out)
{
    gm_state *st = gm_state_for(rs, NULL);
    if (st->broken || rs->saw_done || data_len == 0)
        return;
    cJSON *root = cJSON_ParseWithLength(data, data_len);
    if (!cJSON_IsObject(root)) {
        /* undecodable: the pipeline replaces the attempt before the client saw anything;
         * after that this is the stream's one in-band error */
        cJSON_Delete(root);
        sy_emit_malformed_event(rs, out);
        st->broken = 1;
        return;
    }
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (err) {
        emit_stream_error(st, err, rs, out);
        cJSON_Delete(root);
        return;
    }
    usage_from_gemini(cJSON_GetObjectItemCaseSensitive(root, "usageMetadata"), &rs->usage);
    const cJSON *cands = cJSON_GetObjectItemCaseSensitive(root, "candidates");
    const cJSON *block = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "promptFeedback"), "blockReason");
    if (cJSON_GetArraySize(cands) == 0 && cJSON_IsString(block)) {
        cJSON *delta = cJSON_CreateObject();
        if (!(st->roles & 1u)) {
            cJSON_AddStringToObject(delta, "role", "assistant");
            cJSON_AddNullToObject(delta, "content");
        }
        sy_emit_chunk(&st->head, 0, delta, "content_filter", out);
        cJSON_Delete(delta);
        st->roles |= 1u;
        sy_set_finish(rs, "content_filter");
        sy_emit_done(&st->head, rs, out);
        cJSON_Delete(root);
        return;
    }
    int pos = 0;
    const cJSON *cand;
    cJSON_ArrayForEach(cand, cands)
    {
        int index = candidate_index(cand, pos++);
        if (index >= GM_MAX_CANDIDATES)
            continue;
        unsigned bit = 1u << index;
        st->seen |= bit;
        sy_buf text = {0};
        cJSON *calls = cJSON_CreateArray();
        int64_t arg_bytes = 0;
        read_parts(cand, &text, calls, &st->tool_index[index], &arg_bytes);
        cJSON *delta = cJSON_CreateObject();
        if (!(st->roles & bit)) {
            cJSON_AddStringToObject(delta, "role", "assistant");
            st->roles |= bit;
        }
        if (text.len)
            cJSON_AddStringToObject(delta, "content", text.data);
        if (cJSON_GetArraySize(calls) > 0) {
            cJSON_AddItemToObject(delta, "tool_calls", calls);
            st->called |= bit;
        } else {
            cJSON_Delete(calls);
        }
        sy_count_content(rs, text.len + (size_t)arg_bytes);
        if (delta->child)
            sy_emit_chunk(&st->head, index, delta, NULL, out);
        cJSON_Delete(delta);
        sy_buf_free(&text);
        const cJSON *fr = cJSON_GetObjectItemCaseSensitive(cand, "finishReason");
        if (cJSON_IsString(fr) && fr->valuestring[0] && !(st->finished & bit)) {
            const char *finish = map_finish(fr->valuestring, (st->called & bit) != 0);
            sy_emit_chunk(&st->head, index, NULL, finish, out);
            st->finished |= bit;
            if (index == 0 || !rs->finish_reason[0])
                sy_set_finish(rs, finish);
        }
    }
    if (st->finished && (st->finished & st->seen) == st->seen)
        sy_emit_done(&st->head, rs, out);
    cJSON_Delete(root);
}

void sy_gemini_release(sy_relay_state *rs)
{
    gm_state *st = rs->priv;
    if (st) {
        sy_chat_head_free(&st->head);
        free(st);
    }
    rs->priv = NULL;
}
