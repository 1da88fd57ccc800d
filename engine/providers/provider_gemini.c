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
#include "adapter.h"
#include "provider_util.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define GM_MAX_STOP       5 /* Gemini's limit on stopSequences */
#define GM_MAX_CANDIDATES 8 /* Gemini's limit on candidateCount */
#define GM_MAX_MESSAGE    300
/* Google's documented sentinel for function calls replayed without the thought
 * signature Gemini 3 models require (the OpenAI shape has no place to carry one). */
#define GM_SKIP_SIGNATURE "skip_thought_signature_validator"

typedef struct gm_state {
    sy_chat_head head; /* id, created, model, include_usage, rejected parameter */
    /* stream translation, one bit per candidate index */
    unsigned seen, roles, finished, called;
    int tool_index[GM_MAX_CANDIDATES]; /* next tool_calls index per candidate */
    int broken;                        /* an error or undecodable event was seen: ignore the rest */
} gm_state;
_Static_assert(offsetof(gm_state, head) == 0, "sy_state_for: the head comes first");

/* ---- request translation */

static cJSON *text_part(const char *text)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "text", text);
    return p;
}

/* A "data:MIME;base64,DATA" URL as an inlineData part, or NULL when it is not one. */
static cJSON *inline_data_part(const char *url)
{
    const char *mime, *data;
    size_t mlen;
    if (!sy_data_url(url, &mime, &mlen, &data))
        return NULL;
    cJSON *part = cJSON_CreateObject();
    cJSON *d = cJSON_AddObjectToObject(part, "inlineData");
    char *m = sy_xstrndup(mime, mlen);
    cJSON_AddStringToObject(d, "mimeType", m);
    cJSON_AddStringToObject(d, "data", data);
    free(m);
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
static int user_part(const sy_refuser *b, const cJSON *p, size_t i, size_t j, cJSON **part)
{
    const cJSON *type = sy_field(p, "type");
    const char *t = cJSON_IsString(type) ? type->valuestring : "";
    *part = NULL;
    if (strcmp(t, "text") == 0) {
        const cJSON *text = sy_field(p, "text");
        if (!cJSON_IsString(text))
            return sy_refuse(b, "must be a string", "messages[%zu].content[%zu].text", i, j);
        *part = text_part(text->valuestring);
        return SY_OK;
    }
    if (strcmp(t, "image_url") == 0) {
        const cJSON *iu = sy_field(p, "image_url");
        const cJSON *url = cJSON_IsString(iu) ? iu : sy_field(iu, "url");
        if (!cJSON_IsString(url))
            return sy_refuse(b, "must be a string", "messages[%zu].content[%zu].image_url.url", i,
                             j);
        if (sy_has_prefix(url->valuestring, "data:")) {
            *part = inline_data_part(url->valuestring);
            if (!*part)
                return sy_refuse(b, "data: URLs must have the form data:MIME;base64,DATA",
                                 "messages[%zu].content[%zu].image_url.url", i, j);
            return SY_OK;
        }
        if (!sy_has_prefix(url->valuestring, "https://"))
            return sy_refuse(b, "images must be data: URLs or https URLs",
                             "messages[%zu].content[%zu].image_url.url", i, j);
        const char *mime = mime_from_url(url->valuestring);
        if (!mime)
            return sy_refuse(b,
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
        const cJSON *ia = sy_field(p, "input_audio");
        const cJSON *data = sy_field(ia, "data"), *format = sy_field(ia, "format");
        if (!cJSON_IsString(data) || !cJSON_IsString(format) ||
            (strcmp(format->valuestring, "wav") != 0 && strcmp(format->valuestring, "mp3") != 0))
            return sy_refuse(b, "needs base64 data and a format of wav or mp3",
                             "messages[%zu].content[%zu].input_audio", i, j);
        *part = cJSON_CreateObject();
        cJSON *d = cJSON_AddObjectToObject(*part, "inlineData");
        cJSON_AddStringToObject(d, "mimeType",
                                format->valuestring[1] == 'a' ? "audio/wav" : "audio/mp3");
        cJSON_AddStringToObject(d, "data", data->valuestring);
        return SY_OK;
    }
    if (strcmp(t, "file") == 0) {
        const cJSON *fd = sy_field(sy_field(p, "file"), "file_data");
        *part = cJSON_IsString(fd) ? inline_data_part(fd->valuestring) : NULL;
        if (!*part)
            return sy_refuse(b,
                             "only file_data given as a data:MIME;base64,DATA URL can be sent to "
                             "Gemini (file_id cannot)",
                             "messages[%zu].content[%zu].file", i, j);
        return SY_OK;
    }
    return sy_refuse(b, "this content part type is not supported by the Gemini dialect",
                     "messages[%zu].content[%zu].type", i, j);
}

static void append_text(void *arg, const char *text, const cJSON *part)
{
    (void)part;
    sy_buf_puts(arg, text);
}

/* Text of content that may only hold text (see sy_text_content), appended to out. 0 or
 * a 400. */
static int text_only(const sy_refuser *b, const cJSON *content, size_t i, sy_buf *out)
{
    return sy_text_content(b, content, i, append_text, out);
}

/* Name of the function an earlier assistant tool call with this id called, or NULL. */
static const char *tool_call_name(const cJSON *messages, const cJSON *upto, const char *id)
{
    for (const cJSON *m = messages->child; m && m != upto; m = m->next) {
        const cJSON *calls = sy_field(m, "tool_calls");
        const cJSON *c;
        cJSON_ArrayForEach(c, calls)
        {
            const cJSON *cid = sy_field(c, "id");
            const cJSON *name = sy_field(sy_field(c, "function"), "name");
            if (cJSON_IsString(cid) && cJSON_IsString(name) && strcmp(cid->valuestring, id) == 0)
                return name->valuestring;
        }
    }
    return NULL;
}

/* An assistant message: its text, then one functionCall part per tool call (the first
 * one carrying the thought-signature sentinel). */
static int assistant_parts(const sy_refuser *b, const cJSON *m, size_t i, cJSON *parts)
{
    sy_buf text = {0};
    if (text_only(b, sy_field(m, "content"), i, &text) != SY_OK) {
        sy_buf_free(&text);
        return SY_ERR_INVALID;
    }
    if (text.len)
        cJSON_AddItemToArray(parts, text_part(text.data));
    sy_buf_free(&text);
    const cJSON *calls = sy_field(m, "tool_calls");
    if (calls && !cJSON_IsArray(calls))
        return sy_refuse(b, "must be an array", "messages[%zu].tool_calls", i);
    size_t j = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, calls)
    {
        const cJSON *fn = sy_field(c, "function");
        const cJSON *name = sy_field(fn, "name"), *args = sy_field(fn, "arguments");
        if (!cJSON_IsString(name) || !name->valuestring[0])
            return sy_refuse(b, "must be a non-empty string",
                             "messages[%zu].tool_calls[%zu].function.name", i, j);
        cJSON *obj = sy_tool_arguments(args);
        if (!obj)
            return sy_refuse(b, "must be the text of a JSON object",
                             "messages[%zu].tool_calls[%zu].function.arguments", i, j);
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
static int tool_part(const sy_refuser *b, const cJSON *messages, const cJSON *m, size_t i,
                     cJSON *parts)
{
    const cJSON *id = sy_field(m, "tool_call_id");
    if (!cJSON_IsString(id))
        return sy_refuse(b, "must be a string", "messages[%zu].tool_call_id", i);
    const char *name = tool_call_name(messages, m, id->valuestring);
    if (!name)
        return sy_refuse(b, "does not match the id of an earlier assistant tool call",
                         "messages[%zu].tool_call_id", i);
    sy_buf text = {0};
    if (text_only(b, sy_field(m, "content"), i, &text) != SY_OK) {
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
static int translate_messages(const sy_refuser *b, const cJSON *req, cJSON *g)
{
    const cJSON *messages = sy_field(req, "messages");
    if (!cJSON_IsArray(messages))
        return sy_refuse(b, "must be a non-empty array", "messages");
    cJSON *contents = cJSON_AddArrayToObject(g, "contents");
    cJSON *sys = NULL;
    size_t i = 0;
    for (const cJSON *m = messages->child; m; m = m->next, i++) {
        const cJSON *role = sy_field(m, "role");
        if (!cJSON_IsString(role))
            return sy_refuse(b, "must be a string", "messages[%zu].role", i);
        const char *r = role->valuestring;
        if (strcmp(r, "system") == 0 || strcmp(r, "developer") == 0) {
            sy_buf text = {0};
            if (text_only(b, sy_field(m, "content"), i, &text) != SY_OK) {
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
            const cJSON *content = sy_field(m, "content");
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
                rc = sy_refuse(b, "must be a string or an array of content parts",
                               "messages[%zu].content", i);
            }
        } else if (strcmp(r, "assistant") == 0) {
            grole = "model";
            rc = assistant_parts(b, m, i, parts);
        } else if (strcmp(r, "tool") == 0) {
            rc = tool_part(b, messages, m, i, parts);
        } else {
            rc = sy_refuse(b, "role must be system, developer, user, assistant or tool",
                           "messages[%zu].role", i);
        }
        if (rc != SY_OK || cJSON_GetArraySize(parts) == 0) {
            cJSON_Delete(parts); /* an empty assistant turn is left out */
            if (rc != SY_OK)
                return rc;
            continue;
        }
        sy_add_turn(contents, grole, "parts", parts);
    }
    if (cJSON_GetArraySize(contents) == 0)
        return sy_refuse(b, "Gemini needs at least one user or assistant message", "messages");
    return SY_OK;
}

/* tools → tools[0].functionDeclarations. OpenAI's parameters are JSON Schema, so they go
 * to parametersJsonSchema (Gemini's `parameters` takes an OpenAPI subset that rejects
 * common JSON Schema keywords); "strict" has no counterpart and is dropped. */
static int translate_tools(const sy_refuser *b, const cJSON *req, cJSON *g)
{
    const cJSON *tools;
    int rc =
        sy_function_tools(b, req, "only function tools can be sent to Gemini", NULL, NULL, &tools);
    if (rc != SY_OK || !tools)
        return rc;
    cJSON *decls = cJSON_CreateArray();
    const cJSON *t;
    cJSON_ArrayForEach(t, tools)
    {
        cJSON_AddItemToArray(decls, sy_function_decl(t, "parametersJsonSchema"));
    }
    cJSON *tool = cJSON_CreateObject();
    cJSON_AddItemToObject(tool, "functionDeclarations", decls);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(g, "tools"), tool);
    return SY_OK;
}

/* tool_choice → toolConfig.functionCallingConfig: auto → AUTO, none → NONE, required →
 * ANY, one named function → ANY restricted to it. */
static int translate_tool_choice(const sy_refuser *b, const cJSON *req, cJSON *g)
{
    const cJSON *tc = sy_field(req, "tool_choice");
    if (!tc)
        return SY_OK;
    static const char *const modes[3] = {"AUTO", "NONE", "ANY"};
    const char *mode, *only;
    int rc = sy_tool_choice(b, tc, modes, "ANY", &mode, &only);
    if (rc != SY_OK)
        return rc;
    cJSON *fcc =
        cJSON_AddObjectToObject(cJSON_AddObjectToObject(g, "toolConfig"), "functionCallingConfig");
    cJSON_AddStringToObject(fcc, "mode", mode);
    if (only)
        cJSON_AddItemToArray(cJSON_AddArrayToObject(fcc, "allowedFunctionNames"),
                             cJSON_CreateString(only));
    return SY_OK;
}

/* max_tokens / max_completion_tokens (the smaller when both are given) → maxOutputTokens. */
static int max_tokens_param(const sy_refuser *b, const cJSON *req, cJSON *gc)
{
    double limit;
    int rc = sy_max_tokens_param(b, req, &limit);
    if (rc == SY_OK && limit > 0)
        cJSON_AddNumberToObject(gc, "maxOutputTokens", limit);
    return rc;
}

/* response_format: json_object → responseMimeType application/json; json_schema → the
 * same plus responseJsonSchema (the schema is JSON Schema, as OpenAI defines it). */
static int response_format_param(const sy_refuser *b, const cJSON *req, cJSON *gc)
{
    const cJSON *rf = sy_field(req, "response_format");
    if (!rf)
        return SY_OK;
    const cJSON *type = sy_field(rf, "type");
    const char *t = cJSON_IsString(type) ? type->valuestring : "";
    if (strcmp(t, "text") == 0)
        return SY_OK;
    if (strcmp(t, "json_object") == 0) {
        cJSON_AddStringToObject(gc, "responseMimeType", "application/json");
        return SY_OK;
    }
    if (strcmp(t, "json_schema") == 0) {
        const cJSON *schema = sy_field(sy_field(rf, "json_schema"), "schema");
        if (schema && !cJSON_IsObject(schema))
            return sy_refuse(b, "must be a JSON Schema object",
                             "response_format.json_schema.schema");
        cJSON_AddStringToObject(gc, "responseMimeType", "application/json");
        if (schema)
            cJSON_AddItemToObject(gc, "responseJsonSchema", cJSON_Duplicate(schema, 1));
        return SY_OK;
    }
    return sy_refuse(b, "must be text, json_object or json_schema", "response_format.type");
}

/* reasoning_effort → thinkingConfig.thinkingBudget, with the budgets Google's own
 * OpenAI-compatible endpoint uses. */
static int reasoning_param(const sy_refuser *b, const cJSON *req, cJSON *gc)
{
    static const struct {
        const char *effort;
        int budget;
    } levels[] = {{"none", 0}, {"minimal", 0}, {"low", 1024}, {"medium", 8192}, {"high", 24576}};
    const cJSON *v = sy_field(req, "reasoning_effort");
    if (!v)
        return SY_OK;
    for (size_t i = 0; cJSON_IsString(v) && i < SY_ARRAY_LEN(levels); i++) {
        if (strcmp(v->valuestring, levels[i].effort) == 0) {
            cJSON_AddNumberToObject(cJSON_AddObjectToObject(gc, "thinkingConfig"), "thinkingBudget",
                                    levels[i].budget);
            return SY_OK;
        }
    }
    return sy_refuse(b, "must be none, minimal, low, medium or high", "reasoning_effort");
}

/*
 * Top-level members: each is translated, dropped (bookkeeping with no effect on the
 * answer) or refused. A member set to null counts as absent. Unknown members are refused:
 * the gateway cannot honour what it does not know.
 */
static int check_members(const sy_refuser *b, const cJSON *req)
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
        if (sy_listed(m->string, translated, SY_ARRAY_LEN(translated)) ||
            sy_listed(m->string, dropped, SY_ARRAY_LEN(dropped)))
            continue;
        if (strcmp(m->string, "logprobs") == 0) {
            if (cJSON_IsTrue(m))
                return sy_refuse(b, "log probabilities are not translated from Gemini", "logprobs");
            continue;
        }
        if (strcmp(m->string, "logit_bias") == 0) {
            if (!cJSON_IsObject(m) || m->child)
                return sy_refuse(b, "Gemini has no logit bias", "logit_bias");
            continue;
        }
        if (strcmp(m->string, "modalities") == 0) {
            if (!sy_text_modalities_only(m))
                return sy_refuse(b, "only text output is supported by the Gemini dialect",
                                 "modalities");
            continue;
        }
        return sy_refuse(b, "not supported by the Gemini dialect", "%s", m->string);
    }
    return SY_OK;
}

static int translate_generation(const sy_refuser *b, const cJSON *req, cJSON *g)
{
    cJSON *gc = cJSON_CreateObject();
    int rc = SY_OK;
    if (rc == SY_OK)
        rc = sy_number_param(b, req, "temperature", 0, 0, 2, "must be a number between 0 and 2", gc,
                             "temperature");
    if (rc == SY_OK)
        rc = sy_number_param(b, req, "top_p", 0, 0, 1, "must be a number between 0 and 1", gc,
                             "topP");
    if (rc == SY_OK)
        rc = sy_number_param(b, req, "top_k", 1, 1, 1e9, "must be a positive integer", gc, "topK");
    if (rc == SY_OK)
        rc = max_tokens_param(b, req, gc);
    if (rc == SY_OK)
        rc = sy_stop_param(b, req, GM_MAX_STOP, "Gemini accepts at most 5 stop sequences", gc,
                           "stopSequences");
    if (rc == SY_OK)
        rc = sy_number_param(b, req, "n", 1, 1, GM_MAX_CANDIDATES,
                             "must be an integer between 1 and 8 (Gemini's candidateCount limit)",
                             gc, "candidateCount");
    if (rc == SY_OK)
        rc = sy_number_param(b, req, "seed", 1, -2147483648.0, 2147483647.0,
                             "must be an integer that fits in 32 bits (Gemini's seed)", gc, "seed");
    if (rc == SY_OK)
        rc = sy_number_param(b, req, "presence_penalty", 0, -2, 2,
                             "must be a number between -2 and 2", gc, "presencePenalty");
    if (rc == SY_OK)
        rc = sy_number_param(b, req, "frequency_penalty", 0, -2, 2,
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

static gm_state *state_for(sy_relay_state *rs, const char *fallback_model)
{
    return sy_state_for(rs, sizeof(gm_state), fallback_model);
}

static int gemini_build(const sy_provider_cfg *prov, const sy_model_cfg *model, cJSON *req,
                        int stream, sy_relay_state *rs, sy_upstream_call *out,
                        const char **bad_param, const char **why)
{
    gm_state *st = state_for(rs, model->name);
    sy_refuser b;
    if (sy_build_begin(&st->head, req, stream, bad_param, why, &b) != SY_OK)
        return SY_ERR_INVALID;
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
    if (body) {
        sy_buf_printf(&out->url, "%s/models/", prov->base_url);
        sy_url_escape(&out->url, model->upstream_name);
        sy_buf_puts(&out->url, stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
    }
    return sy_upstream_finish(out, body, stream, NULL, "x-goog-api-key", prov->api_key, bad_param,
                              why);
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

static void gemini_error(long status, const char *body, size_t len, const char *retry_after,
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

static void gemini_release(sy_relay_state *rs)
{
    gm_state *st = rs->priv;
    if (st) {
        sy_chat_head_free(&st->head);
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
