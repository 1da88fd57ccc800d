/*
 * cache_internal: a call's response-cache state, shared by cache_call.c (lookup,
 * capture, store) and cache_replay.c (serving a hit); private to those files and the
 * pipeline's stage files that hold the pointer (chat_call.h).
 */
#ifndef SY_CACHE_INTERNAL_H
#define SY_CACHE_INTERNAL_H

#include "adapter.h"
#include "cache_call.h"
#include "cache_metrics.h"
#include "chat_call.h"
#include "store_cache.h"
#include "cache_key.h"

#define SY_CACHE_MAX_ANSWER (4u * 1024 * 1024) /* larger answers are not stored */

typedef struct sy_call_cache {
    const sy_cache_cfg *cfg; /* borrowed from the call's runtime */
    char ns[SY_STORE_NAME_MAX];
    uint8_t key[SY_CACHE_KEY_LEN];
    sy_cache_outcome outcome;
    double saved_usd;  /* a hit: what the answer cost when it was made */
    int include_usage; /* the client asked for a usage chunk */
    int store;         /* a miss: store the answer when the call completes */
    /* the answer being captured: a plain body, or a stream's content */
    sy_buf answer;
    int have_plain;
    sy_buf line; /* a stream's partial SSE line */
    char finish[32];
    unsigned stream_attempt; /* the attempt the capture belongs to */
    int stream_bad;          /* not reassembled (tool calls, an error, too large) */
    /* the semantic tier (cache_semantic.c) */
    int semantic;                   /* the latest user turn is being or was embedded */
    uint8_t part[SY_CACHE_KEY_LEN]; /* its partition (with the embedding model) */
    sy_buf text;                    /* the normalised latest user turn */
    float *vec;                     /* its embedding (owned; stored with a miss's answer) */
    uint32_t dim;
    double similarity;     /* the nearest neighbour's, or NAN: none searched or found */
    double embed_cost_usd; /* the embedding call's cost (charged to the key) */
    uint64_t lookup_ns;    /* lookup time before the embedding call */
    /* the embedding call in flight: it holds the body until it decides */
    cJSON *root;
    const sy_cache_cont *cont;
    const sy_adapter *ad;
    const sy_model_cfg *emb;
    sy_relay_state rs;
    sy_upstream_call up;
    sy_buf resp;
    long status;
    /* mode arm (cache_arm_call.c): the nearest entry at or above min_similarity, held
     * for the route's decision (its answer in cand_answer), and whether it was served */
    int arm_pending;
    int arm_served;
    sy_store_cache_entry cand;
    sy_buf cand_answer;
} sy_call_cache;

/* A miss (cache_call.c): outcome, the header, marked for storing, counted. */
void sy_cache_miss(sy_call *c, double lookup_s);

/* cache_semantic.c: the partition and text of root's latest user turn for the semantic
 * tier (0), or -1 when it does not apply (no user turn last, no text). */
int sy_cache_semantic_prepare(sy_call *c, const cJSON *root, const sy_cache_key_ctx *ctx);
/* Start embedding the prepared text. 1: under way, owning root until it calls
 * cont->go_on (a miss) or answers (a hit, then cont->answered); 0: it could not start
 * (counted as an embedding failure; the caller goes on as a miss). */
int sy_cache_semantic_start(sy_call *c, sy_http_req *req, cJSON *root, const sy_cache_cont *cont);
/* Drop what the semantic tier holds (the call ends). */
void sy_cache_semantic_free(sy_call_cache *k);

/* cache_arm_call.c: hold entry e (its answer moved from *answer) as the cache arm's
 * candidate for the route's decision. */
void sy_cache_arm_hold(sy_call_cache *k, const sy_store_cache_entry *e, sy_buf *answer);

/* Serve entry e (its answer in *answer, an OpenAI chat completion) to the client in its
 * API, as a stream when stream; records the request (policy "cache", no model: it is
 * not learned; a cache arm's answer on the route's cache arm: learned) and counts it.
 * The request is answered when it returns. */
void sy_cache_replay(sy_call *c, sy_http_req *req, const sy_store_cache_entry *e, sy_buf *answer,
                     int stream);

#endif
