/* engine/store/store_cache: the semantic index's feed. After a batch commits, the store
 * thread reports every entry with a vector it added or deleted (replaced, evicted by the
 * bound, invalidated), in order; entries without a vector are not reported. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "store_cache.h"
#include "store_test.h"

static char dir[64];

typedef struct seen {
    pthread_mutex_t lock;
    int n;
    int added[32];
    uint8_t key0[32], part0[32];
    uint32_t dim[32];
    float first[32]; /* vec[0] of an add */
} seen;

static void on_change(void *ud, int added, const uint8_t key[32], const uint8_t part[32],
                      const float *vec, uint32_t dim)
{
    seen *s = ud;
    pthread_mutex_lock(&s->lock);
    if (s->n < 32) {
        s->added[s->n] = added;
        s->key0[s->n] = key[0];
        s->part0[s->n] = part[0];
        s->dim[s->n] = dim;
        s->first[s->n] = added && vec ? vec[0] : 0;
        s->n++;
    }
    pthread_mutex_unlock(&s->lock);
}

static void put(sy_store *s, uint8_t k, uint64_t created, const float *vec, uint32_t dim)
{
    sy_store_cache_entry e = {0};
    memset(e.key, k, sizeof(e.key));
    memset(e.part, (uint8_t)(k + 100), sizeof(e.part));
    snprintf(e.ns, sizeof(e.ns), "r");
    snprintf(e.model, sizeof(e.model), "m");
    e.created_ms = created;
    e.expires_ms = created + 3600000ull * 1000;
    e.answer = "{}";
    e.answer_len = 2;
    e.vec = vec;
    e.dim = dim;
    sy_store_cache_put(s, &e, 2);
}

static void test_feed(void **state)
{
    (void)state;
    sy_store *s = store_test_open_small(dir, sizeof(dir), "cache-listener");
    seen sn = {.lock = PTHREAD_MUTEX_INITIALIZER};
    sy_store_cache_set_listener(s, on_change, &sn);
    float va[3] = {1, 0, 0}, vb[3] = {2, 0, 0}, vc[3] = {3, 0, 0}, vc2[3] = {4, 0, 0};
    put(s, 1, 1000, va, 3);
    put(s, 2, 2000, vb, 3);
    put(s, 3, 3000, vc, 3); /* the bound (2) evicts entry 1 */
    store_test_settle(s);
    assert_int_equal(sn.n, 4);
    assert_true(sn.added[0] && sn.key0[0] == 1 && sn.part0[0] == 101 && sn.dim[0] == 3 &&
                sn.first[0] == 1);
    assert_true(sn.added[1] && sn.key0[1] == 2 && sn.first[1] == 2);
    assert_true(sn.added[2] && sn.key0[2] == 3 && sn.first[2] == 3);
    assert_true(!sn.added[3] && sn.key0[3] == 1 && sn.part0[3] == 101 && sn.dim[3] == 0);
    put(s, 3, 4000, vc2, 3);  /* replaced: its old vector leaves, the new one comes */
    put(s, 4, 5000, NULL, 0); /* no vector: nothing to report, but it evicts entry 2 */
    store_test_settle(s);
    assert_int_equal(sn.n, 7);
    assert_true(!sn.added[4] && sn.key0[4] == 3);
    assert_true(sn.added[5] && sn.key0[5] == 3 && sn.first[5] == 4);
    assert_true(!sn.added[6] && sn.key0[6] == 2);
    assert_int_equal(sy_store_cache_invalidate(s, "r", NULL, NULL, 0), 2);
    store_test_settle(s);
    assert_int_equal(sn.n, 8); /* entry 3 had a vector, entry 4 none */
    assert_true(!sn.added[7] && sn.key0[7] == 3 && sn.part0[7] == 103);
    sy_store_close(s);
    assert_int_equal(store_test_rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
