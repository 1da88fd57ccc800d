/*
 * cache_key: the response cache's keys (docs/cache.md), pure functions of a validated
 * OpenAI chat completions body and the request's context.
 *
 * The exact key is a SHA-256 over a canonical form of everything that determines the
 * answer: the body with object members sorted by name (recursively) and without the
 * members that change only how the answer is delivered or attributed (model, stream,
 * stream_options, user, metadata, store, service_tier), plus the context: the route or
 * model name the request named, the scope (the client key's name, "" when shared), the
 * registry prompt and version it was rendered from, and the experiment variant's route.
 * Every other member (messages, tools, tool_choice, response_format, sampling, stop,
 * seed, n, and any member this code does not know) is in the key.
 *
 * The semantic tier's partition is the same hash over the body whose messages stop
 * before the latest user turn, so a neighbour is looked for only among requests with
 * identical earlier conversation, parameters, route, prompt and scope; the latest user
 * turn's text (normalised: white space collapsed, trimmed, ASCII lower-cased) is what is
 * embedded.
 */
#ifndef SY_CACHE_KEY_H
#define SY_CACHE_KEY_H

#include "sy_common.h"

#include <cjson/cJSON.h>
#include <stdint.h>

typedef struct sy_cache_key_ctx {
    const char *ns;     /* the route or model name the request named */
    const char *scope;  /* the client key's name, or "" for a shared scope */
    const char *prompt; /* registry prompt, "" none */
    unsigned prompt_version;
    const char *variant; /* experiment variant's route, "" none */
} sy_cache_key_ctx;

/* The exact key of body under ctx into key. */
void sy_cache_exact_key(const cJSON *body, const sy_cache_key_ctx *ctx, uint8_t key[32]);

/* The semantic partition of body and its latest user turn's normalised text into text
 * (reset first). 0, or -1 when the body has no user turn as its last message or the
 * turn has no text (the semantic tier does not apply). */
int sy_cache_semantic_part(const cJSON *body, const sy_cache_key_ctx *ctx, uint8_t part[32],
                           sy_buf *text);

/* The canonical form of v (sorted members, minus the delivery members at the top level
 * when top is 1), appended to out. For tests and the key above. */
void sy_cache_canonical(const cJSON *v, int top, sy_buf *out);

#endif
