/*
 * api_client.c — the client listener's routes: /v1/chat/completions, /v1/embeddings,
 * the ingress APIs (ingress.h), /v1/models, /v1/models/{id}, /healthz. Authentication happens here,
 * before any body is interpreted.
 */
#include "api.h"

#include "api_common.h"
#include "api_models.h"
#include "feedback_api.h"
#include "ingress.h"
#include "ingress_messages.h"
#include "messages_ingress.h"
#include "pipeline.h"

#include "keys.h"
#include "log.h"
#include "worker.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Authenticate a client request; answers 401 itself and returns NULL on failure. */
static const sy_client_key_cfg *authenticate(sy_worker *w, sy_http_req *req)
{
    size_t n = 0;
    const char *token = sy_api_client_token(req, &n);
    if (!token) {
        sy_api_unauthorized(req, "missing API key: send 'Authorization: Bearer <key>'");
        return NULL;
    }
    const sy_client_key_cfg *k = sy_api_client_key(w, req, token, n);
    if (!k)
        sy_api_unauthorized(req, "invalid API key");
    return k;
}

/* The method the path takes, and a valid client key: the key, or NULL after answering
 * 405 or 401. */
static const sy_client_key_cfg *gate(sy_worker *w, sy_http_req *req, const char *method)
{
    if (!sy_http_req_method_is(req, method)) {
        sy_api_method_not_allowed(req, method);
        return NULL;
    }
    return authenticate(w, req);
}

/* Route a client request; returns 1 when the chat pipeline or the feedback path took
 * it (they write its log line when they answer). */
static int client_route(sy_worker *w, sy_http_req *req, const char **key_name)
{
    const char *p = req->path;
    if (strcmp(p, "/v1/chat/completions") == 0 || strcmp(p, "/chat/completions") == 0) {
        const sy_client_key_cfg *k = gate(w, req, "POST");
        if (!k)
            return 0;
        sy_pipeline_chat(w, req, k, NULL);
        return 1;
    }
    if (sy_messages_count_path(p)) { /* Anthropic's token count: no upstream call */
        req->error_body = sy_messages_error_body;
        const sy_client_key_cfg *k = gate(w, req, "POST");
        if (!k)
            return 0;
        *key_name = k->name;
        sy_messages_count_tokens(w, req);
        return 0;
    }
    const sy_ingress *ingress = sy_ingress_for_path(p);
    if (ingress) { /* another API, through the chat pipeline (ingress.h) */
        req->error_body = ingress->error_body;
        const sy_client_key_cfg *k = gate(w, req, "POST");
        if (!k)
            return 0;
        sy_pipeline_chat(w, req, k, ingress);
        return 1;
    }
    if (strcmp(p, "/v1/embeddings") == 0 || strcmp(p, "/embeddings") == 0) {
        const sy_client_key_cfg *k = gate(w, req, "POST");
        if (!k)
            return 0;
        sy_pipeline_embeddings(w, req, k);
        return 1;
    }
    const char *id = strncmp(p, "/v1/models/", 11) == 0 ? p + 11
                     : strncmp(p, "/models/", 8) == 0   ? p + 8
                                                        : NULL;
    if (id && *id) {
        const sy_client_key_cfg *k = gate(w, req, "GET");
        if (!k)
            return 0;
        *key_name = k->name;
        sy_api_model_by_id(w, req, id);
        return 0;
    }
    if (strcmp(p, "/v1/feedback") == 0) {
        if (!sy_http_req_method_is(req, "POST")) {
            sy_api_method_not_allowed(req, "POST");
            return 0;
        }
        size_t n = 0;
        const char *token = sy_api_client_token(req, &n);
        const sy_client_key_cfg *k = token ? sy_api_client_key(w, req, token, n) : NULL;
        if (token && !k) { /* a wrong key is refused before the body is read */
            sy_api_unauthorized(req, "invalid API key");
            return 0;
        }
        *key_name = k ? k->name : NULL;
        return sy_feedback_handle(w, req, *key_name);
    }
    if (strcmp(p, "/v1/models") == 0 || strcmp(p, "/models") == 0) {
        const sy_client_key_cfg *k = gate(w, req, "GET");
        if (!k)
            return 0;
        *key_name = k->name;
        const sy_buf *b = &w->rt->models_json;
        sy_http_respond(req, 200, "application/json", NULL, b->data, b->len);
        return 0;
    }
    if (strcmp(p, "/healthz") == 0) {
        if (!sy_http_req_method_is(req, "GET")) {
            sy_api_method_not_allowed(req, "GET");
            return 0;
        }
        static const char ok[] = "{\"status\":\"ok\"}";
        sy_http_respond(req, 200, "application/json", NULL, ok, sizeof(ok) - 1);
        return 0;
    }
    sy_api_not_found(req);
    return 0;
}

/*
 * Entry point of the client listener. Every request gets an id (sent back on every
 * response) and one log line: the chat pipeline writes its own, everything answered
 * here (auth failures, /v1/models, /healthz, 404, 405) gets a short one.
 */
void sy_api_client_handler(sy_http_req *req, void *ud)
{
    sy_worker *w = ud;
    sy_api_note note;
    sy_api_begin(w, req, &note);
    const char *key_name = NULL;
    if (!client_route(w, req, &key_name))
        sy_api_log_answered(w, req, &note, "client", key_name);
}
