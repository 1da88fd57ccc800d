/* cache/sem_index: the semantic tier's partitioned vectors: searches stay in their
 * partition (also when other partitions hold identical vectors), replacement, removal
 * freeing an emptied partition, a dim change, promotion to an HNSW graph past
 * SY_SEM_FLAT_MAX entries (and removal there), refusal of bad vectors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sem_index.h"
#include "vec_test.h"

#define DIM 16

static void part_for(int n, uint8_t p[32])
{
    memset(p, 0, 32);
    memcpy(p, &n, sizeof(n));
    p[31] = (uint8_t)(n * 7 + 1);
}

static void vec_for(uint64_t seed, float *v)
{
    sy_test_vec(seed, v, DIM);
}

static void test_search_stays_in_its_partition(void **state)
{
    (void)state;
    sy_sem_index *x = sy_sem_index_new();
    uint8_t a[32], b[32], c[32];
    part_for(1, a);
    part_for(2, b);
    part_for(3, c);
    float v[DIM], w[DIM];
    vec_for(1, v);
    vec_for(2, w);
    assert_int_equal(sy_sem_index_add(x, a, 100, w, DIM), 0);
    /* b holds many exact copies of the query: they are never a's candidates */
    for (uint64_t id = 1; id <= SY_SEM_FLAT_MAX + 50; id++)
        assert_int_equal(sy_sem_index_add(x, b, id, v, DIM), 0);
    uint64_t id = 0;
    float sim = 0;
    assert_int_equal(sy_sem_index_nearest(x, a, v, DIM, &id, &sim), 1);
    assert_int_equal(id, 100);
    float dot = 0, nv = 0, nw = 0;
    for (int i = 0; i < DIM; i++) {
        dot += v[i] * w[i];
        nv += v[i] * v[i];
        nw += w[i] * w[i];
    }
    assert_true(fabsf(sim - dot / sqrtf(nv * nw)) < 1e-5f);             /* cosine similarity */
    assert_int_equal(sy_sem_index_nearest(x, c, v, DIM, &id, &sim), 0); /* empty */
    assert_int_equal(sy_sem_index_nearest(x, b, v, DIM, &id, &sim), 1);
    assert_true(id >= 1 && id <= SY_SEM_FLAT_MAX + 50 && sim > 0.9999f);
    sy_sem_index_stats st;
    sy_sem_index_stats_get(x, &st);
    assert_int_equal(st.entries, SY_SEM_FLAT_MAX + 51);
    assert_int_equal(st.partitions, 2);
    assert_int_equal(st.hnsw, 1); /* b outgrew the flat array */
    sy_sem_index_free(x);
}

static void test_nearest_replace_remove(void **state)
{
    (void)state;
    sy_sem_index *x = sy_sem_index_new();
    uint8_t p[32];
    part_for(7, p);
    float v[DIM];
    for (uint64_t id = 1; id <= 20; id++) {
        vec_for(id, v);
        assert_int_equal(sy_sem_index_add(x, p, id, v, DIM), 0);
    }
    uint64_t id;
    float sim;
    for (uint64_t q = 1; q <= 20; q++) {
        vec_for(q, v);
        for (int i = 0; i < DIM; i++)
            v[i] *= 3.0f; /* scale does not matter */
        assert_int_equal(sy_sem_index_nearest(x, p, v, DIM, &id, &sim), 1);
        assert_int_equal(id, q);
        assert_true(sim > 0.9999f && sim <= 1.0f);
    }
    /* replacing id 5's vector by 6's: a query for 5's old vector no longer finds it at 1 */
    float v6[DIM];
    vec_for(6, v6);
    assert_int_equal(sy_sem_index_add(x, p, 5, v6, DIM), 0);
    sy_sem_index_stats st;
    sy_sem_index_stats_get(x, &st);
    assert_int_equal(st.entries, 20);
    vec_for(5, v);
    assert_int_equal(sy_sem_index_nearest(x, p, v, DIM, &id, &sim), 1);
    assert_true(sim < 0.9999f);
    /* removal; a dim the partition does not hold finds nothing */
    assert_int_equal(sy_sem_index_remove(x, p, 6), 0);
    assert_int_equal(sy_sem_index_remove(x, p, 6), -1);
    assert_int_equal(sy_sem_index_nearest(x, p, v6, DIM, &id, &sim), 1);
    assert_int_equal(id, 5); /* 5 holds 6's old vector now */
    assert_int_equal(sy_sem_index_nearest(x, p, v6, DIM - 1, &id, &sim), 0);
    for (uint64_t i = 1; i <= 20; i++)
        if (i != 6)
            assert_int_equal(sy_sem_index_remove(x, p, i), 0);
    sy_sem_index_stats_get(x, &st);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.partitions, 0); /* the emptied partition was freed */
    assert_int_equal(sy_sem_index_nearest(x, p, v6, DIM, &id, &sim), 0);
    sy_sem_index_free(x);
}

static void test_promoted_partition(void **state)
{
    (void)state;
    sy_sem_index *x = sy_sem_index_new();
    uint8_t p[32];
    part_for(9, p);
    float v[DIM];
    const uint64_t n = SY_SEM_FLAT_MAX * 4;
    for (uint64_t id = 1; id <= n; id++) {
        vec_for(id, v);
        assert_int_equal(sy_sem_index_add(x, p, id, v, DIM), 0);
    }
    sy_sem_index_stats st;
    sy_sem_index_stats_get(x, &st);
    assert_int_equal(st.hnsw, 1);
    assert_int_equal(st.entries, n);
    uint64_t id;
    float sim;
    for (uint64_t q = 1; q <= n; q += 17) {
        vec_for(q, v);
        assert_int_equal(sy_sem_index_nearest(x, p, v, DIM, &id, &sim), 1);
        assert_int_equal(id, q);
    }
    vec_for(18, v);
    assert_int_equal(sy_sem_index_remove(x, p, 18), 0);
    assert_int_equal(sy_sem_index_nearest(x, p, v, DIM, &id, &sim), 1);
    assert_true(id != 18);
    for (uint64_t i = 1; i <= n; i++)
        sy_sem_index_remove(x, p, i);
    sy_sem_index_stats_get(x, &st);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.partitions, 0);
    assert_int_equal(st.hnsw, 0);
    sy_sem_index_free(x);
}

static void test_dim_change_and_bad_vectors(void **state)
{
    (void)state;
    sy_sem_index *x = sy_sem_index_new();
    uint8_t p[32];
    part_for(4, p);
    float v[DIM], zero[DIM] = {0}, bad[DIM];
    vec_for(1, v);
    vec_for(1, bad);
    bad[3] = NAN;
    assert_int_equal(sy_sem_index_add(x, p, 1, zero, DIM), -1);
    assert_int_equal(sy_sem_index_add(x, p, 1, bad, DIM), -1);
    assert_int_equal(sy_sem_index_add(x, p, 1, v, 0), -1);
    assert_int_equal(sy_sem_index_add(x, p, 1, v, DIM), 0);
    assert_int_equal(sy_sem_index_add(x, p, 2, v, DIM), 0);
    uint64_t id;
    float sim;
    assert_int_equal(sy_sem_index_nearest(x, p, zero, DIM, &id, &sim), 0);
    /* a vector of another dim replaces the partition's content */
    assert_int_equal(sy_sem_index_add(x, p, 3, v, 8), 0);
    sy_sem_index_stats st;
    sy_sem_index_stats_get(x, &st);
    assert_int_equal(st.entries, 1);
    assert_int_equal(sy_sem_index_nearest(x, p, v, DIM, &id, &sim), 0);
    assert_int_equal(sy_sem_index_nearest(x, p, v, 8, &id, &sim), 1);
    assert_int_equal(id, 3);
    sy_sem_index_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search_stays_in_its_partition),
        cmocka_unit_test(test_nearest_replace_remove),
        cmocka_unit_test(test_promoted_partition),
        cmocka_unit_test(test_dim_change_and_bad_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
