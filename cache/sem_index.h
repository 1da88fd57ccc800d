/*
 * sem_index: the semantic cache's vectors, partitioned (docs/cache.md). A partition is
 * the 32-byte digest sy_cache_semantic_part computes (scope, route, prompt, parameters
 * and the conversation before the latest user turn): a search looks only inside the
 * query's partition, so another key's or another conversation's entries are never
 * candidates, by construction.
 *
 * Why partitions and not one index per route with a filter: with "scope": "key" many
 * partitions hold near-identical vectors (each key asking the same question), and a
 * route-wide k-nearest search followed by a partition filter would find the other keys'
 * copies and miss the caller's own entry. hnswlib 0.6 (Debian) has no filtered search,
 * and an HNSW graph costs ~2.6 MB of fixed locks each, so a partition starts as a flat
 * array scanned exactly (most partitions hold a few entries) and becomes an ann.h index
 * (HNSW) when it grows past SY_SEM_FLAT_MAX entries.
 *
 * Thread safety: searches hold the index's read lock; adds and removes the write lock,
 * except adds to and removes from a partition already promoted to HNSW, which take the
 * read lock and the partition's own (ann.h) write lock. No lock is held across I/O (there
 * is none here). Vectors are copied and normalised; callers keep their buffers.
 */
#ifndef SY_SEM_INDEX_H
#define SY_SEM_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define SY_SEM_FLAT_MAX 256 /* entries a partition scans exactly before it becomes HNSW */

typedef struct sy_sem_index sy_sem_index;

sy_sem_index *sy_sem_index_new(void);
void sy_sem_index_free(sy_sem_index *x);

/* Add (or replace) entry `id` with vector vec (dim floats) in partition part. A vector
 * of another dim than the partition's replaces the partition's content (the embedding
 * model changed its output). -1 for a zero or non-finite vector or a bad dim. */
int sy_sem_index_add(sy_sem_index *x, const uint8_t part[32], uint64_t id, const float *vec,
                     int dim);

/* Forget entry id of partition part; an emptied partition is freed. 0, or -1 absent. */
int sy_sem_index_remove(sy_sem_index *x, const uint8_t part[32], uint64_t id);

/* The most similar entry of partition part to vec: 1 with *id and *similarity (cosine,
 * -1..1) set, 0 when the partition is empty, absent or of another dim. */
int sy_sem_index_nearest(sy_sem_index *x, const uint8_t part[32], const float *vec, int dim,
                         uint64_t *id, float *similarity);

typedef struct sy_sem_index_stats {
    size_t entries;    /* vectors held */
    size_t partitions; /* non-empty partitions */
    size_t hnsw;       /* partitions promoted to an HNSW graph */
} sy_sem_index_stats;
void sy_sem_index_stats_get(sy_sem_index *x, sy_sem_index_stats *out);

#endif
