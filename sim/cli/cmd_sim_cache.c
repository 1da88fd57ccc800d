/*
 * cmd_sim_cache.c — `switchyard sim --cache SCENARIO DATA --route R`: the semantic cache
 * in the simulator (sim/sim_cache.h, docs/simulator.md "The cache as an arm"). Prints,
 * per agent, mean quality, cost and utility per request over the seeds with 95%
 * intervals, the share served from the cache and the share of wrong cached answers
 * (near-misses or unrelated entries), then the cache arm against each fixed threshold,
 * paired by seed. --seed-csv writes one row per agent and seed.
 */
#include "config.h"
#include "featurize.h"
#include "sim_args.h"
#include "sim_cache.h"
#include "sim_run.h"
#include "sy_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    sy_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        sy_buf_append(&b, chunk, n);
    fclose(f);
    *len = b.len;
    return b.data ? b.data : sy_xstrdup("");
}

/* The models' parameters as the full-information runner sets them (cmd_sim.c): the
 * route's per-candidate priors, costs learned from observations with the model's mean
 * cost per request in the data as the prior. */
static void model_arms(const sy_sim_dataset *ds, const sy_route_cfg *r, sy_arm_params *arms)
{
    for (size_t k = 0; k < ds->n_arms; k++) {
        sy_arm_params_init(&arms[k]);
        for (size_t c = 0; c < r->n_candidates; c++)
            if (r->candidates[c] == k)
                arms[k] = r->arms[c];
        double sum = 0, n = 0;
        for (size_t i = 0; i < ds->n; i++)
            if (sy_sim_dataset_eligible(ds, i, k))
                sum += ds->cost[i * SY_SIM_STRIDE + k], n++;
        arms[k].cost_model = SY_COST_LEARNED;
        if (n > 0 && sum > 0)
            arms[k].prior_cost_usd = sum / n;
    }
}

static void ci(const double *v, size_t n, double *m, double *h)
{
    sy_sim_mean_ci(v, n, m, h);
}

/*
 * The fixed-threshold caches' cost at the cache arm's quality in seed s: the thresholds'
 * (quality, cost) points sorted by quality, linearly interpolated at q (NAN when q lies
 * outside their range). Agents 1 .. n−2 are the thresholds.
 */
static double frontier_cost(const sy_sim_cache_result *res, size_t s, double q)
{
    size_t S = res->seeds;
    double best = NAN;
    for (size_t a = 1; a + 1 < res->n_agents; a++)
        for (size_t b = 1; b + 1 < res->n_agents; b++) {
            double qa = res->quality[a * S + s], qb = res->quality[b * S + s];
            if (!(qa <= q && q <= qb) || (a != b && qa == qb))
                continue;
            double ca = res->cost[a * S + s], cb = res->cost[b * S + s];
            double c = a == b ? ca : ca + (cb - ca) * (q - qa) / (qb - qa);
            /* the cheapest segment through q: the frontier */
            if (isnan(best) || c < best)
                best = c;
        }
    return best;
}

/* The table, the paired comparison and the optional per-seed CSV. */
static int print_result(const sy_sim_cache_result *res, const sim_cli *cli)
{
    size_t S = res->seeds;
    double m, h;
    ci(res->repeats, S, &m, &h);
    printf("%zu seeds from %lu; repeated questions: %.1f%% of requests\n\n", S, cli->seed0,
           100 * m);
    printf("%-18s %17s %23s %17s %7s %7s\n", "agent", "quality", "cost USD/request", "utility",
           "cache%", "wrong%");
    for (size_t a = 0; a < res->n_agents; a++) {
        const double *q = res->quality + a * S, *c = res->cost + a * S, *u = res->utility + a * S;
        double qm, qh, cm, chh, um, uh, sm, sh, wm, wh;
        ci(q, S, &qm, &qh), ci(c, S, &cm, &chh), ci(u, S, &um, &uh);
        ci(res->served_cache + a * S, S, &sm, &sh), ci(res->wrong_cache + a * S, S, &wm, &wh);
        printf("%-18s %7.4f ± %6.4f %11.6f ± %9.6f %7.4f ± %6.4f %6.1f%% %6.2f%%\n", res->names[a],
               qm, qh, cm, chh, um, uh, 100 * sm, 100 * wm);
    }
    size_t arm = res->n_agents - 1;
    printf("\ncache arm − threshold τ, paired by seed (mean ± 95%% interval):\n");
    double *dq = sy_xcalloc(S, sizeof(double)), *dc = sy_xcalloc(S, sizeof(double));
    for (size_t a = 1; a < arm; a++) {
        for (size_t s = 0; s < S; s++) {
            dq[s] = res->quality[arm * S + s] - res->quality[a * S + s];
            dc[s] = res->cost[arm * S + s] - res->cost[a * S + s];
        }
        double qm, qh, cm, chh, base;
        ci(dq, S, &qm, &qh), ci(dc, S, &cm, &chh), ci(res->cost + a * S, S, &base, &m);
        printf("  vs %-16s quality %+.4f ± %.4f   cost %+.6f ± %.6f (%+.1f%%)\n", res->names[a], qm,
               qh, cm, chh, base > 0 ? 100 * cm / base : 0);
    }
    size_t nf = 0;
    for (size_t s = 0; s < S; s++) {
        double f = frontier_cost(res, s, res->quality[arm * S + s]);
        if (!isnan(f))
            dc[nf++] = res->cost[arm * S + s] - f, dq[nf - 1] = f;
    }
    if (nf) {
        double cm, chh, fm, fh;
        ci(dc, nf, &cm, &chh), ci(dq, nf, &fm, &fh);
        printf("  vs the thresholds at equal quality (interpolated, %zu of %zu seeds): cost "
               "%+.6f ± %.6f (%+.1f%%)\n",
               nf, S, cm, chh, fm > 0 ? 100 * cm / fm : 0);
    } else {
        printf("  vs the thresholds at equal quality: the cache arm's quality lies outside "
               "theirs in every seed\n");
    }
    free(dq), free(dc);
    if (!cli->seed_csv)
        return 0;
    FILE *f = fopen(cli->seed_csv, "w");
    if (!f) {
        perror(cli->seed_csv);
        return 1;
    }
    fprintf(f, "agent,seed,quality,cost_usd,utility,served_cache,wrong_cache\n");
    for (size_t a = 0; a < res->n_agents; a++)
        for (size_t s = 0; s < S; s++)
            fprintf(f, "%s,%lu,%.6f,%.9f,%.6f,%.6f,%.6f\n", res->names[a], cli->seed0 + s,
                    res->quality[a * S + s], res->cost[a * S + s], res->utility[a * S + s],
                    res->served_cache[a * S + s], res->wrong_cache[a * S + s]);
    fclose(f);
    return 0;
}

int sy_sim_cli_run_cache(const sim_cli *cli, const sy_sim_dataset *ds, const sy_route_cfg *r)
{
    size_t len;
    char *json = read_all(cli->cache, &len), err[1024];
    if (!json) {
        perror(cli->cache);
        return 1;
    }
    sy_sim_cache_scenario sc;
    int rc = sy_sim_cache_scenario_parse(json, len, &sc, err, sizeof err);
    free(json);
    if (rc != SY_OK) {
        fprintf(stderr, "switchyard sim: --cache %s: %s\n", cli->cache, err);
        sy_sim_cache_scenario_free(&sc);
        return 1;
    }
    fprintf(stderr, "%s: %zu prompts, %zu models\n", ds->name, ds->n, ds->n_arms);
    sy_policy_params p = r->params;
    p.dim = p.dim ? p.dim : SY_FEATURE_DEFAULT_DIM;
    static sy_arm_params arms[SY_POLICY_MAX_ARMS];
    model_arms(ds, r, arms);
    sy_sim_cache_result res;
    int status = 0;
    if (sy_sim_cache_run(ds, &p, arms, &sc, cli->seeds ? cli->seeds : 10, cli->seed0, cli->refresh,
                         &res, err, sizeof err) != SY_OK) {
        fprintf(stderr, "switchyard sim: %s\n", err);
        status = 1;
    } else {
        status = print_result(&res, cli);
        sy_sim_cache_result_free(&res);
    }
    sy_sim_cache_scenario_free(&sc);
    return status;
}
