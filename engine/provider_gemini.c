/*
 * provider_gemini.c — the Google Gemini generateContent dialect (docs/providers-gemini.md).
 *
 * Unlike the OpenAI dialect nothing passes through verbatim: the client's Chat
 * Completions body becomes a GenerateContentRequest (contents, systemInstruction, tools,
 * toolConfig, generationConfig), and Gemini's GenerateContentResponse — whole, or one per
 * SSE event when streaming — becomes an OpenAI chat.completion or a sequence of
 * chat.completion.chunk events. Parameters the translation cannot honour are refused
 * with a 400 naming them rather than silently dropped; the few that are dropped are
 * bookkeeping hints with no effect on the answer (the document lists them).
 *
 * The key travels in the x-goog-api-key header, never in the URL (DESIGN.md §4).
 *
 * Per-request state (gm_state, in rs->priv) is created by build and freed by release:
 * the response id and timestamp every chunk repeats, the client's model name, whether
 * the client asked for the usage chunk, and what the stream translation has emitted per
 * candidate so far.
 */
#include "provider.h"

#include "clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define GM_MAX_STOP       5 /* Gemini's limit on stopSequences */
#define GM_MAX_CANDIDATES 8 /* Gemini's limit on candidateCount */
#define GM_MAX_MESSAGE    300
/* Google's documented sentinel for function calls replayed without the thought
 * signature Gemini 3 models require (the OpenAI shape has no place to carry one). */
#define GM_SKIP_SIGNATURE "skip_thought_signature_validator"

typedef struct gm_state {
    char id[40]; /* "chatcmpl-" + 24 hex digits */
    int64_t created;
    char *model; /* owned: the model name the client sees */
    int include_usage;
    /* stream translation, one bit per candidate index */
    unsigned seen, roles, finished, called;
    int tool_index[GM_MAX_CANDIDATES]; /* next tool_calls index per candidate */
    int broken;                        /* an error or undecodable event was seen: ignore the rest */
    char param[128];                   /* build: the rejected parameter (*bad_param points here) */
} gm_state;

/* ---- ids */

/* Hex digits from a per-thread splitmix64 stream seeded from the kernel's random pool
 * (and the clock, should getrandom be unavailable). Ids only need to be unique. */
static void random_hex(char *out, size_t ndigits)
{
    static _Thread_local uint64_t s;
    if (!s) {
        uint64_t seed = 0;
        if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
            seed = 0;
        s = (seed ^ sy_now_ns() ^ (uint64_t)(uintptr_t)&s) | 1;
    }
    static const char hex[] = "0123456789abcdef";
    uint64_t z = 0;
    for (size_t i = 0; i < ndigits; i++) {
        if (i % 16 == 0) {
            s += 0x9e3779b97f4a7c15ull;
            z = s;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            z ^= z >> 31;
        }
        out[i] = hex[z & 15];
        z >>= 4;
    }
    out[ndigits] = '\0';
}

static void new_call_id(char out[32])
{
    memcpy(out, "call_", 5);
    random_hex(out + 5, 24);
}

/* ---- request translation */

typedef struct gm_build {
    gm_state *st;
    const char **bad_param, **why;
} gm_build;

/* Refuse the request: the parameter's name (printf-style, kept in the state so it
 * outlives the request body) and a static reason. Returns SY_ERR_INVALID. */
static int refuse(gm_build *b, const char *why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(gm_build *b, const char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->st->param, sizeof b->st->param, fmt, ap);
    va_end(ap);
    *b->bad_param = b->st->param;
    *b->why = why;
    return SY_ERR_INVALID;
}

/* A member that is present and not null, or NULL. */
static const cJSON *field(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

/* A number with an integral value that fits in int64_t (converting a larger double is
 * undefined behaviour, and upstream bytes can say 1e300). */
static int is_integer(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= -9.2e18 && v->valuedouble <= 9.2e18 &&
           v->valuedouble == (double)(int64_t)v->valuedouble;
}

static cJSON *text_part(const char *text)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "text", text);
    return p;
}

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A "data:MIME;base64,DATA" URL as an inlineData part, or NULL when it is not one. */
static cJSON *inline_data_part(const char *url)
{
    if (!has_prefix(url, "data:"))
        return NULL;
    const char *comma = strchr(url, ',');
    const char *semi = strchr(url, ';');
    if (!comma || !semi || semi > comma || semi == url + 5 || comma - url < 12 ||
        strncmp(comma - 7, ";base64", 7) != 0)
        return NULL;
    cJSON *part = cJSON_CreateObject();
    cJSON *d = cJSON_AddObjectToObject(part, "inlineData");
    char *mime = sy_xstrndup(url + 5, (size_t)(semi - url - 5));
    cJSON_AddStringToObject(d, "mimeType", mime);
    cJSON_AddStringToObject(d, "data", comma + 1);
    free(mime);
    return part;
}

/* The media type an https URL's file extension implies (query and fragment ignored),
 * or NULL when the extension is missing or unknown. */
static const char *mime_from_url(const char *url)
{
    static const struct {
        const char *ext, *mime;
    } types[] = {
        {"png", "image/png"},   {"jpg", "image/jpeg"},      {"jpeg", "image/jpeg"},
        {"webp", "image/webp"}, {"gif", "image/gif"},       {"heic", "image/heic"},
        {"heif", "image/heif"}, {"pdf", "application/pdf"},
    };
    size_t end = strcspn(url, "?#");
    const char *dot = NULL;
    for (size_t i = 0; i < end; i++) {
        if (url[i] == '.')
            dot = url + i;
        else if (url[i] == '/')
            dot = NULL;
    }
    if (!dot)
        return NULL;
    size_t n = (size_t)(url + end - dot - 1);
    for (size_t i = 0; i < SY_ARRAY_LEN(types); i++)
        if (strlen(types[i].ext) == n && strncasecmp(dot + 1, types[i].ext, n) == 0)
            return types[i].mime;
    return NULL;
}

/*
 * One part of a user message's multi-part content: text, image_url (data: URL →
 * inlineData, https URL → fileData with the type guessed from the extension),
 * input_audio (wav/mp3 → inlineData) or file (file_data data: URL → inlineData).
 * *part is NULL (and a 400 set up) when the part cannot be translated.
 */
static int user_part(gm_build *b, const cJSON *p, size_t i, size_t j, cJSON **part)
{
    const cJSON *type = field(p, "type");
    const char *t = cJSON_IsString(type) ? type->valuestring : "";
    *part = NULL;
    if (strcmp(t, "text") == 0) {
        const cJSON *text = field(p, "text");
        if (!cJSON_IsString(text))
            return refuse(b, "must be a string", "messages[%zu].content[%zu].text", i, j);
        *part = text_part(text->valuestring);
        return SY_OK;
    }
    if (strcmp(t, "image_url") == 0) {
        const cJSON *iu = field(p, "image_url");
        const cJSON *url = cJSON_IsString(iu) ? iu : field(iu, "url");
        if (!cJSON_IsString(url))
            return refuse(b, "must be a string", "messages[%zu].content[%zu].image_url.url", i, j);
        if (has_prefix(url->valuestring, "data:")) {
            *part = inline_data_part(url->valuestring);
            if (!*part)
                return refuse(b, "data: URLs must have the form data:MIME;base64,DATA",
                              "messages[%zu].content[%zu].image_url.url", i, j);
            return SY_OK;
        }
        if (!has_prefix(url->valuestring, "https://"))
            return refuse(b, "images must be data: URLs or https URLs",
                          "messages[%zu].content[%zu].image_url.url", i, j);
        const char *mime = mime_from_url(url->valuestring);
        if (!mime)
            return refuse(b,
                          "the image type cannot be told from the URL's extension (png, jpg, "
                          "jpeg, webp, gif, heic, heif, pdf); send it as a data: URL",
                          "messages[%zu].content[%zu].image_url.url", i, j);
        *part = cJSON_CreateObject();
        cJSON *fd = cJSON_AddObjectToObject(*part, "fileData");
        cJSON_AddStringToObject(fd, "mimeType", mime);
        cJSON_AddStringToObject(fd, "fileUri", url->valuestring);
        return SY_OK;
    }
    if (strcmp(t, "input_audio") == 0) {
        const cJSON *ia = field(p, "input_audio");
        const cJSON *data = field(ia, "data"), *format = field(ia, "format");
        if (!cJSON_IsString(data) || !cJSON_IsString(format) ||
            (strcmp(format->valuestring, "wav") != 0 && strcmp(format->valuestring, "mp3") != 0))
            return refuse(b, "needs base64 data and a format of wav or mp3",
                          "messages[%zu].content[%zu].input_audio", i, j);
        *part = cJSON_CreateObject();
        cJSON *d = cJSON_AddObjectToObject(*part, "inlineData");
        cJSON_AddStringToObject(d, "mimeType",
                                format->valuestring[1] == 'a' ? "audio/wav" : "audio/mp3");
        cJSON_AddStringToObject(d, "data", data->valuestring);
        return SY_OK;
    }
    if (strcmp(t, "file") == 0) {
        const cJSON *fd = field(field(p, "file"), "file_data");
        *part = cJSON_IsString(fd) ? inline_data_part(fd->valuestring) : NULL;
        if (!*part)
            return refuse(b,
                          "only file_data given as a data:MIME;base64,DATA URL can be sent to "
                          "Gemini (file_id cannot)",
                          "messages[%zu].content[%zu].file", i, j);
        return SY_OK;
    }
    return refuse(b, "this content part type is not supported by the Gemini dialect",
                  "messages[%zu].content[%zu].type", i, j);
}

/* Text of content that may only hold text: a string, or an array of text parts
 * (assistant "refusal" parts are skipped). Appends to out; 0 or a 400. */
static int text_only(gm_build *b, const cJSON *content, size_t i, sy_buf *out)
{
    if (!content)
        return SY_OK;
    if (cJSON_IsString(content)) {
        sy_buf_puts(out, content->valuestring);
        return SY_OK;
    }
    if (!cJSON_IsArray(content))
        return refuse(b, "must be a string or an array of content parts", "messages[%zu].content",
                      i);
    size_t j = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, content)
    {
        const cJSON *type = field(p, "type"), *text = field(p, "text");
        if (cJSON_IsString(type) && strcmp(type->valuestring, "refusal") == 0) {
            j++;
            continue;
        }
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "text") != 0 ||
            !cJSON_IsString(text))
            return refuse(b, "only text parts are allowed in this message",
                          "messages[%zu].content[%zu]", i, j);
        sy_buf_puts(out, text->valuestring);
        j++;
    }
    return SY_OK;
}

/* Append parts to contents as a turn of `role`, merging into the previous turn when it
 * has the same role (Gemini expects alternating turns; parallel tool results must share
 * one turn). Takes ownership of parts. */
static void add_turn(cJSON *contents, const char *role, cJSON *parts)
{
    cJSON *last = cJSON_GetArrayItem(contents, cJSON_GetArraySize(contents) - 1);
    const cJSON *lr = cJSON_GetObjectItemCaseSensitive(last, "role");
    if (cJSON_IsString(lr) && strcmp(lr->valuestring, role) == 0) {
        cJSON *dst = cJSON_GetObjectItemCaseSensitive(last, "parts");
        while (cJSON_GetArraySize(parts) > 0)
            cJSON_AddItemToArray(dst, cJSON_DetachItemFromArray(parts, 0));
        cJSON_Delete(parts);
        return;
    }
    cJSON *turn = cJSON_CreateObject();
    cJSON_AddStringToObject(turn, "role", role);
    cJSON_AddItemToObject(turn, "parts", parts);
    cJSON_AddItemToArray(contents, turn);
}

/* Name of the function an earlier assistant tool call with this id called, or NULL. */
static const char *tool_call_name(const cJSON *messages, const cJSON *upto, const char *id)
{
    for (const cJSON *m = messages->child; m && m != upto; m = m->next) {
        const cJSON *calls = field(m, "tool_calls");
        const cJSON *c;
        cJSON_ArrayForEach(c, calls)
        {
            const cJSON *cid = field(c, "id");
            const cJSON *name = field(field(c, "function"), "name");
            if (cJSON_IsString(cid) && cJSON_IsString(name) && strcmp(cid->valuestring, id) == 0)
                return name->valuestring;
        }
    }
    return NULL;
}

/* An assistant message: its text, then one functionCall part per tool call (the first
 * one carrying the thought-signature sentinel). */
static int assistant_parts(gm_build *b, const cJSON *m, size_t i, cJSON *parts)
{
    sy_buf text = {0};
    if (text_only(b, field(m, "content"), i, &text) != SY_OK) {
        sy_buf_free(&text);
        return SY_ERR_INVALID;
    }
    if (text.len)
        cJSON_AddItemToArray(parts, text_part(text.data));
    sy_buf_free(&text);
    const cJSON *calls = field(m, "tool_calls");
    if (calls && !cJSON_IsArray(calls))
        return refuse(b, "must be an array", "messages[%zu].tool_calls", i);
    size_t j = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, calls)
    {
        const cJSON *fn = field(c, "function");
        const cJSON *name = field(fn, "name"), *args = field(fn, "arguments");
        if (!cJSON_IsString(name) || !name->valuestring[0])
            return refuse(b, "must be a non-empty string",
                          "messages[%zu].tool_calls[%zu].function.name", i, j);
        cJSON *obj = NULL;
        if (!args || (cJSON_IsString(args) && !args->valuestring[0]))
            obj = cJSON_CreateObject();
        else if (cJSON_IsString(args))
            obj = cJSON_Parse(args->valuestring);
        if (!cJSON_IsObject(obj)) {
            cJSON_Delete(obj);
            return refuse(b, "must be the text of a JSON object",
                          "messages[%zu].tool_calls[%zu].function.arguments", i, j);
        }
        cJSON *part = cJSON_CreateObject();
        cJSON *fc = cJSON_AddObjectToObject(part, "functionCall");
        cJSON_AddStringToObject(fc, "name", name->valuestring);
        cJSON_AddItemToObject(fc, "args", obj);
        if (j == 0)
            cJSON_AddStringToObject(part, "thoughtSignature", GM_SKIP_SIGNATURE);
        cJSON_AddItemToArray(parts, part);
        j++;
    }
    return SY_OK;
}

/* A tool result: a functionResponse part named after the call it answers, its text under
 * response.content (as a JSON object when the text is one). */
static int tool_part(gm_build *b, const cJSON *messages, const cJSON *m, size_t i, cJSON *parts)
{
    const cJSON *id = field(m, "tool_call_id");
    if (!cJSON_IsString(id))
        return refuse(b, "must be a string", "messages[%zu].tool_call_id", i);
    const char *name = tool_call_name(messages, m, id->valuestring);
    if (!name)
        return refuse(b, "does not match the id of an earlier assistant tool call",
                      "messages[%zu].tool_call_id", i);
    sy_buf text = {0};
    if (text_only(b, field(m, "content"), i, &text) != SY_OK) {
        sy_buf_free(&text);
        return SY_ERR_INVALID;
    }
    cJSON *value = cJSON_Parse(text.data ? text.data : "");
    if (!cJSON_IsObject(value)) {
        cJSON_Delete(value);
        value = cJSON_CreateString(text.data ? text.data : "");
    }
    sy_buf_free(&text);
    cJSON *part = cJSON_CreateObject();
    cJSON *fr = cJSON_AddObjectToObject(part, "functionResponse");
    cJSON_AddStringToObject(fr, "name", name);
    cJSON_AddItemToObject(cJSON_AddObjectToObject(fr, "response"), "content", value);
    cJSON_AddItemToArray(parts, part);
    return SY_OK;
}

/* messages → systemInstruction + contents. */
static int translate_messages(gm_build *b, const cJSON *req, cJSON *g)
{
    const cJSON *messages = field(req, "messages");
    if (!cJSON_IsArray(messages))
        return refuse(b, "must be a non-empty array", "messages");
    cJSON *contents = cJSON_AddArrayToObject(g, "contents");
    cJSON *sys = NULL;
    size_t i = 0;
    for (const cJSON *m = messages->child; m; m = m->next, i++) {
        const cJSON *role = field(m, "role");
        if (!cJSON_IsString(role))
            return refuse(b, "must be a string", "messages[%zu].role", i);
        const char *r = role->valuestring;
        if (strcmp(r, "system") == 0 || strcmp(r, "developer") == 0) {
            sy_buf text = {0};
            if (text_only(b, field(m, "content"), i, &text) != SY_OK) {
                sy_buf_free(&text);
                return SY_ERR_INVALID;
            }
            if (!sys)
                sys = cJSON_AddArrayToObject(cJSON_AddObjectToObject(g, "systemInstruction"),
                                             "parts");
            cJSON_AddItemToArray(sys, text_part(text.data ? text.data : ""));
            sy_buf_free(&text);
            continue;
        }
        cJSON *parts = cJSON_CreateArray();
        const char *grole = "user";
        int rc = SY_OK;
        if (strcmp(r, "user") == 0) {
            const cJSON *content = field(m, "content");
            if (cJSON_IsString(content)) {
                cJSON_AddItemToArray(parts, text_part(content->valuestring));
            } else if (cJSON_IsArray(content)) {
                size_t j = 0;
                for (const cJSON *p = content->child; p && rc == SY_OK; p = p->next, j++) {
                    cJSON *part;
                    rc = user_part(b, p, i, j, &part);
                    if (rc == SY_OK)
                        cJSON_AddItemToArray(parts, part);
                }
            } else {
                rc = refuse(b, "must be a string or an array of content parts",
                            "messages[%zu].content", i);
            }
        } else if (strcmp(r, "assistant") == 0) {
            grole = "model";
            rc = assistant_parts(b, m, i, parts);
        } else if (strcmp(r, "tool") == 0) {
            rc = tool_part(b, messages, m, i, parts);
        } else {
            rc = refuse(b, "role must be system, developer, user, assistant or tool",
                        "messages[%zu].role", i);
        }
        if (rc != SY_OK || cJSON_GetArraySize(parts) == 0) {
            cJSON_Delete(parts); /* an empty assistant turn is left out */
            if (rc != SY_OK)
                return rc;
            continue;
        }
        add_turn(contents, grole, parts);
    }
    if (cJSON_GetArraySize(contents) == 0)
        return refuse(b, "Gemini needs at least one user or assistant message", "messages");
    return SY_OK;
}

/* tools → tools[0].functionDeclarations. OpenAI's parameters are JSON Schema, so they go
 * to parametersJsonSchema (Gemini's `parameters` takes an OpenAPI subset that rejects
 * common JSON Schema keywords); "strict" has no counterpart and is dropped. */
static int translate_tools(gm_build *b, const cJSON *req, cJSON *g)
{
    const cJSON *tools = field(req, "tools");
    if (!tools)
        return SY_OK;
    if (!cJSON_IsArray(tools))
        return refuse(b, "must be an array", "tools");
    if (cJSON_GetArraySize(tools) == 0)
        return SY_OK;
    cJSON *decls = cJSON_CreateArray();
    size_t i = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, tools)
    {
        const cJSON *type = field(t, "type"), *fn = field(t, "function");
        const cJSON *name = field(fn, "name"), *desc = field(fn, "description");
        const cJSON *params = field(fn, "parameters");
        int rc = SY_OK;
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "function") != 0)
            rc = refuse(b, "only function tools can be sent to Gemini", "tools[%zu].type", i);
        else if (!cJSON_IsString(name) || !name->valuestring[0])
            rc = refuse(b, "must be a non-empty string", "tools[%zu].function.name", i);
        else if (desc && !cJSON_IsString(desc))
            rc = refuse(b, "must be a string", "tools[%zu].function.description", i);
        else if (params && !cJSON_IsObject(params))
            rc = refuse(b, "must be a JSON Schema object", "tools[%zu].function.parameters", i);
        if (rc != SY_OK) {
            cJSON_Delete(decls);
            return rc;
        }
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "name", name->valuestring);
        if (desc)
            cJSON_AddStringToObject(d, "description", desc->valuestring);
        if (params)
            cJSON_AddItemToObject(d, "parametersJsonSchema", cJSON_Duplicate(params, 1));
        cJSON_AddItemToArray(decls, d);
        i++;
    }
    cJSON *tool = cJSON_CreateObject();
    cJSON_AddItemToObject(tool, "functionDeclarations", decls);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(g, "tools"), tool);
    return SY_OK;
}

/* tool_choice → toolConfig.functionCallingConfig: auto → AUTO, none → NONE, required →
 * ANY, one named function → ANY restricted to it. */
static int translate_tool_choice(gm_build *b, const cJSON *req, cJSON *g)
{
    const cJSON *tc = field(req, "tool_choice");
    if (!tc)
        return SY_OK;
    const char *mode = NULL, *only = NULL;
    if (cJSON_IsString(tc)) {
        if (strcmp(tc->valuestring, "auto") == 0)
            mode = "AUTO";
        else if (strcmp(tc->valuestring, "none") == 0)
            mode = "NONE";
        else if (strcmp(tc->valuestring, "required") == 0)
            mode = "ANY";
    } else {
        const cJSON *type = field(tc, "type");
        const cJSON *name = field(field(tc, "function"), "name");
        if (cJSON_IsString(type) && strcmp(type->valuestring, "function") == 0 &&
            cJSON_IsString(name) && name->valuestring[0]) {
            mode = "ANY";
            only = name->valuestring;
        }
    }
    if (!mode)
        return refuse(b,
                      "must be \"auto\", \"none\", \"required\" or "
                      "{\"type\":\"function\",\"function\":{\"name\":...}}",
                      "tool_choice");
    cJSON *fcc =
        cJSON_AddObjectToObject(cJSON_AddObjectToObject(g, "toolConfig"), "functionCallingConfig");
    cJSON_AddStringToObject(fcc, "mode", mode);
    if (only)
        cJSON_AddItemToArray(cJSON_AddArrayToObject(fcc, "allowedFunctionNames"),
                             cJSON_CreateString(only));
    return SY_OK;
}

/* A numeric parameter copied into generationConfig under another name after a range
 * check; `why` says what is allowed. */
static int number_param(gm_build *b, const cJSON *req, const char *name, int integer, double min,
                        double max, const char *why, cJSON *gc, const char *gname)
{
    const cJSON *v = field(req, name);
    if (!v)
        return SY_OK;
    if (!cJSON_IsNumber(v) || (integer && !is_integer(v)) || v->valuedouble < min ||
        v->valuedouble > max)
        return refuse(b, why, "%s", name);
    cJSON_AddNumberToObject(gc, gname, v->valuedouble);
    return SY_OK;
}

/* max_tokens / max_completion_tokens (the smaller when both are given) → maxOutputTokens. */
static int max_tokens_param(gm_build *b, const cJSON *req, cJSON *gc)
{
    static const char *const names[] = {"max_tokens", "max_completion_tokens"};
    double limit = -1;
    for (size_t i = 0; i < SY_ARRAY_LEN(names); i++) {
        const cJSON *v = field(req, names[i]);
        if (!v)
            continue;
        if (!is_integer(v) || v->valuedouble < 1 || v->valuedouble > 2147483647.0)
            return refuse(b, "must be a positive integer", "%s", names[i]);
        if (limit < 0 || v->valuedouble < limit)
            limit = v->valuedouble;
    }
    if (limit > 0)
        cJSON_AddNumberToObject(gc, "maxOutputTokens", limit);
    return SY_OK;
}

/* stop: a string or up to GM_MAX_STOP strings → stopSequences. */
static int stop_param(gm_build *b, const cJSON *req, cJSON *gc)
{
    const cJSON *stop = field(req, "stop");
    if (!stop)
        return SY_OK;
    cJSON *seq = cJSON_CreateArray();
    if (cJSON_IsString(stop)) {
        cJSON_AddItemToArray(seq, cJSON_CreateString(stop->valuestring));
    } else if (cJSON_IsArray(stop)) {
        if (cJSON_GetArraySize(stop) > GM_MAX_STOP) {
            cJSON_Delete(seq);
            return refuse(b, "Gemini accepts at most 5 stop sequences", "stop");
        }
        size_t i = 0;
        const cJSON *s;
        cJSON_ArrayForEach(s, stop)
        {
            if (!cJSON_IsString(s)) {
                cJSON_Delete(seq);
                return refuse(b, "must be a string", "stop[%zu]", i);
            }
            cJSON_AddItemToArray(seq, cJSON_CreateString(s->valuestring));
            i++;
        }
    } else {
        cJSON_Delete(seq);
        return refuse(b, "must be a string or an array of strings", "stop");
    }
    if (cJSON_GetArraySize(seq) > 0)
        cJSON_AddItemToObject(gc, "stopSequences", seq);
    else
        cJSON_Delete(seq);
    return SY_OK;
}

/* response_format: json_object → responseMimeType application/json; json_schema → the
 * same plus responseJsonSchema (the schema is JSON Schema, as OpenAI defines it). */
static int response_format_param(gm_build *b, const cJSON *req, cJSON *gc)
{
    const cJSON *rf = field(req, "response_format");
    if (!rf)
        return SY_OK;
    const cJSON *type = field(rf, "type");
    const char *t = cJSON_IsString(type) ? type->valuestring : "";
    if (strcmp(t, "text") == 0)
        return SY_OK;
    if (strcmp(t, "json_object") == 0) {
        cJSON_AddStringToObject(gc, "responseMimeType", "application/json");
        return SY_OK;
    }
    if (strcmp(t, "json_schema") == 0) {
        const cJSON *schema = field(field(rf, "json_schema"), "schema");
        if (schema && !cJSON_IsObject(schema))
            return refuse(b, "must be a JSON Schema object", "response_format.json_schema.schema");
        cJSON_AddStringToObject(gc, "responseMimeType", "application/json");
        if (schema)
            cJSON_AddItemToObject(gc, "responseJsonSchema", cJSON_Duplicate(schema, 1));
        return SY_OK;
    }
    return refuse(b, "must be text, json_object or json_schema", "response_format.type");
}

/* reasoning_effort → thinkingConfig.thinkingBudget, with the budgets Google's own
 * OpenAI-compatible endpoint uses. */
static int reasoning_param(gm_build *b, const cJSON *req, cJSON *gc)
{
    static const struct {
        const char *effort;
        int budget;
    } levels[] = {{"none", 0}, {"minimal", 0}, {"low", 1024}, {"medium", 8192}, {"high", 24576}};
    const cJSON *v = field(req, "reasoning_effort");
    if (!v)
        return SY_OK;
    for (size_t i = 0; cJSON_IsString(v) && i < SY_ARRAY_LEN(levels); i++) {
        if (strcmp(v->valuestring, levels[i].effort) == 0) {
            cJSON_AddNumberToObject(cJSON_AddObjectToObject(gc, "thinkingConfig"), "thinkingBudget",
                                    levels[i].budget);
            return SY_OK;
        }
    }
    return refuse(b, "must be none, minimal, low, medium or high", "reasoning_effort");
}

/*
 * Top-level members: each is translated, dropped (bookkeeping with no effect on the
 * answer) or refused. A member set to null counts as absent. Unknown members are refused:
 * the gateway cannot honour what it does not know.
 */
static int check_members(gm_build *b, const cJSON *req)
{
    static const char *const translated[] = {
        "model", "messages",    "stream",           "stream_options",        "temperature",
        "top_p", "top_k",       "max_tokens",       "max_completion_tokens", "stop",
        "n",     "seed",        "presence_penalty", "frequency_penalty",     "response_format",
        "tools", "tool_choice", "reasoning_effort",
    };
    static const char *const dropped[] = {
        "user",         "parallel_tool_calls", "metadata",          "store",
        "service_tier", "prompt_cache_key",    "safety_identifier",
    };
    for (const cJSON *m = req->child; m; m = m->next) {
        if (cJSON_IsNull(m))
            continue;
        int known = 0;
        for (size_t i = 0; !known && i < SY_ARRAY_LEN(translated); i++)
            known = strcmp(m->string, translated[i]) == 0;
        for (size_t i = 0; !known && i < SY_ARRAY_LEN(dropped); i++)
            known = strcmp(m->string, dropped[i]) == 0;
        if (known)
            continue;
        if (strcmp(m->string, "logprobs") == 0) {
            if (cJSON_IsTrue(m))
                return refuse(b, "log probabilities are not translated from Gemini", "logprobs");
            continue;
        }
        if (strcmp(m->string, "logit_bias") == 0) {
            if (!cJSON_IsObject(m) || m->child)
                return refuse(b, "Gemini has no logit bias", "logit_bias");
            continue;
        }
        if (strcmp(m->string, "modalities") == 0) {
            int text_out = cJSON_IsArray(m);
            for (const cJSON *x = m->child; x && text_out; x = x->next)
                text_out = cJSON_IsString(x) && strcmp(x->valuestring, "text") == 0;
            if (!text_out)
                return refuse(b, "only text output is supported by the Gemini dialect",
                              "modalities");
            continue;
        }
        return refuse(b, "not supported by the Gemini dialect", "%s", m->string);
    }
    return SY_OK;
}

static int translate_generation(gm_build *b, const cJSON *req, cJSON *g)
{
    cJSON *gc = cJSON_CreateObject();
    int rc = SY_OK;
    if (rc == SY_OK)
        rc = number_param(b, req, "temperature", 0, 0, 2, "must be a number between 0 and 2", gc,
                          "temperature");
    if (rc == SY_OK)
        rc = number_param(b, req, "top_p", 0, 0, 1, "must be a number between 0 and 1", gc, "topP");
    if (rc == SY_OK)
        rc = number_param(b, req, "top_k", 1, 1, 1e9, "must be a positive integer", gc, "topK");
    if (rc == SY_OK)
        rc = max_tokens_param(b, req, gc);
    if (rc == SY_OK)
        rc = stop_param(b, req, gc);
    if (rc == SY_OK)
        rc = number_param(b, req, "n", 1, 1, GM_MAX_CANDIDATES,
                          "must be an integer between 1 and 8 (Gemini's candidateCount limit)", gc,
                          "candidateCount");
    if (rc == SY_OK)
        rc = number_param(b, req, "seed", 1, -2147483648.0, 2147483647.0,
                          "must be an integer that fits in 32 bits (Gemini's seed)", gc, "seed");
    if (rc == SY_OK)
        rc = number_param(b, req, "presence_penalty", 0, -2, 2, "must be a number between -2 and 2",
                          gc, "presencePenalty");
    if (rc == SY_OK)
        rc = number_param(b, req, "frequency_penalty", 0, -2, 2,
                          "must be a number between -2 and 2", gc, "frequencyPenalty");
    if (rc == SY_OK)
        rc = response_format_param(b, req, gc);
    if (rc == SY_OK)
        rc = reasoning_param(b, req, gc);
    if (rc != SY_OK || !gc->child) {
        cJSON_Delete(gc);
        return rc;
    }
    cJSON_AddItemToObject(g, "generationConfig", gc);
    return SY_OK;
}

/* Percent-encode every byte outside [A-Za-z0-9._-]. */
static void url_escape(sy_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '.' || *p == '_' || *p == '-')
            sy_buf_append(b, p, 1);
        else
            sy_buf_printf(b, "%%%02X", *p);
    }
}

static gm_state *state_for(sy_relay_state *rs, const char *fallback_model)
{
    if (rs->priv)
        return rs->priv;
    gm_state *st = sy_xcalloc(1, sizeof *st);
    memcpy(st->id, "chatcmpl-", 9);
    random_hex(st->id + 9, 24);
    st->created = (int64_t)(sy_wall_ms() / 1000);
    const char *m = rs->client_model ? rs->client_model : fallback_model;
    st->model = sy_xstrdup(m ? m : "");
    rs->priv = st;
    return st;
}

static int gemini_build(const sy_provider_cfg *prov, const sy_model_cfg *model, cJSON *req,
                        int stream, sy_relay_state *rs, sy_upstream_call *out,
                        const char **bad_param, const char **why)
{
    gm_state *st = state_for(rs, model->name);
    gm_build b = {st, bad_param, why};
    if (!cJSON_IsObject(req))
        return refuse(&b, "the request body must be a JSON object", "messages");
    st->include_usage =
        stream && cJSON_IsTrue(field(field(req, "stream_options"), "include_usage"));
    cJSON *g = cJSON_CreateObject();
    int rc = check_members(&b, req);
    if (rc == SY_OK)
        rc = translate_messages(&b, req, g);
    if (rc == SY_OK)
        rc = translate_tools(&b, req, g);
    if (rc == SY_OK)
        rc = translate_tool_choice(&b, req, g);
    if (rc == SY_OK)
        rc = translate_generation(&b, req, g);
    char *body = rc == SY_OK ? cJSON_PrintUnformatted(g) : NULL;
    cJSON_Delete(g);
    if (rc != SY_OK)
        return rc;
    if (!body) {
        *bad_param = NULL;
        *why = "request could not be serialised";
        return SY_ERR_INVALID;
    }
    size_t n = strlen(body);
    out->body.data = body; /* cJSON allocates with malloc: the sy_buf adopts it */
    out->body.len = n;
    out->body.cap = n + 1;
    sy_buf_printf(&out->url, "%s/models/", prov->base_url);
    url_escape(&out->url, model->upstream_name);
    sy_buf_puts(&out->url, stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
    size_t h = 0;
    out->headers[h++] = sy_xstrdup("Content-Type: application/json");
    out->headers[h++] =
        sy_xstrdup(stream ? "Accept: text/event-stream" : "Accept: application/json");
    if (prov->api_key) {
        sy_buf key = {0};
        sy_buf_printf(&key, "x-goog-api-key: %s", prov->api_key);
        out->headers[h++] = key.data;
    }
    out->headers[h] = NULL;
    return SY_OK;
}

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

static cJSON *usage_json(const sy_usage *u)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "prompt_tokens", (double)u->prompt_tokens);
    cJSON_AddNumberToObject(o, "completion_tokens", (double)u->completion_tokens);
    cJSON_AddNumberToObject(o, "total_tokens", (double)(u->prompt_tokens + u->completion_tokens));
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(o, "prompt_tokens_details"), "cached_tokens",
                            (double)u->cached_tokens);
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(o, "completion_tokens_details"),
                            "reasoning_tokens", (double)u->reasoning_tokens);
    return o;
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
    return is_integer(v) && v->valuedouble >= 0 && v->valuedouble < 1e6 ? (int)v->valuedouble
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
            new_call_id(id);
            char *a = cJSON_IsObject(args) ? cJSON_PrintUnformatted(args) : NULL;
            cJSON *call = cJSON_CreateObject();
            if (next_index)
                cJSON_AddNumberToObject(call, "index", (*next_index)++);
            cJSON_AddStringToObject(call, "id", id);
            cJSON_AddStringToObject(call, "type", "function");
            cJSON *f = cJSON_AddObjectToObject(call, "function");
            cJSON_AddStringToObject(f, "name", cJSON_IsString(name) ? name->valuestring : "");
            cJSON_AddStringToObject(f, "arguments", a ? a : "{}");
            *arg_bytes += (int64_t)(a ? strlen(a) : 2);
            cJSON_free(a);
            cJSON_AddItemToArray(calls, call);
        }
    }
    return had_text;
}

static void add_head(cJSON *o, const gm_state *st, const char *object)
{
    cJSON_AddStringToObject(o, "id", st->id);
    cJSON_AddStringToObject(o, "object", object);
    cJSON_AddNumberToObject(o, "created", (double)st->created);
    cJSON_AddStringToObject(o, "model", st->model);
}

static void print_to(const cJSON *o, sy_buf *out)
{
    char *s = cJSON_PrintUnformatted(o);
    sy_buf_puts(out, s);
    cJSON_free(s);
}

static void set_finish(sy_relay_state *rs, const char *reason)
{
    snprintf(rs->finish_reason, sizeof rs->finish_reason, "%s", reason);
}

/*
 * A complete GenerateContentResponse → chat.completion. A prompt blocked before any
 * candidate (promptFeedback.blockReason) becomes one choice with null content and
 * finish_reason "content_filter"; a body with neither candidates nor a block reason is
 * not a valid response.
 */
static int gemini_response(const char *body, size_t len, sy_relay_state *rs, sy_buf *out)
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
    gm_state *st = state_for(rs, NULL);
    cJSON *o = cJSON_CreateObject();
    add_head(o, st, "chat.completion");
    cJSON *choices = cJSON_AddArrayToObject(o, "choices");
    int64_t arg_bytes = 0;
    if (n == 0) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddNumberToObject(c, "index", 0);
        cJSON *msg = cJSON_AddObjectToObject(c, "message");
        cJSON_AddStringToObject(msg, "role", "assistant");
        cJSON_AddNullToObject(msg, "content");
        cJSON_AddNullToObject(c, "logprobs");
        cJSON_AddStringToObject(c, "finish_reason", "content_filter");
        cJSON_AddItemToArray(choices, c);
        set_finish(rs, "content_filter");
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
        cJSON *c = cJSON_CreateObject();
        cJSON_AddNumberToObject(c, "index", index);
        cJSON *msg = cJSON_AddObjectToObject(c, "message");
        cJSON_AddStringToObject(msg, "role", "assistant");
        if (had_text)
            cJSON_AddStringToObject(msg, "content", text.data ? text.data : "");
        else
            cJSON_AddNullToObject(msg, "content");
        if (called)
            cJSON_AddItemToObject(msg, "tool_calls", calls);
        else
            cJSON_Delete(calls);
        cJSON_AddNullToObject(c, "logprobs");
        cJSON_AddStringToObject(c, "finish_reason", finish);
        cJSON_AddItemToArray(choices, c);
        if (index == 0 || !rs->finish_reason[0])
            set_finish(rs, finish);
        sy_buf_free(&text);
    }
    const cJSON *um = cJSON_GetObjectItemCaseSensitive(root, "usageMetadata");
    if (cJSON_IsObject(um)) {
        usage_from_gemini(um, &rs->usage);
        cJSON_AddItemToObject(o, "usage", usage_json(&rs->usage));
    }
    print_to(o, out);
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
    if (in_stream)
        sy_buf_printf(&out->message, "provider reported error %ld mid-stream", status);
    else
        sy_buf_printf(&out->message, "provider returned HTTP %ld", status);
    if (status == 400 && key_rejected(err))
        status = 401;
    int quota = status == 429 && !delay && !retry_after && says_billing(msg);
    int with_message = sy_map_http_status(status, quota, out);
    if (with_message && msg[0]) {
        size_t n = strlen(msg);
        sy_buf_append(&out->message, ": ", 2);
        sy_buf_append(&out->message, msg, n > GM_MAX_MESSAGE ? GM_MAX_MESSAGE : n);
    }
    if (delay)
        sy_buf_printf(&out->message, " (retry in %.16s)", delay);
}

static void gemini_error(long status, const char *body, size_t len, const char *retry_after,
                         sy_mapped_error *out)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    map_error(status, cJSON_GetObjectItemCaseSensitive(root, "error"), retry_after, 0, out);
    cJSON_Delete(root);
}

/* ---- streaming */

/* One chat.completion.chunk event for choice `index`. */
static void emit_chunk(const gm_state *st, int index, const cJSON *delta, const char *finish,
                       sy_buf *out)
{
    sy_buf_printf(out,
                  "data: {\"id\":\"%s\",\"object\":\"chat.completion.chunk\",\"created\":%lld,"
                  "\"model\":",
                  st->id, (long long)st->created);
    sy_buf_json_string(out, st->model, strlen(st->model));
    sy_buf_printf(out, ",\"choices\":[{\"index\":%d,\"delta\":", index);
    if (delta)
        print_to(delta, out);
    else
        sy_buf_puts(out, "{}");
    if (finish)
        sy_buf_printf(out, ",\"logprobs\":null,\"finish_reason\":\"%s\"}]}\n\n", finish);
    else
        sy_buf_puts(out, ",\"logprobs\":null,\"finish_reason\":null}]}\n\n");
}

/* The end of the translated stream: the usage chunk when the client asked, [DONE]. */
static void emit_done(gm_state *st, sy_relay_state *rs, sy_buf *out)
{
    if (st->include_usage && rs->usage.have) {
        cJSON *o = cJSON_CreateObject();
        add_head(o, st, "chat.completion.chunk");
        cJSON_AddArrayToObject(o, "choices");
        cJSON_AddItemToObject(o, "usage", usage_json(&rs->usage));
        sy_buf_puts(out, "data: ");
        print_to(o, out);
        sy_buf_puts(out, "\n\n");
        cJSON_Delete(o);
    }
    sy_buf_puts(out, "data: [DONE]\n\n");
    rs->saw_done = 1;
}

/* An error object inside the stream → an OpenAI-shaped in-band error event. */
static void emit_stream_error(gm_state *st, const cJSON *err, sy_relay_state *rs, sy_buf *out)
{
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
    long status = is_integer(code) ? (long)code->valuedouble : 500;
    sy_mapped_error e = {0};
    map_error(status, err, NULL, 1, &e);
    sy_buf_puts(out, "data: {\"error\":{\"message\":");
    sy_buf_json_string(out, e.message.data ? e.message.data : "", e.message.len);
    sy_buf_printf(out, ",\"type\":\"%s\",\"param\":null,\"code\":\"%s\"}}\n\n", e.type, e.code);
    sy_mapped_error_free(&e);
    rs->saw_error_event = 1;
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
static void gemini_stream_event(const char *event, size_t event_len, const char *data,
                                size_t data_len, const char *raw, size_t raw_len,
                                sy_relay_state *rs, sy_buf *out)
{
    gm_state *st = state_for(rs, NULL);
    if (st->broken || rs->saw_done || data_len == 0)
        return;
    cJSON *root = cJSON_ParseWithLength(data, data_len);
    if (!cJSON_IsObject(root)) {
        /* undecodable: the pipeline replaces the attempt before the client saw anything,
         * or reports the stream as cut when it ends without a finish */
        cJSON_Delete(root);
        rs->saw_error_event = 1;
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
        emit_chunk(st, 0, delta, "content_filter", out);
        cJSON_Delete(delta);
        st->roles |= 1u;
        set_finish(rs, "content_filter");
        emit_done(st, rs, out);
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
        if (text.len || arg_bytes) {
            rs->content_chunks++;
            rs->content_bytes += (int64_t)text.len + arg_bytes;
        }
        if (delta->child)
            emit_chunk(st, index, delta, NULL, out);
        cJSON_Delete(delta);
        sy_buf_free(&text);
        const cJSON *fr = cJSON_GetObjectItemCaseSensitive(cand, "finishReason");
        if (cJSON_IsString(fr) && fr->valuestring[0] && !(st->finished & bit)) {
            const char *finish = map_finish(fr->valuestring, (st->called & bit) != 0);
            emit_chunk(st, index, NULL, finish, out);
            st->finished |= bit;
            if (index == 0 || !rs->finish_reason[0])
                set_finish(rs, finish);
        }
    }
    if (st->finished && (st->finished & st->seen) == st->seen)
        emit_done(st, rs, out);
    cJSON_Delete(root);
}

static void gemini_release(sy_relay_state *rs)
{
    gm_state *st = rs->priv;
    if (st) {
        free(st->model);
        free(st);
    }
    rs->priv = NULL;
}

const sy_adapter sy_adapter_gemini = {
    .dialect = SY_DIALECT_GEMINI,
    .build = gemini_build,
    .response = gemini_response,
    .stream_event = gemini_stream_event,
    .error = gemini_error,
    .release = gemini_release,
};
