/*
 * decide_bench: decisions per second of one policy snapshot on one core.
 *
 * Builds a route of K arms with prices, the full objective (quality, cost, latency)
 * and both hard constraints on, trains it on synthetic traffic (ratings and outcomes
 * from hidden per-arm linear quality), takes a snapshot, then times sy_policy_decide
 * over a pool of precomputed contexts — the hot path a worker runs per request.
 *
 *   decide_bench [--kind linear_thompson] [--arms 11] [--dim 24] [--draws 4]
 *                [--rng mt19937|taus2] [--seconds 2]
 *
 * Prints one line: kind, K, d, M, rng, ns per decision, decisions/s, mean propensity.
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

#define POOL 256

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void usage(void)
{
    fprintf(stderr, "usage: decide_bench [--kind NAME] [--arms K] [--dim D] [--draws M] "
                    "[--rng mt19937|taus2] [--seconds S]\n");
    exit(2);
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

int main(int argc, char **argv)
{
    sy_policy_kind kind = SY_POLICY_LINEAR_THOMPSON;
    size_t k_arms = 11, dim = SY_FEATURE_DEFAULT_DIM;
    long draws = -1;
    double seconds = 2;
    const char *rng_name = "mt19937";
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (strcmp(argv[i - 1], "--kind") == 0) {
            if (sy_policy_kind_parse(v, &kind) != SY_OK)
                usage();
        } else if (strcmp(argv[i - 1], "--arms") == 0) {
            k_arms = strtoul(v, NULL, 10);
        } else if (strcmp(argv[i - 1], "--dim") == 0) {
            dim = strtoul(v, NULL, 10);
        } else if (strcmp(argv[i - 1], "--draws") == 0) {
            draws = strtol(v, NULL, 10);
        } else if (strcmp(argv[i - 1], "--rng") == 0) {
            rng_name = v;
        } else if (strcmp(argv[i - 1], "--seconds") == 0) {
            seconds = atof(v);
        } else {
            usage();
        }
    }
    gsl_set_error_handler_off();
    gsl_rng *rng = gsl_rng_alloc(strcmp(rng_name, "taus2") == 0 ? gsl_rng_taus2 : gsl_rng_mt19937);
    gsl_rng_set(rng, 1);

    sy_arm_params arms[SY_POLICY_MAX_ARMS];
    for (size_t k = 0; k < k_arms; k++) {
        sy_arm_params_init(&arms[k]);
        arms[k].price_in_per_mtok = 0.2 + 3.0 * (double)k;
        arms[k].price_out_per_mtok = 0.6 + 9.0 * (double)k;
        arms[k].prior_latency_s = 0.5 + 0.2 * (double)k;
    }
    sy_policy_params pp;
    sy_policy_params_init(&pp, kind, k_arms, dim);
    pp.arms = arms;
    pp.objective = (sy_objective){
        .w_quality = 1, .w_cost = 20, .w_latency = 0.02, .max_cost_usd = 0.05, .latency_slo_s = 8};
    pp.discount = (sy_discount){.half_life = 5000, .unit = SY_HALF_LIFE_OBSERVATIONS};
    if (draws >= 0)
        pp.propensity_draws = (unsigned)draws;
    sy_policy_state *st;
    if (sy_policy_state_new(&pp, &st) != SY_OK) {
        fprintf(stderr, "decide_bench: invalid parameters\n");
        return 2;
    }

    /* Train: 3000 requests, each arm's hidden quality linear in x. */
    double *x = sy_xmalloc(dim * sizeof(double));
    for (int n = 0; n < 3000; n++) {
        random_context(rng, x, dim);
        size_t k = (size_t)gsl_rng_uniform_int(rng, k_arms);
        double q = 0.4 + 0.04 * (double)k + 0.1 * x[1 % dim] - 0.1 * x[(k + 2) % dim];
        sy_quality_obs qo = {.arm = k,
                             .x = x,
                             .dim = dim,
                             .weight = 1,
                             .reward = gsl_rng_uniform(rng) < q ? 1.0 : 0.0};
        sy_policy_state_observe_quality(st, &qo, NULL);
        sy_outcome_obs oo = {.arm = k,
                             .latency_s = (0.5 + 0.2 * k) * exp(gsl_ran_gaussian(rng, 0.3)),
                             .output_tokens = 200 * exp(gsl_ran_gaussian(rng, 0.5)),
                             .cost_usd = NAN};
        sy_policy_state_observe_outcome(st, &oo);
    }
    sy_policy *p = sy_policy_state_snapshot(st, 0);

    double *pool = sy_xmalloc(POOL * dim * sizeof(double));
    for (size_t i = 0; i < POOL; i++)
        random_context(rng, pool + i * dim, dim);
    sy_decide_in in = {.n_arms = k_arms, .dim = dim, .rng = rng, .input_tokens = 800};
    sy_decide_out out;

    long n = 0;
    double prop = 0, t0 = now_s(), t1;
    do {
        for (int b = 0; b < 1024; b++, n++) {
            in.x = pool + (size_t)(n % POOL) * dim;
            in.seq = (uint64_t)n;
            if (sy_policy_decide(p, &in, &out) != SY_OK)
                return 1;
            prop += out.propensity;
        }
        t1 = now_s();
    } while (t1 - t0 < seconds);
    double ns = (t1 - t0) / (double)n * 1e9;
    printf("%s K=%zu d=%zu M=%u rng=%s: %.0f ns/decision, %.0f decisions/s, mean propensity "
           "%.3f\n",
           sy_policy_kind_name(kind), k_arms, dim, pp.propensity_draws, rng_name, ns, 1e9 / ns,
           prop / (double)n);
    sy_policy_free(p);
    sy_policy_state_free(st);
    free(pool);
    free(x);
    gsl_rng_free(rng);
    return 0;
}
