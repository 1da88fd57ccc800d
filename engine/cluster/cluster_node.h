/*
 * cluster_node: the node's link to the other gateway nodes through one Redis
 * (docs/scale-out.md). Optional: only a config with cluster.redis_url starts it.
 *
 * Threads: one thread of its own with its own event_base and two hiredis async
 * connections on it (libevent adapter): `cmd` for writes, look-ups and scripts, `rd` for
 * the blocking XREAD that follows the shared stream. No other thread ever waits for
 * Redis: they hand work over under a short mutex (never held across I/O) and wake the
 * thread; answers come back through callbacks that run on the cluster thread and must
 * only hand the result to their owner (sy_store_call, sy_worker_post).
 *
 * Redis keys (one prefix, "sy:"):
 *   sy:obs          stream of observations, XADD MAXLEN ~ stream_maxlen, fields n (node), d
 *                   (one or more documents, one per line: a batch, cluster_backlog.c)
 *   sy:req:<minute> hash request id hex -> summary, for feedback on another node,
 *                   EXPIRE summary_ttl_s + 60
 *   sy:defack:<n>   hash node -> event number of node n's last definition it adopted
 *   sy:nodes        hash node id -> last heartbeat (ms)
 *   sy:secret       the feedback-token secret every node adopts (SET NX at start)
 *   sy:bud:{<key>}:<period>  a key's budget counters (cluster_budget.c)
 *
 * Failure: while Redis is unreachable or slow (no answer within 2 s) the node goes on
 * alone: observations wait in a bounded backlog (resent when Redis is back; resends are
 * recognised by event id), look-ups answer "unavailable" at once, budget calls fall
 * back to the local share. Reconnection is retried every 250 ms.
 */
#ifndef SY_CLUSTER_NODE_H
#define SY_CLUSTER_NODE_H

#include "cluster_codec.h"
#include "config.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sy_cluster sy_cluster;

/* The `error` of a request record a node stores only to accept a rating for another
 * node's request (engine/api/feedback_api.c): the learner neither learns from it as an
 * outcome nor publishes it. */
#define SY_CLUSTER_FOREIGN "cluster_foreign"

/* Start the cluster thread for cfg (cluster.redis_url set); `summary_ttl_s` is how long a
 * request's summary is kept (the feedback window); `data_dir` holds the clean-stop
 * marker (below). NULL with err on a bad URL. It connects in the background: a Redis
 * that is down at start is not an error. */
sy_cluster *sy_cluster_start(const sy_cluster_cfg *cfg, unsigned summary_ttl_s,
                             const char *data_dir, char *err, size_t err_len);
/* Flush the backlog for at most ~2 s, stop the thread, free everything; when the backlog
 * was emptied, leave the clean-stop marker in data_dir. NULL-safe. */
void sy_cluster_stop(sy_cluster *c);
/* When the last run did not stop cleanly (killed, or its backlog not sent), observations
 * it had not sent may be missing from the stream: the start-up replay publishes again
 * what this node stored since the returned time (wall ms; the last 10 minutes). 0 after
 * a clean stop. Resends are harmless (cluster_codec.h, identity). */
uint64_t sy_cluster_republish_since_ms(const sy_cluster *c);

/* Wait until both links are up (and the scripts loaded), at most timeout_ms: a node
 * that starts serving before would take its first budget decisions alone. 0 up, -1 not. */
int sy_cluster_wait_up(sy_cluster *c, unsigned timeout_ms);

/* This node's id. */
const char *sy_cluster_node(const sy_cluster *c);

/* Publish one committed observation (any thread, never blocks): a request becomes its
 * summary (for feedback on other nodes) and, when it has a route, a stream entry; a
 * rating becomes a stream entry. Copied; dropped (counted) when the backlog is full. */
void sy_cluster_publish(sy_cluster *c, const sy_store_obs *o);

/* Publish a conversation's state after a turn (any thread, never blocks), so that the
 * conversation's next turn finds it on any node. */
void sy_cluster_publish_conv(sy_cluster *c, const uint8_t id[16], const sy_conv_state *st);

/* Publish an admin definition this node committed (what: "experiment" or "prompt"; doc:
 * its whole JSON document), so that every node adopts it. Any thread, never blocks.
 * Returns the definition's event number, for sy_cluster_await_def. Every node that
 * adopts it (or holds one that has come further) confirms it in Redis
 * (sy:defack:<publisher>, field: the confirming node, value: the event number). */
uint64_t sy_cluster_publish_def(sy_cluster *c, const char *what, const char *doc);
/* Wait (without blocking the caller) until every other live node (heartbeat in the last
 * 10 s) has confirmed definition `seq`, or timeout_ms. cb runs once on the cluster
 * thread with a JSON object naming them: {"confirmed":[...],"lagging":[...],
 * "redis_up":bool,"waited_ms":n}; it must only hand the text over (sy_worker_post). With
 * Redis unreachable it answers at once: every node last seen alive lags. */
typedef void (*sy_cluster_await_cb)(void *ud, const char *json, size_t len);
void sy_cluster_await_def(sy_cluster *c, uint64_t seq, unsigned timeout_ms, sy_cluster_await_cb cb,
                          void *ud);
/* Where other nodes' definitions go: fn runs on the cluster thread, in stream order (it
 * may block briefly: it commits and republishes). Set before sy_cluster_follow. */
typedef void (*sy_cluster_def_fn)(void *ud, const char *what, const char *doc);
void sy_cluster_on_def(sy_cluster *c, sy_cluster_def_fn fn, void *ud);

/* Remote observations, in stream order, without this node's own and without events
 * already applied. Called on the cluster thread; the callee owns `obs` (n entries: each
 * sy_cluster_obs_clear'ed, then the array free'd). */
typedef void (*sy_cluster_deliver_fn)(void *ud, sy_cluster_obs *obs, size_t n);
/* Start following the stream from its oldest retained entry. Observations go to fn;
 * other nodes' conversation states are written to `store` (the newer one wins, by the
 * time of its last turn; the store's TTL and size bound apply as to local ones). */
void sy_cluster_follow(sy_cluster *c, sy_store *store, sy_cluster_deliver_fn fn, void *ud);
/* Stop delivering: when it returns, no delivery, conversation write or definition runs
 * or will run (call it before the store closes). */
void sy_cluster_unfollow(sy_cluster *c);
/* The learner applied a remote observation published at published_ms (wall clock). */
void sy_cluster_note_applied(sy_cluster *c, uint64_t published_ms, uint64_t now_ms);

/* Look a request's summary up (any thread; tried for up to 1.2 s while it is not there
 * yet). cb runs once on the cluster thread: status 1 found (`found` valid during the
 * call), 0 unknown, -1 Redis unavailable. */
typedef void (*sy_cluster_lookup_cb)(void *ud, int status, const sy_cluster_obs *found);
void sy_cluster_lookup(sy_cluster *c, const uint8_t id[16], sy_cluster_lookup_cb cb, void *ud);

/* Blocking, at start only (main thread): the feedback-token secret of the cluster (the
 * first node's, SET NX). 0 and out set, or -1 (Redis unreachable: keep the local one). */
int sy_cluster_shared_secret(const sy_cluster_cfg *cfg, const uint8_t local[32], uint8_t out[32]);

/* Health for /admin/status and /metrics. Thread-safe. */
typedef struct sy_cluster_status {
    char node_id[SY_CLUSTER_NODE_MAX];
    int redis_up;          /* both connections are up */
    size_t nodes_seen;     /* nodes (this one included) with a heartbeat in the last 10 s */
    uint64_t backlog;      /* commands waiting to be written to Redis */
    uint64_t published;    /* observations handed to Redis and acknowledged */
    uint64_t dropped;      /* observations dropped because the backlog was full */
    uint64_t received;     /* remote observations read */
    uint64_t duplicates;   /* remote observations skipped as already applied */
    uint64_t applied;      /* remote observations the learner applied */
    uint64_t redis_errors; /* error replies and timeouts */
    uint64_t reconnects;
    double lag_ms_p50, lag_ms_p99, lag_ms_max; /* publish -> applied, last 1024 events */
    uint64_t budget_fallbacks;                 /* budget decisions taken without Redis */
    int auth_failed;                           /* Redis refused the configured AUTH */
} sy_cluster_status;
void sy_cluster_status_get(sy_cluster *c, sy_cluster_status *out);

#endif
