/* prompt_template: see prompt_template.h. */
#include "prompt_template.h"

#include "sy_common.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TEMPLATE_MESSAGES 256

/* Generation settings a template may default; anything else (URLs, keys, stream,
 * metadata) is refused when the version is created. */
static const char *const allowed_parameters[] = {
    "temperature",      "top_p", "max_tokens",      "max_completion_tokens", "stop",
    "presence_penalty", "seed",  "response_format", "frequency_penalty",     "tools",
    "tool_choice",      "n",     "logit_bias",      "parallel_tool_calls",   "reasoning_effort",
};

static const char *const allowed_roles[] = {"system", "developer", "user", "assistant"};

static int in_list(const char *s, const char *const *list, size_t n);

int sy_prompt_parameter_allowed(const char *name)
{
    return in_list(name, allowed_parameters, SY_ARRAY_LEN(allowed_parameters));
}

static void set_err(sy_prompt_error *err, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(sy_prompt_error *err, const char *param, const char *fmt, ...)
{
    snprintf(err->param, sizeof(err->param), "%s", param);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

static int in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

static int is_name_char(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (!first && ((c >= '0' && c <= '9') || c == '.' || c == '-'));
}

static const sy_prompt_var *find_var(const sy_prompt_template *t, const char *name, size_t len)
{
    for (size_t i = 0; i < t->n_vars; i++)
        if (strlen(t->vars[i].name) == len && memcmp(t->vars[i].name, name, len) == 0)
            return &t->vars[i];
    return NULL;
}

/*
 * Find the next placeholder in s from *pos: returns 1 with [*start, *end) the whole
 * "{{ name }}" and [*name, *name + *name_len) the name; 0 when there is none; -1 for a
 * malformed one (unterminated, empty or a bad name).
 */
static int next_placeholder(const char *s, size_t *pos, size_t *start, size_t *end,
                            const char **name, size_t *name_len)
{
    const char *open = strstr(s + *pos, "{{");
    if (!open)
        return 0;
    const char *p = open + 2;
    while (*p == ' ' || *p == '\t')
        p++;
    const char *n = p;
    if (!is_name_char(*p, 1))
        return -1;
    while (is_name_char(*p, 0))
        p++;
    size_t nl = (size_t)(p - n);
    while (*p == ' ' || *p == '\t')
        p++;
    if (p[0] != '}' || p[1] != '}' || nl >= SY_PROMPT_NAME_MAX)
        return -1;
    *start = (size_t)(open - s);
    *end = (size_t)(p + 2 - s);
    *name = n;
    *name_len = nl;
    *pos = *end;
    return 1;
}

/* Every placeholder of s is well formed and declared. */
static int check_string(const sy_prompt_template *t, const char *s, const char *path,
                        sy_prompt_error *err)
{
    size_t pos = 0, a, b, nl;
    const char *name;
    int rc;
    while ((rc = next_placeholder(s, &pos, &a, &b, &name, &nl)) == 1) {
        if (!find_var(t, name, nl)) {
            set_err(err, path, "placeholder '{{%.*s}}' names an undeclared variable", (int)nl,
                    name);
            return -1;
        }
    }
    if (rc < 0) {
        set_err(err, path,
                "malformed placeholder: expected '{{name}}' with a name of letters, "
                "digits, '_', '.' or '-'");
        return -1;
    }
    return 0;
}

/* The substitutable strings of a message: its string content or its parts' text. */
static int check_message(const sy_prompt_template *t, const cJSON *m, size_t i,
                         sy_prompt_error *err)
{
    char path[96];
    snprintf(path, sizeof(path), "messages[%zu]", i);
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
    if (!cJSON_IsObject(m) || !cJSON_IsString(role) ||
        !in_list(role->valuestring, allowed_roles, SY_ARRAY_LEN(allowed_roles))) {
        set_err(err, path,
                "each template message needs a role of system, developer, user or "
                "assistant");
        return -1;
    }
    snprintf(path, sizeof(path), "messages[%zu].content", i);
    if (cJSON_IsString(content))
        return check_string(t, content->valuestring, path, err);
    if (!cJSON_IsArray(content)) {
        set_err(err, path, "content must be a string or an array of parts");
        return -1;
    }
    size_t j = 0;
    for (const cJSON *part = content->child; part; part = part->next, j++) {
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        snprintf(path, sizeof(path), "messages[%zu].content[%zu]", i, j);
        if (!cJSON_IsObject(part)) {
            set_err(err, path, "a content part must be an object");
            return -1;
        }
        if (text && (!cJSON_IsString(text) || check_string(t, text->valuestring, path, err) != 0)) {
            if (!cJSON_IsString(text))
                set_err(err, path, "text must be a string");
            return -1;
        }
    }
    return 0;
}

static int parse_type(const char *s, sy_pvar_type *out)
{
    static const char *const names[] = {"string", "number", "integer", "boolean"};
    for (size_t i = 0; i < SY_ARRAY_LEN(names); i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (sy_pvar_type)i;
            return 0;
        }
    return -1;
}

static int value_has_type(const cJSON *v, sy_pvar_type type)
{
    switch (type) {
    case SY_PVAR_STRING:
        return cJSON_IsString(v);
    case SY_PVAR_NUMBER:
        return cJSON_IsNumber(v) && isfinite(v->valuedouble);
    case SY_PVAR_INTEGER:
        return cJSON_IsNumber(v) && isfinite(v->valuedouble) &&
               v->valuedouble == floor(v->valuedouble) &&
               fabs(v->valuedouble) <= 9007199254740992.0;
    case SY_PVAR_BOOLEAN:
        return cJSON_IsBool(v);
    }
    return 0;
}

static const char *type_name(sy_pvar_type type)
{
    static const char *const names[] = {"a string", "a number", "an integer", "a boolean"};
    return names[type];
}

static int parse_vars(sy_prompt_template *t, const cJSON *vars, sy_prompt_error *err)
{
    if (!vars)
        return 0;
    if (!cJSON_IsObject(vars)) {
        set_err(err, "variables", "variables must be an object of declarations");
        return -1;
    }
    for (const cJSON *v = vars->child; v; v = v->next) {
        char path[128];
        snprintf(path, sizeof(path), "variables.%.100s", v->string);
        size_t len = strlen(v->string), k = 0;
        while (k < len && is_name_char(v->string[k], k == 0))
            k++;
        if (len == 0 || k != len || len >= SY_PROMPT_NAME_MAX) {
            set_err(err, path,
                    "a variable name is 1-63 letters, digits, '_', '.' or '-', "
                    "starting with a letter or '_'");
            return -1;
        }
        if (t->n_vars == SY_PROMPT_MAX_VARS) {
            set_err(err, "variables", "at most %d variables", SY_PROMPT_MAX_VARS);
            return -1;
        }
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(v, "type");
        const cJSON *req = cJSON_GetObjectItemCaseSensitive(v, "required");
        const cJSON *def = cJSON_GetObjectItemCaseSensitive(v, "default");
        sy_prompt_var *pv = &t->vars[t->n_vars];
        if (!cJSON_IsObject(v) || !cJSON_IsString(type) ||
            parse_type(type->valuestring, &pv->type)) {
            set_err(err, path, "type must be one of string, number, integer, boolean");
            return -1;
        }
        if (req && !cJSON_IsBool(req)) {
            set_err(err, path, "required must be a boolean");
            return -1;
        }
        pv->required = req ? cJSON_IsTrue(req) : 1;
        if (def && (pv->required || !value_has_type(def, pv->type))) {
            set_err(err, path,
                    pv->required ? "only an optional variable can have a default"
                                 : "the default does not have the declared type");
            return -1;
        }
        snprintf(pv->name, sizeof(pv->name), "%s", v->string);
        pv->default_value = def ? cJSON_Duplicate(def, 1) : NULL;
        t->n_vars++;
    }
    return 0;
}

sy_prompt_template *sy_prompt_template_parse(const cJSON *def, sy_prompt_error *err)
{
    memset(err, 0, sizeof(*err));
    if (!cJSON_IsObject(def)) {
        set_err(err, "", "a prompt version must be a JSON object");
        return NULL;
    }
    for (const cJSON *f = def->child; f; f = f->next)
        if (!in_list(f->string,
                     (const char *const[]){"messages", "variables", "parameters", "model"}, 4)) {
            set_err(err, f->string,
                    "unknown field '%.64s' (expected messages, variables, "
                    "parameters, model)",
                    f->string);
            return NULL;
        }
    sy_prompt_template *t = sy_xcalloc(1, sizeof(*t));
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(def, "messages");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(def, "parameters");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(def, "model");
    if (parse_vars(t, cJSON_GetObjectItemCaseSensitive(def, "variables"), err) != 0)
        goto fail;
    if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0 ||
        cJSON_GetArraySize(msgs) > MAX_TEMPLATE_MESSAGES) {
        set_err(err, "messages", "messages must be a non-empty array of at most %d messages",
                MAX_TEMPLATE_MESSAGES);
        goto fail;
    }
    size_t i = 0;
    for (const cJSON *m = msgs->child; m; m = m->next, i++)
        if (check_message(t, m, i, err) != 0)
            goto fail;
    if (params) {
        if (!cJSON_IsObject(params)) {
            set_err(err, "parameters", "parameters must be an object");
            goto fail;
        }
        for (const cJSON *p = params->child; p; p = p->next)
            if (!in_list(p->string, allowed_parameters, SY_ARRAY_LEN(allowed_parameters))) {
                char path[96];
                snprintf(path, sizeof(path), "parameters.%.64s", p->string);
                set_err(err, path, "'%.64s' is not a generation parameter a template may set",
                        p->string);
                goto fail;
            }
    }
    if (model &&
        (!cJSON_IsString(model) || !model->valuestring[0] || strlen(model->valuestring) >= 128)) {
        set_err(err, "model", "model must be a non-empty string of at most 127 bytes");
        goto fail;
    }
    t->messages = cJSON_Duplicate(msgs, 1);
    t->parameters = params ? cJSON_Duplicate(params, 1) : NULL;
    t->model = model ? sy_xstrdup(model->valuestring) : NULL;
    return t;
fail:
    sy_prompt_template_free(t);
    return NULL;
}

void sy_prompt_template_free(sy_prompt_template *t)
{
    if (!t)
        return;
    cJSON_Delete(t->messages);
    cJSON_Delete(t->parameters);
    free(t->model);
    for (size_t i = 0; i < t->n_vars; i++)
        cJSON_Delete(t->vars[i].default_value);
    free(t);
}

/* The text a value renders as (integers without a fraction, numbers round-trip). */
static void value_text(const cJSON *v, sy_buf *out)
{
    if (!v)
        return;
    if (cJSON_IsString(v))
        sy_buf_puts(out, v->valuestring);
    else if (cJSON_IsBool(v))
        sy_buf_puts(out, cJSON_IsTrue(v) ? "true" : "false");
    else if (v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 1e15)
        sy_buf_printf(out, "%.0f", v->valuedouble);
    else
        sy_buf_printf(out, "%.17g", v->valuedouble);
}

typedef struct render_ctx {
    const sy_prompt_template *t;
    const cJSON *values[SY_PROMPT_MAX_VARS]; /* per declared variable: the value or NULL */
    size_t budget;                           /* bytes of rendered text still allowed */
    sy_prompt_error *err;
} render_ctx;

/* Replace the string of item (a cJSON string) by its rendering. */
static int render_string(render_ctx *rc, cJSON *item)
{
    const char *s = item->valuestring;
    sy_buf out = {0};
    size_t pos = 0, from = 0, a, b, nl;
    const char *name;
    while (next_placeholder(s, &pos, &a, &b, &name, &nl) == 1) {
        const sy_prompt_var *v = find_var(rc->t, name, nl); /* checked at parse */
        sy_buf_append(&out, s + from, a - from);
        value_text(rc->values[v - rc->t->vars], &out);
        from = b;
        if (out.len > rc->budget)
            break;
    }
    sy_buf_puts(&out, s + from);
    if (out.len > rc->budget) {
        sy_buf_free(&out);
        set_err(rc->err, "prompt", "the rendered prompt is larger than the request size limit");
        return -1;
    }
    rc->budget -= out.len;
    cJSON_SetValuestring(item, out.data ? out.data : "");
    sy_buf_free(&out);
    return 0;
}

/* Bind variables to declarations; name every problem in one message. */
static int bind_values(render_ctx *rc, const cJSON *variables)
{
    const sy_prompt_template *t = rc->t;
    sy_buf unknown = {0}, missing = {0}, typed = {0};
    char first[128] = "";
    if (variables && !cJSON_IsObject(variables)) {
        set_err(rc->err, "prompt.variables", "variables must be an object");
        return -1;
    }
    for (const cJSON *v = variables ? variables->child : NULL; v; v = v->next) {
        const sy_prompt_var *d = find_var(t, v->string, strlen(v->string));
        if (!d) {
            sy_buf_printf(&unknown, "%s'%.64s'", unknown.len ? ", " : "", v->string);
            if (!first[0])
                snprintf(first, sizeof(first), "prompt.variables.%.64s", v->string);
        } else if (!value_has_type(v, d->type)) {
            sy_buf_printf(&typed, "%s'%s' must be %s", typed.len ? ", " : "", d->name,
                          type_name(d->type));
            if (!first[0])
                snprintf(first, sizeof(first), "prompt.variables.%s", d->name);
        } else {
            rc->values[d - t->vars] = v;
        }
    }
    for (size_t i = 0; i < t->n_vars; i++) {
        if (rc->values[i] || cJSON_GetObjectItemCaseSensitive(variables, t->vars[i].name))
            continue;
        if (t->vars[i].required) {
            sy_buf_printf(&missing, "%s'%s'", missing.len ? ", " : "", t->vars[i].name);
            if (!first[0])
                snprintf(first, sizeof(first), "prompt.variables.%s", t->vars[i].name);
        } else {
            rc->values[i] = t->vars[i].default_value;
        }
    }
    int bad = unknown.len || missing.len || typed.len;
    if (bad) {
        sy_buf msg = {0};
        if (missing.len)
            sy_buf_printf(&msg, "missing required variable(s): %s", missing.data);
        if (unknown.len)
            sy_buf_printf(&msg, "%sundeclared variable(s): %s", msg.len ? "; " : "", unknown.data);
        if (typed.len)
            sy_buf_printf(&msg, "%swrong type: %s", msg.len ? "; " : "", typed.data);
        set_err(rc->err, first, "%s", msg.data);
        sy_buf_free(&msg);
    }
    sy_buf_free(&unknown);
    sy_buf_free(&missing);
    sy_buf_free(&typed);
    return bad ? -1 : 0;
}

int sy_prompt_render(const sy_prompt_template *t, const cJSON *variables, cJSON *request,
                     size_t max_bytes, sy_prompt_error *err)
{
    memset(err, 0, sizeof(*err));
    render_ctx rc = {.t = t, .budget = max_bytes, .err = err};
    if (bind_values(&rc, variables) != 0)
        return -1;
    cJSON *rendered = cJSON_Duplicate(t->messages, 1);
    for (cJSON *m = rendered->child; m; m = m->next) {
        cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (cJSON_IsString(content)) {
            if (render_string(&rc, content) != 0)
                goto fail;
            continue;
        }
        for (cJSON *part = content->child; part; part = part->next) {
            cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
            if (text && render_string(&rc, text) != 0)
                goto fail;
        }
    }
    cJSON *own = cJSON_DetachItemFromObjectCaseSensitive(request, "messages");
    if (own && !cJSON_IsArray(own)) {
        cJSON_Delete(own);
        cJSON_Delete(rendered);
        set_err(err, "messages", "messages must be an array");
        return -1;
    }
    while (own && own->child) /* the request's messages follow the template's */
        cJSON_AddItemToArray(rendered, cJSON_DetachItemViaPointer(own, own->child));
    cJSON_Delete(own);
    cJSON_AddItemToObject(request, "messages", rendered);
    for (const cJSON *p = t->parameters ? t->parameters->child : NULL; p; p = p->next)
        if (!cJSON_GetObjectItemCaseSensitive(request, p->string))
            cJSON_AddItemToObject(request, p->string, cJSON_Duplicate(p, 1));
    if (t->model && !cJSON_GetObjectItemCaseSensitive(request, "model"))
        cJSON_AddStringToObject(request, "model", t->model);
    return 0;
fail:
    cJSON_Delete(rendered);
    return -1;
}
