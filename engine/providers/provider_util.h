/*
 * provider_util: helpers shared by the dialect translators (provider_anthropic.c,
 * provider_gemini.c) that turn an OpenAI Chat Completions request into another dialect
 * and the answer back into chat.completion / chat.completion.chunk bytes.
 *
 * Nothing here keeps state of its own. Ownership: functions that take a cJSON item they
 * attach elsewhere say so ("takes"); every returned cJSON item is the caller's, as is
 * every string a function allocates. The byte layouts written here are what the unit
 * tests compare, so a change here changes both dialects at once.
 */
#ifndef SY_PROVIDER_UTIL_H
#define SY_PROVIDER_UTIL_H

#include "adapter.h"

#include <stddef.h>

/* ---- request translation: refusing a parameter */

/*
 * Where a refusal is reported: `param` (param_size bytes) receives the parameter's name
 * and must outlive the request body (it lives in the adapter's per-request state);
 * *bad_param and *why are the build call's out-parameters.
 */
typedef struct sy_refuser {
    char *param;
    size_t param_size;
    const char **bad_param, **why;
} sy_refuser;

/* Refuse the request: the parameter's name (printf-style, written to r->param) and a
 * static reason. Returns SY_ERR_INVALID. */
int sy_refuse(const sy_refuser *r, const char *why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- reading the client's JSON */

/* A member that is present and not null, or NULL. */
const cJSON *sy_field(const cJSON *o, const char *name);

/* A number with an integral value that fits in int64_t (converting a larger double is
 * undefined behaviour, and upstream bytes can say 1e300). */
int sy_is_integer(const cJSON *v);

/* v is a string equal to s. */
int sy_is(const cJSON *v, const char *s);

int sy_has_prefix(const char *s, const char *prefix);

/*
 * A "data:MIME;base64,DATA" URL split in place: *mime points at the media type (mime_len
 * bytes, not terminated), *data at what follows the comma (possibly empty). Returns 1
 * when url has that form, else 0 (outputs untouched).
 */
int sy_data_url(const char *url, const char **mime, size_t *mime_len, const char **data);

/* The "arguments" of a client tool call as a JSON object (absent or "" → {}), or NULL
 * when they are not the text of a JSON object. The caller owns the result. */
cJSON *sy_tool_arguments(const cJSON *args);

/*
 * Content that may only hold text: a string, or an array of text parts (assistant
 * "refusal" parts skipped). Each text goes to fn with its part (NULL for a string);
 * content NULL is nothing. Anything else is refused as messages[i].content(.[j]).
 * 0 or a 400.
 */
typedef void sy_text_fn(void *arg, const char *text, const cJSON *part);
int sy_text_content(const sy_refuser *r, const cJSON *content, size_t i, sy_text_fn *fn, void *arg);

/*
 * The "tools" member checked whole: *tools is NULL when absent or empty, else an array
 * whose members all are {"type":"function","function":{name (non-empty string),
 * description (string, optional), parameters (object, optional)}}. not_function is the
 * reason a non-function tool is refused with; reserved (when not NULL) is a name the
 * dialect keeps for itself, refused with reserved_why. 0 or a 400.
 */
int sy_function_tools(const sy_refuser *r, const cJSON *req, const char *not_function,
                      const char *reserved, const char *reserved_why, const cJSON **tools);

/* One tool sy_function_tools accepted as a declaration: {name, description (when
 * given), schema_key: a copy of its parameters (when given)}. The caller owns it. */
cJSON *sy_function_decl(const cJSON *tool, const char *schema_key);

/*
 * A present "tool_choice" as the dialect's mode: "auto", "none" and "required" become
 * modes[0], modes[1], modes[2]; {"type":"function","function":{"name":N}} becomes
 * named_mode with *only = N. Anything else is refused. 0 or a 400.
 */
int sy_tool_choice(const sy_refuser *r, const cJSON *tc, const char *const modes[3],
                   const char *named_mode, const char **mode, const char **only);

/* The "modalities" member asks for text output only (an array of "text" strings). */
int sy_text_modalities_only(const cJSON *m);

/* name is one of the n strings in list. */
int sy_listed(const char *name, const char *const *list, size_t n);

/*
 * Append items to turns as a turn {"role": role, key: items}, merging them into the
 * previous turn instead when it has the same role (both dialects expect alternating
 * turns; parallel tool results must share one). Takes ownership of items.
 */
void sy_add_turn(cJSON *turns, const char *role, const char *key, cJSON *items);

/* ---- request translation: sampling parameters */

/* A numeric parameter `name` copied into dst as `dst_name` after a range check (integer:
 * it must also be integral); `why` says what is allowed. Absent: nothing happens. */
int sy_number_param(const sy_refuser *r, const cJSON *req, const char *name, int integer,
                    double min, double max, const char *why, cJSON *dst, const char *dst_name);

/* max_tokens / max_completion_tokens, each a positive int32: *limit becomes the smaller
 * of those given, or -1 when neither is. 0 or a 400. */
int sy_max_tokens_param(const sy_refuser *r, const cJSON *req, double *limit);

/* stop: a string or an array of strings → dst[dst_name] (left out when empty). An array
 * longer than max_seqs (when max_seqs > 0) is refused with too_many. 0 or a 400. */
int sy_stop_param(const sy_refuser *r, const cJSON *req, int max_seqs, const char *too_many,
                  cJSON *dst, const char *dst_name);

/* ---- the upstream call */

/*
 * Hand the serialised request body (malloc'd by cJSON, or NULL when serialising failed)
 * to out->body, and write the headers: Content-Type and Accept (event stream or JSON),
 * then `extra` when not NULL, then "KEY_HEADER: KEY" when the provider has a key.
 * Returns 0, or SY_ERR_INVALID with *bad_param and *why set when body is NULL.
 */
int sy_upstream_finish(sy_upstream_call *out, char *body, int stream, const char *extra,
                       const char *key_header, const char *api_key, const char **bad_param,
                       const char **why);

/* ---- the response: what every chat.completion(.chunk) repeats */

/* Created by the adapter's build (or the first response call), freed by its release. */
typedef struct sy_chat_head {
    char id[40]; /* the request id (rs->client_id), else "chatcmpl-" + 24 hex digits */
    int64_t created;
    char *model; /* owned: the model name the client sees */
    int include_usage;
    char param[128]; /* build: the rejected parameter (*bad_param points here) */
} sy_chat_head;

/* A fresh id and timestamp; the model is rs->client_model, else fallback_model, else "". */
void sy_chat_head_init(sy_chat_head *h, const sy_relay_state *rs, const char *fallback_model);

/* The adapter's per-request state rs->priv, created zeroed (size bytes) with an
 * initialised head on first use. The state's first member must be its sy_chat_head. */
void *sy_state_for(sy_relay_state *rs, size_t size, const char *fallback_model);
void sy_chat_head_free(sy_chat_head *h);

/*
 * The start of every dialect's build: *r reports refusals into h->param, and
 * h->include_usage says whether a streaming client asked for the usage chunk. A body
 * that is not a JSON object is refused. 0 or a 400.
 */
int sy_build_begin(sy_chat_head *h, const cJSON *req, int stream, const char **bad_param,
                   const char **why, sy_refuser *r);

/* "call_" + 24 hex digits and a NUL. */
void sy_new_call_id(char out[32]);

/* id, object, created, model members added to o. */
void sy_add_head(cJSON *o, const sy_chat_head *h, const char *object);

/* o printed without formatting, appended to out. */
void sy_print_to(const cJSON *o, sy_buf *out);

void sy_set_finish(sy_relay_state *rs, const char *reason);

/* The OpenAI "usage" object for u (the caller owns it); cache writes, when there are any,
 * as prompt_tokens_details.cache_write_tokens (a gateway extension). */
cJSON *sy_usage_json(const sy_usage *u);

/* An OpenAI tool call: "index" when index >= 0, id, type function, name (NULL → ""),
 * arguments. The caller owns it. */
cJSON *sy_tool_call(int index, const char *id, const char *name, const char *arguments);

/*
 * One chat.completion choice: an assistant message whose content is `content` (NULL →
 * null), with tool_calls when calls is a non-empty array, logprobs null, finish_reason.
 * Takes calls (may be NULL). The caller owns the result.
 */
cJSON *sy_choice(int index, const char *content, cJSON *calls, const char *finish);

/* ---- streams */

/* One chat.completion.chunk event for choice `index`; delta NULL → {}, finish NULL →
 * null. */
void sy_emit_chunk(const sy_chat_head *h, int index, const cJSON *delta, const char *finish,
                   sy_buf *out);

/* The end of the translated stream: the usage chunk when the client asked and usage is
 * known, then [DONE] (rs->saw_done set). */
void sy_emit_done(const sy_chat_head *h, sy_relay_state *rs, sy_buf *out);

/* A mapped error as an OpenAI-shaped in-band `data: {"error":…}` event; sets
 * rs->saw_error_event. e stays the caller's. */
void sy_emit_error_event(const sy_mapped_error *e, sy_relay_state *rs, sy_buf *out);
/* The in-band error for an upstream event that cannot be decoded (code
 * upstream_malformed_event); like sy_emit_error_event, at most one per stream. */
void sy_emit_malformed_event(sy_relay_state *rs, sy_buf *out);

/* Count relayed content (bytes > 0) for billing an unfinished stream. */
void sy_count_content(sy_relay_state *rs, size_t bytes);

/* ---- errors */

/* The start of an upstream error's message: "provider returned HTTP N", or "provider
 * reported error N mid-stream". */
void sy_error_prefix(sy_buf *msg, long status, int in_stream);

/* Append ": " and the provider's message, credentials scrubbed (scrub.h), at most max
 * bytes, when with_message. Every dialect quotes provider text only through this. */
void sy_error_quote(sy_buf *msg, int with_message, const char *provider_msg, size_t max);

/* Append s with every byte outside [A-Za-z0-9._-] percent-encoded (a URL path segment). */
void sy_url_escape(sy_buf *b, const char *s);

#endif
