/*
 * responses_request: a Responses API request as a chat completions body (responses.h).
 *
 *   instructions                      -> a first system message
 *   input: a string                   -> one user message
 *   input: message items              -> messages (developer -> system; input_text and
 *                                        output_text -> text parts, input_image ->
 *                                        image_url, input_file -> file, input_audio)
 *   function_call items               -> the assistant message's tool_calls (merged into
 *                                        the assistant message before them)
 *   function_call_output items        -> tool messages
 *   reasoning items                   -> dropped (chat cannot take them back)
 *   tools (flat function shape)       -> chat function tools; tool_choice likewise
 *   max_output_tokens                 -> max_completion_tokens
 *   text.format                       -> response_format; reasoning.effort ->
 *                                        reasoning_effort
 *   temperature, top_p, user, metadata, parallel_tool_calls, service_tier,
 *   prompt_cache_key, safety_identifier, top_logprobs -> the same
 *   prompt                            -> the same: a version of the gateway's prompt
 *                                        registry (docs/experiments.md)
 *   stream                            -> stream + stream_options.include_usage
 *
 * Everything else a client may send is ignored, except what needs state the gateway
 * does not keep or tools it does not run, which is refused naming the parameter.
 */
#include "responses.h"

#include "chat_validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Where a refusal goes (responses.h: *param is a thread-local buffer). */
typedef struct rq {
    const char **param;
    char *why;
    size_t why_len;
} rq;

static _Thread_local char param_buf[128];

/* Refuse: the parameter (printf-style) and the reason; returns NULL. */
static void *refuse(rq *q, const char *why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void *refuse(rq *q, const char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(param_buf, sizeof(param_buf), fmt, ap);
    va_end(ap);
    *q->param = param_buf[0] ? param_buf : NULL;
    snprintf(q->why, q->why_len, "%s", why);
    return NULL;
}

static const cJSON *member(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

static int is(const cJSON *v, const char *s)
{
    return cJSON_IsString(v) && strcmp(v->valuestring, s) == 0;
}

/* Copy in[name] to out[to] when present and not null. */
static void copy(const cJSON *in, const char *name, cJSON *out, const char *to)
{
    const cJSON *v = member(in, name);
    if (v)
        cJSON_AddItemToObject(out, to, cJSON_Duplicate(v, 1));
}

/* ---- content */

/* One content part of a user message as a chat part, or NULL (refused). */
static cJSON *user_part(rq *q, const cJSON *p, const char *path, int j)
{
    const cJSON *type = member(p, "type");
    cJSON *out = cJSON_CreateObject();
    if (is(type, "input_text") || is(type, "output_text") || is(type, "text")) {
        const cJSON *text = member(p, "text");
        if (!cJSON_IsString(text))
            goto bad_text;
        cJSON_AddStringToObject(out, "type", "text");
        cJSON_AddStringToObject(out, "text", text->valuestring);
    } else if (is(type, "input_image")) {
        const cJSON *url = member(p, "image_url");
        if (!cJSON_IsString(url)) {
            cJSON_Delete(out);
            return refuse(q,
                          "input_image needs an image_url (a URL or a data: URL); images by "
                          "file_id need OpenAI's Files API, which the gateway does not proxy",
                          "%s.content[%d].image_url", path, j);
        }
        cJSON *iu = cJSON_AddObjectToObject(out, "image_url");
        cJSON_AddStringToObject(iu, "url", url->valuestring);
        const cJSON *detail = member(p, "detail");
        if (cJSON_IsString(detail))
            cJSON_AddStringToObject(iu, "detail", detail->valuestring);
        cJSON_AddStringToObject(out, "type", "image_url");
    } else if (is(type, "input_file")) {
        if (member(p, "file_url")) {
            cJSON_Delete(out);
            return refuse(q, "input_file by file_url is not supported: send file_data",
                          "%s.content[%d].file_url", path, j);
        }
        cJSON_AddStringToObject(out, "type", "file");
        cJSON *f = cJSON_AddObjectToObject(out, "file");
        copy(p, "file_data", f, "file_data");
        copy(p, "file_id", f, "file_id");
        copy(p, "filename", f, "filename");
    } else if (is(type, "input_audio")) {
        cJSON_AddStringToObject(out, "type", "input_audio");
        copy(p, "input_audio", out, "input_audio");
    } else {
        cJSON_Delete(out);
        return refuse(q,
                      "content parts must be input_text, input_image, input_file or "
                      "input_audio",
                      "%s.content[%d].type", path, j);
    }
    return out;
bad_text:
    cJSON_Delete(out);
    return refuse(q, "a text part needs a 'text' string", "%s.content[%d].text", path, j);
}

/* Text-only content (system, developer and assistant messages, tool outputs) as one
 * string: a string, or the texts of an array of text parts joined. NULL when refused. */
static cJSON *text_content(rq *q, const cJSON *content, const char *path, const char *key)
{
    if (cJSON_IsString(content))
        return cJSON_CreateString(content->valuestring);
    if (!cJSON_IsArray(content))
        return refuse(q, "must be a string or an array of content parts", "%s.%s", path, key);
    sy_buf b = {0};
    const cJSON *p;
    int j = 0;
    cJSON_ArrayForEach(p, content)
    {
        const cJSON *type = member(p, "type");
        const cJSON *text = member(p, is(type, "refusal") ? "refusal" : "text");
        if (!(is(type, "input_text") || is(type, "output_text") || is(type, "text") ||
              is(type, "refusal")) ||
            !cJSON_IsString(text)) {
            sy_buf_free(&b);
            return refuse(q,
                          "this content may only hold text parts ({type: input_text or "
                          "output_text, text})",
                          "%s.%s[%d]", path, key, j);
        }
        sy_buf_puts(&b, text->valuestring);
        j++;
    }
    cJSON *s = cJSON_CreateString(b.data ? b.data : "");
    sy_buf_free(&b);
    return s;
}

/* A message item as a chat message, or NULL (refused). */
static cJSON *message(rq *q, const cJSON *item, const char *path)
{
    const cJSON *role = member(item, "role");
    const cJSON *content = member(item, "content");
    int user = is(role, "user");
    if (!(user || is(role, "assistant") || is(role, "system") || is(role, "developer")))
        return refuse(q, "role must be user, assistant, system or developer", "%s.role", path);
    cJSON *m = cJSON_CreateObject();
    /* developer is the system role of newer OpenAI models; every dialect reads system */
    cJSON_AddStringToObject(m, "role", is(role, "developer") ? "system" : role->valuestring);
    cJSON *c = NULL;
    if (user && cJSON_IsArray(content)) {
        c = cJSON_CreateArray();
        const cJSON *p;
        int j = 0;
        cJSON_ArrayForEach(p, content)
        {
            cJSON *part = user_part(q, p, path, j++);
            if (!part) {
                cJSON_Delete(c);
                c = NULL;
                break;
            }
            cJSON_AddItemToArray(c, part);
        }
    } else {
        c = text_content(q, content, path, "content");
    }
    if (!c) {
        cJSON_Delete(m);
        return NULL;
    }
    cJSON_AddItemToObject(m, "content", c);
    return m;
}

/* ---- items */

/* A function_call item into the assistant message ending messages (a new one when the
 * last message is not the assistant's). 0, or -1 (refused). */
static int function_call(rq *q, const cJSON *item, const char *path, cJSON *messages)
{
    const cJSON *call_id = member(item, "call_id"), *name = member(item, "name");
    const cJSON *args = member(item, "arguments");
    if (!cJSON_IsString(call_id) || !call_id->valuestring[0]) {
        refuse(q, "a function_call item needs a call_id string", "%s.call_id", path);
        return -1;
    }
    if (!cJSON_IsString(name) || !name->valuestring[0]) {
        refuse(q, "a function_call item needs a name string", "%s.name", path);
        return -1;
    }
    if (args && !cJSON_IsString(args)) {
        refuse(q, "arguments must be a string (JSON text)", "%s.arguments", path);
        return -1;
    }
    cJSON *last = cJSON_GetArrayItem(messages, cJSON_GetArraySize(messages) - 1);
    if (!is(cJSON_GetObjectItemCaseSensitive(last, "role"), "assistant")) {
        last = cJSON_CreateObject();
        cJSON_AddStringToObject(last, "role", "assistant");
        cJSON_AddNullToObject(last, "content");
        cJSON_AddItemToArray(messages, last);
    }
    cJSON *calls = cJSON_GetObjectItemCaseSensitive(last, "tool_calls");
    if (!calls)
        calls = cJSON_AddArrayToObject(last, "tool_calls");
    cJSON *tc = cJSON_CreateObject();
    cJSON_AddStringToObject(tc, "id", call_id->valuestring);
    cJSON_AddStringToObject(tc, "type", "function");
    cJSON *fn = cJSON_AddObjectToObject(tc, "function");
    cJSON_AddStringToObject(fn, "name", name->valuestring);
    cJSON_AddStringToObject(fn, "arguments", args ? args->valuestring : "{}");
    cJSON_AddItemToArray(calls, tc);
    return 0;
}

/* A function_call_output item as a tool message, or NULL (refused). */
static cJSON *function_output(rq *q, const cJSON *item, const char *path)
{
    const cJSON *call_id = member(item, "call_id");
    if (!cJSON_IsString(call_id) || !call_id->valuestring[0])
        return refuse(q, "a function_call_output item needs a call_id string", "%s.call_id", path);
    cJSON *out = text_content(q, member(item, "output"), path, "output");
    if (!out)
        return NULL;
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "tool");
    cJSON_AddStringToObject(m, "tool_call_id", call_id->valuestring);
    cJSON_AddItemToObject(m, "content", out);
    return m;
}

/* The input items appended to messages. 0, or -1 (refused). */
static int input_items(rq *q, const cJSON *input, cJSON *messages)
{
    const cJSON *item;
    int i = 0;
    char path[32];
    cJSON_ArrayForEach(item, input)
    {
        snprintf(path, sizeof(path), "input[%d]", i++);
        if (!cJSON_IsObject(item)) {
            refuse(q, "input items must be objects", "%s", path);
            return -1;
        }
        const cJSON *type = member(item, "type");
        if (type && !cJSON_IsString(type)) {
            refuse(q, "an item's type must be a string", "%s.type", path);
            return -1;
        }
        if (!type || is(type, "message")) {
            cJSON *m = message(q, item, path);
            if (!m)
                return -1;
            cJSON_AddItemToArray(messages, m);
        } else if (is(type, "function_call")) {
            if (function_call(q, item, path, messages) != 0)
                return -1;
        } else if (is(type, "function_call_output")) {
            cJSON *m = function_output(q, item, path);
            if (!m)
                return -1;
            cJSON_AddItemToArray(messages, m);
        } else if (is(type, "reasoning")) {
            continue; /* a previous answer's reasoning: chat APIs cannot take it back */
        } else if (is(type, "item_reference")) {
            refuse(q,
                   "item_reference needs stored responses, and the gateway stores none: "
                   "send the items themselves",
                   "%s.type", path);
            return -1;
        } else {
            refuse(q,
                   "supported input items: message, function_call, function_call_output "
                   "(built-in tool items are not supported by the gateway)",
                   "%s.type", path);
            return -1;
        }
    }
    return 0;
}

/* ---- tools */

/* The flat Responses function tool {type, name, description, parameters, strict} as a
 * chat tool, or NULL (refused: built-in tools run at OpenAI, not here). */
static cJSON *tool(rq *q, const cJSON *t, int i)
{
    const cJSON *type = member(t, "type");
    if (!cJSON_IsObject(t) || !cJSON_IsString(type))
        return refuse(q, "a tool must be an object with a type", "tools[%d]", i);
    if (!is(type, "function")) {
        char why[200];
        snprintf(why, sizeof(why),
                 "built-in tool '%.40s' is not supported by the gateway: only function tools "
                 "(type \"function\")",
                 type->valuestring);
        return refuse(q, why, "tools[%d].type", i);
    }
    const cJSON *name = member(t, "name");
    if (!cJSON_IsString(name) || !name->valuestring[0])
        return refuse(q, "a function tool needs a name string", "tools[%d].name", i);
    const cJSON *params = member(t, "parameters");
    if (params && !cJSON_IsObject(params))
        return refuse(q, "parameters must be a JSON Schema object", "tools[%d].parameters", i);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "type", "function");
    cJSON *fn = cJSON_AddObjectToObject(out, "function");
    cJSON_AddStringToObject(fn, "name", name->valuestring);
    copy(t, "description", fn, "description");
    copy(t, "parameters", fn, "parameters");
    const cJSON *strict = member(t, "strict");
    if (cJSON_IsBool(strict))
        cJSON_AddBoolToObject(fn, "strict", cJSON_IsTrue(strict));
    return out;
}

/* tools and tool_choice. 0, or -1 (refused). */
static int tools(rq *q, const cJSON *in, cJSON *out)
{
    const cJSON *ts = member(in, "tools");
    if (ts && !cJSON_IsArray(ts)) {
        refuse(q, "tools must be an array", "tools");
        return -1;
    }
    if (cJSON_GetArraySize(ts) > 0) {
        cJSON *arr = cJSON_AddArrayToObject(out, "tools");
        const cJSON *t;
        int i = 0;
        cJSON_ArrayForEach(t, ts)
        {
            cJSON *c = tool(q, t, i++);
            if (!c)
                return -1;
            cJSON_AddItemToArray(arr, c);
        }
    }
    const cJSON *tc = member(in, "tool_choice");
    if (!tc)
        return 0;
    if (is(tc, "auto") || is(tc, "none") || is(tc, "required")) {
        cJSON_AddStringToObject(out, "tool_choice", tc->valuestring);
        return 0;
    }
    const cJSON *name = member(tc, "name");
    if (cJSON_IsObject(tc) && is(member(tc, "type"), "function") && cJSON_IsString(name)) {
        cJSON *c = cJSON_AddObjectToObject(out, "tool_choice");
        cJSON_AddStringToObject(c, "type", "function");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(c, "function"), "name", name->valuestring);
        return 0;
    }
    refuse(q,
           "tool_choice must be \"auto\", \"none\", \"required\" or {\"type\": \"function\", "
           "\"name\": ...} (built-in tools are not supported)",
           "tool_choice");
    return -1;
}

/* ---- the rest */

/* text.format -> response_format. 0, or -1 (refused). */
static int text_format(rq *q, const cJSON *in, cJSON *out)
{
    const cJSON *text = member(in, "text");
    if (!text)
        return 0;
    const cJSON *f = member(text, "format");
    if (!cJSON_IsObject(text) || (f && !cJSON_IsObject(f))) {
        refuse(q, "text must be an object whose format is an object", "text.format");
        return -1;
    }
    const cJSON *type = member(f, "type");
    if (!f || is(type, "text"))
        return 0;
    cJSON *rf = cJSON_AddObjectToObject(out, "response_format");
    if (is(type, "json_object")) {
        cJSON_AddStringToObject(rf, "type", "json_object");
        return 0;
    }
    if (is(type, "json_schema") && cJSON_IsString(member(f, "name")) &&
        cJSON_IsObject(member(f, "schema"))) {
        cJSON_AddStringToObject(rf, "type", "json_schema");
        cJSON *js = cJSON_AddObjectToObject(rf, "json_schema");
        copy(f, "name", js, "name");
        copy(f, "description", js, "description");
        copy(f, "schema", js, "schema");
        copy(f, "strict", js, "strict");
        return 0;
    }
    refuse(q,
           "text.format must be {type: text}, {type: json_object} or {type: json_schema, "
           "name, schema}",
           "text.format");
    return -1;
}

/* What needs state the gateway does not keep. 0, or -1 (refused). */
static int stateless(rq *q, const cJSON *in)
{
    static const struct {
        const char *name, *why;
    } stateful[] = {
        {"previous_response_id",
         "previous_response_id is not supported: the gateway stores no responses; send the "
         "conversation's items in input"},
        {"conversation", "conversations are not supported: the gateway stores no responses; send "
                         "the conversation's items in input"},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(stateful); i++)
        if (member(in, stateful[i].name)) {
            refuse(q, stateful[i].why, "%s", stateful[i].name);
            return -1;
        }
    const cJSON *store = member(in, "store"), *bg = member(in, "background");
    if (store && !cJSON_IsFalse(store)) {
        refuse(q,
               "store: true is not supported: the gateway stores no responses (omit store or "
               "send false)",
               "store");
        return -1;
    }
    if (bg && !cJSON_IsFalse(bg)) {
        refuse(q, "background responses are not supported", "background");
        return -1;
    }
    return 0;
}

/* Scalars and objects that keep their name (or, with `to`, change it). 0, or -1. */
static int scalars(rq *q, const cJSON *in, cJSON *out)
{
    /* "prompt" ({id, version or label, variables}) names a version of the gateway's
     * prompt registry, rendered by the chat pipeline as for chat requests */
    static const char *const same[] = {"prompt",
                                       "temperature",
                                       "top_p",
                                       "user",
                                       "metadata",
                                       "service_tier",
                                       "prompt_cache_key",
                                       "safety_identifier",
                                       "top_logprobs",
                                       "parallel_tool_calls"};
    for (size_t i = 0; i < SY_ARRAY_LEN(same); i++)
        copy(in, same[i], out, same[i]);
    const cJSON *mot = member(in, "max_output_tokens");
    if (mot && (!cJSON_IsNumber(mot) || mot->valuedouble < 1 || mot->valuedouble > 1e9 ||
                mot->valuedouble != (double)(int64_t)mot->valuedouble)) {
        refuse(q, "max_output_tokens must be a positive integer", "max_output_tokens");
        return -1;
    }
    if (mot)
        cJSON_AddNumberToObject(out, "max_completion_tokens", mot->valuedouble);
    const cJSON *effort = member(member(in, "reasoning"), "effort");
    if (cJSON_IsString(effort))
        cJSON_AddStringToObject(out, "reasoning_effort", effort->valuestring);
    const cJSON *stream = member(in, "stream");
    if (stream && !cJSON_IsBool(stream)) {
        refuse(q, "stream must be a boolean", "stream");
        return -1;
    }
    if (cJSON_IsTrue(stream)) {
        cJSON_AddTrueToObject(out, "stream");
        cJSON_AddTrueToObject(cJSON_AddObjectToObject(out, "stream_options"), "include_usage");
    }
    return 0;
}

/* instructions and input as messages. 0, or -1 (refused). */
static int conversation(rq *q, const cJSON *in, cJSON *messages)
{
    const cJSON *instr = member(in, "instructions");
    if (instr && !cJSON_IsString(instr)) {
        refuse(q, "instructions must be a string", "instructions");
        return -1;
    }
    if (instr) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "system");
        cJSON_AddStringToObject(m, "content", instr->valuestring);
        cJSON_AddItemToArray(messages, m);
    }
    const cJSON *input = member(in, "input");
    if (!input && member(in, "prompt"))
        return 0; /* the gateway's prompt registry supplies the messages */
    if (cJSON_IsString(input)) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "user");
        cJSON_AddStringToObject(m, "content", input->valuestring);
        cJSON_AddItemToArray(messages, m);
        return 0;
    }
    if (!cJSON_IsArray(input)) {
        refuse(q, "input is required: a string or an array of input items", "input");
        return -1;
    }
    if (input_items(q, input, messages) != 0)
        return -1;
    if (cJSON_GetArraySize(messages) == (instr ? 1 : 0)) {
        refuse(q, "input has no message to answer", "input");
        return -1;
    }
    return 0;
}

cJSON *sy_responses_to_chat(const cJSON *in, const char **param, char *why, size_t why_len)
{
    rq q = {.param = param, .why = why, .why_len = why_len};
    *param = NULL;
    if (!cJSON_IsObject(in))
        return refuse(&q, "the request body must be a JSON object", "%s", "");
    const char *forbidden = sy_request_forbidden_field(in);
    if (forbidden)
        return refuse(&q, SY_FORBIDDEN_FIELD_MSG, "%s", forbidden);
    if (stateless(&q, in) != 0)
        return NULL;
    cJSON *out = cJSON_CreateObject();
    copy(in, "model", out, "model");
    cJSON *messages = cJSON_AddArrayToObject(out, "messages");
    if (conversation(&q, in, messages) != 0 || tools(&q, in, out) != 0 ||
        text_format(&q, in, out) != 0 || scalars(&q, in, out) != 0) {
        cJSON_Delete(out);
        return NULL;
    }
    return out;
}
