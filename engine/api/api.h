/*
 * api: HTTP routing for the client listener (/v1/...) and the admin listener
 * (/admin/..., /metrics), the top of engine/api/. Each handler is a sy_http_handler
 * whose ud is the sy_worker; the server process (engine/app/cmd_serve.c) hands them to
 * the workers, which know nothing of the API.
 */
#ifndef SY_API_H
#define SY_API_H

#include "http_server.h"

void sy_api_client_handler(sy_http_req *req, void *worker);
void sy_api_admin_handler(sy_http_req *req, void *worker);

/* Head checks (sy_http_head_check) of the client and admin listeners: a request that
 * needs a key and has a wrong or missing one is answered 401 before its body is read
 * (no 100 Continue, body never stored). Implemented in api_common.c. */
int sy_api_client_head(sy_http_req *req, void *worker);
int sy_api_admin_head(sy_http_req *req, void *worker);

#endif
