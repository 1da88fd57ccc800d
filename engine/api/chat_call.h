/*
 * chat_call: the state of one POST /v1/chat/completions while it is in flight, shared
 * by the pipeline's stage files (pipeline.c and chat_*.c; private to engine/api/).
 *
 * One sy_call owns everything a request needs: its runtime reference, the upstream
 * transfer, the relay state. Each stage keeps its own part of it:
 *   - ctx  (chat_context.c): experiments the request is enrolled in, the prompt version;
 *   - conv (chat_context.c): the conversation's identity and state;
 *   - dec  (chat_decide.c): the route, the policy's ranking, propensity and context;
 *   - att  (chat_attempt.c, chat_relay.c): the current attempt at an upstream model;
 *   - rec  (chat_record.c, filled by all): what the log line and the store record say.
 * The call has exactly one end, sy_chat_finish(), reached when the upstream transfer
 * completes or the client goes away; the HTTP request is answered before, or is gone.
 */
#ifndef SY_CHAT_CALL_H
#define SY_CHAT_CALL_H

#include "adapter.h"
#include "cache_call.h"
#include "config.h"
#include "clock.h"
#include "cost.h"
#include "embed_validate.h"
#include "featurize.h"
#include "guard_call.h"
#include "http_server.h"
#include "ingress.h"
#include "policy.h"
#include "prompt_registry.h"
#include "runtime.h"
#include "sse.h"
#include "store.h"
#include "upstream.h"
#include "worker.h"

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <stdint.h>

#define MAX_UPSTREAM_BODY (32u * 1024 * 1024) /* non-stream responses and error bodies */
#define MAX_SSE_EVENT     (4u * 1024 * 1024)
#define MAX_HELD_BACK     (256u * 1024) /* stream bytes held back before the first content */

/* The code of a non-stream answer over MAX_UPSTREAM_BODY (compared by address). */
extern const char SY_CHAT_TOO_LARGE[];

/* What the call's one timer is waiting for. */
enum { T_NONE, T_TTFT, T_IDLE, T_BACKOFF, T_ABANDON };

/* Stages 5 and 6: experiments and the prompt version. */
typedef struct sy_call_ctx {
    /* experiments the request is enrolled in (decision record form) and the route of the
     * variant that serves it (NULL: not enrolled) */
    char experiments[1280];
    const sy_route_cfg *exp_route;
    int exp_params; /* a variant's parameters were applied to the chat body (only the chat
                       form carries them: no native ingress attempt) */
    /* the prompt version the request was rendered from (prompt[0] == '\0': none) */
    char prompt[SY_PROMPT_NAME_MAX + 16];
    unsigned prompt_version;
} sy_call_ctx;

/* Stages 4 and 7: the conversation (routes only). */
typedef struct sy_call_conv {
    int on; /* the request belongs to a conversation (it was routed) */
    uint8_t id[16];
    sy_conv_state state; /* as loaded, then updated by this turn */
} sy_call_conv;

/* Stage 8: the route's decision. The ranking is the fallback order. */
typedef struct sy_call_decision {
    const sy_route_cfg *route;  /* NULL: the request named a model */
    const sy_model_cfg *chosen; /* the policy's choice (ranking[0]) */
    const char *policy_name;    /* static string of the policy */
    const char *rule_name;      /* the escalation rule applied, if any */
    double propensity;
    double *x; /* context vector of the decision (contextual policies), owned */
    size_t dim;
    size_t ranking[SY_POLICY_MAX_ARMS];
    size_t n_ranked, rank_pos;
} sy_call_decision;

/* Stage 9: the current attempt (DESIGN.md §9). */
typedef struct sy_call_attempt {
    const sy_model_cfg *model; /* the model being tried */
    const sy_provider_cfg *prov;
    const sy_adapter *ad;
    sy_relay_state rs;
    sy_upstream_call up;
    sy_upstream_xfer *xfer;
    long up_status;
    sy_buf resp; /* non-stream body or error body */
    sy_buf out;  /* stream events translated, waiting to be sent */
    sy_sse_parser sse;
    /* an ingress's streams (chat_ingress.c): the adapter's OpenAI events wait in ing_raw,
     * are split by ing_sse and translated by the ingress's state ing_state into out */
    sy_buf ing_raw;
    sy_sse_parser ing_sse;
    void *ing_state;
    /* the adapter speaks the ingress's API natively (ingress.h: native): it was sent the
     * client's own body (sy_call.ingress_body) and its answer and events go out as they
     * are, with no ingress translation */
    int native;
    int started;        /* streaming response begun */
    int sent;           /* a request went to an upstream: the exchange is billed */
    int acquired;       /* the breaker granted the current attempt */
    struct event timer; /* TTFT / idle / backoff / deferred cancel */
    int timer_kind;
    const char *fail_code; /* why the current attempt is being abandoned (stream) */
    unsigned attempts, fallbacks;
    struct cJSON *body; /* the client's body as the pipeline parsed it: the first attempt
                           translates it instead of parsing again (owned until taken) */
} sy_call_attempt;

/* Stage 10: what is logged and recorded. */
typedef struct sy_call_record {
    int status; /* status given to the client (499: client went away) */
    const char *error_code;
    int completed; /* the upstream answer arrived whole (not cut, not aborted) */
    sy_bill bill;  /* computed once the exchange is over */
    uint64_t t_start_ns, t_first_ns, t_end_ns;
    uint64_t bytes_in, bytes_out;
    char *prompt_json;   /* log.include_prompts: the request's messages (owned) */
    char *answer_json;   /* log.include_prompts: the non-stream answer message (owned) */
    size_t prompt_bytes; /* request body size: the prompt estimate when usage is missing */
} sy_call_record;

typedef struct sy_call {
    sy_worker *w;
    sy_http_req *req; /* NULL once answered or once the client is gone */
    sy_runtime *rt;   /* our own reference */
    char id[SY_REQID_LEN + 1];
    const char *key_name;
    const sy_client_key_cfg *key;
    int stream;
    int embed; /* POST /v1/embeddings (embeddings.c): embedding models and adapters */
    const sy_ingress *ingress;   /* the client's API when not OpenAI chat (ingress.h), or NULL */
    sy_buf ingress_body;         /* the client's own body, kept when the ingress has a native
                                    adapter (attempts at such providers send it) */
    struct sy_call_guard *guard; /* guardrails (guard_call.h), or NULL: none apply */
    struct sy_call_cache *cache; /* the response cache (cache_call.h), or NULL: not cacheable */
    sy_buf headers;              /* x-switchyard-* response headers */
    size_t base_headers_len;     /* headers before the per-attempt model/route lines */
    uint64_t budget_reserved_ms; /* cluster budget reserved at (chat_budget.c); 0: none */
    sy_call_ctx ctx;
    sy_call_conv conv;
    sy_call_decision dec;
    sy_call_attempt att;
    sy_call_record rec;
} sy_call;

/* pipeline.c: the stages every endpoint shares, in order */
/* A new call for req, its feedback token header written. */
sy_call *sy_call_new(sy_worker *w, sy_http_req *req, const sy_client_key_cfg *key);
/* Key limits, media type, depth, parse (engine/api/api_common.h's json body checks; a
 * \u0000 is refused unless allow_nul): the body, or NULL once answered. */
cJSON *sy_call_admit(sy_call *c, sy_http_req *req, int allow_nul);
/* The target's kind, then resolve and decide: 0, or -1 once answered (400/404). */
int sy_call_target(sy_call *c, sy_http_req *req, const char *name, const cJSON *root);
/* Take over the request and start the first attempt. */
void sy_call_launch(sy_call *c, sy_http_req *req);
/* End a call answered before any upstream attempt. */
void sy_call_answered(sy_call *c, sy_http_req *req);
/* chat_budget.c: in cluster mode, reserve the call's maximum cost against its key's
 * budgets before launching it. 1: held (the verdict calls launch(c, req) or answers
 * 429 later; chat_record.c settles the cost as the call ends), 0: launch now. */
int sy_chat_budget_hold(sy_call *c, sy_http_req *req, const cJSON *root,
                        void (*launch)(sy_call *c, sy_http_req *req));

/* embed_request.c */
/* Schema checks (engine/proto/embed_validate.c): 1 when valid (s filled), else answers
 * the 400. */
int sy_embed_validate_body(sy_http_req *req, const cJSON *root, sy_embed_summary *s);
/* What the featurizer needs from a validated embeddings request (pointers into root). */
void sy_embed_request_features(const cJSON *root, sy_feature_input *fi);

/* chat_request.c */
/* Reject with an OpenAI-shaped 400 that names the parameter. */
void sy_chat_bad_request(sy_http_req *req, const char *param, const char *msg);
/* Content-Type is application/json (parameters such as charset allowed). */
int sy_chat_is_json(const sy_http_req *req);
/* Nesting depth of a JSON text, without parsing it; stops counting past `max`. */
unsigned sy_chat_json_depth(const char *s, size_t n, unsigned max);
/* Schema checks (engine/proto/chat_validate.c): 1 when valid, else answers the 400. */
int sy_chat_validate_body(sy_http_req *req, cJSON *root);
/* What the featurizer needs from a validated chat request (pointers into root). */
void sy_chat_request_features(const cJSON *root, sy_feature_input *fi);

/* chat_context.c */
void sy_chat_assign_experiments(sy_call *c, cJSON *root);
int sy_chat_render_prompt(sy_call *c, sy_http_req *req, cJSON *root);
void sy_chat_conversation_stage(sy_call *c, const sy_route_cfg *r, const cJSON *root,
                                sy_feature_input *fi, const char **tier, const char **pin);

/* chat_decide.c */
/* sy_chat_resolve_target's answer when a cache-arm route's policy chose the cache. */
#define SY_CHAT_CACHE_ARM 1
int sy_chat_resolve_target(sy_call *c, const char *name, const cJSON *root);

/* chat_relay.c */
void sy_chat_arm_timer(sy_call *c, int kind, unsigned ms);
void sy_chat_on_header(void *ud, long status);
int sy_chat_on_data(void *ud, const char *data, size_t len);
int sy_chat_on_sse_event(void *ud, const sy_sse_event *ev);
void sy_chat_answer_plain(sy_call *c, sy_buf *body);
void sy_chat_finish_stream(sy_call *c, sy_upstream_result res, const char *detail);
void sy_chat_stream_error(sy_call *c, const char *code, const char *message);

/* chat_ingress.c: the call's ingress translations (no-ops without an ingress) */
/* Translate the OpenAI events the adapter left in att.ing_raw into att.out. */
void sy_chat_ingress_relay(sy_call *c);
/* The stream's closing events (code NULL) or its in-band error, into out. */
void sy_chat_ingress_close(sy_call *c, const char *code, const char *message, sy_buf *out);
/* A complete OpenAI-shaped answer in the client's API into out: 0, or -1 if malformed. */
int sy_chat_ingress_answer(sy_call *c, const sy_buf *body, sy_buf *out);
/* Drop the attempt's stream translation state (a new attempt starts afresh). */
void sy_chat_ingress_reset(sy_call *c);

/* chat_attempt.c */
int sy_chat_start_attempt(sy_call *c);
void sy_chat_timer_cb(evutil_socket_t fd, short what, void *arg);

/* chat_record.c */
void sy_chat_finish(sy_call *c);
void sy_chat_detach(sy_call *c);

#endif
