/*
 * anthropic: what the two halves of the Anthropic Messages dialect share (private to
 * engine/providers/): the request half (provider_anthropic.c: build, and the adapter
 * table) and the reply half (anthropic_reply.c: response, stream events, errors,
 * release). docs/providers-anthropic.md describes the translation.
 */
#ifndef SY_ANTHROPIC_H
#define SY_ANTHROPIC_H

#include "adapter.h"
#include "provider_util.h"

#include <stddef.h>
#include <stdint.h>

#define AN_VERSION            "2023-06-01"
#define AN_DEFAULT_MAX_TOKENS 4096
#define AN_MAX_MESSAGE        300
#define AN_MAX_BLOCKS         1024 /* content blocks tracked per streamed message */
/* The tool JSON mode forces; its input is the answer. */
#define AN_JSON_TOOL "json_response"

typedef enum an_kind {
    BLK_IGNORED = 0, /* thinking, server tools, anything not relayed */
    BLK_TEXT,
    BLK_TOOL, /* a tool_use block relayed as an OpenAI tool call */
    BLK_JSON, /* the JSON-mode tool_use: its input is relayed as content */
} an_kind;

typedef struct an_block {
    unsigned char kind;
    int tool_index; /* BLK_TOOL: the OpenAI tool_calls index */
} an_block;

typedef struct an_state {
    sy_chat_head head; /* id, created, model, include_usage, rejected parameter */
    int json_mode;     /* response_format became a forced AN_JSON_TOOL call */
    /* Anthropic's usage counters as last reported (streams report them in pieces) */
    int64_t input, cache_read, cache_write, output;
    /* stream translation */
    int started;  /* message_start seen: the role chunk went out */
    int finished; /* the finish chunk went out */
    int broken;   /* an error or undecodable event was seen: ignore the rest */
    int next_tool;
    an_block *blocks; /* by content block index, n_blocks long */
    size_t n_blocks;
} an_state;
_Static_assert(offsetof(an_state, head) == 0, "sy_state_for: the head comes first");

/* The request's state in rs->priv, created on first use (the head comes first). */
static inline an_state *an_state_for(sy_relay_state *rs, const char *fallback_model)
{
    return sy_state_for(rs, sizeof(an_state), fallback_model);
}

/* The reply half (anthropic_reply.c); the adapter's members of the same names. */
int sy_anthropic_response(const char *body, size_t len, sy_relay_state *rs, sy_buf *out);
void sy_anthropic_error(long status, const char *body, size_t len, const char *retry_after,
                        sy_mapped_error *out);
void sy_anthropic_stream_event(const char *event, size_t event_len, const char *data,
                               size_t data_len, const char *raw, size_t raw_len, sy_relay_state *rs,
                               sy_buf *out);
void sy_anthropic_release(sy_relay_state *rs);

#endif
