/*
 * learner: the learning loop (DESIGN.md §2, §5). It owns one sy_policy_state per route,
 * feeds it every finished request (latency, output tokens, cost) and every stored
 * rating (with the rated decision's context), and publishes immutable snapshots that
 * the workers decide on without locks.
 *
 * Threads: everything here except sy_policy_set_ref/unref runs on the store thread (as
 * the store's observer, and through sy_store_call for reconfiguration), so the states
 * have exactly one writer. Snapshots travel to the workers in a refcounted
 * sy_policy_set through each worker's command slot; a worker swaps its set on its own
 * loop and decides on it synchronously, so no request ever holds a set.
 */
#ifndef SY_LEARNER_H
#define SY_LEARNER_H

#include "config.h"
#include "policy_set.h"

#include <stdint.h>

struct sy_server;
struct sy_runtime;

typedef struct sy_learner sy_learner;

/* Create the learner and register it as the store's observer; then configure it for
 * rt (queued on the store thread) — the first set is published right away. */
sy_learner *sy_learner_start(struct sy_server *server, struct sy_runtime *rt);
/* Block until the start-up replay of the store is done (what routes learned and keys
 * spent is then in place): call before serving. */
void sy_learner_wait_ready(sy_learner *l);
/* Adopt a reloaded configuration: states of routes that keep their name keep their
 * statistics per model; prices and priors change in place. Thread-safe (queued). */
void sy_learner_reconfigure(sy_learner *l, struct sy_runtime *rt);
/* Switch the running workers to rt: its policy states are rebuilt as above and every
 * worker adopts rt together with their first snapshots, so that no request decides on
 * a new route with fresh priors, or on the old prices, in between. Returns once each
 * worker has been handed both (they adopt them at their next loop iteration). Must not
 * be called on the store thread. */
void sy_learner_switch(sy_learner *l, struct sy_runtime *rt);
/* Cluster mode: start learning from the other nodes' observations (engine/cluster),
 * after sy_learner_wait_ready. No-op without a cluster. */
void sy_learner_follow_cluster(sy_learner *l);

/* What an arm has learned from since start-up and replay, this node's and (in cluster
 * mode) the other nodes' observations: requests and rating weight (re-ratings counted
 * once). 0, or -1 when the arm has learned nothing. Thread-safe. */
typedef struct sy_learner_arm_counts {
    double requests, ratings, rating_sum;
} sy_learner_arm_counts;
int sy_learner_learned(sy_learner *l, const char *route, const char *model,
                       sy_learner_arm_counts *out);

/* After the store is closed: free everything. */
void sy_learner_free(sy_learner *l);

#endif
