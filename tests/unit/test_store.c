/*
 * The LMDB store: records round-trip, feedback verdicts (200 / 404 / 410), re-rating
 * corrects the arm statistics, MDB_MAP_FULL grows the map, export joins the records,
 * and a reopened environment keeps everything and its feedback secret.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "request_id.h"
#include "store.h"
#include "store_test.h"
#include "store_codec.h"

/* Submit feedback and wait for its verdict. */
static sy_store_ack rate(sy_store *s, const uint8_t id[16], const char *key, double v, uint64_t ts)
{
    sy_store_feedback f = {.value = v, .ts_ms = ts, .comment = "c", .tags = "[\"t\"]"};
    memcpy(f.id, id, 16);
    snprintf(f.key_name, sizeof(f.key_name), "%s", key);
    return store_test_rate(s, &f);
}

static char dir[256];

static int setup(void **state)
{
    store_test_mkdtemp(dir, sizeof(dir), "store");
    return 0;
}

static int teardown(void **state)
{
    return store_test_rmdir(dir);
}

static sy_store *open_store(size_t map_size, uint64_t window_ms)
{
    sy_store_opts o = {.dir = dir,
                       .map_size = map_size,
                       .max_map_size = 256u << 20,
                       .batch_ms = 1,
                       .batch_max = 64,
                       .feedback_window_ms = window_ms};
    char err[256] = "";
    sy_store *s = sy_store_open(&o, err, sizeof(err));
    if (!s)
        fail_msg("open: %s", err);
    return s;
}

static void make_request(sy_store_request *r, uint64_t ts, uint32_t n, const char *model,
                         const double *x, uint32_t dim)
{
    memset(r, 0, sizeof(*r));
    sy_reqid_gen g;
    sy_reqid_init(&g, 0, n + 1);
    char id[SY_REQID_LEN + 1];
    for (uint32_t i = 0; i <= n % 3; i++)
        sy_reqid_next(&g, ts, id);
    sy_reqid_to_bytes(id, r->id);
    r->id[15] = (uint8_t)n; /* distinct ids for distinct n */
    r->id[14] = (uint8_t)(n >> 8);
    r->ts_ms = ts;
    snprintf(r->key_name, sizeof(r->key_name), "alice");
    snprintf(r->route, sizeof(r->route), "chat");
    snprintf(r->model, sizeof(r->model), "%s", model);
    snprintf(r->policy, sizeof(r->policy), "uniform");
    r->propensity = 0.5;
    r->n_candidates = 2;
    r->x = x;
    r->dim = dim;
    r->status = 200;
    r->latency_ms = 100;
    r->ttft_ms = NAN;
    r->prompt_tokens = 10;
    r->completion_tokens = 20;
    r->cost_usd = 0.001;
}

static void test_feedback_verdicts_and_rerating(void **state)
{
    sy_store *s = open_store(1 << 20, 60000);
    sy_store_request r;
    double x[3] = {1, 0.5, -2};
    make_request(&r, 1000000, 1, "small", x, 3);
    sy_store_put_request(s, &r);
    uint8_t unknown[16] = {9};

    assert_int_equal(rate(s, unknown, "alice", 1, 1000001).status, 404);
    assert_int_equal(rate(s, r.id, "mallory", 1, 1000001).status, 404); /* other key */
    assert_int_equal(rate(s, r.id, "alice", 1, 1000000 + 60001).status, 410);

    sy_store_ack a = rate(s, r.id, "alice", 1, 1000500);
    assert_int_equal(a.status, 200);
    assert_false(a.replaced);
    assert_string_equal(a.model, "small");
    a = rate(s, r.id, "alice", 0.25, 1000600);
    assert_int_equal(a.status, 200);
    assert_true(a.replaced);
    assert_true(a.previous == 1);

    sy_store_arm_stats st;
    assert_int_equal(sy_store_arm_stats_get(s, "chat", "small", &st), 0);
    assert_true(st.requests == 1);
    assert_true(st.ratings == 1); /* corrected, not double counted */
    assert_true(st.rating_sum == 0.25);
    assert_true(st.rating_sq_sum == 0.0625);
    assert_true(fabs(st.cost_usd_sum - 0.001) < 1e-15);
    sy_store_close(s);
}

static void format_id(const uint8_t id[16], char *buf)
{
    sy_reqid_from_bytes(id, buf);
}

static void test_map_full_grows_and_export_joins(void **state)
{
    sy_store *s = open_store(64 * 1024, 0); /* tiny map: must grow */
    enum { N = 3000 };
    double x[16];
    for (int i = 0; i < 16; i++)
        x[i] = i * 0.5;
    sy_store_request r;
    for (uint32_t i = 0; i < N; i++) {
        make_request(&r, 2000000 + i, i, i % 2 ? "large" : "small", x, 16);
        sy_store_put_request(s, &r);
    }
    make_request(&r, 2000000, 0, "small", x, 16);
    assert_int_equal(rate(s, r.id, "alice", 0.75, 2000001).status, 200);
    sy_store_counters c;
    sy_store_counters_get(s, &c);
    assert_true(c.map_grows >= 1);
    assert_int_equal(c.events, N + 1);
    sy_store_arm_stats st;
    assert_int_equal(sy_store_arm_stats_get(s, "chat", "large", &st), 0);
    assert_true(st.requests == N / 2);
    sy_store_close(s);

    char path[300];
    snprintf(path, sizeof(path), "%s/export.jsonl", dir);
    FILE *f = fopen(path, "w");
    char err[256];
    assert_int_equal(sy_store_export(dir, f, format_id, err, sizeof(err)), N);
    fclose(f);
    f = fopen(path, "r");
    char line[4096];
    int rated = 0, lines = 0;
    while (fgets(line, sizeof(line), f)) {
        lines++;
        assert_non_null(strstr(line, "\"context\":[0,0.5,1,1.5,2,"));
        assert_non_null(strstr(line, "\"propensity\":0.5"));
        if (strstr(line, "\"feedback\":{\"value\":0.75")) {
            rated++;
            assert_non_null(strstr(line, "\"tags\":[\"t\"]"));
        }
    }
    fclose(f);
    assert_int_equal(lines, N);
    assert_int_equal(rated, 1);
}

static void test_reopen_keeps_secret_and_data(void **state)
{
    sy_store *s = open_store(1 << 20, 0);
    uint8_t secret[32];
    memcpy(secret, sy_store_secret(s), 32);
    sy_store_request r;
    make_request(&r, 5000, 7, "small", NULL, 0);
    sy_store_put_request(s, &r);
    sy_store_close(s);
    s = open_store(1 << 20, 0);
    assert_memory_equal(secret, sy_store_secret(s), 32);
    assert_int_equal(rate(s, r.id, "alice", 1, 5001).status, 200);
    sy_store_close(s);
}

static void test_codec_rejects_truncated_values(void **state)
{
    sy_store_request r, back;
    double x[2] = {1, 2};
    make_request(&r, 1, 1, "m", x, 2);
    sy_buf b = {0};
    sy_store_encode_decision(&b, &r);
    assert_int_equal(sy_store_decode_decision(b.data, b.len, &back), 0);
    assert_string_equal(back.model, "m");
    assert_int_equal(back.dim, 2);
    for (size_t n = 0; n < b.len; n++)
        assert_int_equal(sy_store_decode_decision(b.data, n, &back), -1);
    sy_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_feedback_verdicts_and_rerating, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_full_grows_and_export_joins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_secret_and_data, setup, teardown),
        cmocka_unit_test(test_codec_rejects_truncated_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
