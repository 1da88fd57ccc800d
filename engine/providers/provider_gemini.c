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
 *
 * This file translates the request and holds the adapter; gemini_reply.c translates what
 * comes back (whole answers, stream events, errors); gemini.h is what they share.
 */
#include "gemini.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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

static int gemini_build(const sy_provider_cfg *prov, const sy_model_cfg *model, cJSON *req,
                        int stream, sy_relay_state *rs, sy_upstream_call *out,
                        const char **bad_param, const char **why)
{
    gm_state *st = gm_state_for(rs, model->name);
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

const sy_adapter sy_adapter_gemini = {
    .dialect = SY_DIALECT_GEMINI,
    .build = gemini_build,
    .response = sy_gemini_response,
    .stream_event = sy_gemini_stream_event,
    .error = sy_gemini_error,
    .release = sy_gemini_release,
};
