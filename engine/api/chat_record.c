/*
 * chat_record.c: stage 10 of the chat pipeline (DESIGN.md §3): the one end of every
 * call. Bill the exchange, write the log line, update the conversation, queue the
 * decision and outcome for the store, count metrics, free everything the call owns.
 */
#include "chat_call.h"

#include "breaker.h"
#include "cluster_budget.h"
#include "cluster_node.h"
#include "conversation.h"
#include "key_limits.h"
#include "metrics.h"
#include "server.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* s (NULL: "") into dst of cap bytes, cut to fit and terminated: what snprintf("%s")
 * did here, at a tenth of its cost (a request copies eight names). */
static void put_name(char *dst, size_t cap, const char *s)
{
    size_t n = s ? strnlen(s, cap - 1) : 0;
    memcpy(dst, s ? s : "", n);
    dst[n] = '\0';
}

/* Queue the decision and outcome for the store (the store copies; no I/O here). */
static void record(sy_call *c)
{
    sy_store_request r = {0};
    if (sy_reqid_to_bytes(c->id, r.id) != 0)
        return;
    r.ts_ms = sy_reqid_time_ms(c->id);
    put_name(r.key_name, sizeof(r.key_name), c->key_name);
    put_name(r.route, sizeof(r.route), c->dec.route ? c->dec.route->name : NULL);
    put_name(r.model, sizeof(r.model), c->att.model->name);
    put_name(r.policy, sizeof(r.policy), c->dec.route ? c->dec.policy_name : NULL);
    /* after a fallback the served arm is not the policy's choice: no usable propensity */
    r.propensity = c->dec.route && !c->att.fallbacks ? c->dec.propensity : NAN;
    r.n_candidates = c->dec.route ? (uint32_t)sy_route_n_arms(c->dec.route) : 1;
    r.x = c->dec.x;
    r.dim = (uint32_t)c->dec.dim;
    if (c->conv.on)
        memcpy(r.conv, c->conv.id, 16);
    put_name(r.rule, sizeof(r.rule), c->dec.rule_name);
    put_name(r.prompt, sizeof(r.prompt), c->ctx.prompt);
    r.prompt_version = c->ctx.prompt_version;
    put_name(r.experiments, sizeof(r.experiments), c->ctx.experiments);
    r.status = c->rec.status;
    r.stream = c->stream;
    uint64_t end = c->rec.t_end_ns ? c->rec.t_end_ns : sy_now_ns();
    r.latency_ms = (double)(end - c->rec.t_start_ns) / 1e6;
    r.ttft_ms = c->rec.t_first_ns ? (double)(c->rec.t_first_ns - c->rec.t_start_ns) / 1e6 : NAN;
    r.prompt_tokens = c->rec.bill.usage.prompt_tokens;
    r.completion_tokens = c->rec.bill.usage.completion_tokens;
    r.cached_tokens = c->rec.bill.usage.cached_tokens;
    r.usage_estimated = c->rec.bill.estimated;
    r.cost_usd = c->rec.bill.cost_usd;
    put_name(r.error, sizeof(r.error), c->rec.error_code);
    sy_store_put_request(c->w->server->store, &r);
}

/* Cluster mode: the call's budget reservation becomes its billed cost (chat_budget.c). */
static void budget_settle(sy_call *c)
{
    if (!c->budget_reserved_ms || !c->w->server->cluster)
        return;
    double cost = c->att.model && c->att.sent ? c->rec.bill.cost_usd : 0;
    sy_cluster_budget_settle(c->w->server->cluster, c->key_name, c->id, cost,
                             c->budget_reserved_ms);
    c->budget_reserved_ms = 0;
}

/* Write the request's log line (worker-batched) and free the call. */
void sy_chat_finish(sy_call *c)
{
    sy_worker *w = c->w;
    const sy_config *cfg = c->rt->cfg;
    c->rec.t_end_ns = sy_now_ns();
    if (c->att.model && c->att.sent) {
        sy_bill_exchange(&c->att.model->price, &c->att.rs, c->rec.completed, c->rec.prompt_bytes,
                         &c->rec.bill);
        sy_key_charge(c->key_name, &c->key->limits,
                      c->rec.bill.usage.prompt_tokens + c->rec.bill.usage.completion_tokens,
                      c->rec.bill.cost_usd, sy_wall_ms());
    }
    budget_settle(c); /* cluster mode: the key's reservation becomes its spend */
    if (cfg->log.requests) {
        sy_logbuf *lb = &w->log;
        uint64_t now = sy_now_ns();
        sy_logbuf_begin(lb);
        sy_logbuf_str(lb, "id", c->id);
        sy_logbuf_str(lb, "key", c->key_name);
        if (c->embed)
            sy_logbuf_str(lb, "endpoint", "embeddings");
        else if (c->ingress) /* the client's API (ingress.h) */
            sy_logbuf_str(lb, "endpoint", c->ingress->name);
        sy_logbuf_str(lb, "route", c->dec.route ? c->dec.route->name : NULL);
        sy_logbuf_str(lb, "model", c->att.model ? c->att.model->name : NULL);
        sy_logbuf_str(lb, "provider", c->att.prov ? c->att.prov->name : NULL);
        sy_logbuf_bool(lb, "stream", c->stream);
        sy_logbuf_int(lb, "status", c->rec.status);
        sy_logbuf_int(lb, "upstream_status", c->att.up_status);
        sy_logbuf_num(lb, "latency_ms", (double)(now - c->rec.t_start_ns) / 1e6);
        if (c->rec.t_first_ns)
            sy_logbuf_num(lb, "ttft_ms", (double)(c->rec.t_first_ns - c->rec.t_start_ns) / 1e6);
        else
            sy_logbuf_str(lb, "ttft_ms", NULL);
        const sy_bill bill = c->rec.bill;
        sy_logbuf_int(lb, "prompt_tokens", bill.usage.prompt_tokens);
        sy_logbuf_int(lb, "completion_tokens", bill.usage.completion_tokens);
        sy_logbuf_int(lb, "cached_tokens", bill.usage.cached_tokens);
        if (bill.usage.cache_write_tokens)
            sy_logbuf_int(lb, "cache_write_tokens", bill.usage.cache_write_tokens);
        sy_logbuf_bool(lb, "usage_reported", c->att.rs.usage.have);
        sy_logbuf_bool(lb, "usage_estimated", bill.estimated);
        sy_logbuf_num_prec(lb, "cost_usd", bill.cost_usd, 9);
        sy_logbuf_str(lb, "finish_reason",
                      c->att.rs.finish_reason[0] ? c->att.rs.finish_reason : NULL);
        sy_logbuf_int(lb, "bytes_in", (long long)c->rec.bytes_in);
        sy_logbuf_int(lb, "bytes_out", (long long)c->rec.bytes_out);
        if (c->dec.route)
            sy_logbuf_num(lb, "propensity", c->dec.propensity);
        sy_logbuf_str(lb, "error", c->rec.error_code);
        sy_logbuf_int(lb, "attempts", c->att.attempts);
        sy_logbuf_int(lb, "fallbacks", c->att.fallbacks);
        if (c->ctx.experiments[0])
            sy_logbuf_str(lb, "experiments", c->ctx.experiments);
        if (c->ctx.prompt[0]) {
            sy_logbuf_str(lb, "prompt", c->ctx.prompt);
            sy_logbuf_int(lb, "prompt_version", c->ctx.prompt_version);
        }
        sy_guard_log_field(c, lb);
        sy_cache_log_field(c, lb);
        if (cfg->log.include_prompts) {
            sy_logbuf_raw(lb, "messages", c->rec.prompt_json);
            sy_logbuf_raw(lb, "answer", c->rec.answer_json);
        }
        sy_logbuf_end(lb);
    }
    if (c->conv.on) { /* this turn becomes the conversation's previous one */
        uint8_t id[16] = {0};
        sy_reqid_to_bytes(c->id, id);
        sy_conv_end_turn(&c->conv.state, sy_wall_ms(), c->rec.bill.cost_usd, id);
        sy_store_put_conv(c->w->server->store, c->conv.id, &c->conv.state);
        if (c->w->server->cluster) /* the next turn may come to another node */
            sy_cluster_publish_conv(c->w->server->cluster, c->conv.id, &c->conv.state);
    }
    if (c->att.model) {
        record(c);
        sy_metrics_obs mo = {.route = c->dec.route ? c->dec.route->name : "",
                             .model = c->att.model->name,
                             .status = c->rec.status,
                             .latency_s = (double)(c->rec.t_end_ns - c->rec.t_start_ns) / 1e9,
                             .ttft_s = c->rec.t_first_ns
                                           ? (double)(c->rec.t_first_ns - c->rec.t_start_ns) / 1e9
                                           : -1,
                             .prompt_tokens = c->rec.bill.usage.prompt_tokens,
                             .completion_tokens = c->rec.bill.usage.completion_tokens,
                             .cached_tokens = c->rec.bill.usage.cached_tokens,
                             .cost_usd = c->rec.bill.cost_usd};
        sy_metrics_observe(&mo);
    }
    sy_cache_call_end(c); /* a completed miss's answer goes to the store (cache_call.c) */
    evtimer_del(&c->att.timer);
    if (c->att.acquired) /* the client left mid-attempt: no verdict on the provider */
        sy_breaker_cancel(c->att.model->name);
    w->inflight--;
    sy_upstream_call_free(&c->att.up);
    sy_buf_free(&c->att.resp);
    sy_buf_free(&c->att.out);
    sy_buf_free(&c->headers);
    cJSON_Delete(c->att.body); /* an attempt that never started */
    free(c->rec.prompt_json);
    free(c->rec.answer_json);
    free(c->dec.x);
    sy_sse_free(&c->att.sse);
    sy_chat_ingress_reset(c);
    sy_buf_free(&c->ingress_body);
    sy_guard_call_end(c);
    if (c->att.ad && c->att.ad->release)
        c->att.ad->release(&c->att.rs);
    sy_runtime_unref(c->rt);
    free(c);
}

/* Detach from the HTTP request once it has been answered. */
void sy_chat_detach(sy_call *c)
{
    c->rec.bytes_in = c->req->bytes_in;
    c->rec.bytes_out = c->req->bytes_out;
    c->req->ud = NULL;
    c->req->on_abort = c->req->on_drain = NULL;
    c->req = NULL;
}
