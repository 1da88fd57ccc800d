/*
 * sim_cache: the semantic cache in the simulator (see sim_cache.h). Seeds, then steps,
 * then agents: every agent sees the same request stream; each owns its policy state,
 * snapshot, generator (seeded from the seed and its name) and cache.
 */
#include "sim_cache.h"

#include "cache_arm.h"
#include "featurize.h"
#include "sim_run.h"
#include "sy_common.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { STEP_FRESH, STEP_REPEAT, STEP_NEAR } step_kind;

/* One request of the stream: a dataset row, the question it asks (group), the cache's
 * nearest entry: the group it answers (-1 none) and its similarity, and the nearest
 * entry other than the question's own (fb_*: what the question found when first asked;
 * a repeat finds it again when the agent stored no answer of its own). */
typedef struct step {
    size_t row, group;
    step_kind kind;
    long cand; /* group of the nearest cached entry, -1 when none */
    double sim;
    long fb_cand; /* the question's first nearest entry (-1 none), its similarity and */
    double fb_sim;
    int fb_near;   /* whether it was a near-miss (else unrelated) */
    uint8_t rated; /* the user rates this request */
} step;

typedef struct learner {
    sy_policy_params params;
    sy_arm_params arms[SY_POLICY_MAX_ARMS];
    sy_policy_state *st;
    sy_policy *snap;
    gsl_rng *rng;
    size_t since;
} learner;

typedef struct agent {
    char name[48];
    double tau;    /* (b): the threshold; else NAN */
    int cache_arm; /* (c) */
    learner L;
    double *cached;    /* per group: quality of the stored answer, NAN = none */
    double *rsum, *rn; /* per group: ratings its answer got when served from the cache */
    double *ccost;     /* per group: what the stored answer cost, and its model */
    size_t *cmodel;
    double sum_q, sum_c, sum_u, n_cache, n_wrong;
} agent;

static double draw_beta(gsl_rng *r, const sy_sim_beta *b)
{
    return b->lo + (b->hi - b->lo) * gsl_ran_beta(r, b->a, b->b);
}

/* The near-miss share of a new question from row i: its task's, else the default. */
static double near_share(const sy_sim_cache_scenario *sc, const sy_sim_dataset *ds, size_t i)
{
    for (size_t j = 0; ds->task && ds->task[i] && j < sc->n_near_tasks; j++)
        if (strcmp(ds->task[i], sc->near_tasks[j]) == 0)
            return sc->near_task_share[j];
    return sc->near_miss;
}

/* The stream of one seed: a repeat picks an earlier request uniformly (so popular
 * questions come back more often); a new question is a random row whose nearest cached
 * entry is a near-miss, an unrelated entry or nothing. An entry below the floor is no
 * candidate. Which requests are rated is drawn from rr (only when feedback < 1, so the
 * stream of r does not depend on it). */
static void make_stream(const sy_sim_cache_scenario *sc, const sy_sim_dataset *ds, size_t T,
                        gsl_rng *r, gsl_rng *rr, step *st, size_t *n_groups)
{
    size_t g = 0;
    for (size_t t = 0; t < T; t++) {
        step *s = &st[t];
        s->cand = -1;
        s->sim = 0;
        if (t > 0 && gsl_rng_uniform(r) < sc->repeat) {
            const step *e = &st[gsl_rng_uniform_int(r, t)];
            s->kind = STEP_REPEAT, s->row = e->row, s->group = e->group;
            s->fb_cand = e->fb_cand, s->fb_sim = e->fb_sim, s->fb_near = e->fb_near;
            s->cand = (long)e->group;
            s->sim = gsl_rng_uniform(r) < sc->exact ? 1.0 : draw_beta(r, &sc->paraphrase);
        } else {
            s->row = gsl_rng_uniform_int(r, ds->n), s->group = g++;
            s->kind = STEP_FRESH;
            double u = gsl_rng_uniform(r), pn = near_share(sc, ds, s->row);
            if (t > 0 && u < pn) {
                s->kind = STEP_NEAR;
                s->cand = (long)st[gsl_rng_uniform_int(r, t)].group;
                s->sim = draw_beta(r, &sc->near);
            } else if (t > 0 && gsl_rng_uniform(r) < sc->unrelated) {
                s->cand = (long)st[gsl_rng_uniform_int(r, t)].group;
                s->sim = draw_beta(r, &sc->far);
            }
        }
        if (s->cand >= 0 && s->sim < sc->floor)
            s->cand = -1, s->sim = 0;
        if (s->kind != STEP_REPEAT)
            s->fb_cand = s->cand, s->fb_sim = s->sim, s->fb_near = s->kind == STEP_NEAR;
        s->rated = sc->feedback >= 1 || gsl_rng_uniform(rr) < sc->feedback;
    }
    *n_groups = g;
}

static int learner_start(learner *L, unsigned long seed, const char *name)
{
    if (sy_policy_state_new(&L->params, &L->st) != SY_OK)
        return SY_ERR_INVALID;
    L->snap = sy_policy_state_snapshot(L->st, 0);
    L->rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(L->rng, sy_sim_agent_seed(seed, name));
    L->since = 0;
    return SY_OK;
}

static void learner_stop(learner *L)
{
    sy_policy_free(L->snap);
    sy_policy_state_free(L->st);
    gsl_rng_free(L->rng);
    L->snap = NULL, L->st = NULL, L->rng = NULL;
}

/* Decide among the eligible arms; -1 when none is. */
static long learner_decide(learner *L, const uint8_t *elig, size_t K, const double *x, size_t t,
                           double in_tok, const double *hint)
{
    sy_decide_in in = {.n_arms = K,
                       .eligible = elig,
                       .x = sy_policy_kind_is_contextual(L->params.kind) ? x : NULL,
                       .dim = L->params.dim,
                       .rng = L->rng,
                       .seq = t,
                       .input_tokens = in_tok,
                       .cost_hint = hint};
    sy_decide_out out;
    return sy_policy_decide(L->snap, &in, &out) == SY_OK ? (long)out.ranking[0] : -1;
}

/* What the gateway's learner does for a served request: the outcome always, the rating
 * q when the user gave one (NAN: unrated). */
static void learner_observe(learner *L, size_t k, const double *x, double q, double cost,
                            double lat, double tokens, size_t t, size_t refresh)
{
    int ctx = sy_policy_kind_is_contextual(L->params.kind);
    sy_outcome_obs oo = {
        .arm = k, .latency_s = lat, .output_tokens = tokens, .cost_usd = cost, .t = (double)t};
    sy_policy_state_observe_outcome(L->st, &oo);
    sy_quality_obs qo = {.arm = k,
                         .x = ctx ? x : NULL,
                         .dim = ctx ? L->params.dim : 0,
                         .reward = q,
                         .weight = 1,
                         .t = (double)t};
    if (!isnan(q)) /* only rated requests teach quality */
        sy_policy_state_observe_quality(L->st, &qo, NULL);
    if (++L->since >= refresh) {
        sy_policy_free(L->snap);
        L->snap = sy_policy_state_snapshot(L->st, (double)t);
        L->since = 0;
    }
}

/* The step's cache candidate for agent a: its quality (NAN when a has none), the entry
 * (group) in *entry, its similarity in *sim and whether serving it is wrong (it answers
 * another question) in *wrong. */
static double candidate(const agent *a, const step *s, const sy_sim_cache_scenario *sc, long *entry,
                        double *sim, int *wrong)
{
    *entry = -1, *sim = 0, *wrong = 0;
    long e = s->cand;
    double sm = s->sim;
    int near = s->kind == STEP_NEAR;
    if (s->kind == STEP_REPEAT && isnan(a->cached[s->group])) {
        if (!sc->repeat_finds_nearest)
            return NAN;
        e = s->fb_cand, sm = s->fb_sim, near = s->fb_near;
    } else if (s->kind == STEP_REPEAT) {
        if (e < 0)
            return NAN; /* its own entry, below the floor */
        *entry = e, *sim = sm;
        return a->cached[e];
    }
    if (e < 0 || isnan(a->cached[e]))
        return NAN;
    *entry = e, *sim = sm, *wrong = 1;
    return near ? sc->near_miss_quality : 0;
}

/* Zero the cache features of the groups the scenario hides from the cache arm. */
static void mask_features(double *f, unsigned groups)
{
    static const struct {
        unsigned group;
        size_t lo, hi;
    } span[] = {{SY_SIM_CACHE_F_SIMILARITY, 0, 3},
                {SY_SIM_CACHE_F_RATINGS, 3, 5},
                {SY_SIM_CACHE_F_KINDS, 5, SY_CACHE_ARM_FEATURES}};
    for (size_t j = 0; j < SY_ARRAY_LEN(span); j++)
        for (size_t i = span[j].lo; !(groups & span[j].group) && i < span[j].hi; i++)
            f[i] = 0;
}

/* Why long: one request for one agent — candidate, decision (rule or policy), outcome,
 * learning, cache update and accounting — reads best in one place. */
static void agent_step(agent *a, const sy_sim_dataset *ds, const step *s, size_t t,
                       const sy_sim_cache_scenario *sc, const sy_objective *obj, size_t dim,
                       size_t refresh)
{
    size_t K = ds->n_arms, i = s->row;
    long entry;
    double sim;
    int wrong;
    double cq = candidate(a, s, sc, &entry, &sim, &wrong);
    int has = !isnan(cq);
    double x[SY_POLICY_MAX_DIM];
    sy_feature_input fi = {.user_text = ds->text[i],
                           .user_len = strlen(ds->text[i]),
                           .prompt_bytes = ds->bytes[i],
                           .turn = ds->turn[i]};
    sy_cache_candidate cand = {.has = a->cache_arm && has,
                               .similarity = sim,
                               .tau = sc->threshold,
                               .rating_sum = has ? a->rsum[entry] : 0,
                               .rating_n = has ? a->rn[entry] : 0};
    sy_cache_arm_featurize(&fi, &cand, x, dim);
    mask_features(x + dim - SY_CACHE_ARM_FEATURES, sc->arm_features);
    uint8_t elig[SY_POLICY_MAX_ARMS + 1];
    for (size_t k = 0; k < K; k++)
        elig[k] = (uint8_t)sy_sim_dataset_eligible(ds, i, k);
    double cs =
        obj->w_cost_rel > 0 ? sy_geomean_positive(ds->cost + i * SY_SIM_STRIDE, elig, K) : 0;
    double ls =
        obj->w_latency_rel > 0 ? sy_geomean_positive(ds->latency + i * SY_SIM_STRIDE, elig, K) : 0;
    double in_tok = sy_sim_estimate_tokens(ds->bytes[i]);
    long k;
    if (!isnan(a->tau) && has && sim >= a->tau) {
        k = (long)K; /* (b): the rule serves the cache */
    } else if (a->cache_arm) {
        sy_cache_arm_eligible(elig, K, has);
        double hint[SY_POLICY_MAX_ARMS];
        for (size_t j = 0; j <= K; j++)
            hint[j] = NAN;
        if (has && sc->cost_hint) /* what the cached answer cost its model */
            hint[a->cmodel[entry]] = a->ccost[entry];
        k = learner_decide(&a->L, elig, K + 1, x, t, in_tok, hint);
    } else {
        k = learner_decide(&a->L, elig, K, x, t, in_tok, NULL);
    }
    if (k < 0)
        return;
    double q, c, lat, tok;
    if ((size_t)k == K) {
        q = cq, c = 0, lat = sc->cache_latency_s, tok = NAN;
        a->n_cache++;
        a->n_wrong += wrong;
        if (s->rated)
            a->rsum[entry] += q, a->rn[entry] += 1;
    } else {
        size_t at = i * SY_SIM_STRIDE + (size_t)k;
        q = ds->quality[at], c = ds->cost[at], lat = ds->latency[at], tok = ds->tokens[at];
        a->cached[s->group] = q; /* every model answer is stored, with its cost */
        a->ccost[s->group] = c, a->cmodel[s->group] = (size_t)k;
    }
    if (a->cache_arm || (size_t)k < K)
        learner_observe(&a->L, (size_t)k, x, s->rated ? q : NAN, c, lat, tok, t, refresh);
    a->sum_q += q, a->sum_c += c;
    a->sum_u += sy_objective_utility(obj, q, c, isnan(lat) ? 0 : lat, cs, ls);
}

/* The agents: no cache, one per threshold, the cache arm; learners set up for K models
 * (+1 for the cache arm). */
static size_t make_agents(agent *ag, const sy_policy_params *route, const sy_arm_params *arms,
                          size_t K, const sy_sim_cache_scenario *sc)
{
    size_t n = 0;
    for (size_t j = 0; j < sc->n_thresholds + 2; j++, n++) {
        agent *a = &ag[n];
        memset(a, 0, sizeof *a);
        a->tau = NAN;
        if (j == 0) {
            snprintf(a->name, sizeof a->name, "no cache");
        } else if (j <= sc->n_thresholds) {
            a->tau = sc->thresholds[j - 1];
            snprintf(a->name, sizeof a->name, "threshold %.3f", a->tau);
        } else {
            a->cache_arm = 1;
            snprintf(a->name, sizeof a->name, "cache arm");
        }
        a->L.params = *route;
        a->L.params.n_arms = K + (size_t)a->cache_arm;
        a->L.params.propensity_draws = 0;
        memcpy(a->L.arms, arms, K * sizeof *arms);
        if (a->cache_arm)
            sy_cache_arm_params(&a->L.arms[K]);
        a->L.params.arms = a->L.arms;
    }
    return n;
}

static void result_alloc(sy_sim_cache_result *out, const agent *ag, size_t n, unsigned seeds)
{
    memset(out, 0, sizeof *out);
    out->n_agents = n, out->seeds = seeds;
    out->names = sy_xcalloc(n, sizeof *out->names);
    for (size_t a = 0; a < n; a++)
        snprintf(out->names[a], sizeof out->names[a], "%s", ag[a].name);
    double **arr[] = {&out->quality,      &out->cost,        &out->utility,
                      &out->served_cache, &out->wrong_cache, &out->repeats};
    for (size_t j = 0; j < SY_ARRAY_LEN(arr); j++)
        *arr[j] = sy_xcalloc(n * seeds, sizeof(double));
}

int sy_sim_cache_run(const sy_sim_dataset *ds, const sy_policy_params *route,
                     const sy_arm_params *model_arms, const sy_sim_cache_scenario *sc,
                     unsigned seeds, unsigned long seed0, size_t refresh, sy_sim_cache_result *out,
                     char *err, size_t err_len)
{
    size_t K = ds->n_arms, T = sc->steps ? sc->steps : ds->n, dim = route->dim;
    if (ds->n == 0 || K == 0 || K + 1 > SY_POLICY_MAX_ARMS || seeds == 0 || refresh == 0 ||
        dim <= SY_FEATURE_DENSE + SY_CACHE_ARM_FEATURES || dim > SY_POLICY_MAX_DIM) {
        snprintf(err, err_len,
                 "cache simulation: need prompts, at most %d models, seeds, and "
                 "a dim in %d..%d",
                 SY_POLICY_MAX_ARMS - 1, SY_FEATURE_DENSE + SY_CACHE_ARM_FEATURES + 1,
                 SY_POLICY_MAX_DIM);
        return SY_ERR_INVALID;
    }
    agent ag[SY_SIM_CACHE_MAX_THRESHOLDS + 2];
    size_t n_ag = make_agents(ag, route, model_arms, K, sc);
    result_alloc(out, ag, n_ag, seeds);
    step *st = sy_xcalloc(T, sizeof *st);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937), *rr = gsl_rng_alloc(gsl_rng_mt19937);
    int rc = SY_OK;
    for (unsigned s = 0; s < seeds && rc == SY_OK; s++) {
        unsigned long seed = seed0 + s;
        size_t n_groups, n_rep = 0;
        gsl_rng_set(r, seed);
        gsl_rng_set(rr, sy_sim_agent_seed(seed, "feedback"));
        make_stream(sc, ds, T, r, rr, st, &n_groups);
        for (size_t a = 0; a < n_ag && rc == SY_OK; a++) {
            agent *A = &ag[a];
            if (learner_start(&A->L, seed, A->name) != SY_OK) {
                snprintf(err, err_len, "%s: the route's parameters are rejected", A->name);
                rc = SY_ERR_INVALID;
                break;
            }
            A->cached = sy_xmalloc(n_groups * sizeof(double));
            A->rsum = sy_xcalloc(n_groups, sizeof(double));
            A->rn = sy_xcalloc(n_groups, sizeof(double));
            A->ccost = sy_xcalloc(n_groups, sizeof(double));
            A->cmodel = sy_xcalloc(n_groups, sizeof(size_t));
            for (size_t g = 0; g < n_groups; g++)
                A->cached[g] = NAN;
            A->sum_q = A->sum_c = A->sum_u = A->n_cache = A->n_wrong = 0;
        }
        for (size_t t = 0; t < T && rc == SY_OK; t++) {
            n_rep += st[t].kind == STEP_REPEAT;
            for (size_t a = 0; a < n_ag; a++)
                agent_step(&ag[a], ds, &st[t], t, sc, &route->objective, dim, refresh);
        }
        for (size_t a = 0; a < n_ag; a++) {
            size_t at = a * seeds + s;
            if (rc == SY_OK) {
                out->quality[at] = ag[a].sum_q / (double)T;
                out->cost[at] = ag[a].sum_c / (double)T;
                out->utility[at] = ag[a].sum_u / (double)T;
                out->served_cache[at] = ag[a].n_cache / (double)T;
                out->wrong_cache[at] = ag[a].n_wrong / (double)T;
                out->repeats[at] = (double)n_rep / (double)T;
            }
            if (ag[a].L.st)
                learner_stop(&ag[a].L);
            free(ag[a].cached), free(ag[a].rsum), free(ag[a].rn), free(ag[a].ccost);
            free(ag[a].cmodel);
            ag[a].cached = ag[a].rsum = ag[a].rn = ag[a].ccost = NULL;
            ag[a].cmodel = NULL;
        }
    }
    gsl_rng_free(r), gsl_rng_free(rr);
    free(st);
    if (rc != SY_OK)
        sy_sim_cache_result_free(out);
    return rc;
}

void sy_sim_cache_result_free(sy_sim_cache_result *r)
{
    free(r->names);
    free(r->quality), free(r->cost), free(r->utility);
    free(r->served_cache), free(r->wrong_cache), free(r->repeats);
    memset(r, 0, sizeof *r);
}
