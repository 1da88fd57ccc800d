/*
 * config_routes: the "routes" section — a route is a policy over candidate models, with
 * the policy's parameters, the objective, a half-life, priors, weights and escalation
 * rules (config_rules.c). The route being read is l->route, so that readers nested in
 * it can resolve candidate names.
 */
#include "config_schema.h"

#include "cache_arm.h"
#include "featurize.h"

#include <stdlib.h>
#include <string.h>

static const char *const k_policies[] = {
    "uniform", "fixed",  "weighted", "round_robin",     "epsilon_greedy",
    "ucb1",    "linucb", "thompson", "linear_thompson", "cluster_thompson"};

/* Candidate c (at index i of array v): a model, not a repeat. Returns its model index. */
static long candidate_model(sy_cfg_loader *l, const cJSON *v, const cJSON *c, size_t i)
{
    if (!cJSON_IsString(c)) {
        sy_cfg_err(l, "expected a string (a model name)");
        return -1;
    }
    const char *name = c->valuestring;
    size_t j = 0;
    for (const cJSON *p = v->child; p != c; p = p->next, j++)
        if (cJSON_IsString(p) && strcmp(p->valuestring, name) == 0)
            break;
    long idx = l->models ? sy_cfg_member_index(l->models, name) : -1;
    const char *hint = idx < 0 ? sy_cfg_suggest_key(name, l->models) : NULL;
    if (j < i)
        sy_cfg_err(l, "duplicate candidate \"%s\" (also at index %zu)", name, j);
    else if (idx >= 0)
        return idx;
    else if (!l->models)
        ; /* "models" is missing or malformed: already reported */
    else if (hint)
        sy_cfg_err(l, "unknown model \"%s\" (did you mean \"%s\"?)", name, hint);
    else
        sy_cfg_err(l, "unknown model \"%s\" (candidates must be keys of $.models)", name);
    return -1;
}

/* 1 when the model object `m` of $.models says "kind": "embedding". */
static int is_embedding(const cJSON *m)
{
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(m, "kind");
    return cJSON_IsString(k) && strcmp(k->valuestring, "embedding") == 0;
}

/* "candidates": existing models, no repeats, 1..64 of them, all of one kind. */
static int read_candidates(sy_cfg_loader *l, const cJSON *v, void *out)
{
    sy_route_cfg *r = out;
    if (!cJSON_IsArray(v)) {
        sy_cfg_err(l, "expected an array");
        return -1;
    }
    size_t n = (size_t)cJSON_GetArraySize(v);
    if (n == 0) {
        sy_cfg_err(l, "must list at least one model");
        return -1;
    }
    if (n > SY_CONFIG_MAX_CANDIDATES) {
        sy_cfg_err(l, "lists %zu models; at most %d are allowed", n, SY_CONFIG_MAX_CANDIDATES);
        return -1;
    }
    r->candidates = sy_xcalloc(n, sizeof(*r->candidates));
    r->n_candidates = n;
    size_t i = 0;
    const cJSON *m0 = NULL; /* the first valid candidate's model object */
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        size_t mark = sy_cfg_push_index(l, i);
        long idx = candidate_model(l, v, c, i);
        if (idx >= 0)
            r->candidates[i] = (size_t)idx;
        const cJSON *mi = idx >= 0 ? cJSON_GetArrayItem(l->models, (int)idx) : NULL;
        if (mi && !m0)
            m0 = mi;
        else if (mi && is_embedding(mi) != is_embedding(m0))
            sy_cfg_err(l,
                       "\"%s\" is %s model but \"%s\" is %s one: a route's candidates "
                       "must all be of one kind",
                       mi->string, is_embedding(mi) ? "an embedding" : "a chat", m0->string,
                       is_embedding(m0) ? "an embedding" : "a chat");
        sy_cfg_pop(l, mark);
    }
    return 0;
}

/*
 * "policy" (called when absent too): the kind, then the route's parameters and arms
 * initialised to that kind's defaults, which the sections below then adjust.
 */
static int read_policy(sy_cfg_loader *l, const cJSON *v, void *out)
{
    sy_route_cfg *r = out;
    sy_policy_kind kind = SY_POLICY_UNIFORM;
    const char *s;
    if (v && sy_cfg_string(l, v, &s) > 0) {
        if (sy_policy_kind_parse(s, &kind) == 0) {
            r->policy = sy_xstrdup(s);
        } else {
            sy_buf known = {0};
            sy_cfg_join(&known, k_policies, SY_ARRAY_LEN(k_policies));
            sy_cfg_err(l, "unknown policy \"%s\" (known policies: %s)", s, known.data);
            sy_buf_free(&known);
        }
    }
    if (!r->policy)
        r->policy = sy_xstrdup("uniform");
    size_t n = r->n_candidates ? r->n_candidates : 1;
    sy_policy_params_init(&r->params, kind, n,
                          sy_policy_kind_is_contextual(kind) ? SY_FEATURE_DEFAULT_DIM : 0);
    r->arms = sy_xcalloc(n, sizeof(*r->arms));
    for (size_t k = 0; k < n; k++)
        sy_arm_params_init(&r->arms[k]);
    return 0;
}

/* params.fixed: the candidate the fixed policy serves. */
static int read_fixed(sy_cfg_loader *l, const cJSON *v, void *out)
{
    const char *s;
    if (sy_cfg_string(l, v, &s) < 0)
        return -1;
    long k = sy_cfg_candidate_index(l, s);
    if (k < 0) {
        sy_cfg_err(l, "\"%s\" is not a candidate of this route", s);
        return -1;
    }
    *(size_t *)out = (size_t)k;
    return 0;
}

#define NUM(st, k, m, lo_, hi_)                                                                    \
    {                                                                                              \
        .key = k, .type = SY_CFG_NUMBER, .offset = offsetof(st, m), .lo = lo_, .hi = hi_           \
    }

/* "params": the policy kind's tuning knobs (policies/policy_params.h). */
static const sy_cfg_field params_fields[] = {
    NUM(sy_policy_params, "epsilon", epsilon, 0, 1),
    NUM(sy_policy_params, "ucb_c", ucb_c, 0, 100),
    NUM(sy_policy_params, "linucb_alpha", linucb_alpha, 0, 100),
    NUM(sy_policy_params, "ts_scale", ts_scale, 0.01, 100),
    NUM(sy_policy_params, "pool_strength", pool_strength, 0.01, 1e6),
    NUM(sy_policy_params, "population_strength", population_strength, 0, 1e6),
    NUM(sy_policy_params, "ridge", ridge, 1e-6, 1e6),
    NUM(sy_policy_params, "noise_var", noise_var, 1e-6, 100),
    NUM(sy_policy_params, "noise_strength", noise_strength, 0.01, 1e6),
    {.key = "propensity_draws",
     .type = SY_CFG_UINT,
     .offset = offsetof(sy_policy_params, propensity_draws),
     .lo = 0,
     .hi = 4096},
    {.key = "fixed",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_policy_params, fixed_arm),
     .read = read_fixed,
     .pass = 1}, /* after dim */
    {.key = "dim",
     .type = SY_CFG_SIZE,
     .offset = offsetof(sy_policy_params, dim),
     .lo = SY_FEATURE_DENSE + 1,
     .hi = SY_POLICY_MAX_DIM},
};
static const sy_cfg_schema params_schema = SY_CFG_SCHEMA(params_fields);

/* "objective": utility weights (units in docs/configuration.md) and hard constraints. */
static const sy_cfg_field objective_fields[] = {
    NUM(sy_objective, "quality", w_quality, 0, 1e6),
    NUM(sy_objective, "cost_per_usd", w_cost, 0, 1e9),
    NUM(sy_objective, "latency_per_s", w_latency, 0, 1e6),
    /* scale-free weights (policies/policy_params.h): one kind per signal */
    NUM(sy_objective, "cost_per_doubling", w_cost_rel, 0, 1e6),
    NUM(sy_objective, "latency_per_doubling", w_latency_rel, 0, 1e6),
    NUM(sy_objective, "max_cost_usd", max_cost_usd, 0, 1e6),
    {.key = "latency_slo_ms",
     .type = SY_CFG_NUMBER,
     .offset = offsetof(sy_objective, latency_slo_s),
     .lo = 0,
     .hi = 86400000,
     .div = 1000},
};
/* Each signal's weight is absolute or relative, not both. */
static void objective_after(sy_cfg_loader *l, const cJSON *v, void *out)
{
    if (sy_cfg_get(v, "cost_per_usd") && sy_cfg_get(v, "cost_per_doubling"))
        sy_cfg_err(l, "give \"cost_per_usd\" (absolute) or \"cost_per_doubling\" (relative), "
                      "not both");
    if (sy_cfg_get(v, "latency_per_s") && sy_cfg_get(v, "latency_per_doubling"))
        sy_cfg_err(l, "give \"latency_per_s\" (absolute) or \"latency_per_doubling\" "
                      "(relative), not both");
}
static const sy_cfg_schema objective_schema = {.fields = objective_fields,
                                               .n_fields = SY_ARRAY_LEN(objective_fields),
                                               .after = objective_after};

/* "half_life": {"requests": N} or {"seconds": N}, exactly one. */
static int half_life_before(sy_cfg_loader *l, const cJSON *v, void *out)
{
    int has_r = sy_cfg_get(v, "requests") != NULL, has_s = sy_cfg_get(v, "seconds") != NULL;
    if (has_r != has_s)
        return 0;
    sy_cfg_err(l, "give exactly one of \"requests\" and \"seconds\"");
    return -1;
}

static int read_half_life(sy_cfg_loader *l, const cJSON *v, sy_discount *d, sy_half_life_unit u)
{
    d->unit = u;
    return sy_cfg_number(l, v, 1, 1e12, &d->half_life) > 0 ? 0 : -1;
}
static int read_half_life_requests(sy_cfg_loader *l, const cJSON *v, void *out)
{
    return read_half_life(l, v, out, SY_HALF_LIFE_OBSERVATIONS);
}
static int read_half_life_seconds(sy_cfg_loader *l, const cJSON *v, void *out)
{
    return read_half_life(l, v, out, SY_HALF_LIFE_SECONDS);
}

static const sy_cfg_field half_life_fields[] = {
    {.key = "requests", .type = SY_CFG_CUSTOM, .read = read_half_life_requests},
    {.key = "seconds", .type = SY_CFG_CUSTOM, .read = read_half_life_seconds},
};
static const sy_cfg_schema half_life_schema = {.fields = half_life_fields,
                                               .n_fields = SY_ARRAY_LEN(half_life_fields),
                                               .before = half_life_before};

/* One entry of "priors": cold-start beliefs about a candidate on this route. */
static const sy_cfg_field prior_fields[] = {
    NUM(sy_arm_params, "quality", prior_quality, 0, 1),
    NUM(sy_arm_params, "quality_strength", prior_quality_strength, 0.01, 1e6),
    {.key = "latency_ms",
     .type = SY_CFG_NUMBER,
     .offset = offsetof(sy_arm_params, prior_latency_s),
     .lo = 1,
     .hi = 86400000,
     .div = 1000},
    NUM(sy_arm_params, "output_tokens", prior_output_tokens, 1, 1e7),
    NUM(sy_arm_params, "strength", prior_outcome_strength, 0.01, 1e6),
};
static const sy_cfg_schema prior_schema = SY_CFG_SCHEMA(prior_fields);

/* "priors": {"<candidate>": {...}}. */
static int read_priors(sy_cfg_loader *l, const cJSON *v, void *out)
{
    sy_route_cfg *r = out;
    if (!sy_cfg_want_object(l, v))
        return -1;
    for (const cJSON *m = v->child; m; m = m->next) {
        size_t mark = sy_cfg_push_key(l, m->string);
        long k = sy_cfg_candidate_index(l, m->string);
        if (k < 0)
            sy_cfg_err(l, "\"%s\" is not a candidate of this route", m->string);
        else
            sy_cfg_walk(l, m, &prior_schema, &r->arms[k]);
        sy_cfg_pop(l, mark);
    }
    return 0;
}

/* "weights": {"<candidate>": w} for the weighted policy (a repeated name reads the
 * first occurrence). */
static int read_weights(sy_cfg_loader *l, const cJSON *v, void *out)
{
    sy_route_cfg *r = out;
    if (!sy_cfg_want_object(l, v))
        return -1;
    for (const cJSON *m = v->child; m; m = m->next) {
        size_t mark = sy_cfg_push_key(l, m->string);
        long k = sy_cfg_candidate_index(l, m->string);
        if (k < 0)
            sy_cfg_err(l, "not a candidate of this route");
        else
            sy_cfg_number(l, sy_cfg_get(v, m->string), 0, 1e9, &r->arms[k].weight);
        sy_cfg_pop(l, mark);
    }
    return 0;
}

/* "warm_start": {"path": "...", "weight": W}; the file is read by the app (serve,
 * check-config), not here. */
static int warm_start_before(sy_cfg_loader *l, const cJSON *v, void *out)
{
    (void)l;
    (void)v;
    ((sy_warm_start_cfg *)out)->weight = 1;
    return 0;
}
static const sy_cfg_field warm_start_fields[] = {
    {.key = "path",
     .type = SY_CFG_STRING,
     .flags = SY_CFG_REQUIRED,
     .offset = offsetof(sy_warm_start_cfg, path),
     .max_len = SY_CFG_MAX_TEXT,
     .what = "warm_start.path",
     .hint = "(the full-information dataset to start from)"},
    NUM(sy_warm_start_cfg, "weight", weight, 1e-6, 1e6),
};
static const sy_cfg_schema warm_start_schema = {.fields = warm_start_fields,
                                                .n_fields = SY_ARRAY_LEN(warm_start_fields),
                                                .before = warm_start_before};

/*
 * "cache": {"mode": "arm"}: the policy gets one more arm, the cache arm (last, priced 0:
 * sy_cache_arm_params), and SY_CACHE_ARM_FEATURES more context features after the dim
 * the route asked for. Only the linear kinds, which learn from the similarity where a
 * cached answer is good (cluster_thompson's clusters are prompt formats, blind to it);
 * no candidate may take the cache arm's name; no warm start (its datasets have no cache
 * arm). Returns 0 when the route may be built.
 */
static int cache_arm_params(sy_cfg_loader *l, sy_route_cfg *r)
{
    if (r->params.kind != SY_POLICY_LINUCB && r->params.kind != SY_POLICY_LINEAR_THOMPSON) {
        sy_cfg_errk(l, "cache",
                    "\"mode\": \"arm\" needs a linear contextual policy (linucb or "
                    "linear_thompson: they learn from the similarity where cached answers "
                    "satisfy); policy \"%s\" cannot",
                    r->policy);
        return -1;
    }
    for (size_t k = 0; k < r->n_candidates; k++) {
        const cJSON *m = l->models ? cJSON_GetArrayItem(l->models, (int)r->candidates[k]) : NULL;
        if (m && m->string && strcmp(m->string, SY_CACHE_ARM_NAME) == 0) {
            sy_cfg_errk(l, "candidates",
                        "a model named \"" SY_CACHE_ARM_NAME "\" clashes with the cache arm of "
                        "\"mode\": \"arm\": rename the model");
            return -1;
        }
    }
    if (r->warm_start.path) {
        sy_cfg_errk(l, "warm_start", "is not supported with \"cache\": {\"mode\": \"arm\"}");
        return -1;
    }
    if (r->params.dim + SY_CACHE_ARM_FEATURES > SY_POLICY_MAX_DIM) {
        sy_cfg_errk(l, "params", "\"dim\" + %d cache features exceeds %d", SY_CACHE_ARM_FEATURES,
                    SY_POLICY_MAX_DIM);
        return -1;
    }
    r->params.dim += SY_CACHE_ARM_FEATURES;
    r->params.n_arms = r->n_candidates + 1;
    r->arms = sy_xrealloc(r->arms, (r->n_candidates + 1) * sizeof(*r->arms));
    sy_cache_arm_params(&r->arms[r->n_candidates]);
    return 0;
}

/* Checks across the route's sections, once they are all read. */
static void route_after(sy_cfg_loader *l, const cJSON *obj, void *out)
{
    sy_route_cfg *r = out;
    if (!sy_policy_kind_is_contextual(r->params.kind) && r->params.dim)
        sy_cfg_errk(l, "params",
                    "\"dim\" applies only to the contextual policies (linucb, cluster_thompson, "
                    "linear_thompson)");
    if (r->n_candidates && sy_route_has_cache_arm(r) && cache_arm_params(l, r) != 0)
        return;
    sy_policy_params pp = r->params;
    pp.arms = r->arms;
    if (r->n_candidates && sy_policy_params_check(&pp) != 0)
        sy_cfg_err(l, "the policy parameters are inconsistent (docs/policies.md lists the ranges)");
}

#define ROUTE_CUSTOM(k, reader, fl)                                                                \
    {                                                                                              \
        .key = k, .type = SY_CFG_CUSTOM, .flags = fl, .read = reader                               \
    }
#define ROUTE_OBJECT(k, m, schema)                                                                 \
    {                                                                                              \
        .key = k, .type = SY_CFG_OBJECT, .offset = offsetof(sy_route_cfg, m), .sub = &(schema)     \
    }

static const sy_cfg_field route_fields[] = {
    ROUTE_CUSTOM("candidates", read_candidates, SY_CFG_REQUIRED),
    ROUTE_CUSTOM("policy", read_policy, SY_CFG_CALL_ABSENT),
    ROUTE_OBJECT("params", params, params_schema),
    ROUTE_OBJECT("objective", params.objective, objective_schema),
    ROUTE_OBJECT("half_life", params.discount, half_life_schema),
    ROUTE_CUSTOM("priors", read_priors, 0),
    ROUTE_CUSTOM("weights", read_weights, 0),
    ROUTE_CUSTOM("rules", sy_cfg_read_rules, 0),
    {.key = "deescalate_after_good_turns",
     .type = SY_CFG_UINT,
     .offset = offsetof(sy_route_cfg, deescalate_after_good_turns),
     .lo = 0,
     .hi = 1000000},
    {.key = "guardrails",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_route_cfg, guardrails),
     .read = sy_cfg_read_guard_refs},
    ROUTE_OBJECT("warm_start", warm_start, warm_start_schema),
    {.key = "cache",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_route_cfg, cache),
     .read = sy_cfg_read_cache},
};
static const sy_cfg_schema route_schema = {
    .fields = route_fields, .n_fields = SY_ARRAY_LEN(route_fields), .after = route_after};

void sy_cfg_parse_route(sy_cfg_loader *l, const cJSON *v, sy_route_cfg *r)
{
    r->name = sy_xstrdup(v->string);
    if (sy_cfg_check_text(l, v->string, SY_CONFIG_MAX_NAME, "route name") && l->models &&
        sy_cfg_get(l->models, v->string))
        sy_cfg_err(l, "name is already used by a model (models and routes share one namespace)");
    sy_route_cfg *saved = l->route;
    l->route = r;
    sy_cfg_walk(l, v, &route_schema, r);
    l->route = saved;
}

static void parse_route_cb(sy_cfg_loader *l, const cJSON *v, void *out)
{
    sy_cfg_parse_route(l, v, out);
}

int sy_cfg_read_routes(sy_cfg_loader *l, const cJSON *v, void *out)
{
    sy_config *cfg = out;
    cfg->routes = sy_cfg_map(l, v, NULL, parse_route_cb, sizeof(*cfg->routes), &cfg->n_routes);
    return 0;
}

void sy_cfg_route_free_members(sy_route_cfg *r)
{
    free(r->name);
    free(r->candidates);
    free(r->policy);
    free(r->arms);
    free(r->warm_start.path);
    for (size_t j = 0; j < r->n_rules; j++) {
        free(r->rules[j].name);
        free(r->rules[j].target);
        free(r->rules[j].when_src);
        sy_expr_free(r->rules[j].when);
    }
    free(r->rules);
    sy_cfg_guard_refs_free(&r->guardrails);
    sy_cfg_cache_free(r->cache);
}
