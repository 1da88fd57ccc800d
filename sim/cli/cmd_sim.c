/*
 * cmd_sim.c — `switchyard sim`: the offline replay simulator (DESIGN.md §10,
 * docs/simulator.md). This file only reads the command line, parses the route block
 * with the config loader (so a route pasted from switchyard.json means the same thing
 * here), builds the agents and hands everything to the sim/ library.
 */
#include "sim_cli.h"

#include "sim_args.h"
#include "config.h"
#include "featurize.h"
#include "sim_csv.h"
#include "sim_data.h"
#include "sim_estimate.h"
#include "sim_oracle.h"
#include "sim_report.h"
#include "sim_run.h"
#include "sim_scenario.h"
#include "sy_common.h"

#include <getopt.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- progress bar ----------------------------------------------------------------- */

typedef struct progress {
    int on;
    int last;
    const char *what;
} progress;

static void progress_cb(void *ctx, size_t done, size_t total)
{
    progress *p = ctx;
    if (!p->on || !total)
        return;
    int pct = (int)(100.0 * (double)done / (double)total);
    if (pct == p->last)
        return;
    p->last = pct;
    int w = 40, fill = pct * w / 100;
    fprintf(stderr, "\r%-10s [", p->what);
    for (int i = 0; i < w; i++)
        fputc(i < fill ? '#' : '.', stderr);
    fprintf(stderr, "] %3d%%", pct);
    if (done >= total)
        fputs("\r\033[K", stderr);
    fflush(stderr);
}

/* ---- the route block ----------------------------------------------------------------- */

static char *read_route_text(const char *arg, size_t *len)
{
    const char *s = arg;
    while (*s == ' ' || *s == '\t' || *s == '\n')
        s++;
    if (*s == '{') {
        *len = strlen(arg);
        return sy_xstrdup(arg);
    }
    char *text, err[512];
    if (sy_sim_read_file(arg, &text, len, err, sizeof(err)) != SY_OK) {
        fprintf(stderr, "switchyard sim: --route: %s\n", err);
        return NULL;
    }
    return text;
}

static sy_route_cfg *load_route(const char *arg, char *const *arm_names, size_t n_arms)
{
    static const char default_route[] = "{\"policy\": \"linear_thompson\"}";
    size_t len = sizeof(default_route) - 1;
    char *text = arg ? read_route_text(arg, &len) : sy_xstrdup(default_route);
    if (!text)
        return NULL;
    sy_config_errors errs = {0};
    sy_route_cfg *r =
        sy_route_block_parse(text, len, (const char *const *)arm_names, n_arms, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "switchyard sim: route block: %s\n", errs.items[i]);
    sy_config_errors_free(&errs);
    free(text);
    return r;
}

/*
 * A learning agent of kind `kind` with the route's parameters: objective, discount,
 * priors (by candidate, mapped to the dataset's arms) and tuning knobs carry over; dim
 * is the route's for contextual kinds. The
 * arms learn the cost per request from observed costs (datasets give costs, not prices),
 * starting from prior_cost[k] when given: the model's mean cost per request in the data,
 * what the server knows from its price list before any request (so a price-level-free
 * objective stays so in the simulator); else the default.
 * Full-information runs need no propensity, so Monte Carlo draws are off (docs).
 */
static void learner_agent(sy_sim_agent *ag, const sy_route_cfg *r, sy_policy_kind kind,
                          size_t n_arms, const double *prior_cost, const char *suffix)
{
    memset(ag, 0, sizeof(*ag));
    int model_free = kind == SY_POLICY_UNIFORM || kind == SY_POLICY_FIXED ||
                     kind == SY_POLICY_WEIGHTED || kind == SY_POLICY_ROUND_ROBIN;
    if (r->params.discount.half_life > 0 && !model_free)
        snprintf(ag->name, sizeof(ag->name), "%s half-life %g %s%s", sy_policy_kind_name(kind),
                 r->params.discount.half_life,
                 r->params.discount.unit == SY_HALF_LIFE_OBSERVATIONS ? "req" : "s", suffix);
    else
        snprintf(ag->name, sizeof(ag->name), "%s%s", sy_policy_kind_name(kind), suffix);
    ag->kind = SY_SIM_LEARNER;
    ag->params = r->params;
    ag->params.kind = kind;
    ag->params.n_arms = n_arms;
    if (sy_policy_kind_is_contextual(kind))
        ag->params.dim = r->params.dim ? r->params.dim : SY_FEATURE_DEFAULT_DIM;
    else
        ag->params.dim = 0;
    ag->params.propensity_draws = 0;
    /* r->arms is indexed like r->candidates; the agent's arms like the dataset. A
     * dataset arm that is not a candidate keeps the defaults (it is never eligible). */
    for (size_t k = 0; k < n_arms; k++) {
        sy_arm_params_init(&ag->arms[k]);
        for (size_t c = 0; c < r->n_candidates; c++)
            if (r->candidates[c] == k)
                ag->arms[k] = r->arms[c];
        ag->arms[k].cost_model = SY_COST_LEARNED;
        if (prior_cost && prior_cost[k] > 0)
            ag->arms[k].prior_cost_usd = prior_cost[k];
    }
}

/* Agents: the route's policy, the other kinds asked for, the oracle, each model.
 * The route's candidates choose the arms: a dataset arm not listed is left out by
 * marking it never eligible (see restrict_arms). Returns the count. */
static size_t build_agents(sy_sim_agent *ag, size_t max, const sy_route_cfg *r, size_t n_arms,
                           const double *prior_cost, char *const *arm_names, const sim_cli *cli,
                           int *bad)
{
    size_t n = 0;
    *bad = 0;
    sy_policy_kind route_kind = r->params.kind;
    learner_agent(&ag[n++], r, route_kind, n_arms, prior_cost, " (route)");
    for (size_t i = 0; i < cli->n_also && n < max; i++) {
        sy_route_cfg *o = load_route(cli->also[i], arm_names, n_arms);
        if (!o) {
            *bad = 1;
            return n;
        }
        if (o->n_candidates != r->n_candidates) {
            fprintf(stderr, "switchyard sim: --also routes must have the route's candidates\n");
            sy_route_cfg_free(o);
            *bad = 1;
            return n;
        }
        learner_agent(&ag[n++], o, o->params.kind, n_arms, prior_cost, "");
        sy_route_cfg_free(o);
    }
    const char *list = cli->policies
                           ? cli->policies
                           : "linear_thompson,linucb,thompson,epsilon_greedy,ucb1,uniform";
    if (strcmp(list, "none") != 0) {
        char *copy = sy_xstrdup(list), *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            sy_policy_kind k;
            if (sy_policy_kind_parse(tok, &k) != SY_OK) {
                fprintf(stderr, "switchyard sim: --policies: unknown policy \"%s\"\n", tok);
                *bad = 1;
                break;
            }
            if (k == route_kind || n >= max)
                continue;
            learner_agent(&ag[n++], r, k, n_arms, prior_cost, "");
        }
        free(copy);
    }
    memset(&ag[n], 0, sizeof(ag[n]));
    snprintf(ag[n].name, sizeof(ag[n].name), "oracle");
    ag[n++].kind = SY_SIM_ORACLE;
    for (size_t c = 0; c < r->n_candidates && !cli->no_models && n < max; c++) {
        memset(&ag[n], 0, sizeof(ag[n]));
        snprintf(ag[n].name, sizeof(ag[n].name), "%s", arm_names[r->candidates[c]]);
        ag[n].kind = SY_SIM_FIXED;
        ag[n++].arm = r->candidates[c];
    }
    return n;
}

/* Keep only the route's candidates: other arms become ineligible in every row. */
static void restrict_arms(sy_sim_dataset *ds, const sy_route_cfg *r)
{
    for (size_t k = 0; k < ds->n_arms; k++) {
        int keep = 0;
        for (size_t c = 0; c < r->n_candidates; c++)
            keep |= r->candidates[c] == k;
        if (keep)
            continue;
        for (size_t i = 0; i < ds->n; i++)
            ds->quality[i * SY_SIM_STRIDE + k] = NAN;
    }
    sy_sim_dataset_compact(ds);
}

static int report(const sim_cli *cli, const sy_sim_result *res, const sy_sim_agent *ag,
                  long event_t, char *const *task_names, char *const *arm_names)
{
    sy_sim_report_in in = {.res = res, .agents = ag, .reference = -1, .best_fixed = -1};
    in.best_fixed = sy_sim_best_fixed(res, ag);
    const char *ref = cli->reference ? cli->reference : "gpt-4-1106-preview";
    for (size_t a = 0; a < res->n_agents; a++)
        if (ag[a].kind == SY_SIM_FIXED && strcmp(ag[a].name, ref) == 0)
            in.reference = (long)a;
    if (cli->reference && in.reference < 0) {
        fprintf(stderr, "switchyard sim: --reference: no model \"%s\"\n", cli->reference);
        return 2;
    }
    in.reference_name = ref;
    in.target_quality = cli->target_quality;
    in.target_cost = cli->target_cost;
    in.seed0 = cli->seed0;
    sy_sim_report_table(stdout, &in);
    if (res->seeds > 1 || cli->target_quality > 0 || cli->target_cost > 0)
        sy_sim_report_spread(stdout, &in);
    if (cli->by_task)
        sy_sim_report_tasks(stdout, &in, task_names, arm_names);
    char err[512];
    if (cli->csv && sy_sim_report_csv(cli->csv, &in, err, sizeof(err)) != SY_OK) {
        fprintf(stderr, "switchyard sim: %s\n", err);
        return 1;
    }
    if (cli->seed_csv && sy_sim_report_seed_csv(cli->seed_csv, &in, err, sizeof(err)) != SY_OK) {
        fprintf(stderr, "switchyard sim: %s\n", err);
        return 1;
    }
    if (cli->report) {
        int rc = sy_sim_report_charts(cli->report, &in, event_t, err, sizeof(err));
        if (rc == SY_ERR_NOTFOUND) {
            fprintf(stderr, "switchyard sim: warning: %s\n", err);
        } else if (rc != SY_OK) {
            fprintf(stderr, "switchyard sim: %s\n", err);
            return 1;
        }
    }
    return 0;
}

static sy_sim_opts base_opts(const sim_cli *cli, const sy_objective *obj, progress *pg)
{
    sy_sim_opts o = {.obj = *obj,
                     .seeds = cli->seeds ? cli->seeds : 10,
                     .seed0 = cli->seed0,
                     .refresh = cli->refresh,
                     .curve_points = 200,
                     .progress = progress_cb,
                     .progress_ctx = pg};
    return o;
}

#define MAX_AGENTS (SY_POLICY_MAX_ARMS + 16)

/*
 * Load the command line's full-information dataset (RouterBench, RouteLLM or generic
 * JSONL) and its route block, restricted to the route's candidates. Returns 0 with *ds
 * and *r filled (the caller frees both), else the exit status (1 bad input, 2 usage)
 * after printing why.
 */
static int load_full_info(const sim_cli *cli, sy_sim_dataset *ds, sy_route_cfg **r)
{
    char err[1024];
    int rc;
    memset(ds, 0, sizeof(*ds));
    if (cli->n_routerbench)
        rc = sy_sim_load_routerbench(cli->routerbench, cli->n_routerbench, ds, err, sizeof(err));
    else if (cli->routellm)
        rc = sy_sim_load_routellm(cli->routellm, ds, err, sizeof(err));
    else if (cli->jsonl)
        rc = sy_sim_load_jsonl(cli->jsonl, ds, err, sizeof(err));
    else {
        fprintf(stderr,
                "switchyard sim: this mode needs --routerbench, --routellm or --jsonl data\n");
        return 2;
    }
    if (rc != SY_OK) {
        fprintf(stderr, "switchyard sim: %s\n", err);
        sy_sim_dataset_free(ds);
        return 1;
    }
    *r = load_route(cli->route, ds->arm_names, ds->n_arms);
    if (!*r) {
        sy_sim_dataset_free(ds);
        return 1;
    }
    restrict_arms(ds, *r);
    return 0;
}

/*
 * --oracles: the linear and task oracles of sim_oracle.h as two table agents, after the
 * per-row oracle. The linear oracle uses the route's context dimension and its `ridge`.
 * *tables (owned by the caller) holds both arm tables. Returns 0, or 1 when the
 * featurizer rejects dim.
 */
static int add_oracles(sy_sim_agent *ag, size_t *n_ag, const sy_sim_dataset *ds,
                       const sy_route_cfg *r, size_t dim, long **tables)
{
    size_t n = ds->n ? ds->n : 1;
    *tables = sy_xmalloc(2 * n * sizeof(long));
    if (sy_sim_linear_oracle(ds, dim, &r->params.objective, r->params.ridge, *tables) != SY_OK) {
        fprintf(stderr, "switchyard sim: cannot featurize with dim %zu\n", dim);
        return 1;
    }
    sy_sim_task_oracle(ds, &r->params.objective, *tables + n);
    size_t at = 0; /* after "oracle", before the single models */
    while (at < *n_ag && ag[at].kind != SY_SIM_ORACLE)
        at++;
    at = at < *n_ag ? at + 1 : *n_ag;
    size_t add = *n_ag + 2 <= MAX_AGENTS ? 2 : MAX_AGENTS - *n_ag;
    memmove(&ag[at + add], &ag[at], (*n_ag - at) * sizeof(*ag));
    const char *names[] = {"linear oracle (features, cross-fitted)", "task oracle (hindsight)"};
    for (size_t j = 0; j < add; j++) {
        memset(&ag[at + j], 0, sizeof(*ag));
        snprintf(ag[at + j].name, sizeof(ag[at + j].name), "%s", names[j]);
        ag[at + j].kind = SY_SIM_TABLE;
        ag[at + j].row_arm = *tables + j * n;
    }
    *n_ag += add;
    return 0;
}

/* Run the agents over the dataset's source (warm-started with --warm or the route
 * block's warm_start) and report.
 * Returns the exit status. */
static int simulate(const sim_cli *cli, const sy_sim_source *src, sy_sim_agent *ag, size_t n_ag,
                    const sy_route_cfg *r, const sy_sim_dataset *ds, size_t dim)
{
    char err[1024];
    progress pg = {.on = !cli->no_progress && isatty(2), .last = -1, .what = "simulating"};
    sy_sim_opts o = base_opts(cli, &r->params.objective, &pg);
    sy_sim_warm warm = {0};
    /* --warm, else the route block's "warm_start" (as the gateway would feed it) */
    const char *warm_path = cli->warm ? cli->warm : r->warm_start.path;
    if (warm_path) {
        double w = cli->warm_weight > 0 ? cli->warm_weight : cli->warm ? 1 : r->warm_start.weight;
        if (sy_sim_warm_load(warm_path, ds->arm_names, ds->n_arms, dim, w, &warm, err,
                             sizeof(err)) != SY_OK) {
            fprintf(stderr, "switchyard sim: %s %s: %s\n", cli->warm ? "--warm" : "warm_start",
                    warm_path, err);
            return 1;
        }
        fprintf(stderr, "warm start: %zu prompts, %zu of the route's models\n", warm.n,
                warm.matched);
        o.warm = &warm;
    }
    sy_sim_result res;
    int status;
    if (sy_sim_run(src, ag, n_ag, &o, &res, err, sizeof(err)) != SY_OK) {
        fprintf(stderr, "switchyard sim: %s\n", err);
        status = 1;
    } else {
        status = report(cli, &res, ag, -1, src->task_names, ds->arm_names);
        sy_sim_result_free(&res);
    }
    sy_sim_warm_free(&warm);
    return status;
}

static int run_full_info(const sim_cli *cli)
{
    sy_sim_dataset ds;
    sy_route_cfg *r;
    int rc = load_full_info(cli, &ds, &r);
    if (rc)
        return rc;
    fprintf(stderr, "%s: %zu prompts, %zu models (%zu prompts without any outcome dropped)\n",
            ds.name, ds.n, ds.n_arms, ds.dropped);
    static sy_sim_agent ag[MAX_AGENTS];
    int bad;
    double price[SY_POLICY_MAX_ARMS] = {0}; /* mean cost per request: the "price list" */
    for (size_t k = 0; k < ds.n_arms; k++) {
        double sum = 0, n = 0;
        for (size_t i = 0; i < ds.n; i++)
            if (sy_sim_dataset_eligible(&ds, i, k)) {
                sum += ds.cost[i * SY_SIM_STRIDE + k];
                n++;
            }
        price[k] = n ? sum / n : 0;
    }
    size_t n_ag = build_agents(ag, MAX_AGENTS, r, ds.n_arms, price, ds.arm_names, cli, &bad);
    int status = bad ? 2 : 0;
    size_t dim = r->params.dim ? r->params.dim : SY_FEATURE_DEFAULT_DIM;
    long *tables = NULL;
    if (!status && cli->oracles)
        status = add_oracles(ag, &n_ag, &ds, r, dim, &tables);
    sy_sim_source src;
    if (!status && sy_sim_dataset_source(&ds, dim, &src) != SY_OK) {
        fprintf(stderr, "switchyard sim: cannot featurize with dim %zu\n", dim);
        status = 1;
    }
    if (!status) {
        status = simulate(cli, &src, ag, n_ag, r, &ds, dim);
        sy_sim_dataset_source_free(&src);
    }
    free(tables);
    sy_route_cfg_free(r);
    sy_sim_dataset_free(&ds);
    return status;
}

/* --cache: the dataset and route loaded here, the rest in cmd_sim_cache.c. */
static int run_cache(const sim_cli *cli)
{
    sy_sim_dataset ds;
    sy_route_cfg *r;
    int rc = load_full_info(cli, &ds, &r);
    if (rc)
        return rc;
    rc = sy_sim_cli_run_cache(cli, &ds, r);
    sy_route_cfg_free(r);
    sy_sim_dataset_free(&ds);
    return rc;
}

/* ---- scenario ------------------------------------------------------------------------ */

/*
 * Recovery after the scenario's first event: the first step after it from which the
 * agent's expected utility per bucket stays within 5% of the oracle's for the rest of
 * the run. Printed per learning agent; -1 = never.
 */
static void print_recovery(const sy_sim_result *res, const sy_sim_agent *ag, long event_t)
{
    long oracle = -1;
    for (size_t a = 0; a < res->n_agents; a++)
        if (ag[a].kind == SY_SIM_ORACLE)
            oracle = (long)a;
    if (event_t < 0 || oracle < 0)
        return;
    size_t P = res->curve_points;
    printf("\nrecovery after the event at step %ld (expected utility per bucket of %zu steps "
           "within 5%% of the oracle's, to the end):\n",
           event_t, res->steps / P);
    for (size_t a = 0; a < res->n_agents; a++) {
        if (ag[a].kind != SY_SIM_LEARNER)
            continue;
        long rec = -1;
        for (size_t p = P; p-- > 0;) {
            size_t t_end = sy_sim_bucket_end(p, res->steps, P);
            if ((long)t_end <= event_t)
                break;
            double o = res->agents[oracle].eu_curve[p], u = res->agents[a].eu_curve[p];
            if (fabs(o - u) > 0.05 * fabs(o))
                break;
            rec = (long)(p ? sy_sim_bucket_end(p - 1, res->steps, P) : 0);
        }
        if (rec >= 0)
            printf("  %-32s %8ld steps\n", ag[a].name, rec > event_t ? rec - event_t : 0);
        else
            printf("  %-32s    never\n", ag[a].name);
    }
}

static int run_scenario(const sim_cli *cli)
{
    char *text, err[1024];
    size_t len;
    if (sy_sim_read_file(cli->scenario, &text, &len, err, sizeof(err)) != SY_OK) {
        fprintf(stderr, "switchyard sim: %s\n", err);
        return 1;
    }
    sy_sim_scenario *sc = sy_sim_scenario_parse(text, len, err, sizeof(err));
    free(text);
    if (!sc) {
        fprintf(stderr, "switchyard sim: %s: %s\n", cli->scenario, err);
        return 1;
    }
    size_t K = sy_sim_scenario_n_arms(sc);
    sy_route_cfg *r = load_route(cli->route, sy_sim_scenario_arm_names(sc), K);
    if (!r) {
        sy_sim_scenario_free(sc);
        return 1;
    }
    int status = 0;
    if (r->n_candidates != K) {
        fprintf(stderr, "switchyard sim: a scenario's route must list every arm as a candidate\n");
        status = 1;
    }
    static sy_sim_agent ag[MAX_AGENTS];
    int bad = 0;
    size_t n_ag =
        status ? 0
               : build_agents(ag, MAX_AGENTS, r, K, NULL, sy_sim_scenario_arm_names(sc), cli, &bad);
    if (bad)
        status = 2;
    size_t dim = r->params.dim ? r->params.dim : SY_FEATURE_DEFAULT_DIM;
    sy_sim_source src;
    if (!status && sy_sim_scenario_source(sc, dim, &r->params.objective, &src) != SY_OK) {
        fprintf(stderr, "switchyard sim: the scenario's context weights must not all be 0\n");
        status = 1;
    }
    if (!status) {
        progress pg = {.on = !cli->no_progress && isatty(2), .last = -1, .what = "simulating"};
        sy_sim_opts o = base_opts(cli, &r->params.objective, &pg);
        sy_sim_result res;
        if (sy_sim_run(&src, ag, n_ag, &o, &res, err, sizeof(err)) != SY_OK) {
            fprintf(stderr, "switchyard sim: %s\n", err);
            status = 1;
        } else {
            long ev = sy_sim_scenario_first_event(sc);
            status = report(cli, &res, ag, ev, src.task_names, sy_sim_scenario_arm_names(sc));
            print_recovery(&res, ag, ev);
            sy_sim_result_free(&res);
        }
    }
    sy_route_cfg_free(r);
    sy_sim_scenario_free(sc);
    return status;
}

/* ---- logged data ---------------------------------------------------------------------- */

static void print_estimate(const char *name, const sy_sim_estimate *e)
{
    printf("  %-8s %10.5f   [%9.5f, %9.5f]   n=%zu\n", name, e->value, e->lo, e->hi, e->n);
}

static void print_ope(const sy_sim_ope *e)
{
    printf("  logging policy's own mean reward: %.5f; effective sample size %.0f\n", e->mean_logged,
           e->ess);
    print_estimate("IPS", &e->ips);
    print_estimate("SNIPS", &e->snips);
    print_estimate("DR", &e->dr);
    print_estimate("replay", &e->replay);
}

/* Per-position action frequencies of another OBD log: the "empirical" target. */
static double *empirical_target(const sy_sim_log *lg, const char *path, char *err, size_t el)
{
    sy_sim_log other = {0};
    if (sy_sim_load_obd(path, &other, err, el) != SY_OK)
        return NULL;
    enum { SLOTS = 65 };
    double *cnt = sy_xcalloc(SLOTS * SY_POLICY_MAX_ARMS, sizeof(double)), tot[SLOTS] = {0};
    for (size_t i = 0; i < other.n; i++) {
        cnt[other.slot[i] * SY_POLICY_MAX_ARMS + other.arm[i]] += 1;
        tot[other.slot[i]] += 1;
    }
    double *t = sy_xcalloc(lg->n * lg->n_arms, sizeof(double));
    for (size_t i = 0; i < lg->n; i++)
        for (size_t k = 0; k < lg->n_arms; k++)
            t[i * lg->n_arms + k] =
                tot[lg->slot[i]] > 0 ? cnt[lg->slot[i] * SY_POLICY_MAX_ARMS + k] / tot[lg->slot[i]]
                                     : 1.0 / (double)lg->n_arms;
    free(cnt);
    sy_sim_log_free(&other);
    return t;
}

static int run_log(const sim_cli *cli)
{
    sy_sim_log lg = {0};
    char err[1024];
    int rc;
    if (cli->obd) {
        rc = sy_sim_load_obd(cli->obd, &lg, err, sizeof(err));
    } else {
        rc = sy_sim_load_export(cli->log, cli->log_route, 0, &lg, err, sizeof(err));
    }
    if (rc != SY_OK) {
        fprintf(stderr, "switchyard sim: %s\n", err);
        sy_sim_log_free(&lg);
        return 1;
    }
    printf("%s: %zu events, %zu arms, context dim %zu (%zu lines skipped: no propensity, "
           "failed, or another context size)\n",
           cli->obd ? cli->obd : cli->log, lg.n, lg.n_arms, lg.dim, lg.skipped);
    const char *tgt = cli->obd_target ? cli->obd_target : "policy";
    int status = 0;
    sy_sim_ope e;
    if (cli->obd && strcmp(tgt, "uniform") == 0) {
        double *t = sy_xmalloc(lg.n * lg.n_arms * sizeof(double));
        for (size_t i = 0; i < lg.n * lg.n_arms; i++)
            t[i] = 1.0 / (double)lg.n_arms;
        sy_sim_evaluate_dist(&lg, t, &e);
        free(t);
        printf("target: uniform over %zu items (reward: click)\n", lg.n_arms);
        print_ope(&e);
    } else if (cli->obd && strncmp(tgt, "empirical:", 10) == 0) {
        double *t = empirical_target(&lg, tgt + 10, err, sizeof(err));
        if (!t) {
            fprintf(stderr, "switchyard sim: --obd-target: %s\n", err);
            status = 1;
        } else {
            sy_sim_evaluate_dist(&lg, t, &e);
            free(t);
            printf("target: the per-position action frequencies of %s (reward: click)\n", tgt + 10);
            print_ope(&e);
        }
    } else if (strcmp(tgt, "policy") == 0) {
        sy_route_cfg *r = load_route(cli->route, lg.arm_names, lg.n_arms);
        if (r && r->params.objective.w_quality > 0 && !cli->obd)
            sy_sim_log_require_quality(&lg); /* utility needs the rating */
        if (r && lg.n == 0) {
            fprintf(stderr, "switchyard sim: no rated request in the log (the objective values "
                            "quality)\n");
            sy_route_cfg_free(r);
            r = NULL;
        }
        if (!r) {
            status = 1;
        } else {
            sy_policy_params pp = r->params;
            pp.arms = r->arms;
            if (sy_policy_kind_is_contextual(pp.kind) && lg.dim)
                pp.dim = lg.dim;
            for (size_t k = 0; k < lg.n_arms; k++)
                r->arms[k].cost_model = SY_COST_LEARNED;
            if (sy_sim_evaluate_log(&lg, &pp, 64, cli->refresh, cli->seed0, &e, err, sizeof(err)) !=
                SY_OK) {
                fprintf(stderr, "switchyard sim: %s\n", err);
                status = 1;
            } else {
                printf("target: %s, learning from the log as it goes (reward: utility)\n",
                       sy_policy_kind_name(pp.kind));
                print_ope(&e);
            }
            sy_route_cfg_free(r);
        }
    } else {
        fprintf(stderr, "switchyard sim: --obd-target: expected uniform, policy or "
                        "empirical:FILE\n");
        status = 2;
    }
    sy_sim_log_free(&lg);
    return status;
}

/* ---- supervised-to-bandit validation --------------------------------------------------- */

static int run_validate(const sim_cli *cli)
{
    char err[1024];
    sy_sim_dataset ds;
    sy_route_cfg *r;
    int rc = load_full_info(cli, &ds, &r);
    if (rc)
        return rc;
    sy_policy_params tp = r->params;
    tp.arms = r->arms;
    for (size_t k = 0; k < ds.n_arms; k++)
        r->arms[k].cost_model = SY_COST_LEARNED;
    /* logging policy: weighted random, twice the weight for arms cheaper than the median */
    sy_arm_params la[SY_POLICY_MAX_ARMS];
    double mc[SY_POLICY_MAX_ARMS], sorted[SY_POLICY_MAX_ARMS];
    for (size_t k = 0; k < ds.n_arms; k++) {
        double s = 0;
        size_t c = 0;
        for (size_t i = 0; i < ds.n; i++)
            if (sy_sim_dataset_eligible(&ds, i, k)) {
                s += ds.cost[i * SY_SIM_STRIDE + k];
                c++;
            }
        mc[k] = sorted[k] = c ? s / (double)c : 0;
    }
    for (size_t a = 1; a < ds.n_arms; a++)
        for (size_t b = a; b > 0 && sorted[b - 1] > sorted[b]; b--) {
            double t = sorted[b];
            sorted[b] = sorted[b - 1];
            sorted[b - 1] = t;
        }
    double median = sorted[ds.n_arms / 2];
    for (size_t k = 0; k < ds.n_arms; k++) {
        sy_arm_params_init(&la[k]);
        la[k].weight = mc[k] < median ? 2 : 1;
    }
    sy_policy_params lp;
    sy_policy_params_init(&lp, SY_POLICY_WEIGHTED, ds.n_arms, 0);
    lp.arms = la;
    unsigned seeds = cli->seeds ? cli->seeds : 50;
    sy_sim_validation v;
    size_t dim = r->params.dim ? r->params.dim : SY_FEATURE_DEFAULT_DIM;
    rc = sy_sim_validate(&ds, dim, &tp, &lp, seeds, cli->seed0, &v, err, sizeof(err));
    int status = 0;
    if (rc != SY_OK) {
        fprintf(stderr, "switchyard sim: %s\n", err);
        status = 1;
    } else {
        printf("supervised-to-bandit validation on %s: target %s trained on %zu prompts "
               "(bandit feedback) and frozen;\n"
               "logging policy: weighted random (weight 2 for models cheaper than the median, "
               "1 otherwise) on the other %zu prompts, %u seeds\n",
               ds.name, sy_policy_kind_name(tp.kind), v.n_train, v.n_test, v.seeds);
        printf("true value of the target (full information): %.5f\n", v.true_value);
        printf("%-8s %12s %12s %18s\n", "estimator", "mean", "mean width", "coverage of 95% CI");
        const char *names[] = {"IPS", "SNIPS", "DR", "replay"};
        double means[] = {v.mean_ips, v.mean_snips, v.mean_dr, v.mean_replay};
        double widths[] = {v.width_ips, v.width_snips, v.width_dr, v.width_replay};
        size_t cov[] = {v.covered_ips, v.covered_snips, v.covered_dr, v.covered_replay};
        for (int q = 0; q < 4; q++)
            printf("%-8s %12.5f %12.5f %8zu/%u (%.0f%%)\n", names[q], means[q], widths[q], cov[q],
                   v.seeds, 100.0 * (double)cov[q] / v.seeds);
        printf("(replay is unbiased only under a uniform logging policy: shown for contrast)\n");
        if (cli->csv) {
            FILE *f = fopen(cli->csv, "w");
            if (!f) {
                fprintf(stderr, "switchyard sim: cannot write %s\n", cli->csv);
                status = 1;
            } else {
                fprintf(f, "estimator,true_value,mean,mean_width,covered,seeds\n");
                for (int q = 0; q < 4; q++)
                    fprintf(f, "%s,%.9g,%.9g,%.9g,%zu,%u\n", names[q], v.true_value, means[q],
                            widths[q], cov[q], v.seeds);
                fclose(f);
            }
        }
    }
    sy_route_cfg_free(r);
    sy_sim_dataset_free(&ds);
    return status;
}

/* ---- bench --------------------------------------------------------------------------- */

/* A synthetic full-information source: K arms, random contexts, Bernoulli quality. */
typedef struct bench_src {
    size_t K, dim;
    double *x; /* 256 contexts */
    double q[SY_POLICY_MAX_ARMS], c[SY_POLICY_MAX_ARMS], l[SY_POLICY_MAX_ARMS],
        tok[SY_POLICY_MAX_ARMS];
    gsl_rng *rng;
} bench_src;

static void bench_begin(void *ctx, unsigned long seed)
{
    bench_src *b = ctx;
    gsl_rng_set(b->rng, seed);
}

static void bench_row(void *ctx, size_t t, sy_sim_row *row)
{
    bench_src *b = ctx;
    const double *x = b->x + (t % 256) * b->dim;
    for (size_t k = 0; k < b->K; k++) {
        double p = 0.4 + 0.04 * (double)k + 0.1 * x[1] - 0.1 * x[(k + 2) % b->dim];
        b->q[k] = gsl_rng_uniform(b->rng) < p ? 1.0 : 0.0;
        b->c[k] = 1e-4 * (double)(k + 1);
        b->l[k] = 0.5 + 0.2 * (double)k;
        b->tok[k] = 200;
    }
    *row = (sy_sim_row){.x = x,
                        .input_tokens = 800,
                        .quality = b->q,
                        .cost = b->c,
                        .latency = b->l,
                        .tokens = b->tok};
}

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int run_bench(void)
{
    size_t K = 11, dim = SY_FEATURE_DEFAULT_DIM, steps = 200000;
    bench_src b = {.K = K, .dim = dim, .rng = gsl_rng_alloc(gsl_rng_mt19937)};
    b.x = sy_xmalloc(256 * dim * sizeof(double));
    gsl_rng_set(b.rng, 7);
    for (size_t i = 0; i < 256; i++) {
        double *x = b.x + i * dim, ss = 0;
        x[0] = 1;
        for (size_t j = 1; j < dim; j++)
            x[j] =
                j < SY_FEATURE_DENSE ? (gsl_rng_uniform(b.rng) < 0.3) : gsl_ran_gaussian(b.rng, 1);
        for (size_t j = SY_FEATURE_DENSE; j < dim; j++)
            ss += x[j] * x[j];
        for (size_t j = SY_FEATURE_DENSE; j < dim; j++)
            x[j] /= sqrt(ss);
    }
    sy_sim_source src = {
        .n_arms = K, .dim = dim, .steps = steps, .ctx = &b, .begin = bench_begin, .row = bench_row};
    printf("sim bench: linear_thompson, K=%zu, d=%zu, %zu requests per run, one thread, CPU time\n",
           K, dim, steps);
    printf("%8s %6s %14s %14s\n", "refresh", "draws", "decisions/s", "µs/decision");
    size_t refreshes[] = {1, 8, 32, 128};
    unsigned draws[] = {0, 4};
    for (size_t di = 0; di < 2; di++)
        for (size_t ri = 0; ri < SY_ARRAY_LEN(refreshes); ri++) {
            sy_sim_agent ag;
            memset(&ag, 0, sizeof(ag));
            snprintf(ag.name, sizeof(ag.name), "linear_thompson");
            ag.kind = SY_SIM_LEARNER;
            sy_policy_params_init(&ag.params, SY_POLICY_LINEAR_THOMPSON, K, dim);
            ag.params.objective = (sy_objective){.w_quality = 1, .w_cost = 20, .w_latency = 0.02};
            ag.params.propensity_draws = draws[di];
            for (size_t k = 0; k < K; k++) {
                sy_arm_params_init(&ag.arms[k]);
                ag.arms[k].cost_model = SY_COST_LEARNED;
            }
            sy_sim_opts o = {.obj = ag.params.objective,
                             .seeds = 1,
                             .seed0 = 1,
                             .refresh = refreshes[ri],
                             .curve_points = 1};
            sy_sim_result res;
            char err[256];
            double t0 = thread_cpu();
            if (sy_sim_run(&src, &ag, 1, &o, &res, err, sizeof(err)) != SY_OK) {
                fprintf(stderr, "switchyard sim: %s\n", err);
                return 1;
            }
            double dt = thread_cpu() - t0;
            printf("%8zu %6u %14.0f %14.3f\n", refreshes[ri], draws[di], (double)steps / dt,
                   dt / (double)steps * 1e6);
            sy_sim_result_free(&res);
        }
    printf("(whole loop: row generation, decide, observe_outcome, observe_quality and the "
           "snapshot share; the simulator runs with draws 0)\n");
    free(b.x);
    gsl_rng_free(b.rng);
    return 0;
}

/* ---- main ------------------------------------------------------------------------------ */

int sy_cmd_sim(int argc, char **argv)
{
    sim_cli cli;
    int rc = sy_sim_parse_args(argc, argv, &cli);
    if (rc >= 0)
        return rc;
    gsl_set_error_handler_off();
    if ((cli.warm || cli.oracles) &&
        (cli.bench || cli.validate || cli.log || cli.obd || cli.scenario)) {
        fprintf(stderr, "switchyard sim: --warm and --oracles apply to a full-information "
                        "run (--routerbench, --routellm, --jsonl)\n");
        return 2;
    }
    if (cli.bench)
        return run_bench();
    if (cli.validate)
        return run_validate(&cli);
    if (cli.log || cli.obd)
        return run_log(&cli);
    if (cli.scenario)
        return run_scenario(&cli);
    if (cli.cache)
        return run_cache(&cli);
    return run_full_info(&cli);
}
