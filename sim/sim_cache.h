/*
 * sim_cache: the semantic cache in the simulator (issue 22, docs/simulator.md "The cache
 * as an arm"). A full-information dataset's prompts are replayed with repeated questions
 * (verbatim or paraphrased) and near-misses (a new question whose nearest cached entry
 * answers another one), and three ways of running a route are compared on the same
 * stream (common random numbers):
 *   (a) no cache: the route's policy over its models;
 *   (b) a fixed-threshold cache, one agent per threshold: a candidate with similarity
 *       ≥ τ is served from the cache, everything else goes to the policy over the models;
 *   (c) the cache as an arm (policies/cache_arm.h): the policy chooses between the
 *       candidate and the models, with the similarity as context; it learns from the
 *       ratings of what it served, cached answers included.
 *
 * What a cache candidate is worth: for a repeat, the quality of the answer the agent
 * stored when it last had a model answer that question (each agent owns its cache, so
 * what it served earlier matters); for a near-miss, `near_miss_quality`; for an
 * unrelated nearest entry, 0. Similarities are drawn per step from scaled Beta
 * distributions, overlapping so that near-misses can score as high as paraphrases (a
 * lexical or weak embedding model does exactly that; docs/cache-evaluation.md). A cached
 * answer costs 0 and takes `cache_latency_s`.
 */
#ifndef SY_SIM_CACHE_H
#define SY_SIM_CACHE_H

#include "policy.h"
#include "sim_data.h"

#include <stddef.h>

/* lo + (hi − lo)·Beta(a, b). */
typedef struct sy_sim_beta {
    double lo, hi, a, b;
} sy_sim_beta;

#define SY_SIM_CACHE_MAX_THRESHOLDS 16

/* Groups of the cache arm's features (cache_arm.h), for ablations: `arm_features`. */
enum {
    SY_SIM_CACHE_F_SIMILARITY = 1, /* f[0..2]: s, the ramp above τ, the exact flag */
    SY_SIM_CACHE_F_RATINGS = 2,    /* f[3..4]: the entry's ratings */
    SY_SIM_CACHE_F_KINDS = 4,      /* f[5..10]: s and the ramp × the format flags */
    SY_SIM_CACHE_F_ALL = 7
};

typedef struct sy_sim_cache_scenario {
    size_t steps;     /* requests per seed; 0 = as many as the dataset has prompts */
    double repeat;    /* share of requests that repeat an earlier question */
    double exact;     /* share of repeats that are verbatim (similarity 1) */
    double near_miss; /* share of new questions whose nearest entry is a near-miss */
    double unrelated; /* share of the other new questions whose nearest entry is
                         drawn from `far` (the rest have an empty neighbourhood) */
    char *near_tasks[SY_POLICY_MAX_ARMS]; /* owned: tasks with their own near-miss share */
    double near_task_share[SY_POLICY_MAX_ARMS];
    size_t n_near_tasks;
    double floor;           /* the nearest entry is a candidate only at or above this similarity */
    sy_sim_beta paraphrase; /* similarity of a paraphrased repeat */
    sy_sim_beta near;       /* similarity of a near-miss */
    sy_sim_beta far;        /* similarity of an unrelated nearest entry */
    double near_miss_quality;
    double cache_latency_s;
    double threshold;         /* the calibrated threshold τ: (c)'s feature knot */
    double feedback;          /* share of requests the user rates (the learners see only those) */
    int repeat_finds_nearest; /* a repeat without its own entry finds its first nearest */
    unsigned arm_features;    /* SY_SIM_CACHE_F_* groups the cache arm sees (others are 0) */
    int cost_hint;            /* the cache arm's decision knows what the candidate's answer cost */
    double thresholds[SY_SIM_CACHE_MAX_THRESHOLDS]; /* the (b) agents */
    size_t n_thresholds;
} sy_sim_cache_scenario;

/* Parse a cache scenario (JSON object; every field optional, defaults in
 * docs/simulator.md). SY_ERR_INVALID with "path: message" in err. */
int sy_sim_cache_scenario_parse(const char *json, size_t len, sy_sim_cache_scenario *out, char *err,
                                size_t err_len);
/* Free what a parse allocated (also after a failed parse). */
void sy_sim_cache_scenario_free(sy_sim_cache_scenario *sc);

/* The agents of a run, in order: "no cache", one "threshold τ" per threshold, then
 * "cache arm". */
typedef struct sy_sim_cache_result {
    size_t n_agents, seeds;
    char (*names)[48];
    /* [agent * seeds + s]: means per request over seed s */
    double *quality, *cost, *utility;
    double *served_cache; /* share of requests served from the cache */
    double *wrong_cache;  /* share of requests served a near-miss's or unrelated answer */
    double *repeats;      /* share of requests that were repeats (same for every agent) */
} sy_sim_cache_result;

/*
 * Run seeds seed0 .. seed0+seeds−1. route: the route's policy parameters (kind, objective,
 * discount, priors...; dim is the cache-arm featurization's, > SY_FEATURE_DENSE + 3);
 * model_arms: the dataset's n_arms arm parameters (learned cost with a prior each);
 * refresh: observations between snapshots. Returns SY_OK, or SY_ERR_INVALID with err.
 */
int sy_sim_cache_run(const sy_sim_dataset *ds, const sy_policy_params *route,
                     const sy_arm_params *model_arms, const sy_sim_cache_scenario *sc,
                     unsigned seeds, unsigned long seed0, size_t refresh, sy_sim_cache_result *out,
                     char *err, size_t err_len);
void sy_sim_cache_result_free(sy_sim_cache_result *r);

#endif
