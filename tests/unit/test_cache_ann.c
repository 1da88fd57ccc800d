/* cache/ann: nearest neighbours by cosine similarity, replacement, removal, growth,
 * compaction after many removals, and refusal of zero or non-finite vectors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "ann.h"
#include "vec_test.h"

#define DIM 32

static void vec_for(uint64_t seed, float *v)
{
    sy_test_vec(seed, v, DIM);
}

static void test_finds_itself_and_orders_by_similarity(void **state)
{
    sy_ann *a = sy_ann_new(DIM, 4);
    assert_non_null(a);
    float v[DIM];
    for (uint64_t id = 1; id <= 500; id++) {
        vec_for(id, v);
        assert_int_equal(sy_ann_add(a, id, v), 0);
    }
    assert_int_equal(sy_ann_count(a), 500); /* grew past the initial capacity of 4 */
    sy_ann_hit hits[5];
    for (uint64_t id = 1; id <= 500; id += 37) {
        vec_for(id, v);
        size_t n = sy_ann_search(a, v, 5, hits);
        assert_int_equal(n, 5);
        assert_int_equal(hits[0].id, id);
        assert_true(fabsf(hits[0].similarity - 1.0f) < 1e-4f);
        for (size_t i = 1; i < n; i++)
            assert_true(hits[i - 1].similarity >= hits[i].similarity);
    }
    /* Scale does not matter: the index compares directions. */
    vec_for(42, v);
    for (int i = 0; i < DIM; i++)
        v[i] *= 7.5f;
    assert_int_equal(sy_ann_search(a, v, 1, hits), 1);
    assert_int_equal(hits[0].id, 42);
    sy_ann_free(a);
}

static void test_similarity_is_cosine(void **state)
{
    sy_ann *a = sy_ann_new(2, 0);
    float x[2] = {1, 0}, y[2] = {1, 1}, q[2] = {1, 0};
    assert_int_equal(sy_ann_add(a, 10, x), 0);
    assert_int_equal(sy_ann_add(a, 11, y), 0);
    sy_ann_hit hits[4];
    assert_int_equal(sy_ann_search(a, q, 4, hits), 2); /* k above the count: all there are */
    assert_int_equal(hits[0].id, 10);
    assert_true(fabsf(hits[1].similarity - (float)M_SQRT1_2) < 1e-5f);
    assert_true(fabsf(sy_ann_cosine(x, y, 2) - (float)M_SQRT1_2) < 1e-6f);
    sy_ann_free(a);
}

static void test_replace_and_remove(void **state)
{
    sy_ann *a = sy_ann_new(2, 0);
    float x[2] = {1, 0}, y[2] = {0, 1};
    sy_ann_hit h[2];
    assert_int_equal(sy_ann_add(a, 7, x), 0);
    assert_int_equal(sy_ann_add(a, 7, y), 0); /* same id: replaced, not duplicated */
    assert_int_equal(sy_ann_count(a), 1);
    assert_int_equal(sy_ann_search(a, y, 2, h), 1);
    assert_true(h[0].similarity > 0.999f);
    assert_int_equal(sy_ann_remove(a, 7), 0);
    assert_int_equal(sy_ann_remove(a, 7), -1);
    assert_int_equal(sy_ann_count(a), 0);
    assert_int_equal(sy_ann_search(a, y, 2, h), 0);
    assert_int_equal(sy_ann_add(a, 7, x), 0); /* comes back after removal */
    assert_int_equal(sy_ann_search(a, x, 2, h), 1);
    assert_int_equal(h[0].id, 7);
    sy_ann_free(a);
}

/* Many more removals than live entries: compaction keeps every live id findable and
 * no removed id ever comes back. */
static void test_churn_compacts(void **state)
{
    sy_ann *a = sy_ann_new(DIM, 0);
    float v[DIM];
    sy_ann_hit h[3];
    for (uint64_t id = 1; id <= 6000; id++) {
        vec_for(id, v);
        assert_int_equal(sy_ann_add(a, id, v), 0);
        if (id > 100)
            assert_int_equal(sy_ann_remove(a, id - 100), 0);
    }
    assert_int_equal(sy_ann_count(a), 100);
    for (uint64_t id = 5901; id <= 6000; id += 9) {
        vec_for(id, v);
        assert_int_equal(sy_ann_search(a, v, 3, h), 3);
        assert_int_equal(h[0].id, id);
        for (int i = 0; i < 3; i++)
            assert_true(h[i].id > 5900);
    }
    sy_ann_free(a);
}

static void test_refuses_bad_vectors(void **state)
{
    assert_null(sy_ann_new(0, 0));
    sy_ann *a = sy_ann_new(2, 0);
    float zero[2] = {0, 0}, nan2[2] = {NAN, 1}, ok[2] = {1, 0};
    sy_ann_hit h[1];
    assert_int_equal(sy_ann_add(a, 1, zero), -1);
    assert_int_equal(sy_ann_add(a, 1, nan2), -1);
    assert_int_equal(sy_ann_count(a), 0);
    assert_int_equal(sy_ann_add(a, 1, ok), 0);
    assert_int_equal(sy_ann_search(a, zero, 1, h), 0);
    assert_int_equal(sy_ann_search(a, nan2, 1, h), 0);
    assert_int_equal(sy_ann_dim(a), 2);
    sy_ann_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_finds_itself_and_orders_by_similarity),
        cmocka_unit_test(test_similarity_is_cosine),
        cmocka_unit_test(test_replace_and_remove),
        cmocka_unit_test(test_churn_compacts),
        cmocka_unit_test(test_refuses_bad_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
