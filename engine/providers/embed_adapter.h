/*
 * embed_adapter: POST /v1/embeddings in a provider's dialect (DESIGN.md §4). An
 * embeddings adapter is a sy_adapter (adapter.h) whose build translates an OpenAI
 * embeddings request and whose response turns the provider's answer into OpenAI's
 * {"object":"list","data":[{"object":"embedding","index","embedding"}],"model","usage"};
 * it never streams (stream_event is NULL) and maps errors as the dialect's chat adapter.
 *
 * The gateway always asks the provider for floats and encodes base64 itself, so every
 * dialect answers both encodings the same way. Anthropic has no embeddings API: its
 * dialect has no adapter here.
 */
#ifndef SY_EMBED_ADAPTER_H
#define SY_EMBED_ADAPTER_H

#include "adapter.h"
#include "embed_validate.h"

/* The registry (provider.h) says which adapter serves a dialect: sy_embed_adapter_for. */

/* ---- shared by the dialects (embed_common.c) */

/* What build learns from the request and response needs (rs->priv). */
typedef struct sy_embed_state {
    sy_embed_summary sum; /* pointers in it are dangling after build: counts only */
    char *model;          /* owned: the model name the client sees */
} sy_embed_state;

/* Validate the client's request again (it was validated before routing) and keep what
 * the response needs in rs->priv. Returns the state, or NULL with bad_param/why set. */
sy_embed_state *sy_embed_begin(const cJSON *req, sy_relay_state *rs, const char **bad_param,
                               const char **why);

/*
 * Append the OpenAI body for the vectors (each a JSON array of numbers, n of them, in
 * input order) to out, as floats or base64 as the client asked, with usage: the
 * provider's reported prompt tokens (rs->usage.have) or the gateway's estimate.
 * Returns 0, or SY_ERR_INVALID when a vector is empty or not an array of numbers within
 * float32 range.
 */
int sy_embed_render(const cJSON *const *vectors, size_t n, sy_relay_state *rs, sy_buf *out);

/* Release callback of every embeddings adapter. */
void sy_embed_release(sy_relay_state *rs);

#endif
