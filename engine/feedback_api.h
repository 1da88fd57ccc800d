/*
 * feedback_api: POST /v1/feedback (DESIGN.md §6) and the per-request feedback token.
 *
 * A rating is validated on the worker, handed to the store thread, and answered only
 * when the store's verdict comes back: 200 after the rating is committed and synced,
 * 404 for an unknown request (or one made with another key), 410 past the window.
 * The sy_fb_call travels worker → store → worker; if the client leaves meanwhile its
 * request pointer is cleared and the verdict is dropped when it arrives.
 */
#ifndef SY_FEEDBACK_API_H
#define SY_FEEDBACK_API_H

#include "http_server.h"
#include "request_id.h"
#include "sha256.h"

#include <stdint.h>

struct sy_worker;
struct sy_fb_call;

#define SY_FEEDBACK_TOKEN_LEN 32 /* hex characters */

/* The feedback token of a request id: hex of the first 16 bytes of
 * HMAC-SHA256(secret, id), from `key`, an HMAC context prepared once with the store's
 * secret (sy_hmac_sha256_init; it is copied, not changed). Written with a NUL into out. */
void sy_feedback_token(const sy_hmac_sha256_ctx *key, const char *request_id,
                       char out[SY_FEEDBACK_TOKEN_LEN + 1]);

/* Handle POST /v1/feedback. key_name is the authenticated client key's name, or NULL
 * when the request carried no valid key (then a valid feedback token is required).
 * Returns 1 when the rating went to the store (the answer and its log line follow
 * later), 0 when it was answered at once (400/401). */
int sy_feedback_handle(struct sy_worker *w, sy_http_req *req, const char *key_name);

/* Worker side of the ack path (worker.c): push onto a list, answer a whole list. */
void sy_feedback_push(struct sy_fb_call **list, struct sy_fb_call *f);
void sy_feedback_answer_all(struct sy_fb_call *list);

#endif
