/*
 * vec_test: a deterministic pseudo-random vector for the nearest-neighbour tests
 * (test_cache_ann.c, test_sem_index.c), so both draw from one generator.
 */
#ifndef SY_VEC_TEST_H
#define SY_VEC_TEST_H

#include <stddef.h>
#include <stdint.h>

/* dim components in [-1, 1] from seed (xorshift): the same seed, the same vector. */
static inline void sy_test_vec(uint64_t seed, float *v, size_t dim)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < dim; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v[i] = (float)((double)(x >> 11) / (double)(1ull << 53) * 2.0 - 1.0);
    }
}

#endif
