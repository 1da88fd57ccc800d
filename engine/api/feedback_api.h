/*
 * feedback_api: POST /v1/feedback (DESIGN.md §6); the token a browser widget may send
 * instead of a key is feedback/feedback_token.h.
 *
 * A rating is validated on the worker, handed to the store thread, and answered only
 * when the store's verdict comes back: 200 after the rating is committed and synced,
 * 404 for an unknown request (or one made with another key), 410 past the window.
 * The sy_fb_call travels worker → store → worker (through the worker's mailbox); if the client
 * leaves meanwhile its request pointer is cleared and the verdict is dropped when it arrives.
 */
#ifndef SY_FEEDBACK_API_H
#define SY_FEEDBACK_API_H

#include "http_server.h"
#include "request_id.h"

#include <stdint.h>

struct sy_worker;

/* Handle POST /v1/feedback. key_name is the authenticated client key's name, or NULL
 * when the request carried no valid key (then a valid feedback token is required).
 * Returns 1 when the rating went to the store (the answer and its log line follow
 * later), 0 when it was answered at once (400/401). */
int sy_feedback_handle(struct sy_worker *w, sy_http_req *req, const char *key_name);

#endif
