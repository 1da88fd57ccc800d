/* engine/store/store_cache: a rating of a request the cache arm served (its rule
 * SY_CACHE_ARM_RULE + the entry's first 8 key bytes in hex) accumulates on the entry
 * (rating_sum, rating_n) in the rating's own transaction; a re-rating replaces it; a
 * rule naming no entry, or another rule, changes nothing; a new answer under the same
 * key starts afresh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "store_cache.h"
#include "store_test.h"

static char dir[64];

static void put_entry(sy_store *s, uint8_t k)
{
    sy_store_cache_entry e = {0};
    memset(e.key, k, sizeof(e.key));
    snprintf(e.ns, sizeof(e.ns), "r");
    snprintf(e.model, sizeof(e.model), "m");
    e.created_ms = 1000;
    e.expires_ms = UINT64_MAX / 2;
    e.answer = "{\"a\":1}";
    e.answer_len = 7;
    float v[2] = {1, 0};
    e.vec = v;
    e.dim = 2;
    sy_store_cache_put(s, &e, 10);
}

/* A request served from entry k (rule naming it, or `rule` when not NULL). */
static void put_request(sy_store *s, uint8_t id, uint8_t k, const char *rule)
{
    sy_store_request r = {0};
    r.id[15] = id;
    r.ts_ms = 1000 + id;
    snprintf(r.key_name, sizeof(r.key_name), "key");
    snprintf(r.route, sizeof(r.route), "r");
    snprintf(r.model, sizeof(r.model), "cache");
    r.status = 200;
    if (rule)
        snprintf(r.rule, sizeof(r.rule), "%s", rule);
    else
        snprintf(r.rule, sizeof(r.rule), SY_CACHE_ARM_RULE "%02x%02x%02x%02x%02x%02x%02x%02x", k, k,
                 k, k, k, k, k, k);
    sy_store_put_request(s, &r);
}

static void rate(sy_store *s, uint8_t id, double value)
{
    sy_store_feedback f = {0};
    f.id[15] = id;
    snprintf(f.key_name, sizeof(f.key_name), "key");
    f.value = value;
    f.ts_ms = 2000;
    sy_store_ack ack = store_test_rate(s, &f);
    assert_int_equal(ack.status, 200);
}

static void entry(sy_store *s, uint8_t k, double *sum, double *n)
{
    uint8_t key[SY_CACHE_KEY_LEN];
    memset(key, k, sizeof(key));
    sy_store_cache_entry e;
    sy_buf answer = {0};
    assert_int_equal(sy_store_cache_get(s, key, NULL, 1500, &e, &answer), 0);
    assert_int_equal(answer.len, 7); /* the answer survives the rewrite */
    assert_memory_equal(answer.data, "{\"a\":1}", 7);
    assert_int_equal(e.dim, 2);
    *sum = e.rating_sum;
    *n = e.rating_n;
    sy_buf_free(&answer);
}

static void test_ratings_reach_the_entry(void **state)
{
    (void)state;
    sy_store *s = store_test_open_small(dir, sizeof(dir), "cache-rating");
    put_entry(s, 0xab);
    put_entry(s, 0x01);
    put_request(s, 1, 0xab, NULL);
    put_request(s, 2, 0xab, NULL);
    put_request(s, 3, 0x77, NULL);           /* an entry that is gone */
    put_request(s, 4, 0x01, "cache:arm:zz"); /* not a cache-arm rule */
    put_request(s, 5, 0x01, "cache:semantic");
    store_test_settle(s);
    double sum, n;
    entry(s, 0xab, &sum, &n);
    assert_true(sum == 0 && n == 0); /* a new entry: no ratings */
    rate(s, 1, 1.0);
    rate(s, 2, 0.0);
    entry(s, 0xab, &sum, &n);
    assert_float_equal(sum, 1.0, 1e-12);
    assert_float_equal(n, 2.0, 1e-12);
    rate(s, 2, 0.5); /* a re-rating replaces the earlier one */
    entry(s, 0xab, &sum, &n);
    assert_float_equal(sum, 1.5, 1e-12);
    assert_float_equal(n, 2.0, 1e-12);
    rate(s, 3, 1.0);
    rate(s, 4, 1.0);
    rate(s, 5, 1.0);
    entry(s, 0x01, &sum, &n);
    assert_true(sum == 0 && n == 0);
    put_entry(s, 0xab); /* a new answer under the key starts afresh */
    store_test_settle(s);
    entry(s, 0xab, &sum, &n);
    assert_true(sum == 0 && n == 0);
    sy_store_close(s);
    /* and the ratings survive a reopen (they are in the entry's record) */
    s = store_test_open_at(dir);
    put_request(s, 6, 0x01, NULL);
    store_test_settle(s);
    rate(s, 6, 0.25);
    sy_store_close(s);
    s = store_test_open_at(dir);
    entry(s, 0x01, &sum, &n);
    assert_float_equal(sum, 0.25, 1e-12);
    assert_float_equal(n, 1.0, 1e-12);
    sy_store_close(s);
    assert_int_equal(store_test_rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ratings_reach_the_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
