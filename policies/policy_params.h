/*
 * policy_params: how a route's policy is configured (DESIGN.md §5, §12).
 *
 * Everything here is plain data with documented units. sy_policy_params_init() and
 * sy_arm_params_init() fill in the defaults listed beside each field; the engine's
 * config loader and the simulator overwrite what a route states and then hand the
 * struct to sy_policy_state_new(), which validates it.
 */
#ifndef SY_POLICY_PARAMS_H
#define SY_POLICY_PARAMS_H

#include <stddef.h>

#define SY_POLICY_MAX_ARMS 64
#define SY_POLICY_MAX_DIM  256

typedef enum sy_policy_kind {
    SY_POLICY_UNIFORM = 0,      /* uniform random among eligible arms */
    SY_POLICY_FIXED,            /* always `fixed_arm` (then index order) */
    SY_POLICY_WEIGHTED,         /* random in proportion to each arm's `weight` */
    SY_POLICY_ROUND_ROBIN,      /* eligible arms in turn, by the request sequence number */
    SY_POLICY_EPSILON_GREEDY,   /* greedy on mean utility, uniform exploration with prob ε */
    SY_POLICY_UCB1,             /* UCB1 on quality, mean cost and latency */
    SY_POLICY_LINUCB,           /* disjoint LinUCB on quality, mean cost and latency */
    SY_POLICY_THOMPSON,         /* Beta–Bernoulli Thompson sampling (non-contextual) */
    SY_POLICY_LINEAR_THOMPSON,  /* linear Thompson sampling, Normal–inverse-gamma posterior */
    SY_POLICY_CLUSTER_THOMPSON, /* Beta Thompson sampling, hierarchical over format clusters */
} sy_policy_kind;

/* Config name of a kind ("uniform", "fixed", "weighted", "round_robin", "epsilon_greedy",
 * "ucb1", "linucb", "thompson", "linear_thompson", "cluster_thompson"); "unknown" for an
 * invalid value. */
const char *sy_policy_kind_name(sy_policy_kind kind);
/* Parse a config name; SY_ERR_NOTFOUND if it names no kind. */
int sy_policy_kind_parse(const char *name, sy_policy_kind *out);
/* 1 if the kind reads a context vector (LinUCB, linear and cluster Thompson sampling). */
int sy_policy_kind_is_contextual(sy_policy_kind kind);

/*
 * What a route wants:
 *   utility = w_quality·quality − w_cost·cost_usd − w_latency·latency_s
 *             − w_cost_rel·log2(1 + cost_usd / cost_scale)
 *             − w_latency_rel·log2(1 + latency_s / latency_scale)
 * where quality ∈ [0,1] is the expected rating, cost_usd the expected cost of this request
 * in US dollars and latency_s its expected total latency in seconds.
 *
 * The relative terms are scale-free (DESIGN.md §5): cost_scale is the geometric mean of
 * the expected costs of the request's eligible arms that cost anything (latency_scale
 * likewise), so multiplying every price by any factor changes no decision and no
 * utility. Above the scale, w_cost_rel is the quality given up per doubling of cost;
 * below it the term fades to zero (a free arm pays nothing). With no priced arm the
 * scale is 0 and the term is 0. The absolute weights (w_cost, w_latency) are kept for
 * configurations that state dollars; a route should use one kind or the other.
 *
 * Hard constraints (0 = none): an arm whose expected cost exceeds max_cost_usd, or whose
 * expected latency exceeds latency_slo_s, is ranked after every arm that satisfies both,
 * in increasing order of relative violation (cost/max − 1, plus latency/slo − 1). So when
 * every arm violates, the least-violating one leads. Model-free policies (uniform, fixed,
 * weighted, round-robin) ignore the objective and the constraints.
 */
typedef struct sy_objective {
    double w_quality;     /* utility per unit of quality; default 1 */
    double w_cost;        /* utility lost per USD; default 0 */
    double w_latency;     /* utility lost per second; default 0 */
    double w_cost_rel;    /* utility lost per doubling of cost above the route's scale; 0 */
    double w_latency_rel; /* the same for latency; default 0 */
    double max_cost_usd;  /* per request; 0 = no constraint */
    double latency_slo_s; /* on the expected latency; 0 = no constraint */
} sy_objective;

typedef enum sy_half_life_unit {
    SY_HALF_LIFE_OBSERVATIONS = 0, /* counts observations of the route (all arms) */
    SY_HALF_LIFE_SECONDS = 1,      /* in the units of the time the caller passes in */
} sy_half_life_unit;

/* Discounting: data older than one half-life counts half (0 = never forget; ≥ 0). */
typedef struct sy_discount {
    double half_life;
    sy_half_life_unit unit;
} sy_discount;

typedef enum sy_cost_model {
    SY_COST_PRICED = 0, /* cost = price_in·input_tokens + price_out·output_tokens (learned) */
    SY_COST_LEARNED = 1 /* cost per request learned from observed costs (no price table) */
} sy_cost_model;

/* One arm (candidate model): its prices and its cold-start priors. */
typedef struct sy_arm_params {
    double price_in_per_mtok;      /* USD per million input tokens; default 0 */
    double price_out_per_mtok;     /* USD per million output tokens; default 0 */
    sy_cost_model cost_model;      /* default SY_COST_PRICED */
    double prior_quality;          /* prior mean quality in [0,1]; default 0.5 */
    double prior_quality_strength; /* worth of that prior, in ratings; default 2 */
    double prior_latency_s;        /* prior typical (median) latency; default 1 s */
    double prior_output_tokens;    /* prior typical output tokens; default 256 */
    double prior_cost_usd;         /* prior typical cost (SY_COST_LEARNED); default 0.001 */
    double prior_outcome_strength; /* worth of the three priors above, in requests; default 2 */
    double weight;                 /* share for SY_POLICY_WEIGHTED (≥ 0); default 1 */
} sy_arm_params;

typedef struct sy_policy_params {
    sy_policy_kind kind;
    size_t n_arms; /* 1..SY_POLICY_MAX_ARMS */
    size_t dim;    /* context dimension; ≥ 1 for contextual kinds, else may be 0 */
    sy_objective objective;
    sy_discount discount;
    double epsilon;             /* ε-greedy exploration probability; default 0.1 */
    double ucb_c;               /* UCB1 bonus c·sqrt(2 ln N / n); default 1 */
    double linucb_alpha;        /* LinUCB bonus α·sqrt(xᵀΛ⁻¹x); default 1 */
    double ts_scale;            /* linear TS: posterior spread multiplier (Agrawal–Goyal v); 1 */
    double ridge;               /* linear models: prior precision of non-bias weights; default 1 */
    double noise_var;           /* prior guess of the quality noise variance σ²; default 0.25 */
    double noise_strength;      /* worth of that guess, in ratings (ν0 = 2·a0); default 4 */
    double pool_strength;       /* cluster TS: most a cluster borrows from its parent, in
                                   ratings (policies/cluster.h); default 8 */
    double population_strength; /* most the population prior of the route's models may weigh,
                                   in ratings (docs/policies.md); 0 = off (default) */
    size_t fixed_arm;           /* SY_POLICY_FIXED: the arm served; default 0 */
    unsigned propensity_draws;  /* Thompson kinds: Monte Carlo draws M; 0 = don't estimate */
    const sy_arm_params *arms;  /* n_arms entries, copied by sy_policy_state_new; NULL = all
                                   arms take sy_arm_params_init() defaults */
} sy_policy_params;

/* Defaults documented on each field (propensity_draws: SY_POLICY_DEFAULT_DRAWS). */
#define SY_POLICY_DEFAULT_DRAWS 4
void sy_policy_params_init(sy_policy_params *p, sy_policy_kind kind, size_t n_arms, size_t dim);
void sy_arm_params_init(sy_arm_params *a);

/* SY_OK, or SY_ERR_INVALID naming nothing: every field is range-checked as documented. */
int sy_policy_params_check(const sy_policy_params *p);
int sy_arm_params_check(const sy_arm_params *a);

#endif
