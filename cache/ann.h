/*
 * ann: an approximate nearest-neighbour index over unit vectors (cosine similarity),
 * for the semantic cache. It wraps hnswlib (Debian libhnswlib-dev, header-only C++):
 * a well-kept HNSW implementation, so the gateway keeps only this thin C boundary.
 *
 * Thread safety: any number of threads may search at once; add and remove take the
 * index's write lock (a pthread rwlock inside the object, never held across I/O).
 * Vectors are copied and normalised on the way in; the caller keeps its buffers.
 * No C++ exception crosses this boundary: failures are -1 or 0 results.
 */
#ifndef SY_ANN_H
#define SY_ANN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sy_ann sy_ann;

/* One neighbour: the caller's id and its cosine similarity to the query (-1..1). */
typedef struct sy_ann_hit {
    uint64_t id;
    float similarity;
} sy_ann_hit;

/* A new empty index for vectors of `dim` floats; it grows past `capacity` as needed
 * (capacity 0 picks a small default). NULL on a bad dim (< 1 or > 65536) or no memory. */
sy_ann *sy_ann_new(int dim, size_t capacity);
void sy_ann_free(sy_ann *a);

/* Insert `vec` (dim floats) under `id`, replacing the vector an existing id had.
 * A zero or non-finite vector is refused (-1); 0 on success. */
int sy_ann_add(sy_ann *a, uint64_t id, const float *vec);

/* Forget `id`: it is never returned again (the slot is reused by later adds).
 * 0 when it was present, -1 when it was not. */
int sy_ann_remove(sy_ann *a, uint64_t id);

/* Up to `k` nearest live entries to `vec`, most similar first, written to `out`;
 * returns how many. A zero or non-finite query finds nothing. */
size_t sy_ann_search(sy_ann *a, const float *vec, size_t k, sy_ann_hit *out);

/* Live entries (added and not removed). */
size_t sy_ann_count(sy_ann *a);
int sy_ann_dim(const sy_ann *a);

/* Cosine similarity of two dim-float vectors (0 when either is zero). Exact, for
 * callers that compare a handful of vectors without an index. */
float sy_ann_cosine(const float *x, const float *y, int dim);

#ifdef __cplusplus
}
#endif

#endif
