/*
 * config_rules: a route's escalation rules (DESIGN.md §7) — "rules": [{"when", "then":
 * {"escalate"|"pin"|"deescalate"}, "sticky", "name"}]. `when` is compiled here
 * (engine/rule_expr.h) against the state variables below; targets are checked against
 * the route being read (l->route).
 */
#include "config_schema.h"

#include "rule_expr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RULE_NAME 63

const sy_var_def sy_rule_vars[SY_RV_COUNT] = {
    {"turn", SY_VT_NUM},        {"rephrases", SY_VT_NUM},  {"rephrases_total", SY_VT_NUM},
    {"thumbs_down", SY_VT_NUM}, {"good_turns", SY_VT_NUM}, {"cost_usd", SY_VT_NUM},
    {"idle_s", SY_VT_NUM},      {"tier", SY_VT_STR},       {"escalated", SY_VT_BOOL},
};

/* "when": kept as written and compiled. */
static int read_when(sy_cfg_loader *l, const cJSON *v, void *out)
{
    sy_rule_cfg *rule = out;
    const char *s;
    if (sy_cfg_string(l, v, &s) < 0)
        return -1;
    rule->when_src = sy_xstrdup(s);
    char why[160];
    rule->when = sy_expr_parse(s, sy_rule_vars, SY_RV_COUNT, why, sizeof(why));
    if (rule->when)
        return 0;
    sy_cfg_err(l,
               "%s (variables: turn, rephrases, rephrases_total, thumbs_down, good_turns, "
               "cost_usd, idle_s, tier, escalated)",
               why);
    return -1;
}

/* then.escalate: a tier that at least one candidate of the route has. */
static int read_escalate(sy_cfg_loader *l, const cJSON *v, void *out)
{
    sy_rule_cfg *rule = out;
    const sy_route_cfg *r = l->route;
    const char *s;
    if (sy_cfg_string(l, v, &s) < 0)
        return -1;
    rule->action = SY_RULE_ESCALATE;
    rule->target = sy_xstrdup(s);
    int found = 0;
    for (size_t k = 0; k < r->n_candidates && l->models; k++) {
        const cJSON *m = cJSON_GetArrayItem(l->models, (int)r->candidates[k]);
        const cJSON *t = sy_cfg_get(m, "tier");
        found |= cJSON_IsString(t) && strcmp(t->valuestring, s) == 0;
    }
    if (found)
        return 0;
    sy_cfg_err(l, "no candidate of this route has tier \"%s\"", s);
    return -1;
}

/* then.pin: one candidate of the route. */
static int read_pin(sy_cfg_loader *l, const cJSON *v, void *out)
{
    sy_rule_cfg *rule = out;
    const char *s;
    if (sy_cfg_string(l, v, &s) < 0)
        return -1;
    rule->action = SY_RULE_PIN;
    rule->target = sy_xstrdup(s);
    if (sy_cfg_candidate_index(l, s) >= 0)
        return 0;
    sy_cfg_err(l, "\"%s\" is not a candidate of this route", s);
    return -1;
}

static int read_deescalate(sy_cfg_loader *l, const cJSON *v, void *out)
{
    ((sy_rule_cfg *)out)->action = SY_RULE_DEESCALATE;
    if (cJSON_IsTrue(v))
        return 0;
    sy_cfg_err(l, "must be true");
    return -1;
}

static int then_before(sy_cfg_loader *l, const cJSON *v, void *out)
{
    int actions = (sy_cfg_get(v, "escalate") != NULL) + (sy_cfg_get(v, "pin") != NULL) +
                  (sy_cfg_get(v, "deescalate") != NULL);
    if (actions == 1)
        return 0;
    sy_cfg_err(l, "give exactly one of \"escalate\", \"pin\" and \"deescalate\"");
    return -1;
}

static const sy_cfg_field then_fields[] = {
    {.key = "escalate", .type = SY_CFG_CUSTOM, .read = read_escalate},
    {.key = "pin", .type = SY_CFG_CUSTOM, .read = read_pin},
    {.key = "deescalate", .type = SY_CFG_CUSTOM, .read = read_deescalate},
};
static const sy_cfg_schema then_schema = {
    .fields = then_fields, .n_fields = SY_ARRAY_LEN(then_fields), .before = then_before};

/* Read in the order name, when, sticky, then. */
static const sy_cfg_field rule_fields[] = {
    {.key = "when", .type = SY_CFG_CUSTOM, .flags = SY_CFG_REQUIRED, .read = read_when, .pass = 1},
    {.key = "then",
     .type = SY_CFG_OBJECT,
     .flags = SY_CFG_REQUIRED,
     .sub = &then_schema,
     .pass = 2},
    {.key = "sticky", .type = SY_CFG_BOOL, .offset = offsetof(sy_rule_cfg, sticky), .pass = 1},
    {.key = "name",
     .type = SY_CFG_STRING,
     .offset = offsetof(sy_rule_cfg, name),
     .max_len = MAX_RULE_NAME,
     .what = "rule name"},
};
const sy_cfg_schema sy_cfg_rule_schema = SY_CFG_SCHEMA(rule_fields);

int sy_cfg_read_rules(sy_cfg_loader *l, const cJSON *v, void *out)
{
    sy_route_cfg *r = out;
    if (!cJSON_IsArray(v)) {
        sy_cfg_err(l, "expected an array");
        return -1;
    }
    size_t n = (size_t)cJSON_GetArraySize(v);
    r->rules = sy_xcalloc(n ? n : 1, sizeof(*r->rules));
    size_t i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        sy_rule_cfg *rule = &r->rules[r->n_rules++];
        size_t mark = sy_cfg_push_index(l, i);
        char name[32];
        snprintf(name, sizeof(name), "rule%zu", i);
        rule->name = sy_xstrdup(name);
        sy_cfg_walk(l, e, &sy_cfg_rule_schema, rule);
        sy_cfg_pop(l, mark);
    }
    return 0;
}
