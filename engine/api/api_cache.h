/*
 * api_cache: the response cache's admin routes (docs/cache.md, "Admin API").
 */
#ifndef SY_API_CACHE_H
#define SY_API_CACHE_H

#include "http_server.h"
#include "worker.h"

/* /admin/cache (GET: entries and counters) and /admin/cache/invalidate (POST). */
void sy_api_admin_cache(struct sy_worker *w, sy_http_req *req, const char *rest);

#endif
