/*
 * worker: one thread with its own event_base, HTTP listener (SO_REUSEPORT), CURLM,
 * random generator and request-id generator (DESIGN.md §2). A request lives on one
 * worker from accept to last byte.
 *
 * Lock rules (cf. memcached thread.c): everything in sy_worker is touched only by its
 * own thread, except the `cmd_*` fields, which other threads write under cmd_lock and
 * then wake the worker with event_active(&cmd_ev). Nothing is locked across I/O.
 */
#ifndef SY_WORKER_H
#define SY_WORKER_H

#include "http_server.h"
#include "log.h"
#include "request_id.h"
#include "runtime.h"
#include "policy_set.h"
#include "upstream.h"

#include <event2/event.h>
#include <event2/event_struct.h>
#include <gsl/gsl_rng.h>
#include <pthread.h>

struct sy_server;

/*
 * A closure another thread hands to a worker (memcached's notify pipe, h2o's receiver):
 * the worker calls run(job, 1) on its own loop, in the order jobs were posted, or
 * run(job, 0) from sy_worker_free when its loop is gone. The job owns itself: run
 * frees it. This is how the store thread answers feedback without the worker knowing
 * the feedback API.
 */
typedef struct sy_worker_job {
    struct sy_worker_job *next;
    void (*run)(struct sy_worker_job *job, int live);
} sy_worker_job;

typedef struct sy_worker {
    size_t index;
    struct sy_server *server;
    pthread_t thread;
    struct event_base *base;
    int http_fd;  /* listening socket handed to this worker (owned until started) */
    int admin_fd; /* worker 0 only, else -1 */
    sy_http_server *http;
    sy_http_server *admin;
    sy_upstream *up;
    gsl_rng *rng;
    sy_reqid_gen ids;
    sy_runtime *rt; /* current runtime; requests take their own reference */
    sy_logbuf log;
    size_t inflight;    /* chat requests between dispatch and completion */
    uint64_t decisions; /* route decisions made (round-robin turns) */
    struct event cmd_ev, flush_ev, drain_deadline_ev;
    int draining;
    int open_servers; /* servers not yet idle during a drain */

    pthread_mutex_t cmd_lock;
    sy_runtime *cmd_runtime; /* a runtime to switch to */
    int cmd_shutdown;
    sy_worker_job *cmd_jobs;            /* posted jobs, newest first */
    struct sy_policy_set *cmd_policies; /* newer snapshots from the learner */
    struct sy_policy_set *policies;     /* the snapshots requests decide on (own ref) */
} sy_worker;

/* Prepare a worker (event base, upstream, rng). Runs on the main thread. */
void sy_worker_init(sy_worker *w, struct sy_server *server, size_t index, int http_fd, int admin_fd,
                    sy_runtime *rt, uint64_t seed);
int sy_worker_start(sy_worker *w);
/* Ask the worker to switch to rt (takes a reference). Thread-safe. */
void sy_worker_publish(sy_worker *w, sy_runtime *rt);
/* Ask the worker to drain and stop. Thread-safe. */
void sy_worker_shutdown(sy_worker *w);
/* Wait for the thread to end (its event loop is gone; it may still receive acks). */
void sy_worker_join(sy_worker *w);
/* Free everything the worker owns, after sy_worker_join() and after the store closed. */
void sy_worker_free(sy_worker *w);

/* Learner → worker: a new snapshot set; the worker takes over one reference. */
void sy_worker_publish_policies(sy_worker *w, struct sy_policy_set *set);
/* Learner → worker: a new runtime (takes a reference) with its first snapshot set (takes
 * over one reference), adopted together: no request decides on one without the other. */
void sy_worker_publish_with_policies(sy_worker *w, sy_runtime *rt, struct sy_policy_set *set);

/* Any thread → worker: run job on the worker's loop (see sy_worker_job). Thread-safe. */
void sy_worker_post(sy_worker *w, sy_worker_job *job);

/* Limits for the HTTP layer derived from a config. */
void sy_worker_http_limits(const sy_config *cfg, sy_http_limits *out);

#endif
