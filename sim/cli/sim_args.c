/* sim_args: the command line of `switchyard sim` (sim_args.h). */
#include "sim_args.h"

#include "sy_common.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

const char sy_sim_usage[] =
    "usage: switchyard sim DATA [options]\n"
    "\n"
    "Evaluate routing policies offline with the same policy code as the server.\n"
    "\n"
    "Full-information data (every model's outcome per prompt; bandit feedback replayed):\n"
    "  --routerbench PATH   RouterBench CSV file or folder of them (repeatable)\n"
    "  --routellm DIR       the RouteLLM files (gsm8k, mmlu/, mt_bench), priced per token\n"
    "  --jsonl FILE         the generic full-information JSONL (docs/simulator.md)\n"
    "  --scenario FILE      a synthetic scenario (JSON: arms, contexts, events)\n"
    "  --cache FILE         with full-information data: replay it with repeated and\n"
    "                       near-miss questions and compare no cache, fixed-threshold\n"
    "                       caches and the cache as an arm (JSON cache scenario; {} for\n"
    "                       the defaults; docs/simulator.md)\n"
    "Logged data (off-policy estimates of the route's policy):\n"
    "  --log FILE           JSONL written by `switchyard export`\n"
    "  --log-route NAME     the route to evaluate when the log holds several\n"
    "  --obd FILE           an Open Bandit Dataset CSV (real log with propensities)\n"
    "  --obd-target T       uniform | policy (the route block's policy, default) |\n"
    "                       empirical:FILE (per-position action frequencies of another log)\n"
    "Checks:\n"
    "  --validate           supervised-to-bandit check of the estimators on the\n"
    "                       full-information data (log with a known policy, compare)\n"
    "  --bench              decisions/s of the simulator's loop (linear TS, K=11, d=24)\n"
    "\n"
    "Options:\n"
    "  --route FILE|JSON    the route block (policy, params, objective, half_life, priors)\n"
    "                       exactly as in switchyard.json; default {\"policy\":\n"
    "                       \"linear_thompson\"} with the config's default objective\n"
    "  --also FILE|JSON     another route block to compare (repeatable; e.g. the same\n"
    "                       policy with another half_life)\n"
    "  --policies LIST      comma-separated policy kinds to compare with the route's\n"
    "                       (default linear_thompson,linucb,thompson,epsilon_greedy,ucb1,\n"
    "                       uniform; \"none\" for the route's policy only)\n"
    "  --no-models          leave out the single-model rows\n"
    "  --seeds N            orders / repetitions (default 10; --validate: 50)\n"
    "  --seed S             first seed (default 1)\n"
    "  --refresh N          observations between policy snapshots (default 32)\n"
    "  --reference MODEL    model for the % columns (default gpt-4-1106-preview if present)\n"
    "  --csv FILE           write the table as CSV (with p10/median/p90 over seeds)\n"
    "  --seed-csv FILE      write one CSV row per policy and seed\n"
    "  --target-quality F   target for one run: quality ≥ F × the reference's (or F\n"
    "                       absolute without a reference); counts the seeds meeting it\n"
    "  --target-cost F      target for one run: cost ≤ F × the reference's\n"
    "  --report DIR         write charts (gnuplot SVG) and their data into DIR\n"
    "  --by-task            break the results down by the data's task labels\n"
    "  --oracles            add two reference routers (full-information data): the\n"
    "                       linear oracle (per-model ridge of utility on the features,\n"
    "                       cross-fitted) and the task oracle (best model per task label)\n"
    "  --warm PATH          warm-start every learner from another full-information\n"
    "                       dataset (.jsonl, a RouteLLM folder, or a RouterBench CSV\n"
    "                       file or folder): its outcomes for the route's models, as\n"
    "                       ratings, before each seed\n"
    "  --warm-weight W      weight of each warm rating (default 1)\n"
    "                       (without --warm, a \"warm_start\" in the route block is used)\n"
    "  --no-progress        no progress bar (it is shown only on a terminal anyway)\n"
    "  -h, --help           show this help\n"
    "\n"
    "Exit status: 0 success, 1 bad data or failure, 2 usage error.\n";

enum {

    O_RB = 256,
    O_RL,
    O_JSONL,
    O_SCEN,
    O_LOG,
    O_LOGROUTE,
    O_OBD,
    O_OBDT,
    O_VALIDATE,
    O_BENCH,
    O_ROUTE,
    O_POL,
    O_NOMODELS,
    O_SEEDS,
    O_SEED,
    O_REFRESH,
    O_REF,
    O_CSV,
    O_REPORT,
    O_NOPROG,
    O_BYTASK,
    O_ORACLES,
    O_WARM,
    O_WARMW,
    O_ALSO,
    O_SEEDCSV,
    O_TQ,
    O_TC,
    O_CACHE
};

static const struct option opts[] = {{"routerbench", required_argument, NULL, O_RB},
                                     {"routellm", required_argument, NULL, O_RL},
                                     {"jsonl", required_argument, NULL, O_JSONL},
                                     {"scenario", required_argument, NULL, O_SCEN},
                                     {"log", required_argument, NULL, O_LOG},
                                     {"log-route", required_argument, NULL, O_LOGROUTE},
                                     {"obd", required_argument, NULL, O_OBD},
                                     {"obd-target", required_argument, NULL, O_OBDT},
                                     {"validate", no_argument, NULL, O_VALIDATE},
                                     {"bench", no_argument, NULL, O_BENCH},
                                     {"route", required_argument, NULL, O_ROUTE},
                                     {"policies", required_argument, NULL, O_POL},
                                     {"no-models", no_argument, NULL, O_NOMODELS},
                                     {"seeds", required_argument, NULL, O_SEEDS},
                                     {"seed", required_argument, NULL, O_SEED},
                                     {"refresh", required_argument, NULL, O_REFRESH},
                                     {"reference", required_argument, NULL, O_REF},
                                     {"csv", required_argument, NULL, O_CSV},
                                     {"report", required_argument, NULL, O_REPORT},
                                     {"no-progress", no_argument, NULL, O_NOPROG},
                                     {"by-task", no_argument, NULL, O_BYTASK},
                                     {"oracles", no_argument, NULL, O_ORACLES},
                                     {"warm", required_argument, NULL, O_WARM},
                                     {"warm-weight", required_argument, NULL, O_WARMW},
                                     {"also", required_argument, NULL, O_ALSO},
                                     {"seed-csv", required_argument, NULL, O_SEEDCSV},
                                     {"target-quality", required_argument, NULL, O_TQ},
                                     {"target-cost", required_argument, NULL, O_TC},
                                     {"cache", required_argument, NULL, O_CACHE},
                                     {"help", no_argument, NULL, 'h'},
                                     {NULL, 0, NULL, 0}};

/* --seeds, --seed, --refresh: a count in range into *v; 0, or 2 after the message. */
static int count_option(int c, const char *arg, unsigned long *v)
{
    char *end = NULL;
    *v = strtoul(arg, &end, 10);
    if (*arg && !*end && !(c == O_SEEDS && (*v < 1 || *v > 10000)) &&
        !(c == O_REFRESH && (*v < 1 || *v > 1000000)))
        return 0;
    fprintf(stderr, "switchyard sim: --%s: expected a %s\n",
            c == O_SEEDS  ? "seeds"
            : c == O_SEED ? "seed"
                          : "refresh",
            c == O_SEEDS  ? "count from 1 to 10000"
            : c == O_SEED ? "non-negative integer"
                          : "count from 1");
    return 2;
}

/* One option into cli. Returns -1 to go on, or the exit status (help, usage error). */
static int take_option(sim_cli *cli, int c, char *arg)
{
    unsigned long v = 0;
    if ((c == O_SEEDS || c == O_SEED || c == O_REFRESH) && count_option(c, arg, &v) != 0)
        return 2;
    switch (c) {
    case O_RB:
        if (cli->n_routerbench == SY_ARRAY_LEN(cli->routerbench)) {
            fprintf(stderr, "switchyard sim: too many --routerbench paths\n");
            return 2;
        }
        cli->routerbench[cli->n_routerbench++] = arg;
        break;
    case O_RL:
        cli->routellm = arg;
        break;
    case O_JSONL:
        cli->jsonl = arg;
        break;
    case O_CACHE:
        cli->cache = arg;
        break;
    case O_SCEN:
        cli->scenario = arg;
        break;
    case O_LOG:
        cli->log = arg;
        break;
    case O_LOGROUTE:
        cli->log_route = arg;
        break;
    case O_OBD:
        cli->obd = arg;
        break;
    case O_OBDT:
        cli->obd_target = arg;
        break;
    case O_VALIDATE:
        cli->validate = 1;
        break;
    case O_BENCH:
        cli->bench = 1;
        break;
    case O_ROUTE:
        cli->route = arg;
        break;
    case O_POL:
        cli->policies = arg;
        break;
    case O_NOMODELS:
        cli->no_models = 1;
        break;
    case O_SEEDS:
        cli->seeds = (unsigned)v;
        break;
    case O_SEED:
        cli->seed0 = v;
        break;
    case O_REFRESH:
        cli->refresh = v;
        break;
    case O_REF:
        cli->reference = arg;
        break;
    case O_CSV:
        cli->csv = arg;
        break;
    case O_REPORT:
        cli->report = arg;
        break;
    case O_NOPROG:
        cli->no_progress = 1;
        break;
    case O_BYTASK:
        cli->by_task = 1;
        break;
    case O_ORACLES:
        cli->oracles = 1;
        break;
    case O_WARM:
        cli->warm = arg;
        break;
    case O_ALSO:
        if (cli->n_also == SY_ARRAY_LEN(cli->also)) {
            fprintf(stderr, "switchyard sim: at most 8 --also routes\n");
            return 2;
        }
        cli->also[cli->n_also++] = arg;
        break;
    case O_SEEDCSV:
        cli->seed_csv = arg;
        break;
    case O_TQ:
    case O_TC:
    case O_WARMW: {
        char *end = NULL;
        double d = strtod(arg, &end);
        if (!*arg || *end || !(d > 0) || !isfinite(d)) {
            fprintf(stderr, "switchyard sim: --%s: expected a positive number\n",
                    c == O_TQ   ? "target-quality"
                    : c == O_TC ? "target-cost"
                                : "warm-weight");
            return 2;
        }
        *(c == O_TQ ? &cli->target_quality : c == O_TC ? &cli->target_cost : &cli->warm_weight) = d;
        break;
    }
    case 'h':
        fputs(sy_sim_usage, stdout);
        return 0;
    default:
        fputs(sy_sim_usage, stderr);
        return 2;
    }
    return -1;
}

int sy_sim_parse_args(int argc, char **argv, sim_cli *cli)
{
    *cli = (sim_cli){.seed0 = 1, .refresh = 32};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int rc = take_option(cli, c, optarg);
        if (rc >= 0)
            return rc;
    }
    int inputs = (cli->n_routerbench > 0) + !!cli->routellm + !!cli->jsonl + !!cli->scenario +
                 !!cli->log + !!cli->obd;
    if (!cli->bench && inputs != 1) {
        fprintf(stderr, "switchyard sim: give exactly one data source\n\n%s", sy_sim_usage);
        return 2;
    }
    return -1;
}
