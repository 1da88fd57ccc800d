/*
 * api_admin.c — the admin listener (loopback by default, separate port, admin key):
 *   GET  /healthz                 liveness, no key needed
 *   GET  /admin/status            version, uptime, workers, config generation
 *   GET  /admin/routes            every route with its candidates and policy
 *   GET  /admin/routes/{name}     one route
 *   POST /admin/reload            reload the configuration file (as SIGHUP does)
 *   /admin/prompts/...            the prompt registry (engine/api/api_prompts.c)
 *   /admin/experiments/...        experiments (engine/api/api_experiments.c)
 *   GET  /admin/activity, /admin/decisions   the dashboard's history (api_activity.c)
 *   GET  /, /ui/...               the dashboard's files, no key (api_dashboard.c)
 * Served by worker 0; the reload reads the config file on that worker, which is an
 * admin action, never on the client request path.
 */
#include "api.h"
#include "api_interval.h"

#include "api_activity.h"
#include "api_cluster.h"
#include "api_common.h"
#include "api_dashboard.h"
#include "api_experiments.h"
#include "api_prompts.h"

#include "breaker.h"
#include "clock.h"
#include "keys.h"
#include "guard_metrics.h"
#include "api_cache.h"
#include "cache_metrics.h"
#include "learner.h"
#include "metrics.h"
#include "request_id.h"
#include "sha256.h"
#include "server.h"
#include "worker.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#ifndef SY_VERSION_STRING
#define SY_VERSION_STRING "0.1.0"
#endif

static int admin_authorized(sy_worker *w, sy_http_req *req)
{
    size_t n = 0;
    const char *token = sy_api_bearer(req, &n);
    if (!token) {
        sy_api_unauthorized(req, "missing admin key: send 'Authorization: Bearer <admin key>'");
        return 0;
    }
    if (!sy_keys_admin_ok(w->rt->cfg, token, n)) {
        sy_api_unauthorized(req, "invalid admin key");
        return 0;
    }
    return 1;
}

/* {"mean","lo","hi"}: a normal 95% interval of the mean from a count, sum and sum of
 * squares (null fields while there are fewer than two observations). */
static void mean_interval(sy_buf *b, const char *name, double n, double sum, double sq)
{
    sy_buf_printf(b, ",\"%s\":", name);
    if (n < 1) {
        sy_buf_puts(b, "null");
        return;
    }
    double mean = sum / n;
    if (n < 2) {
        sy_buf_printf(b, "{\"mean\":%.9g,\"lo\":null,\"hi\":null}", mean);
        return;
    }
    double var = (sq - n * mean * mean) / (n - 1);
    double half = SY_Z95 * sqrt(var > 0 ? var : 0) / sqrt(n);
    sy_buf_printf(b, "{\"mean\":%.9g,\"lo\":%.9g,\"hi\":%.9g}", mean, mean - half, mean + half);
}

/*
 * The arm's learned statistics from the store (what every gateway process sharing the
 * data_dir has recorded) and its share of this process's traffic on the route. Quality
 * is the Beta(1 + Σv, 1 + n − Σv) posterior of the mean rating with its central 95%
 * interval.
 */
static void arm_stats_json(sy_buf *b, sy_server *s, const sy_route_cfg *r, const char *model,
                           uint64_t route_total)
{
    sy_store_arm_stats a = {0};
    sy_store_arm_stats_get(s->store, r->name, model, &a);
    /* what the route's policy has learned from: this node's and (cluster) the others' */
    sy_learner_arm_counts lc = {0};
    if (s->learner)
        sy_learner_learned(s->learner, r->name, model, &lc);
    sy_buf_printf(b, ",\"learned\":{\"requests\":%.0f,\"ratings\":%.6g,\"rating_sum\":%.6g}",
                  lc.requests, lc.ratings, lc.rating_sum);
    uint64_t mine = sy_metrics_requests(r->name, model);
    sy_buf_printf(b, ",\"stats\":{\"requests\":%.0f,\"errors\":%.0f,\"ratings\":%.0f", a.requests,
                  a.errors, a.ratings);
    double alpha = 1 + a.rating_sum, beta = 1 + a.ratings - a.rating_sum, lo, hi;
    sy_beta_interval95(&alpha, &beta, &lo, &hi);
    sy_buf_printf(b, ",\"quality\":{\"mean\":%.6g,\"lo\":%.6g,\"hi\":%.6g}", alpha / (alpha + beta),
                  lo, hi);
    mean_interval(b, "latency_ms", a.requests, a.latency_ms_sum, a.latency_ms_sq_sum);
    mean_interval(b, "cost_usd", a.requests, a.cost_usd_sum, a.cost_usd_sq_sum);
    if (route_total)
        sy_buf_printf(b, ",\"traffic_share\":%.6g}", (double)mine / (double)route_total);
    else
        sy_buf_puts(b, ",\"traffic_share\":null}");
}

static const char *const breaker_states[] = {"closed", "open", "half_open"};

/* The model's circuit breaker and Retry-After block (engine/core/breaker.c). */
static void breaker_json(sy_buf *b, const char *model)
{
    sy_breaker_info bi;
    sy_breaker_get(model, &bi);
    sy_buf_printf(b,
                  ",\"breaker\":{\"state\":\"%s\",\"consecutive_failures\":%u,\"openings\":%u,"
                  "\"open_until_ms\":%llu,\"blocked_until_ms\":%llu}",
                  breaker_states[bi.state], bi.consecutive_failures, bi.openings,
                  (unsigned long long)bi.open_until_ms, (unsigned long long)bi.blocked_until_ms);
}

static void route_json(sy_buf *b, const sy_config *cfg, const sy_route_cfg *r, sy_server *s)
{
    uint64_t route_total = 0;
    for (size_t k = 0; k < r->n_candidates; k++)
        route_total += sy_metrics_requests(r->name, cfg->models[r->candidates[k]].name);
    if (sy_route_has_cache_arm(r))
        route_total += sy_metrics_requests(r->name, SY_CACHE_ARM_NAME);
    sy_buf_puts(b, "{\"name\":");
    sy_buf_json_string(b, r->name, strlen(r->name));
    sy_buf_puts(b, ",\"policy\":");
    sy_buf_json_string(b, r->policy, strlen(r->policy));
    const sy_objective *o = &r->params.objective;
    sy_buf_printf(b,
                  ",\"objective\":{\"quality\":%.9g,\"cost_per_usd\":%.9g,\"latency_per_s\":%.9g,"
                  "\"cost_per_doubling\":%.9g,\"latency_per_doubling\":%.9g,"
                  "\"max_cost_usd\":%.9g,\"latency_slo_ms\":%.9g}",
                  o->w_quality, o->w_cost, o->w_latency, o->w_cost_rel, o->w_latency_rel,
                  o->max_cost_usd, o->latency_slo_s * 1000.0);
    sy_buf_puts(b, ",\"rules\":[");
    static const char *const actions[] = {"escalate", "pin", "deescalate"};
    for (size_t i = 0; i < r->n_rules; i++) {
        const sy_rule_cfg *rule = &r->rules[i];
        sy_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
        sy_buf_json_string(b, rule->name, strlen(rule->name));
        sy_buf_puts(b, ",\"when\":");
        const char *w = rule->when_src ? rule->when_src : "";
        sy_buf_json_string(b, w, strlen(w));
        sy_buf_printf(b, ",\"then\":{\"%s\":", actions[rule->action]);
        if (rule->target)
            sy_buf_json_string(b, rule->target, strlen(rule->target));
        else
            sy_buf_puts(b, "true");
        sy_buf_printf(b, "},\"sticky\":%s}", rule->sticky ? "true" : "false");
    }
    sy_buf_printf(b, "],\"deescalate_after_good_turns\":%u", r->deescalate_after_good_turns);
    sy_buf_puts(b, ",\"arms\":[");
    for (size_t k = 0; k < r->n_candidates; k++) {
        const sy_model_cfg *m = &cfg->models[r->candidates[k]];
        const char *prov = cfg->providers[m->provider].name;
        sy_buf_puts(b, k ? ",{\"model\":" : "{\"model\":");
        sy_buf_json_string(b, m->name, strlen(m->name));
        sy_buf_puts(b, ",\"provider\":");
        sy_buf_json_string(b, prov, strlen(prov));
        sy_buf_puts(b, ",\"tier\":");
        sy_buf_json_string(b, m->tier, strlen(m->tier));
        sy_buf_printf(b,
                      ",\"price_per_mtok\":{\"input\":%.6g,\"cached_input\":%.6g,"
                      "\"cache_write\":%.6g,\"output\":%.6g}",
                      m->price.input, m->price.cached_input, m->price.cache_write, m->price.output);
        arm_stats_json(b, s, r, m->name, route_total);
        breaker_json(b, m->name);
        sy_buf_puts(b, "}");
    }
    if (sy_route_has_cache_arm(r)) { /* docs/cache.md "The cache as an arm" */
        sy_buf_puts(b, r->n_candidates ? ",{\"model\":" : "{\"model\":");
        sy_buf_json_string(b, SY_CACHE_ARM_NAME, strlen(SY_CACHE_ARM_NAME));
        sy_buf_printf(b, ",\"cache_arm\":true,\"min_similarity\":%.6g,\"threshold\":%.6g",
                      r->cache->min_similarity, r->cache->threshold);
        arm_stats_json(b, s, r, SY_CACHE_ARM_NAME, route_total);
        sy_buf_puts(b, "}");
    }
    sy_buf_puts(b, "]}");
}

static void respond_json(sy_http_req *req, int status, sy_buf *b)
{
    sy_http_respond(req, status, "application/json", NULL, b->data, b->len);
    sy_buf_free(b);
}

static void admin_routes(sy_worker *w, sy_http_req *req, const char *name)
{
    const sy_config *cfg = w->rt->cfg;
    sy_buf b = {0};
    if (name) {
        const sy_route_cfg *r = sy_config_find_route(cfg, name);
        if (!r) {
            sy_http_respond_error(req, 404, "invalid_request_error", "route_not_found", NULL,
                                  "no such route", NULL);
            return;
        }
        route_json(&b, cfg, r, w->server);
        return respond_json(req, 200, &b);
    }
    sy_buf_puts(&b, "{\"object\":\"list\",\"data\":[");
    for (size_t i = 0; i < cfg->n_routes; i++) {
        if (i)
            sy_buf_puts(&b, ",");
        route_json(&b, cfg, &cfg->routes[i], w->server);
    }
    sy_buf_puts(&b, "]}");
    respond_json(req, 200, &b);
}

/* Prometheus text format: request series plus the store's counters. */
static void admin_metrics(sy_worker *w, sy_http_req *req)
{
    if (!sy_http_req_method_is(req, "GET"))
        return sy_api_method_not_allowed(req, "GET");
    sy_buf b = {0};
    sy_metrics_render(&b);
    sy_guard_metrics_render(&b);
    sy_cache_metrics_render(&b, w->server->store);
    sy_store_counters sc;
    sy_store_counters_get(w->server->store, &sc);
    sy_buf_printf(&b,
                  "# HELP switchyard_store_events_total Events committed by the store thread.\n"
                  "# TYPE switchyard_store_events_total counter\n"
                  "switchyard_store_events_total %llu\n"
                  "# HELP switchyard_store_batches_total Write transactions committed.\n"
                  "# TYPE switchyard_store_batches_total counter\n"
                  "switchyard_store_batches_total %llu\n"
                  "# HELP switchyard_store_failed_batches_total Batches that could not commit.\n"
                  "# TYPE switchyard_store_failed_batches_total counter\n"
                  "switchyard_store_failed_batches_total %llu\n"
                  "# HELP switchyard_store_dropped_events_total Events lost with failed batches "
                  "(the map could not grow).\n"
                  "# TYPE switchyard_store_dropped_events_total counter\n"
                  "switchyard_store_dropped_events_total %llu\n"
                  "# HELP switchyard_store_map_size_bytes Current LMDB map size.\n"
                  "# TYPE switchyard_store_map_size_bytes gauge\n"
                  "switchyard_store_map_size_bytes %zu\n",
                  (unsigned long long)sc.events, (unsigned long long)sc.batches,
                  (unsigned long long)sc.failed_batches, (unsigned long long)sc.dropped_events,
                  sc.map_size);
    sy_api_cluster_metrics(&b, w->server);
    const sy_config *cfg = w->rt->cfg;
    sy_buf_puts(&b, "# HELP switchyard_breaker_state Circuit breaker per model: 0 closed, 1 open, "
                    "2 half-open.\n# TYPE switchyard_breaker_state gauge\n");
    for (size_t i = 0; i < cfg->n_models; i++) {
        sy_breaker_info bi;
        sy_breaker_get(cfg->models[i].name, &bi);
        sy_buf_puts(&b, "switchyard_breaker_state{");
        sy_metrics_label(&b, "model", cfg->models[i].name, 1);
        sy_buf_printf(&b, "} %d\n", (int)bi.state);
    }
    sy_http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, b.data, b.len);
    sy_buf_free(&b);
}

/* GET /admin/conversations/{id}: {id} is the client's conversation id (as sent in
 * X-Conversation-Id or metadata.conversation_id; percent-decoded when it is validly
 * escaped) or the 32-hex internal id. */
static void admin_conversation(sy_worker *w, sy_http_req *req, const char *id)
{
    uint8_t key[16];
    char decoded[512];
    if (sy_api_percent_decode(id, strlen(id), decoded, sizeof(decoded), 0) == 0)
        id = decoded;
    sy_api_conversation_key(id, key);
    sy_conv_state c;
    if (sy_store_conv_get(w->server->store, key, sy_wall_ms(), &c) != 0) {
        sy_http_respond_error(req, 404, "invalid_request_error", "conversation_not_found", NULL,
                              "no live conversation with this id", NULL);
        return;
    }
    char hex[33], last[SY_REQID_LEN + 1];
    sy_hex_encode(key, 16, hex);
    sy_reqid_from_bytes(c.last_request, last);
    sy_buf b = {0};
    sy_buf_printf(&b,
                  "{\"object\":\"conversation\",\"id\":\"%s\",\"turns\":%u,\"rephrases\":%u,"
                  "\"rephrases_total\":%u,\"thumbs_down\":%u,\"good_turns\":%u,"
                  "\"cost_usd\":%.9f,\"last_ts_ms\":%llu,\"last_request_id\":\"%s\",\"tier\":",
                  hex, c.turn, c.rephrases, c.rephrases_total, c.thumbs_down, c.good_turns,
                  c.cost_usd, (unsigned long long)c.last_ts_ms, last);
    if (c.tier[0])
        sy_buf_json_string(&b, c.tier, strlen(c.tier));
    else
        sy_buf_puts(&b, "null");
    sy_buf_puts(&b, ",\"pinned\":");
    if (c.pinned[0])
        sy_buf_json_string(&b, c.pinned, strlen(c.pinned));
    else
        sy_buf_puts(&b, "null");
    sy_buf_puts(&b, ",\"sticky_rule\":");
    if (c.rule[0])
        sy_buf_json_string(&b, c.rule, strlen(c.rule));
    else
        sy_buf_puts(&b, "null");
    sy_buf_puts(&b, "}");
    respond_json(req, 200, &b);
}

static void admin_status(sy_worker *w, sy_http_req *req)
{
    sy_server *s = w->server;
    sy_buf b = {0};
    sy_buf_printf(&b,
                  "{\"version\":\"%s\",\"uptime_s\":%.3f,\"workers\":%zu,\"port\":%u,"
                  "\"admin_port\":%u,\"config_generation\":%llu,\"config_path\":",
                  SY_VERSION_STRING, (double)(sy_wall_ms() - s->started_ms) / 1000.0, s->n_workers,
                  s->port, s->admin_port, (unsigned long long)sy_server_generation(s));
    sy_buf_json_string(&b, s->config_path, strlen(s->config_path));
    sy_api_cluster_status(&b, s);
    sy_buf_puts(&b, "}");
    respond_json(req, 200, &b);
}

static void admin_reload(sy_worker *w, sy_http_req *req)
{
    sy_buf errs = {0};
    if (sy_server_reload(w->server, &errs) != 0) {
        sy_http_respond_error(req, 400, "invalid_request_error", "invalid_config", NULL,
                              errs.data ? errs.data : "reload failed", NULL);
        sy_buf_free(&errs);
        return;
    }
    sy_buf b = {0};
    sy_buf_printf(&b, "{\"reloaded\":true,\"config_generation\":%llu,\"warnings\":",
                  (unsigned long long)sy_server_generation(w->server));
    sy_buf_json_string(&b, errs.data ? errs.data : "", errs.len);
    sy_buf_puts(&b, "}");
    sy_buf_free(&errs);
    respond_json(req, 200, &b);
}

static void admin_route(sy_worker *w, sy_http_req *req)
{
    const char *p = req->path;
    if (strcmp(p, "/healthz") == 0) {
        static const char ok[] = "{\"status\":\"ok\"}";
        return sy_http_respond(req, 200, "application/json", NULL, ok, sizeof(ok) - 1);
    }
    if (strcmp(p, "/metrics") == 0) {
        if (admin_authorized(w, req))
            admin_metrics(w, req);
        return;
    }
    if (sy_api_dashboard(req))
        return;
    if (strncmp(p, "/admin/", 7) != 0)
        return sy_api_not_found(req);
    if (!admin_authorized(w, req))
        return;
    if (strcmp(p, "/admin/status") == 0) {
        if (!sy_http_req_method_is(req, "GET"))
            return sy_api_method_not_allowed(req, "GET");
        return admin_status(w, req);
    }
    if (strcmp(p, "/admin/routes") == 0 || strncmp(p, "/admin/routes/", 14) == 0) {
        if (!sy_http_req_method_is(req, "GET"))
            return sy_api_method_not_allowed(req, "GET");
        return admin_routes(w, req, p[13] == '/' ? p + 14 : NULL);
    }
    if (strncmp(p, "/admin/conversations/", 21) == 0 && p[21]) {
        if (!sy_http_req_method_is(req, "GET"))
            return sy_api_method_not_allowed(req, "GET");
        return admin_conversation(w, req, p + 21);
    }
    if (strcmp(p, "/admin/activity") == 0 || strcmp(p, "/admin/decisions") == 0) {
        if (!sy_http_req_method_is(req, "GET"))
            return sy_api_method_not_allowed(req, "GET");
        return p[7] == 'a' ? sy_api_admin_activity(w, req) : sy_api_admin_decisions(w, req);
    }
    if (strcmp(p, "/admin/experiments") == 0 || strncmp(p, "/admin/experiments/", 19) == 0)
        return sy_api_admin_experiments(w, req, p[18] == '/' ? p + 19 : NULL);
    if (strcmp(p, "/admin/prompts") == 0 || strncmp(p, "/admin/prompts/", 15) == 0)
        return sy_api_admin_prompts(w, req, p[14] == '/' ? p + 15 : NULL);
    if (strcmp(p, "/admin/cache") == 0 || strncmp(p, "/admin/cache/", 13) == 0)
        return sy_api_admin_cache(w, req, p[12] == '/' ? p + 13 : NULL);
    if (strcmp(p, "/admin/reload") == 0) {
        if (!sy_http_req_method_is(req, "POST"))
            return sy_api_method_not_allowed(req, "POST");
        return admin_reload(w, req);
    }
    sy_api_not_found(req);
}

/* Entry point of the admin listener: an id on every response and a log line each. */
void sy_api_admin_handler(sy_http_req *req, void *ud)
{
    sy_worker *w = ud;
    sy_api_note note;
    sy_api_begin(w, req, &note);
    admin_route(w, req);
    sy_api_log_answered(w, req, &note, "admin", NULL);
}
