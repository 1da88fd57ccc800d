/*
 * sim_report: table, CSV and charts (see sim_report.h).
 *
 * Intervals are 95% Student-t intervals of the per-seed means: they say how much a
 * figure moves with the order prompts arrive in and the policy's own randomness, not
 * how it would move on another dataset. Deterministic agents (oracle, fixed) have none.
 */
#include "sim_report.h"

#include "sy_common.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

long sy_sim_best_fixed(const sy_sim_result *res, const sy_sim_agent *agents)
{
    long best = -1;
    double bu = 0;
    for (size_t a = 0; a < res->n_agents; a++) {
        if (agents[a].kind != SY_SIM_FIXED)
            continue;
        double m, h;
        sy_sim_mean_ci(res->agents[a].eu, res->seeds, &m, &h);
        if (best < 0 || m > bu) {
            best = (long)a;
            bu = m;
        }
    }
    return best;
}

static const char *display_name(const sy_sim_report_in *in, size_t a, char *buf, size_t n);

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double sy_sim_quantile(const double *v, size_t n, double p)
{
    if (!n)
        return NAN;
    double *t = sy_xmalloc(n * sizeof(double));
    memcpy(t, v, n * sizeof(double));
    qsort(t, n, sizeof(double), cmp_double);
    double h = p * (double)(n - 1);
    size_t lo = (size_t)floor(h), hi = lo + 1 < n ? lo + 1 : lo;
    double q = t[lo] + (h - (double)lo) * (t[hi] - t[lo]);
    free(t);
    return q;
}

/* Quality and cost of seed s of agent a, as fractions of the reference's when set. */
static void seed_rel(const sy_sim_report_in *in, size_t a, size_t s, double *q, double *c)
{
    const sy_sim_agent_result *r = &in->res->agents[a];
    *q = r->quality[s];
    *c = r->cost[s];
    if (in->reference >= 0) {
        const sy_sim_agent_result *ref = &in->res->agents[in->reference];
        *q /= ref->quality[s];
        *c /= ref->cost[s];
    }
}

int sy_sim_seed_meets(const sy_sim_report_in *in, size_t a, size_t s)
{
    if (!(in->target_quality > 0) && !(in->target_cost > 0))
        return -1;
    double q, c;
    seed_rel(in, a, s, &q, &c);
    return (!(in->target_quality > 0) || q >= in->target_quality) &&
           (!(in->target_cost > 0) || c <= in->target_cost);
}

/* Seeds of agent a meeting the targets (0 when none is set). */
static size_t seeds_meeting(const sy_sim_report_in *in, size_t a)
{
    size_t n = 0;
    for (size_t s = 0; s < in->res->seeds; s++)
        n += sy_sim_seed_meets(in, a, s) == 1;
    return n;
}

/* p10, median, p90 over seeds: which = 0 quality, 1 cost, 2 utility, 3 % ref quality,
 * 4 % ref cost (NAN without a reference). */
static void spread_of(const sy_sim_report_in *in, size_t a, int which, double out[3])
{
    const sy_sim_agent_result *r = &in->res->agents[a];
    size_t n = in->res->seeds;
    double *v = sy_xcalloc(n ? n : 1, sizeof(double));
    for (size_t s = 0; s < n; s++) {
        double q, c;
        if (which >= 3 && in->reference < 0) {
            out[0] = out[1] = out[2] = NAN;
            free(v);
            return;
        }
        seed_rel(in, a, s, &q, &c);
        v[s] = which == 0   ? r->quality[s]
               : which == 1 ? r->cost[s]
               : which == 2 ? r->utility[s]
               : which == 3 ? 100 * q
                            : 100 * c;
    }
    static const double ps[3] = {0.1, 0.5, 0.9};
    for (int i = 0; i < 3; i++)
        out[i] = sy_sim_quantile(v, n, ps[i]);
    free(v);
}

void sy_sim_report_spread(FILE *out, const sy_sim_report_in *in)
{
    const sy_sim_result *res = in->res;
    int rel = in->reference >= 0;
    int targets = in->target_quality > 0 || in->target_cost > 0;
    fprintf(out, "\ndistribution over the %zu seeds (p10 / median / p90 of the per-seed means)%s\n",
            res->seeds, rel ? ", quality and cost in % of the reference" : "");
    fprintf(out, "%-40s %23s %26s %26s", "policy", "quality", "cost", "utility");
    if (targets)
        fprintf(out, " %12s", "meet target");
    fputc('\n', out);
    for (size_t a = 0; a < res->n_agents; a++) {
        double q[3], c[3], u[3];
        spread_of(in, a, rel ? 3 : 0, q);
        spread_of(in, a, rel ? 4 : 1, c);
        spread_of(in, a, 2, u);
        char name[160];
        fprintf(out, "%-40.40s", display_name(in, a, name, sizeof(name)));
        if (rel)
            fprintf(out, " %7.1f %7.1f %7.1f %8.1f %8.1f %8.1f", q[0], q[1], q[2], c[0], c[1],
                    c[2]);
        else
            fprintf(out, " %7.4f %7.4f %7.4f %8.6f %8.6f %8.6f", q[0], q[1], q[2], c[0], c[1],
                    c[2]);
        fprintf(out, " %8.4f %8.4f %8.4f", u[0], u[1], u[2]);
        if (targets)
            fprintf(out, " %6zu/%-5zu", seeds_meeting(in, a), res->seeds);
        fputc('\n', out);
    }
    if (targets) {
        fprintf(out, "target for one run:");
        if (in->target_quality > 0)
            fprintf(out, " quality ≥ %g%s", rel ? 100 * in->target_quality : in->target_quality,
                    rel ? "% of the reference's" : "");
        if (in->target_cost > 0)
            fprintf(out, "%s cost ≤ %g%s", in->target_quality > 0 ? " and" : "",
                    rel ? 100 * in->target_cost : in->target_cost,
                    rel ? "% of the reference's" : " USD per request");
        fputc('\n', out);
    }
}

typedef struct row_stats {
    double q, qh, c, ch, u, uh, ro, roh, rb, rbh, pq, pqh, pc, pch;
} row_stats;

static void stats_of(const sy_sim_report_in *in, size_t a, row_stats *s)
{
    const sy_sim_result *res = in->res;
    const sy_sim_agent_result *r = &res->agents[a];
    size_t n = res->seeds;
    double *tmp = sy_xcalloc(n ? n : 1, sizeof(double));
    sy_sim_mean_ci(r->quality, n, &s->q, &s->qh);
    sy_sim_mean_ci(r->cost, n, &s->c, &s->ch);
    sy_sim_mean_ci(r->utility, n, &s->u, &s->uh);
    sy_sim_mean_ci(r->regret_oracle, n, &s->ro, &s->roh);
    s->rb = s->rbh = s->pq = s->pqh = s->pc = s->pch = NAN;
    if (in->best_fixed >= 0) {
        for (size_t i = 0; i < n; i++)
            tmp[i] = res->agents[in->best_fixed].eu[i] - r->eu[i];
        sy_sim_mean_ci(tmp, n, &s->rb, &s->rbh);
    }
    if (in->reference >= 0) {
        const sy_sim_agent_result *ref = &res->agents[in->reference];
        for (size_t i = 0; i < n; i++)
            tmp[i] = 100 * r->quality[i] / ref->quality[i];
        sy_sim_mean_ci(tmp, n, &s->pq, &s->pqh);
        for (size_t i = 0; i < n; i++)
            tmp[i] = 100 * r->cost[i] / ref->cost[i];
        sy_sim_mean_ci(tmp, n, &s->pc, &s->pch);
    }
    free(tmp);
}

static const char *display_name(const sy_sim_report_in *in, size_t a, char *buf, size_t n)
{
    if ((long)a == in->best_fixed)
        snprintf(buf, n, "%s *", in->agents[a].name);
    else
        snprintf(buf, n, "%s", in->agents[a].name);
    return buf;
}

void sy_sim_report_table(FILE *out, const sy_sim_report_in *in)
{
    const sy_sim_result *res = in->res;
    fprintf(out,
            "%zu requests per seed, %zu seeds; mean per request, ± 95%% interval across seeds\n",
            res->steps, res->seeds);
    fprintf(out, "%-40s %17s %21s %17s %17s %17s", "policy", "quality", "cost $", "utility",
            "regret/oracle", "regret/best-fixed");
    if (in->reference >= 0)
        fprintf(out, " %15s %15s", "% ref quality", "% ref cost");
    fputc('\n', out);
    for (size_t a = 0; a < res->n_agents; a++) {
        row_stats s;
        stats_of(in, a, &s);
        char name[160];
        fprintf(out, "%-40.40s %8.4f ±%7.4f %10.6f ±%9.6f %8.4f ±%7.4f %8.4f ±%7.4f",
                display_name(in, a, name, sizeof(name)), s.q, s.qh, s.c, s.ch, s.u, s.uh, s.ro,
                s.roh);
        if (in->best_fixed >= 0)
            fprintf(out, " %8.4f ±%7.4f", s.rb, s.rbh);
        else
            fprintf(out, " %17s", "-"); /* no single model in the run */
        if (in->reference >= 0)
            fprintf(out, " %7.1f ±%6.1f %7.1f ±%6.1f", s.pq, s.pqh, s.pc, s.pch);
        fputc('\n', out);
    }
    if (in->best_fixed >= 0)
        fprintf(out, "* best fixed arm in hindsight");
    if (in->reference >= 0)
        fprintf(out, "%sreference for %% columns: %s", in->best_fixed >= 0 ? "; " : "",
                in->reference_name);
    fputc('\n', out);
}

void sy_sim_report_tasks(FILE *out, const sy_sim_report_in *in, char *const *task_names,
                         char *const *arm_names)
{
    const sy_sim_result *res = in->res;
    size_t K = res->n_arms;
    if (!res->n_tasks)
        return;
    fprintf(out, "\nper task (labels from the data; policies never see them):\n");
    for (size_t t = 0; t < res->n_tasks; t++) {
        fprintf(out, "%s\n", task_names[t]);
        for (size_t a = 0; a < res->n_agents; a++) {
            const sy_sim_agent_result *r = &res->agents[a];
            if (in->agents[a].kind == SY_SIM_FIXED && (long)a != in->reference &&
                (long)a != in->best_fixed)
                continue;
            double n = r->task_n[t];
            if (!(n > 0))
                continue;
            fprintf(out, "  %-34.34s quality %.4f  cost $%.6f  arms:", in->agents[a].name,
                    r->task_q[t] / n, r->task_c[t] / n);
            /* the arms served most: up to six, those with at least 2% of the task */
            int used[SY_POLICY_MAX_ARMS] = {0};
            for (int top = 0; top < 6; top++) {
                long best = -1;
                for (size_t k = 0; k < K; k++)
                    if (!used[k] &&
                        (best < 0 || r->task_arm[t * K + k] > r->task_arm[t * K + best]))
                        best = (long)k;
                if (best < 0 || r->task_arm[t * K + best] <= 0 ||
                    (top > 0 && r->task_arm[t * K + best] < 0.02 * n))
                    break;
                used[best] = 1;
                fprintf(out, " %s %.0f%%", arm_names[best], 100 * r->task_arm[t * K + best] / n);
            }
            fputc('\n', out);
        }
    }
}

static void csv_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int sy_sim_report_csv(const char *path, const sy_sim_report_in *in, char *err, size_t err_len)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, err_len, "cannot write %s: %s", path, strerror(errno));
        return SY_ERR_IO;
    }
    fprintf(f, "policy,kind,seeds,requests,quality,quality_ci95,cost_usd,cost_ci95,utility,"
               "utility_ci95,regret_oracle,regret_oracle_ci95,regret_best_fixed,"
               "regret_best_fixed_ci95,pct_ref_quality,pct_ref_quality_ci95,pct_ref_cost,"
               "pct_ref_cost_ci95,best_fixed,quality_p10,quality_p50,quality_p90,cost_p10,"
               "cost_p50,cost_p90,utility_p10,utility_p50,utility_p90,pct_ref_quality_p10,"
               "pct_ref_quality_p50,pct_ref_quality_p90,pct_ref_cost_p10,pct_ref_cost_p50,"
               "pct_ref_cost_p90,seeds_meeting_target\n");
    static const char *const kinds[] = {"policy", "oracle", "fixed", "oracle"};
    for (size_t a = 0; a < in->res->n_agents; a++) {
        row_stats s;
        stats_of(in, a, &s);
        csv_str(f, in->agents[a].name);
        fprintf(f, ",%s,%zu,%zu", kinds[in->agents[a].kind], in->res->seeds, in->res->steps);
        double v[] = {s.q,   s.qh, s.c,   s.ch, s.u,   s.uh, s.ro,
                      s.roh, s.rb, s.rbh, s.pq, s.pqh, s.pc, s.pch};
        for (size_t j = 0; j < SY_ARRAY_LEN(v); j++) {
            if (isnan(v[j]))
                fputs(",", f);
            else
                fprintf(f, ",%.9g", v[j]);
        }
        fprintf(f, ",%d", (long)a == in->best_fixed);
        for (int w = 0; w < 5; w++) {
            double sp[3];
            spread_of(in, a, w, sp);
            for (int i = 0; i < 3; i++) {
                if (isnan(sp[i]))
                    fputs(",", f);
                else
                    fprintf(f, ",%.9g", sp[i]);
            }
        }
        if (in->target_quality > 0 || in->target_cost > 0)
            fprintf(f, ",%zu\n", seeds_meeting(in, a));
        else
            fputs(",\n", f);
    }
    if (fclose(f) != 0) {
        snprintf(err, err_len, "cannot write %s", path);
        return SY_ERR_IO;
    }
    return SY_OK;
}

int sy_sim_report_seed_csv(const char *path, const sy_sim_report_in *in, char *err, size_t err_len)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, err_len, "cannot write %s: %s", path, strerror(errno));
        return SY_ERR_IO;
    }
    fprintf(f, "policy,kind,seed,requests,quality,cost_usd,utility,regret_oracle,"
               "regret_best_fixed,pct_ref_quality,pct_ref_cost,meets_target\n");
    static const char *const kinds[] = {"policy", "oracle", "fixed", "oracle"};
    const sy_sim_result *res = in->res;
    for (size_t a = 0; a < res->n_agents; a++) {
        const sy_sim_agent_result *r = &res->agents[a];
        for (size_t s = 0; s < res->seeds; s++) {
            csv_str(f, in->agents[a].name);
            fprintf(f, ",%s,%lu,%zu,%.9g,%.9g,%.9g,%.9g", kinds[in->agents[a].kind], in->seed0 + s,
                    res->steps, r->quality[s], r->cost[s], r->utility[s], r->regret_oracle[s]);
            if (in->best_fixed >= 0)
                fprintf(f, ",%.9g", res->agents[in->best_fixed].eu[s] - r->eu[s]);
            else
                fputs(",", f);
            if (in->reference >= 0) {
                double q, c;
                seed_rel(in, a, s, &q, &c);
                fprintf(f, ",%.9g,%.9g", 100 * q, 100 * c);
            } else {
                fputs(",,", f);
            }
            int m = sy_sim_seed_meets(in, a, s);
            if (m < 0)
                fputs(",\n", f);
            else
                fprintf(f, ",%d\n", m);
        }
    }
    if (fclose(f) != 0) {
        snprintf(err, err_len, "cannot write %s", path);
        return SY_ERR_IO;
    }
    return SY_OK;
}

static FILE *open_in(const char *dir, const char *name, sy_buf *path)
{
    sy_buf_reset(path);
    sy_buf_printf(path, "%s/%s", dir, name);
    return fopen(path->data, "w");
}

/* gnuplot wants its own quoting: single-quoted strings double a single quote. */
static void gp_str(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

/* Quality-axis heights for the plane's labels: each point's mean quality, moved apart
 * (in quality order) so that labels of points closer than 3% of the quality range, and
 * close in cost, no longer print over each other. Clears *log_cost when a cost interval
 * reaches 0 (no log axis then). Returns n_agents heights (malloc'd). */
static double *plane_label_heights(const sy_sim_result *res, int *log_cost)
{
    size_t n = res->n_agents;
    double *q = sy_xcalloc(n, sizeof(double)), *c = sy_xcalloc(n, sizeof(double));
    double *y = sy_xcalloc(n, sizeof(double));
    size_t *idx = sy_xcalloc(n, sizeof(size_t));
    double lo = INFINITY, hi = -INFINITY;
    for (size_t a = 0; a < n; a++) {
        double qh, ch;
        sy_sim_mean_ci(res->agents[a].quality, res->seeds, &q[a], &qh);
        sy_sim_mean_ci(res->agents[a].cost, res->seeds, &c[a], &ch);
        if (!(c[a] - ch > 0))
            *log_cost = 0;
        y[a] = q[a];
        idx[a] = a;
        lo = q[a] < lo ? q[a] : lo;
        hi = q[a] > hi ? q[a] : hi;
    }
    for (size_t i = 1; i < n; i++) /* insertion sort by quality */
        for (size_t j = i; j > 0 && q[idx[j - 1]] > q[idx[j]]; j--) {
            size_t t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    double gap = (hi > lo ? hi - lo : 1) * 0.03;
    for (size_t i = 1; i < n; i++) {
        size_t a = idx[i];
        for (size_t j = 0; j < i; j++) { /* clear every lower label near in cost */
            size_t b = idx[j];
            double near_cost =
                c[a] > 0 && c[b] > 0 ? fabs(log10(c[a] / c[b])) < 0.15 : fabs(c[a] - c[b]) < 1e-12;
            if (near_cost && y[a] - y[b] < gap)
                y[a] = y[b] + gap;
        }
    }
    free(q);
    free(c);
    free(idx);
    return y;
}

/* The gnuplot commands of cost_quality.svg (plane.dat's columns: see its writer). */
static void plane_plot(FILE *gp, int log_cost)
{
    fprintf(gp,
            "set output 'cost_quality.svg'\nset title 'Cost-quality plane (mean per request; "
            "bars: 95%% interval across seeds)'\nset xlabel 'mean cost per request (USD%s)'\n"
            "set ylabel 'mean quality'\n%sset format x '%%g'\n",
            log_cost ? ", log scale" : "", log_cost ? "set logscale x\n" : "");
    /* bars in each kind's colour, drawn over by the points; labels at their moved
     * heights with a thin leader to the point; the best fixed arm ringed */
    fputs(
        "plot 'plane.dat' using 1:($5==2?$2:1/0):3:4 with xyerrorbars lw 1.5 lc rgb '#1f77b4' "
        "notitle, \\\n"
        "     '' using 1:($5==0?$2:1/0):3:4 with xyerrorbars lw 1.5 lc rgb '#d62728' notitle, \\\n"
        "     '' using 1:($5==2?$2:1/0) with points pt 7 ps 1.2 lc rgb '#1f77b4' title 'single "
        "model', \\\n"
        "     '' using 1:($5==0?$2:1/0) with points pt 5 ps 1.4 lc rgb '#d62728' title 'policy', "
        "\\\n"
        "     '' using 1:($5==1?$2:1/0) with points pt 9 ps 1.6 lc rgb '#2ca02c' title 'oracle', "
        "\\\n"
        "     '' using 1:($8==1?$2:1/0) with points pt 6 ps 2.6 lw 2 lc rgb '#000000' title "
        "'best single model in hindsight', \\\n"
        "     '' using 1:7:6 with labels offset 1.6,0 left font ',9' noenhanced notitle\n",
        gp);
}

int sy_sim_report_charts(const char *dir, const sy_sim_report_in *in, long event_t, char *err,
                         size_t err_len)
{
    const sy_sim_result *res = in->res;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        snprintf(err, err_len, "cannot create %s: %s", dir, strerror(errno));
        return SY_ERR_IO;
    }
    sy_buf path = {0};
    FILE *reg = open_in(dir, "regret.dat", &path);
    FILE *ut = reg ? open_in(dir, "utility.dat", &path) : NULL;
    FILE *pl = ut ? open_in(dir, "plane.dat", &path) : NULL;
    FILE *gp = pl ? open_in(dir, "charts.gp", &path) : NULL;
    if (!gp) {
        snprintf(err, err_len, "cannot write %s: %s", path.data, strerror(errno));
        if (reg)
            fclose(reg);
        if (ut)
            fclose(ut);
        if (pl)
            fclose(pl);
        sy_buf_free(&path);
        return SY_ERR_IO;
    }
    /* time series: one column per agent */
    size_t P = res->curve_points;
    for (size_t p = 0; p < P; p++) {
        size_t t_end = sy_sim_bucket_end(p, res->steps, P);
        fprintf(reg, "%zu", t_end);
        fprintf(ut, "%zu", t_end);
        for (size_t a = 0; a < res->n_agents; a++) {
            fprintf(reg, " %.9g", res->agents[a].cum_regret[p]);
            fprintf(ut, " %.9g", res->agents[a].eu_curve[p]);
        }
        fputc('\n', reg);
        fputc('\n', ut);
    }
    /* the plane: cost, quality, kind (0 policy, 1 oracle, 2 fixed), name, the label's
     * height (moved apart from its neighbours'), best fixed arm (1) */
    int log_cost = 1; /* a log axis needs every cost > 0 */
    double *label_y = plane_label_heights(res, &log_cost);
    for (size_t a = 0; a < res->n_agents; a++) {
        double q, qh, c, ch;
        sy_sim_mean_ci(res->agents[a].quality, res->seeds, &q, &qh);
        sy_sim_mean_ci(res->agents[a].cost, res->seeds, &c, &ch);
        int kind = in->agents[a].kind == SY_SIM_TABLE ? SY_SIM_ORACLE : (int)in->agents[a].kind;
        fprintf(pl, "%.9g %.9g %.9g %.9g %d \"", c, q, ch, qh, kind);
        for (const char *s = in->agents[a].name; *s; s++)
            fputc(*s == '"' ? '\'' : *s, pl);
        fprintf(pl, "\" %.9g %d\n", label_y[a], (long)a == in->best_fixed);
    }
    free(label_y);
    fputs("# written by switchyard sim; re-render with: gnuplot charts.gp\n"
          "set terminal svg size 960,600 dynamic enhanced font 'Helvetica,12'\n"
          "set key below noenhanced\nset grid\nset format x '%g'\n",
          gp);
    fputs("set output 'regret.svg'\nset title 'Cumulative regret against the oracle (mean over "
          "seeds)'\nset xlabel 'request'\nset ylabel 'cumulative regret (utility)'\n",
          gp);
    if (event_t >= 0)
        fprintf(gp, "set arrow 1 from %ld, graph 0 to %ld, graph 1 nohead dt 2\n", event_t,
                event_t);
    fputs("plot ", gp);
    size_t col = 0;
    for (size_t a = 0; a < res->n_agents; a++) {
        if (in->agents[a].kind == SY_SIM_ORACLE || in->agents[a].kind == SY_SIM_TABLE ||
            (in->agents[a].kind == SY_SIM_FIXED && (long)a != in->best_fixed &&
             (long)a != in->reference))
            continue;
        fprintf(gp, "%s'regret.dat' using 1:%zu with lines lw 2 title ", col++ ? ", " : "", a + 2);
        gp_str(gp, in->agents[a].name);
    }
    fputs("\n", gp);
    fputs("set output 'utility.svg'\nset title 'Expected utility per request over time (mean "
          "over seeds, per bucket)'\nset ylabel 'utility'\n",
          gp);
    fputs("plot ", gp);
    col = 0;
    for (size_t a = 0; a < res->n_agents; a++) {
        if (in->agents[a].kind == SY_SIM_FIXED && (long)a != in->best_fixed &&
            (long)a != in->reference)
            continue;
        fprintf(gp, "%s'utility.dat' using 1:%zu with lines lw 2 title ", col++ ? ", " : "", a + 2);
        gp_str(gp, in->agents[a].name);
    }
    fputs("\nunset arrow 1\n", gp);
    plane_plot(gp, log_cost);
    fclose(reg);
    fclose(ut);
    fclose(pl);
    fclose(gp);
    sy_buf_reset(&path);
    sy_buf_printf(&path, "cd '%s' && gnuplot charts.gp 2>gnuplot.log", dir);
    int rc = system("command -v gnuplot >/dev/null 2>&1");
    if (rc != 0) {
        snprintf(err, err_len,
                 "gnuplot is not installed: data and charts.gp are in %s (scripts/install-deps.sh "
                 "test installs it)",
                 dir);
        sy_buf_free(&path);
        return SY_ERR_NOTFOUND;
    }
    rc = system(path.data);
    sy_buf_free(&path);
    if (rc != 0) {
        snprintf(err, err_len, "gnuplot failed (see %s/gnuplot.log)", dir);
        return SY_ERR_IO;
    }
    return SY_OK;
}
