/*
 * Key limits and breakers have no cap on distinct names (issue 15, item 10): the
 * table used to hold 1,024 names, and the 1,025th key (reloads and replayed history
 * count too) was never limited. Also: one name table serves both (issue 16).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "breaker.h"
#include "key_limits.h"
#include "name_slots.h"

static void limits_hold_beyond_1024_keys(void **state)
{
    (void)state;
    sy_key_limits lim = {.requests_per_minute = 1};
    uint64_t now = 1800000000000ull;
    char name[32];
    unsigned retry = 0;
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "key-%d", i);
        assert_null(sy_key_admit(name, &lim, now, &retry)); /* the first is admitted */
    }
    for (int i = 0; i < 5000; i += 499) {
        snprintf(name, sizeof(name), "key-%d", i);
        assert_string_equal(sy_key_admit(name, &lim, now, &retry), "rate_limit_exceeded");
        assert_true(retry >= 1);
    }
    sy_key_limits budget = {.usd_per_day = 1};
    sy_key_restore_spend("key-4999", 2, now, now);
    assert_string_equal(sy_key_admit("key-4999", &budget, now, &retry), "budget_exceeded");
}

static void breakers_hold_beyond_1024_models(void **state)
{
    (void)state;
    char name[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof(name), "model-%d", i);
        assert_true(sy_breaker_available(name, 1000));
    }
    sy_breaker_block("model-2999", 5000);
    assert_false(sy_breaker_available("model-2999", 2000)); /* was: always available */
    assert_true(sy_breaker_available("model-2998", 2000));
}

typedef struct rec {
    pthread_mutex_t lock;
    int hits;
} rec;
static void init_rec(void *r)
{
    pthread_mutex_init(&((rec *)r)->lock, NULL);
}
static sy_name_table shared = SY_NAME_TABLE_INIT(sizeof(rec), init_rec);

static void *hammer(void *arg)
{
    (void)arg;
    char name[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(name, sizeof(name), "n%d", i % 2000);
        rec *r = sy_name_table_get(&shared, name, strlen(name));
        pthread_mutex_lock(&r->lock);
        r->hits++;
        pthread_mutex_unlock(&r->lock);
    }
    return NULL;
}

static void one_record_per_name_across_threads(void **state)
{
    (void)state;
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    int total = 0;
    char name[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        total += ((rec *)sy_name_table_get(&shared, name, strlen(name)))->hits;
    }
    assert_int_equal(total, 4 * 20000); /* no update went to a duplicate record */
    /* names may hold NUL bytes: length, not strlen, tells them apart */
    assert_ptr_not_equal(sy_name_table_get(&shared, "a\0b", 3), sy_name_table_get(&shared, "a", 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(limits_hold_beyond_1024_keys),
        cmocka_unit_test(breakers_hold_beyond_1024_models),
        cmocka_unit_test(one_record_per_name_across_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
