/*
 * cache_arm_call.c: the cache as an arm of a route's policy (cache_call.h, mode "arm";
 * docs/cache.md "The cache as an arm"; the policy side is policies/cache_arm.h).
 *
 * The semantic tier (cache_semantic.c) holds the nearest live entry of the request's
 * partition at or above the block's min_similarity (sy_cache_arm_hold) instead of
 * serving it; the route's decision (chat_decide.c) featurizes the candidate and lets the
 * policy choose. If the cache arm wins, sy_cache_arm_serve replays the entry exactly as a
 * semantic hit (cache_replay.c) and the replay records the request on the route's cache
 * arm (model SY_CACHE_ARM_NAME, the decision's context vector and propensity, the rule
 * naming the entry), so that the learner learns its outcome and any rating, and the
 * store adds the rating to the entry. If a model wins, the request is a miss.
 *
 * Ownership: the candidate's answer is the call's (k->cand_answer), freed with the
 * call's cache state.
 */
#include "cache_internal.h"

#include <string.h>

void sy_cache_arm_hold(sy_call_cache *k, const sy_store_cache_entry *e, sy_buf *answer)
{
    k->cand = *e;
    sy_buf_free(&k->cand_answer);
    k->cand_answer = *answer; /* e->answer points into it */
    *answer = (sy_buf){0};
    k->arm_pending = 1;
}

void sy_cache_arm_candidate(const sy_call *c, sy_cache_candidate *cand)
{
    const sy_call_cache *k = c->cache;
    memset(cand, 0, sizeof(*cand));
    if (!k || !k->arm_pending)
        return;
    cand->has = 1;
    cand->similarity = k->similarity;
    cand->tau = k->cfg->threshold;
    cand->rating_sum = k->cand.rating_sum;
    cand->rating_n = k->cand.rating_n;
}

int sy_cache_arm_provenance(const sy_call *c, const char **model, double *cost_usd)
{
    const sy_call_cache *k = c->cache;
    if (!k || !k->arm_pending)
        return -1;
    *model = k->cand.model;
    *cost_usd = k->cand.cost_usd;
    return 0;
}

void sy_cache_arm_declined(sy_call *c)
{
    sy_call_cache *k = c->cache;
    if (!k || !k->arm_pending)
        return;
    k->arm_pending = 0;
    sy_buf_free(&k->cand_answer);
    sy_cache_miss(c, (double)k->lookup_ns / 1e9);
}

void sy_cache_arm_serve(sy_call *c, sy_http_req *req, int stream)
{
    sy_call_cache *k = c->cache;
    k->arm_pending = 0;
    k->arm_served = 1;
    k->outcome = SY_CACHE_HIT_SEMANTIC;
    sy_buf_printf(&c->headers, "x-switchyard-cache-similarity: %.4f\r\n", k->similarity);
    sy_cache_metrics_lookup(SY_CACHE_HIT_SEMANTIC, (double)k->lookup_ns / 1e9, k->cand.cost_usd);
    k->cand.answer = k->cand_answer.data;
    sy_cache_replay(c, req, &k->cand, &k->cand_answer, stream);
}
