/*
 * cluster_codec: what one node tells the others through Redis (docs/scale-out.md), as
 * text that does not depend on the process's memory layout. Pure: no I/O, no clock.
 *
 * One observation is what the learner saw committed (engine/store/store.h sy_store_obs):
 * a finished request (route, model, status, latency, tokens, cost, context vector, the
 * key's name) or a stored rating with the decision it rates. The same text is the
 * stream entry (learning) and the request summary other nodes look up to accept a
 * rating for a request they did not serve.
 *
 * Identity (sy_cluster_event_id), the same however often and by whom an event is sent,
 * so that a resend after a lost acknowledgement or after a restart (which republishes
 * from the store) is recognised and applied once: an outcome is its request id; a rating
 * is its request id with what the store keeps of it (time in ms, value, weight, signal or
 * not), so a re-rating is a new event. `seq` (the publisher's event number, from its
 * start time in µs) orders a node's events in diagnostics only.
 */
#ifndef SY_CLUSTER_CODEC_H
#define SY_CLUSTER_CODEC_H

#include "id_window.h"
#include "store.h"
#include "sy_common.h"

#include <stddef.h>
#include <stdint.h>

#define SY_CLUSTER_NODE_MAX 65 /* node id, 64 bytes and NUL */

/* An observation decoded from the cluster, laid out the way the learner takes local
 * ones: obs.req points at req, req.x at x (owned, freed by sy_cluster_obs_clear). */
typedef struct sy_cluster_obs {
    char node[SY_CLUSTER_NODE_MAX]; /* who published it */
    uint64_t published_ms;          /* publisher's wall clock when it published */
    uint64_t seq;                   /* publisher's event number */
    sy_store_request req;
    sy_store_obs obs;
    double *x;
    int is_conv;         /* a conversation's state, not an observation: */
    uint8_t conv_id[16]; /*   its id */
    sy_conv_state conv;  /*   and its state after a turn */
    int is_def;          /* an admin definition another node committed: */
    char def_what[16];   /*   "experiment" */
    char *def;           /*   its document (JSON text, owned) */
} sy_cluster_obs;

/* Append o (with the publisher's node id, event number and time) to b as one JSON object. */
void sy_cluster_encode(sy_buf *b, const char *node, uint64_t seq, uint64_t published_ms,
                       const sy_store_obs *o);
/* Append a conversation's state after a turn (what sy_store_put_conv stores). */
void sy_cluster_encode_conv(sy_buf *b, const char *node, uint64_t seq, uint64_t published_ms,
                            const uint8_t id[16], const sy_conv_state *st);
/* Append an admin definition (what: "experiment"; doc: its JSON document). */
void sy_cluster_encode_def(sy_buf *b, const char *node, uint64_t seq, uint64_t published_ms,
                           const char *what, const char *doc);
/* Decode text of len bytes into out (cleared first): an observation, a conversation or a
 * definition. 0, or -1
 * when it is not an observation this version understands (the caller skips it). */
int sy_cluster_decode(const char *text, size_t len, sy_cluster_obs *out);
/* Free what a decoded observation owns. */
void sy_cluster_obs_clear(sy_cluster_obs *o);

/* 64-bit identity of a decoded event (see the top of this file). */
uint64_t sy_cluster_event_id(const sy_cluster_obs *o);

/*
 * The event ids applied last: exactly the last `slots` distinct ids are remembered (a
 * FIFO window over an open-addressed table), so a duplicate is recognised whenever
 * fewer than `slots` other events came in between. (It was direct-mapped before, and a
 * slot taken by an unrelated id made a resend count twice: one request outcome too many
 * after a node's restart, now and then.)
 */
typedef struct sy_cluster_seen {
    sy_id_window w;
} sy_cluster_seen;
void sy_cluster_seen_init(sy_cluster_seen *s, size_t slots);
void sy_cluster_seen_free(sy_cluster_seen *s);
/* 1 when id was seen already; otherwise remember it (forgetting the oldest when the
 * window is full) and return 0. id 0 is never remembered. */
int sy_cluster_seen_check(sy_cluster_seen *s, uint64_t id);

/* 1 when a Redis error reply means "not now" (LOADING after a restart, BUSY script,
 * TRYAGAIN, MASTERDOWN, READONLY after a failover, OOM, MISCONF, NOAUTH, NOSCRIPT): the
 * command is kept and sent again on a new link. 0: a refusal that resending cannot
 * change (wrong type, syntax). */
int sy_cluster_transient_error(const char *msg);

#endif
