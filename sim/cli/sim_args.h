/*
 * sim_args: the command line of `switchyard sim` — its usage text and the options,
 * parsed into a sim_cli that cmd_sim.c runs (private to sim/cli/).
 */
#ifndef SY_SIM_ARGS_H
#define SY_SIM_ARGS_H

#include "config.h"
#include "sim_data.h"

#include <stddef.h>

extern const char sy_sim_usage[];

typedef struct sim_cli {
    const char *routerbench[16];
    size_t n_routerbench;
    const char *routellm, *jsonl, *scenario, *log, *log_route, *obd, *obd_target;
    const char *route, *policies, *reference, *csv, *report, *seed_csv;
    double target_quality, target_cost;
    const char *warm;  /* --warm PATH */
    const char *cache; /* --cache FILE: the cache scenario (cmd_sim_cache.c) */
    double warm_weight;
    const char *also[8];
    size_t n_also;
    int validate, bench, no_models, no_progress, by_task, oracles;
    unsigned seeds;
    unsigned long seed0;
    size_t refresh;
} sim_cli;

/* Parse argv into cli. Returns -1 to run it, or the exit status: 0 after --help, 2 after
 * a usage error (reported on stderr). */
int sy_sim_parse_args(int argc, char **argv, sim_cli *cli);

/* cmd_sim_cache.c: `switchyard sim --cache FILE DATA` on the dataset and route block that
 * cmd_sim.c loaded (restricted to the route's candidates; the caller keeps and frees
 * them). Returns the exit status. */
int sy_sim_cli_run_cache(const sim_cli *cli, const sy_sim_dataset *ds, const sy_route_cfg *r);

#endif
