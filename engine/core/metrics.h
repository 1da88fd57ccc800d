/*
 * metrics: process-wide counters and histograms per (route, model), rendered in the
 * Prometheus text format for GET /metrics (admin listener).
 *
 * Lock rules: none on the hot path. Series live in a fixed open-addressing table; a
 * slot is claimed once with a compare-and-swap on its key pointer and never freed, and
 * every counter is a relaxed atomic add, so any worker may observe while another
 * renders. A scrape sees each counter exactly; counters of one series may be a few
 * requests apart (Prometheus accepts that). At most SY_METRICS_MAX_SERIES series: later
 * ones are counted in switchyard_metrics_dropped_total.
 */
#ifndef SY_METRICS_H
#define SY_METRICS_H

#include "sy_common.h"

#include <stdint.h>

#define SY_METRICS_MAX_SERIES 1024

typedef struct sy_metrics_obs {
    const char *route; /* "" when the client named a model */
    const char *model;
    int status; /* HTTP status given to the client (499: client went away) */
    double latency_s;
    double ttft_s; /* < 0 when there was no first byte */
    int64_t prompt_tokens, completion_tokens, cached_tokens;
    double cost_usd;
} sy_metrics_obs;

/* Count one finished chat request. Thread-safe, lock-free. */
void sy_metrics_observe(const sy_metrics_obs *o);
/* Count one stored rating (value in [0,1]). */
void sy_metrics_feedback(const char *route, const char *model, double value);
/* Count one firing of an escalation rule on a route. */
void sy_metrics_rule_fired(const char *route, const char *rule);
/* Requests of one series so far (for traffic shares); 0 when unknown. */
uint64_t sy_metrics_requests(const char *route, const char *model);
/* Append `name="value"` (preceded by a comma unless first), escaping the value per
 * the exposition format: backslash, quote and newline. */
void sy_metrics_label(sy_buf *b, const char *name, const char *value, int first);
/* Append every series in the Prometheus text exposition format (version 0.0.4). */
void sy_metrics_render(sy_buf *out);

#endif
