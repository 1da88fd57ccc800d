/*
 * cluster_internal: the cluster's state, shared by its files (cluster_node.c: thread,
 * connections, backlog, stream; cluster_budget.c: budget scripts; cluster_link.c: what
 * both use). Not for other layers.
 */
#ifndef SY_CLUSTER_INTERNAL_H
#define SY_CLUSTER_INTERNAL_H

#include "cluster_node.h"

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>

#define SY_CLUSTER_TIMEOUT_MS 2000 /* a command unanswered this long: the link is dropped */

#define SY_CLUSTER_LINGER_MS 2 /* a queued write waits at most this long for company */
#define SY_CLUSTER_STREAM  "sy:obs"  /* the shared stream */
#define SY_CLUSTER_SUMMARY "sy:req:" /* + minute: request summaries (hash, field: id hex) */

/* One queued write (cluster_backlog.c). */
enum { CL_RAW, CL_XADD, CL_SUM };
typedef struct cl_entry {
    int kind;  /* CL_RAW: cmd; CL_XADD: buf = documents, one per line; CL_SUM: buf =
                  lines of a request id (32 hex digits) and its summary */
    char *cmd; /* CL_RAW: a RESP-formatted command */
    int len;
    sy_buf buf;      /* CL_XADD, CL_SUM */
    uint64_t bucket; /* CL_SUM: the minute (sy_cluster_summary_bucket) */
    int n;           /* items in it */
    int obs;         /* observations among them (counted as published when acknowledged) */
} cl_entry;

typedef struct cl_lookup {
    struct cl_lookup *next;
    uint8_t id[16];
    sy_cluster_lookup_cb cb;
    void *ud;
    int tries;              /* GETs sent so far */
    uint64_t not_before_ms; /* a retry waits until then */
} cl_lookup;

struct sy_cluster {
    sy_cluster_cfg cfg; /* strings owned */
    char host[256];
    int port, db;
    unsigned summary_ttl_s;
    char *marker;                /* data_dir/cluster-clean-stop */
    uint64_t republish_since_ms; /* 0: the last run stopped cleanly */
    pthread_t thread;
    struct event_base *base;
    struct event *wake, *tick, *read_later, *linger;
    redisAsyncContext *cmd, *rd; /* NULL while down */
    int cmd_ready, rd_ready;     /* connected (and SELECTed) */
    uint64_t cmd_sent_ms;        /* when the oldest unanswered command was sent (0: none) */
    uint64_t read_sent_ms;       /* when the pending XREAD was sent (0: none) */
    uint64_t cmd_pending;        /* commands sent on cmd and not answered */
    uint64_t expired_bucket;     /* the summary minute last given its EXPIRE on this link */
    uint64_t last_heartbeat_ms, last_connect_ms;
    char last_id[64]; /* stream position: the last entry read */
    sy_cluster_seen seen;
    _Atomic uint64_t seq; /* the next event's number (sy_cluster_publish) */

    pthread_mutex_t lock; /* everything below; never held across I/O */
    int stopping;
    uint64_t stop_deadline_ms;
    cl_entry *ring;
    size_t cap, head, count, sent; /* ring of backlog commands; `sent` of them in flight */
    cl_lookup *lookups;            /* queued look-ups, newest first */
    sy_store *store;               /* where remote conversation states go (set by follow) */
    sy_cluster_def_fn on_def;      /* where remote definitions go */
    void *on_def_ud;
    sy_cluster_deliver_fn deliver;
    void *deliver_ud;
    pthread_mutex_t deliver_lock; /* held while delivering (sy_cluster_unfollow waits) */
    sy_cluster_status st;
    double lags[1024];
    size_t n_lags, lag_pos;
    struct sy_budget_job *budget_jobs; /* queued reservations, newest first */
    struct cl_wait *waits;             /* admin changes waiting for confirmations */
    /* cluster thread only: the definition-confirmation poll (cluster_defs.c) */
    int wait_poll_sent;                 /* HGETALLs of the poll in flight */
    uint64_t wait_poll_ms;              /* when the last poll was sent */
    char (*alive)[SY_CLUSTER_NODE_MAX]; /* the other nodes alive at the last poll */
    size_t n_alive, cap_alive;
};

/* The backlog (cluster_backlog.c), any thread. Each returns 1 queued (wake the cluster
 * thread), 0 queued (an acknowledgement will flush it), -1 full (dropped, counted).
 * push takes a formatted command over; push_doc queues a stream document (no newline in
 * it), push_summary a request's summary; both copy. */
int sy_cluster_push(sy_cluster *c, char *cmd, int len, int obs);
int sy_cluster_push_doc(sy_cluster *c, const char *doc, size_t len, int obs);
int sy_cluster_push_summary(sy_cluster *c, const uint8_t id[16], const char *json, size_t len);
/* The summary hash's minute of a request id (its first 6 bytes are its time in ms). */
uint64_t sy_cluster_summary_bucket(const uint8_t id[16]);
/* Cluster thread: write queued entries while cmd is up (at most 1024 in flight). */
void sy_cluster_flush(sy_cluster *c);
void sy_cluster_entry_free(cl_entry *e);
/* Cluster thread: load the budget scripts on a new cmd link (before anything else). */
void sy_cluster_budget_load(sy_cluster *c);
/* Cluster thread: send the queued reservations, or answer them "unavailable". */
void sy_cluster_budget_pump(sy_cluster *c);

/* Cluster thread: another node's definition was adopted; confirm it (cluster_defs.c). */
void sy_cluster_def_confirm(sy_cluster *c, const char *publisher, uint64_t seq);
/* Cluster thread: poll confirmations for waiting admin changes, answer those done
 * (cluster_defs.c); `stopping`: answer every wait now. */
void sy_cluster_defs_pump(sy_cluster *c, int stopping);

/* Write what the backlog holds unsent within SY_CLUSTER_LINGER_MS, so that what queues up
 * meanwhile goes out in the same commands (cluster thread; at once while stopping). */
void sy_cluster_flush_soon(sy_cluster *c);
/* Wake the cluster thread (any thread). */
void sy_cluster_wake(sy_cluster *c);
/* Note an answer on cmd (cluster thread): one fewer command in flight. */
void sy_cluster_cmd_answered(sy_cluster *c);
/* Note a command sent on cmd (cluster thread). */
void sy_cluster_cmd_sent(sy_cluster *c);

#endif
