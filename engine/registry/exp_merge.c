/* exp_merge: the served configuration and the workers' assignment table built from the
 * experiment documents (experiments_internal.h). */
#include "experiments_internal.h"

#include "assign.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void variant_route_name(const char *route, const char *id, const char *variant, char *out,
                               size_t cap)
{
    snprintf(out, cap, "%s~%s.%s", route, id, variant);
}

/* The hidden route of one variant: the base route with the variant's overrides. */
static cJSON *variant_route(const cJSON *base, const cJSON *var)
{
    cJSON *r = cJSON_Duplicate(base, 1);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(var, "model");
    const cJSON *cands = cJSON_GetObjectItemCaseSensitive(var, "candidates");
    const cJSON *policy = cJSON_GetObjectItemCaseSensitive(var, "policy");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(var, "params");
    if (model || cands) { /* per-arm settings and rules refer to the old candidates */
        cJSON_DeleteItemFromObjectCaseSensitive(r, "priors");
        cJSON_DeleteItemFromObjectCaseSensitive(r, "weights");
        cJSON_DeleteItemFromObjectCaseSensitive(r, "rules");
        cJSON_DeleteItemFromObjectCaseSensitive(r, "deescalate_after_good_turns");
        cJSON_DeleteItemFromObjectCaseSensitive(r, "candidates");
        cJSON_DeleteItemFromObjectCaseSensitive(r, "params");
    }
    if (model) {
        cJSON *c = cJSON_AddArrayToObject(r, "candidates");
        cJSON_AddItemToArray(c, cJSON_CreateString(model->valuestring));
        cJSON_DeleteItemFromObjectCaseSensitive(r, "policy");
        cJSON_AddStringToObject(r, "policy", "fixed");
        cJSON *p = cJSON_AddObjectToObject(r, "params");
        cJSON_AddStringToObject(p, "fixed", model->valuestring);
        return r;
    }
    if (cands)
        cJSON_AddItemToObject(r, "candidates", cJSON_Duplicate(cands, 1));
    if (policy) {
        cJSON_DeleteItemFromObjectCaseSensitive(r, "policy");
        cJSON_AddItemToObject(r, "policy", cJSON_Duplicate(policy, 1));
        if (!params)
            cJSON_DeleteItemFromObjectCaseSensitive(r, "params");
    }
    if (params) {
        cJSON_DeleteItemFromObjectCaseSensitive(r, "params");
        cJSON_AddItemToObject(r, "params", cJSON_Duplicate(params, 1));
    }
    return r;
}

void sy_exp_table_free(sy_exp_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        for (size_t v = 0; v < t->exps[i].n_variants; v++)
            cJSON_Delete(t->exps[i].variants[v].parameters);
    free(t->exps);
    free(t);
}

/* Fill one table entry from a running document; the variants' routes must exist. */
static int table_entry(sy_config *cfg, const cJSON *doc, sy_exp_rt *e, sy_buf *errors)
{
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(doc, "definition");
    const char *id = str_or(def, "id", "");
    const char *route = str_or(def, "route", "");
    const sy_route_cfg *base = sy_config_find_route(cfg, route);
    if (!base || base->hidden) {
        sy_buf_printf(errors, "$.experiments.%s.route: '%s' is not a route of the configuration\n",
                      id, route);
        return -1;
    }
    memset(e, 0, sizeof(*e));
    snprintf(e->id, sizeof(e->id), "%s", id);
    snprintf(e->salt, sizeof(e->salt), "%s", str_or(def, "salt", id));
    snprintf(e->layer_salt, sizeof(e->layer_salt), "layer:%s", layer_of(def));
    e->base_route = (size_t)(base - cfg->routes);
    const char *unit = str_or(def, "unit", "user");
    e->unit = strcmp(unit, "request") == 0        ? SY_EXP_UNIT_REQUEST
              : strcmp(unit, "conversation") == 0 ? SY_EXP_UNIT_CONVERSATION
                                                  : SY_EXP_UNIT_USER;
    snprintf(e->unit_header, sizeof(e->unit_header), "%s",
             str_or(def, "unit_header", DEFAULT_UNIT_HEADER));
    for (char *p = e->unit_header; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    const cJSON *range = cJSON_GetObjectItemCaseSensitive(doc, "layer_range");
    if (cJSON_GetArraySize(range) == 2) {
        e->layer_start = (unsigned)cJSON_GetArrayItem(range, 0)->valuedouble;
        e->layer_end = (unsigned)cJSON_GetArrayItem(range, 1)->valuedouble;
    } else { /* a definition being validated: its whole traffic share from 0 */
        e->layer_end = (unsigned)lround(num_or(def, "traffic", 1) * SY_EXP_BUCKETS);
    }
    e->alloc_version = (unsigned)num_or(doc, "allocation_version", 1);
    e->msprt_tau = num_or(def, "msprt_tau", 0.05);
    const cJSON *var;
    cJSON_ArrayForEach(var, cJSON_GetObjectItemCaseSensitive(def, "variants"))
    {
        sy_exp_variant_rt *v = &e->variants[e->n_variants];
        snprintf(v->name, sizeof(v->name), "%s", str_or(var, "name", ""));
        v->weight = num_or(var, "weight", 1);
        e->weights[e->n_variants] = v->weight;
        char name[SY_CONFIG_MAX_NAME + 2 * SY_EXP_ID_MAX + 4];
        variant_route_name(route, id, v->name, name, sizeof(name));
        const sy_route_cfg *vr = sy_config_find_route(cfg, name);
        if (!vr) {
            sy_buf_printf(errors, "$.experiments.%s: the route of variant '%s' is missing\n", id,
                          v->name);
            return -1;
        }
        ((sy_route_cfg *)vr)->hidden = 1;
        v->route = (size_t)(vr - cfg->routes);
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(var, "prompt");
        if (p) {
            snprintf(v->prompt_id, sizeof(v->prompt_id), "%s", str_or(p, "id", ""));
            v->prompt_version = (unsigned)num_or(p, "version", 0);
            snprintf(v->prompt_label, sizeof(v->prompt_label), "%s", str_or(p, "label", ""));
        }
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(var, "parameters");
        v->parameters = params ? cJSON_Duplicate(params, 1) : NULL;
        e->n_variants++;
    }
    return 0;
}

/*
 * The configuration for the running documents of `docs` (and `extra`): the file's text
 * with a hidden route per variant, parsed and validated, and its experiment table.
 */
sy_config *sy_exp_build_from_docs(const cJSON *docs, const sy_config *file_cfg, const cJSON *extra,
                                  sy_exp_table **table, sy_buf *errors)
{
    *table = NULL;
    cJSON *root = cJSON_ParseWithLength(file_cfg->text, file_cfg->text_len);
    if (!root) {
        sy_buf_puts(errors, "$: the configuration text no longer parses\n");
        return NULL;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(root, "experiments");
    cJSON *routes = cJSON_GetObjectItemCaseSensitive(root, "routes");
    /* the running documents (and the one being validated), in assignment order */
    cJSON *running = cJSON_CreateArray();
    const cJSON *d;
    cJSON_ArrayForEach(d, docs) if (strcmp(str_or(d, "status", ""), "running") == 0)
        cJSON_AddItemToArray(running, cJSON_Duplicate(d, 1));
    if (extra) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "id", str_or(extra, "id", ""));
        cJSON_AddItemToObject(x, "definition", cJSON_Duplicate(extra, 1));
        cJSON_AddItemToArray(running, x);
    }
    int bad = 0;
    cJSON_ArrayForEach(d, running)
    {
        const cJSON *def = cJSON_GetObjectItemCaseSensitive(d, "definition");
        const char *route = str_or(def, "route", "");
        const cJSON *base = cJSON_GetObjectItemCaseSensitive(routes, route);
        int on_route = 0;
        for (const cJSON *o = running->child; o != d; o = o->next)
            on_route +=
                strcmp(str_or(cJSON_GetObjectItemCaseSensitive(o, "definition"), "route", ""),
                       route) == 0;
        if (on_route >= SY_EXP_MAX_PER_ROUTE) {
            sy_buf_printf(errors,
                          "$.experiments.%s: route '%.128s' already runs %d experiments (the "
                          "most a request can be enrolled in)\n",
                          str_or(def, "id", ""), route, SY_EXP_MAX_PER_ROUTE);
            bad = 1;
            continue;
        }
        if (!cJSON_IsObject(base)) {
            sy_buf_printf(errors,
                          "$.experiments.%s.route: '%.128s' is not a route of the "
                          "configuration\n",
                          str_or(def, "id", ""), route);
            bad = 1;
            continue;
        }
        const cJSON *var;
        cJSON_ArrayForEach(var, cJSON_GetObjectItemCaseSensitive(def, "variants"))
        {
            char name[SY_CONFIG_MAX_NAME + 2 * SY_EXP_ID_MAX + 4];
            variant_route_name(route, str_or(def, "id", ""), str_or(var, "name", ""), name,
                               sizeof(name));
            cJSON_AddItemToObject(routes, name, variant_route(base, var));
        }
    }
    sy_config *cfg = NULL;
    if (!bad) {
        char *text = cJSON_PrintUnformatted(root);
        sy_config_errors errs = {0};
        cfg = sy_config_parse(text, strlen(text), file_cfg->path, &errs);
        for (size_t i = 0; i < errs.n; i++)
            sy_buf_printf(errors, "%s\n", errs.items[i]);
        sy_config_errors_free(&errs);
        free(text);
    }
    if (cfg) {
        /* the service keeps the file's text, so that later rebuilds start from it */
        free(cfg->text);
        cfg->text = sy_xstrndup(file_cfg->text, file_cfg->text_len);
        cfg->text_len = file_cfg->text_len;
        sy_exp_table *t = sy_xcalloc(1, sizeof(*t));
        t->exps = sy_xcalloc((size_t)cJSON_GetArraySize(running) + 1, sizeof(*t->exps));
        cJSON_ArrayForEach(d, running)
        {
            if (table_entry(cfg, d, &t->exps[t->n], errors) != 0) {
                bad = 1;
                break;
            }
            t->n++;
        }
        if (bad) {
            sy_exp_table_free(t);
            sy_config_free(cfg);
            cfg = NULL;
        } else {
            *table = t;
        }
    }
    cJSON_Delete(running);
    cJSON_Delete(root);
    return cfg;
}
