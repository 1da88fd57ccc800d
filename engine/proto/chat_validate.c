/* chat_validate: see chat_validate.h. */
#include "chat_validate.h"
#include "validate_fail.h"

#include "json_body.h"
#include "sy_common.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Fields that would choose an upstream or its credentials: never from a request. */
static const char *const forbidden_fields[] = {
    "api_base",           "base_url", "api_key",     "api_url",      "azure_endpoint",
    "upstream_url",       "endpoint", "api_version", "organization", "extra_headers",
    "custom_llm_provider"};

const char *sy_request_forbidden_field(const cJSON *root)
{
    for (size_t i = 0; i < SY_ARRAY_LEN(forbidden_fields); i++)
        if (cJSON_GetObjectItemCaseSensitive(root, forbidden_fields[i]))
            return forbidden_fields[i];
    return NULL;
}

static const char *const known_roles[] = {"system",    "developer", "user",
                                          "assistant", "tool",      "function"};

typedef enum { K_NUMBER, K_INT, K_BOOL, K_STRING, K_OBJECT } kind;

/* Standard scalar and object fields: name, kind, bounds (numbers), and the message. */
static const struct {
    const char *name;
    kind k;
    double lo, hi;
    const char *msg;
} fields[] = {
    {"temperature", K_NUMBER, 0, 2, "'temperature' must be a number from 0 to 2"},
    {"top_p", K_NUMBER, 0, 1, "'top_p' must be a number from 0 to 1"},
    {"presence_penalty", K_NUMBER, -2, 2, "'presence_penalty' must be a number from -2 to 2"},
    {"frequency_penalty", K_NUMBER, -2, 2, "'frequency_penalty' must be a number from -2 to 2"},
    {"max_tokens", K_INT, 1, 1e9, "'max_tokens' must be a positive integer"},
    {"max_completion_tokens", K_INT, 1, 1e9, "'max_completion_tokens' must be a positive integer"},
    {"n", K_INT, 1, 128, "'n' must be an integer from 1 to 128"},
    {"seed", K_INT, -9.2e18, 9.2e18, "'seed' must be an integer"},
    {"top_logprobs", K_INT, 0, 20, "'top_logprobs' must be an integer from 0 to 20"},
    {"logprobs", K_BOOL, 0, 0, "'logprobs' must be a boolean"},
    {"parallel_tool_calls", K_BOOL, 0, 0, "'parallel_tool_calls' must be a boolean"},
    {"stream", K_BOOL, 0, 0, "'stream' must be a boolean"},
    {"user", K_STRING, 0, 0, "'user' must be a string"},
    {"stream_options", K_OBJECT, 0, 0, "'stream_options' must be an object"},
    {"response_format", K_OBJECT, 0, 0, "'response_format' must be an object with a 'type'"},
    {"logit_bias", K_OBJECT, 0, 0, "'logit_bias' must be an object"},
    {"metadata", K_OBJECT, 0, 0, "'metadata' must be an object"},
};

static int scalar_ok(const cJSON *v, kind k, double lo, double hi)
{
    switch (k) {
    case K_NUMBER:
        return cJSON_IsNumber(v) && v->valuedouble >= lo && v->valuedouble <= hi;
    case K_INT:
        return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
               v->valuedouble >= lo && v->valuedouble <= hi;
    case K_BOOL:
        return cJSON_IsBool(v);
    case K_STRING:
        return cJSON_IsString(v);
    case K_OBJECT:
        return cJSON_IsObject(v);
    }
    return 0;
}

/* A message's content: a string, an array of typed parts, or null where allowed. */
static int content_ok(const cJSON *m, const char *role, char *param, size_t n, int i,
                      const char **message)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
    int may_be_absent = strcmp(role, "assistant") == 0; /* with tool_calls, or refusals */
    if (!c || cJSON_IsNull(c)) {
        if (may_be_absent)
            return 1;
        return sy_validate_fail(param, n, message,
                                "a message's 'content' is required (a string or an array "
                                "of content parts)",
                                "messages[%d].content", i);
    }
    if (cJSON_IsString(c))
        return 1;
    if (!cJSON_IsArray(c))
        return sy_validate_fail(param, n, message,
                                "'content' must be a string or an array of content parts",
                                "messages[%d].content", i);
    int j = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, c)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "type");
        if (!cJSON_IsObject(p) || !cJSON_IsString(t))
            return sy_validate_fail(param, n, message,
                                    "each content part must be an object with a 'type'",
                                    "messages[%d].content[%d]", i, j);
        if (strcmp(t->valuestring, "text") == 0 &&
            !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(p, "text")))
            return sy_validate_fail(param, n, message, "a text part needs a string 'text'",
                                    "messages[%d].content[%d].text", i, j);
        if (strcmp(t->valuestring, "image_url") == 0) {
            const cJSON *iu = cJSON_GetObjectItemCaseSensitive(p, "image_url");
            if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(iu, "url")))
                return sy_validate_fail(param, n, message,
                                        "an image_url part needs 'image_url.url'",
                                        "messages[%d].content[%d].image_url", i, j);
        }
        j++;
    }
    return 1;
}

static int messages_ok(const cJSON *msgs, char *param, size_t n, const char **message)
{
    if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0)
        return sy_validate_fail(param, n, message,
                                "'messages' is required and must be a non-empty array", "messages");
    int i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        int ok = 0;
        for (size_t r = 0; cJSON_IsString(role) && r < SY_ARRAY_LEN(known_roles); r++)
            ok |= strcmp(role->valuestring, known_roles[r]) == 0;
        if (!cJSON_IsObject(m) || !ok)
            return sy_validate_fail(param, n, message,
                                    "each message must be an object whose 'role' is one of system, "
                                    "developer, user, assistant, tool, function",
                                    "messages[%d].role", i);
        if (!content_ok(m, role->valuestring, param, n, i, message))
            return 0;
        if (strcmp(role->valuestring, "tool") == 0 &&
            !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(m, "tool_call_id")))
            return sy_validate_fail(param, n, message,
                                    "a tool message needs a string 'tool_call_id'",
                                    "messages[%d].tool_call_id", i);
        const cJSON *tc = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
        if (tc && !cJSON_IsNull(tc) && !cJSON_IsArray(tc))
            return sy_validate_fail(param, n, message, "'tool_calls' must be an array",
                                    "messages[%d].tool_calls", i);
        i++;
    }
    return 1;
}

static int tools_ok(const cJSON *root, char *param, size_t n, const char **message)
{
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(root, "tools");
    if (tools && !cJSON_IsNull(tools)) {
        if (!cJSON_IsArray(tools))
            return sy_validate_fail(param, n, message, "'tools' must be an array", "tools");
        int i = 0;
        const cJSON *t;
        cJSON_ArrayForEach(t, tools)
        {
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(t, "type");
            const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
            if (!cJSON_IsObject(t) || !cJSON_IsString(type))
                return sy_validate_fail(
                    param, n, message, "each tool must be an object with a 'type'", "tools[%d]", i);
            if (strcmp(type->valuestring, "function") == 0 &&
                (!cJSON_IsObject(fn) ||
                 !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(fn, "name"))))
                return sy_validate_fail(param, n, message, "a function tool needs 'function.name'",
                                        "tools[%d].function", i);
            i++;
        }
    }
    const cJSON *tc = cJSON_GetObjectItemCaseSensitive(root, "tool_choice");
    if (tc && !cJSON_IsNull(tc) && !cJSON_IsString(tc) && !cJSON_IsObject(tc))
        return sy_validate_fail(param, n, message, "'tool_choice' must be a string or an object",
                                "tool_choice");
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(root, "stop");
    if (stop && !cJSON_IsNull(stop) && !cJSON_IsString(stop)) {
        int ok = cJSON_IsArray(stop) && cJSON_GetArraySize(stop) <= 4;
        const cJSON *s;
        cJSON_ArrayForEach(s, stop) ok = ok && cJSON_IsString(s);
        if (!ok)
            return sy_validate_fail(param, n, message,
                                    "'stop' must be a string or an array of at most 4 "
                                    "strings",
                                    "stop");
    }
    return 1;
}

static const char nul_msg[] = "names and identifiers must not contain NUL (\\u0000)";

/* A NUL (SY_JSON_NUL after sy_json_body_parse) in a string that names or identifies
 * something: with cJSON's C strings "ma\u0000zzz" was served as "ma" (issue 15).
 * Content is never checked here: it is forwarded intact. */
static int names_ok(const cJSON *root, char *param, size_t n, const char **message)
{
    static const char *const top[] = {"model", "user", "tool_choice", "service_tier"};
    for (size_t i = 0; i < SY_ARRAY_LEN(top); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, top[i]);
        if (cJSON_IsString(v) && sy_json_str_has_nul(v->valuestring))
            return sy_validate_fail(param, n, message, nul_msg, "%s", top[i]);
    }
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    for (const cJSON *m = cJSON_IsObject(md) ? md->child : NULL; m; m = m->next)
        if (sy_json_str_has_nul(m->string) ||
            (cJSON_IsString(m) && sy_json_str_has_nul(m->valuestring)))
            return sy_validate_fail(param, n, message, nul_msg, "metadata.%.60s",
                                    sy_json_str_has_nul(m->string) ? "" : m->string);
    int i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(root, "messages"))
    {
        static const char *const ids[] = {"name", "tool_call_id"};
        for (size_t k = 0; k < SY_ARRAY_LEN(ids); k++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, ids[k]);
            if (cJSON_IsString(v) && sy_json_str_has_nul(v->valuestring))
                return sy_validate_fail(param, n, message, nul_msg, "messages[%d].%s", i, ids[k]);
        }
        i++;
    }
    i = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(root, "tools"))
    {
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
        if (cJSON_IsString(name) && sy_json_str_has_nul(name->valuestring))
            return sy_validate_fail(param, n, message, nul_msg, "tools[%d].function.name", i);
        i++;
    }
    return 1;
}

int sy_request_envelope_ok(const cJSON *root, char *param, size_t param_len, const char **message)
{
    if (!cJSON_IsObject(root))
        return sy_validate_fail(param, param_len, message, "request body must be a JSON object",
                                "%s", "");
    const char *forbidden = sy_request_forbidden_field(root);
    if (forbidden)
        return sy_validate_fail(param, param_len, message, SY_FORBIDDEN_FIELD_MSG, "%s", forbidden);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (!cJSON_IsString(model) || !model->valuestring[0])
        return sy_validate_fail(param, param_len, message,
                                "'model' is required and must be a non-empty string", "model");
    return 1;
}

int sy_chat_validate(const cJSON *root, char *param, size_t param_len, const char **message)
{
    if (!sy_request_envelope_ok(root, param, param_len, message))
        return 0;
    if (!messages_ok(cJSON_GetObjectItemCaseSensitive(root, "messages"), param, param_len, message))
        return 0;
    if (!names_ok(root, param, param_len, message))
        return 0;
    for (size_t i = 0; i < SY_ARRAY_LEN(fields); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, fields[i].name);
        if (v && !cJSON_IsNull(v) && !scalar_ok(v, fields[i].k, fields[i].lo, fields[i].hi))
            return sy_validate_fail(param, param_len, message, fields[i].msg, "%s", fields[i].name);
    }
    const cJSON *rf = cJSON_GetObjectItemCaseSensitive(root, "response_format");
    if (rf && cJSON_IsObject(rf) && !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(rf, "type")))
        return sy_validate_fail(param, param_len, message,
                                "'response_format' must be an object with a 'type'",
                                "response_format");
    return tools_ok(root, param, param_len, message);
}
