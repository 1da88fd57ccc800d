#include "runtime.h"

#include "experiments.h"

#include <stdlib.h>
#include <string.h>

/* One model's entry: OpenAI's model object plus the switchyard extension. */
static void render_model(const sy_config *cfg, const sy_model_cfg *m, sy_buf *b)
{
    sy_buf_puts(b, "{\"id\":");
    sy_buf_json_string(b, m->name, strlen(m->name));
    sy_buf_puts(b, ",\"object\":\"model\",\"created\":0,\"owned_by\":");
    const char *prov = cfg->providers[m->provider].name;
    sy_buf_json_string(b, prov, strlen(prov));
    sy_buf_puts(b, ",\"switchyard\":{\"kind\":\"model\",\"mode\":");
    sy_buf_puts(b, m->embedding ? "\"embedding\"" : "\"chat\"");
    sy_buf_puts(b, ",\"tier\":");
    sy_buf_json_string(b, m->tier, strlen(m->tier));
    sy_buf_puts(b, "}}");
}

/* One route's entry: its policy and candidates in the extension. */
static void render_route(const sy_config *cfg, const sy_route_cfg *r, sy_buf *b)
{
    sy_buf_puts(b, "{\"id\":");
    sy_buf_json_string(b, r->name, strlen(r->name));
    sy_buf_puts(b, ",\"object\":\"model\",\"created\":0,\"owned_by\":\"switchyard\","
                   "\"switchyard\":{\"kind\":\"route\",\"mode\":");
    sy_buf_puts(b, cfg->models[r->candidates[0]].embedding ? "\"embedding\"" : "\"chat\"");
    sy_buf_puts(b, ",\"policy\":");
    sy_buf_json_string(b, r->policy, strlen(r->policy));
    sy_buf_puts(b, ",\"candidates\":[");
    for (size_t k = 0; k < r->n_candidates; k++) {
        const char *mn = cfg->models[r->candidates[k]].name;
        if (k)
            sy_buf_puts(b, ",");
        sy_buf_json_string(b, mn, strlen(mn));
    }
    sy_buf_puts(b, "]}}");
}

/* Render the OpenAI "list models" body: models first, then routes. */
static void render_models(sy_runtime *rt)
{
    const sy_config *cfg = rt->cfg;
    sy_buf *b = &rt->models_json;
    sy_buf_puts(b, "{\"object\":\"list\",\"data\":[");
    for (size_t i = 0; i < cfg->n_models; i++) {
        if (i)
            sy_buf_puts(b, ",");
        render_model(cfg, &cfg->models[i], b);
    }
    for (size_t i = 0, listed = cfg->n_models; i < cfg->n_routes; i++) {
        const sy_route_cfg *r = &cfg->routes[i];
        if (r->hidden) /* an experiment variant's route */
            continue;
        if (listed++)
            sy_buf_puts(b, ",");
        render_route(cfg, r, b);
    }
    sy_buf_puts(b, "]}");
}

int sy_runtime_model_json(const sy_runtime *rt, const char *id, sy_buf *out)
{
    const sy_model_cfg *m = sy_config_find_model(rt->cfg, id);
    const sy_route_cfg *r = m ? NULL : sy_config_find_route(rt->cfg, id);
    if (m)
        render_model(rt->cfg, m, out);
    else if (r && !r->hidden)
        render_route(rt->cfg, r, out);
    else
        return SY_ERR_NOTFOUND;
    return SY_OK;
}

sy_runtime *sy_runtime_new(sy_config *cfg, uint64_t generation)
{
    sy_runtime *rt = sy_xcalloc(1, sizeof(*rt));
    atomic_init(&rt->refs, 1);
    rt->cfg = cfg;
    rt->generation = generation;
    rt->route_policies = sy_xcalloc(cfg->n_routes, sizeof(sy_policy *));
    /* Until the learner publishes, routes decide on their priors alone. */
    for (size_t i = 0; i < cfg->n_routes; i++) {
        const sy_route_cfg *r = &cfg->routes[i];
        sy_policy_params pp;
        sy_arm_params *arms = sy_xcalloc(sy_route_n_arms(r), sizeof(*arms));
        sy_route_policy_params(cfg, r, &pp, arms);
        sy_policy_state *st = NULL;
        if (sy_policy_state_new(&pp, &st) == 0) {
            rt->route_policies[i] = sy_policy_state_snapshot(st, 0);
            sy_policy_state_free(st);
        } else {
            rt->route_policies[i] = sy_policy_new_uniform();
        }
        free(arms);
    }
    render_models(rt);
    return rt;
}

sy_route_warm *sy_route_warm_new(char *key, const sy_warm_data *data)
{
    sy_route_warm *w = sy_xcalloc(1, sizeof(*w));
    atomic_init(&w->refs, 1);
    w->key = key;
    w->data = *data;
    return w;
}

sy_route_warm *sy_route_warm_ref(sy_route_warm *w)
{
    atomic_fetch_add_explicit(&w->refs, 1, memory_order_relaxed);
    return w;
}

void sy_route_warm_unref(sy_route_warm *w)
{
    if (!w || atomic_fetch_sub_explicit(&w->refs, 1, memory_order_acq_rel) != 1)
        return;
    sy_warm_data_free(&w->data);
    free(w->key);
    free(w);
}

sy_runtime *sy_runtime_ref(sy_runtime *rt)
{
    atomic_fetch_add_explicit(&rt->refs, 1, memory_order_relaxed);
    return rt;
}

void sy_runtime_unref(sy_runtime *rt)
{
    if (!rt || atomic_fetch_sub_explicit(&rt->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < rt->cfg->n_routes; i++)
        sy_policy_free(rt->route_policies[i]);
    free(rt->route_policies);
    for (size_t i = 0; rt->route_warm && i < rt->cfg->n_routes; i++)
        sy_route_warm_unref(rt->route_warm[i]);
    free(rt->route_warm);
    sy_buf_free(&rt->models_json);
    sy_exp_table_free(rt->experiments);
    sy_config_free(rt->cfg);
    free(rt);
}

void sy_route_policy_params(const sy_config *cfg, const sy_route_cfg *route, sy_policy_params *out,
                            sy_arm_params *arms)
{
    *out = route->params;
    out->n_arms = sy_route_n_arms(route);
    for (size_t k = 0; k < route->n_candidates; k++) {
        const sy_model_cfg *m = &cfg->models[route->candidates[k]];
        arms[k] = route->arms[k];
        arms[k].price_in_per_mtok = m->price.input;
        arms[k].price_out_per_mtok = m->price.output;
    }
    if (sy_route_has_cache_arm(route)) /* the cache arm: priced 0 by the config loader */
        arms[route->n_candidates] = route->arms[route->n_candidates];
    out->arms = arms;
}
