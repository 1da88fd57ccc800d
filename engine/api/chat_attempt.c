/*
 * chat_attempt.c: stage 9 of the chat pipeline, the attempts (DESIGN.md §9): claim a
 * model's breaker, translate and send, and on failure retry with backoff or fall back
 * along the policy's ranking within the deadline and the retry budget.
 */
#include "chat_call.h"

#include "breaker.h"
#include "provider.h"

#include <gsl/gsl_rng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How far a backoff timer may wake before the block it waited for ends (timer_cb). */
#define BACKOFF_CLOCK_SLACK_MS 50

static void respond_mapped(sy_call *c, sy_mapped_error *e, const char *retry_after)
{
    sy_buf h = {0};
    sy_buf_append(&h, c->headers.data, c->headers.len);
    if (retry_after && e->status == 429)
        sy_buf_printf(&h, "Retry-After: %s\r\n", retry_after);
    c->rec.status = e->status;
    c->rec.error_code = e->code;
    sy_http_respond_error(c->req, e->status, e->type, e->code, NULL, e->message.data, h.data);
    sy_buf_free(&h);
    sy_chat_detach(c);
}

/* Next model to try: the next available arm of the ranking after the current one, or
 * the current model again (1), or nothing (0). Sets c->att.model when it returns 1. */
static int next_model(sy_call *c, uint64_t now_ms, int *same)
{
    *same = 0;
    const sy_config *cfg = c->rt->cfg;
    if (c->dec.route) {
        for (size_t i = c->dec.rank_pos + 1; i < c->dec.n_ranked; i++) {
            const sy_model_cfg *m = &cfg->models[c->dec.route->candidates[c->dec.ranking[i]]];
            if (sy_breaker_available(m->name, now_ms)) {
                c->dec.rank_pos = i;
                c->att.model = m;
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
    for (unsigned i = 1; i < c->att.attempts && cap < rc->backoff_max_ms; i++)
        cap *= 2;
    if (cap > rc->backoff_max_ms)
        cap = rc->backoff_max_ms;
    unsigned wait = (unsigned)(gsl_rng_uniform(c->w->rng) * cap);
    uint64_t ready = sy_breaker_ready_at(c->att.model->name, now_ms);
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
    uint64_t elapsed_ms = (sy_now_ns() - c->rec.t_start_ns) / 1000000u;
    if (c->req && e->retryable && c->att.attempts < rc->max_attempts &&
        elapsed_ms < rc->deadline_ms && sy_retry_budget_withdraw()) {
        int same;
        next_model(c, now_ms, &same);
        unsigned wait = same ? backoff_ms(c, now_ms) : 0;
        if (wait <= rc->retry_after_cap_ms && elapsed_ms + wait < rc->deadline_ms) {
            if (!same)
                c->att.fallbacks++;
            if (wait) {
                sy_chat_arm_timer(c, T_BACKOFF, wait);
            } else if (sy_chat_start_attempt(c) != 0) {
                return; /* sy_chat_start_attempt answered and finished the call */
            }
            return;
        }
    }
    if (c->req)
        respond_mapped(c, e, retry_after);
    sy_chat_finish(c);
}

/* Reset what one attempt accumulates, keeping what belongs to the request. */
static void reset_attempt(sy_call *c)
{
    sy_upstream_call_free(&c->att.up);
    memset(&c->att.up, 0, sizeof(c->att.up));
    sy_buf_reset(&c->att.resp);
    sy_buf_reset(&c->att.out);
    sy_sse_free(&c->att.sse);
    sy_chat_ingress_reset(c);
    if (c->att.ad && c->att.ad->release)
        c->att.ad->release(&c->att.rs);
    memset(&c->att.rs, 0, sizeof(c->att.rs));
    c->att.up_status = 0;
    c->rec.t_first_ns = 0;
    c->rec.error_code = NULL;
    c->att.fail_code = NULL;
    c->headers.len = c->base_headers_len;
    if (c->headers.data)
        c->headers.data[c->headers.len] = '\0';
}

/* Record the attempt's outcome with the model's breaker (once per granted attempt). */
static void breaker_outcome(sy_call *c, int ok)
{
    if (!c->att.acquired)
        return;
    c->att.acquired = 0;
    const sy_reliability_cfg *rc = &c->rt->cfg->reliability;
    sy_breaker_cfg bc = {rc->breaker_failures, rc->breaker_window, rc->breaker_failure_rate,
                         rc->breaker_cooldown_ms, rc->breaker_max_cooldown_ms};
    sy_breaker_record(c->att.model->name, ok, sy_wall_ms(), &bc, (uint64_t)c->rec.t_start_ns);
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
    const char *v = sy_upstream_retry_after(c->att.xfer);
    if (v)
        snprintf(ra, sizeof(ra), "%s", v);
    c->att.xfer = NULL;
    evtimer_del(&c->att.timer);
    c->att.timer_kind = T_NONE;
    if (!c->req) { /* cannot happen: an abort cancels the transfer */
        sy_chat_finish(c);
        return;
    }
    if (c->att.started) {
        breaker_outcome(c, res == SY_UP_OK);
        sy_chat_finish_stream(c, res, detail);
        sy_chat_finish(c);
        return;
    }
    sy_mapped_error e = {0};
    int ok2xx = c->att.up_status >= 200 && c->att.up_status < 300;
    if (res != SY_UP_OK) {
        sy_map_transport_error(res == SY_UP_CONNECT, res == SY_UP_TIMEOUT, c->att.prov->name, &e);
        e.retryable = 1;
        breaker_outcome(c, 0);
    } else if (!ok2xx) {
        c->att.ad->error(c->att.up_status, c->att.resp.data, c->att.resp.len, ra[0] ? ra : NULL,
                         &e);
        unsigned wait_s = retry_after_s(ra);
        if (c->att.up_status == 429 && wait_s)
            sy_breaker_block(c->att.model->name, sy_wall_ms() + 1000ull * wait_s);
        /* the provider answered: only its own failures (5xx, 529) count against it */
        breaker_outcome(c, c->att.up_status < 500);
    } else if (c->stream) {
        sy_sse_finish(&c->att.sse, sy_chat_on_sse_event, c);
        if (c->att.out.len && !c->att.rs.saw_error_event && !c->rec.error_code) {
            /* a short stream that completed inside one buffer */
            breaker_outcome(c, 1);
            sy_http_stream_start(c->req, 200, "text/event-stream", c->headers.data);
            c->att.started = 1;
            c->rec.status = 200;
            sy_chat_finish_stream(c, res, detail);
            sy_chat_finish(c);
            return;
        }
        e = (sy_mapped_error){.status = 502,
                              .type = "upstream_error",
                              .code =
                                  c->rec.error_code ? c->rec.error_code : "upstream_empty_stream",
                              .retryable = 1};
        sy_buf_printf(&e.message, "provider '%s' sent no usable stream event", c->att.prov->name);
        breaker_outcome(c, 0);
    } else {
        sy_buf body = {0};
        if (c->att.resp.len < MAX_UPSTREAM_BODY &&
            c->att.ad->response(c->att.resp.data ? c->att.resp.data : "", c->att.resp.len,
                                &c->att.rs, &body) == 0) {
            breaker_outcome(c, 1);
            sy_chat_answer_plain(c, &body);
            sy_buf_free(&body);
            sy_chat_finish(c);
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
                      c->att.prov->name);
        breaker_outcome(c, 0);
    }
    attempt_failed(c, &e, ra[0] ? ra : NULL);
    sy_mapped_error_free(&e);
}

const sy_upstream_cbs call_cbs = {sy_chat_on_header, sy_chat_on_data, on_done};

/* TTFT and idle timeouts, the end of a backoff, and abandoning an attempt. */
void sy_chat_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    sy_call *c = arg;
    int kind = c->att.timer_kind;
    c->att.timer_kind = T_NONE;
    if (kind == T_BACKOFF) {
        /* The timer runs on libevent's monotonic clock, possibly the coarse one, and
         * blocks are kept in wall-clock milliseconds: a backoff that waited out a
         * Retry-After can wake a tick before the block ends. Wait out the rest rather
         * than answer 503 for a model that is ready within milliseconds. */
        uint64_t now_ms = sy_wall_ms();
        uint64_t ready = sy_breaker_ready_at(c->att.model->name, now_ms);
        if (ready > now_ms && ready - now_ms <= BACKOFF_CLOCK_SLACK_MS) {
            sy_chat_arm_timer(c, T_BACKOFF, (unsigned)(ready - now_ms) + 1);
            return;
        }
        sy_chat_start_attempt(c);
        return;
    }
    const char *code = kind == T_TTFT   ? "upstream_ttft_timeout"
                       : kind == T_IDLE ? "upstream_idle_timeout"
                                        : c->att.fail_code;
    sy_upstream_cancel(c->att.xfer);
    c->att.xfer = NULL;
    breaker_outcome(c, 0);
    if (c->att.started) { /* after the first byte: the client learns in-band */
        char msg[128];
        snprintf(msg, sizeof(msg), "the provider stopped sending (%s)", code);
        sy_chat_stream_error(c, code, msg);
        sy_http_stream_end(c->req, NULL);
        sy_chat_detach(c);
        sy_chat_finish(c);
        return;
    }
    sy_mapped_error e = {.status = 504, .type = "upstream_error", .code = code, .retryable = 1};
    if (kind == T_ABANDON)
        e.status = 502;
    if (code == SY_CHAT_TOO_LARGE) /* billed already: another try would be billed again */
        e.retryable = 0;
    sy_buf_printf(&e.message, "provider '%s' failed: %s", c->att.prov->name, code);
    attempt_failed(c, &e, NULL);
    sy_mapped_error_free(&e);
}

/*
 * Send the request to c->att.model: claim its breaker, translate the body for its dialect
 * and start the transfer with a time-to-first-byte timer. Returns 0 when the attempt is
 * under way; otherwise the request has been answered and finished (returns -1).
 */
int sy_chat_start_attempt(sy_call *c)
{
    const sy_config *cfg = c->rt->cfg;
    reset_attempt(c);
    cJSON *parsed = c->att.body; /* the pipeline's tree, for the first attempt only */
    c->att.body = NULL;
    uint64_t now_ms = sy_wall_ms();
    while (!sy_breaker_acquire(c->att.model->name, now_ms)) {
        int same;
        if (c->dec.route && c->dec.rank_pos + 1 < c->dec.n_ranked && next_model(c, now_ms, &same) &&
            !same) {
            c->att.fallbacks++;
            continue;
        }
        char msg[200], ra[32];
        uint64_t ready = sy_breaker_ready_at(c->att.model->name, now_ms);
        snprintf(msg, sizeof(msg), "model '%s' is unavailable (circuit open or rate limited)",
                 c->att.model->name);
        snprintf(ra, sizeof(ra), "%llu", (unsigned long long)((ready - now_ms + 999) / 1000));
        sy_mapped_error e = {
            .status = 503, .type = "upstream_error", .code = "upstream_unavailable"};
        sy_buf_puts(&e.message, msg);
        sy_buf h = {0};
        sy_buf_append(&h, c->headers.data, c->headers.len);
        sy_buf_printf(&h, "Retry-After: %s\r\n", ra);
        c->rec.status = 503;
        c->rec.error_code = e.code;
        sy_http_respond_error(c->req, 503, e.type, e.code, NULL, msg, h.data);
        sy_buf_free(&h);
        sy_mapped_error_free(&e);
        cJSON_Delete(parsed);
        sy_chat_detach(c);
        sy_chat_finish(c);
        return -1;
    }
    c->att.acquired = 1;
    c->att.attempts++;
    c->att.prov = &cfg->providers[c->att.model->provider];
    c->att.ad = c->embed ? sy_embed_adapter_for(c->att.prov->dialect)
                         : sy_adapter_for(c->att.prov->dialect);
    /* An ingress whose API this provider speaks natively (ingress.h: native) gets the
     * client's own body, unless a prompt template or an experiment variant's parameters
     * rewrote the request or guardrails check it (only the chat form carries those). Decided per
     * attempt: a fallback may cross kinds. */
    const sy_adapter *native = c->ingress && c->ingress->native && c->ingress_body.len &&
                                       !c->ctx.prompt[0] && !c->ctx.exp_params && !c->guard
                                   ? c->ingress->native(c->att.prov)
                                   : NULL;
    c->att.native = native != NULL;
    if (native)
        c->att.ad = native;
    const sy_buf *src = native ? &c->ingress_body : &c->req->body;
    c->att.rs.client_model = c->att.model->name; /* owned by the runtime c holds a reference to */
    c->att.rs.client_id = c->id;                 /* the body's id is the request id */
    sy_buf_printf(&c->headers, "x-switchyard-model: %s\r\nx-switchyard-upstream-model: %s\r\n",
                  c->att.model->name, c->att.model->upstream_name);
    if (c->dec.route)
        sy_buf_printf(&c->headers, "x-switchyard-route: %s\r\n", c->dec.route->name);
    /* Every attempt translates the client's body afresh (adapters edit it in place): the
     * first one the tree the pipeline parsed and checked (the chat form: not for a native
     * attempt), a retry a new parse. */
    if (native && parsed) {
        cJSON_Delete(parsed);
        parsed = NULL;
    }
    cJSON *root = parsed ? parsed : cJSON_ParseWithLength(src->data, src->len);
    const char *bad_param = NULL, *why = NULL;
    if (!c->att.ad && c->embed) {
        bad_param = "model";
        why = "the model's provider speaks a dialect without an embeddings API (anthropic)";
    }
    if (!root || !c->att.ad ||
        c->att.ad->build(c->att.prov, c->att.model, root, c->stream, &c->att.rs, &c->att.up,
                         &bad_param, &why) != 0) {
        cJSON_Delete(root);
        breaker_outcome(c, 1); /* not the provider's fault */
        c->rec.status = 400;
        c->rec.error_code = "invalid_request";
        sy_chat_bad_request(c->req, bad_param,
                            why ? why : "the provider's dialect is not supported");
        sy_chat_detach(c);
        sy_chat_finish(c);
        return -1;
    }
    cJSON_Delete(root);
    sy_json_nul_restore(&c->att.up.body); /* content NULs leave as \u0000 (json_body.h) */
    sy_sse_init(&c->att.sse, MAX_SSE_EVENT);
    unsigned timeout =
        c->att.prov->timeout_ms ? c->att.prov->timeout_ms : cfg->upstream.request_timeout_ms;
    sy_upstream_req ur = {.url = c->att.up.url.data,
                          .headers = (const char *const *)c->att.up.headers,
                          .body = c->att.up.body.data,
                          .body_len = c->att.up.body.len,
                          .connect_timeout_ms = cfg->upstream.connect_timeout_ms,
                          .timeout_ms = timeout,
                          .ca_file = c->att.prov->ca_file};
    c->att.xfer = sy_upstream_start(c->w->up, &ur, &call_cbs, c);
    if (!c->att.xfer) {
        breaker_outcome(c, 0);
        sy_mapped_error e = {0};
        sy_map_transport_error(1, 0, c->att.prov->name, &e);
        e.retryable = 1;
        attempt_failed(c, &e, NULL);
        sy_mapped_error_free(&e);
        return -1;
    }
    c->att.sent = 1;
    sy_chat_arm_timer(c, T_TTFT, cfg->reliability.ttft_timeout_ms);
    return 0;
}
