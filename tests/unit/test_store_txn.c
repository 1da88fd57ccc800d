/*
 * The store when LMDB refuses a transaction (issue 15, items 6 and 11):
 * - another process grows the shared environment past this process's map, so the next
 *   write transaction cannot begin (MDB_MAP_RESIZED): the store used to abort an
 *   uninitialised MDB_txn pointer; it now adopts the new size and commits.
 * - a full map drops a batch: a rating of a dropped request answers 503 (the store's
 *   failure), not 404, and the error reaches the process's log callback, not stderr.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "store_test.h"

static int rate(sy_store *s, uint32_t n)
{
    sy_store_feedback f = {.value = 1, .ts_ms = 1000};
    memcpy(f.id + 12, &n, 4);
    f.id[0] = 1;
    snprintf(f.key_name, sizeof(f.key_name), "alice");
    return store_test_rate(s, &f).status;
}

static char dir[256];

static int setup(void **state)
{
    (void)state;
    store_test_mkdtemp(dir, sizeof(dir), "store-txn");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return store_test_rmdir(dir);
}

static sy_store *open_store(size_t map, size_t max_map)
{
    sy_store_opts o = {
        .dir = dir, .map_size = map, .max_map_size = max_map, .batch_ms = 1, .batch_max = 64};
    char err[512] = "";
    sy_store *s = sy_store_open(&o, err, sizeof(err));
    if (!s)
        fail_msg("open: %s", err);
    return s;
}

/* n requests with ~1.3 KB each, ids 1..n; waits until all are committed or dropped. */
static void put_requests(sy_store *s, uint32_t from, uint32_t n)
{
    sy_store_counters c0, c;
    sy_store_counters_get(s, &c0);
    for (uint32_t i = from; i < from + n; i++) {
        sy_store_request r = {.ts_ms = 1000, .status = 200, .latency_ms = 5};
        memcpy(r.id + 12, &i, 4);
        r.id[0] = 1;
        snprintf(r.key_name, sizeof(r.key_name), "alice");
        snprintf(r.route, sizeof(r.route), "chat");
        snprintf(r.model, sizeof(r.model), "m");
        memset(r.experiments, 'e', sizeof(r.experiments) - 1);
        sy_store_put_request(s, &r);
    }
    do {
        usleep(2000);
        sy_store_counters_get(s, &c);
    } while (c.events + c.dropped_events < c0.events + c0.dropped_events + n);
}

static void map_resized_by_another_process(void **state)
{
    (void)state;
    sy_store *s = open_store(1u << 20, 1u << 20);
    put_requests(s, 1, 10);
    pid_t pid = fork();
    if (pid == 0) { /* another gateway process on the same environment, bigger map */
        sy_store_opts o = {.dir = dir, .map_size = 16u << 20, .max_map_size = 16u << 20};
        char err[512];
        sy_store *t = sy_store_open(&o, err, sizeof(err));
        if (!t)
            _exit(2);
        put_requests(t, 1000, 2000); /* ~3 MB: past the first process's map */
        sy_store_counters c;
        sy_store_counters_get(t, &c);
        sy_store_close(t);
        _exit(c.dropped_events ? 3 : 0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(rate(s, 5), 200); /* its write transaction must begin */
    assert_int_equal(rate(s, 1500), 200);
    sy_store_counters c;
    sy_store_counters_get(s, &c);
    assert_int_equal(c.failed_batches, 0);
    assert_true(c.map_size >= (16u << 20));
    sy_store_close(s);
}

static char logged[4096];
static void capture_log(int level, const char *msg)
{
    if (level == 2)
        snprintf(logged, sizeof(logged), "%s", msg);
}

static void rating_of_a_dropped_request_is_503(void **state)
{
    (void)state;
    sy_store_set_log(capture_log);
    sy_store *s = open_store(256u << 10, 256u << 10); /* a map that cannot grow */
    uint32_t dropped = 0;
    for (uint32_t i = 1; i < 1000 && !dropped; i++) { /* one at a time until one is lost */
        sy_store_counters c;
        put_requests(s, i, 1);
        sy_store_counters_get(s, &c);
        if (c.dropped_events)
            dropped = i;
    }
    assert_true(dropped > 0);
    assert_int_equal(rate(s, dropped), 503); /* was 404: "no such request" */
    assert_int_equal(rate(s, 77777), 404);   /* never sent: still 404 */
    assert_non_null(strstr(logged, "not committed"));
    sy_store_close(s);
    sy_store_set_log(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(map_resized_by_another_process, setup, teardown),
        cmocka_unit_test_setup_teardown(rating_of_a_dropped_request_is_503, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
