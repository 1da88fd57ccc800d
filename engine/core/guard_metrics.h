/*
 * guard_metrics: the guardrails' counters for GET /metrics (docs/guardrails.md), per
 * guardrail and direction: texts checked (one per request and direction) and requests
 * where it matched, labelled with its action. Process-wide, lock-free (relaxed atomics
 * in a fixed table of name slots, like metrics.c); at most SY_GUARD_METRICS_MAX series,
 * later ones are not counted.
 */
#ifndef SY_GUARD_METRICS_H
#define SY_GUARD_METRICS_H

#include "sy_common.h"

#define SY_GUARD_METRICS_MAX 512

/* One check of guardrail `name` in direction "input" or "output"; hit when it matched,
 * counted under action ("block", "redact", "flag"). Thread-safe. */
void sy_guard_metrics_count(const char *name, const char *direction, const char *action, int hit);
/* Append the two families in the Prometheus text format. */
void sy_guard_metrics_render(sy_buf *out);

#endif
