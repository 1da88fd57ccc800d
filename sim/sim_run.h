/*
 * sim_run: the full-information protocol (DESIGN.md §10, docs/simulator.md).
 *
 * Each seed streams the rows of a source in a fresh order (a dataset is shuffled; a
 * scenario is generated) to every agent on the same sequence (common random numbers).
 * A learning agent is a policies/ state driven exactly like the server's learner drives
 * it: it decides on an immutable snapshot, then sees ONLY the chosen arm's outcome,
 * through sy_policy_state_observe_outcome (latency, tokens, cost) and
 * sy_policy_state_observe_quality (the score as a rating, with the context vector); a new
 * snapshot is taken every `refresh` observations. The oracle picks the arm of best
 * expected utility per row; a fixed agent always serves one arm (the first eligible one
 * when it cannot serve a row, like the `fixed` policy).
 */
#ifndef SY_SIM_RUN_H
#define SY_SIM_RUN_H

#include "policy.h"
#include "sim_data.h"
#include "sim_warm.h"

#include <gsl/gsl_rng.h>
#include <stdint.h>

/* TABLE: serves a precomputed arm per row of the source (row_arm[row.id]), e.g. the
 * reference routers of sim_oracle.h. */
typedef enum { SY_SIM_LEARNER = 0, SY_SIM_ORACLE, SY_SIM_FIXED, SY_SIM_TABLE } sy_sim_agent_kind;

typedef struct sy_sim_agent {
    char name[128];
    sy_sim_agent_kind kind;
    sy_policy_params params; /* LEARNER; params.arms is set by the runner to `arms` */
    sy_arm_params arms[SY_POLICY_MAX_ARMS];
    size_t arm;          /* FIXED */
    const long *row_arm; /* TABLE: arm per row id (the caller keeps it alive) */
} sy_sim_agent;

/* One step's view of every arm. Arrays have n_arms entries. */
typedef struct sy_sim_row {
    const double *x;       /* context (dim) */
    double input_tokens;   /* prompt tokens estimate */
    const double *quality; /* realised score per arm */
    const double *cost;
    const double *latency; /* NAN = unknown */
    const double *tokens;  /* NAN = unknown */
    const double *eu;      /* expected utility per arm (regret); NULL = realised utility */
    const uint8_t *eligible;
    long task; /* index into the source's task names, for reports only; -1 = none */
    size_t id; /* the row's index in its dataset (a scenario: the step) */
} sy_sim_row;

/* A row source: `begin` starts seed s (resets state, shuffles...); `row` fills step t. */
typedef struct sy_sim_source {
    size_t n_arms, dim, steps;
    size_t n_tasks; /* task labels, for the per-task breakdown (never shown to a policy) */
    char **task_names;
    void *ctx;
    void (*begin)(void *ctx, unsigned long seed);
    void (*row)(void *ctx, size_t t, sy_sim_row *row);
} sy_sim_source;

typedef struct sy_sim_opts {
    sy_objective obj;
    unsigned seeds;
    unsigned long seed0;
    size_t refresh;      /* observations between snapshots (≥ 1) */
    size_t curve_points; /* points of the over-time curves */
    void (*progress)(void *ctx, size_t done, size_t total);
    void *progress_ctx;
    const sy_sim_warm *warm; /* NULL = cold start; else fed to every learner per seed */
} sy_sim_opts;

typedef struct sy_sim_agent_result {
    /* per seed: means per request */
    double *quality, *cost, *latency, *utility, *eu, *regret_oracle;
    double *cum_regret;      /* curve_points: mean over seeds of the cumulative regret vs oracle */
    double *eu_curve;        /* curve_points: mean expected utility within each bucket */
    double *task_q, *task_c; /* n_tasks: sums over all seeds */
    double *task_arm;        /* n_tasks × n_arms: how often each arm served, all seeds */
    double *task_n;          /* n_tasks */
} sy_sim_agent_result;

typedef struct sy_sim_result {
    size_t n_agents, seeds, steps, curve_points, n_tasks, n_arms;
    sy_sim_agent_result *agents;
} sy_sim_result;

/* Steps [0, n) of a run of `steps` end bucket `p` of `points` (the curves' x values). */
size_t sy_sim_bucket_end(size_t p, size_t steps, size_t points);

/* Utility of a realised outcome under obj (an unknown latency counts 0); the relative
 * terms against cost_scale and latency_scale (sy_objective_utility). */
double sy_sim_utility(const sy_objective *obj, double quality, double cost, double latency,
                      double cost_scale, double latency_scale);
/* The relative objective's scales of a row: geometric means of the eligible arms'
 * realised costs and latencies (0 when the objective has no relative term). */
void sy_sim_row_scales(const sy_objective *obj, const sy_sim_row *row, size_t n_arms, double *cs,
                       double *ls);
/* Sum of the relative excesses of a cost and latency over obj's hard constraints (0 when
 * they hold; an unknown latency never violates). */
double sy_sim_violation(const sy_objective *obj, double cost, double latency);
/* The oracle's arm for a row: constraints first (least violation), then best utility
 * (expected utility when row->eu is set); lowest index on ties. -1 if none eligible. */
long sy_sim_oracle_arm(const sy_objective *obj, const sy_sim_row *row, size_t n_arms);
/* What a fixed agent serves: `arm` when eligible, else the first eligible arm. */
long sy_sim_fixed_arm(size_t arm, const sy_sim_row *row, size_t n_arms);

/* The generator seed of an agent named `name` in run `seed`: depends on nothing else,
 * so a policy's figures do not change with the other policies compared. */
unsigned long sy_sim_agent_seed(unsigned long seed, const char *name);

/* Run the agents; SY_ERR_INVALID (with err) when an agent's parameters are rejected. */
int sy_sim_run(const sy_sim_source *src, sy_sim_agent *agents, size_t n_agents,
               const sy_sim_opts *opts, sy_sim_result *out, char *err, size_t err_len);
void sy_sim_result_free(sy_sim_result *r);

/* A dataset as a source: contexts through sy_featurize (dim), a fresh order per seed.
 * The caller keeps ds alive; free with sy_sim_dataset_source_free. */
int sy_sim_dataset_source(const sy_sim_dataset *ds, size_t dim, sy_sim_source *src);
void sy_sim_dataset_source_free(sy_sim_source *src);

/* Mean and 95% half-width (Student t) of n values; half-width 0 when n < 2. */
void sy_sim_mean_ci(const double *v, size_t n, double *mean, double *half);

#endif
