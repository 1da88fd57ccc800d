/*
 * guard_call.c: the guardrails of a chat call (guard_call.h) — which apply, the input
 * check of the messages, the output check of a whole answer, and the call's end
 * (metrics, flag lines, the log member). Streams: guard_stream.c.
 */
#include "chat_call.h"
#include "guard_metrics.h"
#include "guard_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char BLOCKED[] = "guardrail_blocked";

static void dir_add(sy_guard_dir *d, const sy_guard *g)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->gs[i] == g)
            return;
    d->gs[d->n++] = g;
}

static void dir_alloc(sy_guard_dir *d, size_t cap)
{
    d->gs = sy_xcalloc(cap, sizeof(*d->gs));
    d->hits = sy_xcalloc(cap, sizeof(*d->hits));
}

static void dir_free(sy_guard_dir *d)
{
    free(d->gs);
    free(d->hits);
}

/* The guardrails of a request to `name` by key: the route's, then the key's (each
 * once). NULL when none apply. */
static sy_call_guard *select_guards(const sy_config *cfg, const char *name,
                                    const sy_client_key_cfg *key)
{
    const sy_route_cfg *r = sy_config_find_route(cfg, name);
    size_t nr = r && !r->hidden ? r->guardrails.n : 0, nk = key->guardrails.n;
    if (!nr && !nk)
        return NULL;
    sy_call_guard *g = sy_xcalloc(1, sizeof(*g));
    dir_alloc(&g->in, nr + nk);
    dir_alloc(&g->in_sys, nr + nk);
    dir_alloc(&g->out, nr + nk);
    for (size_t i = 0; i < nr + nk; i++) {
        size_t idx = i < nr ? r->guardrails.idx[i] : key->guardrails.idx[i - nr];
        const sy_guard *gd = cfg->guardrails[idx];
        unsigned dirs = sy_guard_dirs(gd);
        if (sy_guard_kind_of(gd) == SY_GUARD_JUDGE && !g->judge) {
            g->judge = gd; /* one judge per request: the first named */
            g->judge_index = g->in.n;
        }
        if (dirs & SY_GUARD_IN) {
            dir_add(&g->in, gd);
            if (sy_guard_kind_of(gd) != SY_GUARD_INJECTION)
                dir_add(&g->in_sys, gd);
        }
        if (dirs & SY_GUARD_OUT)
            dir_add(&g->out, gd);
    }
    return g;
}

void sy_guard_run_init(sy_call_guard *g, sy_guard_dir *d, int restore, sy_guard_run *run)
{
    *run = (sy_guard_run){.gs = d->gs,
                          .n = d->n,
                          .masks = &g->masks,
                          .restore = restore,
                          .hits = d->hits,
                          .blocked = -1};
}

int sy_guard_restoring(const sy_call_guard *g)
{
    for (size_t i = 0; i < g->masks.n; i++)
        if (g->masks.v[i].restorable)
            return 1;
    return 0;
}

/* Check one JSON string in place: -1 when blocked, else 0 (*changed when rewritten). */
static int check_string(sy_guard_run *run, cJSON *s, int *changed)
{
    if (!cJSON_IsString(s) || !s->valuestring[0])
        return 0;
    sy_buf out = {0};
    size_t len = strlen(s->valuestring);
    int rc = sy_guard_check_text(run, s->valuestring, len, &out);
    if (rc == 0 && (out.len != len || memcmp(out.data, s->valuestring, len) != 0)) {
        cJSON_SetValuestring(s, out.data ? out.data : "");
        *changed = 1;
    }
    sy_buf_free(&out);
    return rc;
}

/* The texts of one message: its content (a string, or the text of its parts) and the
 * arguments of the tool calls it makes. -1 when blocked. */
static int check_message(sy_guard_run *run, cJSON *m, int *changed)
{
    cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
    if (check_string(run, content, changed) < 0)
        return -1;
    cJSON *part, *parts = cJSON_IsArray(content) ? content : NULL;
    cJSON_ArrayForEach(part, parts)
    {
        if (check_string(run, cJSON_GetObjectItemCaseSensitive(part, "text"), changed) < 0)
            return -1;
    }
    cJSON *call;
    cJSON_ArrayForEach(call, cJSON_GetObjectItemCaseSensitive(m, "tool_calls"))
    {
        cJSON *fn = cJSON_GetObjectItemCaseSensitive(call, "function");
        if (check_string(run, cJSON_GetObjectItemCaseSensitive(fn, "arguments"), changed) < 0)
            return -1;
    }
    return 0;
}

/* The input hits of the system-message run, added to the input guards' counts. */
static void merge_sys_hits(sy_call_guard *g)
{
    for (size_t j = 0; j < g->in_sys.n; j++)
        for (size_t i = 0; i < g->in.n; i++)
            if (g->in.gs[i] == g->in_sys.gs[j])
                g->in.hits[i] += g->in_sys.hits[j];
}

/* Answer 400 guardrail_blocked for guard gd; what: "request" or "answer". */
static void respond_blocked(sy_call *c, sy_http_req *req, const sy_guard *gd, const char *what)
{
    char msg[200];
    sy_guard_block_message(sy_guard_name(gd), what, msg, sizeof(msg));
    sy_buf_printf(&c->headers, "x-switchyard-guardrail: %s\r\n", sy_guard_name(gd));
    c->rec.status = 400;
    c->rec.error_code = BLOCKED;
    sy_http_respond_error(req, 400, "invalid_request_error", BLOCKED, NULL, msg, c->headers.data);
}

int sy_guard_input(sy_call *c, sy_http_req *req, cJSON *root, const char *name,
                   const sy_guard_cont *k)
{
    c->guard = select_guards(c->rt->cfg, name, c->key);
    sy_call_guard *g = c->guard;
    if (!g || !g->in.n)
        return 0;
    g->in.ran = 1;
    sy_guard_run run, sys;
    sy_guard_run_init(g, &g->in, 0, &run);
    sy_guard_run_init(g, &g->in_sys, 0, &sys);
    int changed = 0, rc = 0;
    cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(root, "messages"))
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        int system = cJSON_IsString(role) && (strcmp(role->valuestring, "system") == 0 ||
                                              strcmp(role->valuestring, "developer") == 0);
        if ((rc = check_message(system ? &sys : &run, m, &changed)) < 0)
            break;
    }
    merge_sys_hits(g);
    if (rc < 0) {
        const sy_guard *gd = run.blocked >= 0 ? g->in.gs[run.blocked] : g->in_sys.gs[sys.blocked];
        respond_blocked(c, req, gd, "request");
        return -1;
    }
    if (changed) { /* every attempt translates from req->body */
        char *body = cJSON_PrintUnformatted(root);
        sy_buf_reset(&req->body);
        sy_buf_puts(&req->body, body ? body : "");
        free(body);
    }
    return g->judge ? sy_guard_judge_start(c, req, root, k) : 0; /* on the redacted text */
}

int sy_guard_answer(sy_call *c, sy_buf *body)
{
    sy_call_guard *g = c->guard;
    int restore = g ? sy_guard_restoring(g) : 0;
    if (!g || (!g->out.n && !restore))
        return 0;
    cJSON *root = cJSON_ParseWithLength(body->data ? body->data : "", body->len);
    sy_guard_run run;
    sy_guard_run_init(g, &g->out, restore, &run);
    g->out.ran = g->out.n > 0;
    int changed = 0, rc = 0;
    cJSON *ch;
    cJSON_ArrayForEach(ch, cJSON_GetObjectItemCaseSensitive(root, "choices"))
    {
        cJSON *msg = cJSON_GetObjectItemCaseSensitive(ch, "message");
        if ((rc = check_string(&run, cJSON_GetObjectItemCaseSensitive(msg, "content"), &changed)) <
            0)
            break;
    }
    if (rc < 0) {
        cJSON_Delete(root);
        respond_blocked(c, c->req, g->out.gs[run.blocked], "answer");
        return -1;
    }
    if (changed) {
        char *text = cJSON_PrintUnformatted(root);
        sy_buf_reset(body);
        sy_buf_puts(body, text ? text : "");
        free(text);
    }
    cJSON_Delete(root);
    return 0;
}

/* "name:action:direction" of each guard of d that matched, comma-separated, into b. */
static void fired(const sy_guard_dir *d, const char *dir, sy_buf *b)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->hits[i])
            sy_buf_printf(b, "%s%s:%s:%s", b->len ? "," : "", sy_guard_name(d->gs[i]),
                          sy_guard_action_name(sy_guard_action_of(d->gs[i])), dir);
}

void sy_guard_log_field(const sy_call *c, sy_logbuf *lb)
{
    if (!c->guard)
        return;
    sy_buf b = {0};
    fired(&c->guard->in, "input", &b);
    fired(&c->guard->out, "output", &b);
    if (b.len)
        sy_logbuf_str(lb, "guardrails", b.data);
    sy_buf_free(&b);
    if (c->guard->verdict) { /* a judge model was asked */
        sy_logbuf_str(lb, "guardrail_judge", c->guard->verdict);
        sy_logbuf_num_prec(lb, "guardrail_cost_usd", c->guard->judge_cost_usd, 9);
    }
}

/* The metrics of one direction, and a log line per flag (never the matched text). */
static void count_dir(const sy_call *c, const sy_guard_dir *d, const char *dir)
{
    if (!d->ran)
        return;
    for (size_t i = 0; i < d->n; i++) {
        sy_guard_action a = sy_guard_action_of(d->gs[i]);
        sy_guard_metrics_count(sy_guard_name(d->gs[i]), dir, sy_guard_action_name(a),
                               d->hits[i] > 0);
        if (d->hits[i] && a == SY_GUARD_FLAG)
            sy_log(SY_LOG_INFO, "request %s: guardrail '%s' flagged the %s (%u matches)", c->id,
                   sy_guard_name(d->gs[i]), dir, d->hits[i]);
    }
}

void sy_guard_call_end(sy_call *c)
{
    sy_call_guard *g = c->guard;
    if (!g)
        return;
    count_dir(c, &g->in, "input");
    count_dir(c, &g->out, "output");
    dir_free(&g->in);
    dir_free(&g->in_sys);
    dir_free(&g->out);
    sy_guard_masks_free(&g->masks);
    sy_buf_free(&g->raw);
    sy_sse_free(&g->sse);
    for (size_t i = 0; i < g->n_win; i++)
        sy_guard_window_free(&g->win[i]);
    free(g->win);
    cJSON_Delete(g->tmpl);
    sy_guard_judge_free(g);
    free(g);
    c->guard = NULL;
}
