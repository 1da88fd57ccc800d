/*
 * adapter: the interface between the gateway's OpenAI-shaped API and a provider's
 * dialect (DESIGN.md §4). One file per dialect implements a sy_adapter (the registry in
 * provider.h says which); the pipeline only talks to this interface.
 *
 * Upstream URLs and keys come only from the configuration (sy_provider_cfg); nothing in
 * a client request can influence them.
 */
#ifndef SY_ADAPTER_H
#define SY_ADAPTER_H

#include "config.h"
#include "sy_common.h"

#include <cjson/cJSON.h>
#include <stdint.h>

typedef struct sy_usage {
    int64_t prompt_tokens; /* ALL input tokens, cached and cache-written ones included, as
                              OpenAI reports them; adapters convert to this convention */
    int64_t completion_tokens;
    int64_t cached_tokens;      /* prompt tokens read from the provider's cache */
    int64_t cache_write_tokens; /* prompt tokens written to the cache (Anthropic) */
    int64_t reasoning_tokens;   /* part of completion_tokens (informational) */
    int have;                   /* 1 once the provider reported usage */
} sy_usage;

/* What the pipeline learns while relaying a response. */
typedef struct sy_relay_state {
    sy_usage usage;
    char finish_reason[32];   /* "" until known */
    int64_t content_chunks;   /* stream chunks that carried content (token estimate) */
    int64_t content_bytes;    /* bytes of content/tool-argument text relayed (estimate) */
    int strip_usage_chunk;    /* the client did not ask for the usage chunk we requested */
    int saw_done;             /* "[DONE]" seen */
    int saw_error_event;      /* an in-stream error (or an unparseable first event) */
    const char *error_sent;   /* code (static) of the one in-band error event the adapter
                                 wrote to out; nothing is relayed after it, and the
                                 pipeline adds no second one (NULL: none) */
    void *priv;               /* adapter-owned per-request state (set by build, freed by
                                 the adapter's release) */
    const char *client_model; /* the model name the client asked for (the gateway's
                                 model or route name); set by the pipeline before build */
    const char *client_id;    /* the gateway's request id, or NULL: answers (and every
                                 chunk) carry it as their "id", so a client can rate the
                                 answer by the id its SDK shows; set before build */
} sy_relay_state;

/* A translated upstream request. The adapter fills url, header lines and body. */
typedef struct sy_upstream_call {
    sy_buf url;
    sy_buf body;
    char *headers[8]; /* "Name: value" lines, NULL-terminated; owned (freed by _free) */
} sy_upstream_call;

void sy_upstream_call_free(sy_upstream_call *c);

/* A provider error translated to the OpenAI error shape. */
typedef struct sy_mapped_error {
    int status;
    const char *type; /* static string */
    const char *code; /* static string or NULL */
    sy_buf message;
    int retryable; /* connect errors, 429 (with Retry-After), 5xx, 529 */
} sy_mapped_error;

typedef struct sy_adapter {
    sy_dialect dialect;
    /*
     * Build the upstream request for `req` (the client's parsed body, which the adapter
     * may modify in place) addressed to `model`. `stream` says whether the client asked
     * for a stream. Returns 0, or SY_ERR_INVALID with bad_param and why set when the
     * dialect cannot honour a parameter (the client then gets a 400).
     */
    int (*build)(const sy_provider_cfg *prov, const sy_model_cfg *model, cJSON *req, int stream,
                 sy_relay_state *rs, sy_upstream_call *out, const char **bad_param,
                 const char **why);
    /*
     * A complete non-stream 2xx body: record usage/finish reason in rs and append the
     * OpenAI-shaped body for the client to out (for OpenAI this is the body verbatim).
     * Returns 0, or SY_ERR_INVALID when the body is not a valid response.
     */
    int (*response)(const char *body, size_t len, sy_relay_state *rs, sy_buf *out);
    /*
     * One upstream SSE event (data and raw bytes): record usage/finish reason, and
     * append zero or more OpenAI SSE events for the client to out.
     */
    void (*stream_event)(const char *event, size_t event_len, const char *data, size_t data_len,
                         const char *raw, size_t raw_len, sy_relay_state *rs, sy_buf *out);
    /* Map a non-2xx upstream response to the client-facing error. */
    void (*error)(long status, const char *body, size_t len, const char *retry_after,
                  sy_mapped_error *out);
    /* Free rs->priv (may be NULL when the adapter keeps no per-request state). Called
     * exactly once per request by the pipeline, also when build failed. */
    void (*release)(sy_relay_state *rs);
} sy_adapter;

/*
 * The status, type, code and retryability class of a provider's HTTP error status,
 * shared by every dialect (docs/providers.md lists the mapping). `quota_exhausted`: the
 * provider said a 429 is a spend limit (never retried). Returns 1 when the provider's
 * message may be appended for the client, 0 when it must not be (auth failures can
 * quote the gateway's key).
 */
int sy_map_http_status(long status, int quota_exhausted, sy_mapped_error *out);

/* Map a failure to reach or read from the upstream (no HTTP status) to an error. */
void sy_map_transport_error(int connect_failed, int timed_out, const char *provider,
                            sy_mapped_error *out);

void sy_mapped_error_free(sy_mapped_error *e);

/* Read usage from an OpenAI-shaped "usage" object into u (no-op when not an object). */
void sy_usage_from_openai(const cJSON *usage, sy_usage *u);

/* A token count member of an upstream object: its value when it is a number in
 * [0, SY_MAX_TOKEN_COUNT), else 0. Upstream bytes may say 1e300, and converting that to
 * an integer is undefined behaviour. */
#define SY_MAX_TOKEN_COUNT 1e15
int64_t sy_json_count(const cJSON *o, const char *name);

/* ndigits random lowercase hex digits and a NUL into out (ids that only need to be
 * unique: a per-thread splitmix64 stream seeded from the kernel's random pool). */
void sy_random_hex(char *out, size_t ndigits);

#endif
