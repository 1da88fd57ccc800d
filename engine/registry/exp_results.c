/* exp_results: see exp_results.h. */
#include "exp_results.h"

#include "exp_analysis.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void sy_exp_results_json(const cJSON *doc, const sy_exp_agg *agg, sy_buf *out)
{
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(doc, "definition");
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

    /* sample ratio mismatch on units: each allocation version's units are expected in
     * that version's proportions (the analysis takes the expected counts as weights) */
    double expected[SY_EXP_MAX_VARIANTS] = {0};
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

    /* the analysis (experiments/exp_analysis.h: statistics, guardrails, the rule) */
    const cJSON *guards = cJSON_GetObjectItemCaseSensitive(def, "guardrails");
    sy_exp_config ac = {.primary =
                            unit == SY_EXP_UNIT_REQUEST ? SY_EXP_METRIC_PROP : SY_EXP_METRIC_RATIO,
                        .alpha = alpha,
                        .tau2 = tau * tau,
                        .prior_a = 1,
                        .prior_b = 1,
                        .max_cost_increase = num_or(guards, "cost_per_request_max_increase", NAN),
                        .max_p95_increase = num_or(guards, "p95_latency_max_increase", NAN),
                        .max_error_increase = num_or(guards, "error_rate_max_increase", NAN),
                        .min_sample = min_samples};
    sy_exp_variant_input in[SY_EXP_MAX_VARIANTS];
    sy_exp_variant_result res[SY_EXP_MAX_VARIANTS];
    sy_exp_verdict verdict;
    for (size_t i = 0; i < k; i++) {
        double m, lo, hi;
        cost_per_request(unit, &v[i], alpha, &m, &lo, &hi);
        double se = (hi - lo) / (2 * gsl_cdf_ugaussian_Qinv(alpha / 2));
        double n = unit == SY_EXP_UNIT_REQUEST ? v[i].requests : v[i].cost.n;
        in[i] = (sy_exp_variant_input){
            .units = units[i],
            .weight = expected[i] > 0 ? expected[i] : weights[i],
            .primary_prop = {v[i].up, v[i].rated},
            .primary_ratio = v[i].ratings,
            /* with user or conversation units: per-unit (delta-method) variance of the mean */
            .cost = {n, m, isfinite(se) ? se * se * n : NAN},
            .p95_latency = sy_exp_latency_quantile(&v[i], 0.95),
            .errors = {v[i].errors, v[i].requests},
            .prev_p_always = v[i].always_valid_p};
    }
    int ok = k >= 2 && sy_exp_analyze(&ac, in, k, res, &verdict) == SY_OK;

    cJSON *cmps = cJSON_AddArrayToObject(root, "comparisons");
    for (size_t i = 1; ok && i < k; i++) {
        const sy_comparison *c = &res[i].primary;
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
        add_num(o, "p_value_holm", res[i].p_holm);
        cJSON *seq = cJSON_AddObjectToObject(o, "sequential");
        add_num(seq, "always_valid_p", res[i].p_always);
        add_num(seq, "always_valid_p_holm", res[i].p_always_holm);
        add_num(seq, "confidence_sequence_lo", res[i].cs_lo);
        add_num(seq, "confidence_sequence_hi", res[i].cs_hi);
        cJSON *bayes = cJSON_AddObjectToObject(o, "bayesian");
        add_num(bayes, "p_beat_control", res[i].p_beat);
        add_num(bayes, "expected_loss", res[i].expected_loss);
        cJSON *gj = cJSON_AddObjectToObject(o, "guardrails");
        for (int g = 0; g < SY_EXP_GUARD_COUNT; g++) {
            const sy_exp_guard_verdict *gv = &res[i].guard[g];
            if (gv->status == SY_EXP_GUARD_OFF)
                continue;
            cJSON *go = cJSON_AddObjectToObject(gj, sy_exp_guardrail_name((sy_exp_guardrail)g));
            cJSON_AddStringToObject(go, "status", sy_exp_guard_status_name(gv->status));
            add_num(go, "observed_increase", gv->observed);
            add_num(go, "lo", gv->lo);
            add_num(go, "hi", gv->hi);
            add_num(go, "threshold", gv->threshold);
        }
        sy_comparison cc;
        cost_compare(unit, &v[0], &v[i], alpha, &cc);
        cJSON *cost = cJSON_AddObjectToObject(o, "cost_per_request_usd");
        add_num(cost, "absolute", cc.diff);
        add_num(cost, "absolute_lo", cc.diff_lo);
        add_num(cost, "absolute_hi", cc.diff_hi);
        add_num(cost, "relative", cc.rel);
        add_num(cost, "p_value", cc.p_value);
        cJSON_AddItemToArray(cmps, o);
    }
    cJSON *sj = cJSON_AddObjectToObject(root, "srm");
    add_num(sj, "chi2", ok ? verdict.srm_chi2 : NAN);
    add_num(sj, "p_value", ok ? verdict.srm_p : NAN);
    cJSON_AddBoolToObject(sj, "warning", ok && verdict.srm_warning);
    if (ok && verdict.srm_warning)
        cJSON_AddStringToObject(sj, "message",
                                "sample ratio mismatch: the units per variant do not match the "
                                "design (p < 0.001); assignment or logging is broken, do not "
                                "trust these results");
    cJSON *rec = cJSON_AddObjectToObject(root, "recommendation");
    cJSON_AddStringToObject(rec, "action", ok ? sy_exp_rec_name(verdict.rec) : "keep_running");
    if (ok && (verdict.rec == SY_EXP_REC_SHIP_VARIANT || verdict.rec == SY_EXP_REC_STOP_GUARDRAIL))
        cJSON_AddStringToObject(rec, "variant", v[verdict.variant].name);
    if (ok && verdict.rec == SY_EXP_REC_STOP_GUARDRAIL)
        cJSON_AddStringToObject(rec, "guardrail", sy_exp_guardrail_name(verdict.guardrail));
    cJSON_AddStringToObject(rec, "reason", ok ? verdict.reason : "no data yet");

    char *s = cJSON_PrintUnformatted(root);
    sy_buf_puts(out, s);
    free(s);
    cJSON_Delete(root);
}
