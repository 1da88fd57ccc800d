/*
 * pipeline.c: POST /v1/chat/completions, stage by stage (DESIGN.md §3):
 *
 *   admit and validate (chat_request.c) → experiments, prompt (chat_context.c)
 *   → conversation, escalation (chat_context.c) → decide (chat_decide.c)
 *   → attempts and relay (chat_attempt.c, chat_relay.c) → record (chat_record.c)
 *
 * This file runs the stages in order and owns the call's link to its HTTP request: the
 * abort path (client gone: cancel the upstream at once) and the drain path (resume a
 * paused upstream). chat_call.h describes the call and who owns what in it.
 */
#include "pipeline.h"

#include "api_common.h"
#include "breaker.h"
#include "chat_call.h"
#include "feedback_token.h"
#include "key_limits.h"
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Client went away: cancel the upstream at once (its connection is closed). */
static void call_abort(sy_http_req *req, void *ud)
{
    sy_call *c = ud;
    c->rec.bytes_in = req->bytes_in;
    c->rec.bytes_out = req->bytes_out;
    c->req = NULL;
    c->rec.status = 499;
    c->rec.error_code = "client_closed";
    sy_upstream_cancel(c->att.xfer);
    c->att.xfer = NULL;
    sy_chat_finish(c);
}

/* The client drained its output: resume a paused upstream. */
static void call_drain(sy_http_req *req, void *ud)
{
    sy_call *c = ud;
    size_t high = c->rt->cfg->upstream.stream_buffer_bytes;
    if (c->att.xfer && sy_upstream_paused(c->att.xfer) && sy_http_output_pending(req) < high / 2)
        sy_upstream_resume(c->att.xfer);
}

/* A new call for req on worker w, its feedback token header written. */
sy_call *sy_call_new(sy_worker *w, sy_http_req *req, const sy_client_key_cfg *key)
{
    sy_call *c = sy_xcalloc(1, sizeof(*c));
    c->w = w;
    c->rt = sy_runtime_ref(w->rt); /* key belongs to this runtime's config */
    c->key = key;
    c->key_name = key->name;
    c->rec.t_start_ns = req->t_start_ns;
    c->req = req;
    evtimer_assign(&c->att.timer, w->base, sy_chat_timer_cb, c);
    w->inflight++;
    memcpy(c->id, req->id, sizeof(c->id)); /* the server adds the header itself */
    char token[SY_FEEDBACK_TOKEN_LEN + 1];
    sy_feedback_token(&w->server->token_key, c->id, token);
    sy_buf_printf(&c->headers, "x-switchyard-feedback-token: %s\r\n", token);
    return c;
}

/*
 * Stage 1 up to the schema: the key's limits and budgets, the media type, the nesting
 * depth and the JSON parse. Returns the parsed body, or NULL once it has answered.
 */
cJSON *sy_call_admit(sy_call *c, sy_http_req *req, int allow_nul)
{
    const sy_config *cfg = c->rt->cfg;
    const sy_client_key_cfg *key = c->key;
    unsigned wait_s = 0;
    const char *limited = sy_key_admit(key->name, &key->limits, sy_wall_ms(), &wait_s);
    if (limited) {
        char msg[160];
        snprintf(msg, sizeof(msg), "key '%.64s' is over its %s; retry in %u s", key->name,
                 strcmp(limited, "budget_exceeded") == 0        ? "spending budget"
                 : strcmp(limited, "token_limit_exceeded") == 0 ? "tokens per minute"
                                                                : "requests per minute",
                 wait_s);
        sy_buf_printf(&c->headers, "Retry-After: %u\r\n", wait_s);
        c->rec.status = 429;
        c->rec.error_code = limited;
        sy_http_respond_error(req, 429, "rate_limit_error", limited, NULL, msg, c->headers.data);
        return NULL;
    }
    if (!sy_chat_is_json(req)) {
        c->rec.status = 415;
        c->rec.error_code = "unsupported_media_type";
        sy_http_respond_error(req, 415, "invalid_request_error", "unsupported_media_type", NULL,
                              "Content-Type must be application/json", c->headers.data);
        return NULL;
    }
    if (sy_chat_json_depth(req->body.data ? req->body.data : "", req->body.len,
                           cfg->limits.max_json_depth) > cfg->limits.max_json_depth) {
        c->rec.status = 400;
        c->rec.error_code = "invalid_request";
        sy_chat_bad_request(req, NULL, "JSON nesting exceeds the configured depth limit");
        return NULL;
    }
    /* UTF-8, duplicate member names; \u0000 kept for chat, refused elsewhere */
    cJSON *root = sy_api_json_body(req, c->headers.data, allow_nul);
    if (!root) {
        c->rec.status = 400;
        c->rec.error_code = "invalid_request";
    }
    return root;
}

/* Stage 3's check that the endpoint matches the target's kind: 1 when the name is
 * unknown (resolution answers 404) or of the kind; else answers 400 naming model. */
static int kind_ok(sy_call *c, sy_http_req *req, const char *name)
{
    const sy_config *cfg = c->rt->cfg;
    const sy_model_cfg *m = sy_config_find_model(cfg, name);
    const sy_route_cfg *r = m ? NULL : sy_config_find_route(cfg, name);
    if (r && !r->hidden)
        m = &cfg->models[r->candidates[0]]; /* a route's candidates are all of one kind */
    if (!m || m->embedding == c->embed)
        return 1;
    char msg[300];
    snprintf(msg, sizeof(msg),
             c->embed ? "'%.200s' is a chat model: it cannot create embeddings"
                      : "'%.200s' is an embedding model: use POST /v1/embeddings",
             name);
    c->rec.status = 400;
    c->rec.error_code = "wrong_model_kind";
    sy_http_respond_error(req, 400, "invalid_request_error", "wrong_model_kind", "model", msg,
                          c->headers.data);
    return 0;
}

/* Stages 3 to 8: the target's kind, then the model or the route's decision. Returns 0,
 * or -1 once it has answered (400 for the wrong kind, 404 for an unknown name, or the
 * cache's candidate when a cache-arm route's policy chose it). */
int sy_call_target(sy_call *c, sy_http_req *req, const char *name, const cJSON *root)
{
    if (!kind_ok(c, req, name))
        return -1;
    int rc = sy_chat_resolve_target(c, name, root);
    if (rc == 0)
        return 0;
    if (rc == SY_CHAT_CACHE_ARM) { /* the route's policy chose the cached answer */
        sy_cache_arm_serve(c, req, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "stream")));
        return -1;
    }
    char msg[300];
    snprintf(msg, sizeof(msg), "The model '%.200s' does not exist", name);
    c->rec.status = 404;
    c->rec.error_code = "model_not_found";
    sy_http_respond_error(req, 404, "invalid_request_error", "model_not_found", "model", msg,
                          c->headers.data);
    return -1;
}

/* Stage 9 begins: the call takes over the request (abort and drain) and tries. */
void sy_call_launch(sy_call *c, sy_http_req *req)
{
    c->base_headers_len = c->headers.len;
    req->ud = c;
    req->on_abort = call_abort;
    req->on_drain = call_drain;
    sy_retry_budget_deposit(c->rt->cfg->reliability.retry_budget);
    sy_chat_start_attempt(c); /* on failure it has answered and finished the call */
}

/* The end of a call answered before any upstream attempt. */
void sy_call_answered(sy_call *c, sy_http_req *req)
{
    c->rec.bytes_in = req->bytes_in;
    c->rec.bytes_out = req->bytes_out;
    c->req = NULL;
    sy_chat_finish(c);
}

/* An ingress's body as the chat body the pipeline runs on (req->body rewritten: every
 * attempt translates from it), or NULL after answering 400 in the client's API shape. */
static cJSON *ingress_to_chat(sy_call *c, sy_http_req *req, cJSON *root)
{
    const char *param = NULL;
    char why[256] = "";
    cJSON *chat = NULL;
    if (cJSON_IsObject(root))
        chat = c->ingress->to_chat(root, &param, why, sizeof(why));
    else
        snprintf(why, sizeof(why), "the request body must be a JSON object");
    if (chat && c->ingress->native) { /* attempts at native providers send it as it came */
        char *orig = cJSON_PrintUnformatted(root);
        sy_buf_puts(&c->ingress_body, orig ? orig : "");
        free(orig);
    }
    cJSON_Delete(root);
    if (!chat) {
        c->rec.status = 400;
        c->rec.error_code = "invalid_request";
        sy_chat_bad_request(req, param, why[0] ? why : "invalid request body");
        return NULL;
    }
    char *body = cJSON_PrintUnformatted(chat);
    sy_buf_reset(&req->body);
    sy_buf_puts(&req->body, body ? body : "");
    free(body);
    return chat;
}

/* Stages 3 on, after the cache missed (possibly after the semantic tier's embedding
 * call, cache_semantic.c): target, decision, launch. Takes root. */
static void after_lookup(sy_call *c, sy_http_req *req, cJSON *root)
{
    const char *name = cJSON_GetObjectItemCaseSensitive(root, "model")->valuestring;
    if (sy_call_target(c, req, name, root) != 0) {
        cJSON_Delete(root);
        sy_call_answered(c, req);
        return;
    }
    c->stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "stream"));
    if (c->rt->cfg->log.include_prompts)
        c->rec.prompt_json =
            cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(root, "messages"));
    /* cluster budgets: a held call is launched on the reservation's verdict (and its
     * first attempt parses the body again) */
    if (sy_chat_budget_hold(c, req, root, sy_call_launch)) {
        cJSON_Delete(root);
        return;
    }
    c->att.body = root; /* the first attempt's, not parsed a second time */
    sy_call_launch(c, req);
}

static const sy_cache_cont cache_cont = {after_lookup, sy_call_answered, call_abort};

/* Once the input guardrails passed the request (possibly after a judge model's verdict,
 * guard_judge.c): the response cache, on the text the upstream would see. Takes root. */
static void after_input(sy_call *c, sy_http_req *req, cJSON *root)
{
    const char *name = cJSON_GetObjectItemCaseSensitive(root, "model")->valuestring;
    int rc = sy_cache_lookup(c, req, root, name, &cache_cont);
    if (rc == 1) {
        cJSON_Delete(root);
        sy_call_answered(c, req);
    } else if (rc == 0) {
        after_lookup(c, req, root);
    } /* 2: the semantic tier continues through cache_cont */
}

static const sy_guard_cont guard_cont = {after_input, sy_call_answered, call_abort};

void sy_pipeline_chat(sy_worker *w, sy_http_req *req, const sy_client_key_cfg *key,
                      const sy_ingress *ingress)
{
    sy_call *c = sy_call_new(w, req, key);
    c->ingress = ingress;
    cJSON *root = sy_call_admit(c, req, 1);
    if (root && ingress)
        root = ingress_to_chat(c, req, root);
    if (!root)
        goto answered;
    if (cJSON_IsObject(root))
        sy_chat_assign_experiments(c, root);
    if (cJSON_IsObject(root) && sy_chat_render_prompt(c, req, root) != 0)
        goto answered;
    c->rec.prompt_bytes = req->body.len; /* as rendered: the estimate when usage is missing */
    if (!sy_chat_validate_body(req, root)) {
        c->rec.status = 400;
        c->rec.error_code = "invalid_request";
        goto answered;
    }
    const char *name = cJSON_GetObjectItemCaseSensitive(root, "model")->valuestring;
    int guarded = sy_guard_input(c, req, root, name, &guard_cont); /* guard_call.c */
    if (guarded < 0)
        goto answered;
    if (guarded == 0)
        after_input(c, req, root);
    return; /* guarded > 0: a judge model decides first, then after_input */

answered:
    cJSON_Delete(root);
    sy_call_answered(c, req);
}
