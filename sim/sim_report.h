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
} sy_sim_report_in;

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
