/*
 * store_test.h: what the store's unit tests share: a temporary store directory for the
 * fixtures, and submitting a rating and waiting for the store thread's verdict (the store
 * answers through a callback on its own thread). Include after <cmocka.h>.
 */
#ifndef SY_STORE_TEST_H
#define SY_STORE_TEST_H

#include "oneshot.h"
#include "store.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

/* A new empty directory /tmp/sy-test-NAME-XXXXXX; its path into dir (size bytes). */
static inline void store_test_mkdtemp(char *dir, size_t size, const char *name)
{
    snprintf(dir, size, "/tmp/sy-test-%s-XXXXXX", name);
    assert_non_null(mkdtemp(dir));
}

/* Remove dir and everything in it; system()'s status (0 when done). */
static inline int store_test_rmdir(const char *dir)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

/* The store in dir (opened, or created): 8 MiB map growing to 64, 1 ms batches; fails
 * the test when it cannot open. */
static inline sy_store *store_test_open_at(const char *dir)
{
    sy_store_opts o = {.dir = dir,
                       .map_size = 8u << 20,
                       .max_map_size = 64u << 20,
                       .batch_ms = 1,
                       .batch_max = 64};
    char err[256] = "";
    sy_store *s = sy_store_open(&o, err, sizeof(err));
    assert_non_null(s);
    return s;
}

/* The same in a new temporary directory (its path into dir). */
static inline sy_store *store_test_open_small(char *dir, size_t size, const char *name)
{
    store_test_mkdtemp(dir, size, name);
    return store_test_open_at(dir);
}

static inline void store_test_signal_done(void *ud)
{
    sy_oneshot_signal(ud, 0);
}

/* Wait until everything queued on the store so far was committed. */
static inline void store_test_settle(sy_store *s)
{
    sy_oneshot done = SY_ONESHOT_INIT;
    sy_store_call(s, store_test_signal_done, &done);
    sy_oneshot_wait(&done);
}

typedef struct store_test_wait {
    sy_oneshot done;
    sy_store_ack ack;
} store_test_wait;

static inline void store_test_on_ack(void *ud, const sy_store_ack *ack)
{
    store_test_wait *w = ud;
    w->ack = *ack;
    sy_oneshot_signal(&w->done, 0);
}

/* Submit f and return the store's verdict once it is committed (or refused). */
static inline sy_store_ack store_test_rate(sy_store *s, const sy_store_feedback *f)
{
    store_test_wait w = {.done = SY_ONESHOT_INIT};
    sy_store_put_feedback(s, f, store_test_on_ack, &w);
    sy_oneshot_wait(&w.done);
    return w.ack;
}

#endif
