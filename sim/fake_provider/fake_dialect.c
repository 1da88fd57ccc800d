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
