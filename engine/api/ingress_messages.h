/*
 * ingress_messages: Anthropic's Messages API served by the chat pipeline (ingress.h):
 * POST /v1/messages through sy_ingress_messages, and POST /v1/messages/count_tokens
 * answered from the gateway's own estimate. The JSON translations are
 * engine/proto/messages_ingress.h.
 */
#ifndef SY_INGRESS_MESSAGES_H
#define SY_INGRESS_MESSAGES_H

#include "config.h"
#include "http_server.h"
#include "ingress.h"

struct sy_worker;

extern const sy_ingress sy_ingress_messages;

/* 1 for /v1/messages/count_tokens (and /messages/count_tokens). */
int sy_messages_count_path(const char *path);

/*
 * POST /v1/messages/count_tokens for an authenticated client: the body is translated as
 * POST /v1/messages would translate it (max_tokens may be absent) and answered
 * {"input_tokens": N} with N = ceil(bytes of the chat body / 4); no upstream is called.
 * 400/404/415 in Anthropic's shape for a bad body, an unknown model or route, a wrong
 * media type.
 */
void sy_messages_count_tokens(struct sy_worker *w, sy_http_req *req);

#endif
