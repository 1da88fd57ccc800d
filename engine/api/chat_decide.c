/*
 * chat_decide.c: stage 8 of the chat pipeline (DESIGN.md §3, §5): resolve the requested
 * name to a model, or let the route's policy rank its eligible candidates.
 */
#include "chat_call.h"

#include "breaker.h"
#include "cache_arm.h"
#include "featurize.h"

#include <math.h>
#include <string.h>

/*
 * Resolve `name` to a concrete model. A route's policy ranks its candidates on the
 * worker's latest snapshot set (the learner's), or on the runtime's prior-only
 * snapshot while the set is for an older configuration; contextual policies get the
 * request's feature vector, which is kept for the decision record. On a cache-arm route
 * the policy may choose the cache's candidate instead of a model: SY_CHAT_CACHE_ARM
 * (c->dec holds the decision, c->att.model stays NULL; sy_cache_arm_serve answers).
 */
int sy_chat_resolve_target(sy_call *c, const char *name, const cJSON *root)
{
    const sy_config *cfg = c->rt->cfg;
    const sy_model_cfg *m = sy_config_find_model(cfg, name);
    if (m) {
        c->att.model = m;
        return 0;
    }
    const sy_route_cfg *r = c->ctx.exp_route ? c->ctx.exp_route : sy_config_find_route(cfg, name);
    if (!r || (r->hidden && r != c->ctx.exp_route))
        return SY_ERR_NOTFOUND; /* a variant's route is reached only through assignment */
    size_t ridx = (size_t)(r - cfg->routes);
    sy_feature_input fi;
    const char *tier = NULL, *pin = NULL;
    if (c->embed) { /* embeddings have no conversation */
        sy_embed_request_features(root, &fi);
    } else {
        sy_chat_request_features(root, &fi);
        sy_chat_conversation_stage(c, r, root, &fi, &tier, &pin);
    }
    const sy_policy_set *set = c->w->policies;
    const sy_policy *pol = set && set->generation == c->rt->generation && ridx < set->n
                               ? set->snap[ridx]
                               : c->rt->route_policies[ridx];
    /* A cache-arm route (docs/cache.md "The cache as an arm"): its last arm serves the
     * cache's candidate, eligible only when there is one. */
    int cache_arm = sy_route_has_cache_arm(r) && sy_policy_n_arms(pol) == sy_route_n_arms(r);
    sy_cache_candidate cand = {0};
    if (cache_arm)
        sy_cache_arm_candidate(c, &cand);
    /* Arms whose breaker is open (or that are rate limited) are not eligible; if none
     * is, all are, and the first attempt answers 503 with the wait. */
    uint8_t eligible[SY_POLICY_MAX_ARMS], allowed[SY_POLICY_MAX_ARMS];
    size_t n_eligible = 0, n_allowed = 0;
    uint64_t now_ms = sy_wall_ms();
    for (size_t k = 0; k < r->n_candidates; k++) { /* an escalation restricts the arms */
        const sy_model_cfg *cm = &cfg->models[r->candidates[k]];
        allowed[k] = (uint8_t)((!tier || strcmp(cm->tier, tier) == 0) &&
                               (!pin || strcmp(cm->name, pin) == 0));
        n_allowed += allowed[k];
    }
    if (!n_allowed) /* the tier or model left the route: ignore the restriction */
        memset(allowed, 1, sizeof(allowed));
    for (size_t k = 0; k < r->n_candidates; k++) {
        eligible[k] =
            allowed[k] && (uint8_t)sy_breaker_available(cfg->models[r->candidates[k]].name, now_ms);
        n_eligible += eligible[k];
    }
    /* what the cached answer cost on the model that made it: that model's cost for this
     * request, in place of its learned cost (policies/cache_arm.h), so the policy weighs
     * what serving the cache saves on this very question */
    double cost_hint[SY_POLICY_MAX_ARMS];
    int hinted = 0;
    if (cache_arm) { /* an escalation in force (tier or pin) wants a model's answer */
        int restricted = (tier || pin) && n_allowed;
        sy_cache_arm_eligible(eligible, r->n_candidates, cand.has && !restricted);
        sy_cache_arm_eligible(allowed, r->n_candidates, cand.has && !restricted);
        const char *made_by;
        double made_cost;
        if (cand.has && sy_cache_arm_provenance(c, &made_by, &made_cost) == 0 &&
            isfinite(made_cost) && made_cost > 0)
            for (size_t k = 0; k <= r->n_candidates; k++) {
                cost_hint[k] = NAN;
                if (k < r->n_candidates && strcmp(cfg->models[r->candidates[k]].name, made_by) == 0)
                    cost_hint[k] = made_cost, hinted = 1;
            }
    }
    sy_decide_in in = {.n_arms = r->n_candidates + (size_t)cache_arm,
                       .cost_hint = hinted ? cost_hint : NULL,
                       .eligible = n_eligible ? eligible : allowed,
                       .rng = c->w->rng,
                       .seq = c->w->decisions++,
                       .input_tokens = (double)c->rec.prompt_bytes / 4.0};
    size_t dim = sy_policy_dim(pol);
    if (dim) {
        c->dec.x = sy_xcalloc(dim, sizeof(double));
        c->dec.dim = dim;
        if (cache_arm) /* the ordinary features, then the candidate's (0 without one) */
            sy_cache_arm_featurize(&fi, &cand, c->dec.x, dim);
        else
            sy_featurize(&fi, c->dec.x, dim);
        in.x = c->dec.x;
        in.dim = dim;
    }
    sy_decide_out out;
    if (sy_policy_decide(pol, &in, &out) != 0)
        return SY_ERR_STATE;
    c->dec.route = r;
    c->dec.propensity = out.propensity;
    c->dec.policy_name = sy_policy_name(pol);
    if (cache_arm && out.ranking[0] == r->n_candidates)
        return SY_CHAT_CACHE_ARM; /* the caller serves the candidate */
    sy_cache_arm_declined(c);
    /* the fallback order: the models in the policy's order (never the cache arm) */
    c->dec.n_ranked = 0;
    for (size_t i = 0; i < out.n_ranked; i++)
        if (out.ranking[i] < r->n_candidates)
            c->dec.ranking[c->dec.n_ranked++] = out.ranking[i];
    c->att.model = &cfg->models[r->candidates[c->dec.ranking[0]]];
    c->dec.chosen = c->att.model;
    c->dec.rank_pos = 0;
    return 0;
}
