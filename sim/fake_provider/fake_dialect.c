/*
 * fake_dialect: what the three dialects of fake-provider (fake_openai.c,
 * fake_anthropic.c, fake_gemini.c) have in common — see fake_dialect.h.
 */
#include "fake_dialect.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fp_chat_free(fp_chat *c)
{
    free(c->model);
    free(c->tool_name);
    sy_buf_free(&c->echo);
    memset(c, 0, sizeof *c);
}

fp_error_row fp_error_lookup(const fp_error_row *table, fp_error_code code, const char *message)
{
    fp_error_row row = table[FP_ERR_INVALID_REQUEST];
    if ((unsigned)code < FP_ERR_COUNT && table[code].status)
        row = table[code];
    if (message)
        row.message = message;
    return row;
}

int fp_positive_int(const cJSON *v, long *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e9 ||
        v->valuedouble != (double)(long)v->valuedouble)
        return 0;
    *out = (long)v->valuedouble;
    return 1;
}

const char *fp_nonempty_string(const cJSON *v)
{
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

size_t fp_take_text(const char *s, sy_buf *out)
{
    size_t n = strlen(s);
    if (out)
        sy_buf_append(out, s, n);
    return n;
}

void fp_put_string(sy_buf *out, const char *s)
{
    sy_buf_json_string(out, s, strlen(s));
}

const char *fp_id_suffix(const char *id, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(id, prefix, n) == 0 ? id + n : id;
}

const char *fp_tool_args(const fp_exchange *x)
{
    return x->tool_args_json && x->tool_args_json[0] ? x->tool_args_json : "{}";
}

int fp_invalid(sy_buf *err, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sy_buf_puts(err, msg);
    return SY_ERR_INVALID;
}

int fp_parse_model(const cJSON *body, fp_chat *c, const char *missing_model, sy_buf *err)
{
    if (!cJSON_IsObject(body))
        return fp_invalid(err, "The request body must be a JSON object.");
    const char *model = fp_nonempty_string(cJSON_GetObjectItemCaseSensitive(body, "model"));
    if (!model)
        return fp_invalid(err, "%s", missing_model);
    c->model = sy_xstrdup(model);
    return SY_OK;
}

void fp_chat_set_tool(fp_chat *c, const cJSON *name)
{
    if (name)
        c->tool_name = sy_xstrdup(name->valuestring);
}

size_t fp_content_text(const cJSON *content, sy_buf *out)
{
    if (cJSON_IsString(content))
        return fp_take_text(content->valuestring, out);
    size_t total = 0;
    const cJSON *part, *parts = cJSON_IsArray(content) ? content : NULL;
    cJSON_ArrayForEach(part, parts)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (cJSON_IsString(t))
            total += fp_take_text(t->valuestring, out);
    }
    return total;
}

/* obj's "name", or obj[nest]'s when nest is not NULL (NULL when either is missing). */
static const cJSON *tool_name(const cJSON *obj, const char *nest)
{
    if (nest)
        obj = cJSON_GetObjectItemCaseSensitive(obj, nest);
    return cJSON_GetObjectItemCaseSensitive(obj, "name");
}

int fp_parse_tools(const cJSON *body, const char *nest, fp_chat *c, sy_buf *err)
{
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(body, "tools");
    if (!tools || cJSON_IsNull(tools))
        return SY_OK;
    if (!cJSON_IsArray(tools))
        return fp_invalid(err, "Invalid 'tools': expected an array.");
    const cJSON *t, *first = NULL;
    size_t i = 0;
    cJSON_ArrayForEach(t, tools)
    {
        if (nest && !cJSON_IsObject(t))
            return fp_invalid(err, "Invalid 'tools[%zu]': expected an object.", i);
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(t, "type");
        int function =
            cJSON_IsString(type) ? strcmp(type->valuestring, "function") == 0 : nest && !type;
        if (function) {
            const cJSON *name = tool_name(t, nest);
            if (!fp_nonempty_string(name))
                return fp_invalid(err, "Missing required parameter: 'tools[%zu].%s%sname'.", i,
                                  nest ? nest : "", nest ? "." : "");
            if (!first)
                first = name;
        }
        i++;
    }
    const cJSON *choice = cJSON_GetObjectItemCaseSensitive(body, "tool_choice");
    if (cJSON_IsString(choice) && strcmp(choice->valuestring, "none") == 0)
        return SY_OK;
    const cJSON *forced = tool_name(choice, nest);
    if (cJSON_IsObject(choice) && fp_nonempty_string(forced))
        first = forced;
    fp_chat_set_tool(c, first);
    return SY_OK;
}
