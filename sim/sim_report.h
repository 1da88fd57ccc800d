/*
 * sim_report: what `switchyard sim` prints and writes — the per-policy table on stdout,
 * a CSV with the same figures, and charts rendered by gnuplot into a report folder.
 */
#ifndef SY_SIM_REPORT_H
#define SY_SIM_REPORT_H

#include "sim_run.h"

#include <stdio.h>

typedef struct sy_sim_report_in {
    const sy_sim_result *res;
    const sy_sim_agent *agents;
    long reference;  /* agent index of the reference model (% columns), -1 = none */
    long best_fixed; /* agent index of the best fixed arm, -1 = none */
    const char *reference_name;
    /* Targets for a single run (0 = none): quality ≥ target_quality and cost ≤
     * target_cost, as fractions of the reference's when there is one, else absolute
     * (quality, USD per request). */
    double target_quality, target_cost;
    unsigned long seed0; /* the first seed, for the per-seed CSV */
} sy_sim_report_in;

/* The p-quantile (0..1) of n values, linear between order statistics (NAN when n = 0). */
double sy_sim_quantile(const double *v, size_t n, double p);
/* 1 when seed s of agent a meets every target of `in`; -1 when no target is set. */
int sy_sim_seed_meets(const sy_sim_report_in *in, size_t a, size_t s);
/* Per agent: p10 / median / p90 over seeds of quality, cost (and their % of the
 * reference) and utility, and the seeds meeting the targets. */
void sy_sim_report_spread(FILE *out, const sy_sim_report_in *in);
/* One row per agent and seed: seed, quality, cost, utility, regrets, % of reference,
 * meets_target. */
int sy_sim_report_seed_csv(const char *path, const sy_sim_report_in *in, char *err, size_t err_len);

/* Index of the fixed agent with the best mean utility, or -1. */
long sy_sim_best_fixed(const sy_sim_result *res, const sy_sim_agent *agents);
void sy_sim_report_table(FILE *out, const sy_sim_report_in *in);
/* Per task label: each learning agent's (and the reference's) mean quality and cost, and
 * the arms it served most. The labels come from the data, never from the policy. */
void sy_sim_report_tasks(FILE *out, const sy_sim_report_in *in, char *const *task_names,
                         char *const *arm_names);
int sy_sim_report_csv(const char *path, const sy_sim_report_in *in, char *err, size_t err_len);
/* Writes regret.dat, plane.dat, utility.dat and charts.gp into dir and renders
 * regret.svg, cost_quality.svg and utility.svg with gnuplot. `event_t` (or -1) marks a
 * scenario event on the time axes. SY_ERR_IO when the folder cannot be written;
 * SY_ERR_NOTFOUND (data and script written) when gnuplot is not installed. */
int sy_sim_report_charts(const char *dir, const sy_sim_report_in *in, long event_t, char *err,
                         size_t err_len);

#endif
