/*
 * api_client.c — the client listener's routes: /v1/chat/completions, /v1/models,
 * /healthz. Authentication happens here, before any body is interpreted.
 */
#include "api.h"

#include "clock.h"
#include "feedback_api.h"
#include "keys.h"
#include "log.h"
#include "worker.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *sy_api_bearer(const sy_http_req *req, size_t *len)
{
    const sy_http_header *h = sy_http_req_header(req, "authorization");
    if (!h || h->value_len < 7 || strncasecmp(h->value, "Bearer ", 7) != 0)
        return NULL;
    const char *t = h->value + 7;
    size_t n = h->value_len - 7;
    while (n && *t == ' ')
        t++, n--;
    if (n == 0)
        return NULL;
    *len = n;
    return t;
}

void sy_api_unauthorized(sy_http_req *req, const char *message)
{
    sy_http_respond_error(req, 401, "invalid_request_error", "invalid_api_key", NULL, message,
                          "WWW-Authenticate: Bearer\r\n");
}

void sy_api_not_found(sy_http_req *req)
{
    char msg[300];
    snprintf(msg, sizeof(msg), "no route for %.*s %.200s", (int)req->head.method_len,
             req->head.method, req->path);
    sy_http_respond_error(req, 404, "invalid_request_error", "unknown_url", NULL, msg, NULL);
}

void sy_api_method_not_allowed(sy_http_req *req, const char *allow)
{
    char hdr[64], msg[128];
    snprintf(hdr, sizeof(hdr), "Allow: %s\r\n", allow);
    snprintf(msg, sizeof(msg), "method %.*s is not allowed here; use %s", (int)req->head.method_len,
             req->head.method, allow);
    sy_http_respond_error(req, 405, "invalid_request_error", "method_not_allowed", NULL, msg, hdr);
}

/* Authenticate a client request; answers 401 itself and returns NULL on failure. */
static const sy_client_key_cfg *authenticate(sy_worker *w, sy_http_req *req)
{
    size_t n = 0;
    const char *token = sy_api_bearer(req, &n);
    if (!token) {
        sy_api_unauthorized(req, "missing API key: send 'Authorization: Bearer <key>'");
        return NULL;
    }
    const sy_client_key_cfg *k = sy_keys_match(w->rt->cfg, token, n);
    if (!k)
        sy_api_unauthorized(req, "invalid API key");
    return k;
}

/* Route a client request; returns 1 when the chat pipeline or the feedback path took
 * it (they write its log line when they answer). */
static int client_route(sy_worker *w, sy_http_req *req, const char **key_name)
{
    const char *p = req->path;
    if (strcmp(p, "/v1/chat/completions") == 0 || strcmp(p, "/chat/completions") == 0) {
        if (!sy_http_req_method_is(req, "POST")) {
            sy_api_method_not_allowed(req, "POST");
            return 0;
        }
        const sy_client_key_cfg *k = authenticate(w, req);
        if (!k)
            return 0;
        sy_pipeline_chat(w, req, k);
        return 1;
    }
    if (strcmp(p, "/v1/feedback") == 0) {
        if (!sy_http_req_method_is(req, "POST")) {
            sy_api_method_not_allowed(req, "POST");
            return 0;
        }
        size_t n = 0;
        const char *token = sy_api_bearer(req, &n);
        const sy_client_key_cfg *k = token ? sy_keys_match(w->rt->cfg, token, n) : NULL;
        if (token && !k) { /* a wrong key is refused before the body is read */
            sy_api_unauthorized(req, "invalid API key");
            return 0;
        }
        *key_name = k ? k->name : NULL;
        return sy_feedback_handle(w, req, *key_name);
    }
    if (strcmp(p, "/v1/models") == 0 || strcmp(p, "/models") == 0) {
        if (!sy_http_req_method_is(req, "GET")) {
            sy_api_method_not_allowed(req, "GET");
            return 0;
        }
        const sy_client_key_cfg *k = authenticate(w, req);
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

void sy_api_begin(sy_worker *w, sy_http_req *req, sy_api_note *note)
{
    sy_reqid_next(&w->ids, sy_wall_ms(), req->id);
    snprintf(note->method, sizeof(note->method), "%.*s", (int)req->head.method_len,
             req->head.method);
    snprintf(note->path, sizeof(note->path), "%s", req->path);
}

void sy_api_log_answered(sy_worker *w, const sy_http_req *req, const sy_api_note *note,
                         const char *listener, const char *key_name)
{
    if (!w->rt->cfg->log.requests)
        return;
    sy_logbuf *lb = &w->log;
    sy_logbuf_begin(lb);
    sy_logbuf_str(lb, "id", req->id);
    sy_logbuf_str(lb, "listener", listener);
    sy_logbuf_str(lb, "method", note->method);
    sy_logbuf_str(lb, "path", note->path);
    sy_logbuf_str(lb, "key", key_name);
    sy_logbuf_str(lb, "route", NULL);
    sy_logbuf_str(lb, "model", NULL);
    sy_logbuf_int(lb, "status", req->status);
    sy_logbuf_num(lb, "latency_ms", (double)(sy_now_ns() - req->t_start_ns) / 1e6);
    sy_logbuf_int(lb, "bytes_in", (long long)req->bytes_in);
    sy_logbuf_int(lb, "bytes_out", (long long)req->bytes_out);
    sy_logbuf_end(lb);
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
