/*
 * prompt_template: logic-less prompt templates of the prompt registry (DESIGN.md §8).
 *
 * A template is a messages array whose string contents (and the `text` of content
 * parts) may hold `{{name}}` placeholders, plus declared variables (type, required,
 * optional default), default request parameters and an optional model. Rendering only
 * substitutes declared values as text: nothing is evaluated, there are no conditionals,
 * loops, filters or includes, and a value's own `{{…}}` is never expanded again.
 * A literal "{{" cannot appear in a template (it always opens a placeholder).
 *
 * Pure: no I/O, no globals. A parsed template is immutable and may be shared by any
 * number of threads; it owns its cJSON trees.
 */
#ifndef SY_PROMPT_TEMPLATE_H
#define SY_PROMPT_TEMPLATE_H

#include <cjson/cJSON.h>
#include <stddef.h>

#define SY_PROMPT_MAX_VARS 64
#define SY_PROMPT_NAME_MAX 64

typedef enum { SY_PVAR_STRING, SY_PVAR_NUMBER, SY_PVAR_INTEGER, SY_PVAR_BOOLEAN } sy_pvar_type;

typedef struct sy_prompt_var {
    char name[SY_PROMPT_NAME_MAX];
    sy_pvar_type type;
    int required;
    cJSON *default_value; /* optional variables only; NULL = renders as "" */
} sy_prompt_var;

typedef struct sy_prompt_template {
    cJSON *messages;   /* validated array */
    cJSON *parameters; /* object of default request parameters, or NULL */
    char *model;       /* default model or route, or NULL */
    sy_prompt_var vars[SY_PROMPT_MAX_VARS];
    size_t n_vars;
} sy_prompt_template;

/* 1 when a template (or an experiment variant) may set request parameter `name`: the
 * generation settings only (temperature, top_p, max_tokens, stop, …), never a URL, a
 * key, `stream` or `model`. */
int sy_prompt_parameter_allowed(const char *name);

/* What went wrong, for a 400 that names it: param is a JSON path such as
 * "messages[1].content" or "prompt.variables.city". */
typedef struct sy_prompt_error {
    char param[128];
    char message[384];
} sy_prompt_error;

/*
 * Check a version definition {"messages": [...], "variables": {name: {"type",
 * "required", "default"}}, "parameters": {...}, "model": "..."} and build the template.
 * Every placeholder must name a declared variable and be well formed; parameters are
 * limited to generation settings (temperature, top_p, max_tokens, stop, …; never a
 * URL or a key). Returns NULL with *err filled on any violation. Caller frees.
 */
sy_prompt_template *sy_prompt_template_parse(const cJSON *def, sy_prompt_error *err);
void sy_prompt_template_free(sy_prompt_template *t);

/*
 * Render t with `variables` (a JSON object, or NULL) into the chat request `request`:
 * the rendered messages go before the request's own `messages` (created if absent),
 * each default parameter is set unless the request sets it, and `model` is set from the
 * template when the request has none. Missing required, undeclared or wrongly typed
 * variables are all named in one error; a rendered request larger than max_bytes of
 * message text is refused. Returns 0, or -1 with *err filled and request unchanged
 * as far as the caller can tell (it should discard it).
 */
int sy_prompt_render(const sy_prompt_template *t, const cJSON *variables, cJSON *request,
                     size_t max_bytes, sy_prompt_error *err);

#endif
