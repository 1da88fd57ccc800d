/*
 * The conversation sweep (engine/store/store_sweep.c, issue 17): expired conversations
 * are deleted in bounded steps, across more than one step, and live ones are kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "store.h"
#include "store_test.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    store_test_mkdtemp(dir, sizeof(dir), "store-sweep");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return store_test_rmdir(dir);
}

static void put_conv(sy_store *s, uint32_t i, uint64_t last_ts_ms)
{
    uint8_t id[16] = {7};
    memcpy(id + 12, &i, 4);
    sy_conv_state st = {.turn = 1, .last_ts_ms = last_ts_ms};
    sy_store_put_conv(s, id, &st);
}

/* 5,000 expired conversations (more than two steps of 2,048) and 300 live ones
 * interleaved in key order: every expired one is swept, no live one. */
static void test_sweep_in_steps(void **state)
{
    (void)state;
    sy_store_opts o = {.dir = dir,
                       .map_size = 64u << 20,
                       .max_map_size = 64u << 20,
                       .batch_ms = 1,
                       .conv_ttl_ms = 60000,
                       .sweep_every_ms = 50};
    char err[512] = "";
    sy_store *s = sy_store_open(&o, err, sizeof(err));
    assert_non_null(s);
    uint64_t now = sy_wall_ms();
    uint32_t expired = 0, live = 0;
    for (uint32_t i = 0; i < 5300; i++) {
        int is_live = i % 18 == 5 && live < 300;
        put_conv(s, i, is_live ? now : now - 120000);
        live += (uint32_t)is_live;
        expired += (uint32_t)!is_live;
    }
    sy_store_counters c;
    for (int tries = 0; tries < 500; tries++) { /* up to 5 s */
        usleep(10000);
        sy_store_counters_get(s, &c);
        if (c.conv_swept >= expired)
            break;
    }
    assert_int_equal(c.conv_swept, expired);
    usleep(200000); /* further passes find nothing more */
    sy_store_counters_get(s, &c);
    assert_int_equal(c.conv_swept, expired);
    sy_store_close(s);
    /* reopened (no cache): the live ones are there, an expired one is not */
    s = sy_store_open(&o, err, sizeof(err));
    assert_non_null(s);
    sy_conv_state st;
    uint8_t id[16] = {7};
    uint32_t i = 5;
    memcpy(id + 12, &i, 4);
    assert_int_equal(sy_store_conv_get(s, id, now, &st), 0);
    i = 6;
    memcpy(id + 12, &i, 4);
    assert_int_equal(sy_store_conv_get(s, id, now, &st), -1);
    sy_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sweep_in_steps, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
