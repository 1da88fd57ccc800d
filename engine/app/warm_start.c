/* warm_start: see warm_start.h. */
#include "warm_start.h"

#include "sim_warm.h"

#include <stdlib.h>
#include <string.h>

int sy_warm_start_load(const sy_config *cfg, const sy_route_cfg *r, sy_warm_data *out, char *err,
                       size_t err_len)
{
    char *names[SY_CONFIG_MAX_CANDIDATES], *upstream[SY_CONFIG_MAX_CANDIDATES];
    for (size_t k = 0; k < r->n_candidates; k++) {
        names[k] = cfg->models[r->candidates[k]].name;
        upstream[k] = cfg->models[r->candidates[k]].upstream_name;
    }
    return sy_sim_warm_load_alias(r->warm_start.path, names, upstream, r->n_candidates,
                                  r->params.dim, r->warm_start.weight, out, err, err_len);
}

/* What the data of route r depends on: file, weight, dim and each candidate's names. */
static char *warm_key(const sy_config *cfg, const sy_route_cfg *r)
{
    sy_buf b = {0};
    sy_buf_printf(&b, "%s\n%.17g\n%zu", r->warm_start.path, r->warm_start.weight, r->params.dim);
    for (size_t k = 0; k < r->n_candidates; k++) {
        const sy_model_cfg *m = &cfg->models[r->candidates[k]];
        sy_buf_printf(&b, "\n%s\n%s", m->name, m->upstream_name ? m->upstream_name : "");
    }
    return b.data; /* NUL-terminated by sy_buf */
}

/* A loaded warm start with this key in rt's first n routes or in prev, or NULL. */
static sy_route_warm *find_loaded(sy_route_warm **have, size_t n, const sy_runtime *prev,
                                  const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (have[i] && strcmp(have[i]->key, key) == 0)
            return have[i];
    for (size_t i = 0; prev && prev->route_warm && i < prev->cfg->n_routes; i++)
        if (prev->route_warm[i] && strcmp(prev->route_warm[i]->key, key) == 0)
            return prev->route_warm[i];
    return NULL;
}

int sy_warm_start_attach(sy_runtime *rt, const sy_runtime *prev, sy_buf *errors)
{
    const sy_config *cfg = rt->cfg;
    sy_route_warm **have = sy_xcalloc(cfg->n_routes ? cfg->n_routes : 1, sizeof(*have));
    int rc = SY_OK, any = 0;
    for (size_t i = 0; i < cfg->n_routes; i++) {
        const sy_route_cfg *r = &cfg->routes[i];
        if (!r->warm_start.path)
            continue;
        any = 1;
        char *key = warm_key(cfg, r);
        sy_route_warm *w = find_loaded(have, i, prev, key);
        if (w) {
            have[i] = sy_route_warm_ref(w);
            free(key);
            continue;
        }
        sy_warm_data d;
        char err[1024];
        if (sy_warm_start_load(cfg, r, &d, err, sizeof(err)) != SY_OK) {
            sy_buf_printf(errors, "$.routes.%s.warm_start.path: %s\n", r->name, err);
            free(key);
            rc = SY_ERR_INVALID;
            continue;
        }
        have[i] = sy_route_warm_new(key, &d);
    }
    if (rc != SY_OK || !any) {
        for (size_t i = 0; i < cfg->n_routes; i++)
            sy_route_warm_unref(have[i]);
        free(have);
        return rc;
    }
    rt->route_warm = have;
    return SY_OK;
}

size_t sy_warm_start_check(const sy_config *cfg, sy_buf *errors)
{
    size_t failed = 0;
    for (size_t i = 0; i < cfg->n_routes; i++) {
        const sy_route_cfg *r = &cfg->routes[i];
        if (!r->warm_start.path)
            continue;
        sy_warm_data d;
        char err[1024];
        if (sy_warm_start_load(cfg, r, &d, err, sizeof(err)) != SY_OK) {
            sy_buf_printf(errors, "$.routes.%s.warm_start.path: %s\n", r->name, err);
            failed++;
        } else {
            sy_warm_data_free(&d);
        }
    }
    return failed;
}
