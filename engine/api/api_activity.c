/*
 * api_activity.c — GET /admin/activity and GET /admin/decisions (api_activity.h): the
 * dashboard's history, read from the in-memory recorder the learner feeds on the store
 * thread (engine/core/activity.h). Both answer on the admin listener only, after the
 * admin key was checked; neither touches the store or the request path.
 */
#include "api_activity.h"

#include "api_common.h"

#include "activity.h"
#include "clock.h"
#include "request_id.h"
#include "server.h"
#include "sha256.h"
#include "sy_common.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DECISIONS_DEFAULT 50
#define DECISIONS_MAX     500

int sy_api_percent_decode(const char *s, size_t n, char *out, size_t cap, int plus_is_space)
{
    const char *end = s + n;
    size_t k = 0;
    for (const char *v = s; v < end; v++) {
        int c = (unsigned char)*v;
        if (c == '+' && plus_is_space) {
            c = ' ';
        } else if (c == '%') {
            int hi = end - v >= 3 ? sy_hex_digit((unsigned char)v[1]) : -1;
            int lo = hi < 0 ? -1 : sy_hex_digit((unsigned char)v[2]);
            if (lo < 0)
                return -1;
            c = hi * 16 + lo;
            v += 2;
        }
        if (c == 0 || k + 1 >= cap)
            return -1;
        out[k++] = (char)c;
    }
    out[k] = '\0';
    return 0;
}

int sy_api_query_param(const char *q, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name);
    for (const char *p = q; p && *p;) {
        const char *end = p + strcspn(p, "&");
        if ((size_t)(end - p) >= nlen && strncmp(p, name, nlen) == 0 &&
            (p[nlen] == '=' || p + nlen == end)) {
            const char *v = p[nlen] == '=' ? p + nlen + 1 : end;
            return sy_api_percent_decode(v, (size_t)(end - v), out, cap, 1) == 0 ? 1 : -1;
        }
        p = *end ? end + 1 : end;
    }
    return 0;
}

void sy_api_conversation_key(const char *id, uint8_t key[16])
{
    size_t n = strlen(id);
    if (n == 32 && sy_hex_decode(id, 32, key, 16) == 0)
        return;
    uint8_t digest[SY_SHA256_LEN];
    sy_sha256_ctx ctx;
    sy_sha256_init(&ctx);
    sy_sha256_update(&ctx, "h:", 2);
    sy_sha256_update(&ctx, id, n);
    sy_sha256_final(&ctx, digest);
    memcpy(key, digest, 16);
}

static void bad_param(sy_http_req *req, const char *param, const char *message)
{
    sy_http_respond_error(req, 400, "invalid_request_error", "invalid_request", param, message,
                          NULL);
}

/* An unsigned integer parameter in [lo, hi]: 1 set, 0 absent (*v unchanged), -1 answered. */
static int uint_param(sy_http_req *req, const char *name, unsigned lo, unsigned hi, unsigned *v)
{
    char buf[32], *end;
    int rc = sy_api_query_param(req->query, name, buf, sizeof(buf));
    if (rc == 0)
        return 0;
    unsigned long x = rc > 0 && buf[0] >= '0' && buf[0] <= '9' ? strtoul(buf, &end, 10) : 0;
    if (rc < 0 || buf[0] < '0' || buf[0] > '9' || *end || x < lo || x > hi) {
        char msg[160];
        snprintf(msg, sizeof(msg), "%s must be an integer from %u to %u", name, lo, hi);
        bad_param(req, name, msg);
        return -1;
    }
    *v = (unsigned)x;
    return 1;
}

/* The optional route filter; -1 when answered (badly escaped or too long). */
static int route_param(sy_http_req *req, char *route, size_t cap, int *set)
{
    int rc = sy_api_query_param(req->query, "route", route, cap);
    if (rc < 0) {
        bad_param(req, "route", "route is badly escaped or too long");
        return -1;
    }
    *set = rc == 1;
    return 0;
}

/* The cell is read as an array of doubles by field offset. */
_Static_assert(sizeof(sy_activity_cell) == 7 * sizeof(double), "sy_activity_cell: doubles only");

/* "name":[v0,v1,…] of one field of every cell; divide_by 1 divides by the cell's
 * requests, 2 by its ratings (null where there were none), 0 not at all. */
static void cells_array(sy_buf *b, const char *name, const sy_activity_series *s, size_t n,
                        size_t field, int divide_by)
{
    sy_buf_printf(b, ",\"%s\":[", name);
    for (size_t k = 0; k < n; k++) {
        const double *c = (const double *)&s->cells[k];
        double v = c[field / sizeof(double)];
        double d = divide_by == 1 ? s->cells[k].requests : divide_by == 2 ? s->cells[k].ratings : 1;
        if (k)
            sy_buf_puts(b, ",");
        sy_buf_num(b, d > 0 ? v / d : NAN);
    }
    sy_buf_puts(b, "]");
}

static void series_json(sy_buf *b, const sy_activity_series *s, size_t n)
{
    sy_activity_cell t = {0};
    for (size_t k = 0; k < n; k++) {
        t.requests += s->cells[k].requests;
        t.errors += s->cells[k].errors;
        t.cost_usd += s->cells[k].cost_usd;
        t.latency_ms_sum += s->cells[k].latency_ms_sum;
        t.ratings += s->cells[k].ratings;
        t.rating_sum += s->cells[k].rating_sum;
        t.rephrases += s->cells[k].rephrases;
    }
    sy_buf_puts(b, "{\"route\":");
    sy_buf_json_string(b, s->route, strlen(s->route));
    sy_buf_puts(b, ",\"model\":");
    sy_buf_json_string(b, s->model, strlen(s->model));
    sy_buf_printf(b, ",\"totals\":{\"requests\":%.0f,\"errors\":%.0f,\"cost_usd\":", t.requests,
                  t.errors);
    sy_buf_num(b, t.cost_usd);
    sy_buf_puts(b, ",\"latency_ms\":");
    sy_buf_num(b, t.requests > 0 ? t.latency_ms_sum / t.requests : NAN);
    sy_buf_printf(b, ",\"ratings\":%.0f,\"rating_mean\":", t.ratings);
    sy_buf_num(b, t.ratings > 0 ? t.rating_sum / t.ratings : NAN);
    sy_buf_printf(b, ",\"rephrases\":%.0f}", t.rephrases);
    cells_array(b, "requests", s, n, offsetof(sy_activity_cell, requests), 0);
    cells_array(b, "errors", s, n, offsetof(sy_activity_cell, errors), 0);
    cells_array(b, "cost_usd", s, n, offsetof(sy_activity_cell, cost_usd), 0);
    cells_array(b, "latency_ms", s, n, offsetof(sy_activity_cell, latency_ms_sum), 1);
    cells_array(b, "ratings", s, n, offsetof(sy_activity_cell, ratings), 0);
    cells_array(b, "rating_mean", s, n, offsetof(sy_activity_cell, rating_sum), 2);
    cells_array(b, "rephrases", s, n, offsetof(sy_activity_cell, rephrases), 0);
    sy_buf_puts(b, "}");
}

void sy_api_admin_activity(sy_worker *w, sy_http_req *req)
{
    unsigned window = 3600, step = 60;
    char route[SY_STORE_NAME_MAX];
    int has_route = 0;
    if (uint_param(req, "window", 10, 86400, &window) < 0 ||
        uint_param(req, "step", 10, 86400, &step) < 0 ||
        route_param(req, route, sizeof(route), &has_route) < 0)
        return;
    uint64_t now = sy_wall_ms();
    sy_activity_window win;
    if (sy_activity_window_get(w->server->activity, has_route ? route : NULL, now, window, step,
                               &win) != 0)
        return bad_param(req, "step",
                         "window must be a multiple of step; step a multiple of 10 s for windows "
                         "up to 3600 s, else of 60 s");
    sy_buf b = {0};
    sy_buf_printf(&b,
                  "{\"object\":\"activity\",\"now_ms\":%llu,\"start_ms\":%llu,\"window_s\":%u,"
                  "\"step_s\":%u,\"points\":%zu,\"dropped_series\":%llu,\"series\":[",
                  (unsigned long long)now, (unsigned long long)win.start_ms, window, step,
                  win.n_cells, (unsigned long long)sy_activity_dropped(w->server->activity));
    for (size_t i = 0; i < win.n_series; i++) {
        if (i)
            sy_buf_puts(&b, ",");
        series_json(&b, &win.series[i], win.n_cells);
    }
    sy_buf_puts(&b, "]}");
    sy_activity_window_free(&win);
    sy_http_respond(req, 200, "application/json", NULL, b.data, b.len);
    sy_buf_free(&b);
}

static void str_field(sy_buf *b, const char *name, const char *v)
{
    sy_buf_printf(b, ",\"%s\":", name);
    if (v[0])
        sy_buf_json_string(b, v, strlen(v));
    else
        sy_buf_puts(b, "null");
}

/* One decision as the dashboard lists it (api.md, "Recent decisions"). */
static void decision_json(sy_buf *b, const sy_activity_decision *d)
{
    char id[SY_REQID_LEN + 1];
    sy_reqid_from_bytes(d->id, id);
    sy_buf_printf(b, "{\"id\":\"%s\",\"ts_ms\":%llu", id, (unsigned long long)d->ts_ms);
    str_field(b, "key_name", d->key_name);
    sy_buf_puts(b, ",\"route\":");
    sy_buf_json_string(b, d->route, strlen(d->route));
    sy_buf_puts(b, ",\"model\":");
    sy_buf_json_string(b, d->model, strlen(d->model));
    str_field(b, "policy", d->policy);
    sy_buf_puts(b, ",\"propensity\":");
    sy_buf_num(b, d->propensity);
    sy_buf_printf(b, ",\"candidates\":%u,\"context\":{\"dim\":%u,\"dense\":[", d->n_candidates,
                  d->dim);
    for (uint32_t i = 0; i < d->dim && i < SY_ACTIVITY_DENSE; i++) {
        if (i)
            sy_buf_puts(b, ",");
        sy_buf_num(b, d->dense[i]);
    }
    static const uint8_t zero[16];
    sy_buf_puts(b, "]},\"conversation\":");
    if (memcmp(d->conv, zero, 16) != 0) {
        char hex[33];
        sy_hex_encode(d->conv, 16, hex);
        sy_buf_printf(b, "\"%s\"", hex);
    } else {
        sy_buf_puts(b, "null");
    }
    str_field(b, "rule", d->rule);
    sy_buf_puts(b, ",\"prompt\":");
    if (d->prompt[0]) {
        sy_buf_puts(b, "{\"id\":");
        sy_buf_json_string(b, d->prompt, strlen(d->prompt));
        sy_buf_printf(b, ",\"version\":%u}", d->prompt_version);
    } else {
        sy_buf_puts(b, "null");
    }
    str_field(b, "experiments", d->experiments);
    sy_buf_printf(b, ",\"status\":%d,\"stream\":%s,\"latency_ms\":", d->status,
                  d->stream ? "true" : "false");
    sy_buf_num(b, d->latency_ms);
    sy_buf_puts(b, ",\"ttft_ms\":");
    sy_buf_num(b, d->ttft_ms);
    sy_buf_puts(b, ",\"cost_usd\":");
    sy_buf_num(b, d->cost_usd);
    sy_buf_printf(b, ",\"prompt_tokens\":%lld,\"completion_tokens\":%lld",
                  (long long)d->prompt_tokens, (long long)d->completion_tokens);
    str_field(b, "error", d->error);
    sy_buf_puts(b, ",\"rating\":");
    if (d->rated) {
        sy_buf_puts(b, "{\"value\":");
        sy_buf_num(b, d->rating);
        sy_buf_printf(b, ",\"implicit\":%s}", d->rated == 2 ? "true" : "false");
    } else {
        sy_buf_puts(b, "null");
    }
    sy_buf_puts(b, "}");
}

void sy_api_admin_decisions(sy_worker *w, sy_http_req *req)
{
    unsigned limit = DECISIONS_DEFAULT;
    char route[SY_STORE_NAME_MAX], conv_id[512];
    int has_route = 0;
    uint8_t conv[16];
    if (uint_param(req, "limit", 1, DECISIONS_MAX, &limit) < 0 ||
        route_param(req, route, sizeof(route), &has_route) < 0)
        return;
    int rc = sy_api_query_param(req->query, "conversation", conv_id, sizeof(conv_id));
    if (rc < 0 || (rc == 1 && !conv_id[0]))
        return bad_param(req, "conversation", "conversation must be a non-empty id");
    if (rc == 1)
        sy_api_conversation_key(conv_id, conv);
    sy_activity_filter f = {.route = has_route ? route : NULL, .conv = rc == 1 ? conv : NULL};
    sy_activity_decision *d = sy_xcalloc(limit, sizeof(*d));
    size_t n = sy_activity_recent(w->server->activity, &f, d, limit);
    sy_buf b = {0};
    sy_buf_printf(&b, "{\"object\":\"list\",\"kept\":%d,\"data\":[", SY_ACTIVITY_RECENT);
    for (size_t i = 0; i < n; i++) {
        if (i)
            sy_buf_puts(&b, ",");
        decision_json(&b, &d[i]);
    }
    sy_buf_puts(&b, "]}");
    free(d);
    sy_http_respond(req, 200, "application/json", NULL, b.data, b.len);
    sy_buf_free(&b);
}
