/*
 * responses: OpenAI's Responses API (POST /v1/responses) in terms of Chat Completions,
 * the gateway's canonical form (engine/api/ingress.h). Three pure translations, no I/O:
 *
 *   sy_responses_to_chat       a Responses request body   -> a chat completions body
 *   sy_responses_from_chat     a chat.completion answer   -> a Response object
 *   sy_responses_stream_*      chat.completion.chunk data -> the Responses SSE events
 *                              (response.created ... response.completed)
 *
 * What cannot be served without state the gateway does not keep (previous_response_id,
 * store: true, background, conversation, item_reference items) and the built-in tools
 * (web_search, file_search, ...) are refused with a 400 naming the parameter
 * (docs/api.md lists them). Request: responses_request.c; answer: responses_answer.c;
 * stream: responses_stream.c.
 */
#ifndef SY_RESPONSES_H
#define SY_RESPONSES_H

#include "sy_common.h"

#include <cjson/cJSON.h>
#include <stdint.h>

/* What a Response carries that the chat answer does not. */
typedef struct sy_responses_meta {
    const char *id;    /* the response id: the gateway's request id */
    const char *model; /* the model or route name the client asked for */
    int64_t created;   /* unix seconds */
} sy_responses_meta;

/*
 * The Responses request `in` (a JSON object) as a new chat completions body the caller
 * owns, or NULL when it is invalid or asks for what the gateway cannot do: then *param
 * names the offending member (a thread-local buffer valid until the next call, or NULL)
 * and why says what is wrong. A streaming request becomes "stream": true with
 * "stream_options": {"include_usage": true}.
 */
cJSON *sy_responses_to_chat(const cJSON *in, const char **param, char *why, size_t why_len);

/* A chat.completion body (any dialect's answer after its adapter) as a Response object
 * appended to out. 0, or -1 when body is not a chat completion. */
int sy_responses_from_chat(const char *body, size_t len, const sy_responses_meta *m, sy_buf *out);

/* The usage members of a Response ({input_tokens, input_tokens_details.cached_tokens,
 * output_tokens, output_tokens_details.reasoning_tokens, total_tokens}) from a chat
 * "usage" object; NULL when chat_usage is not an object. The caller owns it. */
cJSON *sy_responses_usage(const cJSON *chat_usage);

/* The Response object every answer and stream event starts from: status, no output, no
 * usage. The caller owns it. */
cJSON *sy_responses_shell(const sy_responses_meta *m, const char *status);

/* ---- streams: one state per attempt */
typedef struct sy_responses_stream sy_responses_stream;

sy_responses_stream *sy_responses_stream_new(const sy_responses_meta *m);
/* One OpenAI SSE data payload (a chunk, an {"error":{...}} object, or "[DONE]"): zero
 * or more Responses events ("event: TYPE\ndata: JSON\n\n") appended to out. */
void sy_responses_stream_chunk(sy_responses_stream *s, const char *data, size_t len, sy_buf *out);
/* The end: code NULL, it completed (the items' done events, then response.completed or
 * response.incomplete); else it was cut: an "error" event and response.failed. Nothing
 * after the first call, or after an error chunk. */
void sy_responses_stream_close(sy_responses_stream *s, const char *code, const char *message,
                               sy_buf *out);
void sy_responses_stream_free(sy_responses_stream *s);

/* One Responses SSE event: "event: TYPE\ndata: " + ev with sequence_number set + "\n\n".
 * Shared with the native relay (engine/providers/provider_responses.c). */
void sy_responses_event(cJSON *ev, int64_t seq, sy_buf *out);

#endif
