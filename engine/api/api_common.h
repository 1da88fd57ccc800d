/*
 * api_common: the helpers every API handler shares (engine/api/): bearer tokens, the
 * OpenAI-shaped 401/404/405 answers, request ids and the short log line of a request
 * the API layer answers itself. Below every handler in this folder.
 */
#ifndef SY_API_COMMON_H
#define SY_API_COMMON_H

#include "http_server.h"
#include "worker.h"

/* Bearer token of the request, or NULL (sets *len). */
const char *sy_api_bearer(const sy_http_req *req, size_t *len);

/* A client's key: the Bearer token, else the x-api-key header (what Anthropic's SDKs
 * send), or NULL (sets *len). */
const char *sy_api_client_token(const sy_http_req *req, size_t *len);

/* The client key the token (token, n) of req names, or NULL. The head check and
 * the handler of one request both ask; the first answer is remembered (per thread, for
 * that request of that runtime generation) so the token is hashed once per request. */
const sy_client_key_cfg *sy_api_client_key(sy_worker *w, const sy_http_req *req, const char *token,
                                           size_t n);

/* 401 with the OpenAI error shape. */
void sy_api_unauthorized(sy_http_req *req, const char *message);

/* 404 / 405 for unknown paths and methods. */
void sy_api_not_found(sy_http_req *req);
void sy_api_method_not_allowed(sy_http_req *req, const char *allow);

/* The request's JSON body (sy_http_req_json); when it is not one valid document
 * (invalid UTF-8, a duplicate member name, trailing bytes...), or holds a NUL (\u0000)
 * anywhere and !allow_nul, answers the OpenAI-shaped 400 itself (param names a duplicate
 * member) and returns NULL. Only chat bodies allow NUL: their content is forwarded
 * intact; what the gateway stores (feedback, registries) never holds one. Caller owns
 * the tree. */
struct cJSON *sy_api_json_body(sy_http_req *req, const char *headers, int allow_nul);

/* What a request's log line needs after the response has reset req->path. */
typedef struct sy_api_note {
    char method[16];
    char path[160];
} sy_api_note;

/* Give req its id (every response then carries it) and note method and path. */
void sy_api_begin(struct sy_worker *w, sy_http_req *req, sy_api_note *note);

/* One log line for a request answered by the API layer itself (not the pipeline). */
void sy_api_log_answered(struct sy_worker *w, const sy_http_req *req, const sy_api_note *note,
                         const char *listener, const char *key_name);

#endif
