/*
 * api_head: the head checks of both listeners (api.h): what is refused before a
 * request's body is read — a missing or wrong key — and the CORS preflights of the
 * client listener (api_cors.h).
 */
#include "api.h"

#include "api_common.h"
#include "api_cors.h"
#include "ingress.h"
#include "ingress_messages.h"
#include "messages_ingress.h"

#include "keys.h"

#include <string.h>

/* A head check answers like the handler would, log line included. */
static int refuse_head(sy_worker *w, sy_http_req *req, const char *listener, const char *msg)
{
    sy_api_note note;
    sy_api_begin(w, req, &note);
    sy_api_unauthorized(req, msg);
    sy_api_log_answered(w, req, &note, listener, NULL);
    return 1;
}

/*
 * Chat, embeddings and models (the list and one entry) need a valid client key; feedback may come
 * without one (its token authorises it) but not with a wrong one. Everything else (healthz, 404,
 * 405) goes on: those have no body worth refusing early. The handler checks the key again (a reload
 * may come between head and body); this is the gate that keeps bodies out.
 */
int sy_api_client_head(sy_http_req *req, void *ud)
{
    sy_worker *w = ud;
    if (sy_api_cors(w, req)) /* a preflight, answered; else CORS headers noted */
        return 1;
    const char *p = req->path;
    int chat = strcmp(p, "/v1/chat/completions") == 0 || strcmp(p, "/chat/completions") == 0 ||
               strcmp(p, "/v1/embeddings") == 0 || strcmp(p, "/embeddings") == 0;
    int models = strcmp(p, "/v1/models") == 0 || strcmp(p, "/models") == 0 ||
                 strncmp(p, "/v1/models/", 11) == 0 || strncmp(p, "/models/", 8) == 0;
    int feedback = strcmp(p, "/v1/feedback") == 0;
    const sy_ingress *ingress = sy_ingress_for_path(p);
    if (ingress) { /* its refusals speak its API from here on */
        req->error_body = ingress->error_body;
        chat = 1;
    }
    if (sy_messages_count_path(p)) { /* Anthropic's token count: its shape, a key */
        req->error_body = sy_messages_error_body;
        chat = 1;
    }
    if (!chat && !models && !feedback)
        return 0;
    size_t n = 0;
    const char *token = sy_api_client_token(req, &n);
    if (!token)
        return feedback ? 0
                        : refuse_head(w, req, "client",
                                      "missing API key: send 'Authorization: Bearer <key>'");
    if (!sy_api_client_key(w, req, token, n))
        return refuse_head(w, req, "client", "invalid API key");
    return 0;
}

/* Every admin path but /healthz needs the admin key. */
int sy_api_admin_head(sy_http_req *req, void *ud)
{
    sy_worker *w = ud;
    if (strcmp(req->path, "/healthz") == 0)
        return 0;
    if (strcmp(req->path, "/metrics") != 0 && strncmp(req->path, "/admin/", 7) != 0)
        return 0; /* a 404 from the handler */
    size_t n = 0;
    const char *token = sy_api_bearer(req, &n);
    if (!token)
        return refuse_head(w, req, "admin",
                           "missing admin key: send 'Authorization: Bearer <admin key>'");
    if (!sy_keys_admin_ok(w->rt->cfg, token, n))
        return refuse_head(w, req, "admin", "invalid admin key");
    return 0;
}
