/*
 * cache_metrics: the response cache's counters for GET /metrics (docs/cache.md): hits by
 * tier, misses, embedding failures of the semantic tier, the USD saved, the lookup time
 * (a histogram), and from the store the entries, evictions, expired and invalidated
 * entries. Process-wide, lock-free (relaxed atomics).
 */
#ifndef SY_CACHE_METRICS_H
#define SY_CACHE_METRICS_H

#include "store.h"
#include "sy_common.h"

typedef enum { SY_CACHE_MISS = 0, SY_CACHE_HIT_EXACT, SY_CACHE_HIT_SEMANTIC } sy_cache_outcome;

/* One cacheable request's lookup: its outcome, how long the lookup took, and for a hit
 * the cost the cached answer had (the saving). Thread-safe. */
void sy_cache_metrics_lookup(sy_cache_outcome o, double lookup_s, double saved_usd);
/* The semantic tier could not embed (failure or timeout): the request went on as a miss. */
void sy_cache_metrics_embed_failed(void);
/* The semantic index whose size the gauges report (NULL: none). */
struct sy_sem_index;
void sy_cache_metrics_set_index(struct sy_sem_index *x);
/* Append the families in the Prometheus text format (entries read from the store). */
void sy_cache_metrics_render(sy_buf *out, sy_store *store);

#endif
