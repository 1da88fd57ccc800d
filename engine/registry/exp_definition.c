/* exp_definition: the shape of an experiment definition (experiments_internal.h). */
#include "experiments_internal.h"
#include "registry_names.h"

#include "prompt_template.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* See experiments_internal.h. */
int sy_exp_valid_id(const char *s)
{
    return sy_registry_valid_name(s, SY_EXP_ID_MAX - 1);
}

void sy_exp_reply_error(sy_exp_reply *out, int status, const char *param, const char *fmt, ...)
{
    out->status = status;
    snprintf(out->param, sizeof(out->param), "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof(out->message), fmt, ap);
    va_end(ap);
}

static int in_strings(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

/* Check a variant's prompt reference {"id", "version" | "label"}. */
static int check_prompt_ref(const cJSON *p, char *param, size_t plen, const char **why)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "id");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(p, "version");
    const cJSON *lab = cJSON_GetObjectItemCaseSensitive(p, "label");
    if (!cJSON_IsObject(p) || !cJSON_IsString(id) || !sy_exp_valid_id(id->valuestring) ||
        (ver && lab) ||
        (ver && (!cJSON_IsNumber(ver) || ver->valuedouble < 1 ||
                 ver->valuedouble != floor(ver->valuedouble))) ||
        (lab && (!cJSON_IsString(lab) || !sy_exp_valid_id(lab->valuestring)))) {
        snprintf(param + strlen(param), plen - strlen(param), ".prompt");
        *why = "prompt must be {\"id\", and \"version\" (integer >= 1) or \"label\"}";
        return -1;
    }
    return 0;
}

#define FAIL(field, msg)                                                                           \
    do {                                                                                           \
        snprintf(param, plen, "%s", field);                                                        \
        *why = msg;                                                                                \
        return -1;                                                                                 \
    } while (0)

/* The definition's own members: known keys, id, route, unit, traffic, layer, salt and
 * the statistics settings. */
static int check_members(const cJSON *def, char *param, size_t plen, const char **why)
{
    static const char *const keys[] = {
        "id",       "route", "unit",        "unit_header", "traffic",   "layer", "salt",
        "variants", "alpha", "min_samples", "guardrails",  "msprt_tau", "status"};
    static const char *const units[] = {"user", "conversation", "request"};
    for (const cJSON *m = def->child; m; m = m->next)
        if (!in_strings(m->string, keys, SY_ARRAY_LEN(keys))) {
            snprintf(param, plen, "%.100s", m->string);
            *why = "unknown field (see docs/experiments.md for the definition's fields)";
            return -1;
        }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(def, "id");
    if (!cJSON_IsString(v) || !sy_exp_valid_id(v->valuestring))
        FAIL("id", "id must be 1-63 letters, digits, '_', '-' or '.'");
    v = cJSON_GetObjectItemCaseSensitive(def, "route");
    if (!cJSON_IsString(v) || !v->valuestring[0])
        FAIL("route", "route must name a route of the configuration");
    v = cJSON_GetObjectItemCaseSensitive(def, "unit");
    if (v && (!cJSON_IsString(v) || !in_strings(v->valuestring, units, 3)))
        FAIL("unit", "unit must be user, conversation or request");
    v = cJSON_GetObjectItemCaseSensitive(def, "unit_header");
    if (v && (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) >= 64 ||
              strpbrk(v->valuestring, " :\t\r\n")))
        FAIL("unit_header", "unit_header must be a header name");
    v = cJSON_GetObjectItemCaseSensitive(def, "traffic");
    if (v && (!cJSON_IsNumber(v) || !(v->valuedouble > 0 && v->valuedouble <= 1)))
        FAIL("traffic", "traffic is the experiment's share of the route, in (0, 1]");
    for (int i = 0; i < 2; i++) {
        const char *k = i ? "salt" : "layer";
        v = cJSON_GetObjectItemCaseSensitive(def, k);
        if (v && (!cJSON_IsString(v) || !sy_exp_valid_id(v->valuestring)))
            FAIL(k, "layer and salt are 1-63 letters, digits, '_', '-' or '.'");
    }
    v = cJSON_GetObjectItemCaseSensitive(def, "alpha");
    if (v && (!cJSON_IsNumber(v) || !(v->valuedouble > 0 && v->valuedouble < 0.5)))
        FAIL("alpha", "alpha must be in (0, 0.5)");
    v = cJSON_GetObjectItemCaseSensitive(def, "min_samples");
    if (v && (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e9))
        FAIL("min_samples", "min_samples must be a number >= 1");
    v = cJSON_GetObjectItemCaseSensitive(def, "msprt_tau");
    if (v && (!cJSON_IsNumber(v) || !(v->valuedouble > 0 && v->valuedouble <= 1)))
        FAIL("msprt_tau", "msprt_tau must be in (0, 1]");
    v = cJSON_GetObjectItemCaseSensitive(def, "status");
    if (v && (!cJSON_IsString(v) ||
              (strcmp(v->valuestring, "draft") != 0 && strcmp(v->valuestring, "running") != 0 &&
               strcmp(v->valuestring, "stopped") != 0)))
        FAIL("status", "status must be draft, running or stopped");
    return 0;
}

/* The guardrails object: known guardrails with positive thresholds. */
static int check_guardrails(const cJSON *v, char *param, size_t plen, const char **why)
{
    static const char *const gkeys[] = {"cost_per_request_max_increase", "p95_latency_max_increase",
                                        "error_rate_max_increase"};
    if (!cJSON_IsObject(v))
        FAIL("guardrails", "guardrails must be an object");
    for (const cJSON *g = v->child; g; g = g->next) {
        snprintf(param, plen, "guardrails.%.64s", g->string);
        if (!in_strings(g->string, gkeys, 3)) {
            *why = "unknown guardrail (cost_per_request_max_increase, "
                   "p95_latency_max_increase, error_rate_max_increase)";
            return -1;
        }
        if (!cJSON_IsNumber(g) || !(g->valuedouble > 0 && g->valuedouble <= 100)) {
            *why = "a guardrail is a positive number (at most 100)";
            return -1;
        }
    }
    return 0;
}
#undef FAIL

/* A variant's generation parameters: an object of parameters a variant may set. */
static int check_parameters(const cJSON *params, int i, char *param, size_t plen, const char **why)
{
    if (!cJSON_IsObject(params)) {
        snprintf(param, plen, "variants[%d].parameters", i);
        *why = "parameters must be an object";
        return -1;
    }
    for (const cJSON *p = params->child; p; p = p->next)
        if (!sy_prompt_parameter_allowed(p->string)) {
            snprintf(param, plen, "variants[%d].parameters.%.64s", i, p->string);
            *why = "only generation parameters (temperature, top_p, max_tokens, stop, "
                   "…) may be set by a variant";
            return -1;
        }
    return 0;
}

/* Variant i (var) of vars: known fields, a unique name, a weight, a model or candidates,
 * its prompt and parameters. Adds its weight to *total. */
static int check_variant(const cJSON *vars, const cJSON *var, int i, double *total, char *param,
                         size_t plen, const char **why)
{
    static const char *const vkeys[] = {"name",   "weight", "model",  "candidates",
                                        "policy", "params", "prompt", "parameters"};
    snprintf(param, plen, "variants[%d]", i);
    if (!cJSON_IsObject(var)) {
        *why = "a variant must be an object";
        return -1;
    }
    for (const cJSON *m = var->child; m; m = m->next)
        if (!in_strings(m->string, vkeys, SY_ARRAY_LEN(vkeys))) {
            snprintf(param, plen, "variants[%d].%.64s", i, m->string);
            *why = "unknown variant field (name, weight, model, candidates, policy, params, "
                   "prompt, parameters)";
            return -1;
        }
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(var, "name");
    if (!cJSON_IsString(name) || !sy_exp_valid_id(name->valuestring)) {
        snprintf(param, plen, "variants[%d].name", i);
        *why = "a variant needs a name of 1-63 letters, digits, '_', '-' or '.'";
        return -1;
    }
    for (const cJSON *o = vars->child; o != var; o = o->next)
        if (strcmp(str_or(o, "name", ""), name->valuestring) == 0) {
            snprintf(param, plen, "variants[%d].name", i);
            *why = "variant names must be unique";
            return -1;
        }
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(var, "weight");
    if (w && (!cJSON_IsNumber(w) || !(w->valuedouble >= 0 && w->valuedouble <= 1e6))) {
        snprintf(param, plen, "variants[%d].weight", i);
        *why = "weight must be a number in [0, 1e6]";
        return -1;
    }
    *total += w ? w->valuedouble : 1;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(var, "model");
    const cJSON *cands = cJSON_GetObjectItemCaseSensitive(var, "candidates");
    if ((model && !cJSON_IsString(model)) || (model && cands)) {
        snprintf(param, plen, "variants[%d].model", i);
        *why = "model is a model name, and excludes candidates";
        return -1;
    }
    if (model && (cJSON_GetObjectItemCaseSensitive(var, "policy") ||
                  cJSON_GetObjectItemCaseSensitive(var, "params"))) {
        snprintf(param, plen, "variants[%d].model", i);
        *why = "a variant with a fixed model takes no policy or params";
        return -1;
    }
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(var, "prompt");
    if (prompt && check_prompt_ref(prompt, param, plen, why) != 0)
        return -1;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(var, "parameters");
    return params ? check_parameters(params, i, param, plen, why) : 0;
}

int sy_exp_def_check(const cJSON *def, char *param, size_t plen, const char **why)
{
    param[0] = '\0';
    if (!cJSON_IsObject(def)) {
        *why = "an experiment definition must be a JSON object";
        return -1;
    }
    if (check_members(def, param, plen, why) != 0)
        return -1;
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(def, "guardrails");
    if (g && check_guardrails(g, param, plen, why) != 0)
        return -1;
    const cJSON *vars = cJSON_GetObjectItemCaseSensitive(def, "variants");
    int nv = cJSON_GetArraySize(vars);
    if (!cJSON_IsArray(vars) || nv < 2 || nv > SY_EXP_MAX_VARIANTS) {
        snprintf(param, plen, "variants");
        *why = "variants must be an array of 2 to 8 variants (the first is the control)";
        return -1;
    }
    double total = 0;
    int i = 0;
    for (const cJSON *var = vars->child; var; var = var->next, i++)
        if (check_variant(vars, var, i, &total, param, plen, why) != 0)
            return -1;
    if (!(total > 0)) {
        snprintf(param, plen, "variants");
        *why = "at least one variant needs a positive weight";
        return -1;
    }
    return 0;
}
