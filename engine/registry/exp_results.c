/* exp_results: see exp_results.h. */
#include "exp_results.h"

#include "exp_analysis.h"
#include "experiments_internal.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* What the parts of the results document share: the definition's settings and its
 * variants (control first) joined with their aggregates. */
typedef struct results {
    const char *unit_s;
    sy_exp_unit unit;
    double alpha, tau, min_samples;
    size_t k;
    sy_exp_variant_agg v[SY_EXP_MAX_VARIANTS];
    double weights[SY_EXP_MAX_VARIANTS], units[SY_EXP_MAX_VARIANTS];
    double expected[SY_EXP_MAX_VARIANTS]; /* units expected per variant (SRM) */
} results;

/* Read the definition's settings and join its variants with the aggregates. */
static void join_variants(const cJSON *def, const sy_exp_agg *agg, results *r)
{
    r->unit_s = str_or(def, "unit", "user");
    r->unit = strcmp(r->unit_s, "request") == 0        ? SY_EXP_UNIT_REQUEST
              : strcmp(r->unit_s, "conversation") == 0 ? SY_EXP_UNIT_CONVERSATION
                                                       : SY_EXP_UNIT_USER;
    r->alpha = num_or(def, "alpha", 0.05);
    r->tau = num_or(def, "msprt_tau", 0.05);
    r->min_samples = num_or(def, "min_samples", 100);
    r->k = 0;
    const cJSON *var;
    cJSON_ArrayForEach(var, cJSON_GetObjectItemCaseSensitive(def, "variants"))
    {
        if (r->k == SY_EXP_MAX_VARIANTS)
            break;
        sy_exp_variant_agg *v = &r->v[r->k];
        memset(v, 0, sizeof(*v));
        v->always_valid_p = 1;
        snprintf(v->name, sizeof(v->name), "%s", str_or(var, "name", ""));
        for (size_t i = 0; i < agg->n; i++)
            if (strcmp(agg->v[i].name, v->name) == 0)
                *v = agg->v[i];
        r->weights[r->k] = num_or(var, "weight", 1);
        r->units[r->k] = v->units;
        r->k++;
    }
}

/* One variant's descriptive statistics, with intervals. */
static cJSON *variant_json(const results *r, size_t i)
{
    const sy_exp_variant_agg *v = &r->v[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", v->name);
    cJSON_AddBoolToObject(o, "control", i == 0);
    add_num(o, "design_weight", r->weights[i]);
    add_num(o, "units", v->units);
    add_num(o, "requests", v->requests);
    add_num(o, "rated", v->rated);
    add_num(o, "thumbs_up", v->up);
    sy_prop_moments pm = {v->up, v->rated};
    double lo = NAN, hi = NAN;
    if (v->rated > 0)
        sy_stats_wilson(&pm, r->alpha, &lo, &hi);
    cJSON_AddItemToObject(o, "thumbs_up_rate",
                          interval(v->rated > 0 ? v->up / v->rated : NAN, lo, hi));
    add_num(o, "feedback_coverage", v->requests > 0 ? v->rated / v->requests : NAN);
    double m, clo, chi;
    cost_per_request(r->unit, v, r->alpha, &m, &clo, &chi);
    cJSON_AddItemToObject(o, "cost_per_request_usd", interval(m, clo, chi));
    add_num(o, "tokens_per_request", v->requests > 0 ? v->tokens_sum / v->requests : NAN);
    cJSON *lat = cJSON_AddObjectToObject(o, "latency_ms");
    add_num(lat, "p50", sy_exp_latency_quantile(v, 0.5));
    add_num(lat, "p95", sy_exp_latency_quantile(v, 0.95));
    sy_prop_moments em = {v->errors, v->requests};
    lo = hi = NAN;
    if (v->requests > 0)
        sy_stats_wilson(&em, r->alpha, &lo, &hi);
    cJSON_AddItemToObject(o, "error_rate",
                          interval(v->requests > 0 ? v->errors / v->requests : NAN, lo, hi));
    return o;
}

/* Sample ratio mismatch on units: each allocation version's units are expected in that
 * version's proportions (the analysis takes the expected counts as weights). */
static void expected_units(const cJSON *doc, const sy_exp_agg *agg, results *r)
{
    memset(r->expected, 0, sizeof(r->expected));
    const cJSON *hist = cJSON_GetObjectItemCaseSensitive(doc, "allocation_history");
    for (int ver = 1; ver <= SY_EXP_MAX_ALLOCS; ver++) {
        const cJSON *alloc = NULL, *h;
        cJSON_ArrayForEach(h, hist) if ((int)num_or(h, "version", 0) == ver) alloc = h;
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(alloc, "weights");
        double n_ver = 0, w_sum = 0, wv[SY_EXP_MAX_VARIANTS];
        for (size_t i = 0; i < r->k; i++) {
            for (size_t j = 0; j < agg->n; j++)
                if (strcmp(agg->v[j].name, r->v[i].name) == 0)
                    n_ver += agg->alloc_units[ver - 1][j];
            wv[i] = w ? num_or(w, r->v[i].name, 0) : r->weights[i];
            w_sum += wv[i];
        }
        for (size_t i = 0; i < r->k && w_sum > 0; i++)
            r->expected[i] += n_ver * wv[i] / w_sum;
    }
}

/* Run the analysis (experiments/exp_analysis.h: statistics, guardrails, the rule).
 * Returns 1 when it ran (two variants or more), 0 otherwise. */
static int analyze(const cJSON *def, const results *r, sy_exp_variant_result *res,
                   sy_exp_verdict *verdict)
{
    const cJSON *guards = cJSON_GetObjectItemCaseSensitive(def, "guardrails");
    sy_exp_config ac = {.primary = r->unit == SY_EXP_UNIT_REQUEST ? SY_EXP_METRIC_PROP
                                                                  : SY_EXP_METRIC_RATIO,
                        .alpha = r->alpha,
                        .tau2 = r->tau * r->tau,
                        .prior_a = 1,
                        .prior_b = 1,
                        .max_cost_increase = num_or(guards, "cost_per_request_max_increase", NAN),
                        .max_p95_increase = num_or(guards, "p95_latency_max_increase", NAN),
                        .max_error_increase = num_or(guards, "error_rate_max_increase", NAN),
                        .min_sample = r->min_samples};
    sy_exp_variant_input in[SY_EXP_MAX_VARIANTS];
    for (size_t i = 0; i < r->k; i++) {
        const sy_exp_variant_agg *v = &r->v[i];
        double m, lo, hi;
        cost_per_request(r->unit, v, r->alpha, &m, &lo, &hi);
        double se = (hi - lo) / (2 * gsl_cdf_ugaussian_Qinv(r->alpha / 2));
        double n = r->unit == SY_EXP_UNIT_REQUEST ? v->requests : v->cost.n;
        in[i] = (sy_exp_variant_input){
            .units = r->units[i],
            .weight = r->expected[i] > 0 ? r->expected[i] : r->weights[i],
            .primary_prop = {v->up, v->rated},
            .primary_ratio = v->ratings,
            /* with user or conversation units: per-unit (delta-method) variance of the mean */
            .cost = {n, m, isfinite(se) ? se * se * n : NAN},
            .p95_latency = sy_exp_latency_quantile(v, 0.95),
            .errors = {v->errors, v->requests},
            .prev_p_always = v->always_valid_p};
    }
    return r->k >= 2 && sy_exp_analyze(&ac, in, r->k, res, verdict) == SY_OK;
}

/* The guardrails of one comparison that are on. */
static void guardrails_json(cJSON *o, const sy_exp_variant_result *res)
{
    cJSON *gj = cJSON_AddObjectToObject(o, "guardrails");
    for (int g = 0; g < SY_EXP_GUARD_COUNT; g++) {
        const sy_exp_guard_verdict *gv = &res->guard[g];
        if (gv->status == SY_EXP_GUARD_OFF)
            continue;
        cJSON *go = cJSON_AddObjectToObject(gj, sy_exp_guardrail_name((sy_exp_guardrail)g));
        cJSON_AddStringToObject(go, "status", sy_exp_guard_status_name(gv->status));
        add_num(go, "observed_increase", gv->observed);
        add_num(go, "lo", gv->lo);
        add_num(go, "hi", gv->hi);
        add_num(go, "threshold", gv->threshold);
    }
}

/* Variant i against the control: the primary metric's tests, guardrails and cost. */
static cJSON *comparison_json(const results *r, size_t i, const sy_exp_variant_result *res)
{
    const sy_comparison *c = &res->primary;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "variant", r->v[i].name);
    cJSON_AddStringToObject(o, "metric", "thumbs_up_rate");
    cJSON_AddStringToObject(
        o, "test", r->unit == SY_EXP_UNIT_REQUEST ? "two_proportion_z" : "welch_t_delta_method");
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
    add_num(o, "p_value_holm", res->p_holm);
    cJSON *seq = cJSON_AddObjectToObject(o, "sequential");
    add_num(seq, "always_valid_p", res->p_always);
    add_num(seq, "always_valid_p_holm", res->p_always_holm);
    add_num(seq, "confidence_sequence_lo", res->cs_lo);
    add_num(seq, "confidence_sequence_hi", res->cs_hi);
    cJSON *bayes = cJSON_AddObjectToObject(o, "bayesian");
    add_num(bayes, "p_beat_control", res->p_beat);
    add_num(bayes, "expected_loss", res->expected_loss);
    guardrails_json(o, res);
    sy_comparison cc;
    cost_compare(r->unit, &r->v[0], &r->v[i], r->alpha, &cc);
    cJSON *cost = cJSON_AddObjectToObject(o, "cost_per_request_usd");
    add_num(cost, "absolute", cc.diff);
    add_num(cost, "absolute_lo", cc.diff_lo);
    add_num(cost, "absolute_hi", cc.diff_hi);
    add_num(cost, "relative", cc.rel);
    add_num(cost, "p_value", cc.p_value);
    return o;
}

/* The sample-ratio check and the recommendation (ok: the analysis ran). */
static void verdict_json(cJSON *root, const results *r, int ok, const sy_exp_verdict *verdict)
{
    cJSON *sj = cJSON_AddObjectToObject(root, "srm");
    add_num(sj, "chi2", ok ? verdict->srm_chi2 : NAN);
    add_num(sj, "p_value", ok ? verdict->srm_p : NAN);
    cJSON_AddBoolToObject(sj, "warning", ok && verdict->srm_warning);
    if (ok && verdict->srm_warning)
        cJSON_AddStringToObject(sj, "message",
                                "sample ratio mismatch: the units per variant do not match the "
                                "design (p < 0.001); assignment or logging is broken, do not "
                                "trust these results");
    cJSON *rec = cJSON_AddObjectToObject(root, "recommendation");
    cJSON_AddStringToObject(rec, "action", ok ? sy_exp_rec_name(verdict->rec) : "keep_running");
    if (ok &&
        (verdict->rec == SY_EXP_REC_SHIP_VARIANT || verdict->rec == SY_EXP_REC_STOP_GUARDRAIL))
        cJSON_AddStringToObject(rec, "variant", r->v[verdict->variant].name);
    if (ok && verdict->rec == SY_EXP_REC_STOP_GUARDRAIL)
        cJSON_AddStringToObject(rec, "guardrail", sy_exp_guardrail_name(verdict->guardrail));
    cJSON_AddStringToObject(rec, "reason", ok ? verdict->reason : "no data yet");
}

void sy_exp_results_json(const cJSON *doc, const sy_exp_agg *agg, sy_buf *out)
{
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(doc, "definition");
    results *r = sy_xcalloc(1, sizeof(*r));
    join_variants(def, agg, r);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "id", str_or(doc, "id", ""));
    cJSON_AddStringToObject(root, "status", str_or(doc, "status", ""));
    cJSON_AddStringToObject(root, "unit", r->unit_s);
    add_num(root, "allocation_version", num_or(doc, "allocation_version", 1));
    add_num(root, "alpha", r->alpha);
    cJSON_AddStringToObject(root, "primary_metric", "thumbs_up_rate");
    cJSON *vars = cJSON_AddArrayToObject(root, "variants");
    for (size_t i = 0; i < r->k; i++)
        cJSON_AddItemToArray(vars, variant_json(r, i));
    expected_units(doc, agg, r);
    sy_exp_variant_result res[SY_EXP_MAX_VARIANTS];
    sy_exp_verdict verdict;
    int ok = analyze(def, r, res, &verdict);
    cJSON *cmps = cJSON_AddArrayToObject(root, "comparisons");
    for (size_t i = 1; ok && i < r->k; i++)
        cJSON_AddItemToArray(cmps, comparison_json(r, i, &res[i]));
    verdict_json(root, r, ok, &verdict);
    char *s = cJSON_PrintUnformatted(root);
    sy_buf_puts(out, s);
    free(s);
    cJSON_Delete(root);
    free(r);
}
