/*
 * cache_call: the response cache in the chat pipeline (docs/cache.md). The keys are
 * cache/cache_key.h's, the entries engine/store/store_cache.h's; this glue decides
 * whether a request is cacheable, looks it up after the input guardrails (so the key is
 * the text the upstream would see), replays a hit in the client's API (plain or SSE),
 * captures a miss's answer as the adapter produced it (before output guardrails, which
 * run again on every replay) and queues it for the store when the call completes.
 *
 * Ownership: the call owns its sy_call_cache (c->cache, NULL when the request is not
 * cacheable), freed by sy_cache_call_end from sy_chat_finish.
 */
#ifndef SY_CACHE_CALL_H
#define SY_CACHE_CALL_H

#include "cache_arm.h"
#include "http_server.h"
#include "log.h"
#include "sy_common.h"

#include <cjson/cJSON.h>

struct sy_call;

/* How the pipeline goes on after a lookup that had to wait (the semantic tier's
 * embedding call): go_on takes root (a miss), answered ends the call (a hit was served),
 * on_abort is the pipeline's abort path (the client left: cancels the call's transfer). */
typedef struct sy_cache_cont {
    void (*go_on)(struct sy_call *c, sy_http_req *req, cJSON *root);
    void (*answered)(struct sy_call *c, sy_http_req *req);
    void (*on_abort)(sy_http_req *req, void *ud);
} sy_cache_cont;

/* Look the validated, guarded body (root) up. 1: answered from the cache (the caller
 * deletes root and ends the call); 0: go on (a cacheable miss is marked for storing,
 * and its x-switchyard-cache header is on the call); 2: the semantic tier is embedding
 * the latest user turn: it owns root and continues through cont. */
int sy_cache_lookup(struct sy_call *c, sy_http_req *req, cJSON *root, const char *name,
                    const sy_cache_cont *cont);

/* A non-stream answer as the adapter produced it (OpenAI-shaped), before the output
 * guardrails: kept for the store when the call completes. */
void sy_cache_hold_plain(struct sy_call *c, const sy_buf *body);
/* OpenAI SSE bytes the adapter just produced (before the output guardrails). */
void sy_cache_capture_stream(struct sy_call *c, const char *data, size_t len);

/*
 * Mode "arm" (cache_arm_call.c; policies/cache_arm.h). The lookup holds the nearest
 * entry at or above the block's min_similarity as a candidate instead of serving it;
 * the route's decision (chat_decide.c) then asks for it, and either serves it (the
 * cache arm won) or declines it (a model won: the request is a miss).
 */
/* The call's candidate (has 0 when there is none or the request is not cacheable);
 * tau is the block's threshold. */
void sy_cache_arm_candidate(const struct sy_call *c, sy_cache_candidate *cand);
/* The held candidate's provenance: the model that made its answer and what that cost
 * (the saving if the cache arm serves it; the decision's cost hint for that model). 0,
 * or -1 without a candidate. *model points into the call's state. */
int sy_cache_arm_provenance(const struct sy_call *c, const char **model, double *cost_usd);
/* A model won the decision: a held candidate becomes a miss (header, counted, and the
 * model's answer is stored). No-op without one. */
void sy_cache_arm_declined(struct sy_call *c);
/* The cache arm won (c->dec holds the decision): serve the held candidate as a semantic
 * hit and record the request on the route's cache arm (model SY_CACHE_ARM_NAME, the
 * decision's context), so that its outcome and rating are learned. The request is
 * answered when it returns. */
void sy_cache_arm_serve(struct sy_call *c, sy_http_req *req, int stream);

/* The log line's "cache" member (hit, semantic, miss) when the request was cacheable. */
void sy_cache_log_field(const struct sy_call *c, sy_logbuf *lb);
/* The call ends (after its bill): store a completed answer, free the cache state. */
void sy_cache_call_end(struct sy_call *c);

#endif
