/*
 * guard_call: the guardrails in the chat pipeline (docs/guardrails.md). The matching is
 * engine/guard's; this glue picks the guardrails of a call (its route's, then its
 * key's), checks the request's messages before the target is resolved, the answer
 * before it is sent, and a stream's content deltas through a window, and counts and
 * logs what fired. A call without guardrails has c->guard == NULL and pays nothing.
 *
 * Ownership: the call owns its sy_call_guard (freed by sy_guard_call_end, from
 * sy_chat_finish); guardrails are borrowed from the call's runtime.
 */
#ifndef SY_GUARD_CALL_H
#define SY_GUARD_CALL_H

#include "http_server.h"
#include "log.h"
#include "sy_common.h"

#include <cjson/cJSON.h>

struct sy_call;

/* How the pipeline goes on after a judge model's verdict (guard_judge.c): passed in, so
 * the guard files call no pipeline file. */
typedef struct sy_guard_cont {
    /* the request passed: the stages after the input checks; takes root */
    void (*go_on)(struct sy_call *c, sy_http_req *req, cJSON *root);
    /* the request was answered (refused): end the call */
    void (*answered)(struct sy_call *c, sy_http_req *req);
    /* the client went away while the judge decided (c->att.xfer is the judge's) */
    void (*on_abort)(sy_http_req *req, void *ud);
} sy_guard_cont;

/*
 * The input checks on a validated chat body (root) addressed to `name`: 0 to go on
 * (redacted text is written back into root and into req->body, which every attempt
 * translates from); -1 once the request was refused (400 guardrail_blocked, or 503
 * guardrail_unavailable when a fail-closed judge could not start); 1 when a judge model
 * is deciding: it owns root and ends in k->go_on or k->answered.
 */
int sy_guard_input(struct sy_call *c, sy_http_req *req, cJSON *root, const char *name,
                   const sy_guard_cont *k);

/* The output checks on a complete OpenAI-shaped answer: 0 to send body (rewritten when
 * redacted or restored), -1 once the client was answered 400 guardrail_blocked (the
 * caller detaches). */
int sy_guard_answer(struct sy_call *c, sy_buf *body);

/* Streams: where the adapter should write its OpenAI events (dst, or the guard's buffer
 * when the call has output checks), then sy_guard_stream_relay moves the checked events
 * on to dst. */
sy_buf *sy_guard_stream_sink(struct sy_call *c, sy_buf *dst);
void sy_guard_stream_relay(struct sy_call *c, sy_buf *dst);

/* The request log's "guardrails" member ("name:action:direction,..." of those that
 * matched), when any matched. */
void sy_guard_log_field(const struct sy_call *c, sy_logbuf *lb);
/* Count the call's checks in the metrics, log its flags, free its guard state. */
void sy_guard_call_end(struct sy_call *c);

#endif
