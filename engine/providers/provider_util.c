#include "provider_util.h"

#include "clock.h"
#include "scrub.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sy_refuse(const sy_refuser *r, const char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->param, r->param_size, fmt, ap);
    va_end(ap);
    *r->bad_param = r->param;
    *r->why = why;
    return SY_ERR_INVALID;
}

const cJSON *sy_field(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

int sy_is_integer(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= -9.2e18 && v->valuedouble <= 9.2e18 &&
           v->valuedouble == (double)(int64_t)v->valuedouble;
}

int sy_is(const cJSON *v, const char *s)
{
    return cJSON_IsString(v) && strcmp(v->valuestring, s) == 0;
}

int sy_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int sy_data_url(const char *url, const char **mime, size_t *mime_len, const char **data)
{
    if (!sy_has_prefix(url, "data:"))
        return 0;
    const char *comma = strchr(url, ',');
    const char *semi = strchr(url, ';');
    if (!comma || !semi || semi > comma || semi == url + 5 || comma - url < 12 ||
        strncmp(comma - 7, ";base64", 7) != 0)
        return 0;
    *mime = url + 5;
    *mime_len = (size_t)(semi - url - 5);
    *data = comma + 1;
    return 1;
}

cJSON *sy_tool_arguments(const cJSON *args)
{
    cJSON *obj = NULL;
    if (!args || (cJSON_IsString(args) && !args->valuestring[0]))
        obj = cJSON_CreateObject();
    else if (cJSON_IsString(args))
        obj = cJSON_Parse(args->valuestring);
    if (!cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

int sy_text_content(const sy_refuser *r, const cJSON *content, size_t i, sy_text_fn *fn, void *arg)
{
    if (!content)
        return SY_OK;
    if (cJSON_IsString(content)) {
        fn(arg, content->valuestring, NULL);
        return SY_OK;
    }
    if (!cJSON_IsArray(content))
        return sy_refuse(r, "must be a string or an array of content parts",
                         "messages[%zu].content", i);
    size_t j = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, content)
    {
        const cJSON *type = sy_field(p, "type"), *text = sy_field(p, "text");
        if (sy_is(type, "refusal")) {
            j++;
            continue;
        }
        if (!sy_is(type, "text") || !cJSON_IsString(text))
            return sy_refuse(r, "only text parts are allowed in this message",
                             "messages[%zu].content[%zu]", i, j);
        fn(arg, text->valuestring, p);
        j++;
    }
    return SY_OK;
}

int sy_function_tools(const sy_refuser *r, const cJSON *req, const char *not_function,
                      const char *reserved, const char *reserved_why, const cJSON **tools)
{
    const cJSON *all = sy_field(req, "tools");
    *tools = NULL;
    if (!all)
        return SY_OK;
    if (!cJSON_IsArray(all))
        return sy_refuse(r, "must be an array", "tools");
    size_t i = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, all)
    {
        const cJSON *type = sy_field(t, "type"), *fn = sy_field(t, "function");
        const cJSON *name = sy_field(fn, "name"), *desc = sy_field(fn, "description");
        const cJSON *params = sy_field(fn, "parameters");
        if (!sy_is(type, "function"))
            return sy_refuse(r, not_function, "tools[%zu].type", i);
        if (!cJSON_IsString(name) || !name->valuestring[0])
            return sy_refuse(r, "must be a non-empty string", "tools[%zu].function.name", i);
        if (reserved && strcmp(name->valuestring, reserved) == 0)
            return sy_refuse(r, reserved_why, "tools[%zu].function.name", i);
        if (desc && !cJSON_IsString(desc))
            return sy_refuse(r, "must be a string", "tools[%zu].function.description", i);
        if (params && !cJSON_IsObject(params))
            return sy_refuse(r, "must be a JSON Schema object", "tools[%zu].function.parameters",
                             i);
        i++;
    }
    if (i > 0)
        *tools = all;
    return SY_OK;
}

cJSON *sy_function_decl(const cJSON *tool, const char *schema_key)
{
    const cJSON *fn = sy_field(tool, "function");
    const cJSON *name = sy_field(fn, "name"), *desc = sy_field(fn, "description");
    const cJSON *params = sy_field(fn, "parameters");
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "name", name->valuestring);
    if (desc)
        cJSON_AddStringToObject(d, "description", desc->valuestring);
    if (params)
        cJSON_AddItemToObject(d, schema_key, cJSON_Duplicate(params, 1));
    return d;
}

int sy_tool_choice(const sy_refuser *r, const cJSON *tc, const char *const modes[3],
                   const char *named_mode, const char **mode, const char **only)
{
    *mode = NULL;
    *only = NULL;
    if (cJSON_IsString(tc)) {
        if (strcmp(tc->valuestring, "auto") == 0)
            *mode = modes[0];
        else if (strcmp(tc->valuestring, "none") == 0)
            *mode = modes[1];
        else if (strcmp(tc->valuestring, "required") == 0)
            *mode = modes[2];
    } else {
        const cJSON *name = sy_field(sy_field(tc, "function"), "name");
        if (sy_is(sy_field(tc, "type"), "function") && cJSON_IsString(name) &&
            name->valuestring[0]) {
            *mode = named_mode;
            *only = name->valuestring;
        }
    }
    if (!*mode)
        return sy_refuse(r,
                         "must be \"auto\", \"none\", \"required\" or "
                         "{\"type\":\"function\",\"function\":{\"name\":...}}",
                         "tool_choice");
    return SY_OK;
}

int sy_text_modalities_only(const cJSON *m)
{
    int text_out = cJSON_IsArray(m);
    for (const cJSON *x = m->child; x && text_out; x = x->next)
        text_out = sy_is(x, "text");
    return text_out;
}

int sy_listed(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, list[i]) == 0)
            return 1;
    return 0;
}

void sy_add_turn(cJSON *turns, const char *role, const char *key, cJSON *items)
{
    cJSON *last = cJSON_GetArrayItem(turns, cJSON_GetArraySize(turns) - 1);
    if (sy_is(cJSON_GetObjectItemCaseSensitive(last, "role"), role)) {
        cJSON *dst = cJSON_GetObjectItemCaseSensitive(last, key);
        while (cJSON_GetArraySize(items) > 0)
            cJSON_AddItemToArray(dst, cJSON_DetachItemFromArray(items, 0));
        cJSON_Delete(items);
        return;
    }
    cJSON *turn = cJSON_CreateObject();
    cJSON_AddStringToObject(turn, "role", role);
    cJSON_AddItemToObject(turn, key, items);
    cJSON_AddItemToArray(turns, turn);
}

int sy_number_param(const sy_refuser *r, const cJSON *req, const char *name, int integer,
                    double min, double max, const char *why, cJSON *dst, const char *dst_name)
{
    const cJSON *v = sy_field(req, name);
    if (!v)
        return SY_OK;
    if (!cJSON_IsNumber(v) || (integer && !sy_is_integer(v)) || v->valuedouble < min ||
        v->valuedouble > max)
        return sy_refuse(r, why, "%s", name);
    cJSON_AddNumberToObject(dst, dst_name, v->valuedouble);
    return SY_OK;
}

int sy_max_tokens_param(const sy_refuser *r, const cJSON *req, double *limit)
{
    static const char *const names[] = {"max_tokens", "max_completion_tokens"};
    *limit = -1;
    for (size_t i = 0; i < SY_ARRAY_LEN(names); i++) {
        const cJSON *v = sy_field(req, names[i]);
        if (!v)
            continue;
        if (!sy_is_integer(v) || v->valuedouble < 1 || v->valuedouble > 2147483647.0)
            return sy_refuse(r, "must be a positive integer", "%s", names[i]);
        if (*limit < 0 || v->valuedouble < *limit)
            *limit = v->valuedouble;
    }
    return SY_OK;
}

int sy_stop_param(const sy_refuser *r, const cJSON *req, int max_seqs, const char *too_many,
                  cJSON *dst, const char *dst_name)
{
    const cJSON *stop = sy_field(req, "stop");
    if (!stop)
        return SY_OK;
    if (cJSON_IsString(stop)) {
        cJSON_AddItemToArray(cJSON_AddArrayToObject(dst, dst_name),
                             cJSON_CreateString(stop->valuestring));
        return SY_OK;
    }
    if (!cJSON_IsArray(stop))
        return sy_refuse(r, "must be a string or an array of strings", "stop");
    if (max_seqs > 0 && cJSON_GetArraySize(stop) > max_seqs)
        return sy_refuse(r, too_many, "stop");
    cJSON *seq = cJSON_CreateArray();
    size_t i = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, stop)
    {
        if (!cJSON_IsString(s)) {
            cJSON_Delete(seq);
            return sy_refuse(r, "must be a string", "stop[%zu]", i);
        }
        cJSON_AddItemToArray(seq, cJSON_CreateString(s->valuestring));
        i++;
    }
    if (cJSON_GetArraySize(seq) > 0)
        cJSON_AddItemToObject(dst, dst_name, seq);
    else
        cJSON_Delete(seq);
    return SY_OK;
}

int sy_upstream_finish(sy_upstream_call *out, char *body, int stream, const char *extra,
                       const char *key_header, const char *api_key, const char **bad_param,
                       const char **why)
{
    if (!body) {
        *bad_param = NULL;
        *why = "request could not be serialised";
        return SY_ERR_INVALID;
    }
    size_t n = strlen(body);
    out->body.data = body; /* cJSON allocates with malloc: the sy_buf adopts it */
    out->body.len = n;
    out->body.cap = n + 1;
    size_t h = 0;
    out->headers[h++] = sy_xstrdup("Content-Type: application/json");
    out->headers[h++] =
        sy_xstrdup(stream ? "Accept: text/event-stream" : "Accept: application/json");
    if (extra)
        out->headers[h++] = sy_xstrdup(extra);
    if (api_key) {
        sy_buf key = {0};
        sy_buf_printf(&key, "%s: %s", key_header, api_key);
        out->headers[h++] = key.data;
    }
    out->headers[h] = NULL;
    return SY_OK;
}

void sy_chat_head_init(sy_chat_head *h, const sy_relay_state *rs, const char *fallback_model)
{
    if (rs->client_id && strlen(rs->client_id) < sizeof(h->id)) {
        memcpy(h->id, rs->client_id, strlen(rs->client_id) + 1);
    } else {
        memcpy(h->id, "chatcmpl-", 9);
        sy_random_hex(h->id + 9, 24);
    }
    h->created = (int64_t)(sy_wall_ms() / 1000);
    const char *m = rs->client_model ? rs->client_model : fallback_model;
    h->model = sy_xstrdup(m ? m : "");
}

void *sy_state_for(sy_relay_state *rs, size_t size, const char *fallback_model)
{
    if (!rs->priv) {
        sy_chat_head *h = sy_xcalloc(1, size);
        sy_chat_head_init(h, rs, fallback_model);
        rs->priv = h;
    }
    return rs->priv;
}

void sy_chat_head_free(sy_chat_head *h)
{
    free(h->model);
    h->model = NULL;
}

int sy_build_begin(sy_chat_head *h, const cJSON *req, int stream, const char **bad_param,
                   const char **why, sy_refuser *r)
{
    *r = (sy_refuser){h->param, sizeof h->param, bad_param, why};
    if (!cJSON_IsObject(req))
        return sy_refuse(r, "the request body must be a JSON object", "messages");
    h->include_usage =
        stream && cJSON_IsTrue(sy_field(sy_field(req, "stream_options"), "include_usage"));
    return SY_OK;
}

void sy_new_call_id(char out[32])
{
    memcpy(out, "call_", 5);
    sy_random_hex(out + 5, 24);
}

void sy_add_head(cJSON *o, const sy_chat_head *h, const char *object)
{
    cJSON_AddStringToObject(o, "id", h->id);
    cJSON_AddStringToObject(o, "object", object);
    cJSON_AddNumberToObject(o, "created", (double)h->created);
    cJSON_AddStringToObject(o, "model", h->model);
}

void sy_print_to(const cJSON *o, sy_buf *out)
{
    char *s = cJSON_PrintUnformatted(o);
    sy_buf_puts(out, s);
    cJSON_free(s);
}

void sy_set_finish(sy_relay_state *rs, const char *reason)
{
    snprintf(rs->finish_reason, sizeof rs->finish_reason, "%s", reason);
}

cJSON *sy_usage_json(const sy_usage *u)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "prompt_tokens", (double)u->prompt_tokens);
    cJSON_AddNumberToObject(o, "completion_tokens", (double)u->completion_tokens);
    cJSON_AddNumberToObject(o, "total_tokens", (double)(u->prompt_tokens + u->completion_tokens));
    cJSON *pd = cJSON_AddObjectToObject(o, "prompt_tokens_details");
    cJSON_AddNumberToObject(pd, "cached_tokens", (double)u->cached_tokens);
    if (u->cache_write_tokens > 0) /* Anthropic's cache writes, part of prompt_tokens */
        cJSON_AddNumberToObject(pd, "cache_write_tokens", (double)u->cache_write_tokens);
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(o, "completion_tokens_details"),
                            "reasoning_tokens", (double)u->reasoning_tokens);
    return o;
}

cJSON *sy_tool_call(int index, const char *id, const char *name, const char *arguments)
{
    cJSON *call = cJSON_CreateObject();
    if (index >= 0)
        cJSON_AddNumberToObject(call, "index", index);
    cJSON_AddStringToObject(call, "id", id);
    cJSON_AddStringToObject(call, "type", "function");
    cJSON *f = cJSON_AddObjectToObject(call, "function");
    cJSON_AddStringToObject(f, "name", name ? name : "");
    cJSON_AddStringToObject(f, "arguments", arguments);
    return call;
}

cJSON *sy_choice(int index, const char *content, cJSON *calls, const char *finish)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddNumberToObject(c, "index", index);
    cJSON *msg = cJSON_AddObjectToObject(c, "message");
    cJSON_AddStringToObject(msg, "role", "assistant");
    if (content)
        cJSON_AddStringToObject(msg, "content", content);
    else
        cJSON_AddNullToObject(msg, "content");
    if (cJSON_GetArraySize(calls) > 0)
        cJSON_AddItemToObject(msg, "tool_calls", calls);
    else
        cJSON_Delete(calls);
    cJSON_AddNullToObject(c, "logprobs");
    cJSON_AddStringToObject(c, "finish_reason", finish);
    return c;
}

void sy_emit_chunk(const sy_chat_head *h, int index, const cJSON *delta, const char *finish,
                   sy_buf *out)
{
    sy_buf_printf(out,
                  "data: {\"id\":\"%s\",\"object\":\"chat.completion.chunk\",\"created\":%lld,"
                  "\"model\":",
                  h->id, (long long)h->created);
    sy_buf_json_string(out, h->model, strlen(h->model));
    sy_buf_printf(out, ",\"choices\":[{\"index\":%d,\"delta\":", index);
    if (delta)
        sy_print_to(delta, out);
    else
        sy_buf_puts(out, "{}");
    if (finish)
        sy_buf_printf(out, ",\"logprobs\":null,\"finish_reason\":\"%s\"}]}\n\n", finish);
    else
        sy_buf_puts(out, ",\"logprobs\":null,\"finish_reason\":null}]}\n\n");
}

void sy_emit_done(const sy_chat_head *h, sy_relay_state *rs, sy_buf *out)
{
    if (h->include_usage && rs->usage.have) {
        cJSON *o = cJSON_CreateObject();
        sy_add_head(o, h, "chat.completion.chunk");
        cJSON_AddArrayToObject(o, "choices");
        cJSON_AddItemToObject(o, "usage", sy_usage_json(&rs->usage));
        sy_buf_puts(out, "data: ");
        sy_print_to(o, out);
        sy_buf_puts(out, "\n\n");
        cJSON_Delete(o);
    }
    sy_buf_puts(out, "data: [DONE]\n\n");
    rs->saw_done = 1;
}

void sy_emit_error_event(const sy_mapped_error *e, sy_relay_state *rs, sy_buf *out)
{
    if (rs->error_sent)
        return; /* one in-band error per stream */
    const char *code = e->code ? e->code : "upstream_error";
    sy_buf_puts(out, "data: {\"error\":{\"message\":");
    sy_buf_json_string(out, e->message.data ? e->message.data : "", e->message.len);
    sy_buf_printf(out, ",\"type\":\"%s\",\"param\":null,\"code\":\"%s\"}}\n\n", e->type, code);
    rs->saw_error_event = 1;
    rs->error_sent = code;
}

void sy_emit_malformed_event(sy_relay_state *rs, sy_buf *out)
{
    sy_mapped_error e = {
        .status = 502, .type = "upstream_error", .code = "upstream_malformed_event"};
    sy_buf_puts(&e.message, "the provider sent a stream event that is not valid JSON");
    sy_emit_error_event(&e, rs, out);
    sy_mapped_error_free(&e);
}

void sy_count_content(sy_relay_state *rs, size_t bytes)
{
    if (bytes) {
        rs->content_chunks++;
        rs->content_bytes += (int64_t)bytes;
    }
}

void sy_error_prefix(sy_buf *msg, long status, int in_stream)
{
    if (in_stream)
        sy_buf_printf(msg, "provider reported error %ld mid-stream", status);
    else
        sy_buf_printf(msg, "provider returned HTTP %ld", status);
}

void sy_error_quote(sy_buf *msg, int with_message, const char *provider_msg, size_t max)
{
    if (!with_message || !provider_msg[0])
        return;
    /* scrub the whole message, then cut: a cut first could leave half a key that no
     * longer looks like one */
    sy_buf clean = {0};
    sy_scrub_append(&clean, provider_msg, strlen(provider_msg));
    size_t n = clean.len > max ? max : clean.len;
    while (n < clean.len && n > 0 && ((unsigned char)clean.data[n] & 0xC0) == 0x80)
        n--; /* not inside a UTF-8 sequence */
    sy_buf_append(msg, ": ", 2);
    sy_buf_append(msg, clean.data, n);
    sy_buf_free(&clean);
}

/* Percent-encode every byte outside [A-Za-z0-9._-]. */
void sy_url_escape(sy_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '.' || *p == '_' || *p == '-')
            sy_buf_append(b, p, 1);
        else
            sy_buf_printf(b, "%%%02X", *p);
    }
}
