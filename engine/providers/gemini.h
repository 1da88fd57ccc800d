/*
 * gemini: what the two halves of the Gemini generateContent dialect share (private to
 * engine/providers/): the request half (provider_gemini.c: build, and the adapter table)
 * and the reply half (gemini_reply.c: response, stream events, errors, release).
 * docs/providers-gemini.md describes the translation.
 */
#ifndef SY_GEMINI_H
#define SY_GEMINI_H

#include "adapter.h"
#include "provider_util.h"

#include <stddef.h>

#define GM_MAX_STOP       5 /* Gemini's limit on stopSequences */
#define GM_MAX_CANDIDATES 8 /* Gemini's limit on candidateCount */
#define GM_MAX_MESSAGE    300
/* Google's documented sentinel for function calls replayed without the thought
 * signature Gemini 3 models require (the OpenAI shape has no place to carry one). */
#define GM_SKIP_SIGNATURE "skip_thought_signature_validator"

typedef struct gm_state {
    sy_chat_head head; /* id, created, model, include_usage, rejected parameter */
    /* stream translation, one bit per candidate index */
    unsigned seen, roles, finished, called;
    int tool_index[GM_MAX_CANDIDATES]; /* next tool_calls index per candidate */
    int broken;                        /* an error or undecodable event was seen: ignore the rest */
} gm_state;
_Static_assert(offsetof(gm_state, head) == 0, "sy_state_for: the head comes first");

/* The request's state in rs->priv, created on first use (the head comes first). */
static inline gm_state *gm_state_for(sy_relay_state *rs, const char *fallback_model)
{
    return sy_state_for(rs, sizeof(gm_state), fallback_model);
}

/* The reply half (gemini_reply.c); the adapter's members of the same names. */
int sy_gemini_response(const char *body, size_t len, sy_relay_state *rs, sy_buf *out);
void sy_gemini_error(long status, const char *body, size_t len, const char *retry_after,
                     sy_mapped_error *out);
void sy_gemini_stream_event(const char *event, size_t event_len, const char *data, size_t data_len,
                            const char *raw, size_t raw_len, sy_relay_state *rs, sy_buf *out);
void sy_gemini_release(sy_relay_state *rs);

#endif
