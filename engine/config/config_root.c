/*
 * config_root: the top level of switchyard.json — which sections exist, the top-level
 * scalars, and the checks that need the whole document (admin vs. client keys and
 * ports). Sections are read in document order so that errors come out in file order.
 */
#include "config_schema.h"

#include <arpa/inet.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_WORKERS 4 /* when the CPU count is unknown */
#define MAX_WORKERS     256

static unsigned default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return DEFAULT_WORKERS;
    return n > MAX_WORKERS ? MAX_WORKERS : (unsigned)n;
}

/* The one default that is not a constant. */
static void root_init(void *out)
{
    ((sy_config *)out)->workers = default_workers();
}

/* 1 when the two listener addresses can collide on one port (equal, or one wildcard). */
static int addresses_overlap(const char *a, const char *b)
{
    unsigned char x[sizeof(struct in6_addr)] = {0}, y[sizeof(struct in6_addr)] = {0};
    int fa = inet_pton(AF_INET, a, x) == 1 ? AF_INET : AF_INET6;
    int fb = inet_pton(AF_INET, b, y) == 1 ? AF_INET : AF_INET6;
    if (fa == AF_INET6)
        inet_pton(AF_INET6, a, x);
    if (fb == AF_INET6)
        inet_pton(AF_INET6, b, y);
    static const unsigned char zero[sizeof(struct in6_addr)] = {0};
    size_t la = fa == AF_INET ? 4 : 16, lb = fb == AF_INET ? 4 : 16;
    if (memcmp(x, zero, la) == 0 || memcmp(y, zero, lb) == 0)
        return 1;
    return fa == fb && memcmp(x, y, la) == 0;
}

/* Checks across sections: the admin key and port must not clash with the client side. */
static void root_after(sy_cfg_loader *l, const cJSON *root, void *out)
{
    sy_config *cfg = out;
    sy_cfg_resolve_guard_refs(l, root, cfg); /* routes and keys may come before "guardrails" */
    if (!cfg->admin_enabled)
        return;
    for (size_t i = 0; i < cfg->n_client_keys; i++)
        if (memcmp(cfg->client_keys[i].sha256, cfg->admin_key_sha256, 32) == 0) {
            size_t mark = sy_cfg_push_key(l, "admin");
            sy_cfg_errk(l, "key_sha256",
                        "must differ from every client key (same as $.client_keys[%zu])", i);
            sy_cfg_pop(l, mark);
        }
    if (cfg->admin.port != 0 && cfg->admin.port == cfg->listen.port &&
        addresses_overlap(cfg->admin.address, cfg->listen.address)) {
        size_t mark = sy_cfg_push_key(l, "admin");
        sy_cfg_errk(l, "port", "conflicts with $.listen (same port %u on an overlapping address)",
                    (unsigned)cfg->admin.port);
        sy_cfg_pop(l, mark);
    }
}

/* "experiments": only its shape here; engine/registry/experiments.c checks its contents. */
static int read_experiments(sy_cfg_loader *l, const cJSON *v, void *out)
{
    if (cJSON_IsArray(v))
        return 0;
    sy_cfg_err(l, "must be an array of experiment definitions (docs/experiments.md)");
    return -1;
}

#define SECTION(k, m, schema)                                                                      \
    {                                                                                              \
        .key = k, .type = SY_CFG_OBJECT, .offset = offsetof(sy_config, m), .sub = &(schema)        \
    }
#define LIST(k, reader, fl, h)                                                                     \
    {                                                                                              \
        .key = k, .type = SY_CFG_CUSTOM, .flags = fl, .read = reader, .hint = h                    \
    }

static const sy_cfg_field root_fields[] = {
    SECTION("listen", listen, sy_cfg_listen_schema),
    SECTION("admin", admin, sy_cfg_admin_schema),
    {.key = "workers",
     .type = SY_CFG_UINT,
     .offset = offsetof(sy_config, workers),
     .lo = 1,
     .hi = MAX_WORKERS},
    {.key = "data_dir",
     .type = SY_CFG_STRING,
     .flags = SY_CFG_DEFAULT,
     .offset = offsetof(sy_config, data_dir),
     .def_str = "./switchyard-data",
     .max_len = SY_CFG_MAX_TEXT,
     .what = "data_dir"},
    {.key = "drain_timeout_ms",
     .type = SY_CFG_UINT,
     .flags = SY_CFG_DEFAULT,
     .offset = offsetof(sy_config, drain_timeout_ms),
     .lo = 0,
     .hi = 3600000,
     .def = 10000},
    SECTION("limits", limits, sy_cfg_limits_schema),
    SECTION("upstream", upstream, sy_cfg_upstream_schema),
    SECTION("log", log, sy_cfg_log_schema),
    LIST("providers", sy_cfg_read_providers, SY_CFG_REQUIRED, NULL),
    LIST("models", sy_cfg_read_models, SY_CFG_REQUIRED, NULL),
    LIST("routes", sy_cfg_read_routes, 0, NULL),
    LIST("client_keys", sy_cfg_read_client_keys, SY_CFG_REQUIRED,
         "(make a key with `switchyard hash-key --generate`)"),
    SECTION("store", store, sy_cfg_store_schema),
    SECTION("feedback", feedback, sy_cfg_feedback_schema),
    SECTION("reliability", reliability, sy_cfg_reliability_schema),
    SECTION("conversations", conversations, sy_cfg_conversations_schema),
    SECTION("cluster", cluster, sy_cfg_cluster_schema),
    LIST("experiments", read_experiments, 0, NULL),
    LIST("guardrails", sy_cfg_read_guardrails, 0, NULL),
};

const sy_cfg_schema sy_cfg_root_schema = {.fields = root_fields,
                                          .n_fields = SY_ARRAY_LEN(root_fields),
                                          .doc_order = 1,
                                          .after = root_after,
                                          .init = root_init};
