/*
 * api: HTTP routing for the client listener (/v1/...) and the admin listener
 * (/admin/..., /metrics). Each handler is a sy_http_handler whose ud is the sy_worker.
 */
#ifndef SY_API_H
#define SY_API_H

#include "http_server.h"
#include "prompt_registry.h"
#include "runtime.h"

struct sy_worker;

void sy_api_client_handler(sy_http_req *req, void *worker);
void sy_api_admin_handler(sy_http_req *req, void *worker);

/* Bearer token of the request, or NULL (sets *len). */
const char *sy_api_bearer(const sy_http_req *req, size_t *len);

/* 401 with the OpenAI error shape. */
void sy_api_unauthorized(sy_http_req *req, const char *message);

/* 404 / 405 for unknown paths and methods. */
void sy_api_not_found(sy_http_req *req);
void sy_api_method_not_allowed(sy_http_req *req, const char *allow);

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

/* /admin/prompts[/...] (engine/api_prompts.c); rest is what follows "/admin/prompts/"
 * (NULL or "" for the list). */
void sy_api_admin_prompts(struct sy_worker *w, sy_http_req *req, const char *rest);

/* /admin/experiments[/...] (engine/api_experiments.c); rest as for prompts. */
void sy_api_admin_experiments(struct sy_worker *w, sy_http_req *req, const char *rest);

/* A chat request's `prompt` reference, resolved and rendered (engine/api_prompts.c). */
typedef struct sy_api_prompt_result {
    int status; /* on error: 400 or 404 */
    sy_prompt_error err;
    sy_prompt_resolved resolved;
    char name[SY_PROMPT_NAME_MAX + 16];
} sy_api_prompt_result;
struct sy_prompt_registry;
/* Detach root's `prompt`, resolve it (from memory) and render it into root. Returns 0
 * when there is none, 1 when rendered (out->name/resolved say which version), -1 on a
 * client error described by out. Never touches LMDB. */
int sy_api_apply_prompt(struct sy_prompt_registry *reg, cJSON *root, size_t max_bytes,
                        sy_api_prompt_result *out);

/* POST /v1/chat/completions (engine/pipeline.c). */
void sy_pipeline_chat(struct sy_worker *w, sy_http_req *req, const sy_client_key_cfg *key);

#endif
