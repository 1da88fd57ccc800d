/*
 * provider_anthropic.c — the Anthropic Messages dialect (docs/providers-anthropic.md).
 *
 * The client's Chat Completions body becomes a Messages request (system, messages of
 * content blocks, tools, tool_choice, max_tokens, sampling parameters), and Anthropic's
 * Message — whole, or as the typed SSE events of a stream (message_start,
 * content_block_start/delta/stop, message_delta, message_stop, ping, error) — becomes an
 * OpenAI chat.completion or a sequence of chat.completion.chunk events. As in the Gemini
 * dialect, parameters the translation cannot honour are refused with a 400 naming them;
 * only bookkeeping members that cannot change the answer are dropped, and the document
 * lists each rule.
 *
 * Anthropic requires max_tokens: without one from the client the request carries
 * AN_DEFAULT_MAX_TOKENS. JSON mode (response_format) has no Anthropic counterpart and is
 * translated to one forced call of a tool whose input schema is the wanted JSON; the
 * call's input comes back to the client as the message content.
 *
 * The key travels in the x-api-key header, next to anthropic-version.
 *
 * Per-request state (an_state, in rs->priv) is created by build and freed by release:
 * the response id and timestamp every chunk repeats, the client's model name, whether the
 * client asked for the usage chunk, whether JSON mode is on, Anthropic's raw usage
 * counters, and what the stream translation knows about each content block.
 *
 * This file translates the request and holds the adapter; anthropic_reply.c translates
 * what comes back (whole answers, stream events, errors); anthropic.h is what they share.
 */
#include "anthropic.h"

#include "messages_ingress.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- request translation */

/*
 * A "data:MIME;base64,DATA" URL as an image block (JPEG, PNG, GIF, WebP) or a document
 * block (PDF), or NULL when it is not such a URL.
 */
static cJSON *data_url_block(const char *url)
{
    static const char *const images[] = {"image/jpeg", "image/png", "image/gif", "image/webp"};
    const char *media, *data;
    size_t mlen;
    if (!sy_data_url(url, &media, &mlen, &data) || !data[0])
        return NULL;
    const char *type = NULL;
    for (size_t i = 0; i < SY_ARRAY_LEN(images); i++)
        if (strlen(images[i]) == mlen && strncasecmp(media, images[i], mlen) == 0)
            type = "image";
    if (mlen == 15 && strncasecmp(media, "application/pdf", mlen) == 0)
        type = "document";
    if (!type)
        return NULL;
    cJSON *blk = cJSON_CreateObject();
    cJSON_AddStringToObject(blk, "type", type);
    cJSON *src = cJSON_AddObjectToObject(blk, "source");
    cJSON_AddStringToObject(src, "type", "base64");
    char *mime = sy_xstrndup(media, mlen);
    for (char *p = mime; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    cJSON_AddStringToObject(src, "media_type", mime);
    free(mime);
    cJSON_AddStringToObject(src, "data", data);
    return blk;
}

/*
 * One part of a user message's multi-part content, appended to blocks: text (empty text
 * is left out: Anthropic rejects empty text blocks), image_url (data: URL → base64 image
 * or PDF document, http(s) URL → url image source), file (file_data data: URL). A
 * part's cache_control is carried over.
 */
static int user_part(const sy_refuser *b, const cJSON *p, size_t i, size_t j, cJSON *blocks)
{
    const cJSON *type = sy_field(p, "type");
    const char *t = cJSON_IsString(type) ? type->valuestring : "";
    cJSON *blk = NULL;
    if (strcmp(t, "text") == 0) {
        const cJSON *text = sy_field(p, "text");
        if (!cJSON_IsString(text))
            return sy_refuse(b, "must be a string", "messages[%zu].content[%zu].text", i, j);
        if (text->valuestring[0])
            cJSON_AddItemToArray(blocks, sy_text_part(text->valuestring, p));
        return SY_OK;
    }
    if (strcmp(t, "image_url") == 0) {
        const cJSON *iu = sy_field(p, "image_url");
        const cJSON *url = cJSON_IsString(iu) ? iu : sy_field(iu, "url");
        if (!cJSON_IsString(url))
            return sy_refuse(b, "must be a string", "messages[%zu].content[%zu].image_url.url", i,
                             j);
        const char *u = url->valuestring;
        if (sy_has_prefix(u, "data:")) {
            blk = data_url_block(u);
            if (!blk)
                return sy_refuse(
                    b,
                    "data: URLs must have the form data:MIME;base64,DATA with an image "
                    "type Anthropic accepts (jpeg, png, gif, webp) or application/pdf",
                    "messages[%zu].content[%zu].image_url.url", i, j);
        } else if (sy_has_prefix(u, "https://") || sy_has_prefix(u, "http://")) {
            blk = cJSON_CreateObject();
            cJSON_AddStringToObject(blk, "type", "image");
            cJSON *src = cJSON_AddObjectToObject(blk, "source");
            cJSON_AddStringToObject(src, "type", "url");
            cJSON_AddStringToObject(src, "url", u);
        } else {
            return sy_refuse(b, "images must be data: URLs or http(s) URLs",
                             "messages[%zu].content[%zu].image_url.url", i, j);
        }
    } else if (strcmp(t, "file") == 0) {
        const cJSON *fd = sy_field(sy_field(p, "file"), "file_data");
        blk = cJSON_IsString(fd) ? data_url_block(fd->valuestring) : NULL;
        if (!blk)
            return sy_refuse(b,
                             "only file_data given as a data:MIME;base64,DATA URL of a PDF or an "
                             "image can be sent to Anthropic (file_id cannot)",
                             "messages[%zu].content[%zu].file", i, j);
    } else if (strcmp(t, "input_audio") == 0) {
        return sy_refuse(b, "Anthropic does not accept audio input",
                         "messages[%zu].content[%zu].type", i, j);
    } else {
        return sy_refuse(b, "this content part type is not supported by the Anthropic dialect",
                         "messages[%zu].content[%zu].type", i, j);
    }
    sy_copy_cache_control(p, blk);
    cJSON_AddItemToArray(blocks, blk);
    return SY_OK;
}

/* A text block for each non-empty text (Anthropic rejects empty text blocks), appended
 * to the array arg; a part's cache_control is carried over. */
static void add_text_block(void *arg, const char *text, const cJSON *part)
{
    if (text[0])
        cJSON_AddItemToArray(arg, sy_text_part(text, part));
}

/* Content that may only hold text as text blocks appended to blocks. 0 or a 400. */
static int text_blocks(const sy_refuser *b, const cJSON *content, size_t i, cJSON *blocks)
{
    return sy_text_content(b, content, i, add_text_block, blocks);
}

/* A tool call id as Anthropic accepts it (^[a-zA-Z0-9_-]+$): other bytes become '_'.
 * Applied alike to tool_use ids and tool_result references, so pairs still match. */
static cJSON *tool_id(const char *id)
{
    char *s = sy_xstrdup(id);
    for (char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            *p = '_';
    cJSON *v = cJSON_CreateString(s);
    free(s);
    return v;
}

/* An assistant message: its text, then one tool_use block per tool call. */
static int assistant_blocks(const sy_refuser *b, const cJSON *m, size_t i, cJSON *blocks)
{
    if (text_blocks(b, sy_field(m, "content"), i, blocks) != SY_OK)
        return SY_ERR_INVALID;
    const cJSON *calls = sy_field(m, "tool_calls");
    if (calls && !cJSON_IsArray(calls))
        return sy_refuse(b, "must be an array", "messages[%zu].tool_calls", i);
    size_t j = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, calls)
    {
        const cJSON *id = sy_field(c, "id"), *fn = sy_field(c, "function");
        const cJSON *name = sy_field(fn, "name"), *args = sy_field(fn, "arguments");
        if (!cJSON_IsString(id) || !id->valuestring[0])
            return sy_refuse(b, "must be a non-empty string", "messages[%zu].tool_calls[%zu].id", i,
                             j);
        if (!cJSON_IsString(name) || !name->valuestring[0])
            return sy_refuse(b, "must be a non-empty string",
                             "messages[%zu].tool_calls[%zu].function.name", i, j);
        cJSON *input = sy_tool_arguments(args);
        if (!input)
            return sy_refuse(b, "must be the text of a JSON object",
                             "messages[%zu].tool_calls[%zu].function.arguments", i, j);
        cJSON *blk = cJSON_CreateObject();
        cJSON_AddStringToObject(blk, "type", "tool_use");
        cJSON_AddItemToObject(blk, "id", tool_id(id->valuestring));
        cJSON_AddStringToObject(blk, "name", name->valuestring);
        cJSON_AddItemToObject(blk, "input", input);
        cJSON_AddItemToArray(blocks, blk);
        j++;
    }
    return SY_OK;
}

/* A tool message: a tool_result block answering tool_call_id; string content stays a
 * string, text parts become text blocks. */
static int tool_block(const sy_refuser *b, const cJSON *m, size_t i, cJSON *blocks)
{
    const cJSON *id = sy_field(m, "tool_call_id");
    if (!cJSON_IsString(id) || !id->valuestring[0])
        return sy_refuse(b, "must be a non-empty string", "messages[%zu].tool_call_id", i);
    const cJSON *content = sy_field(m, "content");
    cJSON *blk = cJSON_CreateObject();
    cJSON_AddStringToObject(blk, "type", "tool_result");
    cJSON_AddItemToObject(blk, "tool_use_id", tool_id(id->valuestring));
    if (cJSON_IsString(content)) {
        cJSON_AddStringToObject(blk, "content", content->valuestring);
    } else if (content) {
        cJSON *parts = cJSON_AddArrayToObject(blk, "content");
        if (text_blocks(b, content, i, parts) != SY_OK) {
            cJSON_Delete(blk);
            return SY_ERR_INVALID;
        }
    }
    cJSON_AddItemToArray(blocks, blk);
    return SY_OK;
}

/* messages → system + messages. */
static int translate_messages(const sy_refuser *b, const cJSON *req, cJSON *a)
{
    const cJSON *messages = sy_field(req, "messages");
    if (!cJSON_IsArray(messages))
        return sy_refuse(b, "must be a non-empty array", "messages");
    cJSON *system = cJSON_CreateArray();
    cJSON *out = cJSON_CreateArray();
    size_t i = 0;
    int rc = SY_OK;
    for (const cJSON *m = messages->child; m && rc == SY_OK; m = m->next, i++) {
        const cJSON *role = sy_field(m, "role");
        if (!cJSON_IsString(role)) {
            rc = sy_refuse(b, "must be a string", "messages[%zu].role", i);
            break;
        }
        const char *r = role->valuestring;
        if (strcmp(r, "system") == 0 || strcmp(r, "developer") == 0) {
            rc = text_blocks(b, sy_field(m, "content"), i, system);
            continue;
        }
        cJSON *blocks = cJSON_CreateArray();
        const char *arole = "user";
        if (strcmp(r, "user") == 0) {
            const cJSON *content = sy_field(m, "content");
            if (cJSON_IsString(content)) {
                if (content->valuestring[0])
                    cJSON_AddItemToArray(blocks, sy_text_part(content->valuestring, NULL));
            } else if (cJSON_IsArray(content)) {
                size_t j = 0;
                for (const cJSON *p = content->child; p && rc == SY_OK; p = p->next, j++)
                    rc = user_part(b, p, i, j, blocks);
            } else {
                rc = sy_refuse(b, "must be a string or an array of content parts",
                               "messages[%zu].content", i);
            }
        } else if (strcmp(r, "assistant") == 0) {
            arole = "assistant";
            rc = assistant_blocks(b, m, i, blocks);
        } else if (strcmp(r, "tool") == 0) {
            rc = tool_block(b, m, i, blocks);
        } else {
            rc = sy_refuse(b, "role must be system, developer, user, assistant or tool",
                           "messages[%zu].role", i);
        }
        if (rc != SY_OK || cJSON_GetArraySize(blocks) == 0) {
            cJSON_Delete(blocks); /* a message with nothing to say is left out */
            continue;
        }
        sy_add_turn(out, arole, "content", blocks);
    }
    if (rc == SY_OK && cJSON_GetArraySize(out) == 0)
        rc = sy_refuse(b, "Anthropic needs at least one non-empty user or assistant message",
                       "messages");
    if (rc != SY_OK) {
        cJSON_Delete(system);
        cJSON_Delete(out);
        return rc;
    }
    if (cJSON_GetArraySize(system) > 0)
        cJSON_AddItemToObject(a, "system", system);
    else
        cJSON_Delete(system);
    cJSON_AddItemToObject(a, "messages", out);
    return SY_OK;
}

/* tools → tools[{name, description, input_schema}]. "strict" has no counterpart and is
 * dropped; a tool without parameters gets the empty object schema Anthropic requires. */
static int translate_tools(const sy_refuser *b, const cJSON *req, cJSON *a)
{
    const cJSON *tools;
    int rc =
        sy_function_tools(b, req, "only function tools can be sent to Anthropic", AN_JSON_TOOL,
                          "the name json_response is reserved by the Anthropic dialect", &tools);
    if (rc != SY_OK || !tools)
        return rc;
    cJSON *out = cJSON_CreateArray();
    const cJSON *t;
    cJSON_ArrayForEach(t, tools)
    {
        cJSON *d = sy_function_decl(t, "input_schema");
        if (!cJSON_HasObjectItem(d, "input_schema")) {
            cJSON *s = cJSON_AddObjectToObject(d, "input_schema");
            cJSON_AddStringToObject(s, "type", "object");
            cJSON_AddObjectToObject(s, "properties");
        }
        sy_copy_cache_control(t, d);
        cJSON_AddItemToArray(out, d);
    }
    cJSON_AddItemToObject(a, "tools", out);
    return SY_OK;
}

/*
 * tool_choice → tool_choice: auto → auto, none → none (the tools stay in the request, so
 * a cached prompt prefix stays valid), required → any, one named function → tool.
 * parallel_tool_calls: false → disable_parallel_tool_use (on an auto choice when the
 * client gave none). Without tools "auto" and "none" say nothing and are left out;
 * "required" or a named function cannot be honoured.
 */
static int translate_tool_choice(const sy_refuser *b, const cJSON *req, cJSON *a)
{
    const cJSON *tc = sy_field(req, "tool_choice");
    int have_tools = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(a, "tools")) > 0;
    const cJSON *ptc = sy_field(req, "parallel_tool_calls");
    static const char *const modes[3] = {"auto", "none", "any"};
    const char *type = "auto", *only = NULL;
    if (tc) {
        int rc = sy_tool_choice(b, tc, modes, "tool", &type, &only);
        if (rc != SY_OK)
            return rc;
    }
    if (!have_tools) {
        if (strcmp(type, "any") == 0 || strcmp(type, "tool") == 0)
            return sy_refuse(b, "requires tools", "tool_choice");
        return SY_OK;
    }
    int no_parallel = cJSON_IsFalse(ptc) && strcmp(type, "none") != 0;
    if (!tc && !no_parallel)
        return SY_OK; /* Anthropic's default is auto */
    cJSON *o = cJSON_AddObjectToObject(a, "tool_choice");
    cJSON_AddStringToObject(o, "type", type);
    if (only)
        cJSON_AddStringToObject(o, "name", only);
    if (no_parallel)
        cJSON_AddTrueToObject(o, "disable_parallel_tool_use");
    return SY_OK;
}

/*
 * response_format: json_object and json_schema become one forced call of AN_JSON_TOOL
 * whose input_schema is the wanted JSON (any object for json_object); the response
 * translation turns that call back into content. Anthropic's tool inputs are objects,
 * so a schema must describe an object; and the forced call leaves no room for the
 * client's own tools.
 */
static int translate_response_format(const sy_refuser *b, an_state *st, const cJSON *req, cJSON *a)
{
    const cJSON *rf = sy_field(req, "response_format");
    if (!rf)
        return SY_OK;
    const cJSON *type = sy_field(rf, "type");
    const char *t = cJSON_IsString(type) ? type->valuestring : "";
    if (strcmp(t, "text") == 0)
        return SY_OK;
    if (strcmp(t, "json_object") != 0 && strcmp(t, "json_schema") != 0)
        return sy_refuse(b, "must be text, json_object or json_schema", "response_format.type");
    if (cJSON_GetArraySize(sy_field(req, "tools")) > 0 || sy_field(req, "tool_choice"))
        return sy_refuse(b,
                         "JSON mode is a forced tool call in the Anthropic dialect and cannot be "
                         "combined with tools or tool_choice",
                         "response_format");
    const cJSON *js = sy_field(rf, "json_schema");
    const cJSON *schema = sy_field(js, "schema"), *desc = sy_field(js, "description");
    if (strcmp(t, "json_schema") == 0) {
        if (!cJSON_IsObject(schema))
            return sy_refuse(b, "must be a JSON Schema object",
                             "response_format.json_schema.schema");
        if (!sy_is(sy_field(schema, "type"), "object"))
            return sy_refuse(b,
                             "Anthropic can only produce JSON objects: the schema's type must be "
                             "\"object\"",
                             "response_format.json_schema.schema");
    }
    cJSON *tool = cJSON_CreateObject();
    cJSON_AddStringToObject(tool, "name", AN_JSON_TOOL);
    cJSON_AddStringToObject(tool, "description",
                            cJSON_IsString(desc) ? desc->valuestring
                                                 : "Give the answer as this tool's input: a "
                                                   "JSON object.");
    if (cJSON_IsObject(schema)) {
        cJSON_AddItemToObject(tool, "input_schema", cJSON_Duplicate(schema, 1));
    } else {
        cJSON *s = cJSON_AddObjectToObject(tool, "input_schema");
        cJSON_AddStringToObject(s, "type", "object");
    }
    cJSON_AddItemToArray(cJSON_AddArrayToObject(a, "tools"), tool);
    cJSON *tc = cJSON_AddObjectToObject(a, "tool_choice");
    cJSON_AddStringToObject(tc, "type", "tool");
    cJSON_AddStringToObject(tc, "name", AN_JSON_TOOL);
    st->json_mode = 1;
    return SY_OK;
}

/* max_tokens / max_completion_tokens (the smaller when both are given) → max_tokens,
 * which Anthropic requires: AN_DEFAULT_MAX_TOKENS when the client gave none. */
static int max_tokens_param(const sy_refuser *b, const cJSON *req, cJSON *a)
{
    double limit;
    int rc = sy_max_tokens_param(b, req, &limit);
    if (rc == SY_OK)
        cJSON_AddNumberToObject(a, "max_tokens", limit > 0 ? limit : AN_DEFAULT_MAX_TOKENS);
    return rc;
}

/* safety_identifier, else user → metadata.user_id (Anthropic's end-user id). */
static int user_param(const sy_refuser *b, const cJSON *req, cJSON *a)
{
    const cJSON *id = sy_field(req, "safety_identifier");
    const char *name = "safety_identifier";
    if (!id) {
        id = sy_field(req, "user");
        name = "user";
    }
    if (!id)
        return SY_OK;
    if (!cJSON_IsString(id))
        return sy_refuse(b, "must be a string", "%s", name);
    if (id->valuestring[0])
        cJSON_AddStringToObject(cJSON_AddObjectToObject(a, "metadata"), "user_id", id->valuestring);
    return SY_OK;
}

/*
 * Top-level members: each is translated, dropped (bookkeeping with no effect on the
 * answer), accepted at its no-op value, or refused. A member set to null counts as
 * absent. Unknown members are refused: the gateway cannot honour what it does not know.
 */
static int check_members(const sy_refuser *b, const cJSON *req)
{
    static const char *const translated[] = {
        "model",
        "messages",
        "stream",
        "stream_options",
        "temperature",
        "top_p",
        "top_k",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "response_format",
        "tools",
        "tool_choice",
        "user",
        "safety_identifier",
        "parallel_tool_calls",
    };
    static const char *const dropped[] = {"metadata", "store", "service_tier", "prompt_cache_key"};
    for (const cJSON *m = req->child; m; m = m->next) {
        if (cJSON_IsNull(m))
            continue;
        if (sy_listed(m->string, translated, SY_ARRAY_LEN(translated)) ||
            sy_listed(m->string, dropped, SY_ARRAY_LEN(dropped)))
            continue;
        const char *s = m->string;
        if (strcmp(s, "n") == 0) {
            if (!cJSON_IsNumber(m) || m->valuedouble != 1)
                return sy_refuse(b, "Anthropic returns one choice per request: n must be 1", "n");
        } else if (strcmp(s, "logprobs") == 0) {
            if (!cJSON_IsFalse(m))
                return sy_refuse(b, "Anthropic has no log probabilities", "logprobs");
        } else if (strcmp(s, "presence_penalty") == 0 || strcmp(s, "frequency_penalty") == 0) {
            if (!cJSON_IsNumber(m) || m->valuedouble != 0)
                return sy_refuse(b, "Anthropic has no repetition penalties (only 0 is accepted)",
                                 "%s", s);
        } else if (strcmp(s, "seed") == 0) {
            return sy_refuse(b, "Anthropic has no sampling seed", "seed");
        } else if (strcmp(s, "logit_bias") == 0) {
            if (!cJSON_IsObject(m) || m->child)
                return sy_refuse(b, "Anthropic has no logit bias", "logit_bias");
        } else if (strcmp(s, "reasoning_effort") == 0) {
            if (!sy_is(m, "none") && !sy_is(m, "minimal"))
                return sy_refuse(
                    b,
                    "extended thinking is not translated to the Anthropic dialect (its "
                    "thinking blocks cannot round-trip through the OpenAI shape); only "
                    "none and minimal are accepted",
                    "reasoning_effort");
        } else if (strcmp(s, "modalities") == 0) {
            if (!sy_text_modalities_only(m))
                return sy_refuse(b, "only text output is supported by the Anthropic dialect",
                                 "modalities");
        } else {
            return sy_refuse(b, "not supported by the Anthropic dialect", "%s", s);
        }
    }
    return SY_OK;
}

static int translate_parameters(const sy_refuser *b, const cJSON *req, cJSON *a)
{
    int rc = max_tokens_param(b, req, a);
    if (rc == SY_OK)
        rc = sy_number_param(b, req, "temperature", 0, 0, 1,
                             "must be a number between 0 and 1 (Anthropic's range)", a,
                             "temperature");
    if (rc == SY_OK)
        rc = sy_number_param(b, req, "top_p", 0, 0, 1, "must be a number between 0 and 1", a,
                             "top_p");
    if (rc == SY_OK)
        rc = sy_number_param(b, req, "top_k", 1, 1, 1e9, "must be a positive integer", a, "top_k");
    if (rc == SY_OK)
        rc = sy_stop_param(b, req, 0, NULL, a, "stop_sequences");
    if (rc == SY_OK)
        rc = user_param(b, req, a);
    return rc;
}

static int anthropic_build(const sy_provider_cfg *prov, const sy_model_cfg *model, cJSON *req,
                           int stream, sy_relay_state *rs, sy_upstream_call *out,
                           const char **bad_param, const char **why)
{
    an_state *st = an_state_for(rs, model->name);
    sy_refuser b;
    if (sy_build_begin(&st->head, req, stream, bad_param, why, &b) != SY_OK)
        return SY_ERR_INVALID;
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "model", model->upstream_name);
    int rc = check_members(&b, req);
    if (rc == SY_OK)
        rc = translate_parameters(&b, req, a);
    if (rc == SY_OK)
        rc = translate_messages(&b, req, a);
    if (rc == SY_OK)
        rc = translate_tools(&b, req, a);
    if (rc == SY_OK)
        rc = translate_tool_choice(&b, req, a);
    if (rc == SY_OK)
        rc = translate_response_format(&b, st, req, a);
    if (rc == SY_OK && stream)
        cJSON_AddTrueToObject(a, "stream");
    char *body = rc == SY_OK ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    if (rc != SY_OK)
        return rc;
    if (body)
        sy_buf_printf(&out->url, "%s/messages", prov->base_url);
    return sy_upstream_finish(out, body, stream, "anthropic-version: " AN_VERSION, "x-api-key",
                              prov->api_key, bad_param, why);
}

const sy_adapter sy_adapter_anthropic = {
    .dialect = SY_DIALECT_ANTHROPIC,
    .build = anthropic_build,
    .response = sy_anthropic_response,
    .stream_event = sy_anthropic_stream_event,
    .error = sy_anthropic_error,
    .release = sy_anthropic_release,
};
