/*
 * Conversation state written behind into its own environment (engine/store/store_conv.c,
 * issue 17): a put is readable at once (also when the cache slot was taken by another
 * conversation), survives a close, is written in batches (not per put), a thumbs-down
 * wins over a stale worker's write before and after the write-behind, a store of the
 * older layout (conversations in data.mdb) is moved over, and a damaged conversation
 * environment is set aside instead of refusing to start.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "store.h"
#include "store_codec.h"
#include "store_test.h"
#include "sy_common.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    store_test_mkdtemp(dir, sizeof(dir), "store-conv");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return store_test_rmdir(dir);
}

static size_t map_size = 16u << 20;

static sy_store *open_store(unsigned flush_ms)
{
    sy_store_opts o = {.dir = dir,
                       .map_size = map_size,
                       .max_map_size = 256u << 20,
                       .batch_ms = 1,
                       .conv_flush_ms = flush_ms};
    char err[512] = "";
    sy_store *s = sy_store_open(&o, err, sizeof(err));
    if (!s)
        fprintf(stderr, "open: %s\n", err);
    assert_non_null(s);
    return s;
}

/* Ids that share their first four bytes share one cache slot. */
static void conv_id(uint8_t id[16], uint32_t i)
{
    memset(id, 0, 16);
    id[0] = 9;
    memcpy(id + 12, &i, 4);
}

static void put(sy_store *s, uint32_t i, uint32_t turn, uint64_t ts)
{
    uint8_t id[16];
    conv_id(id, i);
    sy_conv_state st = {.turn = turn, .last_ts_ms = ts, .good_turns = turn};
    snprintf(st.last_text, sizeof(st.last_text), "turn %u of %u", turn, i);
    sy_store_put_conv(s, id, &st);
}

static int get(sy_store *s, uint32_t i, sy_conv_state *st)
{
    uint8_t id[16];
    conv_id(id, i);
    return sy_store_conv_get(s, id, sy_wall_ms(), st);
}

/* Every put is readable at once and after a reopen; nothing is written before the
 * interval (one flush at close), however many turns. */
static void test_read_your_writes_and_reopen(void **state)
{
    (void)state;
    uint64_t now = sy_wall_ms();
    sy_store *s = open_store(60000);
    for (uint32_t turn = 1; turn <= 3; turn++)
        for (uint32_t i = 0; i < 50; i++)
            put(s, i, turn, now);
    sy_conv_state st;
    for (uint32_t i = 0; i < 50; i++) {
        assert_int_equal(get(s, i, &st), 0);
        assert_int_equal(st.turn, 3);
        char want[64];
        snprintf(want, sizeof(want), "turn 3 of %u", i);
        assert_string_equal(st.last_text, want);
    }
    sy_store_counters c;
    sy_store_counters_get(s, &c);
    assert_int_equal(c.conv_flushes, 0);
    assert_int_equal(c.conv_unsaved, 0);
    sy_store_close(s);
    char path[400];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/conversations/data.mdb", dir);
    assert_int_equal(stat(path, &sb), 0);
    s = open_store(60000);
    for (uint32_t i = 0; i < 50; i++) {
        assert_int_equal(get(s, i, &st), 0);
        assert_int_equal(st.turn, 3);
    }
    assert_int_equal(get(s, 50, &st), -1);
    sy_store_close(s);
}

static void wait_flushes(sy_store *s, uint64_t at_least)
{
    sy_store_counters c;
    for (int tries = 0; tries < 300; tries++) { /* up to 3 s */
        sy_store_counters_get(s, &c);
        if (c.conv_flushes >= at_least)
            return;
        usleep(10000);
    }
    fail_msg("no write-behind: %llu flushes", (unsigned long long)c.conv_flushes);
}

/* A burst of more than CONV_FLUSH_AT new conversations: all kept and readable, written
 * in more than one but far fewer transactions than puts; the conversation environment's
 * map starts at 1 MiB and grows (MDB_MAP_FULL) to hold them. */
static void test_burst(void **state)
{
    (void)state;
    uint64_t now = sy_wall_ms();
    map_size = 1u << 20;
    sy_store *s = open_store(60000);
    for (uint32_t i = 0; i < 10000; i++)
        put(s, i, 1, now);
    wait_flushes(s, 1);
    sy_conv_state st;
    for (uint32_t i = 0; i < 10000; i += 7)
        assert_int_equal(get(s, i, &st), 0);
    sy_store_close(s);
    s = open_store(60000);
    for (uint32_t i = 0; i < 10000; i++)
        assert_int_equal(get(s, i, &st), 0);
    sy_store_counters c;
    sy_store_counters_get(s, &c);
    assert_int_equal(c.conv_unsaved, 0);
    sy_store_close(s);
    map_size = 16u << 20;
    struct stat sb;
    char path[400];
    snprintf(path, sizeof(path), "%s/conversations/data.mdb", dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_true(sb.st_size > (1 << 20)); /* it did grow */
}

/* A request of conversation i, rated down; the verdict arrives after the commit. */
static void rate_down(sy_store *s, uint32_t i, uint8_t n)
{
    sy_store_request r;
    memset(&r, 0, sizeof(r));
    r.id[0] = 1;
    r.id[15] = n;
    r.ts_ms = sy_wall_ms();
    snprintf(r.key_name, sizeof(r.key_name), "k");
    snprintf(r.model, sizeof(r.model), "m");
    r.propensity = 1;
    r.status = 200;
    conv_id(r.conv, i);
    sy_store_put_request(s, &r);
    sy_store_feedback f = {.value = 0, .ts_ms = r.ts_ms, .by_token = 1};
    memcpy(f.id, r.id, 16);
    assert_int_equal(store_test_rate(s, &f).status, 200);
}

/* A worker that read the state before the thumbs-down writes a later turn without it:
 * the thumbs-down is kept, whether the put finds it in memory (2) or only the
 * write-behind finds it in the environment (1). */
static void test_thumbs_down_wins(void **state)
{
    (void)state;
    uint64_t now = sy_wall_ms();
    sy_store *s = open_store(50);
    put(s, 1, 1, now);
    put(s, 2, 1, now);
    wait_flushes(s, 1);
    rate_down(s, 1, 1);
    rate_down(s, 2, 2);
    sy_conv_state st;
    assert_int_equal(get(s, 2, &st), 0);
    assert_int_equal(st.thumbs_down, 1);
    sy_store_counters c;
    sy_store_counters_get(s, &c);
    wait_flushes(s, c.conv_flushes + 1); /* both thumbs-downs are written */
    /* stale turns (thumbs_down 0, good_turns 2). Conversation 2 holds the cache slot
     * both share: merged when put; conversation 1's is merged by the write-behind. */
    put(s, 2, 2, now);
    assert_int_equal(get(s, 2, &st), 0);
    assert_int_equal(st.thumbs_down, 1);
    assert_int_equal(st.good_turns, 0);
    put(s, 1, 2, now); /* evicts 2 from the slot; 1's thumbs-down is only in LMDB */
    sy_store_counters_get(s, &c);
    wait_flushes(s, c.conv_flushes + 1);
    for (uint32_t i = 1; i <= 2; i++) {
        assert_int_equal(get(s, i, &st), 0);
        assert_int_equal(st.turn, 2);
        assert_int_equal(st.thumbs_down, 1);
        assert_int_equal(st.good_turns, 0);
        assert_int_equal(st.rated_down, 1);
    }
    sy_store_close(s);
    s = open_store(50);
    for (uint32_t i = 1; i <= 2; i++) {
        assert_int_equal(get(s, i, &st), 0);
        assert_int_equal(st.thumbs_down, 1);
        assert_int_equal(st.good_turns, 0);
    }
    sy_store_close(s);
}

/* Conversations in data.mdb (the layout before this environment) are moved over once. */
static void test_migrates_old_layout(void **state)
{
    (void)state;
    const uint32_t n = 20000;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_set_mapsize(env, 64u << 20), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "conversations", MDB_CREATE, &dbi), 0);
    uint64_t now = sy_wall_ms();
    for (uint32_t i = 0; i < n; i++) {
        uint8_t id[16];
        conv_id(id, i);
        sy_conv_state st = {.turn = 4, .last_ts_ms = now};
        snprintf(st.last_text, sizeof(st.last_text), "an older store's conversation %u", i);
        sy_buf b = {0};
        sy_store_encode_conv(&b, &st);
        MDB_val k = {16, id}, v = {b.len, b.data};
        assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
        sy_buf_free(&b);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    struct stat sb;
    char path[400];
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    assert_int_equal(stat(path, &sb), 0);
    map_size = (size_t)sb.st_size + (256u << 10); /* what the main environment needs */
    sy_store *s = open_store(60000);
    map_size = 16u << 20;
    sy_conv_state st;
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(get(s, i, &st), 0);
        assert_int_equal(st.turn, 4);
    }
    sy_store_close(s);
    /* the old table is empty now */
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "conversations", 0, &dbi), 0);
    MDB_stat ms;
    assert_int_equal(mdb_stat(txn, dbi, &ms), 0);
    assert_int_equal(ms.ms_entries, 0);
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

/* A damaged conversation environment: the store opens, with no conversation state, and
 * the damaged file is kept aside. */
static void test_damaged_env_set_aside(void **state)
{
    (void)state;
    uint64_t now = sy_wall_ms();
    sy_store *s = open_store(60000);
    put(s, 1, 1, now);
    sy_store_close(s);
    char path[400];
    snprintf(path, sizeof(path), "%s/conversations/data.mdb", dir);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    char junk[8192];
    memset(junk, 0x5a, sizeof(junk));
    assert_int_equal(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
    fclose(f);
    s = open_store(60000);
    sy_conv_state st;
    assert_int_equal(get(s, 1, &st), -1);
    put(s, 2, 1, now);
    assert_int_equal(get(s, 2, &st), 0);
    sy_store_close(s);
    struct stat sb;
    snprintf(path, sizeof(path), "%s/conversations/data.mdb.damaged", dir);
    assert_int_equal(stat(path, &sb), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_your_writes_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_burst, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thumbs_down_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrates_old_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_env_set_aside, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
