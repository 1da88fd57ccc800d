/*
 * sim_run: the full-information protocol (see sim_run.h).
 *
 * Loop order: seeds, then steps, then agents, so every agent sees the same row at the
 * same step (for a scenario the row is drawn once and shared). Learning agents own a
 * policy state, a published snapshot and their own generator seeded from the seed and
 * the agent's name (so an agent's results do not depend on which others run with it).
 */
#include "sim_run.h"

#include "featurize.h"
#include "sy_common.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t sy_sim_bucket_end(size_t p, size_t steps, size_t points)
{
    /* step t closes bucket floor((t + 1)·points / steps) − 1: the first t + 1 reaching
     * (p + 1)·steps / points, rounded up */
    return ((p + 1) * steps + points - 1) / points;
}

double sy_sim_utility(const sy_objective *obj, double quality, double cost, double latency,
                      double cost_scale, double latency_scale)
{
    return sy_objective_utility(obj, quality, cost, latency, cost_scale, latency_scale);
}

void sy_sim_row_scales(const sy_objective *obj, const sy_sim_row *row, size_t n_arms, double *cs,
                       double *ls)
{
    *cs = obj->w_cost_rel > 0 ? sy_geomean_positive(row->cost, row->eligible, n_arms) : 0;
    *ls = obj->w_latency_rel > 0 ? sy_geomean_positive(row->latency, row->eligible, n_arms) : 0;
}

double sy_sim_violation(const sy_objective *obj, double cost, double latency)
{
    double v = 0;
    if (obj->max_cost_usd > 0 && cost > obj->max_cost_usd)
        v += cost / obj->max_cost_usd - 1;
    if (obj->latency_slo_s > 0 && !isnan(latency) && latency > obj->latency_slo_s)
        v += latency / obj->latency_slo_s - 1;
    return v;
}

/* Expected utility of arm k in a row whose relative scales are cs, ls. */
static double row_eu(const sy_objective *obj, const sy_sim_row *row, double cs, double ls, size_t k)
{
    if (row->eu)
        return row->eu[k];
    return sy_sim_utility(obj, row->quality[k], row->cost[k], row->latency[k], cs, ls);
}

long sy_sim_oracle_arm(const sy_objective *obj, const sy_sim_row *row, size_t n_arms)
{
    long best = -1;
    double best_v = 0, best_u = 0, cs, ls;
    sy_sim_row_scales(obj, row, n_arms, &cs, &ls);
    for (size_t k = 0; k < n_arms; k++) {
        if (row->eligible && !row->eligible[k])
            continue;
        double v = sy_sim_violation(obj, row->cost[k], row->latency[k]),
               u = row_eu(obj, row, cs, ls, k);
        if (best < 0 || v < best_v || (v == best_v && u > best_u)) {
            best = (long)k;
            best_v = v;
            best_u = u;
        }
    }
    return best;
}

long sy_sim_fixed_arm(size_t arm, const sy_sim_row *row, size_t n_arms)
{
    if (arm < n_arms && (!row->eligible || row->eligible[arm]))
        return (long)arm;
    for (size_t k = 0; k < n_arms; k++)
        if (!row->eligible || row->eligible[k])
            return (long)k;
    return -1;
}

unsigned long sy_sim_agent_seed(unsigned long seed, const char *name)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a of the name, then mixed with the seed */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    h ^= (uint64_t)seed * 0x9e3779b97f4a7c15ull;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    return (unsigned long)(h & 0xffffffffu) + 1; /* mt19937 takes 32 bits; never 0 */
}

void sy_sim_mean_ci(const double *v, size_t n, double *mean, double *half)
{
    double m = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
        m += v[i];
    m = n ? m / (double)n : NAN;
    for (size_t i = 0; i < n; i++)
        ss += (v[i] - m) * (v[i] - m);
    *mean = m;
    *half = n < 2 ? 0
                  : gsl_cdf_tdist_Pinv(0.975, (double)(n - 1)) * sqrt(ss / (double)(n - 1)) /
                        sqrt((double)n);
}

/* ---- the runner ------------------------------------------------------------------- */

typedef struct live_agent {
    sy_policy_state *st;
    sy_policy *snap;
    gsl_rng *rng;
    size_t since; /* observations since the last snapshot */
    double sum_q, sum_c, sum_l, sum_u, sum_eu, regret;
    size_t n_lat;
} live_agent;

/* Allocate out's per-agent results and check each learner's parameters. */
static int alloc_results(const sy_sim_source *src, sy_sim_agent *agents, size_t n_agents,
                         const sy_sim_opts *opts, size_t P, sy_sim_result *out, char *err,
                         size_t err_len)
{
    size_t K = src->n_arms;
    out->agents = sy_xcalloc(n_agents, sizeof(*out->agents));
    for (size_t a = 0; a < n_agents; a++) {
        sy_sim_agent_result *r = &out->agents[a];
        double **per_seed[] = {&r->quality, &r->cost, &r->latency,
                               &r->utility, &r->eu,   &r->regret_oracle};
        for (size_t j = 0; j < SY_ARRAY_LEN(per_seed); j++)
            *per_seed[j] = sy_xcalloc(opts->seeds, sizeof(double));
        r->cum_regret = sy_xcalloc(P, sizeof(double));
        r->eu_curve = sy_xcalloc(P, sizeof(double));
        size_t nt = src->n_tasks ? src->n_tasks : 1;
        r->task_q = sy_xcalloc(nt, sizeof(double));
        r->task_c = sy_xcalloc(nt, sizeof(double));
        r->task_n = sy_xcalloc(nt, sizeof(double));
        r->task_arm = sy_xcalloc(nt * K, sizeof(double));
        if (agents[a].kind == SY_SIM_LEARNER) {
            agents[a].params.arms = agents[a].arms;
            agents[a].params.n_arms = K;
            sy_policy_state *probe;
            if (sy_policy_state_new(&agents[a].params, &probe) != SY_OK) {
                snprintf(err, err_len, "policy %s: parameters rejected (docs/policies.md)",
                         agents[a].name);
                return SY_ERR_INVALID;
            }
            sy_policy_state_free(probe);
        }
    }
    return SY_OK;
}

/* A learner decides on row t with its snapshot, then learns the chosen arm's outcome
 * (refreshing the snapshot every opts->refresh observations). Returns the arm or -1. */
static long learner_step(const sy_sim_agent *agent, live_agent *L, const sy_sim_row *row, size_t K,
                         size_t t, const sy_sim_opts *opts)
{
    sy_decide_in in = {.n_arms = K,
                       .eligible = row->eligible,
                       .x = row->x,
                       .dim = sy_policy_dim(L->snap),
                       .rng = L->rng,
                       .seq = t,
                       .input_tokens = row->input_tokens};
    if (!sy_policy_kind_is_contextual(agent->params.kind))
        in.x = NULL;
    sy_decide_out dout;
    long k = sy_policy_decide(L->snap, &in, &dout) == SY_OK ? (long)dout.ranking[0] : -1;
    if (k < 0)
        return -1;
    sy_outcome_obs oo = {.arm = (size_t)k,
                         .latency_s = row->latency[k],
                         .output_tokens = row->tokens[k],
                         .cost_usd = row->cost[k],
                         .t = (double)t};
    sy_policy_state_observe_outcome(L->st, &oo);
    sy_quality_obs qo = {.arm = (size_t)k,
                         .x = in.x,
                         .dim = in.x ? in.dim : 0,
                         .reward = row->quality[k],
                         .weight = 1,
                         .t = (double)t};
    sy_policy_state_observe_quality(L->st, &qo, NULL);
    if (++L->since >= opts->refresh) {
        sy_policy_free(L->snap);
        L->snap = sy_policy_state_snapshot(L->st, (double)t);
        L->since = 0;
    }
    return k;
}

/* What one row scored for one agent that chose arm k (sums, regret, per task). */
static void account(const sy_sim_opts *opts, const sy_sim_row *row, size_t K, size_t k, double cs,
                    double ls, double eu_opt, size_t n_tasks, live_agent *L, double *bucket_eu,
                    sy_sim_agent_result *r)
{
    double u = sy_sim_utility(&opts->obj, row->quality[k], row->cost[k], row->latency[k], cs, ls);
    double eu = row_eu(&opts->obj, row, cs, ls, k);
    L->sum_q += row->quality[k];
    L->sum_c += row->cost[k];
    if (!isnan(row->latency[k])) {
        L->sum_l += row->latency[k];
        L->n_lat++;
    }
    L->sum_u += u;
    L->sum_eu += eu;
    L->regret += eu_opt - eu;
    *bucket_eu += eu;
    if (row->task >= 0 && (size_t)row->task < n_tasks) {
        r->task_q[row->task] += row->quality[k];
        r->task_c[row->task] += row->cost[k];
        r->task_n[row->task] += 1;
        r->task_arm[(size_t)row->task * K + k] += 1;
    }
}

/* A table agent's arm for this row, or the first eligible arm if the table's is not. */
static long table_arm(const sy_sim_agent *agent, const sy_sim_row *row, size_t K)
{
    long k = agent->row_arm[row->id];
    return k >= 0 && (size_t)k < K && row->eligible[k] ? k : sy_sim_fixed_arm(0, row, K);
}

/* Start seed `seed`: fresh states (fed the warm data first, when given), snapshots and
 * generators for the learners. */
static void begin_seed(sy_sim_agent *agents, size_t n_agents, live_agent *live, unsigned long seed,
                       const sy_sim_warm *warm)
{
    for (size_t a = 0; a < n_agents; a++) {
        live_agent *L = &live[a];
        memset(L, 0, sizeof(*L));
        if (agents[a].kind != SY_SIM_LEARNER)
            continue;
        sy_policy_state_new(&agents[a].params, &L->st);
        if (warm)
            sy_sim_warm_feed(warm, L->st, sy_policy_kind_is_contextual(agents[a].params.kind));
        L->snap = sy_policy_state_snapshot(L->st, 0);
        L->rng = gsl_rng_alloc(gsl_rng_mt19937);
        gsl_rng_set(L->rng, sy_sim_agent_seed(seed, agents[a].name));
    }
}

/* Seed s is over: its means into the results, and the learners' states freed. */
static void end_seed(live_agent *live, size_t n_agents, unsigned s, size_t T, sy_sim_result *out)
{
    for (size_t a = 0; a < n_agents; a++) {
        live_agent *L = &live[a];
        sy_sim_agent_result *r = &out->agents[a];
        r->quality[s] = L->sum_q / (double)T;
        r->cost[s] = L->sum_c / (double)T;
        r->latency[s] = L->n_lat ? L->sum_l / (double)L->n_lat : NAN;
        r->utility[s] = L->sum_u / (double)T;
        r->eu[s] = L->sum_eu / (double)T;
        r->regret_oracle[s] = L->regret / (double)T;
        if (L->st) {
            sy_policy_free(L->snap);
            sy_policy_state_free(L->st);
            gsl_rng_free(L->rng);
        }
    }
}

int sy_sim_run(const sy_sim_source *src, sy_sim_agent *agents, size_t n_agents,
               const sy_sim_opts *opts, sy_sim_result *out, char *err, size_t err_len)
{
    size_t K = src->n_arms, T = src->steps, P = opts->curve_points ? opts->curve_points : 1;
    if (P > T)
        P = T ? T : 1;
    memset(out, 0, sizeof(*out));
    out->n_agents = n_agents;
    out->seeds = opts->seeds;
    out->steps = T;
    out->curve_points = P;
    out->n_tasks = src->n_tasks;
    out->n_arms = K;
    if (alloc_results(src, agents, n_agents, opts, P, out, err, err_len) != SY_OK) {
        sy_sim_result_free(out);
        return SY_ERR_INVALID;
    }
    live_agent *live = sy_xcalloc(n_agents, sizeof(*live));
    size_t total = (size_t)opts->seeds * T, done = 0;
    double *bucket_eu = sy_xcalloc(n_agents, sizeof(double));
    for (unsigned s = 0; s < opts->seeds; s++) {
        unsigned long seed = opts->seed0 + s;
        src->begin(src->ctx, seed);
        begin_seed(agents, n_agents, live, seed, opts->warm);
        size_t bucket = 0, bucket_n = 0;
        memset(bucket_eu, 0, n_agents * sizeof(double));
        for (size_t t = 0; t < T; t++) {
            sy_sim_row row;
            src->row(src->ctx, t, &row);
            long o = sy_sim_oracle_arm(&opts->obj, &row, K);
            double cs, ls;
            sy_sim_row_scales(&opts->obj, &row, K, &cs, &ls);
            double eu_opt = o >= 0 ? row_eu(&opts->obj, &row, cs, ls, (size_t)o) : 0;
            for (size_t a = 0; a < n_agents; a++) {
                long k = agents[a].kind == SY_SIM_ORACLE  ? o
                         : agents[a].kind == SY_SIM_FIXED ? sy_sim_fixed_arm(agents[a].arm, &row, K)
                         : agents[a].kind == SY_SIM_TABLE
                             ? table_arm(&agents[a], &row, K)
                             : learner_step(&agents[a], &live[a], &row, K, t, opts);
                if (k >= 0) /* else no arm can serve this row */
                    account(opts, &row, K, (size_t)k, cs, ls, eu_opt, src->n_tasks, &live[a],
                            &bucket_eu[a], &out->agents[a]);
            }
            bucket_n++;
            size_t b = (t + 1) * P / T; /* buckets end at (b*T)/P */
            if (b != bucket || t + 1 == T) {
                for (size_t a = 0; a < n_agents; a++) {
                    out->agents[a].cum_regret[bucket] += live[a].regret / opts->seeds;
                    out->agents[a].eu_curve[bucket] +=
                        bucket_eu[a] / (double)bucket_n / opts->seeds;
                    bucket_eu[a] = 0;
                }
                bucket_n = 0;
                bucket = b;
            }
            if (opts->progress && (++done % 256 == 0 || done == total))
                opts->progress(opts->progress_ctx, done, total);
        }
        end_seed(live, n_agents, s, T, out);
    }
    if (opts->progress && done % 256)
        opts->progress(opts->progress_ctx, total, total);
    free(bucket_eu);
    free(live);
    return SY_OK;
}

void sy_sim_result_free(sy_sim_result *r)
{
    for (size_t a = 0; r->agents && a < r->n_agents; a++) {
        sy_sim_agent_result *x = &r->agents[a];
        free(x->quality);
        free(x->cost);
        free(x->latency);
        free(x->utility);
        free(x->eu);
        free(x->regret_oracle);
        free(x->cum_regret);
        free(x->eu_curve);
        free(x->task_q);
        free(x->task_c);
        free(x->task_n);
        free(x->task_arm);
    }
    free(r->agents);
    memset(r, 0, sizeof(*r));
}

/* ---- a dataset as a source ---------------------------------------------------------- */

typedef struct ds_source {
    const sy_sim_dataset *ds;
    size_t dim;
    double *x;      /* n × dim, featurised once */
    double *in_tok; /* n */
    uint8_t *elig;  /* n × n_arms */
    size_t *order;
    long *task; /* n */
    char **task_names;
    size_t n_tasks;
    gsl_rng *rng;
} ds_source;

static void ds_begin(void *ctx, unsigned long seed)
{
    ds_source *s = ctx;
    for (size_t i = 0; i < s->ds->n; i++)
        s->order[i] = i;
    gsl_rng_set(s->rng, seed);
    gsl_ran_shuffle(s->rng, s->order, s->ds->n, sizeof(size_t));
}

static void ds_row(void *ctx, size_t t, sy_sim_row *row)
{
    ds_source *s = ctx;
    size_t i = s->order[t];
    row->x = s->x + i * s->dim;
    row->input_tokens = s->in_tok[i];
    row->quality = s->ds->quality + i * SY_SIM_STRIDE;
    row->cost = s->ds->cost + i * SY_SIM_STRIDE;
    row->latency = s->ds->latency + i * SY_SIM_STRIDE;
    row->tokens = s->ds->tokens + i * SY_SIM_STRIDE;
    row->eu = NULL;
    row->eligible = s->elig + i * s->ds->n_arms;
    row->task = s->task[i];
    row->id = i;
}

int sy_sim_dataset_source(const sy_sim_dataset *ds, size_t dim, sy_sim_source *src)
{
    ds_source *s = sy_xcalloc(1, sizeof(*s));
    s->ds = ds;
    s->dim = dim;
    s->x = sy_xmalloc(ds->n * dim * sizeof(double));
    s->in_tok = sy_xmalloc(ds->n * sizeof(double));
    s->elig = sy_xmalloc(ds->n * (ds->n_arms ? ds->n_arms : 1));
    s->order = sy_xmalloc(ds->n * sizeof(size_t));
    s->rng = gsl_rng_alloc(gsl_rng_mt19937);
    s->task = sy_xmalloc(ds->n * sizeof(long));
    for (size_t i = 0; i < ds->n; i++) {
        s->task[i] = -1;
        if (!ds->task[i])
            continue;
        size_t t = 0;
        while (t < s->n_tasks && strcmp(s->task_names[t], ds->task[i]) != 0)
            t++;
        if (t == s->n_tasks) {
            if (s->n_tasks == 256)
                continue; /* breakdown limited to 256 labels */
            s->task_names = sy_xrealloc(s->task_names, (s->n_tasks + 1) * sizeof(char *));
            s->task_names[s->n_tasks++] = ds->task[i];
        }
        s->task[i] = (long)t;
    }
    for (size_t i = 0; i < ds->n; i++) {
        size_t len = strlen(ds->text[i]);
        sy_feature_input fi = {.user_text = ds->text[i],
                               .user_len = len,
                               .prompt_bytes = ds->bytes[i],
                               .turn = ds->turn[i]};
        if (sy_featurize(&fi, s->x + i * dim, dim) != SY_OK) {
            sy_sim_source tmp = {.ctx = s};
            sy_sim_dataset_source_free(&tmp);
            return SY_ERR_INVALID;
        }
        s->in_tok[i] = sy_sim_estimate_tokens(ds->bytes[i]);
        for (size_t k = 0; k < ds->n_arms; k++)
            s->elig[i * ds->n_arms + k] = (uint8_t)sy_sim_dataset_eligible(ds, i, k);
    }
    *src = (sy_sim_source){.n_arms = ds->n_arms,
                           .dim = dim,
                           .steps = ds->n,
                           .n_tasks = s->n_tasks,
                           .task_names = s->task_names,
                           .ctx = s,
                           .begin = ds_begin,
                           .row = ds_row};
    return SY_OK;
}

void sy_sim_dataset_source_free(sy_sim_source *src)
{
    ds_source *s = src->ctx;
    if (!s)
        return;
    free(s->x);
    free(s->in_tok);
    free(s->elig);
    free(s->order);
    free(s->task);
    free(s->task_names);
    if (s->rng)
        gsl_rng_free(s->rng);
    free(s);
    src->ctx = NULL;
}
