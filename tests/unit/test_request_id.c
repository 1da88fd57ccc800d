/* Request ids: format, uniqueness, ordering (also with a stalled or stepping-back
 * clock), the timestamp round trip, and no collisions across nodes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "request_id.h"

#define N 200000

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_format_and_time_round_trip(void **state)
{
    sy_reqid_gen g;
    sy_reqid_init(&g, 3, 42);
    char id[SY_REQID_LEN + 1];
    uint64_t now = 1795000000123ull;
    sy_reqid_next(&g, now, id);
    assert_int_equal(strlen(id), SY_REQID_LEN);
    assert_memory_equal(id, "req_", 4);
    for (int i = 4; i < SY_REQID_LEN; i++)
        assert_non_null(strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", id[i]));
    assert_int_equal(sy_reqid_time_ms(id), now);
    uint8_t bytes[16];
    char back[SY_REQID_LEN + 1];
    assert_int_equal(sy_reqid_to_bytes(id, bytes), 0);
    sy_reqid_from_bytes(bytes, back);
    assert_string_equal(back, id);
    assert_int_equal(sy_reqid_to_bytes("req_0000000000000000000000000I", bytes), -1);
    assert_int_equal(sy_reqid_time_ms("req_"), 0);
    assert_int_equal(sy_reqid_time_ms("req_0000000000000000000000000I"), 0);
    assert_int_equal(sy_reqid_time_ms("xyz_00000000000000000000000000"), 0);
    assert_int_equal(sy_reqid_time_ms("req_80000000000000000000000000"), 0);
}

/* Ids from one generator strictly increase, whatever the clock does. */
static void test_monotonic_and_unique(void **state)
{
    sy_reqid_gen g;
    sy_reqid_init(&g, 0, 1);
    char prev[SY_REQID_LEN + 1] = "", cur[SY_REQID_LEN + 1];
    uint64_t clock = 1700000000000ull;
    for (int i = 0; i < N; i++) {
        if (i % 1000 == 0)
            clock += 5;
        if (i % 7777 == 0)
            clock -= 20; /* step back */
        sy_reqid_next(&g, clock, cur);
        if (i)
            assert_true(strcmp(prev, cur) < 0);
        memcpy(prev, cur, sizeof(cur));
    }
}

/* More than 2^24 ids in one millisecond roll the timestamp forward, still ordered. */
static void test_sequence_overflow(void **state)
{
    sy_reqid_gen g;
    sy_reqid_init(&g, 1, 9);
    g.last_ms = 1000;
    g.seq = (1u << 24) - 2;
    char a[SY_REQID_LEN + 1], b[SY_REQID_LEN + 1], c[SY_REQID_LEN + 1];
    sy_reqid_next(&g, 1000, a);
    sy_reqid_next(&g, 1000, b);
    sy_reqid_next(&g, 1000, c);
    assert_true(strcmp(a, b) < 0);
    assert_true(strcmp(b, c) < 0);
    assert_int_equal(sy_reqid_time_ms(c), 1001);
}

/* Generators with different nodes and equal seeds and clocks never collide. */
static void test_nodes_do_not_collide(void **state)
{
    enum { PER = 20000, NODES = 4 };
    char **ids = malloc(sizeof(char *) * PER * NODES);
    sy_reqid_gen g[NODES];
    for (int n = 0; n < NODES; n++)
        sy_reqid_init(&g[n], (uint8_t)n, 5);
    for (int i = 0; i < PER; i++)
        for (int n = 0; n < NODES; n++) {
            char *id = malloc(SY_REQID_LEN + 1);
            sy_reqid_next(&g[n], 1700000000000ull + i / 100, id);
            ids[i * NODES + n] = id;
        }
    qsort(ids, PER * NODES, sizeof(char *), cmp_str);
    for (int i = 1; i < PER * NODES; i++)
        assert_true(strcmp(ids[i - 1], ids[i]) != 0);
    for (int i = 0; i < PER * NODES; i++)
        free(ids[i]);
    free(ids);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_and_time_round_trip),
        cmocka_unit_test(test_monotonic_and_unique),
        cmocka_unit_test(test_sequence_overflow),
        cmocka_unit_test(test_nodes_do_not_collide),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
