/*
 * exp_tracker: the per-variant aggregates of every experiment (DESIGN.md §8), fed with
 * the committed decisions and ratings whose record names experiments.
 *
 * Threads: observe() runs on the store thread (through the learner's observer, and for
 * the start-up replay of the store, which is how the aggregates survive a restart: they
 * are rebuilt from the stored decisions and ratings, not kept separately). The admin
 * thread reads a copy under the same mutex; nothing is held across I/O.
 *
 * Per unit (a user or a conversation) the tracker keeps the unit's running totals, so
 * that per-request metrics of a unit-randomised experiment are analysed as ratios of
 * per-unit sums (delta method) rather than as if requests were independent.
 *
 * Bound: the per-unit table holds at most SY_EXP_MAX_UNITS units (all experiments of
 * the process together; ~25 MB at most). Once it is full, the events of a unit it has
 * not seen yet (its decisions and ratings) are left out of every aggregate of that
 * experiment and counted in sy_exp_agg.untracked instead: the analysis continues on
 * the units that came first, which is still a fair sample of each variant (assignment
 * does not depend on arrival order), and nothing grows further. Units already tracked
 * keep being counted. A restart rebuilds the table from the store.
 */
#ifndef SY_EXP_TRACKER_H
#define SY_EXP_TRACKER_H

#include "exp_stats.h"
#include "experiments.h"
#include "store.h"

#define SY_EXP_LAT_BUCKETS 256 /* latency histogram: bucket i ≈ [1.06^i, 1.06^(i+1)) ms */
#define SY_EXP_MAX_UNITS   250000

typedef struct sy_exp_variant_agg {
    char name[SY_EXP_ID_MAX];
    double units;    /* distinct units seen */
    double requests; /* decisions recorded */
    double errors;   /* requests answered with a status >= 500 */
    double rated;    /* requests with an explicit rating (signals are not counted) */
    double up;       /* ratings >= 0.5 */
    double cost_sum, cost_sq, tokens_sum;
    double latency_hist[SY_EXP_LAT_BUCKETS];
    sy_ratio_moments ratings; /* per unit: x = rated requests, y = thumbs-up */
    sy_ratio_moments cost;    /* per unit: x = requests, y = cost */
    double always_valid_p;    /* running minimum of the mSPRT p-value against control */
} sy_exp_variant_agg;

#define SY_EXP_MAX_ALLOCS SY_EXP_MAX_ALLOC_VERSIONS /* counted apart, one row each */

typedef struct sy_exp_agg {
    char id[SY_EXP_ID_MAX];
    sy_exp_variant_agg v[SY_EXP_MAX_VARIANTS];
    size_t n;
    /* units by the allocation version they were first seen under, per variant (index
     * as v[]): the expected split for the sample-ratio check follows each version */
    double alloc_units[SY_EXP_MAX_ALLOCS][SY_EXP_MAX_VARIANTS];
    double untracked; /* events of units beyond the tracker's bound, left out */
} sy_exp_agg;

typedef struct sy_exp_tracker sy_exp_tracker;

sy_exp_tracker *sy_exp_tracker_new(void);
void sy_exp_tracker_free(sy_exp_tracker *t);
/* Lower the unit bound (default SY_EXP_MAX_UNITS), e.g. in tests. Before any event. */
void sy_exp_tracker_set_max_units(sy_exp_tracker *t, size_t max_units);

/* How an experiment is analysed: its unit, its control variant and its mSPRT mixing
 * scale. Any thread. */
void sy_exp_tracker_configure(sy_exp_tracker *t, const char *id, sy_exp_unit unit,
                              const char *control, double tau);

/* The learner's observer hands every committed event here (obs NULL: end of batch,
 * when the always-valid p-values take their next look). Store thread only. */
void sy_exp_tracker_observe(sy_exp_tracker *t, const sy_store_obs *obs);

/* Copy one experiment's aggregates; SY_ERR_NOTFOUND when it has no data. Any thread. */
int sy_exp_tracker_get(sy_exp_tracker *t, const char *id, sy_exp_agg *out);

/* The latency (ms) under which a share q of a variant's requests finished (upper bound
 * of the histogram bucket); NAN without requests. */
double sy_exp_latency_quantile(const sy_exp_variant_agg *v, double q);

/* The comparison of treatment with control on the primary metric (thumbs-up rate):
 * a two-proportion z-test for request units, a delta-method Welch t for user and
 * conversation units. Shared by the tracker's looks and the results. */
void sy_exp_primary_compare(sy_exp_unit unit, const sy_exp_variant_agg *control,
                            const sy_exp_variant_agg *treatment, double alpha, sy_comparison *out);

#endif
