/*
 * api_cache.c: the response cache over the admin listener (docs/cache.md):
 *   GET  /admin/cache             entries per route or model, evictions, invalidations
 *   POST /admin/cache/invalidate  {"route"?, "model"?, "prompt"?, "version"?}: delete the
 *                                 entries matching all the given members
 * Invalidation waits for the store thread's commit (admin listener only).
 */
#include "api_cache.h"

#include "api_common.h"
#include "server.h"
#include "store_cache.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static void count_one(void *ud, const char *ns, uint64_t n)
{
    sy_buf *b = ud;
    if (b->data[b->len - 1] != '{')
        sy_buf_puts(b, ",");
    sy_buf_json_string(b, ns, strlen(ns));
    sy_buf_printf(b, ":%llu", (unsigned long long)n);
}

static void cache_stats(sy_worker *w, sy_http_req *req)
{
    sy_buf b = {0};
    sy_buf_puts(&b, "{\"object\":\"cache\",\"by_name\":{");
    uint64_t total = sy_store_cache_counts(w->server->store, count_one, &b);
    sy_store_cache_stats st;
    sy_store_cache_stats_get(&st);
    sy_buf_printf(&b, "},\"entries\":%llu,\"evicted\":%llu,\"expired\":%llu,\"invalidated\":%llu}",
                  (unsigned long long)total, (unsigned long long)st.evicted,
                  (unsigned long long)st.expired, (unsigned long long)st.invalidated);
    sy_http_respond(req, 200, "application/json", NULL, b.data, b.len);
    sy_buf_free(&b);
}

/* A string member of the filter, or NULL; *bad names a member that is not a string. */
static const char *filter_str(const cJSON *body, const char *name, const char **bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
    if (!v)
        return NULL;
    if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) >= SY_STORE_NAME_MAX) {
        *bad = name;
        return NULL;
    }
    return v->valuestring;
}

static void invalidate(sy_worker *w, sy_http_req *req)
{
    cJSON *body = sy_api_json_body(req, NULL, 0);
    if (!body)
        return; /* answered */
    const char *bad = NULL;
    const char *route = filter_str(body, "route", &bad);
    const char *model = filter_str(body, "model", &bad);
    const char *prompt = filter_str(body, "prompt", &bad);
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(body, "version");
    double v = cJSON_IsNumber(ver) ? ver->valuedouble : 0;
    if (ver && (!cJSON_IsNumber(ver) || v < 1 || v > 4294967295.0 || v != (double)(uint32_t)v))
        bad = "version";
    else if (ver && !prompt)
        bad = "version";
    const cJSON *m;
    cJSON_ArrayForEach(m, body)
    {
        if (strcmp(m->string, "route") && strcmp(m->string, "model") &&
            strcmp(m->string, "prompt") && strcmp(m->string, "version"))
            bad = m->string;
    }
    if (!cJSON_IsObject(body) || bad || (!route && !model && !prompt)) {
        char msg[200];
        snprintf(msg, sizeof(msg),
                 bad ? "'%.64s' is not a valid filter (route, model and prompt are names; "
                       "version a positive integer with prompt)"
                     : "give at least one of route, model, prompt (with version)%.0s",
                 bad ? bad : "");
        cJSON_Delete(body);
        return sy_http_respond_error(req, 400, "invalid_request_error", "invalid_request", bad, msg,
                                     NULL);
    }
    if (prompt && strlen(prompt) >= 80) {
        cJSON_Delete(body);
        return sy_http_respond_error(req, 400, "invalid_request_error", "invalid_request", "prompt",
                                     "prompt name too long", NULL);
    }
    long n = sy_store_cache_invalidate(w->server->store, route, model, prompt, (uint32_t)v);
    cJSON_Delete(body);
    if (n < 0)
        return sy_http_respond_error(req, 503, "server_error", "store_unavailable", NULL,
                                     "the store could not commit the invalidation",
                                     "Retry-After: 1\r\n");
    char out[96];
    int len = snprintf(out, sizeof(out), "{\"object\":\"cache.invalidation\",\"deleted\":%ld}", n);
    sy_http_respond(req, 200, "application/json", NULL, out, (size_t)len);
}

void sy_api_admin_cache(sy_worker *w, sy_http_req *req, const char *rest)
{
    if (!rest || !rest[0]) {
        if (!sy_http_req_method_is(req, "GET"))
            return sy_api_method_not_allowed(req, "GET");
        return cache_stats(w, req);
    }
    if (strcmp(rest, "invalidate") == 0) {
        if (!sy_http_req_method_is(req, "POST"))
            return sy_api_method_not_allowed(req, "POST");
        return invalidate(w, req);
    }
    sy_api_not_found(req);
}
