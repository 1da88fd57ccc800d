/*
 * decide_bench: the cost of one routing decision, per policy kind, on one core.
 *
 * For each kind it builds a route of K arms with prices, the full objective (quality,
 * cost, latency) and both hard constraints on, trains it on synthetic traffic (3000
 * requests: ratings from hidden per-arm linear quality, latencies and output tokens),
 * takes a snapshot, then times sy_policy_decide over a pool of precomputed contexts —
 * the hot path a worker runs per request. Each kind is timed in R runs of S seconds of
 * thread CPU time; the median run is reported (min and max beside it). Contextual kinds use d
 * features, the others none, as the gateway configures them. A last row times the featurizer on a
 * typical ~300-byte message, which the gateway runs before a contextual decision, and a
 * last one a snapshot of the trained linear_thompson route (µs per snapshot, snapshots/s;
 * the learner's cost of publishing).
 *
 *   decide_bench [--kind all|NAME] [--arms 11] [--dim 24] [--draws 4]
 *                [--rng mt19937|taus2] [--seconds 0.5] [--runs 5]
 *
 * Prints a table: kind, d, M (propensity draws), µs per decision (median, min, max),
 * decisions per second per core, and the mean propensity reported.
 */
#include "featurize.h"
#include "policy.h"
#include "sy_common.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL     256
#define MAX_RUNS 99

typedef struct bench_opts {
    size_t arms, dim;
    long draws; /* -1: the library default */
    const gsl_rng_type *rng_type;
    const char *rng_name;
    double seconds;
    int runs;
} bench_opts;

/* CPU time of this thread: on a shared machine, time slices lost to other processes do
 * not count, so the figure is the cost per decision on one core. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void usage(void)
{
    fprintf(stderr, "usage: decide_bench [--kind all|NAME] [--arms K] [--dim D] [--draws M] "
                    "[--rng mt19937|taus2] [--seconds S] [--runs R]\n");
    exit(2);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A synthetic context: bias, a few dense features, a normalised hashed block. */
static void random_context(gsl_rng *rng, double *x, size_t d)
{
    x[0] = 1;
    for (size_t i = 1; i < d; i++)
        x[i] = i < SY_FEATURE_DENSE ? (gsl_rng_uniform(rng) < 0.3) : gsl_ran_gaussian(rng, 1);
    double ss = 0;
    for (size_t i = SY_FEATURE_DENSE; i < d; i++)
        ss += x[i] * x[i];
    for (size_t i = SY_FEATURE_DENSE; ss > 0 && i < d; i++)
        x[i] /= sqrt(ss);
}

/* A route of o->arms priced arms of kind `kind`, trained on 3000 synthetic requests. */
static sy_policy_state *trained_state(sy_policy_kind kind, const bench_opts *o, gsl_rng *rng)
{
    size_t k_arms = o->arms, dim = sy_policy_kind_is_contextual(kind) ? o->dim : 0;
    sy_arm_params arms[SY_POLICY_MAX_ARMS];
    for (size_t k = 0; k < k_arms; k++) {
        sy_arm_params_init(&arms[k]);
        arms[k].price_in_per_mtok = 0.2 + 3.0 * (double)k;
        arms[k].price_out_per_mtok = 0.6 + 9.0 * (double)k;
        arms[k].prior_latency_s = 0.5 + 0.2 * (double)k;
        arms[k].weight = 1 + (double)k;
    }
    sy_policy_params pp;
    sy_policy_params_init(&pp, kind, k_arms, dim);
    pp.arms = arms;
    pp.objective = (sy_objective){
        .w_quality = 1, .w_cost = 20, .w_latency = 0.02, .max_cost_usd = 0.05, .latency_slo_s = 8};
    pp.discount = (sy_discount){.half_life = 5000, .unit = SY_HALF_LIFE_OBSERVATIONS};
    if (o->draws >= 0)
        pp.propensity_draws = (unsigned)o->draws;
    sy_policy_state *st;
    if (sy_policy_state_new(&pp, &st) != SY_OK) {
        fprintf(stderr, "decide_bench: invalid parameters\n");
        exit(2);
    }
    double x[SY_POLICY_MAX_DIM];
    for (int n = 0; n < 3000; n++) {
        random_context(rng, x, o->dim);
        size_t k = (size_t)gsl_rng_uniform_int(rng, k_arms);
        double q = 0.4 + 0.04 * (double)k + 0.1 * x[1 % o->dim] - 0.1 * x[(k + 2) % o->dim];
        sy_quality_obs qo = {.arm = k,
                             .x = dim ? x : NULL,
                             .dim = dim,
                             .weight = 1,
                             .reward = gsl_rng_uniform(rng) < q ? 1.0 : 0.0};
        sy_policy_state_observe_quality(st, &qo, NULL);
        sy_outcome_obs oo = {.arm = k,
                             .latency_s = (0.5 + 0.2 * (double)k) * exp(gsl_ran_gaussian(rng, 0.3)),
                             .output_tokens = 200 * exp(gsl_ran_gaussian(rng, 0.5)),
                             .cost_usd = NAN};
        sy_policy_state_observe_outcome(st, &oo);
    }
    return st;
}

/* Time one kind; prints its row. */
static void bench_kind(sy_policy_kind kind, const bench_opts *o)
{
    gsl_rng *rng = gsl_rng_alloc(o->rng_type);
    gsl_rng_set(rng, 1);
    sy_policy_state *st = trained_state(kind, o, rng);
    sy_policy *p = sy_policy_state_snapshot(st, 0);
    size_t dim = sy_policy_dim(p);

    double *pool = sy_xmalloc(POOL * o->dim * sizeof(double));
    for (size_t i = 0; i < POOL; i++)
        random_context(rng, pool + i * o->dim, o->dim);
    sy_decide_in in = {.n_arms = o->arms, .dim = dim, .rng = rng, .input_tokens = 800};
    sy_decide_out out;

    double ns[MAX_RUNS], prop = 0;
    long total = 0;
    for (int r = -1; r < o->runs; r++) { /* run -1 warms caches and branch predictors */
        long n = 0;
        double t0 = now_s(), t1;
        do {
            for (int b = 0; b < 1024; b++, n++) {
                in.x = pool + (size_t)(n % POOL) * o->dim;
                in.seq = (uint64_t)n;
                if (sy_policy_decide(p, &in, &out) != SY_OK) {
                    fprintf(stderr, "decide_bench: decide failed\n");
                    exit(1);
                }
                if (r >= 0)
                    prop += out.propensity;
            }
            t1 = now_s();
        } while (t1 - t0 < (r < 0 ? o->seconds / 4 : o->seconds));
        if (r >= 0) {
            ns[r] = (t1 - t0) / (double)n * 1e9;
            total += n;
        }
    }
    qsort(ns, (size_t)o->runs, sizeof(double), cmp_double);
    double med = o->runs % 2 ? ns[o->runs / 2] : (ns[o->runs / 2 - 1] + ns[o->runs / 2]) / 2;
    char d_col[16], m_col[16], p_col[16];
    snprintf(d_col, sizeof(d_col), dim ? "%zu" : "-", dim);
    int ts = kind == SY_POLICY_THOMPSON || kind == SY_POLICY_LINEAR_THOMPSON ||
             kind == SY_POLICY_CLUSTER_THOMPSON;
    snprintf(m_col, sizeof(m_col), ts ? "%u" : "-", sy_policy_state_params(st)->propensity_draws);
    double mean_prop = prop / (double)total;
    snprintf(p_col, sizeof(p_col), isnan(mean_prop) ? "n/a" : "%.3f", mean_prop);
    printf("%-16s %3s %3s %9.3f %8.3f %8.3f %14.0f %10s\n", sy_policy_kind_name(kind), d_col, m_col,
           med / 1000, ns[0] / 1000, ns[o->runs - 1] / 1000, 1e9 / med, p_col);
    sy_policy_free(p);
    sy_policy_state_free(st);
    free(pool);
    gsl_rng_free(rng);
}

/* The featurizer on a ~300-byte chat message, same run protocol. */
static void bench_featurize(const bench_opts *o)
{
    static const char msg[] =
        "Can you help me write a short Python function that parses a CSV file of orders, "
        "groups them by customer and returns the total amount per customer? The file has "
        "about 10,000 rows and a header line. Please explain the approach briefly and "
        "mention how to handle malformed rows without crashing.";
    sy_feature_input fi = {.user_text = msg,
                           .user_len = sizeof(msg) - 1,
                           .prompt_bytes = 1200,
                           .turn = 1,
                           .has_system = 1};
    double x[SY_POLICY_MAX_DIM], ns[MAX_RUNS];
    volatile double sink = 0; /* keeps the calls observable */
    for (int r = -1; r < o->runs; r++) {
        long n = 0;
        double t0 = now_s(), t1;
        do {
            for (int b = 0; b < 256; b++, n++) {
                fi.turn = (unsigned)(n & 3);
                sy_featurize(&fi, x, o->dim);
                sink += x[SY_F_TURN];
            }
            t1 = now_s();
        } while (t1 - t0 < (r < 0 ? o->seconds / 4 : o->seconds));
        if (r >= 0)
            ns[r] = (t1 - t0) / (double)n * 1e9;
    }
    qsort(ns, (size_t)o->runs, sizeof(double), cmp_double);
    double med = o->runs % 2 ? ns[o->runs / 2] : (ns[o->runs / 2 - 1] + ns[o->runs / 2]) / 2;
    printf("%-16s %3zu %3s %9.3f %8.3f %8.3f %14.0f %10s\n", "(featurize)", o->dim, "-", med / 1000,
           ns[0] / 1000, ns[o->runs - 1] / 1000, 1e9 / med, "-");
}

/* A snapshot of the trained linear_thompson route (decay, priors, one Cholesky
 * factorisation per arm): what the gateway's store thread pays each time it publishes
 * (at most every 5 ms), and the simulator every `refresh` requests. Same run protocol. */
static void bench_snapshot(const bench_opts *o)
{
    gsl_rng *rng = gsl_rng_alloc(o->rng_type);
    gsl_rng_set(rng, 1);
    sy_policy_state *st = trained_state(SY_POLICY_LINEAR_THOMPSON, o, rng);
    double ns[MAX_RUNS];
    for (int r = -1; r < o->runs; r++) {
        long n = 0;
        double t0 = now_s(), t1;
        do {
            for (int b = 0; b < 16; b++, n++)
                sy_policy_free(sy_policy_state_snapshot(st, 0));
            t1 = now_s();
        } while (t1 - t0 < (r < 0 ? o->seconds / 4 : o->seconds));
        if (r >= 0)
            ns[r] = (t1 - t0) / (double)n * 1e9;
    }
    qsort(ns, (size_t)o->runs, sizeof(double), cmp_double);
    double med = o->runs % 2 ? ns[o->runs / 2] : (ns[o->runs / 2 - 1] + ns[o->runs / 2]) / 2;
    printf("%-16s %3zu %3s %9.3f %8.3f %8.3f %14.0f %10s\n", "(snapshot)", o->dim, "-", med / 1000,
           ns[0] / 1000, ns[o->runs - 1] / 1000, 1e9 / med, "-");
    sy_policy_state_free(st);
    gsl_rng_free(rng);
}

int main(int argc, char **argv)
{
    bench_opts o = {.arms = 11,
                    .dim = SY_FEATURE_DEFAULT_DIM,
                    .draws = -1,
                    .rng_type = gsl_rng_mt19937,
                    .rng_name = "mt19937",
                    .seconds = 0.5,
                    .runs = 5};
    const char *kind_name = "all";
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        const char *opt = argv[i], *v = argv[++i];
        if (strcmp(opt, "--kind") == 0)
            kind_name = v;
        else if (strcmp(opt, "--arms") == 0)
            o.arms = strtoul(v, NULL, 10);
        else if (strcmp(opt, "--dim") == 0)
            o.dim = strtoul(v, NULL, 10);
        else if (strcmp(opt, "--draws") == 0)
            o.draws = strtol(v, NULL, 10);
        else if (strcmp(opt, "--rng") == 0)
            o.rng_name = v;
        else if (strcmp(opt, "--seconds") == 0)
            o.seconds = atof(v);
        else if (strcmp(opt, "--runs") == 0)
            o.runs = atoi(v);
        else
            usage();
    }
    if (o.arms < 1 || o.arms > SY_POLICY_MAX_ARMS || o.dim <= SY_FEATURE_DENSE ||
        o.dim > SY_POLICY_MAX_DIM || o.runs < 1 || o.runs > MAX_RUNS || !(o.seconds > 0))
        usage();
    if (strcmp(o.rng_name, "taus2") == 0)
        o.rng_type = gsl_rng_taus2;
    else if (strcmp(o.rng_name, "mt19937") != 0)
        usage();
    sy_policy_kind only = SY_POLICY_UNIFORM;
    int all = strcmp(kind_name, "all") == 0;
    if (!all && sy_policy_kind_parse(kind_name, &only) != SY_OK)
        usage();
    gsl_set_error_handler_off();

    printf("decide_bench: K=%zu arms, rng %s, median of %d runs of %.2f s CPU time, one thread\n",
           o.arms, o.rng_name, o.runs, o.seconds);
    printf("%-16s %3s %3s %10s %8s %8s %14s %10s\n", "kind", "d", "M", "µs median", "min", "max",
           "decisions/s", "propensity"); /* µ is two bytes wide */
    for (int k = SY_POLICY_UNIFORM; k <= SY_POLICY_CLUSTER_THOMPSON; k++)
        if (all || k == (int)only)
            bench_kind((sy_policy_kind)k, &o);
    if (all) {
        bench_featurize(&o);
        bench_snapshot(&o);
    }
    return 0;
}
