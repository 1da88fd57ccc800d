/*
 * pipeline.c — POST /v1/chat/completions, stage by stage (DESIGN.md §3):
 *
 *   validate → resolve target → decide → build upstream call → relay → record
 *
 * One sy_call owns everything a request needs while it is in flight: its runtime
 * reference, the parsed body, the upstream transfer and the relay state. It has exactly
 * one end, call_finish(), reached either when the upstream transfer completes or when
 * the client goes away (call_abort); both log the request and free the call. The HTTP
 * request is answered before call_finish runs, or is gone (abort).
 */
#include "pipeline.h"

#include "prompt_apply.h"

#include "breaker.h"
#include "chat_validate.h"
#include "clock.h"
#include "cost.h"
#include "experiments.h"
#include "featurize.h"
#include "feedback_token.h"
#include "key_limits.h"
#include "learner.h"
#include "metrics.h"
#include "server.h"
#include "provider.h"
#include "rephrase.h"
#include "sha256.h"
#include "sse.h"
#include "worker.h"

#include <event2/event.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_UPSTREAM_BODY (32u * 1024 * 1024) /* non-stream responses and error bodies */
#define MAX_SSE_EVENT     (4u * 1024 * 1024)
#define MAX_HELD_BACK     (256u * 1024) /* stream bytes held back before the first content */

typedef struct sy_call {
    sy_worker *w;
    sy_http_req *req; /* NULL once answered or once the client is gone */
    sy_runtime *rt;   /* our own reference */
    char id[SY_REQID_LEN + 1];
    const char *key_name;
    const sy_client_key_cfg *key;
    const sy_route_cfg *route;
    const sy_model_cfg *model;
    const sy_provider_cfg *prov;
    const sy_adapter *ad;
    double propensity;
    int stream;
    sy_relay_state rs;
    sy_upstream_call up;
    sy_upstream_xfer *xfer;
    long up_status;
    sy_buf resp; /* non-stream body or error body */
    sy_buf out;  /* stream events translated, waiting to be sent */
    sy_sse_parser sse;
    int started;  /* streaming response begun */
    int sent;     /* the request went to the upstream: it is billed */
    sy_bill bill; /* computed once the exchange is over */
    uint64_t t_end_ns;
    const char *policy_name; /* the route's policy (static string of the policy) */
    double *x;               /* context vector of the decision (contextual policies) */
    size_t dim;
    int completed;       /* the upstream answer arrived whole (not cut, not aborted) */
    char *prompt_json;   /* log.include_prompts: the request's messages (owned) */
    char *answer_json;   /* log.include_prompts: the non-stream answer message (owned) */
    size_t prompt_bytes; /* request body size: the prompt estimate when usage is missing */
    int status;          /* status given to the client (499: client went away) */
    const char *error_code;
    uint64_t t_start_ns, t_first_ns;
    uint64_t bytes_in, bytes_out;
    sy_buf headers;          /* x-switchyard-* response headers */
    size_t base_headers_len; /* headers before the per-attempt model/route lines */
    /* attempts (DESIGN.md §9): the ranking is the fallback order */
    size_t ranking[SY_POLICY_MAX_ARMS];
    size_t n_ranked, rank_pos;
    unsigned attempts, fallbacks;
    const sy_model_cfg *chosen; /* the policy's choice (ranking[0]) */
    int acquired;               /* the breaker granted the current attempt */
    struct event timer;         /* TTFT / idle / backoff / deferred cancel */
    int timer_kind;
    const char *fail_code; /* why the current attempt is being abandoned (stream) */
    /* conversation (routes): identity, state as loaded and updated, the rule applied */
    int has_conv;
    uint8_t conv_id[16];
    sy_conv_state conv;
    const char *rule_name;
    /* the prompt version the request was rendered from (prompt[0] == '\0': none) */
    char prompt[SY_PROMPT_NAME_MAX + 16];
    unsigned prompt_version;
    /* experiments the request is enrolled in (decision record form) and the route of the
     * variant that serves it (NULL: not enrolled) */
    char experiments[1280];
    const sy_route_cfg *exp_route;
} sy_call;

enum { T_NONE, T_TTFT, T_IDLE, T_BACKOFF, T_ABANDON };

/* How far a backoff timer may wake before the block it waited for ends (timer_cb). */
#define BACKOFF_CLOCK_SLACK_MS 50

/* Reject with an OpenAI-shaped 400 that names the parameter. */
static void bad_request(sy_http_req *req, const char *param, const char *msg)
{
    sy_http_respond_error(req, 400, "invalid_request_error", "invalid_request", param, msg, NULL);
}

/* Content-Type must be application/json (parameters such as charset allowed). */
static int is_json_content_type(const sy_http_req *req)
{
    const sy_http_header *h = sy_http_req_header(req, "content-type");
    if (!h || h->value_len < 16 || strncasecmp(h->value, "application/json", 16) != 0)
        return 0;
    return h->value_len == 16 || h->value[16] == ';' || h->value[16] == ' ';
}

/* Nesting depth of a JSON text, without parsing it; stops counting past `max`. */
static unsigned json_depth(const char *s, size_t n, unsigned max)
{
    unsigned depth = 0, peak = 0;
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > peak && (peak = depth) > max)
                return peak;
        } else if (c == '}' || c == ']') {
            if (depth)
                depth--;
        }
    }
    return peak;
}

typedef struct unit_lookup {
    const sy_http_req *req;
    const cJSON *root;
} unit_lookup;

/* The user an experiment randomises on: the body's `user`, else its unit header. */
static const char *experiment_user(const sy_exp_rt *e, void *ud, size_t *len)
{
    const unit_lookup *u = ud;
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(u->root, "user");
    if (cJSON_IsString(user) && user->valuestring[0]) {
        *len = strlen(user->valuestring);
        return user->valuestring;
    }
    const sy_http_header *h = sy_http_req_header(u->req, e->unit_header);
    *len = h ? h->value_len : 0;
    return h && h->value_len ? h->value : NULL;
}

/*
 * Enrol the request in the running experiments of its route (engine/experiments.h): the
 * first experiment's variant picks the route that serves it, its prompt version (when
 * the request references the same prompt) and its parameters, which replace the
 * client's. Assignment is a pure function of the unit, so it needs no state. A request
 * without a unit of the experiment's kind (no user id) is not enrolled.
 */
static void conversation_id(const sy_call *c, const cJSON *root, uint8_t id[16]);
static void assign_experiments(sy_call *c, cJSON *root)
{
    const sy_exp_table *t = c->rt->experiments;
    if (!t || !t->n)
        return;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const char *name = cJSON_IsString(model) ? model->valuestring : NULL;
    cJSON *pref = cJSON_GetObjectItemCaseSensitive(root, "prompt");
    sy_prompt_resolved pr;
    if (!name && cJSON_IsObject(pref)) { /* the prompt version's model names the route */
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(pref, "id");
        const cJSON *ver = cJSON_GetObjectItemCaseSensitive(pref, "version");
        const cJSON *lab = cJSON_GetObjectItemCaseSensitive(pref, "label");
        if (cJSON_IsString(id) &&
            sy_prompt_registry_resolve(
                c->w->server->prompts, id->valuestring,
                cJSON_IsNumber(ver) && ver->valuedouble >= 1 && ver->valuedouble <= 1e9
                    ? (unsigned)ver->valuedouble
                    : 0,
                cJSON_IsString(lab) ? lab->valuestring : "production", &pr) == 0)
            name = pr.tmpl->model;
    }
    const sy_route_cfg *r = name ? sy_config_find_route(c->rt->cfg, name) : NULL;
    if (!r || r->hidden)
        return;
    uint8_t conv[16];
    sy_exp_units units = {.request = c->id};
    for (size_t i = 0; i < t->n; i++) /* hash the conversation only when it is a unit */
        if (t->exps[i].base_route == (size_t)(r - c->rt->cfg->routes) &&
            t->exps[i].unit == SY_EXP_UNIT_CONVERSATION) {
            conversation_id(c, root, conv);
            units.conversation = conv;
            break;
        }
    unit_lookup ul = {c->req, root};
    sy_exp_assignment a[8];
    size_t n = sy_exp_assign(t, (size_t)(r - c->rt->cfg->routes), &units, experiment_user, &ul, a,
                             SY_ARRAY_LEN(a));
    if (!n)
        return;
    sy_exp_record(a, n, c->experiments, sizeof(c->experiments));
    sy_buf_puts(&c->headers, "x-switchyard-experiment: ");
    for (size_t i = 0; i < n; i++)
        sy_buf_printf(&c->headers, "%s%s=%s", i ? ", " : "", a[i].exp->id,
                      a[i].exp->variants[a[i].variant].name);
    sy_buf_puts(&c->headers, "\r\n");
    const sy_exp_variant_rt *v = &a[0].exp->variants[a[0].variant];
    c->exp_route = &c->rt->cfg->routes[v->route];
    sy_prompt_resolved vp;
    if (v->prompt_id[0] && cJSON_IsObject(pref)) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(pref, "id");
        if (cJSON_IsString(id) && strcmp(id->valuestring, v->prompt_id) == 0 &&
            sy_prompt_registry_resolve(c->w->server->prompts, v->prompt_id, v->prompt_version,
                                       v->prompt_label, &vp) != 0) {
            /* the operator's reference is broken: serve the client's, and say so */
            sy_log(SY_LOG_WARN, "experiment %s: variant %s's prompt %s does not resolve",
                   a[0].exp->id, v->name, v->prompt_id);
        } else if (cJSON_IsString(id) && strcmp(id->valuestring, v->prompt_id) == 0) {
            cJSON_DeleteItemFromObjectCaseSensitive(pref, "version");
            cJSON_DeleteItemFromObjectCaseSensitive(pref, "label");
            if (v->prompt_version)
                cJSON_AddNumberToObject(pref, "version", v->prompt_version);
            else
                cJSON_AddStringToObject(pref, "label", v->prompt_label);
        }
    }
    for (const cJSON *p = v->parameters ? v->parameters->child : NULL; p; p = p->next) {
        cJSON_DeleteItemFromObjectCaseSensitive(root, p->string);
        cJSON_AddItemToObject(root, p->string, cJSON_Duplicate(p, 1));
    }
    if (v->parameters || v->prompt_id[0]) { /* later stages re-read the body */
        char *body = cJSON_PrintUnformatted(root);
        sy_buf_reset(&c->req->body);
        sy_buf_puts(&c->req->body, body);
        free(body);
    }
    return;
}

/*
 * A request that references a prompt version (`prompt`: id, version or label,
 * variables) is rendered from the registry in memory, and the rendered JSON replaces
 * the request's body: every later stage (validation, each attempt's translation) sees
 * the request as if the client had sent the rendered messages. Answers 400/404 itself
 * and returns -1 on a client error.
 */
static int render_prompt(sy_call *c, sy_http_req *req, cJSON *root)
{
    sy_api_prompt_result pr;
    int rc =
        sy_api_apply_prompt(c->w->server->prompts, root, c->rt->cfg->limits.max_body_bytes, &pr);
    if (rc < 0) {
        c->status = pr.status;
        sy_http_respond_error(req, pr.status, "invalid_request_error",
                              pr.status == 404 ? "prompt_not_found" : "invalid_request",
                              pr.err.param[0] ? pr.err.param : NULL, pr.err.message,
                              c->headers.data);
        return -1;
    }
    if (rc == 1) {
        char *body = cJSON_PrintUnformatted(root);
        sy_buf_reset(&req->body);
        sy_buf_puts(&req->body, body);
        free(body);
        snprintf(c->prompt, sizeof(c->prompt), "%s", pr.name);
        c->prompt_version = pr.resolved.version;
        sy_buf_printf(&c->headers, "x-switchyard-prompt: %s@%u\r\n", pr.name, pr.resolved.version);
    }
    return 0;
}

/* Schema checks (engine/chat_validate.c); answers the 400 itself. */
static int validate_chat(sy_http_req *req, cJSON *root)
{
    char param[96];
    const char *msg = NULL;
    if (sy_chat_validate(root, param, sizeof(param), &msg))
        return 1;
    bad_request(req, param[0] ? param : NULL, msg);
    return 0;
}

/* Queue the decision and outcome for the store (the store copies; no I/O here). */
static void record(sy_call *c)
{
    sy_store_request r = {0};
    if (sy_reqid_to_bytes(c->id, r.id) != 0)
        return;
    r.ts_ms = sy_reqid_time_ms(c->id);
    snprintf(r.key_name, sizeof(r.key_name), "%s", c->key_name ? c->key_name : "");
    snprintf(r.route, sizeof(r.route), "%s", c->route ? c->route->name : "");
    snprintf(r.model, sizeof(r.model), "%s", c->model->name);
    snprintf(r.policy, sizeof(r.policy), "%s", c->route ? c->policy_name : "");
    /* after a fallback the served arm is not the policy's choice: no usable propensity */
    r.propensity = c->route && !c->fallbacks ? c->propensity : NAN;
    r.n_candidates = c->route ? (uint32_t)c->route->n_candidates : 1;
    r.x = c->x;
    r.dim = (uint32_t)c->dim;
    if (c->has_conv)
        memcpy(r.conv, c->conv_id, 16);
    snprintf(r.rule, sizeof(r.rule), "%s", c->rule_name ? c->rule_name : "");
    snprintf(r.prompt, sizeof(r.prompt), "%s", c->prompt);
    r.prompt_version = c->prompt_version;
    snprintf(r.experiments, sizeof(r.experiments), "%s", c->experiments);
    r.status = c->status;
    r.stream = c->stream;
    uint64_t end = c->t_end_ns ? c->t_end_ns : sy_now_ns();
    r.latency_ms = (double)(end - c->t_start_ns) / 1e6;
    r.ttft_ms = c->t_first_ns ? (double)(c->t_first_ns - c->t_start_ns) / 1e6 : NAN;
    r.prompt_tokens = c->bill.usage.prompt_tokens;
    r.completion_tokens = c->bill.usage.completion_tokens;
    r.cached_tokens = c->bill.usage.cached_tokens;
    r.usage_estimated = c->bill.estimated;
    r.cost_usd = c->bill.cost_usd;
    snprintf(r.error, sizeof(r.error), "%s", c->error_code ? c->error_code : "");
    sy_store_put_request(c->w->server->store, &r);
}

/* Write the request's log line (worker-batched) and free the call. */
static void call_finish(sy_call *c)
{
    sy_worker *w = c->w;
    const sy_config *cfg = c->rt->cfg;
    c->t_end_ns = sy_now_ns();
    if (c->model && c->sent) {
        sy_bill_exchange(&c->model->price, &c->rs, c->completed, c->prompt_bytes, &c->bill);
        sy_key_charge(c->key_name, &c->key->limits,
                      c->bill.usage.prompt_tokens + c->bill.usage.completion_tokens,
                      c->bill.cost_usd, sy_wall_ms());
    }
    if (cfg->log.requests) {
        sy_logbuf *lb = &w->log;
        uint64_t now = sy_now_ns();
        sy_logbuf_begin(lb);
        sy_logbuf_str(lb, "id", c->id);
        sy_logbuf_str(lb, "key", c->key_name);
        sy_logbuf_str(lb, "route", c->route ? c->route->name : NULL);
        sy_logbuf_str(lb, "model", c->model ? c->model->name : NULL);
        sy_logbuf_str(lb, "provider", c->prov ? c->prov->name : NULL);
        sy_logbuf_bool(lb, "stream", c->stream);
        sy_logbuf_int(lb, "status", c->status);
        sy_logbuf_int(lb, "upstream_status", c->up_status);
        sy_logbuf_num(lb, "latency_ms", (double)(now - c->t_start_ns) / 1e6);
        if (c->t_first_ns)
            sy_logbuf_num(lb, "ttft_ms", (double)(c->t_first_ns - c->t_start_ns) / 1e6);
        else
            sy_logbuf_str(lb, "ttft_ms", NULL);
        const sy_bill bill = c->bill;
        sy_logbuf_int(lb, "prompt_tokens", bill.usage.prompt_tokens);
        sy_logbuf_int(lb, "completion_tokens", bill.usage.completion_tokens);
        sy_logbuf_int(lb, "cached_tokens", bill.usage.cached_tokens);
        if (bill.usage.cache_write_tokens)
            sy_logbuf_int(lb, "cache_write_tokens", bill.usage.cache_write_tokens);
        sy_logbuf_bool(lb, "usage_reported", c->rs.usage.have);
        sy_logbuf_bool(lb, "usage_estimated", bill.estimated);
        sy_logbuf_num_prec(lb, "cost_usd", bill.cost_usd, 9);
        sy_logbuf_str(lb, "finish_reason", c->rs.finish_reason[0] ? c->rs.finish_reason : NULL);
        sy_logbuf_int(lb, "bytes_in", (long long)c->bytes_in);
        sy_logbuf_int(lb, "bytes_out", (long long)c->bytes_out);
        if (c->route)
            sy_logbuf_num(lb, "propensity", c->propensity);
        sy_logbuf_str(lb, "error", c->error_code);
        sy_logbuf_int(lb, "attempts", c->attempts);
        sy_logbuf_int(lb, "fallbacks", c->fallbacks);
        if (c->experiments[0])
            sy_logbuf_str(lb, "experiments", c->experiments);
        if (c->prompt[0]) {
            sy_logbuf_str(lb, "prompt", c->prompt);
            sy_logbuf_int(lb, "prompt_version", c->prompt_version);
        }
        if (cfg->log.include_prompts) {
            sy_logbuf_raw(lb, "messages", c->prompt_json);
            sy_logbuf_raw(lb, "answer", c->answer_json);
        }
        sy_logbuf_end(lb);
    }
    if (c->has_conv) { /* this turn becomes the conversation's previous one */
        c->conv.turn++;
        c->conv.last_ts_ms = sy_wall_ms();
        c->conv.cost_usd += c->bill.cost_usd;
        sy_reqid_to_bytes(c->id, c->conv.last_request);
        sy_store_put_conv(c->w->server->store, c->conv_id, &c->conv);
    }
    if (c->model) {
        record(c);
        sy_metrics_obs mo = {.route = c->route ? c->route->name : "",
                             .model = c->model->name,
                             .status = c->status,
                             .latency_s = (double)(c->t_end_ns - c->t_start_ns) / 1e9,
                             .ttft_s =
                                 c->t_first_ns ? (double)(c->t_first_ns - c->t_start_ns) / 1e9 : -1,
                             .prompt_tokens = c->bill.usage.prompt_tokens,
                             .completion_tokens = c->bill.usage.completion_tokens,
                             .cached_tokens = c->bill.usage.cached_tokens,
                             .cost_usd = c->bill.cost_usd};
        sy_metrics_observe(&mo);
    }
    evtimer_del(&c->timer);
    if (c->acquired) /* the client left mid-attempt: no verdict on the provider */
        sy_breaker_cancel(c->model->name);
    w->inflight--;
    sy_upstream_call_free(&c->up);
    sy_buf_free(&c->resp);
    sy_buf_free(&c->out);
    sy_buf_free(&c->headers);
    free(c->prompt_json);
    free(c->answer_json);
    free(c->x);
    sy_sse_free(&c->sse);
    if (c->ad && c->ad->release)
        c->ad->release(&c->rs);
    sy_runtime_unref(c->rt);
    free(c);
}

/* Detach from the HTTP request once it has been answered. */
static void detach(sy_call *c)
{
    c->bytes_in = c->req->bytes_in;
    c->bytes_out = c->req->bytes_out;
    c->req->ud = NULL;
    c->req->on_abort = c->req->on_drain = NULL;
    c->req = NULL;
}

static void respond_mapped(sy_call *c, sy_mapped_error *e, const char *retry_after)
{
    sy_buf h = {0};
    sy_buf_append(&h, c->headers.data, c->headers.len);
    if (retry_after && e->status == 429)
        sy_buf_printf(&h, "Retry-After: %s\r\n", retry_after);
    c->status = e->status;
    c->error_code = e->code;
    sy_http_respond_error(c->req, e->status, e->type, e->code, NULL, e->message.data, h.data);
    sy_buf_free(&h);
    detach(c);
}

/* An error after the stream started: tell the client in-band, then end the stream. */
static void stream_error_event(sy_call *c, const char *code, const char *message)
{
    sy_buf ev = {0};
    sy_buf_puts(&ev, "data: {\"error\":{\"message\":");
    sy_buf_json_string(&ev, message, strlen(message));
    sy_buf_puts(&ev, ",\"type\":\"upstream_error\",\"param\":null,\"code\":");
    sy_buf_json_string(&ev, code, strlen(code));
    sy_buf_puts(&ev, "}}\n\n");
    sy_http_stream_write(c->req, ev.data, ev.len);
    sy_buf_free(&ev);
    c->error_code = code;
}

/* Client went away: cancel the upstream at once (its connection is closed). */
static void call_abort(sy_http_req *req, void *ud)
{
    sy_call *c = ud;
    c->bytes_in = req->bytes_in;
    c->bytes_out = req->bytes_out;
    c->req = NULL;
    c->status = 499;
    c->error_code = "client_closed";
    sy_upstream_cancel(c->xfer);
    c->xfer = NULL;
    call_finish(c);
}

/* The client drained its output: resume a paused upstream. */
static void call_drain(sy_http_req *req, void *ud)
{
    sy_call *c = ud;
    size_t high = c->rt->cfg->upstream.stream_buffer_bytes;
    if (c->xfer && sy_upstream_paused(c->xfer) && sy_http_output_pending(req) < high / 2)
        sy_upstream_resume(c->xfer);
}

/* Arm the call's one timer. libevent measures the delay from the loop's cached time,
 * which lags by however long this loop iteration has run: refresh it first, or a
 * backoff that waits out a Retry-After could fire before the block ends. */
static void arm_timer(sy_call *c, int kind, unsigned ms)
{
    struct timeval tv = {ms / 1000, (long)(ms % 1000) * 1000};
    c->timer_kind = kind;
    event_base_update_cache_time(c->w->base);
    evtimer_add(&c->timer, &tv);
}

/* Headers arrived: the first byte. A 2xx stream now runs on the idle timer; anything
 * else is read whole under the transfer's own timeout. */
static void on_header(void *ud, long status)
{
    sy_call *c = ud;
    c->up_status = status;
    if (!c->t_first_ns)
        c->t_first_ns = sy_now_ns();
    if (c->timer_kind == T_TTFT) {
        evtimer_del(&c->timer);
        c->timer_kind = T_NONE;
        if (c->stream && status >= 200 && status < 300)
            arm_timer(c, T_IDLE, c->rt->cfg->reliability.idle_timeout_ms);
    }
}

static int on_sse_event(void *ud, const sy_sse_event *ev)
{
    sy_call *c = ud;
    c->ad->stream_event(ev->event, ev->event_len, ev->data, ev->data_len, ev->raw, ev->raw_len,
                        &c->rs, &c->out);
    return 0;
}

/* Give up on the current attempt from inside a curl callback: the transfer is cancelled
 * (and the next step taken) from the timer, outside curl. */
static void abandon_later(sy_call *c, const char *code)
{
    c->fail_code = code;
    evtimer_del(&c->timer);
    c->timer_kind = T_ABANDON;
    event_active(&c->timer, EV_TIMEOUT, 0);
}

/*
 * Upstream body bytes (inside a curl callback: no curl calls here). Streams are relayed
 * as they arrive, but the client's stream starts only with the first translated event
 * that is not an error, so that a provider failing in its first frame can still be
 * replaced by the next arm. When the client's output queue is above the high-water
 * mark the bytes are refused (the transfer pauses) and redelivered after call_drain.
 */
static int on_data(void *ud, const char *data, size_t len)
{
    sy_call *c = ud;
    if (c->timer_kind == T_ABANDON)
        return 1; /* being abandoned: swallow */
    int ok2xx = c->up_status >= 200 && c->up_status < 300;
    if (!c->stream || !ok2xx) {
        if (c->resp.len + len > MAX_UPSTREAM_BODY)
            return 1; /* drop the excess; the response is rejected as malformed later */
        sy_buf_append(&c->resp, data, len);
        return 1;
    }
    if (c->started && sy_http_output_pending(c->req) > c->rt->cfg->upstream.stream_buffer_bytes)
        return 0;
    arm_timer(c, T_IDLE, c->rt->cfg->reliability.idle_timeout_ms);
    if (sy_sse_feed(&c->sse, data, len, on_sse_event, c) == SY_ERR_LIMIT)
        c->error_code = "upstream_event_too_large";
    if (!c->started) {
        if (c->rs.saw_error_event || c->error_code) {
            abandon_later(c, c->error_code ? c->error_code : "upstream_stream_error");
            return 1;
        }
        int committed = c->rs.content_chunks || c->rs.finish_reason[0] || c->rs.saw_done ||
                        c->out.len > MAX_HELD_BACK; /* bounded: a chatty preamble starts it */
        if (!c->out.len || !committed)
            return 1; /* nothing the client needs yet: keep it (and the fallback) open */
        sy_http_stream_start(c->req, 200, "text/event-stream", c->headers.data);
        c->started = 1;
        c->status = 200;
    }
    if (c->out.len) {
        sy_http_stream_write(c->req, c->out.data, c->out.len);
        sy_buf_reset(&c->out);
    }
    return 1;
}

/* choices[0].message of an OpenAI-shaped body as compact JSON (malloc'd), or NULL. */
static char *answer_message_json(const sy_buf *body)
{
    cJSON *root = cJSON_ParseWithLength(body->data ? body->data : "", body->len);
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "choices"), 0), "message");
    char *out = msg ? cJSON_PrintUnformatted(msg) : NULL;
    cJSON_Delete(root);
    return out;
}

/* A successful non-stream answer: relay the translated body with its cost. */
static void answer_plain(sy_call *c, sy_buf *body)
{
    c->status = 200;
    c->completed = 1;
    if (c->rt->cfg->log.include_prompts)
        c->answer_json = answer_message_json(body);
    /* The whole answer is known: its cost goes into a header (streams: the log). */
    sy_bill bill;
    sy_bill_exchange(&c->model->price, &c->rs, 1, c->prompt_bytes, &bill);
    sy_buf_printf(&c->headers, "x-switchyard-cost-usd: %.9f\r\n", bill.cost_usd);
    sy_http_respond(c->req, 200, "application/json", c->headers.data, body->data, body->len);
    detach(c);
}

/* A finished streaming exchange that started: close it, in-band error if it was cut. */
static void finish_stream(sy_call *c, sy_upstream_result res, const char *detail)
{
    sy_sse_finish(&c->sse, on_sse_event, c);
    if (c->out.len) {
        sy_http_stream_write(c->req, c->out.data, c->out.len);
        sy_buf_reset(&c->out);
    }
    if (res != SY_UP_OK || sy_sse_has_partial(&c->sse) || c->error_code ||
        (!c->rs.saw_done && !c->rs.finish_reason[0])) {
        char msg[256];
        snprintf(msg, sizeof(msg), "the provider's stream ended prematurely (%s)",
                 res != SY_UP_OK ? detail : "incomplete stream");
        stream_error_event(c, c->error_code ? c->error_code : "upstream_stream_cut", msg);
    } else {
        c->completed = 1;
    }
    sy_http_stream_end(c->req, NULL);
    detach(c);
}

static int start_attempt(sy_call *c);

/* Next model to try: the next available arm of the ranking after the current one, or
 * the current model again (1), or nothing (0). Sets c->model when it returns 1. */
static int next_model(sy_call *c, uint64_t now_ms, int *same)
{
    *same = 0;
    const sy_config *cfg = c->rt->cfg;
    if (c->route) {
        for (size_t i = c->rank_pos + 1; i < c->n_ranked; i++) {
            const sy_model_cfg *m = &cfg->models[c->route->candidates[c->ranking[i]]];
            if (sy_breaker_available(m->name, now_ms)) {
                c->rank_pos = i;
                c->model = m;
                return 1;
            }
        }
    }
    *same = 1;
    return 1;
}

/* Backoff before retrying the same model: full jitter, or the model's Retry-After. */
static unsigned backoff_ms(sy_call *c, uint64_t now_ms)
{
    const sy_reliability_cfg *rc = &c->rt->cfg->reliability;
    double cap = rc->backoff_base_ms;
    for (unsigned i = 1; i < c->attempts && cap < rc->backoff_max_ms; i++)
        cap *= 2;
    if (cap > rc->backoff_max_ms)
        cap = rc->backoff_max_ms;
    unsigned wait = (unsigned)(gsl_rng_uniform(c->w->rng) * cap);
    uint64_t ready = sy_breaker_ready_at(c->model->name, now_ms);
    if (ready > now_ms + wait) /* +1: the block ends within its last millisecond */
        wait = (unsigned)(ready - now_ms) + 1;
    return wait;
}

/*
 * The current attempt failed before anything reached the client. Try the next arm of
 * the ranking at once, or the same model after a backoff, while attempts, the retry
 * budget and the deadline allow and the error is retryable; otherwise answer with e.
 */
static void attempt_failed(sy_call *c, sy_mapped_error *e, const char *retry_after)
{
    const sy_reliability_cfg *rc = &c->rt->cfg->reliability;
    uint64_t now_ms = sy_wall_ms();
    uint64_t elapsed_ms = (sy_now_ns() - c->t_start_ns) / 1000000u;
    if (c->req && e->retryable && c->attempts < rc->max_attempts && elapsed_ms < rc->deadline_ms &&
        sy_retry_budget_withdraw()) {
        int same;
        next_model(c, now_ms, &same);
        unsigned wait = same ? backoff_ms(c, now_ms) : 0;
        if (wait <= rc->retry_after_cap_ms && elapsed_ms + wait < rc->deadline_ms) {
            if (!same)
                c->fallbacks++;
            if (wait) {
                arm_timer(c, T_BACKOFF, wait);
            } else if (start_attempt(c) != 0) {
                return; /* start_attempt answered and finished the call */
            }
            return;
        }
    }
    if (c->req)
        respond_mapped(c, e, retry_after);
    call_finish(c);
}

/* Reset what one attempt accumulates, keeping what belongs to the request. */
static void reset_attempt(sy_call *c)
{
    sy_upstream_call_free(&c->up);
    memset(&c->up, 0, sizeof(c->up));
    sy_buf_reset(&c->resp);
    sy_buf_reset(&c->out);
    sy_sse_free(&c->sse);
    if (c->ad && c->ad->release)
        c->ad->release(&c->rs);
    memset(&c->rs, 0, sizeof(c->rs));
    c->up_status = 0;
    c->t_first_ns = 0;
    c->error_code = NULL;
    c->fail_code = NULL;
    c->headers.len = c->base_headers_len;
    if (c->headers.data)
        c->headers.data[c->headers.len] = '\0';
}

/* Record the attempt's outcome with the model's breaker (once per granted attempt). */
static void breaker_outcome(sy_call *c, int ok)
{
    if (!c->acquired)
        return;
    c->acquired = 0;
    const sy_reliability_cfg *rc = &c->rt->cfg->reliability;
    sy_breaker_cfg bc = {rc->breaker_failures, rc->breaker_window, rc->breaker_failure_rate,
                         rc->breaker_cooldown_ms, rc->breaker_max_cooldown_ms};
    sy_breaker_record(c->model->name, ok, sy_wall_ms(), &bc, (uint64_t)c->t_start_ns);
}

/* Seconds of a Retry-After value (delta-seconds form), or 0. */
static unsigned retry_after_s(const char *ra)
{
    char *end;
    unsigned long v = ra ? strtoul(ra, &end, 10) : 0;
    return ra && end != ra && v < 86400 ? (unsigned)v : 0;
}

static void on_done(void *ud, sy_upstream_result res, const char *detail)
{
    sy_call *c = ud;
    /* The transfer is freed by the upstream after we return: copy what we need. */
    char ra[32] = "";
    const char *v = sy_upstream_retry_after(c->xfer);
    if (v)
        snprintf(ra, sizeof(ra), "%s", v);
    c->xfer = NULL;
    evtimer_del(&c->timer);
    c->timer_kind = T_NONE;
    if (!c->req) { /* cannot happen: an abort cancels the transfer */
        call_finish(c);
        return;
    }
    if (c->started) {
        breaker_outcome(c, res == SY_UP_OK);
        finish_stream(c, res, detail);
        call_finish(c);
        return;
    }
    sy_mapped_error e = {0};
    int ok2xx = c->up_status >= 200 && c->up_status < 300;
    if (res != SY_UP_OK) {
        sy_map_transport_error(res == SY_UP_CONNECT, res == SY_UP_TIMEOUT, c->prov->name, &e);
        e.retryable = 1;
        breaker_outcome(c, 0);
    } else if (!ok2xx) {
        c->ad->error(c->up_status, c->resp.data, c->resp.len, ra[0] ? ra : NULL, &e);
        unsigned wait_s = retry_after_s(ra);
        if (c->up_status == 429 && wait_s)
            sy_breaker_block(c->model->name, sy_wall_ms() + 1000ull * wait_s);
        /* the provider answered: only its own failures (5xx, 529) count against it */
        breaker_outcome(c, c->up_status < 500);
    } else if (c->stream) {
        sy_sse_finish(&c->sse, on_sse_event, c);
        if (c->out.len && !c->rs.saw_error_event && !c->error_code) {
            /* a short stream that completed inside one buffer */
            breaker_outcome(c, 1);
            sy_http_stream_start(c->req, 200, "text/event-stream", c->headers.data);
            c->started = 1;
            c->status = 200;
            finish_stream(c, res, detail);
            call_finish(c);
            return;
        }
        e = (sy_mapped_error){.status = 502,
                              .type = "upstream_error",
                              .code = c->error_code ? c->error_code : "upstream_empty_stream",
                              .retryable = 1};
        sy_buf_printf(&e.message, "provider '%s' sent no usable stream event", c->prov->name);
        breaker_outcome(c, 0);
    } else {
        sy_buf body = {0};
        if (c->resp.len < MAX_UPSTREAM_BODY &&
            c->ad->response(c->resp.data ? c->resp.data : "", c->resp.len, &c->rs, &body) == 0) {
            breaker_outcome(c, 1);
            answer_plain(c, &body);
            sy_buf_free(&body);
            call_finish(c);
            return;
        }
        sy_buf_free(&body);
        e = (sy_mapped_error){.status = 502,
                              .type = "upstream_error",
                              .code = "upstream_malformed_response",
                              .retryable = 1};
        sy_buf_printf(&e.message,
                      "provider '%s' sent a response that is not a valid chat "
                      "completion",
                      c->prov->name);
        breaker_outcome(c, 0);
    }
    attempt_failed(c, &e, ra[0] ? ra : NULL);
    sy_mapped_error_free(&e);
}

static const sy_upstream_cbs call_cbs = {on_header, on_data, on_done};

/* TTFT and idle timeouts, the end of a backoff, and abandoning an attempt. */
static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    sy_call *c = arg;
    int kind = c->timer_kind;
    c->timer_kind = T_NONE;
    if (kind == T_BACKOFF) {
        /* The timer runs on libevent's monotonic clock, possibly the coarse one, and
         * blocks are kept in wall-clock milliseconds: a backoff that waited out a
         * Retry-After can wake a tick before the block ends. Wait out the rest rather
         * than answer 503 for a model that is ready within milliseconds. */
        uint64_t now_ms = sy_wall_ms();
        uint64_t ready = sy_breaker_ready_at(c->model->name, now_ms);
        if (ready > now_ms && ready - now_ms <= BACKOFF_CLOCK_SLACK_MS) {
            arm_timer(c, T_BACKOFF, (unsigned)(ready - now_ms) + 1);
            return;
        }
        start_attempt(c);
        return;
    }
    const char *code = kind == T_TTFT   ? "upstream_ttft_timeout"
                       : kind == T_IDLE ? "upstream_idle_timeout"
                                        : c->fail_code;
    sy_upstream_cancel(c->xfer);
    c->xfer = NULL;
    breaker_outcome(c, 0);
    if (c->started) { /* after the first byte: the client learns in-band */
        char msg[128];
        snprintf(msg, sizeof(msg), "the provider stopped sending (%s)", code);
        stream_error_event(c, code, msg);
        sy_http_stream_end(c->req, NULL);
        detach(c);
        call_finish(c);
        return;
    }
    sy_mapped_error e = {.status = 504, .type = "upstream_error", .code = code, .retryable = 1};
    if (kind == T_ABANDON)
        e.status = 502;
    sy_buf_printf(&e.message, "provider '%s' failed: %s", c->prov->name, code);
    attempt_failed(c, &e, NULL);
    sy_mapped_error_free(&e);
}

/*
 * Send the request to c->model: claim its breaker, translate the body for its dialect
 * and start the transfer with a time-to-first-byte timer. Returns 0 when the attempt is
 * under way; otherwise the request has been answered and finished (returns -1).
 */
static int start_attempt(sy_call *c)
{
    const sy_config *cfg = c->rt->cfg;
    reset_attempt(c);
    uint64_t now_ms = sy_wall_ms();
    while (!sy_breaker_acquire(c->model->name, now_ms)) {
        int same;
        if (c->route && c->rank_pos + 1 < c->n_ranked && next_model(c, now_ms, &same) && !same) {
            c->fallbacks++;
            continue;
        }
        char msg[200], ra[32];
        uint64_t ready = sy_breaker_ready_at(c->model->name, now_ms);
        snprintf(msg, sizeof(msg), "model '%s' is unavailable (circuit open or rate limited)",
                 c->model->name);
        snprintf(ra, sizeof(ra), "%llu", (unsigned long long)((ready - now_ms + 999) / 1000));
        sy_mapped_error e = {
            .status = 503, .type = "upstream_error", .code = "upstream_unavailable"};
        sy_buf_puts(&e.message, msg);
        sy_buf h = {0};
        sy_buf_append(&h, c->headers.data, c->headers.len);
        sy_buf_printf(&h, "Retry-After: %s\r\n", ra);
        c->status = 503;
        c->error_code = e.code;
        sy_http_respond_error(c->req, 503, e.type, e.code, NULL, msg, h.data);
        sy_buf_free(&h);
        sy_mapped_error_free(&e);
        detach(c);
        call_finish(c);
        return -1;
    }
    c->acquired = 1;
    c->attempts++;
    c->prov = &cfg->providers[c->model->provider];
    c->ad = sy_adapter_for(c->prov->dialect);
    c->rs.client_model = c->model->name; /* owned by the runtime c holds a reference to */
    sy_buf_printf(&c->headers, "x-switchyard-model: %s\r\n", c->model->name);
    if (c->route)
        sy_buf_printf(&c->headers, "x-switchyard-route: %s\r\n", c->route->name);
    /* Every attempt translates the client's body afresh (adapters edit it in place). */
    cJSON *root = cJSON_ParseWithLength(c->req->body.data, c->req->body.len);
    const char *bad_param = NULL, *why = NULL;
    if (!root || !c->ad ||
        c->ad->build(c->prov, c->model, root, c->stream, &c->rs, &c->up, &bad_param, &why) != 0) {
        cJSON_Delete(root);
        breaker_outcome(c, 1); /* not the provider's fault */
        c->status = 400;
        bad_request(c->req, bad_param, why ? why : "the provider's dialect is not supported");
        detach(c);
        call_finish(c);
        return -1;
    }
    cJSON_Delete(root);
    sy_sse_init(&c->sse, MAX_SSE_EVENT);
    unsigned timeout = c->prov->timeout_ms ? c->prov->timeout_ms : cfg->upstream.request_timeout_ms;
    sy_upstream_req ur = {.url = c->up.url.data,
                          .headers = (const char *const *)c->up.headers,
                          .body = c->up.body.data,
                          .body_len = c->up.body.len,
                          .connect_timeout_ms = cfg->upstream.connect_timeout_ms,
                          .timeout_ms = timeout};
    c->xfer = sy_upstream_start(c->w->up, &ur, &call_cbs, c);
    if (!c->xfer) {
        breaker_outcome(c, 0);
        sy_mapped_error e = {0};
        sy_map_transport_error(1, 0, c->prov->name, &e);
        e.retryable = 1;
        attempt_failed(c, &e, NULL);
        sy_mapped_error_free(&e);
        return -1;
    }
    c->sent = 1;
    arm_timer(c, T_TTFT, cfg->reliability.ttft_timeout_ms);
    return 0;
}

/* What the featurizer needs from a validated chat request (pointers into root). */
static void request_features(const cJSON *root, sy_feature_input *fi)
{
    memset(fi, 0, sizeof(*fi));
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
    unsigned users = 0;
    for (const cJSON *m = msgs ? msgs->child : NULL; m; m = m->next) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        const char *r = cJSON_IsString(role) ? role->valuestring : "";
        const char *text = NULL;
        if (cJSON_IsString(content)) {
            text = content->valuestring;
        } else if (cJSON_IsArray(content)) { /* multi-part: count every text part */
            for (const cJSON *p = content->child; p; p = p->next) {
                const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "text");
                if (cJSON_IsString(t)) {
                    fi->prompt_bytes += strlen(t->valuestring);
                    if (!text)
                        text = t->valuestring;
                }
            }
        }
        if (cJSON_IsString(content))
            fi->prompt_bytes += strlen(text);
        if (strcmp(r, "system") == 0 || strcmp(r, "developer") == 0)
            fi->has_system = 1;
        else if (strcmp(r, "tool") == 0)
            fi->has_tools = 1;
        else if (strcmp(r, "user") == 0 && text) {
            users++;
            fi->user_text = text;
            fi->user_len = strlen(text);
        }
    }
    fi->turn = users ? users - 1 : 0;
    if (cJSON_GetObjectItemCaseSensitive(root, "tools"))
        fi->has_tools = 1;
}

/* The conversation's id: X-Conversation-Id, metadata.conversation_id, or (derived)
 * SHA-256 of the key name and the first user message; the first 16 bytes. */
static void conversation_id(const sy_call *c, const cJSON *root, uint8_t id[16])
{
    uint8_t digest[SY_SHA256_LEN];
    const sy_http_header *h = sy_http_req_header(c->req, "x-conversation-id");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    const cJSON *mc = cJSON_GetObjectItemCaseSensitive(meta, "conversation_id");
    sy_sha256_ctx ctx;
    sy_sha256_init(&ctx);
    if (h && h->value_len) {
        sy_sha256_update(&ctx, "h:", 2);
        sy_sha256_update(&ctx, h->value, h->value_len);
    } else if (cJSON_IsString(mc) && mc->valuestring[0]) {
        sy_sha256_update(&ctx, "h:", 2);
        sy_sha256_update(&ctx, mc->valuestring, strlen(mc->valuestring));
    } else {
        sy_sha256_update(&ctx, "d:", 2);
        sy_sha256_update(&ctx, c->key_name, strlen(c->key_name) + 1);
        const cJSON *m;
        cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(root, "messages"))
        {
            const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
            const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
            if (cJSON_IsString(role) && strcmp(role->valuestring, "user") == 0 &&
                cJSON_IsString(content)) {
                sy_sha256_update(&ctx, content->valuestring, strlen(content->valuestring));
                break;
            }
        }
    }
    sy_sha256_final(&ctx, digest);
    memcpy(id, digest, 16);
}

/*
 * Stage 4 and 7 (DESIGN.md §3, §7): load the conversation, detect a rephrase of the
 * previous user turn (which records a weak negative reward for the decision that
 * answered it), and apply the route's first rule that holds, or a sticky one from an
 * earlier turn. Sets *tier or *pin when the candidates are to be restricted.
 */
static void conversation_stage(sy_call *c, const sy_route_cfg *r, const cJSON *root,
                               sy_feature_input *fi, const char **tier, const char **pin)
{
    const sy_config *cfg = c->rt->cfg;
    sy_store *store = c->w->server->store;
    uint64_t now = sy_wall_ms();
    c->has_conv = 1;
    conversation_id(c, root, c->conv_id);
    sy_conv_state *st = &c->conv;
    int known = sy_store_conv_get(store, c->conv_id, now, st) == 0;
    if (!known)
        memset(st, 0, sizeof(*st));
    int rephrase =
        known && st->turn > 0 && fi->user_text &&
        sy_is_rephrase(st->last_text, strlen(st->last_text), fi->user_text, fi->user_len);
    double idle_s = known && st->last_ts_ms ? (double)(now - st->last_ts_ms) / 1000.0 : 0;
    if (rephrase) {
        st->rephrases++;
        st->rephrases_total++;
        st->good_turns = 0;
        int has_prev = 0;
        for (int i = 0; i < 16; i++)
            has_prev |= st->last_request[i];
        if (has_prev) { /* the previous answer did not satisfy: a weak negative */
            sy_store_feedback fb = {.by_token = 1,
                                    .value = 0,
                                    .ts_ms = now,
                                    .implicit = 1,
                                    .weight = cfg->conversations.implicit_weight,
                                    .comment = "implicit: the user rephrased"};
            memcpy(fb.id, st->last_request, 16);
            sy_store_put_feedback(store, &fb, NULL, NULL);
        }
    } else {
        st->rephrases = 0;
        if (known && st->turn > 0)
            st->good_turns++;
    }
    sy_value vals[SY_RV_COUNT] = {
        [SY_RV_TURN] = {.num = st->turn},
        [SY_RV_REPHRASES] = {.num = st->rephrases},
        [SY_RV_REPHRASES_TOTAL] = {.num = st->rephrases_total},
        [SY_RV_THUMBS_DOWN] = {.num = st->thumbs_down},
        [SY_RV_GOOD_TURNS] = {.num = st->good_turns},
        [SY_RV_COST_USD] = {.num = st->cost_usd},
        [SY_RV_IDLE_S] = {.num = idle_s},
        [SY_RV_TIER] = {.str = st->tier},
        [SY_RV_ESCALATED] = {.boolean = st->tier[0] || st->pinned[0]},
    };
    const sy_rule_cfg *fired = NULL;
    for (size_t i = 0; i < r->n_rules && !fired; i++)
        if (r->rules[i].when && sy_expr_eval(r->rules[i].when, vals))
            fired = &r->rules[i];
    if (fired) {
        c->rule_name = fired->name;
        sy_metrics_rule_fired(r->name, fired->name);
        if (fired->action == SY_RULE_DEESCALATE) {
            st->tier[0] = st->pinned[0] = st->rule[0] = '\0';
        } else {
            const char *target = fired->target;
            if (fired->action == SY_RULE_ESCALATE)
                *tier = target;
            else
                *pin = target;
            if (fired->sticky) {
                snprintf(st->tier, sizeof(st->tier), "%s",
                         fired->action == SY_RULE_ESCALATE ? target : "");
                snprintf(st->pinned, sizeof(st->pinned), "%s",
                         fired->action == SY_RULE_PIN ? target : "");
                snprintf(st->rule, sizeof(st->rule), "%s", fired->name);
            }
        }
    } else if (st->tier[0] || st->pinned[0]) {
        if (r->deescalate_after_good_turns && st->good_turns >= r->deescalate_after_good_turns) {
            st->tier[0] = st->pinned[0] = st->rule[0] = '\0'; /* calm again: back down */
        } else {
            *tier = st->tier[0] ? st->tier : NULL;
            *pin = st->pinned[0] ? st->pinned : NULL;
            c->rule_name = st->rule[0] ? st->rule : NULL;
        }
    }
    fi->escalation = (*tier || *pin) ? 1 + (st->rephrases > 0) + (st->thumbs_down > 0) : 0;
    if (fi->user_text)
        snprintf(
            st->last_text, sizeof(st->last_text), "%.*s",
            (int)(fi->user_len < sizeof(st->last_text) ? fi->user_len : sizeof(st->last_text) - 1),
            fi->user_text);
}

/*
 * Resolve `name` to a concrete model. A route's policy ranks its candidates on the
 * worker's latest snapshot set (the learner's), or on the runtime's prior-only
 * snapshot while the set is for an older configuration; contextual policies get the
 * request's feature vector, which is kept for the decision record.
 */
static int resolve_target(sy_call *c, const char *name, const cJSON *root)
{
    const sy_config *cfg = c->rt->cfg;
    const sy_model_cfg *m = sy_config_find_model(cfg, name);
    if (m) {
        c->model = m;
        return 0;
    }
    const sy_route_cfg *r = c->exp_route ? c->exp_route : sy_config_find_route(cfg, name);
    if (!r || (r->hidden && r != c->exp_route))
        return SY_ERR_NOTFOUND; /* a variant's route is reached only through assignment */
    size_t ridx = (size_t)(r - cfg->routes);
    sy_feature_input fi;
    request_features(root, &fi);
    const char *tier = NULL, *pin = NULL;
    conversation_stage(c, r, root, &fi, &tier, &pin);
    const sy_policy_set *set = c->w->policies;
    const sy_policy *pol = set && set->generation == c->rt->generation && ridx < set->n
                               ? set->snap[ridx]
                               : c->rt->route_policies[ridx];
    /* Arms whose breaker is open (or that are rate limited) are not eligible; if none
     * is, all are, and the first attempt answers 503 with the wait. */
    uint8_t eligible[SY_POLICY_MAX_ARMS], allowed[SY_POLICY_MAX_ARMS];
    size_t n_eligible = 0, n_allowed = 0;
    uint64_t now_ms = sy_wall_ms();
    for (size_t k = 0; k < r->n_candidates; k++) { /* an escalation restricts the arms */
        const sy_model_cfg *cm = &cfg->models[r->candidates[k]];
        allowed[k] = (uint8_t)((!tier || strcmp(cm->tier, tier) == 0) &&
                               (!pin || strcmp(cm->name, pin) == 0));
        n_allowed += allowed[k];
    }
    if (!n_allowed) /* the tier or model left the route: ignore the restriction */
        memset(allowed, 1, sizeof(allowed));
    for (size_t k = 0; k < r->n_candidates; k++) {
        eligible[k] =
            allowed[k] && (uint8_t)sy_breaker_available(cfg->models[r->candidates[k]].name, now_ms);
        n_eligible += eligible[k];
    }
    sy_decide_in in = {.n_arms = r->n_candidates,
                       .eligible = n_eligible ? eligible : allowed,
                       .rng = c->w->rng,
                       .seq = c->w->decisions++,
                       .input_tokens = (double)c->prompt_bytes / 4.0};
    size_t dim = sy_policy_dim(pol);
    if (dim) {
        c->x = sy_xcalloc(dim, sizeof(double));
        c->dim = dim;
        sy_featurize(&fi, c->x, dim);
        in.x = c->x;
        in.dim = dim;
    }
    sy_decide_out out;
    if (sy_policy_decide(pol, &in, &out) != 0)
        return SY_ERR_STATE;
    c->route = r;
    c->model = &cfg->models[r->candidates[out.ranking[0]]];
    c->chosen = c->model;
    c->propensity = out.propensity;
    memcpy(c->ranking, out.ranking, sizeof(size_t) * out.n_ranked);
    c->n_ranked = out.n_ranked;
    c->rank_pos = 0;
    c->policy_name = sy_policy_name(pol);
    return 0;
}

void sy_pipeline_chat(sy_worker *w, sy_http_req *req, const sy_client_key_cfg *key)
{
    sy_call *c = sy_xcalloc(1, sizeof(*c));
    c->w = w;
    c->rt = sy_runtime_ref(w->rt); /* key belongs to this runtime's config */
    c->key = key;
    c->key_name = key->name;
    c->t_start_ns = req->t_start_ns;
    c->req = req;
    evtimer_assign(&c->timer, w->base, timer_cb, c);
    w->inflight++;
    memcpy(c->id, req->id, sizeof(c->id)); /* the server adds the header itself */
    char token[SY_FEEDBACK_TOKEN_LEN + 1];
    sy_feedback_token(&w->server->token_key, c->id, token);
    sy_buf_printf(&c->headers, "x-switchyard-feedback-token: %s\r\n", token);
    const sy_config *cfg = c->rt->cfg;

    cJSON *root = NULL;
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
        c->status = 429;
        c->error_code = limited;
        sy_http_respond_error(req, 429, "rate_limit_error", limited, NULL, msg, c->headers.data);
        goto answered;
    }
    if (!is_json_content_type(req)) {
        c->status = 415;
        sy_http_respond_error(req, 415, "invalid_request_error", "unsupported_media_type", NULL,
                              "Content-Type must be application/json", c->headers.data);
        goto answered;
    }
    if (json_depth(req->body.data ? req->body.data : "", req->body.len,
                   cfg->limits.max_json_depth) > cfg->limits.max_json_depth) {
        c->status = 400;
        bad_request(req, NULL, "JSON nesting exceeds the configured depth limit");
        goto answered;
    }
    root = sy_http_req_json(req);
    if (!root) {
        c->status = 400;
        bad_request(req, NULL, "request body is not valid JSON");
        goto answered;
    }
    if (cJSON_IsObject(root))
        assign_experiments(c, root);
    if (cJSON_IsObject(root) && render_prompt(c, req, root) != 0)
        goto answered;
    c->prompt_bytes = req->body.len; /* as rendered: the estimate when usage is missing */
    if (!validate_chat(req, root)) {
        c->status = 400;
        goto answered;
    }
    const char *name = cJSON_GetObjectItemCaseSensitive(root, "model")->valuestring;
    if (resolve_target(c, name, root) != 0) {
        char msg[300];
        snprintf(msg, sizeof(msg), "The model '%.200s' does not exist", name);
        c->status = 404;
        sy_http_respond_error(req, 404, "invalid_request_error", "model_not_found", "model", msg,
                              c->headers.data);
        goto answered;
    }
    c->stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "stream"));
    if (cfg->log.include_prompts)
        c->prompt_json = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(root, "messages"));
    cJSON_Delete(root);
    root = NULL;
    c->base_headers_len = c->headers.len;
    req->ud = c;
    req->on_abort = call_abort;
    req->on_drain = call_drain;
    sy_retry_budget_deposit(cfg->reliability.retry_budget);
    start_attempt(c); /* on failure it has answered and finished the call */
    return;

answered:
    cJSON_Delete(root);
    c->bytes_in = req->bytes_in;
    c->bytes_out = req->bytes_out;
    c->req = NULL;
    call_finish(c);
}
