/*
 * provider_responses.c — OpenAI's Responses API spoken natively to a provider that has
 * it (an OpenAI-dialect provider configured with "responses_api": true). The client's
 * own POST /v1/responses body goes upstream with only the model replaced (and "store":
 * false added when the client did not say, since the gateway cannot refer back to a
 * stored response); the answer and the stream events come back as the provider sent
 * them, except the response's "id" and "model", which become the gateway's request id
 * and the model name the client sees, as in every other dialect.
 *
 * Usage for exact cost comes from the answer's "usage" or the stream's
 * response.completed (input_tokens, input_tokens_details.cached_tokens, output_tokens,
 * output_tokens_details.reasoning_tokens). An upstream "error" or response.failed
 * event, or an event that is not JSON, becomes the one in-band "error" event, scrubbed.
 * The pipeline chooses this adapter per attempt (engine/api/chat_attempt.c), so a route
 * may mix native and translated providers.
 */
#include "adapter.h"
#include "provider.h"
#include "provider_util.h"

#include "json_body.h"
#include "responses.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const sy_adapter sy_adapter_openai;

/* Per request: the last sequence_number relayed (the in-band error follows it). */
typedef struct native_state {
    int64_t seq;
} native_state;

static native_state *state(sy_relay_state *rs)
{
    if (!rs->priv)
        rs->priv = sy_xcalloc(1, sizeof(native_state));
    return rs->priv;
}

static void native_release(sy_relay_state *rs)
{
    free(rs->priv);
    rs->priv = NULL;
}

static int native_build(const sy_provider_cfg *prov, const sy_model_cfg *model, cJSON *req,
                        int stream, sy_relay_state *rs, sy_upstream_call *out,
                        const char **bad_param, const char **why)
{
    if (!cJSON_IsObject(req)) {
        *bad_param = NULL;
        *why = "the request body must be a JSON object";
        return SY_ERR_INVALID;
    }
    state(rs);
    cJSON_DeleteItemFromObjectCaseSensitive(req, "model");
    cJSON_AddStringToObject(req, "model", model->upstream_name);
    if (!cJSON_GetObjectItemCaseSensitive(req, "store"))
        cJSON_AddFalseToObject(req, "store");
    sy_buf_printf(&out->url, "%s/responses", prov->base_url);
    sy_buf auth = {0};
    if (prov->api_key)
        sy_buf_printf(&auth, "Authorization: Bearer %s", prov->api_key);
    int rc = sy_upstream_finish(out, cJSON_PrintUnformatted(req), stream, auth.data, NULL, NULL,
                                bad_param, why);
    sy_buf_free(&auth);
    return rc;
}

/* usage and status of a Response object into rs. */
static void read_response(const cJSON *r, sy_relay_state *rs)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(r, "usage");
    if (cJSON_IsObject(u)) {
        rs->usage.prompt_tokens = sy_json_count(u, "input_tokens");
        rs->usage.completion_tokens = sy_json_count(u, "output_tokens");
        rs->usage.cached_tokens = sy_json_count(
            cJSON_GetObjectItemCaseSensitive(u, "input_tokens_details"), "cached_tokens");
        rs->usage.reasoning_tokens = sy_json_count(
            cJSON_GetObjectItemCaseSensitive(u, "output_tokens_details"), "reasoning_tokens");
        rs->usage.have = 1;
    }
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(r, "status");
    if (sy_is(status, "completed"))
        sy_set_finish(rs, "stop");
    else if (sy_is(status, "incomplete"))
        sy_set_finish(rs, "length");
}

/* The response's id and model as the client's (members that are strings only). */
static void set_identity(cJSON *r, const sy_relay_state *rs)
{
    if (rs->client_id && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(r, "id")))
        cJSON_ReplaceItemInObjectCaseSensitive(r, "id", cJSON_CreateString(rs->client_id));
    if (rs->client_model && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(r, "model")))
        cJSON_ReplaceItemInObjectCaseSensitive(r, "model", cJSON_CreateString(rs->client_model));
}

static int native_response(const char *body, size_t len, sy_relay_state *rs, sy_buf *out)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(root) || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "output"))) {
        cJSON_Delete(root);
        return SY_ERR_INVALID;
    }
    read_response(root, rs);
    set_identity(root, rs);
    sy_print_to(root, out);
    cJSON_Delete(root);
    return 0;
}

/* The one in-band error: a Responses "error" event after the last relayed one. */
static void emit_error(sy_relay_state *rs, const char *code, const char *message, sy_buf *out)
{
    if (rs->error_sent)
        return;
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "type", "error");
    cJSON_AddStringToObject(ev, "code", code);
    cJSON_AddStringToObject(ev, "message", message);
    cJSON_AddNullToObject(ev, "param");
    sy_responses_event(ev, ++state(rs)->seq, out);
    cJSON_Delete(ev);
    rs->saw_error_event = 1;
    rs->error_sent = code;
}

/* An upstream error or response.failed event: its message quoted, scrubbed. */
static void upstream_failed(const cJSON *ev, sy_relay_state *rs, sy_buf *out)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(ev, "response");
    const cJSON *err = cJSON_IsObject(r) ? cJSON_GetObjectItemCaseSensitive(r, "error") : ev;
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "message");
    if (!cJSON_IsString(msg))
        msg = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev, "error"),
                                               "message");
    sy_buf m = {0};
    sy_error_prefix(&m, 500, 1);
    sy_error_quote(&m, 1, cJSON_IsString(msg) ? msg->valuestring : "", 300);
    emit_error(rs, "upstream_stream_error", m.data, out);
    sy_buf_free(&m);
}

/*
 * One upstream event: relayed verbatim, or re-printed when it carries the response
 * (created, in_progress, completed, incomplete, queued) whose id and model change.
 */
static void native_stream_event(const char *event, size_t event_len, const char *data,
                                size_t data_len, const char *raw, size_t raw_len,
                                sy_relay_state *rs, sy_buf *out)
{
    (void)event, (void)event_len;
    if (rs->error_sent || !data_len)
        return;
    if (data_len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        rs->saw_done = 1;
        return;
    }
    cJSON *ev = sy_json_valid(data, data_len) ? cJSON_ParseWithLength(data, data_len) : NULL;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
    if (!cJSON_IsObject(ev) || !cJSON_IsString(type)) {
        cJSON_Delete(ev);
        emit_error(rs, "upstream_malformed_event",
                   "the provider sent a stream event that is not a Responses event", out);
        return;
    }
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(ev, "sequence_number");
    if (sy_is_integer(seq))
        state(rs)->seq = (int64_t)seq->valuedouble;
    const char *t = type->valuestring;
    if (strcmp(t, "error") == 0 || strcmp(t, "response.failed") == 0) {
        upstream_failed(ev, rs, out);
        cJSON_Delete(ev);
        return;
    }
    if (sy_has_prefix(t, "response.") && strstr(t, ".delta")) {
        const cJSON *delta = cJSON_GetObjectItemCaseSensitive(ev, "delta");
        if (cJSON_IsString(delta))
            sy_count_content(rs, strlen(delta->valuestring));
    }
    cJSON *r = cJSON_GetObjectItemCaseSensitive(ev, "response");
    if (!cJSON_IsObject(r)) {
        sy_buf_append(out, raw, raw_len);
        cJSON_Delete(ev);
        return;
    }
    if (strcmp(t, "response.completed") == 0 || strcmp(t, "response.incomplete") == 0) {
        read_response(r, rs);
        if (!rs->finish_reason[0]) /* an end without a status still ends it */
            sy_set_finish(rs, strcmp(t, "response.completed") == 0 ? "stop" : "length");
    }
    set_identity(r, rs);
    sy_responses_event(ev, state(rs)->seq, out);
    cJSON_Delete(ev);
}

/* Errors are OpenAI's, mapped as the chat dialect maps them. */
static void native_error(long status, const char *body, size_t len, const char *retry_after,
                         sy_mapped_error *out)
{
    sy_adapter_openai.error(status, body, len, retry_after, out);
}

static const sy_adapter sy_adapter_responses = {
    .dialect = SY_DIALECT_OPENAI,
    .build = native_build,
    .response = native_response,
    .stream_event = native_stream_event,
    .error = native_error,
    .release = native_release,
};

const sy_adapter *sy_responses_native_adapter(const sy_provider_cfg *prov)
{
    return prov && prov->dialect == SY_DIALECT_OPENAI && prov->responses_api ? &sy_adapter_responses
                                                                             : NULL;
}
