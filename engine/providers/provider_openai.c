/*
 * provider_openai.c — the OpenAI Chat Completions dialect (OpenAI, vLLM, Ollama,
 * DeepSeek, Together, OpenRouter ...). Requests and responses pass through almost
 * untouched: the model name is substituted, usage is requested for streams, and the
 * response bytes are relayed verbatim while usage and finish reason are read on the way,
 * except the top-level "id" and "model" of the answer and of every chunk, which become
 * the gateway's request id and the model name the client sees (as in the other dialects).
 */
#include "adapter.h"
#include "provider_util.h"

#include "json_body.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Find `"key"` followed by optional spaces and ':' in s[0..n); returns the value start. */
static const char *find_value(const char *s, size_t n, const char *key)
{
    size_t kl = strlen(key);
    const char *end = s + n, *p = s;
    while ((p = memmem(p, (size_t)(end - p), key, kl))) {
        const char *q = p + kl;
        if (p > s && p[-1] == '"' && q < end && *q == '"') {
            q++;
            while (q < end && (*q == ' ' || *q == '\t'))
                q++;
            if (q < end && *q == ':') {
                q++;
                while (q < end && (*q == ' ' || *q == '\t'))
                    q++;
                return q < end ? q : NULL;
            }
        }
        p += kl;
    }
    return NULL;
}

/* Bytes inside the JSON string literal starting at v (escapes count as one byte), or 0
 * when v is not a string. Used to estimate tokens of streams that never report usage. */
static size_t string_bytes(const char *v, const char *end)
{
    if (!v || v >= end || *v != '"')
        return 0;
    size_t n = 0;
    for (const char *p = v + 1; p < end && *p != '"'; p++, n++)
        if (*p == '\\' && p + 1 < end)
            p++;
    return n;
}

static void copy_finish_reason(const cJSON *choices, sy_relay_state *rs)
{
    const cJSON *c0 = cJSON_GetArrayItem(choices, 0);
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(c0, "finish_reason");
    if (cJSON_IsString(fr))
        snprintf(rs->finish_reason, sizeof(rs->finish_reason), "%s", fr->valuestring);
}

static int openai_build(const sy_provider_cfg *prov, const sy_model_cfg *model, cJSON *req,
                        int stream, sy_relay_state *rs, sy_upstream_call *out,
                        const char **bad_param, const char **why)
{
    cJSON_ReplaceItemInObjectCaseSensitive(req, "model", cJSON_CreateString(model->upstream_name));
    if (stream) {
        /* Ask for usage so cost is exact; hide the extra chunk if the client didn't ask. */
        cJSON *so = cJSON_GetObjectItemCaseSensitive(req, "stream_options");
        if (!cJSON_IsObject(so)) {
            cJSON_DeleteItemFromObjectCaseSensitive(req, "stream_options");
            so = cJSON_AddObjectToObject(req, "stream_options");
        }
        cJSON *iu = cJSON_GetObjectItemCaseSensitive(so, "include_usage");
        if (!cJSON_IsTrue(iu)) {
            rs->strip_usage_chunk = 1;
            cJSON_DeleteItemFromObjectCaseSensitive(so, "include_usage");
            cJSON_AddTrueToObject(so, "include_usage");
        }
    }
    sy_buf_printf(&out->url, "%s/chat/completions", prov->base_url);
    sy_buf auth = {0}; /* the bearer token goes in as the extra header */
    if (prov->api_key)
        sy_buf_printf(&auth, "Authorization: Bearer %s", prov->api_key);
    int rc = sy_upstream_finish(out, cJSON_PrintUnformatted(req), stream, auth.data, NULL, NULL,
                                bad_param, why);
    sy_buf_free(&auth);
    return rc;
}

/*
 * The non-stream answer is relayed verbatim; the gateway only needs to know that it is
 * a JSON object with a "choices" array, its "usage" and choices[0].finish_reason.
 * Building a cJSON tree of the whole answer (every content string copied, a node
 * allocated per value) was the largest single cost of a request, so a scanner walks the
 * document instead: it checks the grammar without allocating (RFC 8259, plus what
 * cJSON_ParseWithLength also allows: a UTF-8 byte order mark, bytes after the value,
 * raw control characters in strings) and records the spans of the few values wanted;
 * only "usage" (a few hundred bytes) and the finish reason string go through cJSON.
 * A member name written with escapes sends the answer down the cJSON path, so that
 * matching names stays exactly cJSON's.
 */
#define SCAN_MAX_DEPTH 1000 /* cJSON's CJSON_NESTING_LIMIT */

typedef struct {
    const char *end;
    int escaped_key; /* a member name contained a backslash */
} json_scan;

static const char *scan_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static int hexval(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* p at '"': returns the byte after the closing quote, or NULL. */
static const char *scan_string(const char *p, const char *end, int *escaped)
{
    /* fast path: a string without escapes (memchr is vectorised) */
    const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
    if (q && !memchr(p + 1, '\\', (size_t)(q - p - 1)))
        return q + 1;
    for (p++; p < end; p++) {
        if (*p == '"')
            return p + 1;
        if (*p != '\\')
            continue;
        if (escaped)
            *escaped = 1;
        if (++p >= end)
            return NULL;
        switch (*p) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            break;
        case 'u':
            if (end - p < 5 || !hexval(p[1]) || !hexval(p[2]) || !hexval(p[3]) || !hexval(p[4]))
                return NULL;
            p += 4;
            break;
        default:
            return NULL;
        }
    }
    return NULL;
}

static const char *scan_digits(const char *p, const char *end)
{
    const char *q = p;
    while (q < end && *q >= '0' && *q <= '9')
        q++;
    return q > p ? q : NULL;
}

static const char *scan_number(const char *p, const char *end)
{
    if (*p == '-')
        p++;
    if (!(p = scan_digits(p, end)))
        return NULL;
    if (p < end && *p == '.' && !(p = scan_digits(p + 1, end)))
        return NULL;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (!(p = scan_digits(p, end)))
            return NULL;
    }
    return p;
}

static const char *scan_value(json_scan *s, const char *p, int depth);

/* p at '{' or '['; calls back with each object member (name span without quotes,
 * value start and end) when `member` is given. Returns the byte after the container. */
static const char *
scan_container(json_scan *s, const char *p, int depth,
               void (*member)(void *, const char *, size_t, const char *, const char *), void *ud)
{
    const char *end = s->end;
    char close = *p == '{' ? '}' : ']';
    if (depth >= SCAN_MAX_DEPTH)
        return NULL;
    p = scan_ws(p + 1, end);
    if (p < end && *p == close)
        return p + 1;
    for (;;) {
        const char *name = NULL;
        size_t name_len = 0;
        if (close == '}') {
            if (p >= end || *p != '"')
                return NULL;
            int esc = 0;
            const char *q = scan_string(p, end, &esc);
            if (!q)
                return NULL;
            s->escaped_key |= esc;
            name = p + 1;
            name_len = (size_t)(q - 1 - name);
            p = scan_ws(q, end);
            if (p >= end || *p != ':')
                return NULL;
            p = scan_ws(p + 1, end);
        }
        const char *v = p;
        if (!(p = scan_value(s, p, depth + 1)))
            return NULL;
        if (member && name)
            member(ud, name, name_len, v, p);
        p = scan_ws(p, end);
        if (p < end && *p == ',') {
            p = scan_ws(p + 1, end);
            continue;
        }
        return p < end && *p == close ? p + 1 : NULL;
    }
}

static const char *scan_literal(const char *p, const char *end, const char *lit, size_t n)
{
    return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0 ? p + n : NULL;
}

static const char *scan_value(json_scan *s, const char *p, int depth)
{
    const char *end = s->end;
    if (p >= end)
        return NULL;
    switch (*p) {
    case '{':
    case '[':
        return scan_container(s, p, depth, NULL, NULL);
    case '"':
        return scan_string(p, end, NULL);
    case 't':
        return scan_literal(p, end, "true", 4);
    case 'f':
        return scan_literal(p, end, "false", 5);
    case 'n':
        return scan_literal(p, end, "null", 4);
    default:
        return (*p == '-' || (*p >= '0' && *p <= '9')) ? scan_number(p, end) : NULL;
    }
}

typedef struct {
    const char *v, *v_end; /* the first member with the wanted name */
    const char *name;
} span_pick;

/* Member callback: remember the first member called pick->name. */
static void pick_member(void *ud, const char *name, size_t len, const char *v, const char *v_end)
{
    span_pick *pk = ud;
    if (!pk->v && strlen(pk->name) == len && memcmp(name, pk->name, len) == 0) {
        pk->v = v;
        pk->v_end = v_end;
    }
}

typedef struct {
    span_pick choices, usage, id, model;
} top_pick;

static void top_member(void *ud, const char *name, size_t len, const char *v, const char *v_end)
{
    top_pick *t = ud;
    pick_member(&t->choices, name, len, v, v_end);
    pick_member(&t->usage, name, len, v, v_end);
    pick_member(&t->id, name, len, v, v_end);
    pick_member(&t->model, name, len, v, v_end);
}

/*
 * Append body[0..len) with the string values of its top-level "id" and "model" (spans
 * found by the scan, t) replaced by the request id and the client's model name; a member
 * that is missing or not a string stays as it is.
 */
static void append_identity(const char *body, size_t len, const top_pick *t,
                            const sy_relay_state *rs, sy_buf *out)
{
    const span_pick *sp[2] = {&t->id, &t->model};
    const char *with[2] = {rs->client_id, rs->client_model};
    if (sp[1]->v && sp[0]->v && sp[1]->v < sp[0]->v) { /* in the order they appear */
        const span_pick *x = sp[0];
        sp[0] = sp[1], sp[1] = x;
        const char *y = with[0];
        with[0] = with[1], with[1] = y;
    }
    const char *p = body;
    for (int i = 0; i < 2; i++) {
        if (!sp[i]->v || *sp[i]->v != '"' || !with[i])
            continue;
        sy_buf_append(out, p, (size_t)(sp[i]->v - p));
        sy_buf_json_string(out, with[i], strlen(with[i]));
        p = sp[i]->v_end;
    }
    sy_buf_append(out, p, (size_t)(body + len - p));
}

/* A JSON string value (span from scan_string) into out, as snprintf("%s") of its
 * decoded text would leave it; escapes are decoded by cJSON. */
static void string_value(const char *v, const char *v_end, char *out, size_t cap)
{
    size_t n = (size_t)(v_end - v) - 2;
    if (!memchr(v + 1, '\\', n)) {
        if (n >= cap)
            n = cap - 1;
        memcpy(out, v + 1, n);
        out[n] = '\0';
        return;
    }
    cJSON *str = cJSON_ParseWithLength(v, (size_t)(v_end - v));
    if (cJSON_IsString(str))
        snprintf(out, cap, "%s", str->valuestring);
    cJSON_Delete(str);
}

/* sy_usage_from_openai over a scanned "usage" object: the first prompt_tokens,
 * completion_tokens and prompt_tokens_details.cached_tokens, each read as cJSON
 * would (a number >= 0 truncated to an integer, anything else 0). */
typedef struct {
    span_pick prompt, completion, details;
} usage_pick;

static void usage_member(void *ud, const char *name, size_t len, const char *v, const char *v_end)
{
    usage_pick *u = ud;
    pick_member(&u->prompt, name, len, v, v_end);
    pick_member(&u->completion, name, len, v, v_end);
    pick_member(&u->details, name, len, v, v_end);
}

static int64_t span_count(const span_pick *pk)
{
    if (!pk->v || !(*pk->v == '-' || (*pk->v >= '0' && *pk->v <= '9')))
        return 0;
    double d = strtod(pk->v, NULL); /* a valid JSON number, then a delimiter */
    return d >= 0 ? (int64_t)d : 0;
}

static void usage_from_span(json_scan *s, const char *v, sy_usage *u)
{
    usage_pick up = {.prompt.name = "prompt_tokens",
                     .completion.name = "completion_tokens",
                     .details.name = "prompt_tokens_details"};
    scan_container(s, v, 1, usage_member, &up);
    u->prompt_tokens = span_count(&up.prompt);
    u->completion_tokens = span_count(&up.completion);
    u->cached_tokens = 0;
    if (up.details.v && *up.details.v == '{') {
        span_pick cached = {.name = "cached_tokens"};
        scan_container(s, up.details.v, 2, pick_member, &cached);
        u->cached_tokens = span_count(&cached);
    }
    u->have = 1;
}

/* The old path, for answers whose member names use escapes (re-printed when the id or
 * the model is replaced). */
static int response_cjson(const char *body, size_t len, sy_relay_state *rs, sy_buf *out)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(root) ||
        !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "choices"))) {
        cJSON_Delete(root);
        return SY_ERR_INVALID;
    }
    sy_usage_from_openai(cJSON_GetObjectItemCaseSensitive(root, "usage"), &rs->usage);
    copy_finish_reason(cJSON_GetObjectItemCaseSensitive(root, "choices"), rs);
    if (!rs->client_id && !rs->client_model) {
        cJSON_Delete(root);
        sy_buf_append(out, body, len);
        return 0;
    }
    if (rs->client_id && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "id")))
        cJSON_ReplaceItemInObjectCaseSensitive(root, "id", cJSON_CreateString(rs->client_id));
    if (rs->client_model && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "model")))
        cJSON_ReplaceItemInObjectCaseSensitive(root, "model", cJSON_CreateString(rs->client_model));
    char *printed = cJSON_PrintUnformatted(root);
    sy_buf_puts(out, printed);
    free(printed);
    cJSON_Delete(root);
    return 0;
}

static int openai_response(const char *body, size_t len, sy_relay_state *rs, sy_buf *out)
{
    json_scan s = {.end = body + len};
    const char *p = body;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    p = scan_ws(p, s.end);
    top_pick t = {
        .choices.name = "choices", .usage.name = "usage", .id.name = "id", .model.name = "model"};
    if (p >= s.end || *p != '{' || !scan_container(&s, p, 0, top_member, &t))
        return SY_ERR_INVALID;
    if (s.escaped_key)
        return response_cjson(body, len, rs, out);
    if (!t.choices.v || *t.choices.v != '[')
        return SY_ERR_INVALID;
    if (t.usage.v && *t.usage.v == '{')
        usage_from_span(&s, t.usage.v, &rs->usage);
    /* choices[0].finish_reason: the first element's span, then its member */
    const char *e0 = scan_ws(t.choices.v + 1, t.choices.v_end);
    if (*e0 == '{') {
        span_pick fr = {.name = "finish_reason"};
        scan_container(&s, e0, 1, pick_member, &fr);
        if (fr.v && *fr.v == '"')
            string_value(fr.v, fr.v_end, rs->finish_reason, sizeof(rs->finish_reason));
    }
    append_identity(body, len, &t, rs, out);
    return 0;
}

/* Quote at most 300 bytes of the upstream's error message, credentials scrubbed. */
static void upstream_message(const cJSON *root, sy_buf *msg)
{
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *m = cJSON_IsObject(err)   ? cJSON_GetObjectItemCaseSensitive(err, "message")
                     : cJSON_IsString(err) ? err
                                           : cJSON_GetObjectItemCaseSensitive(root, "message");
    if (cJSON_IsString(m))
        sy_error_quote(msg, 1, m->valuestring, 300);
}

/* An upstream error event inside a stream → the one in-band error the client gets. */
static void stream_error(const cJSON *root, sy_relay_state *rs, sy_buf *out)
{
    sy_mapped_error e = {.status = 502, .type = "upstream_error", .code = "upstream_stream_error"};
    sy_error_prefix(&e.message, 500, 1);
    upstream_message(root, &e.message);
    sy_emit_error_event(&e, rs, out);
    sy_mapped_error_free(&e);
}

/*
 * Relay an event's raw bytes with its top-level "id" and "model" replaced
 * (append_identity); data must lie inside raw, as the SSE parser hands it over, else the
 * event is rebuilt as one data line.
 */
static void relay_event(const char *data, size_t data_len, const char *raw, size_t raw_len,
                        const sy_relay_state *rs, sy_buf *out)
{
    json_scan s = {.end = data + data_len};
    top_pick t = {
        .choices.name = "choices", .usage.name = "usage", .id.name = "id", .model.name = "model"};
    const char *p = scan_ws(data, s.end);
    if ((!rs->client_id && !rs->client_model) || p >= s.end || *p != '{' ||
        !scan_container(&s, p, 0, top_member, &t) || s.escaped_key || (!t.id.v && !t.model.v)) {
        sy_buf_append(out, raw, raw_len);
        return;
    }
    if (data >= raw && data + data_len <= raw + raw_len) {
        sy_buf_append(out, raw, (size_t)(data - raw));
        append_identity(data, data_len, &t, rs, out);
        sy_buf_append(out, data + data_len, (size_t)(raw + raw_len - (data + data_len)));
    } else {
        sy_buf_puts(out, "data: ");
        append_identity(data, data_len, &t, rs, out);
        sy_buf_puts(out, "\n\n");
    }
}

/*
 * Relay one event verbatim, parsing its JSON only when it may carry usage, a finish
 * reason or an error: most content chunks are forwarded after two substring scans.
 */
static void openai_stream_event(const char *event, size_t event_len, const char *data,
                                size_t data_len, const char *raw, size_t raw_len,
                                sy_relay_state *rs, sy_buf *out)
{
    if (rs->error_sent)
        return; /* the stream ended with its in-band error: nothing after it */
    if (data_len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        rs->saw_done = 1;
        sy_buf_append(out, raw, raw_len);
        return;
    }
    /* Every event is checked to be one JSON value (no tree: sy_json_valid), so a broken
     * chunk is never relayed; it ends the stream with one in-band error. Events up to
     * the first content are parsed: a provider that fails before producing anything can
     * still be replaced before the client has seen a byte (the pipeline holds the stream
     * back until content). */
    if (data_len && !sy_json_valid(data, data_len)) {
        sy_emit_malformed_event(rs, out);
        return;
    }
    if (data_len && rs->content_chunks == 0 && !rs->finish_reason[0]) {
        cJSON *first = cJSON_ParseWithLength(data, data_len);
        int is_error = !cJSON_IsObject(first) || cJSON_GetObjectItemCaseSensitive(first, "error");
        if (is_error)
            stream_error(first, rs, out);
        cJSON_Delete(first);
        if (is_error)
            return;
    }
    const char *end = data + data_len;
    size_t text = string_bytes(find_value(data, data_len, "content"), end) +
                  string_bytes(find_value(data, data_len, "arguments"), end);
    if (text) {
        rs->content_chunks++;
        rs->content_bytes += (int64_t)text;
    }
    const char *fr = find_value(data, data_len, "finish_reason");
    const char *usage = find_value(data, data_len, "usage");
    int interesting = (fr && *fr != 'n') || (usage && *usage == '{') ||
                      find_value(data, data_len, "error") != NULL;
    if (interesting) {
        cJSON *root = cJSON_ParseWithLength(data, data_len);
        if (cJSON_IsObject(root)) {
            const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
            const cJSON *u = cJSON_GetObjectItemCaseSensitive(root, "usage");
            if (cJSON_GetObjectItemCaseSensitive(root, "error")) {
                stream_error(root, rs, out); /* scrubbed, never the raw event */
                cJSON_Delete(root);
                return;
            }
            if (cJSON_IsObject(u))
                sy_usage_from_openai(u, &rs->usage);
            copy_finish_reason(choices, rs);
            int usage_only =
                cJSON_IsObject(u) && cJSON_IsArray(choices) && cJSON_GetArraySize(choices) == 0;
            cJSON_Delete(root);
            if (usage_only && rs->strip_usage_chunk)
                return; /* requested by the gateway, not by the client */
        } else {
            cJSON_Delete(root);
        }
    }
    relay_event(data, data_len, raw, raw_len, rs, out);
}

static const char *upstream_code(const cJSON *root)
{
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(err, "code");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(err, "type");
    if (cJSON_IsString(c))
        return c->valuestring;
    return cJSON_IsString(t) ? t->valuestring : "";
}

static void openai_error(long status, const char *body, size_t len, const char *retry_after,
                         sy_mapped_error *out)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    sy_buf_printf(&out->message, "provider returned HTTP %ld", status);
    int quota =
        status == 429 && !retry_after && strcmp(upstream_code(root), "insufficient_quota") == 0;
    int with_message = sy_map_http_status(status, quota, out);
    if (with_message && root)
        upstream_message(root, &out->message);
    cJSON_Delete(root);
}

const sy_adapter sy_adapter_openai = {
    .dialect = SY_DIALECT_OPENAI,
    .build = openai_build,
    .response = openai_response,
    .stream_event = openai_stream_event,
    .error = openai_error,
};
