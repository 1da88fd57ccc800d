/*
 * oneshot.h — one thread waits until another reports that a job is done, with a
 * status. The waiter owns the object (usually on its stack, SY_ONESHOT_INIT) and only
 * returns from sy_oneshot_wait after the signal, which it then destroys.
 */
#ifndef SY_ONESHOT_H
#define SY_ONESHOT_H

#include <pthread.h>

typedef struct sy_oneshot {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done, status;
} sy_oneshot;

#define SY_ONESHOT_INIT                                                                            \
    {                                                                                              \
        PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0                                  \
    }

/* The job is done: wake the waiter. Called once, from another thread. */
static inline void sy_oneshot_signal(sy_oneshot *o, int status)
{
    pthread_mutex_lock(&o->lock);
    o->done = 1;
    o->status = status;
    pthread_cond_signal(&o->cond);
    pthread_mutex_unlock(&o->lock);
}

/* Block until signalled; returns the status and releases the object's resources. */
static inline int sy_oneshot_wait(sy_oneshot *o)
{
    pthread_mutex_lock(&o->lock);
    while (!o->done)
        pthread_cond_wait(&o->cond, &o->lock);
    pthread_mutex_unlock(&o->lock);
    pthread_mutex_destroy(&o->lock);
    pthread_cond_destroy(&o->cond);
    return o->status;
}

#endif
