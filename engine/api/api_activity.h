/*
 * api_activity: the admin read endpoints the dashboard draws from (docs/api.md,
 * docs/dashboard.md), over engine/core/activity.h:
 *   GET /admin/activity?window=S&step=S[&route=R]   per (route, model) time buckets
 *   GET /admin/decisions?[route=R][&conversation=ID][&limit=N]   recent decisions
 * and the helpers the admin routes share with them: query parameters and the
 * conversation key of an id.
 */
#ifndef SY_API_ACTIVITY_H
#define SY_API_ACTIVITY_H

#include "http_server.h"
#include "worker.h"

#include <stddef.h>
#include <stdint.h>

void sy_api_admin_activity(struct sy_worker *w, sy_http_req *req);
void sy_api_admin_decisions(struct sy_worker *w, sy_http_req *req);

/* Percent-decode n bytes of s into out (cap bytes with the NUL); plus_is_space: '+' is a
 * space (query strings). -1 when badly escaped, holding a NUL or longer than cap - 1. */
int sy_api_percent_decode(const char *s, size_t n, char *out, size_t cap, int plus_is_space);

/* The percent-decoded value of `name` in a query string ('+' is a space) into out
 * (cap bytes with the NUL). 1 found, 0 absent, -1 badly escaped, holding a NUL or longer
 * than cap - 1. */
int sy_api_query_param(const char *query, const char *name, char *out, size_t cap);

/* The 16-byte conversation key of an id: the 32-hex internal id as is, else the client's
 * id hashed as the pipeline hashes X-Conversation-Id (docs/escalation.md). */
void sy_api_conversation_key(const char *id, uint8_t key[16]);

#endif
