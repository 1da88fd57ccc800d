/*
 * store_test.h: what the store's unit tests share: submit a rating and wait for the
 * store thread's verdict (the store answers through a callback on its own thread).
 */
#ifndef SY_STORE_TEST_H
#define SY_STORE_TEST_H

#include "oneshot.h"
#include "store.h"

typedef struct store_test_wait {
    sy_oneshot done;
    sy_store_ack ack;
} store_test_wait;

static void store_test_on_ack(void *ud, const sy_store_ack *ack)
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
