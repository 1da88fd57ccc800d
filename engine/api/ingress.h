/*
 * ingress: an API other than OpenAI's chat completions spoken by clients (Anthropic's
 * Messages, OpenAI's Responses), served by the chat pipeline. The pipeline's canonical
 * form is an OpenAI chat completions body in and OpenAI-shaped answers and chunks out
 * (what every provider adapter produces), so an ingress is four translations around it:
 *
 *   client body --to_chat--> chat body --pipeline, any provider--> chat answer/chunks
 *   chat answer --answer--> client answer;  chat chunks --stream_*--> client events
 *
 * plus the API's error shape, which the client listener sets on the request before its
 * head is checked, so every refusal (401, 404, 413, 429, 502...) speaks the client's API.
 * Keys, limits, routing, retries, cost, the log and the store are the chat pipeline's,
 * unchanged. Implementations: ingress_<api>.c; the table of paths: sy_ingress_for_path.
 */
#ifndef SY_INGRESS_H
#define SY_INGRESS_H

#include "http_server.h"
#include "sy_common.h"

#include <cjson/cJSON.h>
#include <stdint.h>

/* What an ingress may put into its answers. */
typedef struct sy_ingress_info {
    const char *id;    /* the gateway's request id (answers carry it, so it can be rated) */
    const char *model; /* the model or route name the client asked for */
    int64_t created;   /* unix seconds */
} sy_ingress_info;

typedef struct sy_ingress {
    const char *name; /* "anthropic_messages", "responses" (log lines) */
    /* the API's error body (the request's error_body) */
    sy_http_error_body error_body;
    /*
     * The client's body (a JSON object, duplicate keys and bad UTF-8 already refused)
     * as a new OpenAI chat completions body the caller owns. Streaming bodies get
     * "stream": true and "stream_options": {"include_usage": true}. NULL when the body
     * is invalid: *param names the offending member (or NULL) and why says what is wrong
     * (the client gets a 400 in the API's shape).
     */
    cJSON *(*to_chat)(const cJSON *in, const char **param, char *why, size_t why_len);
    /* A complete OpenAI-shaped chat completion: the API's answer into out. 0, or -1
     * when body is not a chat completion. */
    int (*answer)(const char *body, size_t len, const sy_ingress_info *info, sy_buf *out);
    /* Streams: one state per attempt (a failed attempt before the stream started
     * leaves nothing behind). */
    void *(*stream_open)(const sy_ingress_info *info);
    /* One OpenAI SSE data payload (a chunk object, an {"error":{...}} object, or
     * "[DONE]"): zero or more of the API's SSE events into out. */
    void (*stream_chunk)(void *st, const char *data, size_t len, sy_buf *out);
    /* The stream ends. code NULL: it completed (write the closing events not yet
     * written); else it was cut: write the API's in-band error event for code and
     * message. Calls after the first write nothing. */
    void (*stream_close)(void *st, const char *code, const char *message, sy_buf *out);
    void (*stream_free)(void *st);
} sy_ingress;

/* The ingress serving a client path, or NULL (OpenAI's own endpoints). */
const sy_ingress *sy_ingress_for_path(const char *path);

#endif
