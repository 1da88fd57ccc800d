/*
 * cache_internal: a call's response-cache state, shared by cache_call.c (lookup,
 * capture, store) and cache_replay.c (serving a hit); private to those files and the
 * pipeline's stage files that hold the pointer (chat_call.h).
 */
#ifndef SY_CACHE_INTERNAL_H
#define SY_CACHE_INTERNAL_H

#include "cache_call.h"
#include "cache_metrics.h"
#include "chat_call.h"
#include "store_cache.h"

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
} sy_call_cache;

/* Serve entry e (its answer in *answer, an OpenAI chat completion) to the client in its
 * API, as a stream when stream; records the request (policy "cache", no model: it is
 * not learned) and counts it. The request is answered when it returns. */
void sy_cache_replay(sy_call *c, sy_http_req *req, const sy_store_cache_entry *e, sy_buf *answer,
                     int stream);

#endif
