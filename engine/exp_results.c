/* exp_results: see exp_results.h. */
#include "exp_results.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SRM_ALPHA 0.001 /* an SRM this unlikely under the design means a broken pipeline */

static double num_or(const cJSON *o, const char *k, double d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : d;
}

static const char *str_or(const cJSON *o, const char *k, const char *d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : d;
}

static cJSON *num(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static void add_num(cJSON *o, const char *k, double v)
{
    cJSON_AddItemToObject(o, k, num(v));
}

static cJSON *interval(double value, double lo, double hi)
{
    cJSON *o = cJSON_CreateObject();
    add_num(o, "value", value);
    add_num(o, "lo", lo);
    add_num(o, "hi", hi);
    return o;
}

/* Mean and (1 − alpha) interval of cost per request for a variant. */
static void cost_per_request(sy_exp_unit unit, const sy_exp_variant_agg *v, double alpha,
                             double *mean, double *lo, double *hi)
{
    *mean = *lo = *hi = NAN;
    if (v->requests < 1)
        return;
    double se;
    if (unit == SY_EXP_UNIT_REQUEST) {
        *mean = v->cost_sum / v->requests;
        if (v->requests < 2)
            return;
        double var = (v->cost_sq - v->requests * *mean * *mean) / (v->requests - 1);
        se = sqrt(var > 0 ? var / v->requests : 0);
    } else {
        double var;
        sy_stats_ratio_delta(&v->cost, mean, &var);
        se = sqrt(var > 0 ? var : 0);
    }
    double z = gsl_cdf_ugaussian_Qinv(alpha / 2);
    *lo = *mean - z * se;
    *hi = *mean + z * se;
}

/* Cost per request of treatment against control (Welch, or delta-method Welch). */
static void cost_compare(sy_exp_unit unit, const sy_exp_variant_agg *c, const sy_exp_variant_agg *t,
                         double alpha, sy_comparison *out)
{
    if (unit == SY_EXP_UNIT_REQUEST) {
        sy_mean_moments mc = {c->requests, c->requests ? c->cost_sum / c->requests : NAN, NAN};
        sy_mean_moments mt = {t->requests, t->requests ? t->cost_sum / t->requests : NAN, NAN};
        if (c->requests > 1)
            mc.var = (c->cost_sq - c->requests * mc.mean * mc.mean) / (c->requests - 1);
        if (t->requests > 1)
            mt.var = (t->cost_sq - t->requests * mt.mean * mt.mean) / (t->requests - 1);
        sy_stats_welch_t(&mc, &mt, alpha, out);
    } else {
        sy_stats_ratio_welch(&c->cost, &t->cost, alpha, out);
    }
}

typedef struct guard {
    const char *name;
    double control, treatment, change, limit;
    int relative, significant, breached;
} guard;

static cJSON *guard_json(const guard *g)
{
    cJSON *o = cJSON_CreateObject();
    add_num(o, "control", g->control);
    add_num(o, "treatment", g->treatment);
    add_num(o, g->relative ? "relative_change" : "absolute_change", g->change);
    add_num(o, "limit", g->limit);
    cJSON_AddBoolToObject(o, "significant", g->significant);
    cJSON_AddBoolToObject(o, "breached", g->breached);
    return o;
}

void sy_exp_results_json(const cJSON *doc, const sy_exp_agg *agg, sy_buf *out)
{
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(doc, "definition");
    const cJSON *guards = cJSON_GetObjectItemCaseSensitive(def, "guardrails");
    const char *unit_s = str_or(def, "unit", "user");
    sy_exp_unit unit = strcmp(unit_s, "request") == 0        ? SY_EXP_UNIT_REQUEST
                       : strcmp(unit_s, "conversation") == 0 ? SY_EXP_UNIT_CONVERSATION
                                                             : SY_EXP_UNIT_USER;
    double alpha = num_or(def, "alpha", 0.05), tau = num_or(def, "msprt_tau", 0.05);
    double min_samples = num_or(def, "min_samples", 100);
    /* the definition's variants, in order (control first), joined with the aggregates */
    sy_exp_variant_agg v[SY_EXP_MAX_VARIANTS];
    double weights[SY_EXP_MAX_VARIANTS], units[SY_EXP_MAX_VARIANTS];
    size_t k = 0;
    const cJSON *var;
    cJSON_ArrayForEach(var, cJSON_GetObjectItemCaseSensitive(def, "variants"))
    {
        if (k == SY_EXP_MAX_VARIANTS)
            break;
        memset(&v[k], 0, sizeof(v[k]));
        v[k].always_valid_p = 1;
        snprintf(v[k].name, sizeof(v[k].name), "%s", str_or(var, "name", ""));
        for (size_t i = 0; i < agg->n; i++)
            if (strcmp(agg->v[i].name, v[k].name) == 0)
                v[k] = agg->v[i];
        weights[k] = num_or(var, "weight", 1);
        units[k] = v[k].units;
        k++;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "id", str_or(doc, "id", ""));
    cJSON_AddStringToObject(root, "status", str_or(doc, "status", ""));
    cJSON_AddStringToObject(root, "unit", unit_s);
    add_num(root, "allocation_version", num_or(doc, "allocation_version", 1));
    add_num(root, "alpha", alpha);
    cJSON_AddStringToObject(root, "primary_metric", "thumbs_up_rate");

    cJSON *vars = cJSON_AddArrayToObject(root, "variants");
    for (size_t i = 0; i < k; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", v[i].name);
        cJSON_AddBoolToObject(o, "control", i == 0);
        add_num(o, "design_weight", weights[i]);
        add_num(o, "units", v[i].units);
        add_num(o, "requests", v[i].requests);
        add_num(o, "rated", v[i].rated);
        add_num(o, "thumbs_up", v[i].up);
        sy_prop_moments pm = {v[i].up, v[i].rated};
        double lo = NAN, hi = NAN;
        if (v[i].rated > 0)
            sy_stats_wilson(&pm, alpha, &lo, &hi);
        cJSON_AddItemToObject(o, "thumbs_up_rate",
                              interval(v[i].rated > 0 ? v[i].up / v[i].rated : NAN, lo, hi));
        add_num(o, "feedback_coverage", v[i].requests > 0 ? v[i].rated / v[i].requests : NAN);
        double m, clo, chi;
        cost_per_request(unit, &v[i], alpha, &m, &clo, &chi);
        cJSON_AddItemToObject(o, "cost_per_request_usd", interval(m, clo, chi));
        add_num(o, "tokens_per_request", v[i].requests > 0 ? v[i].tokens_sum / v[i].requests : NAN);
        cJSON *lat = cJSON_AddObjectToObject(o, "latency_ms");
        add_num(lat, "p50", sy_exp_latency_quantile(&v[i], 0.5));
        add_num(lat, "p95", sy_exp_latency_quantile(&v[i], 0.95));
        sy_prop_moments em = {v[i].errors, v[i].requests};
        lo = hi = NAN;
        if (v[i].requests > 0)
            sy_stats_wilson(&em, alpha, &lo, &hi);
        cJSON_AddItemToObject(
            o, "error_rate",
            interval(v[i].requests > 0 ? v[i].errors / v[i].requests : NAN, lo, hi));
        cJSON_AddItemToArray(vars, o);
    }

    /* comparisons against control */
    sy_comparison cmp[SY_EXP_MAX_VARIANTS];
    double p[SY_EXP_MAX_VARIANTS], avp[SY_EXP_MAX_VARIANTS], holm[SY_EXP_MAX_VARIANTS],
        avp_holm[SY_EXP_MAX_VARIANTS];
    for (size_t i = 1; i < k; i++) {
        sy_exp_primary_compare(unit, &v[0], &v[i], alpha, &cmp[i]);
        p[i - 1] = isfinite(cmp[i].p_value) ? cmp[i].p_value : 1;
        avp[i - 1] = v[i].always_valid_p;
    }
    if (k > 1) {
        sy_stats_holm(p, k - 1, holm);
        sy_stats_holm(avp, k - 1, avp_holm);
    }
    cJSON *cmps = cJSON_AddArrayToObject(root, "comparisons");
    int any_breach = 0, all_min = k > 1;
    const char *breach_variant = NULL, *breach_name = NULL;
    size_t best = 0;
    double best_lift = 0;
    for (size_t i = 0; i < k; i++)
        if (v[i].rated < min_samples)
            all_min = 0;
    for (size_t i = 1; i < k; i++) {
        const sy_comparison *c = &cmp[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "variant", v[i].name);
        cJSON_AddStringToObject(o, "metric", "thumbs_up_rate");
        cJSON_AddStringToObject(
            o, "test", unit == SY_EXP_UNIT_REQUEST ? "two_proportion_z" : "welch_t_delta_method");
        add_num(o, "control", c->control);
        add_num(o, "treatment", c->treatment);
        cJSON *lift = cJSON_AddObjectToObject(o, "lift");
        add_num(lift, "absolute", c->diff);
        add_num(lift, "absolute_lo", c->diff_lo);
        add_num(lift, "absolute_hi", c->diff_hi);
        add_num(lift, "relative", c->rel);
        add_num(lift, "relative_lo", c->rel_lo);
        add_num(lift, "relative_hi", c->rel_hi);
        add_num(o, "statistic", c->stat);
        add_num(o, "df", c->df);
        add_num(o, "p_value", c->p_value);
        add_num(o, "p_value_holm", holm[i - 1]);
        /* the sequential test: valid at every look */
        double dvar = NAN;
        if (unit == SY_EXP_UNIT_REQUEST) {
            if (v[0].rated > 0 && v[i].rated > 0) {
                double pc = v[0].up / v[0].rated, pt = v[i].up / v[i].rated;
                dvar = pc * (1 - pc) / v[0].rated + pt * (1 - pt) / v[i].rated;
            }
        } else {
            double r0, r1, v0, v1;
            sy_stats_ratio_delta(&v[0].ratings, &r0, &v0);
            sy_stats_ratio_delta(&v[i].ratings, &r1, &v1);
            dvar = v0 + v1;
        }
        double cs_lo = NAN, cs_hi = NAN;
        if (dvar > 0 && isfinite(c->diff))
            sy_stats_msprt_cs(c->diff, dvar, tau * tau, alpha, &cs_lo, &cs_hi);
        cJSON *seq = cJSON_AddObjectToObject(o, "sequential");
        add_num(seq, "always_valid_p", avp[i - 1]);
        add_num(seq, "always_valid_p_holm", avp_holm[i - 1]);
        add_num(seq, "confidence_sequence_lo", cs_lo);
        add_num(seq, "confidence_sequence_hi", cs_hi);
        double pb = NAN, loss = NAN;
        sy_prop_moments pc = {v[0].up, v[0].rated}, pt = {v[i].up, v[i].rated};
        sy_stats_beta_beat(&pc, &pt, 1, 1, &pb, &loss);
        cJSON *bayes = cJSON_AddObjectToObject(o, "bayesian");
        add_num(bayes, "p_beat_control", pb);
        add_num(bayes, "expected_loss", loss);

        /* guardrails: a breach is an increase past the limit that is also significant */
        guard g[3];
        size_t ng = 0;
        const cJSON *lim;
        sy_comparison cc;
        cost_compare(unit, &v[0], &v[i], alpha, &cc);
        if ((lim = cJSON_GetObjectItemCaseSensitive(guards, "cost_per_request_max_increase"))) {
            g[ng] = (guard){"cost_per_request", cc.control, cc.treatment,   cc.rel,
                            lim->valuedouble,   1,          cc.diff_lo > 0, 0};
            g[ng].breached = isfinite(cc.rel) && cc.rel > lim->valuedouble && g[ng].significant;
            ng++;
        }
        if ((lim = cJSON_GetObjectItemCaseSensitive(guards, "p95_latency_max_increase"))) {
            double l0 = sy_exp_latency_quantile(&v[0], 0.95),
                   l1 = sy_exp_latency_quantile(&v[i], 0.95);
            double ch = l0 > 0 ? l1 / l0 - 1 : NAN;
            int enough = v[0].requests >= min_samples && v[i].requests >= min_samples;
            g[ng] = (guard){"p95_latency", l0, l1, ch, lim->valuedouble, 1, enough, 0};
            g[ng].breached = enough && isfinite(ch) && ch > lim->valuedouble;
            ng++;
        }
        if ((lim = cJSON_GetObjectItemCaseSensitive(guards, "error_rate_max_increase"))) {
            sy_prop_moments e0 = {v[0].errors, v[0].requests}, e1 = {v[i].errors, v[i].requests};
            sy_comparison ec;
            sy_stats_two_prop_z(&e0, &e1, alpha, &ec);
            g[ng] = (guard){"error_rate",     ec.control, ec.treatment,   ec.diff,
                            lim->valuedouble, 0,          ec.diff_lo > 0, 0};
            g[ng].breached = isfinite(ec.diff) && ec.diff > lim->valuedouble && g[ng].significant;
            ng++;
        }
        cJSON *gj = cJSON_AddObjectToObject(o, "guardrails");
        for (size_t j = 0; j < ng; j++) {
            cJSON_AddItemToObject(gj, g[j].name, guard_json(&g[j]));
            if (g[j].breached && !any_breach) {
                any_breach = 1;
                breach_variant = v[i].name;
                breach_name = g[j].name;
            }
        }
        cJSON *cost = cJSON_AddObjectToObject(o, "cost_per_request_usd");
        add_num(cost, "absolute", cc.diff);
        add_num(cost, "absolute_lo", cc.diff_lo);
        add_num(cost, "absolute_hi", cc.diff_hi);
        add_num(cost, "relative", cc.rel);
        add_num(cost, "p_value", cc.p_value);
        if (avp_holm[i - 1] < alpha && c->diff > 0 && pb >= 0.95 && c->diff > best_lift) {
            best = i;
            best_lift = c->diff;
        }
        cJSON_AddItemToArray(cmps, o);
    }

    /* sample ratio mismatch on units: each allocation version's units are expected in
     * that version's proportions */
    double chi2 = NAN, srm_p = NAN, total_units = 0, expected[SY_EXP_MAX_VARIANTS] = {0};
    for (size_t i = 0; i < k; i++)
        total_units += units[i];
    const cJSON *hist = cJSON_GetObjectItemCaseSensitive(doc, "allocation_history");
    for (int ver = 1; ver <= SY_EXP_MAX_ALLOCS; ver++) {
        const cJSON *alloc = NULL, *h;
        cJSON_ArrayForEach(h, hist) if ((int)num_or(h, "version", 0) == ver) alloc = h;
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(alloc, "weights");
        double n_ver = 0, w_sum = 0, wv[SY_EXP_MAX_VARIANTS];
        for (size_t i = 0; i < k; i++) {
            for (size_t j = 0; j < agg->n; j++)
                if (strcmp(agg->v[j].name, v[i].name) == 0)
                    n_ver += agg->alloc_units[ver - 1][j];
            wv[i] = w ? num_or(w, v[i].name, 0) : weights[i];
            w_sum += wv[i];
        }
        for (size_t i = 0; i < k && w_sum > 0; i++)
            expected[i] += n_ver * wv[i] / w_sum;
    }
    if (k > 1 && total_units > 0)
        srm_p = sy_stats_srm(units, expected, k, &chi2);
    int srm = isfinite(srm_p) && srm_p < SRM_ALPHA;
    cJSON *sj = cJSON_AddObjectToObject(root, "srm");
    add_num(sj, "chi2", chi2);
    add_num(sj, "p_value", srm_p);
    cJSON_AddBoolToObject(sj, "warning", srm);
    if (srm)
        cJSON_AddStringToObject(sj, "message",
                                "sample ratio mismatch: the units per variant do not match the "
                                "design weights (p < 0.001); assignment or logging is broken, do "
                                "not trust these results");

    /* the recommendation (docs/experiments.md, "Reading the results") */
    cJSON *rec = cJSON_AddObjectToObject(root, "recommendation");
    char reason[256];
    const char *action;
    if (srm) {
        action = "investigate";
        snprintf(reason, sizeof(reason),
                 "sample ratio mismatch: fix assignment or logging before reading any lift");
    } else if (any_breach) {
        action = "stop";
        snprintf(reason, sizeof(reason), "variant '%s' breached its %s guardrail", breach_variant,
                 breach_name);
        cJSON_AddStringToObject(rec, "variant", breach_variant);
    } else if (!all_min) {
        action = "keep_running";
        snprintf(reason, sizeof(reason), "every variant needs %.0f rated requests first",
                 min_samples);
    } else if (best) {
        action = "ship";
        snprintf(reason, sizeof(reason),
                 "'%s' beats control: always-valid p (Holm) < %g, P(beat) >= 0.95, guardrails "
                 "hold",
                 v[best].name, alpha);
        cJSON_AddStringToObject(rec, "variant", v[best].name);
    } else {
        action = "keep_running";
        snprintf(reason, sizeof(reason), "no variant is significantly better than control yet");
    }
    cJSON_AddStringToObject(rec, "action", action);
    cJSON_AddStringToObject(rec, "reason", reason);

    char *s = cJSON_PrintUnformatted(root);
    sy_buf_puts(out, s);
    free(s);
    cJSON_Delete(root);
}
