/*
 * chat_budget.c: cluster-wide key budgets in the pipeline (docs/scale-out.md, "Budgets").
 * In cluster mode, a call of a key with a USD budget reserves its maximum cost in Redis
 * (engine/cluster/cluster_budget.h) between the decision and the first upstream attempt,
 * and settles its billed cost when it ends. The worker does not wait: the call is held
 * (its abort handler only notes that the client left) until the cluster thread's verdict
 * comes back through the worker's job mailbox.
 *
 * Without Redis (down, slow, or its answer lost) a node decides alone on a fail-safe
 * share: it admits while its own spend of the period is below cluster.budget_local_share
 * of the budget; its spend is settled in Redis once Redis is back.
 */
#include "pipeline.h"

#include "chat_call.h"
#include "clock.h"
#include "cluster_budget.h"
#include "key_limits.h"
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_OUTPUT_TOKENS 4096 /* reserved when the request sets no max_tokens */

typedef struct budget_hold {
    sy_worker_job job; /* first: the verdict comes back through the worker's mailbox */
    sy_call *c;
    void (*launch)(sy_call *c, sy_http_req *req); /* the pipeline's next stage */
    int verdict;                                  /* 1 admitted, 0 refused, -1 Redis unavailable */
} budget_hold;

static double dearest(const sy_model_cfg *m, int input)
{
    if (!input)
        return m->price.output;
    return m->price.cache_write > m->price.input ? m->price.cache_write : m->price.input;
}

/* The most this call can cost on any model it may be sent to (fallbacks included): every
 * prompt byte a token, the output max_tokens (or DEFAULT_OUTPUT_TOKENS) tokens. */
static double max_cost(const sy_call *c, const cJSON *root)
{
    const sy_config *cfg = c->rt->cfg;
    double in = 0, out = 0;
    if (c->dec.route) {
        for (size_t k = 0; k < c->dec.route->n_candidates; k++) {
            const sy_model_cfg *m = &cfg->models[c->dec.route->candidates[k]];
            in = dearest(m, 1) > in ? dearest(m, 1) : in;
            out = dearest(m, 0) > out ? dearest(m, 0) : out;
        }
    } else if (c->att.model) { /* the model the request named */
        in = dearest(c->att.model, 1);
        out = dearest(c->att.model, 0);
    }
    double max_tokens = c->embed ? 0 : DEFAULT_OUTPUT_TOKENS;
    const char *fields[] = {"max_tokens", "max_completion_tokens"};
    for (size_t i = 0; i < 2 && root && !c->embed; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, fields[i]);
        if (cJSON_IsNumber(v) && v->valuedouble > 0)
            max_tokens = v->valuedouble;
    }
    return ((double)c->rec.prompt_bytes * in + max_tokens * out) / 1e6;
}

/* The client left while the call was held: the verdict's job finishes the call. */
static void hold_abort(sy_http_req *req, void *ud)
{
    sy_call *c = ud;
    c->rec.bytes_in = req->bytes_in;
    c->rec.bytes_out = req->bytes_out;
    c->req = NULL;
    c->rec.status = 499;
    c->rec.error_code = "client_closed";
}

/* Cluster thread: hand the verdict to the call's worker. */
static void on_verdict(void *ud, int verdict)
{
    budget_hold *h = ud;
    h->verdict = verdict;
    sy_worker_post(h->c->w, &h->job);
}

/* Without Redis: this node's own spend against its share of the budget. */
static int local_share(const sy_call *c)
{
    const sy_key_limits *lim = &c->key->limits;
    double share = c->rt->cfg->cluster.budget_local_share;
    sy_key_limits mine = {.usd_per_day = lim->usd_per_day * share,
                          .usd_per_month = lim->usd_per_month * share};
    if ((lim->usd_per_day > 0 && !(mine.usd_per_day > 0)) ||
        (lim->usd_per_month > 0 && !(mine.usd_per_month > 0)))
        return 0; /* a share of 0: nothing without Redis */
    unsigned wait;
    return sy_key_admit(c->key_name, &mine, sy_wall_ms(), &wait) == NULL;
}

static void refuse(sy_call *c, sy_http_req *req)
{
    uint64_t now = sy_wall_ms();
    unsigned wait_s = (unsigned)((86400000u - now % 86400000u + 999) / 1000);
    char msg[200];
    snprintf(msg, sizeof(msg),
             "key '%.64s' is over its spending budget across the cluster; retry in %u s",
             c->key_name, wait_s);
    sy_buf_printf(&c->headers, "Retry-After: %u\r\n", wait_s);
    c->rec.status = 429;
    c->rec.error_code = "budget_exceeded";
    sy_http_respond_error(req, 429, "rate_limit_error", "budget_exceeded", NULL, msg,
                          c->headers.data);
}

/* On the worker: launch, refuse, or finish a call whose client left. */
static void resume(sy_worker_job *job, int live)
{
    budget_hold *h = (budget_hold *)job;
    sy_call *c = h->c;
    int verdict = h->verdict;
    void (*launch)(sy_call *, sy_http_req *) = h->launch;
    free(h);
    if (!live)
        return; /* the process is exiting after its drain timeout */
    if (verdict < 0)
        verdict = local_share(c);
    if (!verdict)
        c->budget_reserved_ms = 0; /* nothing reserved: nothing to settle */
    sy_http_req *req = c->req;
    if (!req) {
        sy_chat_finish(c); /* settles 0: the reservation is released */
        return;
    }
    req->on_abort = NULL;
    req->ud = NULL;
    if (!verdict) {
        refuse(c, req);
        c->rec.bytes_in = req->bytes_in; /* answered before any attempt */
        c->rec.bytes_out = req->bytes_out;
        c->req = NULL;
        sy_chat_finish(c);
        return;
    }
    launch(c, req);
}

int sy_chat_budget_hold(sy_call *c, sy_http_req *req, const cJSON *root,
                        void (*launch)(sy_call *c, sy_http_req *req))
{
    sy_cluster *cl = c->w->server->cluster;
    const sy_key_limits *lim = &c->key->limits;
    if (!cl || !(lim->usd_per_day > 0 || lim->usd_per_month > 0))
        return 0;
    budget_hold *h = sy_xcalloc(1, sizeof(*h));
    h->job.run = resume;
    h->c = c;
    h->launch = launch;
    c->budget_reserved_ms = sy_wall_ms();
    req->ud = c;
    req->on_abort = hold_abort;
    sy_cluster_budget_reserve(cl, c->key_name, c->id, max_cost(c, root), lim->usd_per_day,
                              lim->usd_per_month, c->budget_reserved_ms, on_verdict, h);
    return 1;
}
