/*
 * messages_request.c: a Messages API request as an OpenAI chat completions body
 * (messages_ingress.h; the rules are listed in docs/api.md, "POST /v1/messages").
 *
 * Every member is translated, dropped (bookkeeping that cannot change the answer) or
 * refused with a 400 naming it, as the upstream dialects do: the gateway does not
 * silently ignore what it cannot honour. The chat body is checked again by the chat
 * validator, so what this file lets through only has to be well-formed for it.
 */
#include "messages_ingress.h"

#include "chat_validate.h"
#include "json_body.h"
#include "validate_fail.h"

#include <stdio.h>
#include <string.h>

/* Where a refusal goes: the member's path and the static reason (returns 0). */
typedef struct refusal {
    char *param;
    size_t len;
    const char **why;
} refusal;

#define REFUSE(r, msg, ...) sy_validate_fail((r)->param, (r)->len, (r)->why, msg, __VA_ARGS__)

static const char nul_msg[] = "names and identifiers must not contain NUL (\\u0000)";

/* A member that is present and not null, or NULL. */
static const cJSON *field(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNull(v) ? NULL : v;
}

static int is(const cJSON *v, const char *s)
{
    return cJSON_IsString(v) && strcmp(v->valuestring, s) == 0;
}

/* A non-empty string without NUL (names and ids). */
static int ident_ok(const cJSON *v)
{
    return cJSON_IsString(v) && v->valuestring[0] && !sy_json_str_has_nul(v->valuestring);
}

static const char *ident_why(const cJSON *v)
{
    return cJSON_IsString(v) && v->valuestring[0] ? nul_msg : "must be a non-empty string";
}

void sy_copy_cache_control(const cJSON *from, cJSON *to)
{
    const cJSON *cc = field(from, "cache_control");
    if (cJSON_IsObject(cc))
        cJSON_AddItemToObject(to, "cache_control", cJSON_Duplicate(cc, 1));
}

cJSON *sy_text_part(const char *text, const cJSON *from)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "type", "text");
    cJSON_AddStringToObject(p, "text", text);
    if (from)
        sy_copy_cache_control(from, p);
    return p;
}

/* A text block's text, or NULL after refusing it (path: where.text). */
static const char *block_text(const refusal *r, const cJSON *b, const char *where)
{
    const cJSON *t = field(b, "text");
    if (!cJSON_IsString(t)) {
        REFUSE(r, "a text block needs a string 'text'", "%s.text", where);
        return NULL;
    }
    return t->valuestring;
}

/* A block's type, or NULL after refusing a block that is not an object with one. */
static const char *block_type(const refusal *r, const cJSON *b, const char *where)
{
    const cJSON *t = field(b, "type");
    if (!cJSON_IsObject(b) || !cJSON_IsString(t)) {
        REFUSE(r, "each content block must be an object with a string 'type'", "%s", where);
        return NULL;
    }
    return t->valuestring;
}

/* An image or document block's source as a chat part: base64 → a data: URL (images as
 * image_url, PDFs as a file part), url → image_url, a text document → a text part. */
static cJSON *source_part(const refusal *r, const cJSON *b, int document, const char *where)
{
    const cJSON *src = field(b, "source");
    const cJSON *st = field(src, "type");
    cJSON *part = NULL;
    if (is(st, "base64")) {
        const cJSON *mt = field(src, "media_type"), *data = field(src, "data");
        if (!cJSON_IsString(mt) || !mt->valuestring[0] || strchr(mt->valuestring, ';') ||
            strchr(mt->valuestring, ','))
            return REFUSE(r, "must be a media type such as image/png", "%s.source.media_type",
                          where),
                   NULL;
        if (!cJSON_IsString(data) || !data->valuestring[0])
            return REFUSE(r, "must be non-empty base64 data", "%s.source.data", where), NULL;
        sy_buf url = {0};
        sy_buf_printf(&url, "data:%s;base64,%s", mt->valuestring, data->valuestring);
        part = cJSON_CreateObject();
        if (document) {
            cJSON_AddStringToObject(part, "type", "file");
            cJSON *f = cJSON_AddObjectToObject(part, "file");
            cJSON_AddStringToObject(f, "file_data", url.data);
            const cJSON *title = field(b, "title");
            if (cJSON_IsString(title))
                cJSON_AddStringToObject(f, "filename", title->valuestring);
        } else {
            cJSON_AddStringToObject(part, "type", "image_url");
            cJSON_AddStringToObject(cJSON_AddObjectToObject(part, "image_url"), "url", url.data);
        }
        sy_buf_free(&url);
    } else if (is(st, "url") && !document) {
        const cJSON *u = field(src, "url");
        if (!cJSON_IsString(u) || !u->valuestring[0])
            return REFUSE(r, "must be a non-empty string", "%s.source.url", where), NULL;
        part = cJSON_CreateObject();
        cJSON_AddStringToObject(part, "type", "image_url");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(part, "image_url"), "url", u->valuestring);
    } else if (is(st, "text") && document) {
        const cJSON *d = field(src, "data");
        if (!cJSON_IsString(d))
            return REFUSE(r, "must be a string", "%s.source.data", where), NULL;
        part = sy_text_part(d->valuestring, NULL);
    } else {
        return REFUSE(r,
                      document ? "a document's source must be base64 (PDF) or text"
                               : "an image's source must be base64 or url",
                      "%s.source", where),
               NULL;
    }
    sy_copy_cache_control(b, part);
    return part;
}

/* A tool_result block as a chat "tool" message answering tool_use_id: string content
 * stays a string, text blocks become text parts (is_error has no chat counterpart). */
static cJSON *tool_message(const refusal *r, const cJSON *b, const char *where)
{
    const cJSON *id = field(b, "tool_use_id"), *content = field(b, "content");
    const cJSON *err = field(b, "is_error");
    if (!ident_ok(id))
        return REFUSE(r, ident_why(id), "%s.tool_use_id", where), NULL;
    if (err && !cJSON_IsBool(err))
        return REFUSE(r, "must be a boolean", "%s.is_error", where), NULL;
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "tool");
    cJSON_AddStringToObject(m, "tool_call_id", id->valuestring);
    if (!content || cJSON_IsString(content)) {
        cJSON_AddStringToObject(m, "content", content ? content->valuestring : "");
        return m;
    }
    if (!cJSON_IsArray(content)) {
        cJSON_Delete(m);
        return REFUSE(r, "must be a string or an array of text blocks", "%s.content", where), NULL;
    }
    cJSON *parts = cJSON_AddArrayToObject(m, "content");
    char at[128];
    int j = 0;
    for (const cJSON *p = content->child; p; p = p->next, j++) {
        snprintf(at, sizeof(at), "%s.content[%d]", where, j);
        const char *t = block_type(r, p, at), *text = NULL;
        if (t && strcmp(t, "text") != 0)
            REFUSE(r, "a tool result passed on as a chat tool message can hold only text blocks",
                   "%s.type", at);
        else if (t)
            text = block_text(r, p, at);
        if (!text) {
            cJSON_Delete(m);
            return NULL;
        }
        cJSON_AddItemToArray(parts, sy_text_part(text, p));
    }
    return m;
}

/*
 * A user message's blocks: each tool_result becomes a chat tool message (appended to
 * out first: chat wants them right after the assistant's calls), the other blocks one
 * user message of parts. 1, or 0 after a refusal.
 */
static int user_blocks(const refusal *r, const cJSON *content, int i, cJSON *out)
{
    cJSON *parts = cJSON_CreateArray();
    char at[96];
    int j = 0, ok = 1;
    for (const cJSON *b = content->child; b && ok; b = b->next, j++) {
        snprintf(at, sizeof(at), "messages[%d].content[%d]", i, j);
        const char *t = block_type(r, b, at);
        cJSON *part = NULL;
        if (!t) {
            ok = 0;
        } else if (strcmp(t, "text") == 0) {
            const char *text = block_text(r, b, at);
            ok = text != NULL;
            part = text ? sy_text_part(text, b) : NULL;
        } else if (strcmp(t, "image") == 0 || strcmp(t, "document") == 0) {
            part = source_part(r, b, t[0] == 'd', at);
            ok = part != NULL;
        } else if (strcmp(t, "tool_result") == 0) {
            cJSON *m = tool_message(r, b, at);
            ok = m != NULL;
            if (m)
                cJSON_AddItemToArray(out, m);
        } else {
            ok = REFUSE(r, "a user message's blocks must be text, image, document or tool_result",
                        "%s.type", at);
        }
        if (part)
            cJSON_AddItemToArray(parts, part);
    }
    if (ok && (cJSON_GetArraySize(parts) > 0 || !content->child)) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "user");
        cJSON_AddItemToObject(m, "content", parts);
        cJSON_AddItemToArray(out, m);
    } else {
        cJSON_Delete(parts);
    }
    return ok;
}

/* A tool_use block as a chat tool call (its input printed as the arguments text). */
static cJSON *tool_call(const refusal *r, const cJSON *b, const char *where)
{
    const cJSON *id = field(b, "id"), *name = field(b, "name"), *input = field(b, "input");
    if (!ident_ok(id))
        return REFUSE(r, ident_why(id), "%s.id", where), NULL;
    if (!ident_ok(name))
        return REFUSE(r, ident_why(name), "%s.name", where), NULL;
    if (input && !cJSON_IsObject(input))
        return REFUSE(r, "must be an object", "%s.input", where), NULL;
    char *args = input ? cJSON_PrintUnformatted(input) : NULL;
    cJSON *call = cJSON_CreateObject();
    cJSON_AddStringToObject(call, "id", id->valuestring);
    cJSON_AddStringToObject(call, "type", "function");
    cJSON *fn = cJSON_AddObjectToObject(call, "function");
    cJSON_AddStringToObject(fn, "name", name->valuestring);
    cJSON_AddStringToObject(fn, "arguments", args ? args : "{}");
    cJSON_free(args);
    return call;
}

/* An assistant message's blocks: text joined into content, tool_use blocks as
 * tool_calls; thinking blocks are left out (they cannot round-trip through chat). */
static int assistant_blocks(const refusal *r, const cJSON *content, int i, cJSON *out)
{
    sy_buf text = {0};
    cJSON *calls = cJSON_CreateArray();
    char at[96];
    int j = 0, ok = 1, had_text = 0;
    for (const cJSON *b = content->child; b && ok; b = b->next, j++) {
        snprintf(at, sizeof(at), "messages[%d].content[%d]", i, j);
        const char *t = block_type(r, b, at);
        if (!t) {
            ok = 0;
        } else if (strcmp(t, "text") == 0) {
            const char *s = block_text(r, b, at);
            ok = s != NULL;
            if (s) {
                sy_buf_puts(&text, s);
                had_text = 1;
            }
        } else if (strcmp(t, "tool_use") == 0) {
            cJSON *call = tool_call(r, b, at);
            ok = call != NULL;
            if (call)
                cJSON_AddItemToArray(calls, call);
        } else if (strcmp(t, "thinking") != 0 && strcmp(t, "redacted_thinking") != 0) {
            ok = REFUSE(r,
                        "an assistant message's blocks must be text, tool_use, thinking or "
                        "redacted_thinking",
                        "%s.type", at);
        }
    }
    if (ok) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "assistant");
        int called = cJSON_GetArraySize(calls) > 0;
        if (had_text || !called)
            cJSON_AddStringToObject(m, "content", text.data ? text.data : "");
        else
            cJSON_AddNullToObject(m, "content");
        if (called)
            cJSON_AddItemToObject(m, "tool_calls", calls);
        else
            cJSON_Delete(calls);
        cJSON_AddItemToArray(out, m);
    } else {
        cJSON_Delete(calls);
    }
    sy_buf_free(&text);
    return ok;
}

/* system: a string, or an array of text blocks (→ text parts, cache_control kept). */
static int system_message(const refusal *r, const cJSON *sys, cJSON *out)
{
    if (!sys)
        return 1;
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "system");
    if (cJSON_IsString(sys)) {
        cJSON_AddStringToObject(m, "content", sys->valuestring);
        cJSON_AddItemToArray(out, m);
        return 1;
    }
    cJSON *parts = cJSON_AddArrayToObject(m, "content");
    char at[48];
    int j = 0;
    for (const cJSON *b = cJSON_IsArray(sys) ? sys->child : NULL; b; b = b->next, j++) {
        snprintf(at, sizeof(at), "system[%d]", j);
        const char *t = block_type(r, b, at), *text = NULL;
        if (t && strcmp(t, "text") != 0)
            REFUSE(r, "system blocks must be text blocks", "%s.type", at);
        else if (t)
            text = block_text(r, b, at);
        if (!text) {
            cJSON_Delete(m);
            return 0;
        }
        cJSON_AddItemToArray(parts, sy_text_part(text, b));
    }
    if (!cJSON_IsArray(sys)) {
        cJSON_Delete(m);
        return REFUSE(r, "must be a string or an array of text blocks", "system");
    }
    if (j == 0)
        cJSON_Delete(m); /* an empty array says nothing */
    else
        cJSON_AddItemToArray(out, m);
    return 1;
}

/* messages → chat messages (after the system message). */
static int translate_messages(const refusal *r, const cJSON *in, cJSON *chat)
{
    const cJSON *msgs = field(in, "messages");
    if (!cJSON_IsArray(msgs) || !msgs->child)
        return REFUSE(r, "'messages' is required and must be a non-empty array", "messages");
    cJSON *out = cJSON_AddArrayToObject(chat, "messages");
    if (!system_message(r, field(in, "system"), out))
        return 0;
    int i = 0;
    for (const cJSON *m = msgs->child; m; m = m->next, i++) {
        const cJSON *role = field(m, "role"), *content = field(m, "content");
        int user = is(role, "user");
        if (!cJSON_IsObject(m) || (!user && !is(role, "assistant")))
            return REFUSE(r, "each message must be an object whose 'role' is user or assistant",
                          "messages[%d].role", i);
        if (cJSON_IsString(content)) {
            cJSON *cm = cJSON_CreateObject();
            cJSON_AddStringToObject(cm, "role", role->valuestring);
            cJSON_AddStringToObject(cm, "content", content->valuestring);
            cJSON_AddItemToArray(out, cm);
            continue;
        }
        if (!cJSON_IsArray(content))
            return REFUSE(r, "must be a string or an array of content blocks",
                          "messages[%d].content", i);
        if (!(user ? user_blocks : assistant_blocks)(r, content, i, out))
            return 0;
    }
    return 1;
}

/* tools → function tools (input_schema → parameters, cache_control kept). Server tools
 * (bash, text editor, web search, computer use...) run at Anthropic and are refused. */
static int translate_tools(const refusal *r, const cJSON *in, cJSON *chat)
{
    const cJSON *tools = field(in, "tools");
    if (!tools)
        return 1;
    if (!cJSON_IsArray(tools))
        return REFUSE(r, "must be an array of tools", "tools");
    if (!tools->child)
        return 1;
    cJSON *out = cJSON_AddArrayToObject(chat, "tools");
    int i = 0;
    for (const cJSON *t = tools->child; t; t = t->next, i++) {
        const cJSON *type = field(t, "type"), *name = field(t, "name");
        const cJSON *desc = field(t, "description"), *schema = field(t, "input_schema");
        if (!cJSON_IsObject(t))
            return REFUSE(r, "each tool must be an object", "tools[%d]", i);
        if (type && !is(type, "custom"))
            return REFUSE(r,
                          "only client tools (name, description, input_schema) are supported; "
                          "Anthropic's server tools are not",
                          "tools[%d].type", i);
        if (!ident_ok(name))
            return REFUSE(r, ident_why(name), "tools[%d].name", i);
        if (desc && !cJSON_IsString(desc))
            return REFUSE(r, "must be a string", "tools[%d].description", i);
        if (!cJSON_IsObject(schema))
            return REFUSE(r, "is required and must be a JSON Schema object",
                          "tools[%d].input_schema", i);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "function");
        cJSON *fn = cJSON_AddObjectToObject(o, "function");
        cJSON_AddStringToObject(fn, "name", name->valuestring);
        if (desc)
            cJSON_AddStringToObject(fn, "description", desc->valuestring);
        cJSON_AddItemToObject(fn, "parameters", cJSON_Duplicate(schema, 1));
        sy_copy_cache_control(t, o);
        cJSON_AddItemToArray(out, o);
    }
    return 1;
}

/* tool_choice {type: auto|any|tool|none, name, disable_parallel_tool_use} → tool_choice
 * auto|required|{function name}|none, and parallel_tool_calls false. */
static int translate_tool_choice(const refusal *r, const cJSON *in, cJSON *chat)
{
    const cJSON *tc = field(in, "tool_choice");
    if (!tc)
        return 1;
    const cJSON *type = field(tc, "type"), *dp = field(tc, "disable_parallel_tool_use");
    if (!cJSON_IsObject(tc) || !cJSON_IsString(type))
        return REFUSE(r, "must be an object with a 'type'", "tool_choice");
    const char *t = type->valuestring;
    if (strcmp(t, "tool") == 0) {
        const cJSON *name = field(tc, "name");
        if (!ident_ok(name))
            return REFUSE(r, ident_why(name), "tool_choice.name");
        cJSON *o = cJSON_AddObjectToObject(chat, "tool_choice");
        cJSON_AddStringToObject(o, "type", "function");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "function"), "name", name->valuestring);
    } else if (strcmp(t, "auto") == 0 || strcmp(t, "none") == 0) {
        cJSON_AddStringToObject(chat, "tool_choice", t);
    } else if (strcmp(t, "any") == 0) {
        cJSON_AddStringToObject(chat, "tool_choice", "required");
    } else {
        return REFUSE(r, "must be auto, any, tool or none", "tool_choice.type");
    }
    if (dp && !cJSON_IsBool(dp))
        return REFUSE(r, "must be a boolean", "tool_choice.disable_parallel_tool_use");
    if (cJSON_IsTrue(dp) && strcmp(t, "none") != 0)
        cJSON_AddFalseToObject(chat, "parallel_tool_calls");
    return 1;
}

/* A number member in [lo, hi] (integral when integer) copied as dst_name. */
static int number(const refusal *r, const cJSON *in, const char *name, int integer, double lo,
                  double hi, const char *why, cJSON *chat, const char *dst_name)
{
    const cJSON *v = field(in, name);
    if (!v)
        return 1;
    if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi ||
        (integer && v->valuedouble != (double)(int64_t)v->valuedouble))
        return REFUSE(r, why, "%s", name);
    cJSON_AddNumberToObject(chat, dst_name, v->valuedouble);
    return 1;
}

/* max_tokens, temperature, top_p, top_k, stop_sequences, metadata.user_id, stream. */
static int translate_parameters(const refusal *r, const cJSON *in, int need_max, cJSON *chat)
{
    if (need_max && !field(in, "max_tokens"))
        return REFUSE(r, "'max_tokens' is required", "max_tokens");
    if (!number(r, in, "max_tokens", 1, 1, 1e9, "must be a positive integer", chat, "max_tokens") ||
        !number(r, in, "temperature", 0, 0, 1, "must be a number from 0 to 1", chat,
                "temperature") ||
        !number(r, in, "top_p", 0, 0, 1, "must be a number from 0 to 1", chat, "top_p") ||
        !number(r, in, "top_k", 1, 1, 1e9, "must be a positive integer", chat, "top_k"))
        return 0;
    const cJSON *stop = field(in, "stop_sequences");
    if (stop) {
        int n = 0, ok = cJSON_IsArray(stop);
        for (const cJSON *s = ok ? stop->child : NULL; s; s = s->next, n++)
            ok = ok && cJSON_IsString(s) && s->valuestring[0];
        if (!ok || n > 4)
            return REFUSE(r, "must be an array of at most 4 non-empty strings", "stop_sequences");
        if (n)
            cJSON_AddItemToObject(chat, "stop", cJSON_Duplicate(stop, 1));
    }
    const cJSON *md = field(in, "metadata");
    if (md && !cJSON_IsObject(md))
        return REFUSE(r, "must be an object", "metadata");
    const cJSON *uid = field(md, "user_id");
    if (uid && (!cJSON_IsString(uid) || sy_json_str_has_nul(uid->valuestring)))
        return REFUSE(r, cJSON_IsString(uid) ? nul_msg : "must be a string", "metadata.user_id");
    if (uid && uid->valuestring[0])
        cJSON_AddStringToObject(chat, "user", uid->valuestring);
    const cJSON *stream = field(in, "stream");
    if (stream && !cJSON_IsBool(stream))
        return REFUSE(r, "must be a boolean", "stream");
    if (cJSON_IsTrue(stream)) {
        cJSON_AddTrueToObject(chat, "stream");
        cJSON_AddTrueToObject(cJSON_AddObjectToObject(chat, "stream_options"), "include_usage");
    }
    return 1;
}

/*
 * Members the translation does not know are refused; null counts as absent. "thinking"
 * is accepted only disabled: thinking blocks cannot round-trip through the chat form.
 * service_tier is dropped (it cannot change the answer).
 */
static int check_members(const refusal *r, const cJSON *in)
{
    static const char *const known[] = {"model",          "messages",    "system",   "max_tokens",
                                        "stop_sequences", "temperature", "top_p",    "top_k",
                                        "tools",          "tool_choice", "metadata", "stream",
                                        "service_tier",   "thinking"};
    const char *forbidden = sy_request_forbidden_field(in);
    if (forbidden)
        return REFUSE(r, SY_FORBIDDEN_FIELD_MSG, "%s", forbidden);
    for (const cJSON *m = in->child; m; m = m->next) {
        size_t k = 0;
        while (k < SY_ARRAY_LEN(known) && strcmp(m->string, known[k]) != 0)
            k++;
        if (k == SY_ARRAY_LEN(known) && !cJSON_IsNull(m))
            return REFUSE(r, "not supported by the gateway's Messages API", "%.100s", m->string);
    }
    const cJSON *th = field(in, "thinking");
    if (th && !is(field(th, "type"), "disabled"))
        return REFUSE(r,
                      "extended thinking is not supported through the gateway (thinking "
                      "blocks cannot round-trip through its chat form); only "
                      "{\"type\":\"disabled\"} is accepted",
                      "thinking");
    const cJSON *tier = field(in, "service_tier");
    if (tier && !cJSON_IsString(tier))
        return REFUSE(r, "must be a string", "service_tier");
    return 1;
}

cJSON *sy_messages_to_chat(const cJSON *in, int need_max_tokens, char *param, size_t param_len,
                           const char **why)
{
    refusal r = {param, param_len, why};
    param[0] = '\0';
    if (!cJSON_IsObject(in)) {
        REFUSE(&r, "the request body must be a JSON object", "%s", "");
        return NULL;
    }
    const cJSON *model = field(in, "model");
    cJSON *chat = cJSON_CreateObject();
    int ok = check_members(&r, in);
    if (ok && !ident_ok(model))
        ok = REFUSE(&r,
                    cJSON_IsString(model) && model->valuestring[0]
                        ? nul_msg
                        : "'model' is required and must be a non-empty string",
                    "model");
    if (ok)
        cJSON_AddStringToObject(chat, "model", model->valuestring);
    ok = ok && translate_messages(&r, in, chat) && translate_tools(&r, in, chat) &&
         translate_tool_choice(&r, in, chat) && translate_parameters(&r, in, need_max_tokens, chat);
    if (!ok) {
        cJSON_Delete(chat);
        return NULL;
    }
    return chat;
}

int64_t sy_messages_token_estimate(const cJSON *chat)
{
    char *s = cJSON_PrintUnformatted(chat);
    size_t n = s ? strlen(s) : 0;
    cJSON_free(s);
    return (int64_t)((n + 3) / 4);
}
