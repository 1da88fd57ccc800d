/*
 * api_common.c: what every API handler shares (see api_common.h): bearer tokens, the
 * 401/404/405 answers, request ids and the short log line of requests the API layer
 * answers itself.
 */
#include "api_common.h"

#include "api.h"

#include "clock.h"
#include "keys.h"
#include "log.h"

#include <cjson/cJSON.h>

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

const sy_client_key_cfg *sy_api_client_key(sy_worker *w, const sy_http_req *req, const char *token,
                                           size_t n)
{
    /* Keyed by the request (its process-unique number: a pipelined request on the same
     * connection, whatever its token, is another request) and the runtime (pointer and
     * generation: a reload between head and body asks afresh, and a matched key belongs
     * to the runtime the worker still holds). Only matches are kept: a refused key
     * answers 401 and ends the request. */
    static __thread struct {
        uint64_t seq, generation;
        const sy_runtime *rt;
        const sy_client_key_cfg *key;
    } memo;
    if (memo.key && req->seq && memo.seq == req->seq && memo.rt == w->rt &&
        memo.generation == w->rt->generation)
        return memo.key;
    const sy_client_key_cfg *k = sy_keys_match(w->rt->cfg, token, n);
    memo.seq = req->seq;
    memo.rt = w->rt;
    memo.generation = w->rt->generation;
    memo.key = k;
    return k;
}

const char *sy_api_client_token(const sy_http_req *req, size_t *len)
{
    const char *t = sy_api_bearer(req, len);
    if (t)
        return t;
    const sy_http_header *h = sy_http_req_header(req, "x-api-key");
    if (!h || h->value_len == 0)
        return NULL;
    *len = h->value_len;
    return h->value;
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

struct cJSON *sy_api_json_body(sy_http_req *req, const char *headers, int allow_nul)
{
    sy_json_error err;
    cJSON *root = sy_http_req_json(req, &err);
    if (!root) {
        sy_http_respond_error(req, 400, "invalid_request_error", "invalid_request",
                              err.param[0] ? err.param : NULL, err.message, headers);
    } else if (!allow_nul && memmem(req->body.data, req->body.len, SY_JSON_NUL, 2)) {
        /* the reader kept each \u0000 visible (json_body.h): one search finds them */
        cJSON_Delete(root);
        root = NULL;
        sy_http_respond_error(req, 400, "invalid_request_error", "invalid_request", NULL,
                              "NUL (\\u0000) is not allowed in the body", headers);
    }
    return root;
}

void sy_api_begin(sy_worker *w, sy_http_req *req, sy_api_note *note)
{
    sy_reqid_next(&w->ids, sy_wall_ms(), req->id);
    snprintf(note->method, sizeof(note->method), "%.*s", (int)req->head.method_len,
             req->head.method);
    /* the path goes to the JSON log: anything but visible ASCII is %-escaped (the
     * parser refuses such targets already; this keeps the log valid regardless) */
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)req->path;
         *p && o + 4 < sizeof(note->path); p++) {
        if (*p > 0x20 && *p < 0x7f) {
            note->path[o++] = (char)*p;
        } else {
            note->path[o++] = '%';
            note->path[o++] = hex[*p >> 4];
            note->path[o++] = hex[*p & 15];
        }
    }
    note->path[o] = '\0';
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
