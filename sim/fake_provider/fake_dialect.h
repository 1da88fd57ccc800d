/*
 * fake_dialect: what one provider dialect contributes to `switchyard fake-provider`.
 *
 * The server (fake_server.h and its files) owns sockets, timers, scenarios, faults and statistics;
 * a dialect only routes its paths, reads its request shape and renders its bodies and
 * stream events. Each dialect (OpenAI, Gemini generateContent, Anthropic Messages, OpenAI
 * Responses) is one file defining one fp_dialect plus one line in the server's dialect
 * table.
 *
 * All renderers append to a caller-owned sy_buf and never fail. Nothing here does I/O.
 */
#ifndef SY_FAKE_DIALECT_H
#define SY_FAKE_DIALECT_H

#include "sy_common.h"

#include <cjson/cJSON.h>
#include <stdint.h>

/* What a request path means to a dialect. */
typedef enum fp_route_kind { FP_ROUTE_NONE, FP_ROUTE_CHAT, FP_ROUTE_MODELS } fp_route_kind;

/* The dialect-neutral view of a chat request, filled by fp_dialect.parse_chat. */
typedef struct fp_chat {
    char *model;             /* owned */
    int stream;              /* the client asked for a streamed answer */
    int include_usage;       /* stream: append a usage event (OpenAI: stream_options) */
    size_t prompt_bytes;     /* bytes of all message text, for fp_prompt_tokens() */
    sy_buf echo;             /* text of the last user message (echo mode) */
    long max_tokens;         /* the request's output limit, -1 = none */
    char *tool_name;         /* owned: name of the first tool the request offers, or NULL */
    int last_is_tool_result; /* the last message carries a tool result */
} fp_chat;

void fp_chat_free(fp_chat *c);

/* Everything a renderer needs to know about the answer being produced. */
typedef struct fp_exchange {
    char id[64];       /* dialect-style response id, e.g. "chatcmpl-…" */
    int64_t created;   /* Unix seconds */
    const char *model; /* echoed from the request */
    int include_usage;
    long prompt_tokens;
    long cached_tokens;      /* <= prompt_tokens */
    long cache_write_tokens; /* <= prompt_tokens - cached_tokens; only Anthropic reports
                                them (elsewhere they are plain prompt tokens) */
    long completion_tokens;
    int truncated; /* stopped by max_tokens: finish reason "length" */
    /* When tool_name is set the answer is one call of that tool instead of text (finish
     * reason "tool_calls" / "tool_use" / "STOP" per dialect): the request offered tools
     * and its last message was not a tool result (docs/fake-provider.md). */
    const char *tool_name;
    const char *tool_args_json; /* the call's arguments, a JSON object text */
    char tool_call_id[48];      /* e.g. "call_…" (dialects may re-prefix it) */
    /* For the Responses dialect (fake_responses.c), whose done events repeat the whole
     * text and whose events are numbered: the answer's text (not terminated) and the
     * stream's next sequence_number, both owned by the request. */
    const char *text;
    size_t text_len;
    int64_t *seq;
} fp_exchange;

/* Errors a dialect must be able to express; each maps to its own status and body. */
typedef enum fp_error_code {
    FP_ERR_INVALID_REQUEST, /* 400: the fake rejected the request */
    FP_ERR_INJECTED_400,    /* 400: http_400 fault */
    FP_ERR_UNAUTHORIZED,    /* 401 */
    FP_ERR_MODEL_NOT_FOUND, /* 404 */
    FP_ERR_RATE_LIMIT,      /* 429 with Retry-After */
    FP_ERR_QUOTA,           /* 429 insufficient_quota, no Retry-After */
    FP_ERR_SERVER,          /* 500 */
    FP_ERR_UNAVAILABLE,     /* 503 */
    FP_ERR_OVERLOADED,      /* 529 */
    FP_ERR_NOT_FOUND,       /* 404 unknown path */
    FP_ERR_METHOD,          /* 405 */
    FP_ERR_COUNT
} fp_error_code;

typedef struct fp_dialect {
    const char *name;        /* "openai" */
    const char *auth_header; /* header carrying the key, e.g. "Authorization" */
    const char *auth_scheme; /* prefix before the key, e.g. "Bearer ", or "" */
    const char *stream_content_type;

    /* Classify a path (query string removed). The server enforces the method:
     * POST for FP_ROUTE_CHAT, GET for FP_ROUTE_MODELS. */
    fp_route_kind (*route)(const char *path);
    /* Read a parsed request body. Returns 0, or SY_ERR_INVALID with a client-facing
     * message in err (answered as FP_ERR_INVALID_REQUEST). c is zeroed by the caller and
     * freed by the caller either way. */
    int (*parse_chat)(const cJSON *body, fp_chat *c, sy_buf *err);
    /* Optional, for dialects that name the model (and streaming) in the path rather than
     * the body (Gemini: /v1beta/models/{model}:streamGenerateContent): called after
     * parse_chat with the path (query removed) to set c->model and c->stream. Returns 0,
     * or SY_ERR_INVALID with a message in err. NULL: the body says it all. */
    int (*parse_path)(const char *path, fp_chat *c, sy_buf *err);
    /* Complete non-streamed answer. */
    void (*render_completion)(const fp_exchange *x, const char *text, size_t len, sy_buf *out);
    /* Stream events: once at the start, once per content delta, once at the end (finish
     * reason, usage when requested, terminator). */
    void (*render_stream_open)(const fp_exchange *x, sy_buf *out);
    void (*render_stream_delta)(const fp_exchange *x, const char *text, size_t len, sy_buf *out);
    void (*render_stream_close)(const fp_exchange *x, sy_buf *out);
    /* Stream events of a tool call answer (x->tool_name set): sent after open and
     * before close, instead of content deltas. render_completion renders a tool call
     * instead of text when x->tool_name is set. */
    void (*render_stream_tool_call)(const fp_exchange *x, sy_buf *out);
    /* An in-stream error event (the error_event fault). */
    void (*render_stream_error)(const fp_exchange *x, sy_buf *out);
    /* A syntactically broken body (non-stream) or stream event (stream). */
    void (*render_malformed)(const fp_exchange *x, int stream, sy_buf *out);
    /* An error body; returns the HTTP status to send it with. */
    int (*render_error)(fp_error_code code, const char *message, sy_buf *out);
    /* The model list; NULL for a dialect whose route() never answers FP_ROUTE_MODELS
     * (Anthropic: GET /v1/models belongs to the OpenAI dialect, first in the table). */
    void (*render_models)(const char *const *names, size_t n, int64_t created, sy_buf *out);
} fp_dialect;

extern const fp_dialect fp_dialect_openai;
extern const fp_dialect fp_dialect_gemini;
extern const fp_dialect fp_dialect_anthropic;
extern const fp_dialect fp_dialect_responses;

/* ---- shared by the dialects (fake_dialect.c) */

/*
 * One row of a dialect's error table, indexed by fp_error_code: the HTTP status, the
 * dialect's error type (OpenAI type, Anthropic type, Gemini status name), OpenAI's
 * "code" (NULL elsewhere), the default message and optional details (JSON text).
 */
typedef struct fp_error_row {
    int status;
    const char *type;
    const char *code;
    const char *message;
    const char *details;
} fp_error_row;

/* Row `code` of table (FP_ERR_COUNT rows; a row without a status falls back to
 * FP_ERR_INVALID_REQUEST's), its message replaced by `message` when that is not NULL. */
fp_error_row fp_error_lookup(const fp_error_row *table, fp_error_code code, const char *message);

/* Write a client-facing message (printf format) into err; returns SY_ERR_INVALID, so a
 * parser can `return fp_invalid(err, …);`. */
int fp_invalid(sy_buf *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The start of a parse_chat whose body names the model: the body must be an object and
 * "model" a non-empty string (copied into c->model). 0, or SY_ERR_INVALID with
 * missing_model (or the not-an-object message) in err. */
int fp_parse_model(const cJSON *body, fp_chat *c, const char *missing_model, sy_buf *err);

/* The tool the answer will call: c->tool_name becomes a copy of name's string, or stays
 * NULL when name is NULL (no tool offered, or tools turned off). */
void fp_chat_set_tool(fp_chat *c, const cJSON *name);

/* A request's positive integer limit (1 .. 1e9, whole): 1 with *out set, else 0. */
int fp_positive_int(const cJSON *v, long *out);

/* v's string when it is a non-empty JSON string, else NULL. */
const char *fp_nonempty_string(const cJSON *v);

/* Append s to out when out is not NULL; returns strlen(s) either way (message text
 * counted for prompt_bytes, or collected for the echo). */
size_t fp_take_text(const char *s, sy_buf *out);

/* Text of an OpenAI-style content value (a string, or an array of parts whose "text"
 * members are concatenated; other parts contribute nothing), appended to out when out is
 * not NULL; returns the byte count. */
size_t fp_content_text(const cJSON *content, sy_buf *out);

/*
 * The tool the answer will call, into c->tool_name: the function named by an object
 * tool_choice, else the first function tool of body's "tools"; none when tools is absent,
 * null or empty or tool_choice is "none". nest says where a function's name stands: NULL
 * for the flat shape of the Responses API (tools[i].name, tool_choice.name, a tool is a
 * function when its type is "function"), "function" for Chat Completions' nested one
 * (tools[i].function.name, tool_choice.function.name; each tool must be an object and one
 * without a type is a function). Each function tool must name itself (a non-empty string);
 * tools of other types are accepted and never called. SY_OK, or SY_ERR_INVALID with the
 * message in err.
 */
int fp_parse_tools(const cJSON *body, const char *nest, fp_chat *c, sy_buf *err);

/* Append s (NUL-terminated) as a JSON string. */
void fp_put_string(sy_buf *out, const char *s);

/* id without `prefix` when it starts with it (the exchange's OpenAI-style ids re-prefixed
 * by the other dialects: "chatcmpl-…" → "msg_…", "call_…" → "toolu_…"). */
const char *fp_id_suffix(const char *id, const char *prefix);

/* The tool call's arguments JSON text, "{}" when there are none. */
const char *fp_tool_args(const fp_exchange *x);

#endif
