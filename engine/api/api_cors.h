/*
 * api_cors: cross-origin requests to the client listener (CORS), so that a page on
 * another origin (a chat widget, a thumbs-up button holding only a feedback token) can
 * call the API from a browser. Origins are allowed by `listen.cors_origins` in the
 * configuration (docs/configuration.md); without it no CORS header is ever sent and
 * browsers keep other origins out, as before.
 */
#ifndef SY_API_CORS_H
#define SY_API_CORS_H

#include "http_server.h"
#include "worker.h"

/*
 * Look at the request's Origin: when the configuration allows it, every response to
 * the request will carry Access-Control-Allow-Origin (and the exposed switchyard
 * headers). An OPTIONS preflight is answered here: 204 with the allowed methods and
 * headers when the origin is allowed, 403 otherwise. Returns 1 when it answered.
 */
int sy_api_cors(sy_worker *w, sy_http_req *req);

#endif
