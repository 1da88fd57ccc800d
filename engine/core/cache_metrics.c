#include "cache_metrics.h"

#include "sem_index.h"
#include "store_cache.h"

#include <stdatomic.h>
#include <stdint.h>

/* Upper bounds of the lookup-time histogram, seconds. */
static const double k_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05};
#define N_BOUNDS (sizeof(k_bounds) / sizeof(k_bounds[0]))

static _Atomic uint64_t n_by_outcome[3], n_embed_failed;
static _Atomic uint64_t saved_nusd; /* nano-USD */
static _Atomic uint64_t lookup_ns_sum, buckets[N_BOUNDS + 1];
static sy_sem_index *_Atomic sem_index; /* the semantic index, for its gauges */

void sy_cache_metrics_set_index(struct sy_sem_index *x)
{
    atomic_store(&sem_index, x);
}

void sy_cache_metrics_lookup(sy_cache_outcome o, double lookup_s, double saved_usd)
{
    atomic_fetch_add_explicit(&n_by_outcome[o], 1, memory_order_relaxed);
    if (saved_usd > 0)
        atomic_fetch_add_explicit(&saved_nusd, (uint64_t)(saved_usd * 1e9 + 0.5),
                                  memory_order_relaxed);
    atomic_fetch_add_explicit(&lookup_ns_sum, (uint64_t)(lookup_s * 1e9), memory_order_relaxed);
    size_t b = 0;
    while (b < N_BOUNDS && lookup_s > k_bounds[b])
        b++;
    atomic_fetch_add_explicit(&buckets[b], 1, memory_order_relaxed);
}

void sy_cache_metrics_embed_failed(void)
{
    atomic_fetch_add_explicit(&n_embed_failed, 1, memory_order_relaxed);
}

static uint64_t load(_Atomic uint64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

void sy_cache_metrics_render(sy_buf *out, sy_store *store)
{
    sy_buf_printf(out,
                  "# HELP switchyard_cache_lookups_total Cacheable requests by outcome (hit: "
                  "exact tier, semantic: semantic tier, miss).\n"
                  "# TYPE switchyard_cache_lookups_total counter\n"
                  "switchyard_cache_lookups_total{result=\"hit\"} %llu\n"
                  "switchyard_cache_lookups_total{result=\"semantic\"} %llu\n"
                  "switchyard_cache_lookups_total{result=\"miss\"} %llu\n"
                  "# HELP switchyard_cache_embed_failures_total Semantic lookups that could not "
                  "embed the request (failure or timeout; served as a miss).\n"
                  "# TYPE switchyard_cache_embed_failures_total counter\n"
                  "switchyard_cache_embed_failures_total %llu\n"
                  "# HELP switchyard_cache_saved_usd_total What the answers served from the "
                  "cache cost when they were made.\n"
                  "# TYPE switchyard_cache_saved_usd_total counter\n"
                  "switchyard_cache_saved_usd_total %.9f\n",
                  (unsigned long long)load(&n_by_outcome[SY_CACHE_HIT_EXACT]),
                  (unsigned long long)load(&n_by_outcome[SY_CACHE_HIT_SEMANTIC]),
                  (unsigned long long)load(&n_by_outcome[SY_CACHE_MISS]),
                  (unsigned long long)load(&n_embed_failed), (double)load(&saved_nusd) / 1e9);
    sy_buf_puts(out, "# HELP switchyard_cache_lookup_seconds Time to look a request up in the "
                     "cache (key, LMDB read; the semantic tier's embedding call excluded).\n"
                     "# TYPE switchyard_cache_lookup_seconds histogram\n");
    uint64_t cum = 0;
    for (size_t b = 0; b <= N_BOUNDS; b++) {
        cum += load(&buckets[b]);
        if (b < N_BOUNDS)
            sy_buf_printf(out, "switchyard_cache_lookup_seconds_bucket{le=\"%g\"} %llu\n",
                          k_bounds[b], (unsigned long long)cum);
        else
            sy_buf_printf(out, "switchyard_cache_lookup_seconds_bucket{le=\"+Inf\"} %llu\n",
                          (unsigned long long)cum);
    }
    sy_buf_printf(out,
                  "switchyard_cache_lookup_seconds_sum %.9f\n"
                  "switchyard_cache_lookup_seconds_count %llu\n",
                  (double)load(&lookup_ns_sum) / 1e9, (unsigned long long)cum);
    sy_store_cache_stats st;
    sy_store_cache_stats_get(&st);
    uint64_t entries = store ? sy_store_cache_counts(store, NULL, NULL) : 0;
    sy_buf_printf(out,
                  "# HELP switchyard_cache_entries Entries in the cache (all routes and models).\n"
                  "# TYPE switchyard_cache_entries gauge\n"
                  "switchyard_cache_entries %llu\n"
                  "# HELP switchyard_cache_evictions_total Entries removed by the store, by "
                  "reason (bound: max_entries, expired, invalidated: the admin API).\n"
                  "# TYPE switchyard_cache_evictions_total counter\n"
                  "switchyard_cache_evictions_total{reason=\"bound\"} %llu\n"
                  "switchyard_cache_evictions_total{reason=\"expired\"} %llu\n"
                  "switchyard_cache_evictions_total{reason=\"invalidated\"} %llu\n",
                  (unsigned long long)entries, (unsigned long long)st.evicted,
                  (unsigned long long)st.expired, (unsigned long long)st.invalidated);
    sy_sem_index_stats ss;
    sy_sem_index_stats_get(atomic_load(&sem_index), &ss);
    sy_buf_printf(out,
                  "# HELP switchyard_cache_semantic_vectors Vectors in the semantic index.\n"
                  "# TYPE switchyard_cache_semantic_vectors gauge\n"
                  "switchyard_cache_semantic_vectors %zu\n"
                  "# HELP switchyard_cache_semantic_partitions Partitions of the semantic index "
                  "(scope, route, parameters and earlier conversation), and how many are HNSW "
                  "graphs.\n"
                  "# TYPE switchyard_cache_semantic_partitions gauge\n"
                  "switchyard_cache_semantic_partitions{kind=\"flat\"} %zu\n"
                  "switchyard_cache_semantic_partitions{kind=\"hnsw\"} %zu\n",
                  ss.entries, ss.partitions - ss.hnsw, ss.hnsw);
}
