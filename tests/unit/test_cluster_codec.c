/* Cluster mode's pure parts (engine/cluster): an observation survives encode/decode bit
 * for bit, malformed text is refused, an event keeps its identity however often it is
 * sent, the seen-set recognises duplicates, the script ids are SHA-1, budget keys share
 * one hash tag per client key. The Lua contract itself runs against a real redis-server
 * in tests/integration/test_cluster.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_budget.h"
#include "cluster_codec.h"

static void fill(sy_store_request *r, double *x)
{
    memset(r, 0, sizeof(*r));
    for (int i = 0; i < 16; i++)
        r->id[i] = (uint8_t)(i * 17 + 3);
    r->ts_ms = 1796000000123ull;
    strcpy(r->key_name, "team \"a\"\n");
    strcpy(r->route, "chat");
    strcpy(r->model, "small-\xc3\xa9");
    r->status = 200;
    r->latency_ms = 12.345678901234567;
    r->prompt_tokens = 101;
    r->completion_tokens = 42;
    r->cost_usd = 0.1 + 0.2; /* not a short decimal: the round trip must be exact */
    x[0] = 1.0 / 3.0;
    x[1] = -2e-300;
    x[2] = 7;
    r->x = x;
    r->dim = 3;
}

static void test_round_trip_outcome_and_rating(void **state)
{
    double x[3];
    sy_store_request r;
    fill(&r, x);
    for (int fb = 0; fb < 2; fb++) {
        sy_store_obs o = {.is_feedback = fb, .req = &r};
        if (fb) {
            o.value = 0.75;
            o.weight = 0.3;
            o.ts_ms = r.ts_ms + 5000;
            o.implicit = 1;
            o.replaced = 1;
            o.previous = 1;
            o.previous_weight = 1;
        }
        sy_buf b = {0};
        sy_cluster_encode(&b, "gw-a", 1796000000123000ull + 7, 1796000000200ull, &o);
        sy_cluster_obs d;
        assert_int_equal(sy_cluster_decode(b.data, b.len, &d), 0);
        assert_string_equal(d.node, "gw-a");
        assert_true(d.seq == 1796000000123000ull + 7);
        assert_true(d.published_ms == 1796000000200ull);
        assert_memory_equal(d.req.id, r.id, 16);
        assert_true(d.req.ts_ms == r.ts_ms);
        assert_string_equal(d.req.key_name, r.key_name);
        assert_string_equal(d.req.route, r.route);
        assert_string_equal(d.req.model, r.model);
        assert_int_equal(d.req.status, 200);
        assert_true(d.req.latency_ms == r.latency_ms);
        assert_true(d.req.cost_usd == r.cost_usd);
        assert_int_equal(d.req.completion_tokens, 42);
        assert_int_equal(d.req.dim, 3);
        for (int i = 0; i < 3; i++)
            assert_true(d.req.x[i] == x[i]);
        assert_ptr_equal(d.obs.req, &d.req);
        assert_int_equal(d.obs.is_feedback, fb);
        if (fb) {
            assert_true(d.obs.value == 0.75 && d.obs.weight == 0.3);
            assert_true(d.obs.ts_ms == o.ts_ms);
            assert_true(d.obs.implicit && d.obs.replaced);
            assert_true(d.obs.previous == 1 && d.obs.previous_weight == 1);
        }
        sy_cluster_obs_clear(&d);
        sy_buf_free(&b);
    }
}

static void test_round_trip_conversation(void **state)
{
    sy_conv_state st;
    memset(&st, 0, sizeof(st)); /* padding too: the whole struct is compared below */
    st.turn = 3;
    st.rephrases = st.rephrases_total = 2;
    st.thumbs_down = 1;
    st.cost_usd = 0.1 + 0.2;
    st.last_ts_ms = 1796000000999ull;
    st.rated_down = 1;
    strcpy(st.tier, "strong");
    strcpy(st.rule, "frustrated");
    strcpy(st.last_text, "HOW DO I RESET \"MY\" PASSWORD???\n");
    for (int i = 0; i < 16; i++)
        st.last_request[i] = (uint8_t)(255 - i);
    uint8_t id[16] = {1, 2, 3};
    sy_buf b = {0};
    sy_cluster_encode_conv(&b, "gw-b", 5, 6, id, &st);
    sy_cluster_obs d;
    assert_int_equal(sy_cluster_decode(b.data, b.len, &d), 0);
    assert_true(d.is_conv);
    assert_memory_equal(d.conv_id, id, 16);
    assert_string_equal(d.node, "gw-b");
    assert_memory_equal(&d.conv, &st, sizeof(st)); /* every field, padding zeroed on both */
    sy_cluster_obs_clear(&d);
    sy_buf_free(&b);
}

static void test_malformed_is_refused(void **state)
{
    static const char *bad[] = {
        "",
        "[]",
        "{\"v\":2,\"k\":\"o\"}",
        "{\"v\":1,\"k\":\"x\",\"id\":\"00000000000000000000000000000000\",\"n\":\"a\",\"q\":1,"
        "\"key\":\"\",\"r\":\"\",\"m\":\"\"}",
        "{\"v\":1,\"k\":\"o\",\"id\":\"zz\",\"n\":\"a\",\"q\":1,\"key\":\"\",\"r\":\"\",\"m\":"
        "\"\"}",
        /* no event number */
        "{\"v\":1,\"k\":\"o\",\"id\":\"00000000000000000000000000000000\",\"n\":\"a\","
        "\"key\":\"\",\"r\":\"\",\"m\":\"\"}",
        /* a rating out of [0,1] */
        "{\"v\":1,\"k\":\"f\",\"id\":\"00000000000000000000000000000000\",\"n\":\"a\",\"q\":1,"
        "\"key\":\"\",\"r\":\"\",\"m\":\"\",\"fv\":2,\"fw\":1}",
        /* a context that is not numbers */
        "{\"v\":1,\"k\":\"o\",\"id\":\"00000000000000000000000000000000\",\"n\":\"a\",\"q\":1,"
        "\"key\":\"\",\"r\":\"\",\"m\":\"\",\"x\":[1,\"a\"]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sy_cluster_obs d;
        assert_int_equal(sy_cluster_decode(bad[i], strlen(bad[i]), &d), -1);
        assert_null(d.x);
    }
}

/* Decode what node `node` sends as event `seq` for o. */
static void sent(const char *node, uint64_t seq, const sy_store_obs *o, sy_cluster_obs *d)
{
    sy_buf b = {0};
    sy_cluster_encode(&b, node, seq, 1000, o);
    assert_int_equal(sy_cluster_decode(b.data, b.len, d), 0);
    sy_buf_free(&b);
}

static void test_identity_and_duplicates(void **state)
{
    double x[3];
    sy_store_request r;
    fill(&r, x);
    sy_store_obs outcome = {.req = &r},
                 rating = {.is_feedback = 1, .req = &r, .value = 0, .weight = 1, .ts_ms = 5};
    sy_store_obs signal = rating, rerating = rating;
    signal.implicit = 1; /* a rephrase in the same ms with the same value: another event */
    signal.weight = 0.3;
    rerating.value = 1;
    sy_cluster_obs d[7];
    sent("a", 99, &outcome, &d[0]);
    sent("b", 120, &outcome, &d[1]); /* the same outcome sent again, by anyone */
    sent("a", 99, &rating, &d[2]);
    sent("a", 130, &rating, &d[3]); /* republished after a restart: a new number */
    sent("a", 99, &signal, &d[4]);
    sent("a", 100, &rerating, &d[5]);
    r.id[0] ^= 1;
    sent("a", 99, &outcome, &d[6]); /* another request */
    uint64_t id[7];
    for (int i = 0; i < 7; i++)
        id[i] = sy_cluster_event_id(&d[i]);
    assert_true(id[0] == id[1] && id[2] == id[3]);
    assert_true(id[0] != id[2] && id[2] != id[4] && id[2] != id[5] && id[0] != id[6]);
    sy_cluster_seen seen;
    sy_cluster_seen_init(&seen, 1024);
    int fresh[7] = {1, 0, 1, 0, 1, 1, 1};
    for (int i = 0; i < 7; i++)
        assert_int_equal(sy_cluster_seen_check(&seen, id[i]), !fresh[i]);
    sy_cluster_seen_free(&seen);
    for (int i = 0; i < 7; i++)
        sy_cluster_obs_clear(&d[i]);
}

/* The seen window remembers exactly the last n distinct ids, whatever their bits: ids
 * that share their low bits (as FNV ids of similar requests do) do not push each other
 * out, and the oldest is forgotten only when n newer ones came. Checked against a plain
 * FIFO model over many random operations (which exercises the table's deletions). */
static void test_seen_window_is_exact(void **state)
{
    (void)state;
    enum { N = 500, OPS = 20000 };
    sy_cluster_seen seen;
    sy_cluster_seen_init(&seen, N);
    static uint64_t fifo[N];
    size_t count = 0, pos = 0;
    uint64_t x = 88172645463325252ull;
    for (int op = 0; op < OPS; op++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        /* half resends of a recent id, half new ids sharing their low 32 bits */
        uint64_t id = (x & 1) && count ? fifo[(pos + N - 1 - (x >> 8) % count) % N]
                                       : (((x >> 1) % 4000) << 32) | 0xabcdef;
        int want = 0;
        for (size_t k = 0; k < count && !want; k++)
            want = fifo[k] == id;
        assert_int_equal(sy_cluster_seen_check(&seen, id), want);
        if (!want) {
            fifo[pos] = id;
            pos = (pos + 1) % N;
            if (count < N)
                count++;
        }
    }
    sy_cluster_seen_free(&seen);
}

static void test_sha1_and_budget_keys(void **state)
{
    char hex[41];
    sy_cluster_sha1_hex("abc", 3, hex);
    assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    sy_cluster_sha1_hex("", 0, hex);
    assert_string_equal(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sy_cluster_sha1_hex(two_blocks, strlen(two_blocks), hex);
    assert_string_equal(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    char keys[4][320];
    sy_cluster_budget_keys("ab", 86400000ull * 3 + 5, keys); /* 1970-01-04 */
    assert_string_equal(keys[0], "sy:bud:{6162}:d:3");
    assert_string_equal(keys[1], "sy:bud:{6162}:m:23640"); /* 1970 * 12 + 0 */
    assert_string_equal(keys[2], "sy:bud:{6162}:rs:3");
    assert_string_equal(keys[3], "sy:bud:{6162}:rz:3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_outcome_and_rating),
        cmocka_unit_test(test_round_trip_conversation),
        cmocka_unit_test(test_malformed_is_refused),
        cmocka_unit_test(test_identity_and_duplicates),
        cmocka_unit_test(test_seen_window_is_exact),
        cmocka_unit_test(test_sha1_and_budget_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
