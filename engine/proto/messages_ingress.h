/*
 * messages_ingress: Anthropic's Messages API as clients speak it, translated to and from
 * the OpenAI chat form the gateway's pipeline runs on (docs/api.md, "POST /v1/messages").
 * Pure: no I/O, no globals; the sy_ingress object that serves it is
 * engine/api/ingress_messages.c.
 *
 *   messages_request.c  a Messages request → an OpenAI chat completions body
 *   messages_reply.c    a chat.completion → a Message; errors in Anthropic's shape
 *   messages_stream.c   chat.completion.chunk payloads → Anthropic's stream events
 *
 * Ownership: every cJSON tree and stream state returned is the caller's; out buffers are
 * appended to, never reset.
 */
#ifndef SY_MESSAGES_INGRESS_H
#define SY_MESSAGES_INGRESS_H

#include "sy_common.h"

#include <cjson/cJSON.h>
#include <stdint.h>

/* ---- requests (messages_request.c) */

/*
 * The Messages request `in` (a JSON object) as a new chat completions body, or NULL with
 * the offending member's path in param (e.g. "messages[1].content[0].source", "" for the
 * body) and a static reason in *why. need_max_tokens: max_tokens is required (POST
 * /v1/messages) or may be absent (count_tokens). Streaming requests get "stream": true
 * and "stream_options": {"include_usage": true}.
 */
cJSON *sy_messages_to_chat(const cJSON *in, int need_max_tokens, char *param, size_t param_len,
                           const char **why);

/* {"type":"text","text":text}, with from's cache_control when from has one: a text part
 * of the chat form and a text block of Anthropic's alike (the Anthropic upstream dialect
 * builds its blocks with it too). */
cJSON *sy_text_part(const char *text, const cJSON *from);

/* Copy from's "cache_control" object (Anthropic's prompt-caching marker) onto to. */
void sy_copy_cache_control(const cJSON *from, cJSON *to);

/* The gateway's estimate of a chat body's prompt tokens: ceil(bytes of its compact JSON
 * / 4), the estimate the pipeline bills and routes with when no usage is reported. */
int64_t sy_messages_token_estimate(const cJSON *chat);

/* ---- answers and errors (messages_reply.c) */

/* A complete OpenAI chat.completion (body[0..len)) as a Message into out: id and model as
 * given, content blocks text and tool_use, stop_reason, usage. 0, or -1 when the body is
 * not a chat completion (out untouched). */
int sy_messages_answer(const char *body, size_t len, const char *id, const char *model,
                       sy_buf *out);

/* Anthropic's error type for an HTTP status (400 invalid_request_error, 401
 * authentication_error, ..., 529 overloaded_error; other 4xx invalid_request_error, other
 * 5xx api_error, 503 overloaded_error), and the status a type stands for (unknown: 500).
 * One table, shared with the Anthropic upstream dialect (anthropic_reply.c). */
const char *sy_anthropic_error_type(int status);
long sy_anthropic_error_status(const char *type);

/* Anthropic's error body {"type":"error","error":{"type":…,"message":…}} into out, with
 * the type for status; the signature of sy_http_error_body. Anthropic's shape has no
 * param or code: a param prefixes the message ("messages[0].content: must be …"). */
void sy_messages_error_body(sy_buf *out, int status, const char *type, const char *code,
                            const char *param, const char *message);

/* The Anthropic error type of a gateway or upstream error code inside a stream
 * ("upstream_overloaded" → overloaded_error, ...; default api_error). */
const char *sy_messages_stream_error_type(const char *code);

/* The stop_reason of an OpenAI finish_reason (NULL: end_turn); called: the answer holds
 * tool calls (a "stop" with calls is tool_use). */
const char *sy_messages_stop_reason(const char *finish, int called);

/* Anthropic's usage object from an OpenAI usage object: input_tokens (prompt tokens less
 * cache reads and writes), output_tokens, cache_read_input_tokens,
 * cache_creation_input_tokens (0 when unknown). A non-object gives zeros. */
cJSON *sy_messages_usage(const cJSON *openai_usage);

/* ---- streams (messages_stream.c) */

typedef struct sy_messages_stream sy_messages_stream;

sy_messages_stream *sy_messages_stream_new(const char *id, const char *model);

/* One OpenAI SSE data payload (a chunk, an {"error":{…}} object or "[DONE]") as zero or
 * more Anthropic events into out. After an error nothing more is written. */
void sy_messages_stream_chunk(sy_messages_stream *s, const char *data, size_t len, sy_buf *out);

/* The end: code NULL writes what closes a complete message (open block stop,
 * message_delta with stop_reason and usage, message_stop); else an `event: error` for
 * code and message. Only the first close (or error) writes anything. */
void sy_messages_stream_close(sy_messages_stream *s, const char *code, const char *message,
                              sy_buf *out);

void sy_messages_stream_free(sy_messages_stream *s);

#endif
