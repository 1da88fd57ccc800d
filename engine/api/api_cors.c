/* api_cors: see api_cors.h. */
#include "api_cors.h"

#include "api_common.h"

#include <string.h>
#include <strings.h>

#define CORS_MAX_AGE_S "600"

/* Response headers a page may read: the request id (to rate the answer), its feedback
 * token, and which model and route answered. */
static const char cors_expose[] = "x-switchyard-request-id, x-switchyard-feedback-token, "
                                  "x-switchyard-model, x-switchyard-route";

/* 1 when `origin` (len bytes) is allowed by listen.cors_origins. */
static int origin_allowed(const sy_config *cfg, const char *origin, size_t len)
{
    for (size_t i = 0; i < cfg->listen.n_cors_origins; i++) {
        const char *o = cfg->listen.cors_origins[i];
        if (strcmp(o, "*") == 0 || (strlen(o) == len && strncasecmp(o, origin, len) == 0))
            return 1;
    }
    return 0;
}

int sy_api_cors(sy_worker *w, sy_http_req *req)
{
    const sy_http_header *h = sy_http_req_header(req, "origin");
    int preflight = sy_http_req_method_is(req, "OPTIONS");
    int allowed = h && h->value_len && origin_allowed(w->rt->cfg, h->value, h->value_len);
    if (allowed) {
        req->cors_origin = h->value;
        req->cors_origin_len = h->value_len;
        req->cors_expose = cors_expose;
    }
    if (!preflight)
        return 0;
    sy_api_note note;
    sy_api_begin(w, req, &note);
    if (!allowed) {
        sy_http_respond_error(req, 403, "invalid_request_error", "origin_not_allowed", NULL,
                              "this origin may not call the API (listen.cors_origins)", NULL);
    } else {
        sy_http_respond(req, 204, NULL,
                        "Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n"
                        "Access-Control-Allow-Headers: Authorization, Content-Type, "
                        "X-Switchyard-Feedback-Token, X-Conversation-Id, X-Switchyard-User\r\n"
                        "Access-Control-Max-Age: " CORS_MAX_AGE_S "\r\n",
                        NULL, 0);
    }
    sy_api_log_answered(w, req, &note, "client", NULL);
    return 1;
}
