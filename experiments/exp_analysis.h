/*
 * exp_analysis: per-variant aggregates of an experiment → statistics and a
 * recommendation (DESIGN.md §8; the methods are in exp_stats.h, the formulas and the
 * rule in docs/experiments-statistics.md). Pure: no I/O, no clock, no globals; the
 * caller owns every array. Variant 0 is the control; 1..k−1 are treatments.
 *
 * Sequential use. The engine may call sy_exp_analyze at every look (every results
 * request). The always-valid p-value of a treatment is the running minimum of the mSPRT
 * p-values over looks: the caller passes the previous minimum in `prev_p_always` (1 or
 * NAN at the first look) and stores the returned `p_always` for the next look. Nothing
 * else is carried between looks.
 *
 * The recommendation, evaluated in this order (the first that applies wins):
 *
 *  1. STOP_GUARDRAIL — some treatment has a guardrail BREACHED (below). Stopping sends
 *     everyone back to control, the safe action, so it wins even over an SRM warning.
 *     `variant` and `guardrail` name the first breach (lowest variant, then cost, p95
 *     latency, error rate).
 *  2. INVESTIGATE_SRM — the sample-ratio-mismatch χ² p-value is below SY_EXP_SRM_ALPHA:
 *     the assignment or logging is broken, so no other result can be trusted. Do not
 *     ship; keep the experiment running only to investigate.
 *  3. SHIP_VARIANT — at least one treatment v satisfies all of:
 *       - control and v each have at least `min_sample` primary observations (rated
 *         requests for a proportion, units for a ratio metric);
 *       - Holm-adjusted (across the k − 1 treatments) always-valid p < alpha;
 *       - the primary lift is positive (treatment − control > 0);
 *       - P(v beats control) ≥ SY_EXP_SHIP_P_BEAT;
 *       - every configured guardrail of v is OK (not merely "not breached").
 *     Among several, the one with the highest primary point estimate (lowest index on a
 *     tie) is `variant`.
 *  4. KEEP_CONTROL — every treatment has reached min_sample and has a Holm-adjusted
 *     always-valid p < alpha with a negative lift: no treatment can win.
 *  5. KEEP_RUNNING — otherwise.
 *
 * Guardrails, each per treatment against control, each with a status:
 *   - cost per request (relative increase, mean moments): the relative lift, its
 *     delta-method variance and its always-valid confidence sequence (mSPRT with τ² =
 *     max_cost_increase²). Requests are treated as independent: with a user or
 *     conversation unit, pass per-unit cost moments if requests of a unit are strongly
 *     correlated;
 *   - error rate (absolute increase, proportions): the observed difference, and the
 *     confidence sequence (τ² = max_error_increase²) of the difference of Agresti–Caffo
 *     adjusted proportions ((s + 1)/(n + 2), centre and variance) so that zero observed
 *     errors do not give a zero variance;
 *   - p95 latency (relative increase): a quantile has no variance in these aggregates,
 *     so this one compares point estimates, and only once both arms have min_sample.
 *   BREACHED: the interval's lower bound is above the threshold (p95: the point estimate
 *   is). OK: the upper bound is at or below it (p95: the point estimate is). PENDING:
 *   neither yet, the estimate cannot be computed, or control or the treatment has not
 *   reached min_sample (every configured guardrail is PENDING until both have). OFF:
 *   the threshold is NAN (guardrail not configured), which counts as OK. An interval of
 *   a zero-variance estimate (identical costs on every request) is the point itself.
 */
#ifndef SY_EXP_ANALYSIS_H
#define SY_EXP_ANALYSIS_H

#include "exp_stats.h"

#include <stddef.h>

/* The SRM warning level and the Bayesian bar a winner must clear. */
#define SY_EXP_SRM_ALPHA   0.001
#define SY_EXP_SHIP_P_BEAT 0.95

typedef enum sy_exp_metric_kind {
    SY_EXP_METRIC_PROP,  /* unit = request: thumbs-up out of rated requests */
    SY_EXP_METRIC_RATIO, /* unit = user or conversation: Σ thumbs-up / Σ rated per unit */
} sy_exp_metric_kind;

typedef enum sy_exp_guardrail {
    SY_EXP_GUARD_COST,   /* cost per request, relative increase */
    SY_EXP_GUARD_P95,    /* p95 latency, relative increase */
    SY_EXP_GUARD_ERRORS, /* error rate, absolute increase */
    SY_EXP_GUARD_COUNT
} sy_exp_guardrail;

typedef enum sy_exp_guard_status {
    SY_EXP_GUARD_OFF,      /* not configured */
    SY_EXP_GUARD_PENDING,  /* not yet conclusive either way */
    SY_EXP_GUARD_OK,       /* shown within the threshold */
    SY_EXP_GUARD_BREACHED, /* shown beyond the threshold */
} sy_exp_guard_status;

typedef enum sy_exp_rec {
    SY_EXP_REC_KEEP_RUNNING,
    SY_EXP_REC_SHIP_VARIANT,
    SY_EXP_REC_KEEP_CONTROL,
    SY_EXP_REC_STOP_GUARDRAIL,
    SY_EXP_REC_INVESTIGATE_SRM,
} sy_exp_rec;

typedef struct sy_exp_config {
    sy_exp_metric_kind primary;
    double alpha;              /* significance level, in (0, 1), e.g. 0.05 */
    double tau2;               /* mSPRT mixing variance for the primary difference, > 0
                                  (e.g. 0.05² for thumbs-up rates) */
    double prior_a, prior_b;   /* Beta prior of the primary rate, > 0 (1, 1: uniform) */
    double max_cost_increase;  /* relative, e.g. 0.10; NAN: no cost guardrail */
    double max_p95_increase;   /* relative, e.g. 0.20; NAN: none */
    double max_error_increase; /* absolute, e.g. 0.01; NAN: none */
    double min_sample;         /* primary observations per variant before any verdict */
} sy_exp_config;

typedef struct sy_exp_variant_input {
    double units;                   /* units assigned (SRM) */
    double weight;                  /* design weight, > 0, any scale */
    sy_prop_moments primary_prop;   /* used when primary == SY_EXP_METRIC_PROP */
    sy_ratio_moments primary_ratio; /* used when primary == SY_EXP_METRIC_RATIO */
    sy_mean_moments cost;           /* cost per request */
    double p95_latency;             /* any unit; NAN when unknown */
    sy_prop_moments errors;         /* failed requests out of requests */
    double prev_p_always;           /* running minimum from the last look; 1 or NAN first */
} sy_exp_variant_input;

typedef struct sy_exp_guard_verdict {
    sy_exp_guard_status status;
    double observed;  /* relative (cost, p95) or absolute (errors) increase */
    double lo, hi;    /* its always-valid interval (NAN for p95 and when unknown) */
    double threshold; /* the configured maximum increase */
} sy_exp_guard_verdict;

/* Per variant. For the control (index 0) only rate, rate_lo, rate_hi,
 * primary.control/treatment (both the control's estimate) and min_sample_reached are
 * set; everything else is NAN/OFF. */
typedef struct sy_exp_variant_result {
    double rate, rate_lo, rate_hi; /* the variant's primary estimate and its (1 − alpha)
                                      interval: Wilson, or for a ratio metric the
                                      delta-method t interval with n − 1 df */
    sy_comparison primary;         /* two-proportion z or delta-method Welch, fixed horizon */
    double p_holm;                 /* primary.p_value Holm-adjusted across treatments */
    double p_always;               /* always-valid p: running min (persist it) */
    double p_always_holm;          /* p_always Holm-adjusted across treatments */
    double cs_lo, cs_hi;           /* confidence sequence of the difference at this look */
    double p_beat;                 /* P(treatment > control) */
    double expected_loss;          /* E[max(control − treatment, 0)] */
    int min_sample_reached;        /* this variant has min_sample primary observations */
    sy_exp_guard_verdict guard[SY_EXP_GUARD_COUNT];
} sy_exp_variant_result;

typedef struct sy_exp_verdict {
    double srm_chi2, srm_p;
    int srm_warning; /* srm_p < SY_EXP_SRM_ALPHA */
    sy_exp_rec rec;
    size_t variant;             /* SHIP_VARIANT, STOP_GUARDRAIL: which; else 0 */
    sy_exp_guardrail guardrail; /* STOP_GUARDRAIL: which; else SY_EXP_GUARD_COUNT */
    char reason[256];           /* one human-readable sentence */
} sy_exp_verdict;

/*
 * Analyse k ≥ 2 variants (v[0] the control) into out[0..k−1] and *verdict. Returns
 * SY_OK, or SY_ERR_INVALID (nothing written) for k < 2, NULL arrays, an unknown metric
 * kind, alpha outside (0, 1), tau2 ≤ 0, a prior ≤ 0, a negative min_sample, or a
 * guardrail threshold that is neither NAN nor > 0. Moments that are too thin for a
 * quantity leave it NAN (and the rule treats NAN as "not shown"). Allocates a scratch
 * array of 4·k doubles, freed before returning.
 */
int sy_exp_analyze(const sy_exp_config *cfg, const sy_exp_variant_input *v, size_t k,
                   sy_exp_variant_result *out, sy_exp_verdict *verdict);

/* Stable lower-case names for JSON ("keep_running", "cost", "breached", …). */
const char *sy_exp_rec_name(sy_exp_rec r);
const char *sy_exp_guardrail_name(sy_exp_guardrail g);
const char *sy_exp_guard_status_name(sy_exp_guard_status s);

#endif
