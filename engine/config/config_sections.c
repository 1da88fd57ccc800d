/*
 * config_sections: the tables of the plain sections of switchyard.json — listen, admin,
 * limits, upstream, store, reliability, conversations, feedback, log. Each field's key,
 * type, range and default are written here once (docs/configuration.md is the
 * reference); the walker in config_schema.c does the reading.
 */
#include "config_schema.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#define UINT(st, k, m, lo_, hi_, d)                                                                \
    {                                                                                              \
        .key = k, .type = SY_CFG_UINT, .flags = SY_CFG_DEFAULT, .offset = offsetof(st, m),         \
        .lo = lo_, .hi = hi_, .def = d                                                             \
    }
#define SIZE(st, k, m, lo_, hi_, d)                                                                \
    {                                                                                              \
        .key = k, .type = SY_CFG_SIZE, .flags = SY_CFG_DEFAULT, .offset = offsetof(st, m),         \
        .lo = lo_, .hi = hi_, .def = d                                                             \
    }
#define NUMBER(st, k, m, lo_, hi_, d)                                                              \
    {                                                                                              \
        .key = k, .type = SY_CFG_NUMBER, .flags = SY_CFG_DEFAULT, .offset = offsetof(st, m),       \
        .lo = lo_, .hi = hi_, .def = d                                                             \
    }
#define BOOL(st, k, m, d)                                                                          \
    {                                                                                              \
        .key = k, .type = SY_CFG_BOOL, .flags = SY_CFG_DEFAULT, .offset = offsetof(st, m),         \
        .def = d                                                                                   \
    }

/* ---- listen and admin ---------------------------------------------------------------- */

/* A listener address must be numeric: host names are not resolved. */
static int check_address(sy_cfg_loader *l, const char *addr, void *obj)
{
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, addr, buf) == 1 || inet_pton(AF_INET6, addr, buf) == 1)
        return 0;
    sy_cfg_err(l, "must be a numeric IPv4 or IPv6 address such as \"127.0.0.1\" or \"::1\" "
                  "(host names are not resolved)");
    return -1;
}

/* admin.key_sha256: the admin key's digest; configuring one enables the admin API. */
static int read_admin_key(sy_cfg_loader *l, const cJSON *v, void *out)
{
    if (!sy_cfg_digest(l, v, l->cfg->admin_key_sha256))
        return -1;
    l->cfg->admin_enabled = 1;
    return 0;
}

#define ADDRESS                                                                                    \
    {                                                                                              \
        .key = "address", .type = SY_CFG_STRING, .flags = SY_CFG_DEFAULT,                          \
        .offset = offsetof(sy_listen_cfg, address), .def_str = "127.0.0.1", .check = check_address \
    }
#define PORT(d)                                                                                    \
    {                                                                                              \
        .key = "port", .type = SY_CFG_U16, .flags = SY_CFG_DEFAULT,                                \
        .offset = offsetof(sy_listen_cfg, port), .lo = 0, .hi = 65535, .def = d                    \
    }

/*
 * listen.cors_origins: an array of origins ("https://app.example.com", or "*" for any)
 * whose browser pages may call the client API. An origin is scheme://host[:port] with
 * no path, printable ASCII only (it is echoed in a response header).
 */
static int read_cors_origins(sy_cfg_loader *l, const cJSON *v, void *out)
{
    sy_listen_cfg *lc = (sy_listen_cfg *)((char *)out - offsetof(sy_listen_cfg, cors_origins));
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > 64) {
        sy_cfg_err(l, "must be an array of at most 64 origins such as \"https://app.example.com\"");
        return -1;
    }
    lc->cors_origins = sy_xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(char *));
    size_t i = 0;
    for (const cJSON *o = v->child; o; o = o->next, i++) {
        size_t mark = sy_cfg_push_index(l, i);
        const char *s = cJSON_IsString(o) ? o->valuestring : NULL;
        int ok = s && (strcmp(s, "*") == 0 ||
                       ((strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) &&
                        strlen(s) < 256 && !strchr(strstr(s, "//") + 2, '/')));
        for (const char *p = s; ok && *p; p++)
            ok = *p > 0x20 && *p < 0x7f;
        if (!ok)
            sy_cfg_err(l, "an origin is \"*\" or scheme://host[:port] (http or https, no path)");
        else
            lc->cors_origins[lc->n_cors_origins++] = sy_xstrdup(s);
        sy_cfg_pop(l, mark);
        if (!ok)
            return -1;
    }
    return 0;
}

static const sy_cfg_field listen_fields[] = {
    ADDRESS,
    PORT(8080),
    {.key = "cors_origins",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_listen_cfg, cors_origins),
     .read = read_cors_origins},
};
const sy_cfg_schema sy_cfg_listen_schema = SY_CFG_SCHEMA(listen_fields);

static const sy_cfg_field admin_fields[] = {
    ADDRESS,
    PORT(8081),
    {.key = "key_sha256", .type = SY_CFG_CUSTOM, .read = read_admin_key},
};
const sy_cfg_schema sy_cfg_admin_schema = SY_CFG_SCHEMA(admin_fields);

/* ---- limits, upstream, store ------------------------------------------------------------ */

static const sy_cfg_field limits_fields[] = {
    SIZE(sy_limits_cfg, "max_body_bytes", max_body_bytes, 1024, 1073741824, 1048576),
    SIZE(sy_limits_cfg, "max_header_bytes", max_header_bytes, 1024, 1048576, 16384),
    UINT(sy_limits_cfg, "max_headers", max_headers, 8, 1024, 64),
    UINT(sy_limits_cfg, "request_timeout_ms", request_timeout_ms, 100, 3600000, 10000),
    UINT(sy_limits_cfg, "idle_timeout_ms", idle_timeout_ms, 100, 3600000, 60000),
    UINT(sy_limits_cfg, "max_connections", max_connections, 1, 1000000, 4096),
    UINT(sy_limits_cfg, "max_json_depth", max_json_depth, 8, 1000, 64),
};
const sy_cfg_schema sy_cfg_limits_schema = SY_CFG_SCHEMA(limits_fields);

static const sy_cfg_field upstream_fields[] = {
    UINT(sy_upstream_cfg, "connect_timeout_ms", connect_timeout_ms, 100, 600000, 5000),
    UINT(sy_upstream_cfg, "request_timeout_ms", request_timeout_ms, 1000, 86400000, 300000),
    SIZE(sy_upstream_cfg, "stream_buffer_bytes", stream_buffer_bytes, 4096, 67108864, 65536),
};
const sy_cfg_schema sy_cfg_upstream_schema = SY_CFG_SCHEMA(upstream_fields);

static void store_after(sy_cfg_loader *l, const cJSON *obj, void *out)
{
    const sy_store_cfg *st = out;
    if (st->max_map_size_mb < st->map_size_mb)
        sy_cfg_errk(l, "max_map_size_mb", "must be at least map_size_mb (%u)", st->map_size_mb);
}

static const sy_cfg_field store_fields[] = {
    UINT(sy_store_cfg, "map_size_mb", map_size_mb, 1, 1048576, 64),
    UINT(sy_store_cfg, "max_map_size_mb", max_map_size_mb, 1, 1048576, 16384),
    UINT(sy_store_cfg, "batch_ms", batch_ms, 0, 1000, 2),
};
const sy_cfg_schema sy_cfg_store_schema = {
    .fields = store_fields, .n_fields = SY_ARRAY_LEN(store_fields), .after = store_after};

/* ---- reliability ------------------------------------------------------------------------ */

static void reliability_after(sy_cfg_loader *l, const cJSON *obj, void *out)
{
    const sy_reliability_cfg *r = out;
    if (r->backoff_max_ms < r->backoff_base_ms)
        sy_cfg_errk(l, "backoff_max_ms", "must be at least backoff_base_ms (%u)",
                    r->backoff_base_ms);
    if (r->breaker_max_cooldown_ms < r->breaker_cooldown_ms)
        sy_cfg_errk(l, "breaker_max_cooldown_ms", "must be at least breaker_cooldown_ms (%u)",
                    r->breaker_cooldown_ms);
}

#define REL(k, lo_, hi_, d) UINT(sy_reliability_cfg, #k, k, lo_, hi_, d)
static const sy_cfg_field reliability_fields[] = {
    REL(max_attempts, 1, 10, 3),
    NUMBER(sy_reliability_cfg, "retry_budget", retry_budget, 0, 10, 0.2),
    REL(backoff_base_ms, 0, 60000, 50),
    REL(backoff_max_ms, 0, 600000, 2000),
    REL(retry_after_cap_ms, 0, 600000, 10000),
    REL(deadline_ms, 100, 86400000, 120000),
    REL(ttft_timeout_ms, 100, 86400000, 30000),
    REL(idle_timeout_ms, 100, 86400000, 60000),
    REL(breaker_failures, 0, 10000, 5),
    REL(breaker_window, 0, 256, 20),
    NUMBER(sy_reliability_cfg, "breaker_failure_rate", breaker_failure_rate, 0.01, 1, 0.5),
    REL(breaker_cooldown_ms, 1, 3600000, 1000),
    REL(breaker_max_cooldown_ms, 1, 3600000, 60000),
};
const sy_cfg_schema sy_cfg_reliability_schema = {.fields = reliability_fields,
                                                 .n_fields = SY_ARRAY_LEN(reliability_fields),
                                                 .after = reliability_after};

/* ---- conversations, feedback, log ---------------------------------------------------- */

static const sy_cfg_field conversations_fields[] = {
    UINT(sy_conversation_cfg, "ttl_s", ttl_s, 1, 31622400, 86400),
    UINT(sy_conversation_cfg, "max", max, 1, 1000000000, 1000000),
    NUMBER(sy_conversation_cfg, "implicit_weight", implicit_weight, 0.001, 1, 0.3),
};
const sy_cfg_schema sy_cfg_conversations_schema = SY_CFG_SCHEMA(conversations_fields);

static const sy_cfg_field feedback_fields[] = {
    UINT(sy_feedback_cfg, "window_s", window_s, 1, 31622400, 7 * 86400),
};
const sy_cfg_schema sy_cfg_feedback_schema = SY_CFG_SCHEMA(feedback_fields);

static const char *const k_levels[] = {"debug", "info", "warn", "error"};

static const sy_cfg_field log_fields[] = {
    {.key = "level",
     .type = SY_CFG_STRING,
     .flags = SY_CFG_DEFAULT,
     .offset = offsetof(sy_log_cfg, level),
     .def_str = "info",
     .choices = k_levels,
     .n_choices = SY_ARRAY_LEN(k_levels)},
    {.key = "path",
     .type = SY_CFG_STRING,
     .flags = SY_CFG_NULLABLE,
     .offset = offsetof(sy_log_cfg, path),
     .max_len = SY_CFG_MAX_TEXT,
     .what = "log path"},
    BOOL(sy_log_cfg, "requests", requests, 1),
    BOOL(sy_log_cfg, "include_prompts", include_prompts, 0),
};
const sy_cfg_schema sy_cfg_log_schema = SY_CFG_SCHEMA(log_fields);

/* ---- cluster ------------------------------------------------------------------------- */

/* node_id is required with redis_url; the URL must be redis://HOST[:PORT][/DB]. */
static void cluster_after(sy_cfg_loader *l, const cJSON *obj, void *out)
{
    const sy_cluster_cfg *c = out;
    if (!c->redis_url)
        return;
    if (strncmp(c->redis_url, "redis://", 8) != 0 || !c->redis_url[8])
        sy_cfg_errk(l, "redis_url", "must look like redis://127.0.0.1:6379/0");
    if (!c->node_id || !c->node_id[0])
        sy_cfg_errk(l, "node_id", "is required with redis_url (a name unique in the cluster)");
}

static const sy_cfg_field cluster_fields[] = {
    {.key = "redis_url",
     .type = SY_CFG_STRING,
     .flags = SY_CFG_NULLABLE,
     .offset = offsetof(sy_cluster_cfg, redis_url),
     .max_len = 512,
     .what = "redis_url"},
    {.key = "node_id",
     .type = SY_CFG_STRING,
     .flags = SY_CFG_NULLABLE,
     .offset = offsetof(sy_cluster_cfg, node_id),
     .max_len = 64,
     .what = "node_id"},
    {.key = "username",
     .type = SY_CFG_STRING,
     .flags = SY_CFG_NULLABLE,
     .offset = offsetof(sy_cluster_cfg, username),
     .max_len = 256,
     .what = "username"},
    {.key = "password_env",
     .type = SY_CFG_STRING,
     .flags = SY_CFG_NULLABLE,
     .offset = offsetof(sy_cluster_cfg, password_env),
     .max_len = 256,
     .what = "password_env"},
    UINT(sy_cluster_cfg, "stream_maxlen", stream_maxlen, 1000, 100000000, 1000000),
    UINT(sy_cluster_cfg, "backlog_max", backlog_max, 100, 10000000, 100000),
    UINT(sy_cluster_cfg, "summary_ttl_s", summary_ttl_s, 1, 31622400, 3600),
    NUMBER(sy_cluster_cfg, "budget_local_share", budget_local_share, 0, 1, 0.1),
    UINT(sy_cluster_cfg, "admin_wait_ms", admin_wait_ms, 0, 10000, 2000),
};
const sy_cfg_schema sy_cfg_cluster_schema = {
    .fields = cluster_fields, .n_fields = SY_ARRAY_LEN(cluster_fields), .after = cluster_after};
